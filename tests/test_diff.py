"""The diff as a pure function: catalog model x live description → steps.

What DynamoDB reports is not written here by hand: it is *recorded* from the two engines by
scripts/record_responses.py into tests/fixtures/responses/<engine>/<case>.json (DescribeTable,
DescribeTimeToLive, DescribeContinuousBackups, ListTagsOfResource, each answer or the error the
engine refused with). ``reflect()`` runs on those answers and ``diff_table()`` on the result, so a
quirk of an engine that live.py does not know about shows up here as a plan that is not empty.

A few shapes neither engine produces (AWS-only: transient statuses, on-demand maximums, table
class, a KMS key manager, ...) are made by hand *from* a recording, changing only the fields in
question; each such test says so. No AWS calls here except the property test, which creates
generated tables on moto and checks they plan to nothing.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from snapinfra_db.catalog import (
    Billing,
    Capacity,
    PointInTimeRecovery,
    Setting,
    TableSpec,
    load_catalog,
)
from snapinfra_db.reconcile.diff import diff_catalog, diff_table
from snapinfra_db.reconcile.executor import Executor
from snapinfra_db.reconcile.live import UNSUPPORTED_CODES, LiveEncryption, LiveTable, read_table, reflect
from snapinfra_db.reconcile.plan import (
    DeleteGsi,
    DisableStream,
    EnableStream,
    EnableTtl,
    Plan,
    TagTable,
    UpdateBilling,
    UpdateDeletionProtection,
    UpdatePitr,
)

ROOT = Path(__file__).resolve().parents[1]
RESPONSES = Path(__file__).parent / "fixtures" / "responses"
ENGINES = ("moto", "ddblocal")
OPERATIONS = ("DescribeTable", "DescribeTimeToLive", "DescribeContinuousBackups", "ListTagsOfResource")

CATALOG_KEYS = (
    "projects",
    "schemas",
    "architectures",
    "code-generations",
    "deployments",
    "analytics",
    "activity",
    "teams",
    "documentation",
    "integrations",
    "users",
    "settings",
)
# Tables created by apply and left alone (see scripts/record_responses.py for what each one is).
FRESH = (
    *(f"catalog-{key}" for key in CATALOG_KEYS),
    "provisioned-gsis",
    "lsi-include",
    "keys-only-stream-ttl",
    "new-image-stream-ia",
    "old-image-stream-customer-key",
    "owned-key-no-stream",
)
# Tables created by apply, then changed by hand.
DRIFTED = ("drift-index-added", "drift-by-hand")

# DynamoDB Local implements neither PITR nor tags and never reports encryption or table class.
LOCAL_UNSUPPORTED = (Setting.TABLE_CLASS, Setting.ENCRYPTION, Setting.POINT_IN_TIME_RECOVERY, Setting.TAGS)
UNSUPPORTED: dict[str, tuple[Setting, ...]] = {"moto": (), "ddblocal": LOCAL_UNSUPPORTED}

# Engine gaps: settings an engine accepts on CreateTable but never reports, so that the table plans
# a change right after apply (and would again after every apply). Recorded, not wished away: a fix
# in live.py (or a newer engine) shows up here, and this table shrinks.
FRESH_GAPS: dict[tuple[str, str], list[str]] = {
    # Neither engine reports OnDemandThroughput (on-demand maximums), for the table or its GSIs.
    ("moto", "lsi-include"): ["update_billing", "update_gsi_capacity"],
    ("ddblocal", "lsi-include"): ["update_billing", "update_gsi_capacity"],
    # moto 5.2 accepts TableClass and never reports TableClassSummary (DynamoDB Local reports no
    # class either, which live.py knows: "not supported").
    ("moto", "new-image-stream-ia"): ["update_table_class"],
}

# --------------------------------------------------------------------------- the recordings


def _revive(value: Any, key: str = "") -> Any:
    """JSON back into what boto3 returns: the ISO strings of *DateTime fields as datetimes."""
    if isinstance(value, dict):
        return {k: _revive(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_revive(v, key) for v in value]
    if key.endswith("DateTime") and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


@dataclass(frozen=True)
class Recording:
    """The four answers one engine gave for one table, and the catalog entry it was created from."""

    engine: str
    case: str
    spec: TableSpec
    answers: dict[str, Any]
    requests: tuple[dict[str, Any], ...]

    def answer(self, operation: str) -> Any:
        """A copy of the recorded answer; None where the engine does not implement the operation,
        as read_tables passes it to reflect."""
        answer = copy.deepcopy(self.answers[operation])
        if "Error" in answer:
            assert answer["Error"]["Code"] in UNSUPPORTED_CODES, answer
            return None
        return answer

    def table(self) -> dict[str, Any]:
        """A copy of DescribeTable's Table, to edit into a shape neither engine produces."""
        table: dict[str, Any] = self.answer("DescribeTable")["Table"]
        return table

    def reflect(self, **overrides: Any) -> LiveTable:
        """reflect() on the recorded answers; `overrides` replace reflect's arguments."""
        tags = self.answer("ListTagsOfResource")
        args: dict[str, Any] = {
            "table": self.table(),
            "ttl": self.answer("DescribeTimeToLive"),
            "pitr": self.answer("DescribeContinuousBackups"),
            "tags": None if tags is None else {t["Key"]: t["Value"] for t in tags["Tags"]},
            "key_manager": None,  # read_tables asks KMS only when given a way to; the engines have none
        }
        return reflect(**(args | overrides))

    def want(self, **changes: Any) -> TableSpec:
        """The recorded table's catalog entry with `changes`, validated like the catalog's."""
        return TableSpec.model_validate(self.spec.model_dump() | changes)


@cache
def recorded(engine: str, case: str) -> Recording:
    data = json.loads((RESPONSES / engine / f"{case}.json").read_text())
    assert (data["engine"], data["case"]) == (engine, case)
    return Recording(
        engine=engine,
        case=case,
        spec=TableSpec.model_validate(data["spec"]),
        answers={op: _revive(data[op]) for op in OPERATIONS},
        requests=tuple(data["requests"]),
    )


def ops(spec: TableSpec, live: LiveTable | None) -> list[str]:
    return [step.op for step in diff_table(spec, live).steps]


class Replay:
    """A DynamoDB client that answers read_tables' four calls from a recording, errors included."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.exceptions = boto3.client("dynamodb", region_name="us-east-1").exceptions

    def _answer(self, operation: str) -> Any:
        answer = copy.deepcopy(self.recording.answers[operation])
        if "Error" in answer:
            raise ClientError(answer, operation)
        return answer

    def describe_table(self, TableName: str) -> Any:
        return self._answer("DescribeTable")

    def describe_time_to_live(self, TableName: str) -> Any:
        return self._answer("DescribeTimeToLive")

    def describe_continuous_backups(self, TableName: str) -> Any:
        return self._answer("DescribeContinuousBackups")

    def list_tags_of_resource(self, ResourceArn: str, **kwargs: Any) -> Any:
        return self._answer("ListTagsOfResource")


# --------------------------------------------------------------------------- the recordings themselves


def test_every_case_is_recorded_on_both_engines_and_nothing_else() -> None:
    for engine in ENGINES:
        assert sorted(p.stem for p in (RESPONSES / engine).glob("*.json")) == sorted(FRESH + DRIFTED)


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize("case", FRESH + DRIFTED)
def test_the_loader_reads_a_recording_as_read_table_does(engine_name: str, case: str) -> None:
    """The loader below every test here agrees with the real read path, run on the same answers."""
    recording = recorded(engine_name, case)
    live = read_table(Replay(recording), recording.spec.name)  # type: ignore[arg-type]
    assert live == recording.reflect()
    assert live is not None and live.endpoint_kind == ("ddblocal" if engine_name == "ddblocal" else "aws")


def test_the_catalog_recordings_are_of_the_shipped_catalog() -> None:
    catalog = load_catalog(ROOT / "tables.yaml")
    for engine in ENGINES:
        assert [recorded(engine, f"catalog-{t.key}").spec for t in catalog.tables] == list(catalog.tables), (
            "tables.yaml changed: record again with .venv/bin/python scripts/record_responses.py"
        )


# --------------------------------------------------------------------------- freshly applied: no changes


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize("case", FRESH)
def test_a_freshly_applied_table_plans_to_no_changes(engine_name: str, case: str) -> None:
    recording = recorded(engine_name, case)
    change = diff_table(recording.spec, recording.reflect())
    expected = FRESH_GAPS.get((engine_name, case), [])
    assert [s.op for s in change.steps] == expected
    assert change.action == ("update" if expected else "none") and change.blocked == ()
    assert change.unsupported == UNSUPPORTED[engine_name]


@pytest.mark.parametrize("engine_name", ENGINES)
def test_the_shipped_catalog_applied_plans_to_nothing(engine_name: str) -> None:
    catalog = load_catalog(ROOT / "tables.yaml")
    live = {t.name: recorded(engine_name, f"catalog-{t.key}").reflect() for t in catalog.tables}
    summary = diff_catalog(catalog, live).to_json()["summary"]
    assert summary == {"create": 0, "update": 0, "blocked": 0, "unchanged": 12, "steps": 0}


# --------------------------------------------------------------------------- normalisation, on real answers


def test_dynamodb_local_reports_no_billing_summary_for_a_never_on_demand_table() -> None:
    # Like AWS: absent means PROVISIONED. moto always reports the mode; both reflect the same.
    local, moto = recorded("ddblocal", "provisioned-gsis"), recorded("moto", "provisioned-gsis")
    assert "BillingModeSummary" not in local.table()
    assert moto.table()["BillingModeSummary"] == {"BillingMode": "PROVISIONED"}
    for recording in (local, moto):
        live = recording.reflect()
        assert live.billing == Billing(mode="PROVISIONED", read=5, write=4)
        assert {n: (g.read, g.write) for n, g in live.global_indexes.items()} == {"ByUser": (2, 3), "ByStatus": (1, 1)}


@pytest.mark.parametrize("engine_name", ENGINES)
def test_zero_throughput_on_demand_is_not_a_capacity(engine_name: str) -> None:
    recording = recorded(engine_name, "catalog-projects")
    assert recording.table()["ProvisionedThroughput"]["ReadCapacityUnits"] == 0
    live = recording.reflect()
    assert live.billing == Billing(mode="PAY_PER_REQUEST")
    assert all(i.read is None and i.write is None for i in live.global_indexes.values())


@pytest.mark.parametrize("engine_name", ENGINES)
def test_include_projections_and_a_local_index_compare_equal(engine_name: str) -> None:
    recording = recorded(engine_name, "lsi-include")
    live = recording.reflect()
    assert live.local_indexes == recording.spec.local_indexes
    assert live.global_indexes["ByOwner"].projection == recording.spec.global_indexes["ByOwner"].projection
    # AWS does not promise the order of NonKeyAttributes (neither engine changed it): order is no change.
    table = recording.table()
    for index in table["LocalSecondaryIndexes"] + table["GlobalSecondaryIndexes"]:
        index["Projection"]["NonKeyAttributes"].reverse()
    assert ops(recording.spec, recording.reflect(table=table)) == FRESH_GAPS[(engine_name, "lsi-include")]


@pytest.mark.parametrize("engine_name", ENGINES)
def test_every_stream_view_type_and_stream_off_round_trip(engine_name: str) -> None:
    seen = {}
    for case in ("catalog-projects", "keys-only-stream-ttl", "new-image-stream-ia", "old-image-stream-customer-key"):
        live = recorded(engine_name, case).reflect()
        assert live.stream.enabled and live.stream_arn and live.stream_arn.endswith("/stream/1970-01-01T00:00:00.000")
        seen[live.stream.view_type] = case
    assert set(seen) == {"NEW_AND_OLD_IMAGES", "KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE"}
    off = recorded(engine_name, "owned-key-no-stream").reflect()
    assert not off.stream.enabled and off.stream_arn is None


def test_moto_reports_pitr_ttl_tags_and_the_key() -> None:
    live = recorded("moto", "keys-only-stream-ttl").reflect()
    assert live.point_in_time_recovery == PointInTimeRecovery(enabled=True, recovery_period_days=7)
    assert isinstance(live.earliest_restorable, datetime)  # the loader revives datetimes as boto3 gives them
    assert live.ttl == "ttl" and live.partition_key.type == "B"
    owned = recorded("moto", "owned-key-no-stream").reflect()
    assert owned.point_in_time_recovery == PointInTimeRecovery(enabled=False)
    assert owned.encryption == LiveEncryption(type="AWS_OWNED")
    catalog = recorded("moto", "catalog-projects").reflect()
    assert catalog.tags == {"Project": "snapinfra", "ManagedBy": "snapinfra-db"}
    # moto makes up a key for the AWS-managed one (a new id each run: a stand-in in the recording).
    assert catalog.encryption == LiveEncryption(
        type="KMS", kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000aaaa"
    )


def test_dynamodb_local_unsupported_settings_are_notes_not_changes() -> None:
    # Table class, SSE, PITR and tags are all asked for on this table; Local drops or refuses each.
    recording = recorded("ddblocal", "new-image-stream-ia")
    assert recording.spec.table_class == "STANDARD_INFREQUENT_ACCESS"
    assert [(r["operation"], r.get("error")) for r in recording.requests] == [
        ("CreateTable", None),
        ("UpdateContinuousBackups", "UnknownOperationException"),
    ]
    assert recording.answers["ListTagsOfResource"]["Error"] == {
        "Code": "UnknownOperationException",
        "Message": "Tagging is not currently supported in DynamoDB Local.",
    }
    live = recording.reflect()
    assert (live.table_class, live.encryption, live.point_in_time_recovery, live.tags) == (None, None, None, None)
    change = diff_table(recording.spec, live)
    assert change.steps == () and change.unsupported == LOCAL_UNSUPPORTED
    # Nothing the catalog could say about those settings makes a step on Local.
    other = recording.want(
        table_class="STANDARD",
        encryption={"type": "AWS_OWNED"},
        point_in_time_recovery={"enabled": False},
        tags={"Team": "x"},
    )
    assert ops(other, live) == []


# --------------------------------------------------------------------------- drift, on real answers


def test_an_index_added_by_hand_is_deleted_and_moto_forgetting_key_types_is_no_diff() -> None:
    moto, local = recorded("moto", "drift-index-added"), recorded("ddblocal", "drift-index-added")
    # moto replaces AttributeDefinitions with the update's; DynamoDB Local merges them, like AWS.
    assert moto.table()["AttributeDefinitions"] == [{"AttributeName": "email", "AttributeType": "S"}]
    assert {a["AttributeName"] for a in local.table()["AttributeDefinitions"]} == {"id", "userId", "email"}
    moto_live = moto.reflect()
    assert moto_live.partition_key.type is None  # unknown, not a changed key: compared by name only
    change = diff_table(moto.spec, moto_live)
    assert change.steps == (DeleteGsi(index="ByEmail"),)
    assert change.notes == ("index ByEmail is not in the catalog and will be deleted: queries on it will fail",)
    # DynamoDB Local turned deletion protection off with that UpdateTable (AWS leaves it as it is).
    assert local.table()["DeletionProtectionEnabled"] is False
    assert diff_table(local.spec, local.reflect()).steps == (
        DeleteGsi(index="ByEmail"),
        UpdateDeletionProtection(before=False, after=True),
    )


def test_a_table_changed_by_hand_converges_back_in_dynamodb_order() -> None:
    """Switched to PROVISIONED, stream view changed, TTL off, a tag changed and one added, PITR off."""
    on_demand = Billing(mode="PAY_PER_REQUEST")
    moto = recorded("moto", "drift-by-hand")
    # moto never re-enables a stream on a table that had one (ResourceInUseException "Cannot enable
    # stream"), so there the stream ended up off; and its TagResource appends a second "Project"
    # tag instead of replacing it (the last one read wins, as in live.list_tags).
    assert [(r["operation"], r.get("error")) for r in moto.requests if r.get("drift")][1:3] == [
        ("UpdateTable", None),
        ("UpdateTable", "ResourceInUseException"),
    ]
    assert [t["Key"] for t in moto.answers["ListTagsOfResource"]["Tags"]] == ["Project", "Project", "Cost"]
    assert diff_table(moto.spec, moto.reflect()).steps == (
        UpdateBilling(before=Billing(mode="PROVISIONED", read=3, write=2), after=on_demand),
        EnableStream(view_type="NEW_AND_OLD_IMAGES"),
        EnableTtl(attribute="expiresAt"),
        UpdatePitr(before=PointInTimeRecovery(enabled=False), after=PointInTimeRecovery()),
        TagTable(before={"Project": "old"}, tags={"Project": "app"}),  # "Cost" is someone else's
    )
    local = recorded("ddblocal", "drift-by-hand")
    change = diff_table(local.spec, local.reflect())
    assert change.steps == (
        UpdateBilling(before=Billing(mode="PROVISIONED", read=3, write=2), after=on_demand),
        UpdateDeletionProtection(before=False, after=True),  # reset by Local's UpdateTable
        DisableStream(before="KEYS_ONLY"),
        EnableStream(view_type="NEW_AND_OLD_IMAGES"),
        EnableTtl(attribute="expiresAt"),
    )
    assert change.unsupported == LOCAL_UNSUPPORTED


# --------------------------------------------------------------------------- AWS-only shapes (hand-made)


@pytest.mark.parametrize("engine_name", ENGINES)
def test_aws_only_on_demand_maximums_round_trip(engine_name: str) -> None:
    # AWS-only: AWS reports OnDemandThroughput as it was set; neither engine reports it at all.
    recording = recorded(engine_name, "lsi-include")
    table = recording.table()
    assert "OnDemandThroughput" not in table
    table["OnDemandThroughput"] = {"MaxReadRequestUnits": 100, "MaxWriteRequestUnits": 50}
    (index,) = table["GlobalSecondaryIndexes"]
    index["OnDemandThroughput"] = {"MaxReadRequestUnits": 20, "MaxWriteRequestUnits": 10}
    live = recording.reflect(table=table)
    assert live.billing == Billing(mode="PAY_PER_REQUEST", max_read=100, max_write=50)
    assert ops(recording.spec, live) == []
    # -1 is AWS's "no maximum".
    index["OnDemandThroughput"] = {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": -1}
    (step,) = diff_table(recording.spec, recording.reflect(table=table)).steps
    assert step.op == "update_gsi_capacity"
    assert (step.before, step.after) == (Capacity(), Capacity(max_read=20, max_write=10))  # type: ignore[union-attr]


def test_aws_only_table_class_summary_round_trips() -> None:
    # AWS-only: AWS reports TableClassSummary; moto 5.2 and DynamoDB Local report no class.
    recording = recorded("moto", "new-image-stream-ia")
    table = recording.table()
    assert "TableClassSummary" not in table
    table["TableClassSummary"] = {"TableClass": "STANDARD_INFREQUENT_ACCESS"}
    assert ops(recording.spec, recording.reflect(table=table)) == []
    assert ops(recording.want(table_class="STANDARD"), recording.reflect(table=table)) == ["update_table_class"]


def test_aws_only_ttl_enabling_counts_as_on_and_disabling_as_off() -> None:
    # AWS-only: the engines go straight to ENABLED / DISABLED.
    recording = recorded("moto", "catalog-activity")
    assert recording.answer("DescribeTimeToLive") == {
        "TimeToLiveDescription": {"AttributeName": "expiresAt", "TimeToLiveStatus": "ENABLED"}
    }
    enabling = {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLING", "AttributeName": "expiresAt"}}
    assert ops(recording.spec, recording.reflect(ttl=enabling)) == []
    disabling = {"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLING", "AttributeName": "expiresAt"}}
    assert ops(recording.spec, recording.reflect(ttl=disabling)) == ["enable_ttl"]


def test_aws_only_pitr_enabling_and_an_absent_period() -> None:
    # AWS-only: PITR ENABLING right after the call ("Backups are being enabled for the table"), and
    # answers without RecoveryPeriodInDays (older tables; moto always reports it): the default 35.
    recording = recorded("moto", "catalog-projects")
    pitr = recording.answer("DescribeContinuousBackups")
    description = pitr["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert (description["PointInTimeRecoveryStatus"], description["RecoveryPeriodInDays"]) == ("ENABLED", 35)
    del description["RecoveryPeriodInDays"]
    assert ops(recording.spec, recording.reflect(pitr=pitr)) == []
    description["PointInTimeRecoveryStatus"] = "ENABLING"
    assert ops(recording.spec, recording.reflect(pitr=pitr)) == []
    assert ops(recording.want(point_in_time_recovery={"recovery_period_days": 7}), recording.reflect(pitr=pitr)) == [
        "update_pitr"
    ]


def test_aws_only_key_manager_tells_an_aws_managed_key_from_a_customer_key() -> None:
    # AWS-only: whether a KMS key is AWS's or the customer's comes from KMS (DescribeKey), not DynamoDB.
    recording = recorded("moto", "catalog-projects")
    assert recording.table()["SSEDescription"]["SSEType"] == "KMS"
    assert ops(recording.spec, recording.reflect(key_manager="AWS")) == []
    assert ops(recording.spec, recording.reflect(key_manager=None)) == []  # KMS could not be asked: do not guess
    assert ops(recording.spec, recording.reflect(key_manager="CUSTOMER")) == ["update_encryption"]
    # A customer key named by key id matches the ARN DynamoDB reports.
    customer = recorded("moto", "old-image-stream-customer-key")
    by_id = customer.want(encryption={"type": "CUSTOMER_MANAGED", "kms_key": "11111111-2222-3333-4444-555555555555"})
    assert ops(by_id, customer.reflect(key_manager="CUSTOMER")) == []
    assert ops(customer.spec, customer.reflect(key_manager="CUSTOMER")) == []
    # An owned-key table has no SSEDescription at all (a real moto answer).
    owned = recorded("moto", "owned-key-no-stream")
    assert "SSEDescription" not in owned.table()
    assert ops(owned.want(encryption={"type": "AWS_MANAGED"}), owned.reflect()) == ["update_encryption"]


def test_aws_only_sse_updating_is_still_kms() -> None:
    # AWS-only: SSEDescription Status UPDATING while a key change is under way.
    recording = recorded("moto", "catalog-projects")
    table = recording.table()
    table["SSEDescription"]["Status"] = "UPDATING"
    live = recording.reflect(table=table)
    assert live.encryption is not None and live.encryption.type == "KMS"
    assert ops(recording.spec, live) == []


def test_aws_only_a_backfilling_index_is_there_but_not_ready() -> None:
    # AWS-only: an index being built reports CREATING with Backfilling (the engines: ACTIVE at once).
    recording = recorded("moto", "catalog-projects")
    table = recording.table()
    index = next(i for i in table["GlobalSecondaryIndexes"] if i["IndexName"] == "StatusIndex")
    index.update(IndexStatus="CREATING", Backfilling=True)
    live = recording.reflect(table=table)
    assert not live.accepts_updates and live.busy_reason() == "index StatusIndex CREATING (backfilling)"
    assert ops(recording.spec, live) == []  # being built is not missing: no second create


# --------------------------------------------------------------------------- changes


def test_missing_table_is_created_with_ttl_and_pitr_after() -> None:
    change = diff_table(recorded("moto", "catalog-activity").spec, None)
    assert change.action == "create"
    assert [s.op for s in change.steps] == ["create_table", "enable_ttl", "update_pitr"]


@pytest.mark.parametrize("engine_name", ENGINES)
def test_gsi_added_removed_and_rebuilt_in_dynamodb_order(engine_name: str) -> None:
    recording = recorded(engine_name, "catalog-activity")
    want = recording.want(
        global_indexes={
            # UserIdIndex: sort key changed → rebuild; ProjectIdIndex: gone; ByStatus: new
            "UserIdIndex": {"partition_key": "userId", "sort_key": "updatedAt"},
            "EntityTypeIndex": {"partition_key": "entityType", "sort_key": "createdAt"},
            "ByStatus": {"partition_key": "status"},
        }
    )
    change = diff_table(want, recording.reflect())
    assert [(s.op, getattr(s, "index", None)) for s in change.steps] == [
        ("delete_gsi", "ProjectIdIndex"),
        ("delete_gsi", "UserIdIndex"),
        ("create_gsi", "ByStatus"),
        ("create_gsi", "UserIdIndex"),
    ]
    assert any("queries on it fail until the new index is ACTIVE" in n for n in change.notes)
    create = change.steps[2]
    assert create.attribute_types == {"id": "S", "status": "S"}  # type: ignore[union-attr]


@pytest.mark.parametrize("engine_name", ENGINES)
def test_projection_change_is_a_rebuild(engine_name: str) -> None:
    recording = recorded(engine_name, "catalog-teams")
    want = recording.want(
        global_indexes={"UserIdIndex": {"partition_key": "userId", "sort_key": "createdAt", "projection": "KEYS_ONLY"}}
    )
    change = diff_table(want, recording.reflect())
    assert [(s.op, s.rebuild) for s in change.steps] == [("delete_gsi", True), ("create_gsi", True)]  # type: ignore[union-attr]


@pytest.mark.parametrize("engine_name", ENGINES)
def test_stream_view_change_is_disable_then_enable_and_says_the_arn_changes(engine_name: str) -> None:
    recording = recorded(engine_name, "catalog-projects")
    change = diff_table(recording.want(stream={"view_type": "NEW_IMAGE"}), recording.reflect())
    assert change.steps == (DisableStream(before="NEW_AND_OLD_IMAGES"), EnableStream(view_type="NEW_IMAGE"))
    assert any("stream ARN changes" in n for n in change.notes)


@pytest.mark.parametrize("engine_name", ENGINES)
def test_ttl_rename_is_disable_then_enable_and_warns_about_the_hour(engine_name: str) -> None:
    recording = recorded(engine_name, "catalog-activity")
    live = recording.reflect()
    change = diff_table(recording.want(ttl="deleteAt"), live)
    assert [(s.op, s.attribute) for s in change.steps] == [("disable_ttl", "expiresAt"), ("enable_ttl", "deleteAt")]  # type: ignore[union-attr]
    assert any("one TTL change per table per hour" in n for n in change.notes)
    assert ops(recording.want(ttl=None), live) == ["disable_ttl"]


def test_unknown_tags_are_left_alone_and_catalog_tags_converge() -> None:
    recording = recorded("moto", "catalog-projects")  # tagged Project=snapinfra, ManagedBy=snapinfra-db
    live = recording.reflect(tags={"Project": "old", "ManagedBy": "snapinfra-db", "CostCenter": "42"})
    (step,) = diff_table(recording.want(tags={"Project": "snapinfra", "Owner": "team-a"}), live).steps
    assert step == TagTable(before={"Project": "old"}, tags={"Project": "snapinfra", "Owner": "team-a"})


@pytest.mark.parametrize("engine_name", ENGINES)
def test_changed_primary_key_is_blocked_with_what_to_do(engine_name: str) -> None:
    recording = recorded(engine_name, "catalog-projects")
    change = diff_table(recording.want(partition_key={"name": "pk"}), recording.reflect())
    assert change.action == "blocked" and change.steps == ()
    assert change.blocked == (
        "primary key differs: live id (S), catalog pk (S). DynamoDB cannot change this on an existing table; "
        "create a new table with the new definition (a new name in the catalog), migrate the data, then "
        "retire the old one",
    )


@pytest.mark.parametrize("engine_name", ENGINES)
def test_changed_key_type_and_lsi_are_blocked(engine_name: str) -> None:
    recording = recorded(engine_name, "lsi-include")  # key id S + sk S, local index ByDate
    live = recording.reflect()
    assert diff_table(recording.want(partition_key={"name": "id", "type": "N"}), live).action == "blocked"
    dropped = diff_table(recording.want(local_indexes={}), live)
    assert dropped.action == "blocked" and dropped.blocked[0].startswith(
        "local index ByDate exists but is not in the catalog."
    )
    changed = recording.want(local_indexes={"ByDate": {"sort_key": {"name": "date", "type": "N"}}})
    assert diff_table(changed, live).blocked[0].startswith("local index ByDate differs from the catalog.")
    added = recorded(engine_name, "keys-only-stream-ttl")  # no sort key, no local index
    with_lsi = added.want(sort_key="sk", local_indexes={"L1": {"sort_key": "d"}})
    assert diff_table(with_lsi, added.reflect()).action == "blocked"


@pytest.mark.parametrize("engine_name", ENGINES)
def test_switch_to_provisioned_carries_every_index_capacity(engine_name: str) -> None:
    recording = recorded(engine_name, "catalog-activity")
    want = recording.want(
        billing={"mode": "PROVISIONED", "read": 5, "write": 5},
        global_indexes={
            name: {**index.model_dump(), "read": 2, "write": 1} for name, index in recording.spec.global_indexes.items()
        },
    )
    (step,) = diff_table(want, recording.reflect()).steps
    assert step.op == "update_billing"
    assert step.index_capacity == {  # type: ignore[union-attr]
        "UserIdIndex": Capacity(read=2, write=1),
        "ProjectIdIndex": Capacity(read=2, write=1),
        "EntityTypeIndex": Capacity(read=2, write=1),
    }


def test_plan_json_shape() -> None:
    recording = recorded("moto", "catalog-activity")
    plan = Plan(tables=(diff_table(recording.spec, None), diff_table(recording.spec, recording.reflect())))
    data = plan.to_json()
    assert data["format_version"] == "1"
    assert [c["action"] for c in data["changes"]] == ["create"]
    assert data["changes"][0]["steps"][0]["op"] == "create_table"
    assert data["unchanged"] == ["snapinfra-activity"]
    assert data["summary"] == {"create": 1, "update": 0, "blocked": 0, "unchanged": 1, "steps": 3}


# -- property: diff(catalog, describe(create(catalog))) is empty ------------------------------

names = st.text(alphabet="abcdefghij", min_size=1, max_size=4).map(lambda s: "a" + s)
key_types = st.sampled_from(["S", "N", "B"])


@st.composite
def table_specs(draw: st.DrawFn) -> TableSpec:
    # One type per attribute name within the table, as validation requires.
    types: dict[str, str] = {}

    def attribute() -> dict[str, str]:
        name = draw(names)
        kind = types.setdefault(name, draw(key_types))
        return {"name": name, "type": kind}

    provisioned = draw(st.booleans())
    capacity = {"read": draw(st.integers(1, 20)), "write": draw(st.integers(1, 20))} if provisioned else {}
    pk = attribute()
    sk = draw(st.one_of(st.none(), st.builds(attribute)))
    if sk is not None and sk["name"] == pk["name"]:
        sk = None
    gsis: dict[str, Any] = {}
    for i in range(draw(st.integers(0, 3))):
        g_pk = attribute()
        g_sk = draw(st.one_of(st.none(), st.builds(attribute)))
        if g_sk is not None and g_sk["name"] == g_pk["name"]:
            g_sk = None
        projection = draw(
            st.one_of(
                st.just("ALL"),
                st.just("KEYS_ONLY"),
                st.lists(st.sampled_from(["x1", "x2", "x3"]), min_size=1, unique=True).map(
                    lambda a: {"type": "INCLUDE", "attributes": a}
                ),
            )
        )
        gsis[f"Index{i}"] = {"partition_key": g_pk, "sort_key": g_sk, "projection": projection, **capacity}
    return TableSpec.model_validate(
        {
            "key": "gen",
            "name": "gen-table",
            "env": "DYNAMODB_GEN_TABLE",
            "partition_key": pk,
            "sort_key": sk,
            "global_indexes": gsis,
            "ttl": draw(st.one_of(st.none(), st.just("expiresAt"))),
            "billing": {"mode": "PROVISIONED" if provisioned else "PAY_PER_REQUEST", **capacity},
            "stream": draw(
                st.sampled_from([{"enabled": False}, {"view_type": "KEYS_ONLY"}, {"view_type": "NEW_AND_OLD_IMAGES"}])
            ),
            "point_in_time_recovery": draw(st.sampled_from([{"enabled": False}, {"recovery_period_days": 35}])),
            "deletion_protection": draw(st.booleans()),
            "encryption": draw(st.sampled_from([{"type": "AWS_OWNED"}, {"type": "AWS_MANAGED"}])),
            "tags": draw(st.dictionaries(st.sampled_from(["Team", "Env"]), st.sampled_from(["a", "b"]), max_size=2)),
        }
    )


# Slow (about a second per example): `-m "not slow"` leaves it out; CI (scripts/test.sh) runs it.
# How many examples, and whether they are random, is the hypothesis profile's (tests/conftest.py):
# "ci", the default, is derandomized and bounded; `--hypothesis-profile=long` (or
# SNAPINFRA_DB_HYPOTHESIS_PROFILE=long) explores many more, randomly.
@pytest.mark.slow
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table_specs())
def test_created_catalog_plans_to_no_changes_on_moto(s: TableSpec) -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        plan = Plan(tables=(diff_table(s, None),))
        results = Executor(client, {s.name: s}).run(plan)
        assert [r.status for r in results] == ["applied"], results[0].error
        change = diff_table(s, read_table(client, s.name))
        assert change.steps == () and change.action == "none", change
