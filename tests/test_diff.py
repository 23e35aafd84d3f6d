"""The diff as a pure function: catalog model x live description → steps. No AWS here except the
property test, which creates generated tables on moto and checks they plan to nothing."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from snapinfra_db.catalog import (
    Billing,
    Encryption,
    GlobalIndex,
    KeyAttribute,
    LocalIndex,
    PointInTimeRecovery,
    Projection,
    Stream,
    TableSpec,
)
from snapinfra_db.reconcile.diff import diff_table
from snapinfra_db.reconcile.executor import Executor, WaitPolicy
from snapinfra_db.reconcile.live import read_table, reflect
from snapinfra_db.reconcile.plan import Plan

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/"
KMS_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def spec(**changes: Any) -> TableSpec:
    base: dict[str, Any] = {
        "key": "things",
        "name": "app-things",
        "env": "DYNAMODB_THINGS_TABLE",
        "partition_key": {"name": "id"},
        "ttl": "expiresAt",
        "global_indexes": {
            "ByUser": {"partition_key": "userId", "sort_key": "createdAt"},
            "ByVersion": {"partition_key": "projectId", "sort_key": {"name": "version", "type": "N"}},
        },
        "tags": {"Project": "app"},
    }
    base.update(changes)
    return TableSpec.model_validate(base)


def aws_description(s: TableSpec) -> dict[str, Any]:
    """What AWS reports for a table created from `s`, quirks included (see dynamodb-rules.md)."""
    on_demand = s.billing.mode == "PAY_PER_REQUEST"

    def keys(p: KeyAttribute, k: KeyAttribute | None) -> list[dict[str, str]]:
        return [{"AttributeName": p.name, "KeyType": "HASH"}] + (
            [{"AttributeName": k.name, "KeyType": "RANGE"}] if k else []
        )

    def throughput(read: int | None, write: int | None) -> dict[str, Any]:
        # On-demand tables report zero provisioned throughput.
        return {"ReadCapacityUnits": read or 0, "WriteCapacityUnits": write or 0, "NumberOfDecreasesToday": 0}

    def projection(p: Projection) -> dict[str, Any]:
        out: dict[str, Any] = {"ProjectionType": p.type}
        if p.attributes:
            out["NonKeyAttributes"] = list(reversed(p.attributes))  # DynamoDB does not keep the order
        return out

    table: dict[str, Any] = {
        "TableName": s.name,
        "TableArn": ARN + s.name,
        "TableStatus": "ACTIVE",
        # Reverse order: attribute order must not matter.
        "AttributeDefinitions": [
            {"AttributeName": n, "AttributeType": t} for n, t in reversed(list(s.attribute_types().items()))
        ],
        "KeySchema": keys(s.partition_key, s.sort_key),
        "ProvisionedThroughput": throughput(s.billing.read, s.billing.write),
        "ItemCount": 0,
        "TableSizeBytes": 0,
        "DeletionProtectionEnabled": s.deletion_protection,
        "GlobalSecondaryIndexes": [
            {
                "IndexName": n,
                "KeySchema": keys(g.partition_key, g.sort_key),
                "Projection": projection(g.projection),
                "IndexStatus": "ACTIVE",
                "ProvisionedThroughput": throughput(g.read, g.write),
                "OnDemandThroughput": {
                    "MaxReadRequestUnits": g.max_read or -1,
                    "MaxWriteRequestUnits": g.max_write or -1,
                },
            }
            for n, g in s.global_indexes.items()
        ],
    }
    if on_demand:
        table["BillingModeSummary"] = {"BillingMode": "PAY_PER_REQUEST"}
        if s.billing.max_read or s.billing.max_write:
            table["OnDemandThroughput"] = {
                "MaxReadRequestUnits": s.billing.max_read or -1,
                "MaxWriteRequestUnits": s.billing.max_write or -1,
            }
    # Provisioned tables that were never on-demand have no BillingModeSummary at all.
    if s.local_indexes:
        table["LocalSecondaryIndexes"] = [
            {"IndexName": n, "KeySchema": keys(s.partition_key, i.sort_key), "Projection": projection(i.projection)}
            for n, i in s.local_indexes.items()
        ]
    if s.stream.enabled:
        table["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": s.stream.view_type}
        table["LatestStreamArn"] = ARN + s.name + "/stream/2026"
    if s.encryption.type != "AWS_OWNED":  # owned-key tables have no SSEDescription
        table["SSEDescription"] = {
            "Status": "ENABLED",
            "SSEType": "KMS",
            "KMSMasterKeyArn": s.encryption.kms_key or KMS_ARN,
        }
    if s.table_class != "STANDARD":
        table["TableClassSummary"] = {"TableClass": s.table_class}
    return table


def live_of(s: TableSpec, **overrides: Any) -> Any:
    ttl = {
        "TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED", "AttributeName": s.ttl}
        if s.ttl
        else {"TimeToLiveStatus": "DISABLED"}
    }
    pitr_desc: dict[str, Any] = {
        "PointInTimeRecoveryStatus": "ENABLED" if s.point_in_time_recovery.enabled else "DISABLED"
    }
    if s.point_in_time_recovery.enabled:
        pitr_desc["RecoveryPeriodInDays"] = s.point_in_time_recovery.recovery_period_days
    pitr = {"ContinuousBackupsDescription": {"PointInTimeRecoveryDescription": pitr_desc}}
    args: dict[str, Any] = {
        "table": aws_description(s),
        "ttl": ttl,
        "pitr": pitr,
        "tags": dict(s.tags),
        "key_manager": "AWS",
    }
    args.update(overrides)
    return reflect(**args)


def ops(s: TableSpec, live: Any) -> list[str]:
    return [step.op for step in diff_table(s, live).steps]


# -- normalisation: what DynamoDB reports must compare equal to what the catalog says -----------


def test_freshly_created_table_has_no_diff() -> None:
    s = spec()
    change = diff_table(s, live_of(s))
    assert change.action == "none" and change.steps == () and change.unsupported == ()


@pytest.mark.parametrize(
    "variant",
    [
        {
            "billing": Billing(mode="PROVISIONED", read=5, write=5),
            "global_indexes": {"G1": GlobalIndex(partition_key=KeyAttribute(name="u"), read=1, write=1)},
        },
        {"billing": Billing(mode="PAY_PER_REQUEST", max_read=100, max_write=200)},
        {"encryption": Encryption(type="AWS_OWNED")},
        {"encryption": Encryption(type="CUSTOMER_MANAGED", kms_key=KMS_ARN)},
        {"encryption": Encryption(type="CUSTOMER_MANAGED", kms_key="11111111-2222-3333-4444-555555555555")},
        {"stream": Stream(enabled=False)},
        {"stream": Stream(view_type="KEYS_ONLY")},
        {"point_in_time_recovery": PointInTimeRecovery(enabled=False)},
        {"point_in_time_recovery": PointInTimeRecovery(recovery_period_days=7)},
        {"table_class": "STANDARD_INFREQUENT_ACCESS"},
        {"deletion_protection": False},
        {"ttl": None},
        {
            "sort_key": KeyAttribute(name="sk", type="N"),
            "local_indexes": {"L1": LocalIndex(sort_key=KeyAttribute(name="d"))},
        },
        {
            "global_indexes": {
                "Inc": GlobalIndex(
                    partition_key=KeyAttribute(name="u"),
                    projection=Projection(type="INCLUDE", attributes=("b", "a", "c")),
                )
            }
        },
    ],
    ids=lambda v: ",".join(v),
)
def test_every_setting_round_trips_without_diff(variant: dict[str, Any]) -> None:
    s = spec().model_copy(update=variant)
    s = TableSpec.model_validate(s.model_dump())
    live = live_of(s, key_manager="CUSTOMER" if s.encryption.type == "CUSTOMER_MANAGED" else "AWS")
    assert ops(s, live) == []


def test_absent_billing_summary_means_provisioned() -> None:
    s = spec(billing={"mode": "PROVISIONED", "read": 3, "write": 4}, global_indexes={})
    table = aws_description(s)
    assert "BillingModeSummary" not in table
    live = live_of(s)
    assert live.billing == Billing(mode="PROVISIONED", read=3, write=4)


def test_zero_throughput_on_demand_is_not_a_capacity() -> None:
    live = live_of(spec())
    assert live.billing.read is None and all(i.read is None for i in live.global_indexes.values())


def test_ttl_enabling_counts_as_on_and_disabling_as_off() -> None:
    s = spec()
    enabling = live_of(s, ttl={"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLING", "AttributeName": "expiresAt"}})
    assert ops(s, enabling) == []
    disabling = live_of(
        s, ttl={"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLING", "AttributeName": "expiresAt"}}
    )
    assert ops(s, disabling) == ["enable_ttl"]


def test_pitr_period_absent_is_the_default_35() -> None:
    s = spec()
    pitr = {
        "ContinuousBackupsDescription": {"PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "ENABLED"}}
    }
    assert ops(s, live_of(s, pitr=pitr)) == []


def test_moto_dropping_attribute_definitions_is_no_diff() -> None:
    s = spec()
    table = aws_description(s)
    table["AttributeDefinitions"] = [{"AttributeName": "userId", "AttributeType": "S"}]
    assert ops(s, live_of(s, table=table)) == []


def test_dynamodb_local_unsupported_settings_are_notes_not_changes() -> None:
    s = spec(table_class="STANDARD_INFREQUENT_ACCESS")
    table = aws_description(s)
    table["TableArn"] = "arn:aws:dynamodb:ddblocal:000000000000:table/" + s.name
    for key in ("SSEDescription", "TableClassSummary"):
        table.pop(key, None)
    change = diff_table(s, live_of(s, table=table, pitr=None, tags=None))
    assert change.steps == ()
    assert {u.split(":")[0] for u in change.unsupported} == {
        "table class",
        "encryption",
        "point-in-time recovery",
        "tags",
    }


def test_aws_managed_key_is_not_mistaken_for_a_customer_key() -> None:
    s = spec()
    assert ops(s, live_of(s, key_manager="AWS")) == []
    assert ops(s, live_of(s, key_manager=None)) == []  # KMS could not be asked: do not guess
    assert ops(s, live_of(s, key_manager="CUSTOMER")) == ["update_encryption"]


# -- changes ---------------------------------------------------------------------------------


def test_missing_table_is_created_with_ttl_and_pitr_after() -> None:
    change = diff_table(spec(), None)
    assert change.action == "create"
    assert [s.op for s in change.steps] == ["create_table", "enable_ttl", "update_pitr"]


def test_gsi_added_removed_and_rebuilt_in_dynamodb_order() -> None:
    live = live_of(spec())
    want = spec(
        global_indexes={
            # ByUser: sort key changed → rebuild; ByVersion: gone; ByStatus: new
            "ByUser": {"partition_key": "userId", "sort_key": "updatedAt"},
            "ByStatus": {"partition_key": "status"},
        }
    )
    change = diff_table(want, live)
    assert [(s.op, getattr(s, "index", None)) for s in change.steps] == [
        ("delete_gsi", "ByVersion"),
        ("delete_gsi", "ByUser"),
        ("create_gsi", "ByStatus"),
        ("create_gsi", "ByUser"),
    ]
    assert any("queries on it fail until the new index is ACTIVE" in n for n in change.notes)
    create = change.steps[2]
    assert create.attribute_types == {"id": "S", "status": "S"}  # type: ignore[union-attr]


def test_projection_change_is_a_rebuild() -> None:
    live = live_of(spec())
    want = spec(
        global_indexes={
            "ByUser": {"partition_key": "userId", "sort_key": "createdAt", "projection": "KEYS_ONLY"},
            "ByVersion": {"partition_key": "projectId", "sort_key": {"name": "version", "type": "N"}},
        }
    )
    change = diff_table(want, live)
    assert [(s.op, s.rebuild) for s in change.steps] == [("delete_gsi", True), ("create_gsi", True)]  # type: ignore[union-attr]


def test_stream_view_change_is_disable_then_enable_and_says_the_arn_changes() -> None:
    change = diff_table(spec(stream={"view_type": "NEW_IMAGE"}), live_of(spec()))
    assert [s.op for s in change.steps] == ["disable_stream", "enable_stream"]
    assert any("stream ARN changes" in n for n in change.notes)


def test_ttl_rename_is_disable_then_enable_and_warns_about_the_hour() -> None:
    change = diff_table(spec(ttl="deleteAt"), live_of(spec()))
    assert [(s.op, s.attribute) for s in change.steps] == [("disable_ttl", "expiresAt"), ("enable_ttl", "deleteAt")]  # type: ignore[union-attr]
    assert any("one TTL change per table per hour" in n for n in change.notes)
    assert ops(spec(ttl=None), live_of(spec())) == ["disable_ttl"]


def test_unknown_tags_are_left_alone_and_catalog_tags_converge() -> None:
    s = spec(tags={"Project": "app", "Owner": "team-a"})
    live = live_of(spec(), tags={"Project": "old", "CostCenter": "42"})
    (step,) = diff_table(s, live).steps
    assert step.op == "tag_table"
    assert step.tags == {"Project": "app", "Owner": "team-a"} and step.before == {"Project": "old"}  # type: ignore[union-attr]


def test_changed_primary_key_is_blocked_with_what_to_do() -> None:
    change = diff_table(spec(partition_key={"name": "pk"}), live_of(spec()))
    assert change.action == "blocked" and change.steps == ()
    assert "primary key differs" in change.blocked[0] and "migrate the data" in change.blocked[0]


def test_changed_key_type_and_lsi_are_blocked() -> None:
    assert diff_table(spec(partition_key={"name": "id", "type": "N"}), live_of(spec())).action == "blocked"
    with_lsi = spec(sort_key="sk", local_indexes={"L1": {"sort_key": "d"}})
    assert diff_table(with_lsi, live_of(spec(sort_key="sk"))).action == "blocked"


def test_switch_to_provisioned_carries_every_index_capacity() -> None:
    want = spec(
        billing={"mode": "PROVISIONED", "read": 5, "write": 5},
        global_indexes={
            "ByUser": {"partition_key": "userId", "sort_key": "createdAt", "read": 2, "write": 2},
            "ByVersion": {
                "partition_key": "projectId",
                "sort_key": {"name": "version", "type": "N"},
                "read": 1,
                "write": 1,
            },
        },
    )
    (step,) = diff_table(want, live_of(spec())).steps
    assert step.op == "update_billing"
    assert set(step.index_capacity) == {"ByUser", "ByVersion"}  # type: ignore[union-attr]


def test_plan_json_shape() -> None:
    plan = Plan(tables=(diff_table(spec(), None), diff_table(spec(), live_of(spec()))))
    data = plan.to_json()
    assert data["format_version"] == "1"
    assert [c["action"] for c in data["changes"]] == ["create"]
    assert data["changes"][0]["steps"][0]["op"] == "create_table"
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


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table_specs())
def test_created_catalog_plans_to_no_changes_on_moto(s: TableSpec) -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        plan = Plan(tables=(diff_table(s, None),))
        results = Executor(client, {s.name: s}, policy=WaitPolicy(first=0.01)).run(plan)
        assert [r.status for r in results] == ["applied"], results[0].error
        change = diff_table(s, read_table(client, s.name))
        assert change.steps == () and change.action == "none", change
