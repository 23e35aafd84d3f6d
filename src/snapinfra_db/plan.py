"""What apply would do: typed, frozen steps grouped per table, and the Plan that holds them.

Steps are plain data (Alembic's ops): diff.py builds them, render.py shows them, executor.py
carries them out. Each step is one DynamoDB call. ``before`` fields are for display only;
``intent()`` is what the step does, used to check that live state still calls for it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .catalog import Billing, Capacity, Encryption, GlobalIndex, PointInTimeRecovery, TableSpec

FORMAT_VERSION = "1"


class _Step(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def intent(self) -> dict[str, Any]:
        # `before` is what the plan saw and `rebuild` why it acts: neither changes the call itself.
        return self.model_dump(exclude={"before", "rebuild"})


class CreateTable(_Step):
    op: Literal["create_table"] = "create_table"
    spec: TableSpec


class DeleteIndex(_Step):
    op: Literal["delete_gsi"] = "delete_gsi"
    index: str
    rebuild: bool = False


class CreateIndex(_Step):
    op: Literal["create_gsi"] = "create_gsi"
    index: str
    spec: GlobalIndex
    attribute_types: dict[str, str]  # AttributeDefinitions the call must carry
    provisioned: bool  # the table bills PROVISIONED: the index needs read/write capacity
    rebuild: bool = False


class UpdateIndexCapacity(_Step):
    op: Literal["update_gsi_capacity"] = "update_gsi_capacity"
    index: str
    before: Capacity
    after: Capacity


class UpdateBilling(_Step):
    op: Literal["update_billing"] = "update_billing"
    before: Billing
    after: Billing
    # Switching to PROVISIONED needs capacity for every existing index in the same call.
    index_capacity: dict[str, Capacity] = Field(default_factory=dict)


class UpdateTableClass(_Step):
    op: Literal["update_table_class"] = "update_table_class"
    before: str
    after: str


class UpdateDeletionProtection(_Step):
    op: Literal["update_deletion_protection"] = "update_deletion_protection"
    before: bool
    after: bool


class DisableStream(_Step):
    op: Literal["disable_stream"] = "disable_stream"
    before: str  # the view type being turned off


class EnableStream(_Step):
    op: Literal["enable_stream"] = "enable_stream"
    view_type: str


class UpdateEncryption(_Step):
    op: Literal["update_encryption"] = "update_encryption"
    before: Encryption
    after: Encryption


class DisableTtl(_Step):
    op: Literal["disable_ttl"] = "disable_ttl"
    attribute: str


class EnableTtl(_Step):
    op: Literal["enable_ttl"] = "enable_ttl"
    attribute: str


class UpdatePitr(_Step):
    op: Literal["update_pitr"] = "update_pitr"
    before: PointInTimeRecovery
    after: PointInTimeRecovery


class TagTable(_Step):
    op: Literal["tag_table"] = "tag_table"
    before: dict[str, str]  # current values of the tags that change (absent: added)
    tags: dict[str, str]


Step = Annotated[
    CreateTable
    | DeleteIndex
    | CreateIndex
    | UpdateIndexCapacity
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
    unsupported: tuple[str, ...] = ()  # settings this endpoint does not implement


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
            "unsupported": {t.table: list(t.unsupported) for t in self.tables if t.unsupported},
            "summary": self.summary(),
        }
