"""CloudWatch alarms from the catalog's `alarms` block (issue #13).

Pure: the alarms a table wants, their requests read back as DescribeAlarms reports them (no perpetual
diff), the diff's create/update/delete/conflict and its one rule: only an alarm this tool made (tags
ManagedBy=snapinfra-db and Table=<table>) is ever updated or deleted. Then the real CLI on moto's server
(which serves CloudWatch too) and on DynamoDB Local (which has none).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from typer.testing import CliRunner, Result

from snapinfra_db.catalog import load_catalog
from snapinfra_db.cli.application import app
from snapinfra_db.errors import CatalogError
from snapinfra_db.reconcile.alarms import (
    AlarmConfig,
    DesiredAlarm,
    LiveAlarm,
    desired_alarms,
    diff_alarms,
    named_for,
    put_request,
    reflect_alarm,
)

CATALOG = """
prefix: al-
defaults:
  deletion_protection: false
  alarms:
    actions: [arn:aws:sns:us-east-1:123456789012:ops]
    throttled_requests: {threshold: 1, period: 60, evaluation_periods: 5}
    system_errors: {threshold: 1, period: 60, evaluation_periods: 1}
    consumed_capacity_percent: {threshold: 80}
tables:
  one:
    partition_key: id
    billing: {mode: PROVISIONED, read: 10, write: 5}
    global_indexes:
      ByUser: {partition_key: userId, read: 2, write: 1}
  two:
    partition_key: id
    global_indexes:
      ByTeam: {partition_key: team}
"""
ONE = [
    "al-one-consumed-read-capacity-percent",
    "al-one-consumed-write-capacity-percent",
    "al-one-system-errors",
    "al-one-throttled-requests",
    "al-one.ByUser-consumed-read-capacity-percent",
    "al-one.ByUser-consumed-write-capacity-percent",
    "al-one.ByUser-throttled-requests",
]
TWO = ["al-two-system-errors", "al-two-throttled-requests", "al-two.ByTeam-throttled-requests"]


def write(tmp_path: Path, text: str, name: str = "tables.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def spec(tmp_path: Path, text: str = CATALOG, key: str = "one") -> Any:
    catalog = load_catalog(write(tmp_path, text))
    return next(t for t in catalog.tables if t.key == key)


def described(alarm: DesiredAlarm, *, aws_shape: bool = True) -> dict[str, Any]:
    """What DescribeAlarms reports for an alarm made by put_request: the request's fields, plus what
    CloudWatch adds (ARN, state, timestamps) and its habits (Dimensions [] beside Metrics, lists absent)."""
    request = put_request(alarm)
    raw = {k: v for k, v in request.items() if k != "Tags"}
    raw |= {
        "AlarmArn": f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm.name}",
        "StateValue": "INSUFFICIENT_DATA",
        "StateReason": "Unchecked: Initial alarm creation",
        "AlarmConfigurationUpdatedTimestamp": "2024-05-01T09:00:00Z",
    }
    if aws_shape:
        raw.setdefault("Dimensions", [])
        for key in ("OKActions", "InsufficientDataActions"):
            if not raw[key]:
                del raw[key]
        raw["Threshold"] = float(raw["Threshold"])
        raw["AlarmActions"] = list(reversed(raw["AlarmActions"]))
    return raw


# -- what a table wants -----------------------------------------------------------------------------


def test_a_table_and_its_gsis_get_the_alarms_each_metric_exists_for(tmp_path: Path) -> None:
    one = desired_alarms(spec(tmp_path))
    assert [a.name for a in one] == ONE
    by_name = {a.name: a for a in one}

    table = by_name["al-one-throttled-requests"].config
    assert [q.metric_name for q in table.metrics if q.metric_name] == ["ReadThrottleEvents", "WriteThrottleEvents"]
    assert table.metrics[-1].expression == "FILL(r, 0) + FILL(w, 0)" and table.metrics[-1].return_data
    assert {q.dimensions for q in table.metrics if q.metric_name} == {(("TableName", "al-one"),)}
    assert (table.threshold, table.evaluation_periods, table.comparison_operator, table.treat_missing_data) == (
        1.0,
        5,
        "GreaterThanOrEqualToThreshold",
        "notBreaching",
    )
    assert table.alarm_actions == ("arn:aws:sns:us-east-1:123456789012:ops",)

    index = by_name["al-one.ByUser-throttled-requests"].config
    assert [q.metric_name for q in index.metrics if q.metric_name] == [
        "ReadThrottleEvents",
        "WriteThrottleEvents",
        "OnlineIndexThrottleEvents",
    ]
    assert {q.dimensions for q in index.metrics if q.metric_name} == {
        (("GlobalSecondaryIndexName", "ByUser"), ("TableName", "al-one"))
    }

    errors = by_name["al-one-system-errors"].config
    assert len(errors.metrics) == 1 and errors.metrics[0].period == 60
    assert errors.metrics[0].expression == (
        "SELECT SUM(SystemErrors) FROM SCHEMA(\"AWS/DynamoDB\", Operation, TableName) WHERE TableName = 'al-one'"
    )

    # 80 % of the catalog's provisioned units, summed over the period (300 s by default).
    read = by_name["al-one-consumed-read-capacity-percent"].config
    assert (read.metric_name, read.statistic, read.period, read.threshold) == (
        "ConsumedReadCapacityUnits",
        "Sum",
        300,
        2400.0,
    )
    assert by_name["al-one.ByUser-consumed-write-capacity-percent"].config.threshold == 240.0

    # On demand: no provisioned capacity to compare with; no system errors for a GSI.
    assert [a.name for a in desired_alarms(spec(tmp_path, key="two"))] == TWO


def test_the_catalog_merges_alarms_like_other_settings_and_locates_mistakes(tmp_path: Path) -> None:
    text = CATALOG + (
        "  three:\n"
        "    partition_key: id\n"
        "    alarms: {throttled_requests: {threshold: 5}, system_errors: false, actions: []}\n"
        "  four:\n"
        "    partition_key: id\n"
        "    alarms: null\n"
    )
    three = desired_alarms(spec(tmp_path, text, "three"))
    assert [a.name for a in three] == ["al-three-throttled-requests"]
    # The table's threshold, the defaults' period and evaluation periods, its own (empty) actions.
    assert (three[0].config.threshold, three[0].config.evaluation_periods, three[0].config.alarm_actions) == (
        5.0,
        5,
        (),
    )
    assert desired_alarms(spec(tmp_path, text, "four")) == ()

    broken = write(
        tmp_path,
        """
        prefix: al-
        defaults:
          alarms:
            throttled_requests: {period: 90}
            actions: [not-an-arn]
        tables:
          one:
            partition_key: id
            alarms: {system_erors: {}}
        """,
    )
    with pytest.raises(CatalogError) as caught:
        load_catalog(broken)
    assert caught.value.problems == [
        f"{broken}:5:25: defaults.alarms.throttled_requests: period 90: DynamoDB's metrics are per minute, so a "
        "multiple of 60 seconds",
        f"{broken}:6:14: defaults.alarms.actions: action 'not-an-arn' is not an ARN "
        "(e.g. arn:aws:sns:us-east-1:123456789012:ops)",
        f"{broken}:10:14: unknown key 'system_erors' (did you mean 'system_errors'?)",
    ]


def test_only_a_catalog_that_writes_alarms_somewhere_manages_them(tmp_path: Path) -> None:
    assert load_catalog(write(tmp_path, CATALOG)).manages_alarms
    plain = "prefix: al-\ntables:\n  one: {partition_key: id}\n"
    assert not load_catalog(write(tmp_path, plain)).manages_alarms
    assert load_catalog(write(tmp_path, "defaults: {alarms: {}}\n" + plain)).manages_alarms
    staged = plain + "stages:\n  dev: {overrides: {tables: {one: {alarms: null}}}}\ndefault_stage: dev\n"
    assert load_catalog(write(tmp_path, staged)).manages_alarms
    assert not load_catalog(Path(__file__).parent.parent / "tables.yaml").manages_alarms  # the shipped catalog


# -- what CloudWatch reports, and the diff ----------------------------------------------------------


def live(alarm: DesiredAlarm, owner: str | None = None, **changes: Any) -> LiveAlarm:
    raw = described(alarm) | changes
    return LiveAlarm(
        name=alarm.name, arn=raw["AlarmArn"], config=reflect_alarm(raw), state="OK", owner=owner or alarm.table
    )


def test_an_alarm_read_back_as_cloudwatch_reports_it_has_no_differences(tmp_path: Path) -> None:
    alarms = desired_alarms(spec(tmp_path)) + desired_alarms(spec(tmp_path, key="two"))
    for alarm in alarms:
        for aws_shape in (True, False):
            assert reflect_alarm(described(alarm, aws_shape=aws_shape)) == alarm.config, alarm.name
    plan = diff_alarms(alarms, [live(a) for a in alarms], ["al-one", "al-two"])
    assert not plan.changes and not plan.has_changes
    assert len(plan.unchanged) == len(ONE) + len(TWO)


def test_the_diff_creates_updates_deletes_only_its_own_and_never_overwrites_another(tmp_path: Path) -> None:
    one = {a.name: a for a in desired_alarms(spec(tmp_path))}
    wanted = [
        one["al-one-throttled-requests"],
        one["al-one-system-errors"],
        one["al-one-consumed-read-capacity-percent"],
    ]
    gone = one["al-one.ByUser-throttled-requests"]  # ours, no longer wanted
    manual = gone.model_copy(update={"name": "al-one.Manual-throttled-requests"})  # not ours: no tags
    current = [
        live(wanted[0], Threshold=3.0, EvaluationPeriods=2),  # drifted
        live(wanted[1], owner="someone"),  # same name, not made by this tool for this table
        live(gone),
        LiveAlarm(name=manual.name, arn="arn:x", config=manual.config, state="OK", owner=None),
    ]
    plan = diff_alarms(wanted, current, ["al-one"])
    found = {c.name: c for c in plan.changes}
    assert set(found) == {wanted[0].name, wanted[1].name, wanted[2].name, gone.name}
    assert found[wanted[0].name].op == "update"
    assert found[wanted[0].name].differences == ("evaluation periods: 2 → 5", "threshold: 3 → 1")
    assert found[wanted[1].name].op == "conflict" and found[wanted[1].name].alarm is None
    assert found[wanted[2].name].op == "create"
    assert found[gone.name].op == "delete"
    assert plan.summary() == {"create": 1, "update": 1, "delete": 1, "conflict": 1, "unchanged": 0}
    # Another table's alarm is never deleted through this one's scope.
    assert not diff_alarms([], [live(gone)], ["al-two"]).changes


def test_names_are_told_apart_from_longer_table_names() -> None:
    assert named_for("al-one-throttled-requests", "al-one")
    assert named_for("al-one.ByUser-consumed-read-capacity-percent", "al-one")
    assert not named_for("al-one-archive-throttled-requests", "al-one")  # table al-one-archive's
    assert not named_for("al-one-throttled-requests-by-hand", "al-one")
    assert not named_for("al-onex-system-errors", "al-one")


def test_a_threshold_within_rounding_is_not_a_change(tmp_path: Path) -> None:
    alarm = desired_alarms(spec(tmp_path))[0]
    nudged = AlarmConfig(**(alarm.config.model_dump() | {"threshold": alarm.config.threshold * (1 + 1e-12)}))
    assert not diff_alarms(
        [alarm], [LiveAlarm(name=alarm.name, arn="a", config=nudged, state="OK", owner="al-one")], ["al-one"]
    ).changes


# -- the real CLI on moto's server ------------------------------------------------------------------


def cli(url: str, catalog: Path, *argv: str) -> Result:
    return CliRunner().invoke(app, [*argv, "--catalog", str(catalog), "--endpoint-url", url])


def cloudwatch(url: str) -> Any:
    return botocore.session.Session().create_client(
        "cloudwatch", endpoint_url=url, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )


def alarms_at(url: str, prefix: str = "al-") -> dict[str, dict[str, Any]]:
    return {a["AlarmName"]: a for a in cloudwatch(url).describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]}


def tags_of(url: str, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in cloudwatch(url).list_tags_for_resource(ResourceARN=arn)["Tags"]}


def ok(result: Result, code: int = 0) -> Result:
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.output
    return result


@pytest.fixture(autouse=True)
def no_cloudwatch_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_CLOUDWATCH", raising=False)


def test_apply_creates_named_tagged_alarms_and_plans_nothing_after(clean_moto: str, tmp_path: Path) -> None:
    catalog = write(tmp_path, CATALOG)
    planned = ok(cli(clean_moto, catalog, "plan", "--json", "--detailed-exitcode"), 2)
    alarms = json.loads(planned.stdout)["alarms"]
    assert alarms["supported"] and alarms["summary"]["create"] == len(ONE) + len(TWO)

    applied = ok(cli(clean_moto, catalog, "apply", "--yes"))
    assert f"Alarms: {len(ONE) + len(TWO)} created, 0 updated, 0 deleted." in applied.stdout
    made = alarms_at(clean_moto)
    assert sorted(made) == sorted(ONE + TWO)
    assert tags_of(clean_moto, made["al-two-throttled-requests"]["AlarmArn"]) == {
        "ManagedBy": "snapinfra-db",
        "Table": "al-two",
    }
    assert made["al-one-consumed-read-capacity-percent"]["Threshold"] == 2400.0

    again = ok(cli(clean_moto, catalog, "plan", "--detailed-exitcode"))
    assert "No changes. 2 table(s) match the catalog." in again.stdout and "alarm" not in again.stdout
    document = json.loads(ok(cli(clean_moto, catalog, "plan", "--json")).stdout)["alarms"]
    assert document["changes"] == [] and len(document["unchanged"]) == len(ONE) + len(TWO)


def test_a_threshold_change_is_one_update_and_converges(clean_moto: str, tmp_path: Path) -> None:
    catalog = write(tmp_path, CATALOG)
    ok(cli(clean_moto, catalog, "apply", "--yes"))
    catalog.write_text(
        catalog.read_text().replace(
            "{threshold: 1, period: 60, evaluation_periods: 5}", "{threshold: 4, period: 60, evaluation_periods: 5}"
        )
    )
    planned = ok(cli(clean_moto, catalog, "plan", "--detailed-exitcode"), 2)
    updates = [line.strip() for line in planned.stdout.splitlines() if line.strip().startswith("~ alarm")]
    assert updates == [
        "~ alarm al-one-throttled-requests: threshold: 1 → 4",
        "~ alarm al-one.ByUser-throttled-requests: threshold: 1 → 4",
        "~ alarm al-two-throttled-requests: threshold: 1 → 4",
        "~ alarm al-two.ByTeam-throttled-requests: threshold: 1 → 4",
    ]
    assert "No changes to tables: 2 table(s) match the catalog." in planned.stdout
    assert "Alarms: 0 to create, 4 to update, 0 to delete" in planned.stdout
    ok(cli(clean_moto, catalog, "apply", "--yes"))
    assert alarms_at(clean_moto)["al-two-throttled-requests"]["Threshold"] == 4.0
    ok(cli(clean_moto, catalog, "plan", "--detailed-exitcode"))


def test_removing_the_block_deletes_ours_and_never_one_made_by_hand(clean_moto: str, tmp_path: Path) -> None:
    catalog = write(tmp_path, CATALOG)
    ok(cli(clean_moto, catalog, "apply", "--yes"))
    by_hand = {
        "AlarmName": "al-one.Manual-throttled-requests",  # named like ours, same prefix, no tags
        "Namespace": "AWS/DynamoDB",
        "MetricName": "ReadThrottleEvents",
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    }
    cloudwatch(clean_moto).put_metric_alarm(**by_hand)
    cloudwatch(clean_moto).put_metric_alarm(**(by_hand | {"AlarmName": "al-one-my-own"}))
    tagged_elsewhere = by_hand | {
        "AlarmName": "al-one-system-errors-x",
        "Tags": [{"Key": "ManagedBy", "Value": "snapinfra-db"}],
    }
    cloudwatch(clean_moto).put_metric_alarm(**tagged_elsewhere)
    ok(cli(clean_moto, catalog, "plan", "--detailed-exitcode"))  # none of them is the plan's business

    # Table two's own block off (`alarms: null`); then every kind off in defaults (`alarms: {}`).
    catalog.write_text(catalog.read_text() + "    alarms: null\n")
    planned = ok(cli(clean_moto, catalog, "plan"), 0)
    deletes = sorted(line.split()[2] for line in planned.stdout.splitlines() if line.strip().startswith("- alarm"))
    assert deletes == TWO
    ok(cli(clean_moto, catalog, "apply", "--yes"))
    assert sorted(alarms_at(clean_moto, "al-two")) == []

    catalog.write_text(
        CATALOG.replace(CATALOG[CATALOG.index("  alarms:") : CATALOG.index("tables:")], "  alarms: {}\n")
    )
    applied = ok(cli(clean_moto, catalog, "apply", "--yes"))
    assert f"Alarms: 0 created, 0 updated, {len(ONE)} deleted." in applied.stdout
    assert sorted(alarms_at(clean_moto)) == [
        "al-one-my-own",
        "al-one-system-errors-x",
        "al-one.Manual-throttled-requests",
    ]
    ok(cli(clean_moto, catalog, "plan", "--detailed-exitcode"))


def test_an_alarm_name_taken_by_hand_is_left_alone_and_exits_1(clean_moto: str, tmp_path: Path) -> None:
    catalog = write(tmp_path, CATALOG)
    cloudwatch(clean_moto).put_metric_alarm(
        AlarmName="al-two-system-errors",
        Namespace="AWS/DynamoDB",
        MetricName="SystemErrors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=99.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    planned = ok(cli(clean_moto, catalog, "plan"), 1)
    assert "! alarm al-two-system-errors exists and was not made by snapinfra-db" in planned.stdout
    assert planned.stderr.strip().splitlines() == [
        "error: 1 alarm(s) of the catalog exist and were not made by snapinfra-db (left alone): "
        "al-two-system-errors; see above"
    ]
    ok(cli(clean_moto, catalog, "apply", "--yes"), 1)
    assert alarms_at(clean_moto)["al-two-system-errors"]["Threshold"] == 99.0  # not overwritten
    assert len(alarms_at(clean_moto)) == len(ONE) + len(TWO)  # the others were made


def test_health_shows_each_alarm_state_and_is_unhealthy_in_alarm(clean_moto: str, tmp_path: Path) -> None:
    catalog = write(tmp_path, CATALOG)
    ok(cli(clean_moto, catalog, "apply", "--yes"))
    healthy = ok(cli(clean_moto, catalog, "health"))
    assert "alarms" in healthy.stdout and "7 OK" in healthy.stdout and "3 OK" in healthy.stdout

    cloudwatch(clean_moto).set_alarm_state(
        AlarmName="al-two.ByTeam-throttled-requests", StateValue="ALARM", StateReason="Threshold Crossed: 3 datapoints"
    )
    sick = ok(cli(clean_moto, catalog, "health"), 1)
    assert "alarm al-two.ByTeam-throttled-requests is ALARM: Threshold Crossed: 3 datapoints" in sick.stdout
    assert "1 ALARM 2 OK" in sick.stdout
    document = json.loads(ok(cli(clean_moto, catalog, "health", "--json"), 1).stdout)
    two = next(t for t in document["tables"] if t["table"] == "al-two")
    assert {a["name"]: a["state"] for a in two["alarms"]} == {
        "al-two-system-errors": "OK",
        "al-two-throttled-requests": "OK",
        "al-two.ByTeam-throttled-requests": "ALARM",
    }
    assert not two["healthy"] and next(t for t in document["tables"] if t["table"] == "al-one")["healthy"]

    cloudwatch(clean_moto).delete_alarms(AlarmNames=["al-one-system-errors"])
    missing = ok(cli(clean_moto, catalog, "health", "-t", "one"), 1)
    assert "alarm al-one-system-errors does not exist (apply creates it)" in missing.stdout


def test_an_alarm_only_saved_plan_applies_as_reviewed_or_not_at_all(clean_moto: str, tmp_path: Path) -> None:
    catalog = write(tmp_path, CATALOG.replace("    consumed_capacity_percent: {threshold: 80}\n", ""))
    ok(cli(clean_moto, catalog, "apply", "--yes"))
    catalog.write_text(CATALOG)  # now capacity alarms too: tables unchanged, alarms to create
    saved = tmp_path / "alarms.plan"
    ok(cli(clean_moto, catalog, "plan", "--out", str(saved), "--detailed-exitcode"), 2)
    assert json.loads(saved.read_text())["alarms"]["summary"]["create"] == 4

    # Someone makes one of them meanwhile: the saved plan is refused before anything changes.
    cloudwatch(clean_moto).put_metric_alarm(
        AlarmName="al-one-consumed-read-capacity-percent",
        Namespace="AWS/DynamoDB",
        MetricName="ConsumedReadCapacityUnits",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    refused = ok(CliRunner().invoke(app, ["apply", str(saved), "--endpoint-url", clean_moto]), 1)
    assert (
        "the CloudWatch alarms changed since the plan was made (al-one-consumed-read-capacity-percent)"
        in refused.stderr
    )
    assert len(alarms_at(clean_moto)) == len(ONE) + len(TWO) - 3  # nothing was made

    cloudwatch(clean_moto).delete_alarms(AlarmNames=["al-one-consumed-read-capacity-percent"])
    applied = ok(CliRunner().invoke(app, ["apply", str(saved), "--endpoint-url", clean_moto]))
    assert "Alarms: 4 created, 0 updated, 0 deleted." in applied.stdout
    ok(cli(clean_moto, catalog, "plan", "--detailed-exitcode"))


def test_a_catalog_without_alarms_never_calls_cloudwatch(
    clean_moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = write(tmp_path, CATALOG[: CATALOG.index("  alarms:")] + CATALOG[CATALOG.index("tables:") :])
    # Any CloudWatch call would go to a port nobody listens on and fail.
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", "http://127.0.0.1:9")
    ok(cli(clean_moto, catalog, "apply", "--yes"))
    assert json.loads(ok(cli(clean_moto, catalog, "plan", "--json", "--detailed-exitcode")).stdout)["alarms"] is None
    assert "alarms" not in ok(cli(clean_moto, catalog, "health")).stdout


# -- an endpoint without CloudWatch -----------------------------------------------------------------


def test_dynamodb_local_reports_alarms_as_not_supported(clean_ddb_local: str, tmp_path: Path) -> None:
    catalog = write(tmp_path, CATALOG)
    for argv in (["plan"], ["apply", "--yes"], ["plan", "--detailed-exitcode"], ["health"]):
        result = ok(cli(clean_ddb_local, catalog, *argv))
        assert "Traceback" not in result.output and not result.stderr.strip(), argv
        if argv[0] == "plan":
            assert "Not supported by this endpoint (left as is): alarms," in result.stdout
            assert "CloudWatch alarms:" not in result.stdout
    health = json.loads(ok(cli(clean_ddb_local, catalog, "health", "--json")).stdout)
    assert "alarms" in health["unsupported"] and all(t["alarms"] is None for t in health["tables"])
    document = json.loads(ok(cli(clean_ddb_local, catalog, "plan", "--json")).stdout)["alarms"]
    assert not document["supported"] and document["not_supported"] == (
        "alarms: not supported by this endpoint (DescribeAlarms answered InvalidAction)"
    )


def test_the_cloudwatch_endpoint_variable_wins_over_the_dynamodb_endpoint(
    clean_moto: str, ddb_local: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = write(tmp_path, CATALOG)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", ddb_local)  # DynamoDB on moto, CloudWatch "on" Local
    planned = ok(cli(clean_moto, catalog, "plan"))
    assert "Not supported by this endpoint (left as is): alarms" in planned.stdout
