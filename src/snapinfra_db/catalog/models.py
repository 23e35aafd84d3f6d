"""The catalog's models: what tables.yaml declares, validated by pydantic.

The same models describe what the catalog wants and what DynamoDB reports (reconcile.live reflects
a described table into them), so the diff compares like with like.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

AttrType = Literal["S", "N", "B"]
BillingMode = Literal["PAY_PER_REQUEST", "PROVISIONED"]
ProjectionType = Literal["ALL", "KEYS_ONLY", "INCLUDE"]
EncryptionType = Literal["AWS_OWNED", "AWS_MANAGED", "CUSTOMER_MANAGED"]
StreamViewType = Literal["NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY"]
TableClass = Literal["STANDARD", "STANDARD_INFREQUENT_ACCESS"]

NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
ENV_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
MAX_GSIS = 20  # DynamoDB's default quota per table
MAX_LSIS = 5
MAX_PROJECTED_ATTRIBUTES = 100  # non-key attributes summed over a table's indexes
# DynamoDB's tag rules (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Tagging.html).
MAX_TAGS = 50  # per table, the catalog's defaults included
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
TAG_CHARACTERS = re.compile(r"^[\w\s.:/=+\-@]*$")  # Unicode letters, digits, whitespace, _ . : / = + - @

DEFAULT_PREFIX = "snapinfra-"


class Setting(StrEnum):
    """A table setting that an endpoint may not implement: DynamoDB Local has no PITR or tags and never
    reports encryption or table class; other DynamoDB-compatible endpoints accept some settings and
    silently do not apply them. Data, so every view words it the same way."""

    TABLE_CLASS = "table class"
    DELETION_PROTECTION = "deletion protection"
    STREAM = "stream"
    ENCRYPTION = "encryption"
    TTL = "ttl"
    POINT_IN_TIME_RECOVERY = "point-in-time recovery"
    TAGS = "tags"

    def not_supported(self) -> str:
        return f"{self.value}: not supported by this endpoint"


class Model(BaseModel):
    # Unknown keys are errors: a typo must never be silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeyAttribute(Model):
    """A key attribute. In YAML either ``name`` (a string, S) or ``{name: x, type: N}``."""

    name: str = Field(min_length=1)
    # None only in live state: moto may drop the type of a key attribute after an UpdateTable.
    type: AttrType | None = "S"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data


class Projection(Model):
    """``ALL``, ``KEYS_ONLY`` or ``{type: INCLUDE, attributes: [...]}``."""

    type: ProjectionType = "ALL"
    attributes: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"type": data} if isinstance(data, str) else data

    @field_validator("attributes")
    @classmethod
    def _sorted(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # DynamoDB does not keep the order of NonKeyAttributes; neither do we.
        return tuple(sorted(set(value)))

    @model_validator(mode="after")
    def _attributes_only_for_include(self) -> Projection:
        if self.type == "INCLUDE" and not self.attributes:
            raise ValueError("an INCLUDE projection needs a non-empty 'attributes' list")
        if self.type != "INCLUDE" and self.attributes:
            raise ValueError(f"'attributes' is only allowed with type INCLUDE, not {self.type}")
        return self


class Capacity(Model):
    """Throughput of a table or GSI: provisioned read/write units, or on-demand maximums."""

    read: int | None = Field(default=None, ge=1)
    write: int | None = Field(default=None, ge=1)
    max_read: int | None = Field(default=None, ge=1)
    max_write: int | None = Field(default=None, ge=1)


class GlobalIndex(Capacity):
    partition_key: KeyAttribute
    sort_key: KeyAttribute | None = None
    projection: Projection = Projection()

    def key_attributes(self) -> list[KeyAttribute]:
        return [k for k in (self.partition_key, self.sort_key) if k is not None]


class LocalIndex(Model):
    sort_key: KeyAttribute
    projection: Projection = Projection()


class Billing(Capacity):
    mode: BillingMode = "PAY_PER_REQUEST"


class PointInTimeRecovery(Model):
    enabled: bool = True
    recovery_period_days: int = Field(default=35, ge=1, le=35)


class Encryption(Model):
    type: EncryptionType = "AWS_MANAGED"
    kms_key: str | None = None  # CUSTOMER_MANAGED only: a key ARN or key id

    @model_validator(mode="after")
    def _key_only_when_customer_managed(self) -> Encryption:
        if self.type == "CUSTOMER_MANAGED" and not self.kms_key:
            raise ValueError("CUSTOMER_MANAGED encryption needs 'kms_key' (a KMS key ARN or key id)")
        if self.type != "CUSTOMER_MANAGED" and self.kms_key:
            raise ValueError(f"'kms_key' is only allowed with type CUSTOMER_MANAGED, not {self.type}")
        if self.kms_key and self.kms_key.startswith("alias/"):
            raise ValueError(
                "use the KMS key ARN or key id, not an alias: DynamoDB reports the key ARN, "
                "and an alias cannot be compared with it"
            )
        return self


class Stream(Model):
    enabled: bool = True
    view_type: StreamViewType = "NEW_AND_OLD_IMAGES"


ALARM_ACTION_RE = re.compile(r"^arn:[A-Za-z0-9-]+:[A-Za-z0-9-]+:\S*$")
MAX_ALARM_ACTIONS = 5  # CloudWatch's limit per alarm state
MAX_ALARM_SECONDS = 86400  # CloudWatch: period × evaluation periods is at most one day


class AlarmRule(Model):
    """One CloudWatch alarm of the catalog's `alarms` block: alarm when the metric is ≥ `threshold` in
    `evaluation_periods` consecutive periods of `period` seconds."""

    threshold: float = Field(default=1.0, ge=0)
    period: int = Field(default=60, ge=60)
    evaluation_periods: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _within_cloudwatch_limits(self) -> AlarmRule:
        if self.period % 60:
            raise ValueError(f"period {self.period}: DynamoDB's metrics are per minute, so a multiple of 60 seconds")
        if self.period * self.evaluation_periods > MAX_ALARM_SECONDS:
            raise ValueError(
                f"period × evaluation_periods is {self.period * self.evaluation_periods} s: CloudWatch allows at "
                f"most {MAX_ALARM_SECONDS} (one day)"
            )
        return self


class CapacityAlarmRule(AlarmRule):
    """consumed_capacity_percent: consumed read (write) capacity ≥ `threshold` % of the provisioned."""

    threshold: float = Field(default=80.0, gt=0)
    period: int = Field(default=300, ge=60)


ALARM_KINDS = ("throttled_requests", "system_errors", "consumed_capacity_percent")
MAX_ALARM_NAME = 255  # CloudWatch's limit on an alarm name
# The alarms each kind makes per table and GSI: `<table>[.<index>]-<suffix>` (reconcile.alarms).
ALARM_SUFFIXES: dict[str, tuple[str, ...]] = {
    "throttled_requests": ("throttled-requests",),
    "system_errors": ("system-errors",),
    "consumed_capacity_percent": ("consumed-read-capacity-percent", "consumed-write-capacity-percent"),
}


class Alarms(Model):
    """`alarms`: CloudWatch alarms on the table and its GSIs (see reconcile.alarms). Each kind is a mapping
    (`{}`: its defaults), `true` (the same) or `false`/`null` (none)."""

    actions: tuple[str, ...] = ()  # AlarmActions: SNS topic ARNs and the like
    throttled_requests: AlarmRule | None = None
    system_errors: AlarmRule | None = None
    consumed_capacity_percent: CapacityAlarmRule | None = None

    @model_validator(mode="before")
    @classmethod
    def _switches(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        switched: dict[bool, dict[str, Any] | None] = {True: {}, False: None}
        return {k: switched[v] if k in ALARM_KINDS and isinstance(v, bool) else v for k, v in data.items()}

    @field_validator("actions")
    @classmethod
    def _actions_are_arns(cls, actions: tuple[str, ...]) -> tuple[str, ...]:
        for action in actions:
            if not ALARM_ACTION_RE.fullmatch(action) or len(action) > 1024:
                raise ValueError(f"action {action[:60]!r} is not an ARN (e.g. arn:aws:sns:us-east-1:123456789012:ops)")
        if len(actions) > MAX_ALARM_ACTIONS:
            raise ValueError(f"{len(actions)} actions: CloudWatch allows at most {MAX_ALARM_ACTIONS} per alarm")
        return tuple(dict.fromkeys(actions))

    def kinds(self) -> dict[str, AlarmRule]:
        """The kinds switched on, in ALARM_KINDS' order."""
        return {kind: rule for kind in ALARM_KINDS if (rule := getattr(self, kind)) is not None}


class TableSettings(Model):
    """Everything ``defaults`` may set; a table may override each of these."""

    billing: Billing = Billing()
    point_in_time_recovery: PointInTimeRecovery = PointInTimeRecovery()
    encryption: Encryption = Encryption()
    stream: Stream = Stream()
    deletion_protection: bool = True
    table_class: TableClass = "STANDARD"
    tags: dict[str, str] = Field(default_factory=dict)
    # CloudWatch alarms (None: none). Left out of dumps: a table's steps and saved plans never carry them.
    alarms: Alarms | None = Field(default=None, exclude=True)

    @field_validator("alarms", mode="before")
    @classmethod
    def _alarms_off(cls, value: Any) -> Any:
        return None if value is False else value

    @field_validator("tags")
    @classmethod
    def _tags_within_dynamodb_limits(cls, tags: dict[str, str]) -> dict[str, str]:
        for key, value in tags.items():
            shown = repr(key if len(key) <= 40 else key[:37] + "...")
            if not 1 <= len(key) <= MAX_TAG_KEY:
                raise ValueError(f"tag key {shown}: keys are 1-{MAX_TAG_KEY} characters (this one has {len(key)})")
            if key.lower().startswith("aws:"):
                raise ValueError(f"tag key {shown}: keys beginning with 'aws:' are reserved by AWS")
            if not TAG_CHARACTERS.fullmatch(key):
                raise ValueError(f"tag key {shown}: {_TAG_CHARACTER_RULE}")
            if len(value) > MAX_TAG_VALUE:
                raise ValueError(f"tag {shown}: values are 0-{MAX_TAG_VALUE} characters (this one has {len(value)})")
            if not TAG_CHARACTERS.fullmatch(value):
                raise ValueError(f"tag {shown}: the value may use only {_TAG_CHARACTER_RULE[len('may use only ') :]}")
        if len(tags) > MAX_TAGS:
            raise ValueError(f"{len(tags)} tags: DynamoDB allows at most {MAX_TAGS} per table (defaults included)")
        return tags


_TAG_CHARACTER_RULE = "may use only Unicode letters, digits, whitespace and _ . : / = + - @"


class TableSpec(TableSettings):
    """One table as the catalog wants it, defaults merged in and the prefix applied."""

    key: str  # the catalog's short name, e.g. "projects"
    name: str  # the full DynamoDB table name, e.g. "snapinfra-projects"
    env: str
    partition_key: KeyAttribute
    sort_key: KeyAttribute | None = None
    ttl: str | None = None  # the TTL attribute, or None for no TTL
    global_indexes: dict[str, GlobalIndex] = Field(default_factory=dict)
    local_indexes: dict[str, LocalIndex] = Field(default_factory=dict)

    def key_attributes(self) -> list[KeyAttribute]:
        return [k for k in (self.partition_key, self.sort_key) if k is not None]

    def attribute_types(self) -> dict[str, AttrType]:
        """Every key attribute of the table and its indexes, with its type (AttributeDefinitions)."""
        found: dict[str, AttrType] = {}
        for attr in self.all_key_attributes():
            if attr.type is not None:
                found.setdefault(attr.name, attr.type)
        return found

    def all_key_attributes(self) -> Iterator[KeyAttribute]:
        yield from self.key_attributes()
        for gsi in self.global_indexes.values():
            yield from gsi.key_attributes()
        for lsi in self.local_indexes.values():
            yield lsi.sort_key


class Stage(Model):
    """The stage a catalog was resolved for (`stages.<name>` in tables.yaml, chosen by --stage or
    `default_stage`): where its tables live. Its prefix and overrides are already applied to the
    catalog; region, profile and endpoint_url are what the commands connect with unless --region,
    --profile, --endpoint-url or --local say otherwise (None: the ambient AWS configuration)."""

    name: str
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None


class Catalog(Model):
    path: str
    prefix: str
    tables: tuple[TableSpec, ...]
    legacy: tuple[str, ...] = ()
    # What a table gets unless it says otherwise (import leaves these out); a stage's overrides merged in.
    defaults: TableSettings = TableSettings()
    stage: Stage | None = None  # the stage resolved, None for a catalog without `stages`
    stages: tuple[str, ...] = ()  # every stage the catalog declares, in its order
    # An `alarms` key anywhere in the file (even `alarms: {}`): CloudWatch is read, and the alarms this tool
    # made that the catalog no longer wants are deleted. Without one, CloudWatch is never called.
    manages_alarms: bool = False

    def table(self, name: str) -> TableSpec:
        return next(t for t in self.tables if t.name == name)

    def env_variables(self) -> dict[str, str]:
        """The backend's variable for each table: NAME -> table name."""
        return {t.env: t.name for t in self.tables}
