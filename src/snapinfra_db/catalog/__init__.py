"""The catalog: tables.yaml's models (`models`) and how the file is read and checked (`loader`)."""

from snapinfra_db.catalog.loader import load_catalog, load_every_stage
from snapinfra_db.catalog.models import (
    DEFAULT_PREFIX,
    AttrType,
    Billing,
    Capacity,
    Catalog,
    Encryption,
    GlobalIndex,
    KeyAttribute,
    LocalIndex,
    PointInTimeRecovery,
    Projection,
    Setting,
    Stage,
    Stream,
    TableSettings,
    TableSpec,
)

__all__ = [
    "DEFAULT_PREFIX",
    "AttrType",
    "Billing",
    "Capacity",
    "Catalog",
    "Encryption",
    "GlobalIndex",
    "KeyAttribute",
    "LocalIndex",
    "PointInTimeRecovery",
    "Projection",
    "Setting",
    "Stage",
    "Stream",
    "TableSettings",
    "TableSpec",
    "load_catalog",
    "load_every_stage",
]
