"""DynamoDB's list prices, per region: a dated table in the code, or a file the operator gives (--prices).

Every price is in USD, as AWS lists it for the region. Free tiers are not in the table (they are per
account and region, shared by every table there, so no table's estimate can subtract them).

The built-in table holds the regions whose every item could be read from a source (below); any other
region is an error that points at `--prices FILE` (the same shape as `BUILT_IN`, JSON or YAML).

Sources for us-east-1, read 2026-11-26:
- on-demand Standard: $0.625 per million WRU, $0.125 per million RRU (aws.amazon.com/dynamodb/pricing,
  after the 50% cut of 2024-11-01, as quoted by airbyte.com's and LinkedIn's pricing guides);
- provisioned, storage, PITR: the AWS Price List API's us-east-1 products as of 2026-10-08
  (ReadCapacityUnit-Hrs 0.00013, WriteCapacityUnit-Hrs 0.00065, IA-ReadCapacityUnit-Hrs 0.00016,
  IA-WriteCapacityUnit-Hrs 0.00081, TimedStorage-ByteHrs 0.25, IA-TimedStorage-ByteHrs 0.10,
  TimedPITRStorage-ByteHrs 0.20 per GB-month);
- on-demand Standard-IA: $0.78125 / $0.15625 per million (1.25 × Standard, the IA premium), and streams
  $0.02 per 100,000 GetRecords calls: from published cost-model defaults, not from AWS directly.
us-west-2, eu-west-1, eu-central-1 and ap-southeast-1 are left out: no source for every item was found.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from snapinfra_db.errors import SnapinfraError

TableClass = Literal["STANDARD", "STANDARD_INFREQUENT_ACCESS"]

# The prices file is read whole: a price table is a few KiB.
MAX_PRICES_FILE = 256 * 1024


class _Strict(BaseModel):
    # A price is a finite number >= 0 (NaN and infinity are refused, as are unknown keys).
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class OnDemand(_Strict):
    """Per million request units."""

    write_per_million: float = Field(ge=0)
    read_per_million: float = Field(ge=0)


class Provisioned(_Strict):
    """Per capacity unit and hour."""

    wcu_hour: float = Field(ge=0)
    rcu_hour: float = Field(ge=0)


class ClassPrices(_Strict):
    """What one table class costs: requests, capacity and storage."""

    on_demand: OnDemand
    provisioned: Provisioned
    storage_gb_month: float = Field(ge=0)


class RegionPrices(_Strict):
    STANDARD: ClassPrices
    STANDARD_INFREQUENT_ACCESS: ClassPrices
    pitr_gb_month: float = Field(ge=0)
    streams_read_per_100k: float = Field(ge=0)

    def table_class(self, name: TableClass) -> ClassPrices:
        return self.STANDARD if name == "STANDARD" else self.STANDARD_INFREQUENT_ACCESS


class PriceTable(_Strict):
    as_of: date
    currency: Literal["USD"] = "USD"
    regions: dict[str, RegionPrices] = Field(min_length=1)
    # Where the table came from: "built-in", or the --prices file's path (not part of the file).
    source: str = Field(default="built-in", exclude=True)

    def for_region(self, region: str) -> RegionPrices:
        prices = self.regions.get(region)
        if prices is None:
            known = ", ".join(sorted(self.regions))
            where = "the built-in price table" if self.source == "built-in" else self.source
            raise SnapinfraError(
                f"no DynamoDB prices for region {region} in {where} (as of {self.as_of}: {known}); "
                f"pass --prices FILE with that region's prices (the shape: README, 'Cost estimate')"
            )
        return prices


PRICES_AS_OF = "2026-10-08"

BUILT_IN: dict[str, Any] = {
    "as_of": PRICES_AS_OF,
    "currency": "USD",
    "regions": {
        "us-east-1": {
            "STANDARD": {
                "on_demand": {"write_per_million": 0.625, "read_per_million": 0.125},
                "provisioned": {"wcu_hour": 0.00065, "rcu_hour": 0.00013},
                "storage_gb_month": 0.25,
            },
            "STANDARD_INFREQUENT_ACCESS": {
                "on_demand": {"write_per_million": 0.78125, "read_per_million": 0.15625},
                "provisioned": {"wcu_hour": 0.00081, "rcu_hour": 0.00016},
                "storage_gb_month": 0.10,
            },
            "pitr_gb_month": 0.20,
            "streams_read_per_100k": 0.02,
        },
    },
}


def built_in_prices() -> PriceTable:
    return PriceTable.model_validate(BUILT_IN)


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def load_prices(path: Path) -> PriceTable:
    """A --prices file: JSON or YAML of BUILT_IN's shape, validated. Every problem in one line."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_PRICES_FILE + 1)
    except OSError as exc:
        raise SnapinfraError(f"{path}: cannot read the prices file: {exc.strerror or exc}") from None
    if len(raw) > MAX_PRICES_FILE:
        raise SnapinfraError(f"{path}: a prices file is at most {MAX_PRICES_FILE // 1024} KiB")
    try:
        text = raw.decode("utf-8")
        document = YAML(typ="safe", pure=True).load(text)
    except UnicodeDecodeError:
        raise SnapinfraError(f"{path}: not UTF-8 text") from None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SnapinfraError(f"{path}{where}: not JSON or YAML: {problem}") from None
    if not isinstance(document, dict):
        raise SnapinfraError(f"{path}: a prices file is a mapping with as_of and regions (see README)")
    try:
        table = PriceTable.model_validate(document)
    except ValidationError as exc:
        problems = [f"{_location(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise SnapinfraError(f"{path}: " + "; ".join(problems)) from None
    return table.model_copy(update={"source": str(path)})
