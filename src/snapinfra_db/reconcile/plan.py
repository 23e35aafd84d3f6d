"""What apply would do: typed, frozen steps grouped per table, and the Plan that holds them.

Steps are plain data (Alembic's ops): `diff` builds them, `requests` turns each into its one
DynamoDB call, the executor carries them out, and the views in render/ show them. Each step says
in plain words what it does (`lines()`, `describe()`): the same text in the plan, in apply's
progress and in its errors. ``before`` fields are for display only; ``intent()`` is what the step
does, used to check that live state still calls for it.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from snapinfra_db.catalog import (
    Billing,
    Capacity,
    Encryption,
    GlobalIndex,
    KeyAttribute,
    PointInTimeRecovery,
    Setting,
    TableSpec,
)

FORMAT_VERSION = "1"


# -- words for settings, shared by every step's text ------------------------------------------


def key_text(attr: KeyAttribute | None) -> str:
    return f"{attr.name} {attr.type}" if attr else ""


def capacity_text(cap: Capacity) -> str:
    if cap.read is not None or cap.write is not None:
        return f"{cap.read} RCU / {cap.write} WCU"
    parts = [
        f"max {cap.max_read} reads/s" if cap.max_read else "",
        f"max {cap.max_write} writes/s" if cap.max_write else "",
    ]
    return ", ".join(p for p in parts if p)


def index_text(gsi: GlobalIndex) -> str:
    keys = ", ".join(k for k in (key_text(gsi.partition_key), key_text(gsi.sort_key)) if k)
    projection: str = gsi.projection.type
    if gsi.projection.attributes:
        projection += " " + ",".join(gsi.projection.attributes)
    capacity = capacity_text(gsi)
    return f"({keys}; projection {projection}{'; ' + capacity if capacity else ''})"


def billing_text(billing: Billing) -> str:
    extra = capacity_text(billing)
    return billing.mode + (f" ({extra})" if extra else "")


def encryption_text(enc: Encryption) -> str:
    return enc.type + (f" {enc.kms_key}" if enc.kms_key else "")


def pitr_text(pitr: PointInTimeRecovery) -> str:
    return f"on ({pitr.recovery_period_days} days)" if pitr.enabled else "off"


def on_off(value: bool) -> str:
    return "on" if value else "off"


Line = tuple[str, str]  # (symbol, text): "+" add, "-" remove, "~" change, "-/+" rebuild


class _Step(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # The setting this step changes, where an endpoint might accept the call and not apply it;
    # None for what must take effect or fail (keys, indexes, billing, the table itself).
    setting: ClassVar[Setting | None] = None

    def intent(self) -> dict[str, Any]:
        # `before` is what the plan saw and `rebuild` why it acts: neither changes the call itself.
        return self.model_dump(exclude={"before", "rebuild"})

    def lines(self) -> list[Line]:
        """The lines that show this step in a plan."""
        raise NotImplementedError

    def lines_in_create(self) -> list[Line]:
        """The lines under a table's create: what is added, not changed from "off"."""
        return self.lines()

    def describe(self) -> str:
        """A one-line label for progress and errors."""
        return self.lines()[0][1]


class CreateTable(_Step):
    op: Literal["create_table"] = "create_table"
    spec: TableSpec
    # Settings this endpoint does not implement: not shown as things that will happen. Display only.
    left_out: tuple[Setting, ...] = ()

    def intent(self) -> dict[str, Any]:
        return self.model_dump(exclude={"left_out"})

    def lines(self) -> list[Line]:
        spec = self.spec
        keys = ", ".join(k for k in (key_text(spec.partition_key), key_text(spec.sort_key)) if k)
        lines: list[Line] = [
            ("+", f"table (key {keys}; billing {billing_text(spec.billing)}; class {spec.table_class})"),
        ]
        settings: list[tuple[Setting, str]] = [
            (Setting.STREAM, f"stream: {spec.stream.view_type if spec.stream.enabled else 'off'}"),
            (Setting.ENCRYPTION, f"encryption: {encryption_text(spec.encryption)}"),
            (Setting.DELETION_PROTECTION, f"deletion protection: {on_off(spec.deletion_protection)}"),
        ]
        lines += [("+", text) for setting, text in settings if setting not in self.left_out]
        lines += [("+", f"index {n} {index_text(g)}") for n, g in spec.global_indexes.items()]
        for name, lsi in spec.local_indexes.items():
            lines.append(
                ("+", f"local index {name} (sort key {key_text(lsi.sort_key)}; projection {lsi.projection.type})")
            )
        if spec.tags and Setting.TAGS not in self.left_out:
            lines.append(("+", "tags: " + ", ".join(f"{k}={v}" for k, v in sorted(spec.tags.items()))))
        return lines

    def describe(self) -> str:
        return "create table"


class DeleteGsi(_Step):
    op: Literal["delete_gsi"] = "delete_gsi"
    index: str
    rebuild: bool = False

    def lines(self) -> list[Line]:
        if self.rebuild:
            return [("-/+", f"index {self.index} (rebuild: delete)")]
        return [("-", f"index {self.index} (delete)")]


class CreateGsi(_Step):
    op: Literal["create_gsi"] = "create_gsi"
    index: str
    spec: GlobalIndex
    attribute_types: dict[str, str]  # AttributeDefinitions the call must carry
    provisioned: bool  # the table bills PROVISIONED: the index needs read/write capacity
    rebuild: bool = False

    def lines(self) -> list[Line]:
        text = f"index {self.index} {index_text(self.spec)}"
        return [("-/+", text + " (rebuild: create)")] if self.rebuild else [("+", text)]


class UpdateGsiCapacity(_Step):
    op: Literal["update_gsi_capacity"] = "update_gsi_capacity"
    index: str
    before: Capacity
    after: Capacity

    def lines(self) -> list[Line]:
        before, after = capacity_text(self.before) or "unlimited", capacity_text(self.after) or "unlimited"
        return [("~", f"index {self.index} capacity: {before} → {after}")]


class UpdateBilling(_Step):
    op: Literal["update_billing"] = "update_billing"
    before: Billing
    after: Billing
    # Switching to PROVISIONED needs capacity for every existing index in the same call.
    index_capacity: dict[str, Capacity] = Field(default_factory=dict)

    def lines(self) -> list[Line]:
        return [("~", f"billing: {billing_text(self.before)} → {billing_text(self.after)}")]


class UpdateTableClass(_Step):
    op: Literal["update_table_class"] = "update_table_class"
    setting = Setting.TABLE_CLASS
    before: str
    after: str

    def lines(self) -> list[Line]:
        return [("~", f"table class: {self.before} → {self.after}")]


class UpdateDeletionProtection(_Step):
    op: Literal["update_deletion_protection"] = "update_deletion_protection"
    setting = Setting.DELETION_PROTECTION
    before: bool
    after: bool

    def lines(self) -> list[Line]:
        return [("~", f"deletion protection: {on_off(self.before)} → {on_off(self.after)}")]


class DisableStream(_Step):
    op: Literal["disable_stream"] = "disable_stream"
    setting = Setting.STREAM
    before: str  # the view type being turned off

    def lines(self) -> list[Line]:
        return [("~", f"stream: {self.before} → off")]


class EnableStream(_Step):
    op: Literal["enable_stream"] = "enable_stream"
    setting = Setting.STREAM
    view_type: str

    def lines(self) -> list[Line]:
        return [("~", f"stream: off → {self.view_type}")]


class UpdateEncryption(_Step):
    op: Literal["update_encryption"] = "update_encryption"
    setting = Setting.ENCRYPTION
    before: Encryption
    after: Encryption

    def lines(self) -> list[Line]:
        return [("~", f"encryption: {encryption_text(self.before)} → {encryption_text(self.after)}")]


class DisableTtl(_Step):
    op: Literal["disable_ttl"] = "disable_ttl"
    setting = Setting.TTL
    attribute: str

    def lines(self) -> list[Line]:
        return [("~", f"ttl: {self.attribute} → off")]


class EnableTtl(_Step):
    op: Literal["enable_ttl"] = "enable_ttl"
    setting = Setting.TTL
    attribute: str

    def lines(self) -> list[Line]:
        return [("~", f"ttl: off → {self.attribute}")]

    def lines_in_create(self) -> list[Line]:
        return [("+", f"ttl: {self.attribute}")]


class UpdatePitr(_Step):
    op: Literal["update_pitr"] = "update_pitr"
    setting = Setting.POINT_IN_TIME_RECOVERY
    before: PointInTimeRecovery
    after: PointInTimeRecovery

    def lines(self) -> list[Line]:
        return [("~", f"point-in-time recovery: {pitr_text(self.before)} → {pitr_text(self.after)}")]

    def lines_in_create(self) -> list[Line]:
        return [("+", f"point-in-time recovery: {pitr_text(self.after)}")]


class TagTable(_Step):
    op: Literal["tag_table"] = "tag_table"
    setting = Setting.TAGS
    before: dict[str, str]  # current values of the tags that change (absent: added)
    tags: dict[str, str]

    def lines(self) -> list[Line]:
        parts = [
            f"{k}: {self.before[k]} → {v}" if k in self.before else f"+ {k}={v}" for k, v in sorted(self.tags.items())
        ]
        return [("~", "tags: " + "; ".join(parts))]


Step = Annotated[
    CreateTable
    | DeleteGsi
    | CreateGsi
    | UpdateGsiCapacity
    | UpdateBilling
    | UpdateTableClass
    | UpdateDeletionProtection
    | DisableStream
    | EnableStream
    | UpdateEncryption
    | DisableTtl
    | EnableTtl
    | UpdatePitr
    | TagTable,
    Field(discriminator="op"),
]

Action = Literal["create", "update", "blocked", "none"]


class TableChange(BaseModel):
    """Everything the plan says about one catalog table."""

    model_config = ConfigDict(frozen=True)

    table: str
    action: Action
    steps: tuple[Step, ...] = ()
    blocked: tuple[str, ...] = ()  # why DynamoDB cannot make the change in place, and what to do
    notes: tuple[str, ...] = ()  # consequences the operator should know before saying yes
    unsupported: tuple[Setting, ...] = ()  # settings this endpoint does not implement


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True)

    format_version: str = FORMAT_VERSION
    tables: tuple[TableChange, ...]

    @property
    def changes(self) -> tuple[TableChange, ...]:
        return tuple(t for t in self.tables if t.action != "none")

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def summary(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "blocked": 0, "unchanged": 0}
        for t in self.tables:
            counts["unchanged" if t.action == "none" else t.action] += 1
        counts["steps"] = sum(len(t.steps) for t in self.tables)
        return counts

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "changes": [t.model_dump(mode="json") for t in self.changes],
            "unchanged": [t.table for t in self.tables if t.action == "none"],
            "unsupported": {t.table: [s.not_supported() for s in t.unsupported] for t in self.tables if t.unsupported},
            "summary": self.summary(),
        }
