"""`snapinfra-db migrate`: copy through a mapping, rejects, resume after SIGKILL, idempotent re-runs,
stream catch-up while a writer keeps writing, --verify; through the real CLI on moto and DynamoDB Local.

Item counts: SNAPINFRA_DB_MIGRATE_ITEMS per table (default 500; the issue's 10,000 with
SNAPINFRA_DB_MIGRATE_ITEMS=10000).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from behaviour import proxy_for
from conftest import Engine
from snapinfra_db.aws import local_dynamodb_client
from snapinfra_db.cli.application import app
from snapinfra_db.ops.mapping import ItemMapping, MappingError, Rejected, item_digest, load_mapping
from snapinfra_db.ops.migrate import Clock, Pace, write_items

ITEMS = int(os.environ.get("SNAPINFRA_DB_MIGRATE_ITEMS", "500"))
LEGACY = ["rhinoback-deployments", "rhinoback-projects", "rhinoback-schemas", "rhinoback-users"]

CATALOG = """\
prefix: mig-
defaults:
  billing: {mode: PAY_PER_REQUEST}
  point_in_time_recovery: {enabled: false}
  stream: {enabled: true, view_type: NEW_AND_OLD_IMAGES}
  deletion_protection: false
tables:
  deployments: {partition_key: id}
  projects:
    partition_key: id
    global_indexes:
      UserIdIndex: {partition_key: ownerId}
  projects-v2: {partition_key: pk, sort_key: id}
  schemas: {partition_key: id}
  users: {partition_key: id}
"""

# Every legacy item has `uid`; every 7th lacks `kind`, so its new key `id` cannot be derived.
MAPPING = """\
rename: {name: title, userId: ownerId}
defaults: {status: active, tags: [a, b]}
derive:
  id: "{kind}#{uid}"
drop: [legacy]
"""


def mapped(item: dict[str, Any]) -> dict[str, Any] | None:
    """The test's own reading of MAPPING (independent of ops.mapping): None for a reject."""
    if "kind" not in item:
        return None
    out = {k: v for k, v in item.items() if k != "legacy"}
    for old, new in (("name", "title"), ("userId", "ownerId")):
        if old in out:
            out[new] = out.pop(old)
    out.setdefault("status", {"S": "active"})
    out.setdefault("tags", {"L": [{"S": "a"}, {"S": "b"}]})
    out["id"] = {"S": f"{item['kind']['S']}#{item['uid']['S']}"}
    return out


def legacy_item(i: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "uid": {"S": f"u{i:06d}"},
        "name": {"S": f"item {i}"},
        "userId": {"S": f"user{i % 13}"},
        "n": {"N": str(i)},
        "legacy": {"BOOL": True},
        "blob": {"B": bytes([i % 256]) * 8},
    }
    if i % 7:
        item["kind"] = {"S": "p" if i % 2 else "q"}
    return item


def make_table(client: Any, name: str, key: str = "uid", stream: bool = True) -> None:
    extra: dict[str, Any] = {}
    if stream:
        extra["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )


def fill(client: Any, name: str, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": it}} for it in items[start : start + 25]]
        pending: dict[str, Any] = {name: batch}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def scan(client: Any, name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
        items.extend(page.get("Items", []))
    return items


def by_key(items: list[dict[str, Any]], *names: str) -> dict[tuple[str, ...], str]:
    return {tuple(str(i[n]) for n in names): item_digest(i) for i in items}


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    catalog = tmp_path / "tables.yaml"
    catalog.write_text(CATALOG)
    mapping = tmp_path / "map.yaml"
    mapping.write_text(MAPPING)
    return catalog, mapping


def cli(endpoint: str, catalog: Path, *words: str) -> Any:
    result = CliRunner().invoke(
        app, ["migrate", *words, "--catalog", str(catalog), "--endpoint-url", endpoint], catch_exceptions=False
    )
    return result


def summary_counts(output: str, source: str) -> tuple[int, int, int]:
    line = next(x for x in output.splitlines() if x.startswith(f"{source} → "))
    found = dict((what, int(n.replace(",", ""))) for n, what in re.findall(r"([\d,]+) (read|written|rejected)", line))
    return found["read"], found["written"], found["rejected"]


# --------------------------------------------------------------------------- the mapping (pure)


def test_mapping_renames_sets_derives_drops_and_rejects_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text(MAPPING.replace("drop:", "  rank: {format: '{n}', type: N}\ndrop:"))
    mapping = load_mapping(path)
    keys = {"id": "S"}
    item = legacy_item(1)
    out = mapping.apply(item, keys)
    assert out["id"] == {"S": "p#u000001"} and out["title"] == {"S": "item 1"} and "name" not in out
    assert out["ownerId"] == {"S": "user1"} and "legacy" not in out and out["rank"] == {"N": "1"}
    assert out["status"] == {"S": "active"} and out["tags"] == {"L": [{"S": "a"}, {"S": "b"}]}
    assert mapping.apply({**item, "status": {"S": "gone"}}, keys)["status"] == {"S": "gone"}  # defaults never replace
    with pytest.raises(Rejected, match="derive id: attribute kind is missing"):
        mapping.apply(legacy_item(7), keys)
    with pytest.raises(Rejected, match="missing key attribute uid"):
        ItemMapping().apply({"x": {"S": "1"}}, {"uid": "S"})
    with pytest.raises(Rejected, match="key attribute n is N, TARGET's key is S"):
        ItemMapping().apply({"n": {"N": "1"}}, {"n": "S"})
    with pytest.raises(Rejected, match="attribute blob is B"):
        ItemMapping.model_validate({"derive": {"k": "{blob}"}}).apply(legacy_item(1), {"k": "S"})


def test_a_bad_mapping_file_is_located_lines(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text("rename: {a: b}\nderive:\n  pk: 'no fields'\n  sk: '{a!r}'\nrenam: {}\n")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    lines = str(caught.value).splitlines()
    assert f"{path}:3:7: derive.pk.format: a format string names at least one attribute" in lines[0]
    assert lines[1].startswith(f"{path}:4:7: derive.sk.format: '{{a}}': write attribute names only")
    assert lines[2] == f"{path}:5:1: renam: unknown key (known: rename, defaults, derive, drop, overwrite_derived)"


def test_unprocessed_items_are_sent_again_and_slow_the_pace() -> None:
    class Client:
        def __init__(self) -> None:
            self.calls: list[int] = []

        def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            requests = RequestItems["t"]
            self.calls.append(len(requests))
            keys = {r["PutRequest"]["Item"]["id"]["S"] for r in requests}
            assert len(keys) == len(requests)  # never a key twice in one batch
            left = requests[1:] if len(self.calls) < 4 else []  # one item at a time, then all
            return {"UnprocessedItems": {"t": left} if left else {}, "ResponseMetadata": {"RetryAttempts": 0}}

    client = Client()
    pace = Pace(Clock())
    items = [{"id": {"S": str(i % 20)}} for i in range(30)]  # 20 keys, 10 of them twice
    write_items(client, "t", items, pace, Clock(), {"id": "S"})  # type: ignore[arg-type]
    assert client.calls[:4] == [20, 19, 18, 17]  # the first batch ends at the first repeated key
    assert sum(1 for c in client.calls if c) >= 5 and pace.throttled == 3


# --------------------------------------------------------------------------- the copy


def test_four_legacy_tables_through_throttling_lose_nothing(engine: Engine, files: tuple[Path, Path]) -> None:
    catalog, mapping = files
    client = engine.client()
    items = [legacy_item(i) for i in range(ITEMS)]
    unmappable = sum(1 for i in items if mapped(i) is None)
    for name in LEGACY:
        make_table(client, name)
        fill(client, name, items)
    started = time.monotonic()
    with proxy_for(engine.endpoint_url, throttle_rate=0.1, seed=7) as proxy:
        for name in LEGACY:
            target = name.replace("rhinoback-", "")
            result = cli(proxy.url, catalog, name, target, "--map", str(mapping), "--yes", "--page-size", "100")
            assert result.exit_code == 0, result.output
            assert summary_counts(result.stdout, name) == (ITEMS, ITEMS - unmappable, unmappable)
            assert f"DYNAMODB_{target.upper()}_TABLE=mig-{target}" in result.stdout
        assert proxy.calls["BatchWriteItem"] > 0
        throttled = sum(1 for e in proxy.events if e.error == "ThrottlingException")
        assert throttled > 0
        want = by_key([m for m in map(mapped, items) if m], "id")
        # Idempotent: a second run (same endpoint: a checkpoint is per endpoint) writes the same items.
        again = cli(proxy.url, catalog, "rhinoback-users", "users", "--map", str(mapping), "--yes")
        assert again.exit_code == 0 and "copied" in again.stdout, again.output
        assert summary_counts(again.stdout, "rhinoback-users") == (ITEMS, ITEMS - unmappable, unmappable)
        assert by_key(scan(client, "mig-users"), "id") == want
        verified = cli(proxy.url, catalog, "--verify", "rhinoback-users", "users", "--map", str(mapping))
        assert verified.exit_code == 0 and "TARGET equals SOURCE through the mapping" in verified.stdout, (
            verified.output
        )
    elapsed = time.monotonic() - started
    for name in LEGACY:
        target = "mig-" + name.replace("rhinoback-", "")
        assert by_key(scan(client, target), "id") == want  # every mappable item, exactly as mapped
        rejects = [
            json.loads(line)
            for path in sorted(
                (Path(os.environ["SNAPINFRA_DB_STATE"]) / "migrations").glob(f"{name}--*/rejects-*.jsonl")
            )
            for line in path.read_text().splitlines()
        ]
        assert sorted(r["item"]["uid"]["S"] for r in rejects) == sorted(i["uid"]["S"] for i in items if "kind" not in i)
        assert {r["reason"] for r in rejects} == {"derive id: attribute kind is missing"}
        assert len(scan(client, name)) == ITEMS  # SOURCE untouched
    print(f"{engine.name}: 4 × {ITEMS} items through 10 % throttling in {elapsed:.1f}s")


def test_refusals_before_any_write(moto_engine: Engine, files: tuple[Path, Path]) -> None:
    catalog, mapping = files
    client = moto_engine.client()
    make_table(client, "plain", stream=False)
    fill(client, "plain", [legacy_item(i) for i in range(1, 6)])
    asked = cli(moto_engine.endpoint_url, catalog, "plain", "users", "--map", str(mapping))
    assert asked.exit_code == 1
    assert "error: refusing to migrate without confirmation: stdin is not a terminal" in asked.stderr
    assert "mig-users" not in client.list_tables()["TableNames"]  # not even created
    no_stream = cli(moto_engine.endpoint_url, catalog, "plain", "users", "--map", str(mapping), "--follow", "--yes")
    assert no_stream.exit_code == 1 and "plain has no stream" in no_stream.stderr
    assert "mig-users" not in client.list_tables()["TableNames"]
    make_table(client, "mig-schemas", key="id")
    fill(client, "mig-schemas", [{"id": {"S": "there"}}])
    full = cli(moto_engine.endpoint_url, catalog, "plain", "schemas", "--map", str(mapping), "--yes")
    assert full.exit_code == 1 and "mig-schemas already holds items" in full.stderr
    forced = cli(
        moto_engine.endpoint_url, catalog, "plain", "schemas", "--map", str(mapping), "--yes", "--into-existing"
    )
    assert forced.exit_code == 0, forced.output
    assert len(scan(client, "mig-schemas")) == 1 + 5  # the item that was there, and the 5 mapped
    other = load_mapping(mapping).model_copy(update={"drop": []})
    (catalog.parent / "other.yaml").write_text(json.dumps(other.model_dump(mode="json")))
    changed = cli(
        moto_engine.endpoint_url, catalog, "plain", "schemas", "--map", str(catalog.parent / "other.yaml"), "--yes"
    )
    assert changed.exit_code == 1 and "used another mapping" in changed.stderr
    bad = cli(moto_engine.endpoint_url, catalog, "plain", "nope", "--yes")
    assert bad.exit_code == 1 and "no table 'nope'" in bad.stderr


def _checkpoints(name: str) -> list[dict[str, Any]]:
    folder = Path(os.environ["SNAPINFRA_DB_STATE"]) / "migrations"
    found = []
    for path in folder.glob(f"{name}--*/segment-*.json"):
        with contextlib.suppress(ValueError):
            found.append(json.loads(path.read_text()))
    return found


def test_a_copy_killed_with_sigkill_resumes_where_it_stopped(engine: Engine, files: tuple[Path, Path]) -> None:
    catalog, mapping = files
    client = engine.client()
    items = [legacy_item(i) for i in range(ITEMS)]
    make_table(client, "rhinoback-projects")
    fill(client, "rhinoback-projects", items)
    words = [
        "rhinoback-projects",
        "projects",
        "--map",
        str(mapping),
        "--yes",
        "--page-size",
        "25",
        "--parallelism",
        "2",
    ]
    with proxy_for(engine.endpoint_url, latency=0.02) as proxy:
        argv = [
            sys.executable,
            "-m",
            "snapinfra_db",
            "migrate",
            *words,
            "--catalog",
            str(catalog),
            "--endpoint-url",
            proxy.url,
        ]
        env = {**os.environ, "NO_COLOR": "1"}
        child = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                done = sum(c["read"] for c in _checkpoints("rhinoback-projects"))
                if done >= ITEMS // 4:
                    break
                assert child.poll() is None, child.communicate()
                time.sleep(0.02)
            child.send_signal(signal.SIGKILL)
            child.communicate(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
    assert child.returncode == -signal.SIGKILL
    before = _checkpoints("rhinoback-projects")
    copied_before = sum(c["read"] for c in before)
    assert 0 < copied_before < ITEMS and not all(c["done"] for c in before)
    resumed = cli(engine.endpoint_url, catalog, *words)
    assert resumed.exit_code == 0, resumed.output
    assert "resuming from" in resumed.stderr and "(resumed," in resumed.stdout
    unmappable = sum(1 for i in items if mapped(i) is None)
    assert summary_counts(resumed.stdout, "rhinoback-projects") == (ITEMS, ITEMS - unmappable, unmappable)
    want = by_key([m for m in map(mapped, items) if m], "id")
    assert by_key(scan(client, "mig-projects"), "id") == want
    folder = next((Path(os.environ["SNAPINFRA_DB_STATE"]) / "migrations").glob("rhinoback-projects--*"))
    reject_lines = [line for p in folder.glob("rejects-*.jsonl") for line in p.read_text().splitlines()]
    assert len(reject_lines) == unmappable  # none twice, though a page was read again
    print(f"{engine.name}: killed after {copied_before} of {ITEMS}, resumed")


# --------------------------------------------------------------------------- key change with --follow

KEY_CHANGE_MAP = """\
derive:
  pk: "{ownerId}"
"""


def test_key_change_with_follow_while_a_writer_writes(engine: Engine, files: tuple[Path, Path]) -> None:
    catalog, _ = files
    mapping = catalog.parent / "v2.yaml"
    mapping.write_text(KEY_CHANGE_MAP)
    client = engine.client()
    applied = CliRunner().invoke(
        app, ["apply", "--yes", "-t", "projects", "--catalog", str(catalog), "--endpoint-url", engine.endpoint_url]
    )
    assert applied.exit_code == 0, applied.output
    seed = [{"id": {"S": f"p{i}"}, "ownerId": {"S": f"o{i % 5}"}, "v": {"N": "0"}} for i in range(ITEMS)]
    seed += [{"id": {"S": "orphan"}, "v": {"N": "0"}}]  # no ownerId: cannot be mapped
    fill(client, "mig-projects", seed)

    stop = threading.Event()
    writes = {"put": 0, "update": 0, "delete": 0, "unmappable": 0}
    writer_client = local_dynamodb_client(engine.endpoint_url)

    def writer() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            if n % 3 == 0:
                writer_client.update_item(
                    TableName="mig-projects",
                    Key={"id": {"S": f"p{n % ITEMS}"}},
                    UpdateExpression="SET v = :v, ownerId = :o",
                    ExpressionAttributeValues={":v": {"N": str(n)}, ":o": {"S": f"o{n % 7}"}},
                )
                writes["update"] += 1
            elif n % 11 == 0:  # no ownerId any more: cannot be mapped, its old copy must leave TARGET
                writer_client.update_item(
                    TableName="mig-projects", Key={"id": {"S": f"p{n % ITEMS}"}}, UpdateExpression="REMOVE ownerId"
                )
                writes["unmappable"] += 1
            elif n % 5 == 0:
                writer_client.delete_item(TableName="mig-projects", Key={"id": {"S": f"w{n - 5}"}})
                writes["delete"] += 1
            else:
                writer_client.put_item(
                    TableName="mig-projects", Item={"id": {"S": f"w{n}"}, "ownerId": {"S": "w"}, "v": {"N": str(n)}}
                )
                writes["put"] += 1
            time.sleep(0.01)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        words = ["mig-projects", "projects-v2", "--map", str(mapping), "--yes", "--follow", "--until-caught-up"]
        first = cli(engine.endpoint_url, catalog, *words, "--page-size", "50")
        assert first.exit_code == 0, first.output
        time.sleep(0.3)  # the writer goes on after the first catch-up
    finally:
        stop.set()
        thread.join()
    during = dict(writes)
    assert sum(during.values()) > 20
    second = cli(engine.endpoint_url, catalog, *words)  # goes on from the stream position it saved
    assert second.exit_code == 0, second.output
    assert "→ mig-projects-v2" not in second.stdout  # no copy again: it went on from the saved stream position
    assert "stream:" in second.stdout and "caught up" in second.stdout
    assert "DYNAMODB_PROJECTS_TABLE=mig-projects-v2" in second.stdout
    assert "snapinfra-db migrate --verify mig-projects projects-v2" in second.stdout

    source = scan(client, "mig-projects")
    want = {
        (str({"S": i["ownerId"]["S"]}), str(i["id"])): item_digest({**i, "pk": {"S": i["ownerId"]["S"]}})
        for i in source
        if "ownerId" in i
    }
    have = by_key(scan(client, "mig-projects-v2"), "pk", "id")
    assert have == want  # TARGET equals SOURCE through the mapping: no write lost, no stale item left
    verified = cli(engine.endpoint_url, catalog, "--verify", "mig-projects", "projects-v2", "--map", str(mapping))
    assert verified.exit_code == 0, verified.output
    unmappable = sum(1 for i in source if "ownerId" not in i)
    assert unmappable > 1 and f"{unmappable} not mappable" in verified.stdout
    sampled = cli(
        engine.endpoint_url, catalog, "--verify", "mig-projects", "projects-v2", "--map", str(mapping), "--sample", "50"
    )
    assert sampled.exit_code == 0 and "a sample of 50" in sampled.stdout, sampled.output

    # --verify fails when TARGET differs
    client.delete_item(TableName="mig-projects-v2", Key={"pk": {"S": "o1"}, "id": {"S": "p1"}})
    client.put_item(TableName="mig-projects-v2", Item={"pk": {"S": "x"}, "id": {"S": "stray"}})
    broken = cli(engine.endpoint_url, catalog, "--verify", "mig-projects", "projects-v2", "--map", str(mapping))
    assert broken.exit_code == 1
    assert "1 missing in TARGET: id=p1, pk=o1" in broken.stdout or "missing in TARGET" in broken.stdout
    assert "1 extra in TARGET: id=stray, pk=x" in broken.stdout
    print(f"{engine.name}: writer {during} during the copy")


def test_plan_names_the_way_through_for_a_key_change(moto_engine: Engine, files: tuple[Path, Path]) -> None:
    catalog, _ = files
    make_table(moto_engine.client(), "mig-users", key="email")
    result = CliRunner().invoke(
        app, ["plan", "-t", "users", "--catalog", str(catalog), "--endpoint-url", moto_engine.endpoint_url]
    )
    assert result.exit_code == 1
    assert "snapinfra-db migrate mig-users mig-users-v2 --follow" in result.stdout
    assert "add a catalog entry users-v2" in result.stdout
