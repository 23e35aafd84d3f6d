"""The behaviour layer (tests/behaviour.py): each AWS-only behaviour it reproduces, observed through boto3.

Every test runs its own proxy in front of moto's server (``clean_moto``) and, where the behaviour
matters most (CREATING refusals, index backfill, TTL), in front of DynamoDB Local too.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from behaviour import MALFORMED_MODES, Behaviour, BehaviourProxy, proxy_for

HERE = Path(__file__).resolve().parent
ENGINES = ["moto", pytest.param("ddblocal", marks=pytest.mark.ddblocal)]
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=10)


@pytest.fixture(params=ENGINES)
def upstream(request: pytest.FixtureRequest) -> str:
    """moto's server or DynamoDB Local, emptied: the engine behind the proxy."""
    fixture = "clean_moto" if request.param == "moto" else "clean_ddb_local"
    url: str = request.getfixturevalue(fixture)
    return url


def client(url: str, config: Config | None = NO_RETRIES, service: str = "dynamodb") -> Any:
    """A boto3 client with dummy credentials; by default without retries, so refusals are seen."""
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=config,
    )


def gsi(name: str, key: str) -> dict[str, Any]:
    return {
        "IndexName": name,
        "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
    }


def create_table(ddb: Any, name: str, *indexes: str, **extra: Any) -> dict[str, Any]:
    """A PAY_PER_REQUEST table keyed on ``id``, with one GSI (on attribute ``<index>_k``) per name."""
    attributes = [{"AttributeName": "id", "AttributeType": "S"}]
    attributes += [{"AttributeName": f"{i}_k", "AttributeType": "S"} for i in indexes]
    if indexes:
        extra["GlobalSecondaryIndexes"] = [gsi(i, f"{i}_k") for i in indexes]
    answer: dict[str, Any] = ddb.create_table(
        TableName=name,
        AttributeDefinitions=attributes,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    description: dict[str, Any] = answer["TableDescription"]
    return description


def add_index(ddb: Any, table: str, index: str) -> dict[str, Any]:
    answer: dict[str, Any] = ddb.update_table(
        TableName=table,
        AttributeDefinitions=[
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": f"{index}_k", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexUpdates=[{"Create": gsi(index, f"{index}_k")}],
    )
    description: dict[str, Any] = answer["TableDescription"]
    return description


def status(ddb: Any, table: str) -> str:
    value: str = ddb.describe_table(TableName=table)["Table"]["TableStatus"]
    return value


def wait_for(predicate: Callable[[], bool], timeout: float = 8.0, every: float = 0.05) -> float:
    """Poll until ``predicate()``; return the seconds it took."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(every)
    return time.monotonic() - started


def refused(call: Callable[[], Any]) -> tuple[str, str]:
    """(error code, message) of a call that must fail with a service error."""
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call()
    error = info.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def in_use(table: str, doing: str) -> tuple[str, str]:
    return (
        "ResourceInUseException",
        f"Attempt to change a resource which is still in use: Table is being {doing}: {table}",
    )


# --------------------------------------------------------------------------- plumbing


def test_everything_passes_through_unchanged_when_no_knob_is_set(clean_moto: str) -> None:
    with proxy_for(clean_moto) as proxy:
        ddb = client(proxy.url)
        create_table(ddb, "plain")
        ddb.put_item(TableName="plain", Item={"id": {"S": "a"}, "n": {"N": "1"}})
        assert ddb.get_item(TableName="plain", Key={"id": {"S": "a"}})["Item"]["n"] == {"N": "1"}
        # Other services (form-encoded STS) and moto's own API are forwarded untouched.
        assert client(proxy.url, service="sts").get_caller_identity()["Account"]
        with urllib.request.urlopen(f"{proxy.url}/moto-api/data.json", timeout=10) as response:
            assert "dynamodb" in json.loads(response.read())
        assert proxy.calls == {"CreateTable": 1, "PutItem": 1, "GetItem": 1}
        assert [(e.operation, e.table, e.status, e.error) for e in proxy.events] == [
            ("CreateTable", "plain", 200, ""),
            ("PutItem", "plain", 200, ""),
            ("GetItem", "plain", 200, ""),
        ]
        proxy.reset_counters()
        assert not proxy.calls and not proxy.events and proxy.max_in_flight == 0
    assert client(clean_moto).get_item(TableName="plain", Key={"id": {"S": "a"}})["Item"]["n"] == {"N": "1"}


def test_knobs_are_validated_and_default_off() -> None:
    knobs = Behaviour()
    assert knobs.ttl_window == 3600 and not knobs.ttl_hour and knobs.max_table_operations is None
    with pytest.raises(ValueError, match="ignore"):
        Behaviour(ignore={"Colour"})
    with pytest.raises(ValueError, match="malformed"):
        Behaviour(malformed={"ListTables": "rude"})
    with pytest.raises(TypeError, match="bogus"):
        knobs.update(bogus=1)
    with pytest.raises(ValueError):
        knobs.update(latency=1.0, ignore={"Colour"})
    assert knobs.latency == 0.0 and knobs.ignore == set()  # a rejected update changes nothing


# --------------------------------------------------------------------------- transient statuses


def test_new_table_is_creating_and_refuses_changes_until_active(upstream: str) -> None:
    with proxy_for(upstream, table_creating_for=1.5) as proxy:
        ddb = client(proxy.url)
        started = time.monotonic()
        description = create_table(ddb, "fresh", "ByOwner")
        assert description["TableStatus"] == "CREATING"
        table = ddb.describe_table(TableName="fresh")["Table"]
        assert table["TableStatus"] == "CREATING"
        assert [(i["IndexStatus"], "Backfilling" in i) for i in table["GlobalSecondaryIndexes"]] == [
            ("CREATING", False)
        ]

        creating = in_use("fresh", "created")
        assert refused(lambda: ddb.update_table(TableName="fresh", DeletionProtectionEnabled=True)) == creating
        assert refused(lambda: ddb.delete_table(TableName="fresh")) == creating
        ttl = {"Enabled": True, "AttributeName": "expires"}
        assert refused(lambda: ddb.update_time_to_live(TableName="fresh", TimeToLiveSpecification=ttl)) == creating
        assert refused(lambda: create_table(ddb, "fresh")) == creating

        wait_for(lambda: status(ddb, "fresh") == "ACTIVE")
        assert 1.3 <= time.monotonic() - started <= 4.0
        index = ddb.describe_table(TableName="fresh")["Table"]["GlobalSecondaryIndexes"][0]
        assert index["IndexStatus"] == "ACTIVE"
        ddb.update_table(TableName="fresh", DeletionProtectionEnabled=True)  # now accepted
        assert proxy.calls["UpdateTable"] == 2


def test_updated_table_is_updating_and_refuses_further_updates(upstream: str) -> None:
    with proxy_for(upstream, table_updating_for=1.0) as proxy:
        ddb = client(proxy.url)
        assert create_table(ddb, "busy")["TableStatus"] == "ACTIVE"
        answer = ddb.update_table(TableName="busy", DeletionProtectionEnabled=True)["TableDescription"]
        assert answer["TableStatus"] == "UPDATING"
        assert status(ddb, "busy") == "UPDATING"
        updating = in_use("busy", "updated")
        assert refused(lambda: ddb.update_table(TableName="busy", DeletionProtectionEnabled=False)) == updating
        assert refused(lambda: ddb.delete_table(TableName="busy")) == updating
        assert wait_for(lambda: status(ddb, "busy") == "ACTIVE") <= 2.0
        ddb.update_table(TableName="busy", DeletionProtectionEnabled=False)
        assert [e.error for e in proxy.events if e.operation == "UpdateTable"] == [
            "",
            "ResourceInUseException",
            "",
        ]


def test_tagging_is_admitted_while_updating(clean_moto: str) -> None:
    with proxy_for(clean_moto, table_updating_for=1.0) as proxy:
        ddb = client(proxy.url)
        arn = create_table(ddb, "tagged")["TableArn"]
        ddb.update_table(TableName="tagged", DeletionProtectionEnabled=True)
        ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "core"}])
        assert status(ddb, "tagged") == "UPDATING"
        assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "core"}]


def index_phases(ddb: Any, table: str, index: str, timeout: float = 8.0) -> list[tuple[str, bool]]:
    """The (IndexStatus, Backfilling) states ``index`` goes through until ACTIVE and done."""
    seen: list[tuple[str, bool]] = []

    def done() -> bool:
        indexes = ddb.describe_table(TableName=table)["Table"]["GlobalSecondaryIndexes"]
        found = next(i for i in indexes if i["IndexName"] == index)
        phase = (found["IndexStatus"], bool(found.get("Backfilling")))
        if not seen or seen[-1] != phase:
            seen.append(phase)
        return phase == ("ACTIVE", False)

    wait_for(done, timeout=timeout)
    return seen


def test_new_index_is_created_then_backfilled_then_active(upstream: str) -> None:
    with proxy_for(upstream, index_creating_for=1.0, index_backfilling_for=1.0) as proxy:
        ddb = client(proxy.url)
        create_table(ddb, "indexed")
        started = time.monotonic()
        answer = add_index(ddb, "indexed", "ByStatus")
        new = next(i for i in answer["GlobalSecondaryIndexes"] if i["IndexName"] == "ByStatus")
        assert (new["IndexStatus"], new["Backfilling"]) == ("CREATING", False)

        # One online index change at a time; nothing else until backfilling starts.
        code, message = refused(lambda: add_index(ddb, "indexed", "ByOwner"))
        assert code == "LimitExceededException"
        assert message == (
            "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table"
        )
        assert refused(lambda: ddb.update_table(TableName="indexed", DeletionProtectionEnabled=True)) == in_use(
            "indexed", "updated"
        )

        phases = index_phases(ddb, "indexed", "ByStatus")
        assert phases == [("CREATING", False), ("CREATING", True), ("ACTIVE", False)]
        assert 1.8 <= time.monotonic() - started <= 5.0
        add_index(ddb, "indexed", "ByOwner")  # accepted once the first is ACTIVE
        assert proxy.calls["UpdateTable"] == 4


def test_backfill_can_report_active_while_backfilling(clean_moto: str) -> None:
    knobs: dict[str, Any] = {"index_creating_for": 0.5, "index_backfilling_for": 1.0, "backfill_reports_active": True}
    with proxy_for(clean_moto, **knobs) as proxy:
        ddb = client(proxy.url)
        create_table(ddb, "eager")
        add_index(ddb, "eager", "ByDay")
        assert index_phases(ddb, "eager", "ByDay") == [("CREATING", False), ("ACTIVE", True), ("ACTIVE", False)]
        # The index being backfilled may be deleted (AWS allows it once Backfilling is true).
        proxy.behaviour.update(index_creating_for=0.0, index_backfilling_for=5.0)
        add_index(ddb, "eager", "ByWeek")
        ddb.update_table(TableName="eager", GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "ByWeek"}}])


def test_sse_change_reports_updating(clean_moto: str) -> None:
    with proxy_for(clean_moto, sse_updating_for=1.0) as proxy:
        ddb = client(proxy.url)
        create_table(ddb, "secret", SSESpecification={"Enabled": True, "SSEType": "KMS"})
        assert ddb.describe_table(TableName="secret")["Table"]["SSEDescription"]["Status"] == "ENABLED"
        ddb.update_table(
            TableName="secret", SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": "alias/other"}
        )
        assert ddb.describe_table(TableName="secret")["Table"]["SSEDescription"]["Status"] == "UPDATING"
        took = wait_for(
            lambda: ddb.describe_table(TableName="secret")["Table"]["SSEDescription"]["Status"] == "ENABLED"
        )
        assert took <= 2.0
        assert proxy.calls["UpdateTable"] == 1


# --------------------------------------------------------------------------- AWS's rules


def test_pitr_is_unavailable_right_after_create(clean_moto: str) -> None:
    with proxy_for(clean_moto, table_creating_for=0.5, pitr_unavailable_for=1.0) as proxy:
        ddb = client(proxy.url)
        create_table(ddb, "backed")

        def enable() -> Any:
            spec = {"PointInTimeRecoveryEnabled": True}
            return ddb.update_continuous_backups(TableName="backed", PointInTimeRecoverySpecification=spec)

        unavailable = (
            "ContinuousBackupsUnavailableException",
            "Backups are being enabled for the table: backed. Please retry later",
        )
        assert refused(enable) == unavailable  # while CREATING
        wait_for(lambda: status(ddb, "backed") == "ACTIVE")
        assert refused(enable) == unavailable  # and a while after ACTIVE
        assert 0.6 <= wait_for(lambda: _succeeds(enable), timeout=4.0, every=0.1) <= 2.0
        assert proxy.calls["UpdateContinuousBackups"] >= 3
        described = ddb.describe_continuous_backups(TableName="backed")["ContinuousBackupsDescription"]
        assert described["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def _succeeds(call: Callable[[], Any]) -> bool:
    try:
        call()
    except botocore.exceptions.ClientError:
        return False
    return True


def test_ttl_changes_once_per_window(upstream: str) -> None:
    with proxy_for(upstream, ttl_hour=True, ttl_window=1.0) as proxy:
        ddb = client(proxy.url)
        create_table(ddb, "expiring")
        on = {"Enabled": True, "AttributeName": "expires"}
        off = {"Enabled": False, "AttributeName": "expires"}
        ddb.update_time_to_live(TableName="expiring", TimeToLiveSpecification=on)
        assert refused(lambda: ddb.update_time_to_live(TableName="expiring", TimeToLiveSpecification=off)) == (
            "ValidationException",
            "Time to live has been modified multiple times within a fixed interval",
        )
        assert ddb.describe_time_to_live(TableName="expiring")["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
        time.sleep(1.05)
        ddb.update_time_to_live(TableName="expiring", TimeToLiveSpecification=off)
        assert proxy.calls["UpdateTimeToLive"] == 3


def test_concurrent_table_operations_are_limited(clean_moto: str) -> None:
    with proxy_for(clean_moto, table_creating_for=1.5, max_table_operations=2) as proxy:
        ddb = client(proxy.url)
        create_table(ddb, "one")
        create_table(ddb, "two")
        assert refused(lambda: create_table(ddb, "three")) == (
            "LimitExceededException",
            "Subscriber limit exceeded: Only 2 tables can be created, updated, or deleted simultaneously",
        )
        wait_for(lambda: status(ddb, "two") == "ACTIVE")
        create_table(ddb, "three")
        assert proxy.calls["CreateTable"] == 4


def test_throttling_by_count_and_by_rate(clean_moto: str) -> None:
    with proxy_for(clean_moto, throttle={"ListTables": 2}) as proxy:
        ddb = client(proxy.url)
        for _ in range(2):
            assert refused(ddb.list_tables) == ("ThrottlingException", "Rate exceeded")
        ddb.list_tables()
        assert proxy.behaviour.throttle == {"ListTables": 0}
        # botocore retries a throttled call by itself (legacy mode: DynamoDB's 50 ms base backoff, kept short).
        proxy.behaviour.update(throttle={"ListTables": 2})
        retrying = client(proxy.url, Config(retries={"mode": "legacy", "total_max_attempts": 3}))
        proxy.reset_counters()
        retrying.list_tables()
        assert proxy.calls["ListTables"] == 3

    def pattern(seed: int) -> list[bool]:
        with proxy_for(clean_moto, seed=seed, throttle_rate=0.5) as proxy:
            ddb = client(proxy.url)
            return [not _succeeds(ddb.list_tables) for _ in range(16)]

    first = pattern(7)
    assert first == pattern(7) and any(first) and not all(first)


def test_latency_and_calls_in_flight(clean_moto: str) -> None:
    with proxy_for(clean_moto, latency=0.3) as proxy:
        ddb = client(proxy.url)
        started = time.monotonic()
        ddb.list_tables()
        assert time.monotonic() - started >= 0.3
        proxy.reset_counters()
        threads = [threading.Thread(target=ddb.list_tables) for _ in range(6)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert time.monotonic() - started < 1.2  # concurrent, not one after another
        assert proxy.max_in_flight >= 4
        # The first call's event may be recorded just after reset_counters (the proxy records once it has
        # answered): only the six calls started after it count here.
        batch = [e for e in proxy.events if e.start >= started - 0.05]
        assert len(batch) == 6 and all(e.end - e.start >= 0.3 for e in batch), proxy.events


# --------------------------------------------------------------------------- endpoints that ignore settings


def test_ignored_settings_are_accepted_and_not_applied(clean_moto: str) -> None:
    ignore = {"Tags", "DeletionProtectionEnabled", "StreamSpecification", "SSESpecification", "TimeToLive"}
    with proxy_for(clean_moto, ignore=ignore) as proxy:
        ddb, direct = client(proxy.url), client(clean_moto)
        arn = create_table(
            ddb,
            "lax",
            Tags=[{"Key": "team", "Value": "core"}],
            DeletionProtectionEnabled=True,
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
            SSESpecification={"Enabled": True, "SSEType": "KMS"},
        )["TableArn"]
        table = direct.describe_table(TableName="lax")["Table"]
        assert not table.get("DeletionProtectionEnabled")
        assert not table.get("StreamSpecification", {}).get("StreamEnabled")
        assert "SSEDescription" not in table
        assert direct.list_tags_of_resource(ResourceArn=arn)["Tags"] == []

        ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "core"}])
        assert direct.list_tags_of_resource(ResourceArn=arn)["Tags"] == []
        assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == []

        answer = ddb.update_table(TableName="lax", DeletionProtectionEnabled=True)["TableDescription"]
        assert answer["TableName"] == "lax"
        assert not direct.describe_table(TableName="lax")["Table"].get("DeletionProtectionEnabled")

        spec = {"Enabled": True, "AttributeName": "expires"}
        assert ddb.update_time_to_live(TableName="lax", TimeToLiveSpecification=spec)["TimeToLiveSpecification"] == spec
        ttl = direct.describe_time_to_live(TableName="lax")["TimeToLiveDescription"]
        assert ttl["TimeToLiveStatus"] == "DISABLED"
        code, _ = refused(lambda: ddb.update_time_to_live(TableName="missing", TimeToLiveSpecification=spec))
        assert code == "ResourceNotFoundException"
        assert proxy.calls["UpdateTimeToLive"] == 2


@pytest.mark.ddblocal
def test_ignored_tags_make_tagging_work_on_dynamodb_local(clean_ddb_local: str) -> None:
    ddb_direct = client(clean_ddb_local)
    with proxy_for(clean_ddb_local, ignore={"Tags"}) as proxy:
        ddb = client(proxy.url)
        arn = create_table(ddb, "local", Tags=[{"Key": "team", "Value": "core"}])["TableArn"]
        assert refused(lambda: ddb_direct.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "b"}]))[0] == (
            "UnknownOperationException"
        )
        ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "b"}])
        assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == []


@pytest.mark.ddblocal
def test_rewritten_answers_drop_the_crc_header(clean_ddb_local: str) -> None:
    seen: list[dict[str, str]] = []

    def keep(http_response: Any, **_: Any) -> None:
        seen.append({k.lower(): v for k, v in http_response.headers.items()})

    with proxy_for(clean_ddb_local, table_creating_for=1.0) as proxy:
        ddb = client(proxy.url)
        ddb.meta.events.register("after-call.dynamodb.DescribeTable", keep)
        create_table(ddb, "checked")
        assert status(ddb, "checked") == "CREATING"  # rewritten
        wait_for(lambda: status(ddb, "checked") == "ACTIVE")
        assert "x-amz-crc32" not in seen[0]
        assert "x-amz-crc32" in seen[-1]  # DynamoDB Local's own answer, passed through with its checksum
        assert proxy.calls["DescribeTable"] == len(seen)  # no checksum retries


# --------------------------------------------------------------------------- malformed answers


def raw_call(url: str, operation: str, body: bytes = b"{}", timeout: float = 5.0) -> http.client.HTTPResponse:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    headers = {
        "X-Amz-Target": f"DynamoDB_20120810.{operation}",
        "Content-Type": "application/x-amz-json-1.0",
        # Unsigned, but its credential scope tells moto which service this is.
        "Authorization": "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host, Signature=0",
    }
    conn.request("POST", "/", body=body, headers=headers)
    return conn.getresponse()


@pytest.mark.parametrize("mode", sorted(MALFORMED_MODES))
def test_malformed_answers(clean_moto: str, mode: str) -> None:
    with proxy_for(clean_moto, malformed={"ListTables": mode}, hang_for=0.5) as proxy:
        if mode in ("close", "hang"):
            started = time.monotonic()
            with pytest.raises(http.client.RemoteDisconnected):
                raw_call(proxy.url, "ListTables")
            assert (time.monotonic() - started >= 0.5) == (mode == "hang")
        elif mode == "truncated":
            response = raw_call(proxy.url, "ListTables")
            with pytest.raises(http.client.IncompleteRead):
                response.read()
        else:
            response = raw_call(proxy.url, "ListTables")
            body = response.read()
            if mode == "html":
                assert response.status == 502 and response.getheader("Content-Type") == "text/html"
                assert body.startswith(b"<html>")
            elif mode == "bad-crc":
                assert json.loads(body) == {"TableNames": []}
                assert int(response.getheader("x-amz-crc32") or 0) != zlib.crc32(body)
            else:
                expected = {"not-json": b"<<this is not JSON>>", "empty": b"", "empty-object": b"{}"}[mode]
                assert (response.status, body) == (200, expected)
        # Other operations are not affected.
        assert json.loads(raw_call(proxy.url, "DescribeLimits").read())["TableMaxReadCapacityUnits"] > 0


def test_malformed_answers_through_boto3(clean_moto: str) -> None:
    malformed = {"CreateTable": "close", "ListTables": "hang", "DescribeLimits": "html"}
    with proxy_for(clean_moto, malformed=malformed, hang_for=1.0) as proxy:
        ddb = client(proxy.url, Config(retries={"total_max_attempts": 1}, read_timeout=0.5))
        with pytest.raises(botocore.exceptions.ConnectionClosedError):
            create_table(ddb, "lost")
        # The answer was lost, not the call: the table exists.
        assert client(clean_moto).describe_table(TableName="lost")["Table"]["TableName"] == "lost"
        with pytest.raises(botocore.exceptions.ReadTimeoutError):
            ddb.list_tables()
        assert refused(ddb.describe_limits)[0] == "502"
        wait_for(lambda: len(proxy.events) == 3)  # the hung call ends after hang_for
        assert {e.operation: e.status for e in proxy.events} == {
            "CreateTable": 0,
            "ListTables": 0,
            "DescribeLimits": 502,
        }


def test_answer_forwards_the_call_then_sends_the_given_body_well_framed(clean_moto: str) -> None:
    listed = '{"TableNames": ["not-really", 7]}'
    answer = {"CreateTable": b"{}", "ListTables": listed, "DescribeTable": '{"Table": {"TableName": "nowhere"}}'}
    with proxy_for(clean_moto, answer=answer) as proxy:
        ddb = client(proxy.url)  # no retries: a wrong checksum would fail the call
        with pytest.raises(KeyError, match="TableDescription"):
            create_table(ddb, "given")
        # The answer was replaced, not the call: the table exists.
        assert client(clean_moto).describe_table(TableName="given")["Table"]["TableName"] == "given"
        assert ddb.list_tables()["TableNames"] == ["not-really", 7]  # botocore parses what it is given
        # The engine's error (no such table) is replaced too.
        assert ddb.describe_table(TableName="nowhere")["Table"] == {"TableName": "nowhere"}
        response = raw_call(proxy.url, "ListTables")
        body = response.read()
        assert (response.status, body) == (200, listed.encode())
        assert response.getheader("Content-Type") == "application/x-amz-json-1.0"
        assert response.getheader("x-amz-crc32") == str(zlib.crc32(body))
        proxy.behaviour.update(answer={})
        assert ddb.list_tables()["TableNames"] == ["given"]
        assert proxy.calls == {"CreateTable": 1, "ListTables": 3, "DescribeTable": 1}
    with pytest.raises(ValueError, match="answer"):
        Behaviour(answer={"ListTables": {"TableNames": []}})
    with pytest.raises(ValueError, match="answer"):
        Behaviour(answer={"ListTables": "{}"}, malformed={"ListTables": "empty"})


def test_stop_releases_hanging_calls_and_closes_the_port(clean_moto: str) -> None:
    proxy = BehaviourProxy(clean_moto, Behaviour(malformed={"ListTables": "hang"}, hang_for=60.0)).start()
    failures: list[BaseException] = []

    def call() -> None:
        try:
            raw_call(proxy.url, "ListTables", timeout=30)
        except (OSError, http.client.HTTPException) as exc:
            failures.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    wait_for(lambda: proxy.calls["ListTables"] == 1)
    started = time.monotonic()
    proxy.stop()
    thread.join(timeout=5)
    assert not thread.is_alive() and len(failures) == 1
    assert time.monotonic() - started < 3.0
    with pytest.raises(OSError):
        raw_call(proxy.url, "ListTables", timeout=2)
    proxy.stop()  # idempotent


# --------------------------------------------------------------------------- out of process


def test_a_subprocess_uses_the_proxy(clean_moto: str) -> None:
    script = (
        "import sys, boto3\n"
        "ddb = boto3.client('dynamodb', endpoint_url=sys.argv[1], region_name='us-east-1',"
        " aws_access_key_id='x', aws_secret_access_key='x')\n"
        "ddb.create_table(TableName='sub', AttributeDefinitions=[{'AttributeName': 'id', 'AttributeType': 'S'}],"
        " KeySchema=[{'AttributeName': 'id', 'KeyType': 'HASH'}], BillingMode='PAY_PER_REQUEST')\n"
        "print(ddb.describe_table(TableName='sub')['Table']['TableStatus'])\n"
    )
    with proxy_for(clean_moto, table_creating_for=5.0) as proxy:
        done = subprocess.run(
            [sys.executable, "-c", script, proxy.url], capture_output=True, text=True, timeout=60, check=True
        )
        assert done.stdout.strip() == "CREATING"
        assert proxy.calls == {"CreateTable": 1, "DescribeTable": 1}


@pytest.fixture
def proxy_process(clean_moto: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``python tests/behaviour.py <moto> table_creating_for=5``, stopped afterwards."""
    process = subprocess.Popen(
        [sys.executable, str(HERE / "behaviour.py"), clean_moto, "table_creating_for=5", 'ignore=["Tags"]'],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip(), process
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_module_runs_a_proxy_from_the_command_line(proxy_process: tuple[str, subprocess.Popen[str]]) -> None:
    url, process = proxy_process
    assert url.startswith("http://127.0.0.1:"), (url, process.poll())
    ddb = client(url)
    assert create_table(ddb, "cli", Tags=[{"Key": "a", "Value": "b"}])["TableStatus"] == "CREATING"
