"""`snapinfra-db cost`: the arithmetic on known inputs (no AWS), the prices file, then the real CLI on
moto (which implements CloudWatch's PutMetricData and GetMetricData) and DynamoDB Local (which has no
CloudWatch: the estimate goes on without request costs, and says so per table).
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner, Result

from snapinfra_db.cli.application import app
from snapinfra_db.errors import SnapinfraError
from snapinfra_db.ops.cost import (
    GIB,
    MetricsUnavailable,
    Sizes,
    Usage,
    _results,
    _why_no_metrics,
    estimate_table,
    metric_queries,
    read_usage,
    sizes_of,
    stream_label,
)
from snapinfra_db.ops.prices import BUILT_IN, PRICES_AS_OF, built_in_prices, load_prices
from snapinfra_db.reconcile.live import LiveTable, reflect

US_EAST_1 = built_in_prices().for_region("us-east-1")
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t-projects/stream/2026-11-01T00:00:00.000"


def description(
    *,
    name: str = "t-projects",
    on_demand: bool = True,
    size: int = 0,
    items: int = 0,
    gsi_size: int | None = None,
    gsi_capacity: tuple[int, int] = (0, 0),
    capacity: tuple[int, int] = (0, 0),
    stream: bool = True,
    table_class: str | None = "STANDARD",
) -> dict[str, Any]:
    table: dict[str, Any] = {
        "TableName": name,
        "TableArn": f"arn:aws:dynamodb:us-east-1:123456789012:table/{name}",
        "TableStatus": "ACTIVE",
        "TableSizeBytes": size,
        "ItemCount": items,
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "o", "AttributeType": "S"},
        ],
        "ProvisionedThroughput": {"ReadCapacityUnits": capacity[0], "WriteCapacityUnits": capacity[1]},
    }
    if on_demand:
        table["BillingModeSummary"] = {"BillingMode": "PAY_PER_REQUEST"}
    if stream:
        table["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        table["LatestStreamArn"] = STREAM_ARN.replace("t-projects", name)
    if table_class is not None:
        table["TableClassSummary"] = {"TableClass": table_class}
    if gsi_size is not None:
        table["GlobalSecondaryIndexes"] = [
            {
                "IndexName": "ByOwner",
                "KeySchema": [{"AttributeName": "o", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
                "IndexStatus": "ACTIVE",
                "IndexSizeBytes": gsi_size,
                "ItemCount": 0,
                "ProvisionedThroughput": {"ReadCapacityUnits": gsi_capacity[0], "WriteCapacityUnits": gsi_capacity[1]},
            }
        ]
    return table


def live(raw: dict[str, Any], pitr: bool | None = True) -> LiveTable:
    backups = (
        None
        if pitr is None
        else {
            "ContinuousBackupsDescription": {
                "ContinuousBackupsStatus": "ENABLED",
                "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "ENABLED" if pitr else "DISABLED"},
            }
        }
    )
    return reflect(raw, None, backups, {})


# -- the arithmetic ------------------------------------------------------------------------------


def test_on_demand_table_with_index_pitr_and_stream_costs_what_the_prices_say() -> None:
    raw = description(size=2 * GIB, gsi_size=GIB)
    usage = Usage(days=14, read_units=14e6, write_units=7e6, stream_reads=1.4e6)
    cost = estimate_table("projects", live(raw), sizes_of(raw), US_EAST_1, usage)
    # storage: 3 GiB (table and index) x $0.25; PITR: the table's 2 GiB x $0.20
    assert cost.storage == pytest.approx(0.75)
    assert cost.pitr == pytest.approx(0.40)
    # 14 days scaled to 30: 30M RRU x $0.125/M, 15M WRU x $0.625/M, 3M GetRecords x $0.02/100k
    assert cost.reads == pytest.approx(3.75)
    assert cost.writes == pytest.approx(9.375)
    assert cost.streams == pytest.approx(0.60)
    assert cost.total == pytest.approx(14.875)
    assert cost.complete and cost.notes == ()


def test_provisioned_infrequent_access_table_pays_its_capacity_every_hour_whatever_it_used() -> None:
    raw = description(
        on_demand=False, capacity=(10, 5), gsi_size=0, gsi_capacity=(5, 5), stream=False,
        table_class="STANDARD_INFREQUENT_ACCESS", size=10 * GIB,
    )  # fmt: skip
    cost = estimate_table("users", live(raw, pitr=False), sizes_of(raw), US_EAST_1, Usage(days=7, read_units=1e9))
    assert cost.table_class == "STANDARD_INFREQUENT_ACCESS"
    assert cost.storage == pytest.approx(1.0)  # 10 GiB x $0.10
    assert cost.pitr == 0.0 and cost.streams == 0.0
    assert cost.reads == pytest.approx(15 * 720 * 0.00016)  # table 10 + index 5 RCU, 720 hours
    assert cost.writes == pytest.approx(10 * 720 * 0.00081)


def test_every_item_adds_the_100_bytes_dynamodb_bills() -> None:
    raw = description(size=500, items=1000, gsi_size=200)
    raw["GlobalSecondaryIndexes"][0]["ItemCount"] = 10
    assert sizes_of(raw) == Sizes(table_bytes=500 + 100_000, index_bytes=200 + 1_000)


def test_without_metrics_requests_and_streams_are_not_estimated_and_the_table_says_why() -> None:
    raw = description(size=GIB)
    cost = estimate_table("projects", live(raw), sizes_of(raw), US_EAST_1, None, "no CloudWatch at this endpoint")
    assert cost.reads is None and cost.writes is None and cost.streams is None
    assert cost.storage == pytest.approx(0.25) and cost.total == pytest.approx(0.25 + 0.20)
    assert not cost.complete
    assert cost.notes == ("no CloudWatch at this endpoint: request costs not estimated",)

    provisioned = description(on_demand=False, capacity=(1, 1), stream=False)
    cost = estimate_table("p", live(provisioned), sizes_of(provisioned), US_EAST_1, None, "no CloudWatch here")
    assert cost.complete and cost.notes == ()  # capacity is paid whatever CloudWatch says


def test_settings_the_endpoint_does_not_report_are_named() -> None:
    raw = description(table_class=None, stream=False)
    raw["TableArn"] = "arn:aws:dynamodb:ddblocal:000000000000:table/t-projects"  # DynamoDB Local's
    cost = estimate_table("p", live(raw, pitr=None), sizes_of(raw), US_EAST_1, Usage(days=14))
    assert cost.table_class == "STANDARD" and cost.pitr is None
    assert cost.notes == (
        "table class not reported by this endpoint: priced as STANDARD",
        "PITR not reported by this endpoint: its cost not estimated",
    )


def test_queries_cover_the_table_each_index_and_the_stream() -> None:
    queries = metric_queries([live(description(gsi_size=0)), live(description(name="t-b", stream=False))])
    described = [(q.table, q.kind, q.metric, q.stat, dict(q.dimensions)) for q in queries]
    label = "2026-11-01T00:00:00.000"
    assert described == [
        ("t-projects", "read", "ConsumedReadCapacityUnits", "Sum", {"TableName": "t-projects"}),
        ("t-projects", "write", "ConsumedWriteCapacityUnits", "Sum", {"TableName": "t-projects"}),
        ("t-projects", "read", "ConsumedReadCapacityUnits", "Sum",
         {"TableName": "t-projects", "GlobalSecondaryIndexName": "ByOwner"}),
        ("t-projects", "write", "ConsumedWriteCapacityUnits", "Sum",
         {"TableName": "t-projects", "GlobalSecondaryIndexName": "ByOwner"}),
        ("t-projects", "stream", "SuccessfulRequestLatency", "SampleCount",
         {"TableName": "t-projects", "Operation": "GetRecords", "StreamLabel": label}),
        ("t-b", "read", "ConsumedReadCapacityUnits", "Sum", {"TableName": "t-b"}),
        ("t-b", "write", "ConsumedWriteCapacityUnits", "Sum", {"TableName": "t-b"}),
    ]  # fmt: skip
    assert len({q.id for q in queries}) == len(queries)
    assert stream_label(STREAM_ARN) == label and stream_label(None) is None


@pytest.mark.parametrize(
    "answer",
    [
        [],
        {"MetricDataResults": {}},
        {"MetricDataResults": [{"Values": [1.0]}]},
        {"MetricDataResults": [{"Id": "q0", "Values": [True]}]},
        {"MetricDataResults": [{"Id": "q0", "Values": [float("nan")]}]},
        {"MetricDataResults": [{"Id": "q0", "Values": [-1.0]}]},
        {"MetricDataResults": [], "NextToken": 5},
    ],
)
def test_an_unreadable_get_metric_data_answer_is_never_believed(answer: Any) -> None:
    with pytest.raises(MetricsUnavailable, match="unreadable"):
        _results(answer, "http://x")


def test_pages_of_get_metric_data_are_followed_and_summed_per_table() -> None:
    queries = metric_queries([live(description(stream=False)), live(description(name="t-b", stream=False))])
    pages = [
        {"MetricDataResults": [{"Id": "q0", "Values": [1.0, 2.0]}, {"Id": "q1", "Values": [5.0]}], "NextToken": "n"},
        {
            "MetricDataResults": [
                {"Id": "q0", "Values": [3.0]},
                {"Id": "q2", "Values": [7.0]},
                {"Id": "zz", "Values": [9.0]},
            ]
        },
    ]
    calls: list[dict[str, Any]] = []

    class FakeCloudWatch:
        def get_metric_data(self, **kwargs: Any) -> dict[str, Any]:
            calls.append(kwargs)
            return pages[len(calls) - 1]

    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 15, tzinfo=UTC)
    usage = read_usage(FakeCloudWatch(), queries, start, end, 14, "http://x")
    assert usage == {
        "t-projects": Usage(days=14, read_units=6.0, write_units=5.0),
        "t-b": Usage(days=14, read_units=7.0),
    }
    assert [c.get("NextToken") for c in calls] == [None, "n"]
    assert len(calls[0]["MetricDataQueries"]) == 4 and calls[0]["StartTime"] == start


def test_a_body_botocore_cannot_read_is_unreadable_metrics_not_a_traceback() -> None:
    class Garbled:
        def get_metric_data(self, **kwargs: Any) -> dict[str, Any]:
            raise TypeError("string indices must be integers")

    queries = metric_queries([live(description(stream=False))])
    now = datetime(2026, 11, 15, tzinfo=UTC)
    with pytest.raises(MetricsUnavailable, match="answered GetMetricData with something unreadable"):
        read_usage(Garbled(), queries, now - timedelta(days=1), now, 1, "http://x")


def test_a_refusal_by_cloudwatch_itself_is_named_and_an_endpoint_without_it_is_said_so() -> None:
    from botocore.exceptions import ClientError

    refused = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "GetMetricData")
    where = "https://monitoring.us-east-1.amazonaws.com"
    assert _why_no_metrics(refused, where, custom_endpoint=False) == (
        f"CloudWatch at {where}: GetMetricData: access denied: not allowed"
    )
    unknown = ClientError({"Error": {"Code": "InvalidAction", "Message": "?"}}, "GetMetricData")
    assert _why_no_metrics(unknown, "http://localhost:8000", custom_endpoint=True) == (
        "no CloudWatch at this endpoint (GetMetricData answered InvalidAction)"
    )


# -- prices ----------------------------------------------------------------------------------------


def region_prices(factor: float) -> dict[str, Any]:
    """us-east-1's built-in prices, each multiplied by `factor`."""

    def scaled(value: Any) -> Any:
        return {k: scaled(v) for k, v in value.items()} if isinstance(value, dict) else value * factor

    return scaled(BUILT_IN["regions"]["us-east-1"])  # type: ignore[no-any-return]


def prices_yaml(tmp_path: Path, regions: dict[str, float], as_of: str = "2027-01-01") -> Path:
    """A prices file in YAML (JSON flow mappings inside) for `regions`, each at factor x us-east-1's."""
    lines = [f"as_of: {as_of}", "regions:"] + [f"  {r}: {json.dumps(region_prices(f))}" for r, f in regions.items()]
    path = tmp_path / "prices.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_built_in_table_is_dated_and_an_unknown_region_points_at_prices_file() -> None:
    prices = built_in_prices()
    assert prices.as_of.isoformat() == PRICES_AS_OF and prices.source == "built-in"
    with pytest.raises(SnapinfraError, match=r"no DynamoDB prices for region ap-south-1 .*--prices FILE"):
        prices.for_region("ap-south-1")


def test_a_prices_file_in_json_or_yaml_is_read(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(BUILT_IN))
    assert load_prices(path).for_region("us-east-1") == US_EAST_1
    table = load_prices(prices_yaml(tmp_path, {"eu-west-3": 2}))
    assert table.as_of.isoformat() == "2027-01-01" and table.source == str(tmp_path / "prices.yaml")
    assert table.for_region("eu-west-3").pitr_gb_month == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("as_of: 2026-01-01\nregions: {}\n", "regions: Dictionary should have at least 1 item"),
        ("regions: [\n", "prices.yaml:2:1: not JSON or YAML"),
        ("- 1\n", "a prices file is a mapping"),
        ("as_of: 2026-01-01\nregion: {}\n", "regions: Field required; region: Extra inputs are not permitted"),
        ("\xff", "not UTF-8"),
    ],
)
def test_a_bad_prices_file_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "prices.yaml"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(SnapinfraError) as caught:
        load_prices(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_negative_or_infinite_price_is_refused_where_it_is(tmp_path: Path) -> None:
    path = prices_yaml(tmp_path, {"us-east-1": -1})
    negative = "regions.us-east-1.STANDARD.on_demand.write_per_million: Input should be greater than or equal to 0"
    with pytest.raises(SnapinfraError, match=re.escape(negative)):
        load_prices(path)
    path = prices_yaml(tmp_path, {"us-east-1": 1})
    path.write_text(path.read_text().replace('"pitr_gb_month": 0.2', '"pitr_gb_month": .inf'))
    with pytest.raises(SnapinfraError, match=re.escape("regions.us-east-1.pitr_gb_month: Input should be a finite")):
        load_prices(path)


# -- the real CLI ----------------------------------------------------------------------------------

CATALOG = """
prefix: c-
defaults:
  billing: {mode: PAY_PER_REQUEST}
  encryption: {type: AWS_OWNED}
  deletion_protection: false
tables:
  projects:
    partition_key: id
    global_indexes:
      ByOwner: {partition_key: owner}
  users:
    partition_key: id
    billing: {mode: PROVISIONED, read: 5, write: 2}
    stream: {enabled: false}
  teams:
    partition_key: id
"""


def write_catalog(tmp_path: Path) -> Path:
    path = tmp_path / "tables.yaml"
    path.write_text(textwrap.dedent(CATALOG))
    return path


def cli(url: str, catalog: Path, *argv: str) -> Result:
    return CliRunner().invoke(app, [*argv, "--catalog", str(catalog), "--endpoint-url", url])


def applied(url: str, tmp_path: Path, *extra: str) -> Path:
    """The catalog, with projects and users applied (teams stays missing)."""
    catalog = write_catalog(tmp_path)
    result = cli(url, catalog, "apply", "--yes", "-t", "projects", "-t", "users", *extra)
    assert result.exit_code == 0, result.output
    return catalog


def put(url: str, name: str, value: float, dims: dict[str, str], *, ago: timedelta, region: str = "us-east-1") -> None:
    cloudwatch = boto3.client("cloudwatch", endpoint_url=url, region_name=region)
    datum: dict[str, Any] = {
        "MetricName": name,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
        "Timestamp": datetime.now(UTC) - ago,
    }
    if name == "SuccessfulRequestLatency":  # `value` GetRecords calls of 10 ms each
        datum["StatisticValues"] = {"SampleCount": value, "Sum": 10 * value, "Minimum": 10.0, "Maximum": 10.0}
    else:
        datum["Value"] = value
    cloudwatch.put_metric_data(Namespace="AWS/DynamoDB", MetricData=[datum])


def put_usage(url: str, region: str = "us-east-1") -> None:
    """On c-projects, over 14 days: 1.4M WRU on the table and 0.7M on its index, 2.8M RRU, 70,000
    GetRecords calls; one datapoint 20 days ago (outside --days 14); usage on the provisioned c-users."""
    arn = boto3.client("dynamodb", endpoint_url=url, region_name=region).describe_table(TableName="c-projects")
    label = arn["Table"]["LatestStreamArn"].rsplit("/stream/", 1)[1]
    table, index = {"TableName": "c-projects"}, {"TableName": "c-projects", "GlobalSecondaryIndexName": "ByOwner"}
    for day in (1, 5, 9, 13):
        put(url, "ConsumedWriteCapacityUnits", 350_000, table, ago=timedelta(days=day, hours=1), region=region)
        put(url, "ConsumedReadCapacityUnits", 700_000, table, ago=timedelta(days=day, hours=2), region=region)
    put(url, "ConsumedWriteCapacityUnits", 700_000, index, ago=timedelta(hours=3), region=region)
    stream = {"TableName": "c-projects", "Operation": "GetRecords", "StreamLabel": label}
    put(url, "SuccessfulRequestLatency", 70_000, stream, ago=timedelta(days=2), region=region)
    put(url, "ConsumedWriteCapacityUnits", 9e9, table, ago=timedelta(days=20), region=region)
    put(url, "ConsumedReadCapacityUnits", 9e9, {"TableName": "c-users"}, ago=timedelta(days=1), region=region)


# What put_usage's numbers cost a month at us-east-1's built-in prices (14 days scaled to 30).
PROJECTS_WRITES = (1_400_000 + 700_000) * 30 / 14 / 1e6 * 0.625
PROJECTS_READS = 2_800_000 * 30 / 14 / 1e6 * 0.125
PROJECTS_STREAMS = 70_000 * 30 / 14 / 1e5 * 0.02
USERS_READS, USERS_WRITES = 5 * 720 * 0.00013, 2 * 720 * 0.00065


def by_key(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["key"]: t for t in document["tables"]}


def test_the_estimate_on_moto_is_the_arithmetic_on_what_cloudwatch_holds(clean_moto: str, tmp_path: Path) -> None:
    catalog = applied(clean_moto, tmp_path)
    put_usage(clean_moto)
    result = cli(clean_moto, catalog, "cost", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["region"] == "us-east-1" and document["currency"] == "USD"
    assert document["prices"] == {"as_of": PRICES_AS_OF, "source": "built-in"}
    assert document["usage_window"]["days"] == 14 and document["metrics"] == {"available": True, "note": None}
    tables = by_key(document)

    projects = tables["projects"]
    assert projects["billing"] == "PAY_PER_REQUEST" and projects["complete"]
    assert projects["usage"] == {"days": 14, "read_units": 2_800_000, "write_units": 2_100_000, "stream_reads": 70_000}
    monthly = projects["monthly"]
    assert monthly["writes"] == pytest.approx(PROJECTS_WRITES)
    assert monthly["reads"] == pytest.approx(PROJECTS_READS)
    assert monthly["streams"] == pytest.approx(PROJECTS_STREAMS)
    billed = projects["billed_bytes"]
    assert monthly["storage"] == pytest.approx(billed / GIB * 0.25, abs=1e-6)

    users = tables["users"]  # provisioned: its capacity every hour, whatever CloudWatch says it used
    assert users["monthly"]["reads"] == pytest.approx(USERS_READS)
    assert users["monthly"]["writes"] == pytest.approx(USERS_WRITES)
    assert users["monthly"]["streams"] == 0.0

    assert tables["teams"]["exists"] is False and tables["teams"]["notes"] == ["table does not exist"]
    parts = [v for t in document["tables"] if t["exists"] for k, v in t["monthly"].items() if k != "total"]
    assert document["total"] == pytest.approx(sum(parts), abs=1e-5)
    assert document["total"] > PROJECTS_WRITES + PROJECTS_READS + USERS_READS + USERS_WRITES


def test_the_people_view_names_region_and_price_date(clean_moto: str, tmp_path: Path) -> None:
    catalog = applied(clean_moto, tmp_path)
    put_usage(clean_moto)
    result = CliRunner().invoke(
        app, ["--no-color", "cost", "--catalog", str(catalog), "--endpoint-url", clean_moto, "-t", "proj*"]
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"region us-east-1 · prices as of {PRICES_AS_OF} (built-in)" in out
    assert "usage of the last 14 day(s), scaled to 30 days" in out
    assert "users" not in out  # --table
    row = next(line for line in out.splitlines() if line.startswith("projects"))
    assert f"{PROJECTS_WRITES:.2f}" in row and f"{PROJECTS_READS:.2f}" in row
    assert "Total: $" in out and "Not counted: free tiers" in out


def test_days_narrows_the_window(clean_moto: str, tmp_path: Path) -> None:
    catalog = applied(clean_moto, tmp_path)
    put_usage(clean_moto)
    result = cli(clean_moto, catalog, "cost", "--json", "--days", "4", "-t", "projects")
    assert result.exit_code == 0, result.output
    projects = by_key(json.loads(result.stdout))["projects"]
    # days 1 (table) and the index's 3 hours ago: 350,000 + 700,000 WRU in 4 days
    assert projects["usage"]["write_units"] == 1_050_000
    assert projects["monthly"]["writes"] == pytest.approx(1_050_000 * 30 / 4 / 1e6 * 0.625)


def test_prices_file_for_a_region_the_table_lacks(clean_moto: str, tmp_path: Path) -> None:
    catalog = applied(clean_moto, tmp_path, "--region", "eu-west-3")
    put_usage(clean_moto, region="eu-west-3")
    refused = cli(clean_moto, catalog, "cost", "--region", "eu-west-3")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: no DynamoDB prices for region eu-west-3 in the built-in price table")
    assert "pass --prices FILE" in refused.stderr and len(refused.stderr.splitlines()) == 1

    prices = prices_yaml(tmp_path, {"eu-west-3": 2})
    result = cli(clean_moto, catalog, "cost", "--region", "eu-west-3", "--prices", str(prices), "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["region"] == "eu-west-3"
    assert document["prices"] == {"as_of": "2027-01-01", "source": str(prices)}
    projects = by_key(document)["projects"]["monthly"]
    assert projects["writes"] == pytest.approx(2 * PROJECTS_WRITES)
    assert projects["streams"] == pytest.approx(2 * PROJECTS_STREAMS)


def test_an_unknown_region_fails_before_any_call(tmp_path: Path) -> None:
    nothing_listens = "http://127.0.0.1:9"
    result = cli(nothing_listens, write_catalog(tmp_path), "cost", "--region", "ap-south-1")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: no DynamoDB prices for region ap-south-1 in the built-in price table (as of {PRICES_AS_OF}: "
        "us-east-1); pass --prices FILE with that region's prices (the shape: README, 'Cost estimate')"
    ]


def test_a_bad_prices_file_is_one_error_line(tmp_path: Path) -> None:
    prices = prices_yaml(tmp_path, {"us-east-1": -1})
    result = cli("http://127.0.0.1:9", write_catalog(tmp_path), "cost", "--prices", str(prices))
    assert result.exit_code == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {prices}: regions.us-east-1.STANDARD.on_demand")


def test_dynamodb_local_has_no_cloudwatch_and_each_table_says_so(clean_ddb_local: str, tmp_path: Path) -> None:
    catalog = applied(clean_ddb_local, tmp_path)
    result = CliRunner().invoke(
        app, ["--no-color", "cost", "--catalog", str(catalog), "--endpoint-url", clean_ddb_local]
    )
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and result.stderr == ""
    why = "no CloudWatch at this endpoint (GetMetricData answered InvalidAction)"
    assert f"  projects: {why}: request costs not estimated" in result.stdout
    assert "  projects: PITR not reported by this endpoint: its cost not estimated" in result.stdout
    # provisioned capacity does not need CloudWatch; users has no stream either
    assert "  users: no CloudWatch" not in result.stdout

    as_json = cli(clean_ddb_local, catalog, "cost", "--json")
    assert as_json.exit_code == 0, as_json.output
    document = json.loads(as_json.stdout)
    assert document["metrics"] == {"available": False, "note": why}
    assert document["complete"] is False
    projects, users = by_key(document)["projects"], by_key(document)["users"]
    assert projects["monthly"]["reads"] is None and projects["monthly"]["streams"] is None
    assert projects["usage"] is None and projects["complete"] is False
    assert users["monthly"]["reads"] == pytest.approx(USERS_READS)
    assert math.isclose(users["monthly"]["writes"], USERS_WRITES)


def test_the_readme_documents_a_prices_file_that_loads_and_equals_the_built_in_table(tmp_path: Path) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme[readme.index("### Cost estimate") :]
    block = section[section.index("```yaml\n") + len("```yaml\n") : section.index("```\n", section.index("```yaml"))]
    path = tmp_path / "prices.yaml"
    path.write_text(block)
    assert load_prices(path).model_dump() == built_in_prices().model_dump()
