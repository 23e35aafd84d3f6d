"""AWS-only behaviours, met by the real CLI: plan, apply, health and destroy through tests/behaviour.py's proxy.

moto's server and DynamoDB Local are instant and forgiving; real DynamoDB is not. Each test puts a
``BehaviourProxy`` with one behaviour switched on (tables CREATING, an index backfilling, TTL's one
change per hour, the account's limit of table operations, throttling, ...) in front of an engine
and runs the CLI with ``--endpoint-url proxy.url``, then checks that it converges (exit code, a
later ``plan --detailed-exitcode`` answering 0), what it said, and that the behaviour did fire
(counted from ``proxy.events``), so that no test can pass without meeting what it is about.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from behaviour import BehaviourProxy, Event, proxy_for
from snapinfra_db.aws import local_dynamodb_client
from snapinfra_db.catalog import load_catalog
from snapinfra_db.cli.application import app

ROOT = Path(__file__).resolve().parents[1]
FULL_CATALOG = ROOT / "tables.yaml"
ENGINES = ["moto", pytest.param("ddblocal", marks=pytest.mark.ddblocal)]

# A progress line of apply when stdout is not a terminal: "[   1.2s] table: <mark> message".
LINE = r"^\[\s*\d+\.\ds\] {table}: {mark} {message}$"

SMALL = """
prefix: bh-
defaults:
  tags: {Project: snapinfra, ManagedBy: snapinfra-db}
tables:
  projects:
    partition_key: id
    global_indexes:
      UserIdIndex: {partition_key: userId, sort_key: createdAt}
  activity:
    partition_key: id
    ttl: expiresAt
  settings:
    partition_key: id
"""


@pytest.fixture(params=ENGINES)
def upstream(request: pytest.FixtureRequest) -> str:
    """moto's server or DynamoDB Local, emptied: the engine behind the proxy."""
    fixture = "clean_moto" if request.param == "moto" else "clean_ddb_local"
    url: str = request.getfixturevalue(fixture)
    return url


def cli(proxy: BehaviourProxy, *args: str, catalog: Path | None = None) -> Result:
    argv = [*args, "--endpoint-url", proxy.url]
    if catalog is not None:
        argv += ["--catalog", str(catalog)]
    return CliRunner().invoke(app, argv)


def command(proxy: BehaviourProxy, *args: str, catalog: Path) -> list[str]:
    """The CLI as its own process (for runs that must overlap with others, or be bounded in time)."""
    return [sys.executable, "-m", "snapinfra_db", *args, "--endpoint-url", proxy.url, "--catalog", str(catalog)]


def write(tmp_path: Path, text: str, name: str = "tables.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def applied(proxy: BehaviourProxy, catalog: Path | None, *extra: str) -> Result:
    result = cli(proxy, "apply", "--yes", *extra, catalog=catalog)
    assert result.exit_code == 0, result.output
    assert "Apply finished:" in result.stdout and "failed" not in result.stdout.split("Apply finished:")[1]
    return result


def assert_converged(proxy: BehaviourProxy, catalog: Path | None, *extra: str) -> None:
    result = cli(proxy, "plan", "--detailed-exitcode", *extra, catalog=catalog)
    assert result.exit_code == 0, result.output
    assert "No changes." in result.stdout


def has_line(output: str, table: str, mark: str, message: str) -> bool:
    pattern = LINE.format(table=re.escape(table), mark=re.escape(mark), message=re.escape(message))
    return re.search(pattern, output, re.MULTILINE) is not None


def errors(proxy: BehaviourProxy, code: str, operation: str | None = None) -> list[Event]:
    return [e for e in list(proxy.events) if e.error == code and (operation is None or e.operation == operation)]


def table_names(url: str) -> list[str]:
    return local_dynamodb_client(url).list_tables()["TableNames"]


# --------------------------------------------------------------------------- 1. tables CREATING


def test_tables_creating_are_waited_for(clean_moto: str) -> None:
    names = [spec.name for spec in load_catalog(FULL_CATALOG).tables]
    assert len(names) == 12
    prefixed = [n.replace("snapinfra-", "bh-", 1) for n in names]
    with proxy_for(clean_moto, table_creating_for=2.0) as proxy:
        result = applied(proxy, FULL_CATALOG, "--prefix", "bh-")
        assert proxy.calls["CreateTable"] == 12
        for name in prefixed:
            assert has_line(result.stdout, name, "…", "table CREATING"), result.stdout
            assert has_line(result.stdout, name, "…", "ACTIVE"), result.stdout
            assert re.search(LINE.format(table=name, mark="✓✓", message=r"done \(\d call\(s\)\)"), result.stdout, re.M)
        assert "Apply finished: 12 applied." in result.stdout
        # Nothing was attempted on a table that was still CREATING.
        assert not errors(proxy, "ResourceInUseException"), proxy.events
        assert not errors(proxy, "ContinuousBackupsUnavailableException")
        assert_converged(proxy, FULL_CATALOG, "--prefix", "bh-")


# --------------------------------------------------------------------------- 2. index CREATING, then backfilling

TWO_INDEXES = SMALL.replace(
    "      UserIdIndex: {partition_key: userId, sort_key: createdAt}\n",
    "      UserIdIndex: {partition_key: userId, sort_key: createdAt}\n"
    "      StatusIndex: {partition_key: status, sort_key: updatedAt}\n",
)


def health(proxy: BehaviourProxy, catalog: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = cli(proxy, "health", "--json", *extra, catalog=catalog)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def table_of(doc: dict[str, Any], name: str) -> dict[str, Any]:
    (table,) = [t for t in doc["tables"] if t["table"] == name]
    return table


def index_of(table: dict[str, Any], name: str) -> dict[str, Any]:
    (index,) = [i for i in table["indexes"] if i["name"] == name]
    return index


def test_index_backfill_seen_by_health(upstream: str, tmp_path: Path) -> None:
    catalog = write(tmp_path, SMALL)
    # The backfill lasts until the test ends it (forget_tables), so that health meets it however slow the
    # machine is; the CREATING phase before it is a real 1 s.
    with proxy_for(upstream, index_creating_for=1.0, index_backfilling_for=120.0) as proxy:
        applied(proxy, catalog)
        catalog.write_text(textwrap.dedent(TWO_INDEXES))
        # apply runs in its own process; health checks through the same proxy meanwhile.
        apply = subprocess.Popen(
            command(proxy, "apply", "--yes", catalog=catalog),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            seen: list[tuple[bool, int, dict[str, Any]]] = []  # (--allow-transient, exit code, bh-projects)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and apply.poll() is None:
                allow = len(seen) % 2 == 1
                code, doc = health(proxy, catalog, *(["--allow-transient"] if allow else []))
                seen.append((allow, code, table_of(doc, "bh-projects")))
                if sum(index_of(t, "StatusIndex")["backfilling"] for _, _, t in seen[-2:]) == 2:
                    break  # backfilling seen with and without --allow-transient
            assert apply.poll() is None, apply.communicate()[0]  # apply waits for the backfill to end
            proxy.forget_tables()  # the backfill ends
            output, _ = apply.communicate(timeout=30)
        finally:
            if apply.poll() is None:
                apply.kill()
                apply.wait()
        assert apply.returncode == 0, output
        step = "index StatusIndex (status S, updatedAt S; projection ALL)"
        assert has_line(output, "bh-projects", "→", step), output
        assert has_line(output, "bh-projects", "✓", step), output
        # What apply last saw before the backfill was ended depends on its polling: either phase.
        assert has_line(output, "bh-projects", "…", "index StatusIndex CREATING") or has_line(
            output, "bh-projects", "…", "index StatusIndex CREATING (backfilling)"
        ), output
        assert has_line(output, "bh-projects", "…", "ACTIVE"), output

        for allow, code, table in seen:  # the first phase, if health met it: CREATING, not yet backfilling
            index = index_of(table, "StatusIndex")
            if index["status"] == "CREATING" and not index["backfilling"]:
                message = "index StatusIndex is CREATING"
                assert (code, table["problems"], table["notices"]) == (
                    (0, [], [f"{message} (allowed by --allow-transient)"]) if allow else (1, [message], [])
                )
        backfilling = [(allow, code, t) for allow, code, t in seen if index_of(t, "StatusIndex")["backfilling"]]
        strict = [(code, t) for allow, code, t in backfilling if not allow]
        lenient = [(code, t) for allow, code, t in backfilling if allow]
        assert strict and lenient, [(a, c, t["problems"], t["notices"]) for a, c, t in seen]
        for code, table in strict:
            assert code == 1
            assert table["healthy"] is False
            assert index_of(table, "StatusIndex")["status"] == "CREATING"
            assert table["problems"] == ["index StatusIndex is CREATING (backfilling)"]
            assert table["drift"] == []
        for code, table in lenient:
            assert code == 0
            assert table["healthy"] is True
            assert table["problems"] == []
            assert table["notices"] == ["index StatusIndex is CREATING (backfilling) (allowed by --allow-transient)"]

        code, doc = health(proxy, catalog)
        assert code == 0 and doc["healthy"] is True, doc
        index = index_of(table_of(doc, "bh-projects"), "StatusIndex")
        assert index["status"] == "ACTIVE" and index["backfilling"] is False
        assert_converged(proxy, catalog)


# --------------------------------------------------------------------------- 3. ACTIVE while backfilling


def test_backfill_reported_active_is_still_waited_for(clean_moto: str, tmp_path: Path) -> None:
    catalog = write(tmp_path, SMALL)
    creating, backfilling = 0.5, 2.0
    with proxy_for(
        clean_moto, index_creating_for=creating, index_backfilling_for=backfilling, backfill_reports_active=True
    ) as proxy:
        applied(proxy, catalog)
        catalog.write_text(
            textwrap.dedent(
                TWO_INDEXES.replace(
                    "      StatusIndex: {partition_key: status, sort_key: updatedAt}\n",
                    "      StatusIndex: {partition_key: status, sort_key: updatedAt}\n"
                    "      OwnerIndex: {partition_key: owner}\n",
                )
            )
        )
        proxy.reset_counters()
        result = applied(proxy, catalog)
        assert has_line(result.stdout, "bh-projects", "…", "index OwnerIndex backfilling") or has_line(
            result.stdout, "bh-projects", "…", "index StatusIndex backfilling"
        ), result.stdout
        updates = [e for e in proxy.events if e.operation == "UpdateTable" and e.table == "bh-projects"]
        accepted = [e for e in updates if not e.error]
        assert len(accepted) == 2, updates
        first, second = accepted
        # The first index is ACTIVE (with Backfilling true) from first.end + creating, but DynamoDB still
        # refuses another index change until the backfill ends: apply must not even try before then.
        backfill_end = first.end + creating + backfilling
        assert all(e.start >= backfill_end - 0.05 for e in updates if e.start > first.end), (backfill_end, updates)
        assert second.start >= backfill_end - 0.05
        assert not errors(proxy, "LimitExceededException")
        assert_converged(proxy, catalog)


def test_ttl_and_tags_do_not_wait_behind_a_backfill(clean_moto: str, tmp_path: Path) -> None:
    """TTL and tags are not UpdateTable calls: they land while the new index backfills, not after it,
    and apply still ends on a settled table."""
    catalog = write(tmp_path, SMALL)
    creating, backfilling = 0.5, 6.0
    with proxy_for(clean_moto, index_creating_for=creating, index_backfilling_for=backfilling) as proxy:
        applied(proxy, catalog)
        projects = "    global_indexes:\n      UserIdIndex: {partition_key: userId, sort_key: createdAt}\n"
        changed = SMALL.replace(
            projects,
            projects + "      OwnerIndex: {partition_key: owner}\n    ttl: expiresAt\n    tags: {Team: core}\n",
        )
        catalog.write_text(textwrap.dedent(changed))
        proxy.reset_counters()
        started = time.monotonic()
        result = applied(proxy, catalog)
        finished = time.monotonic()
        (create,) = [e for e in proxy.events if e.operation == "UpdateTable" and not e.error]
        backfill_end = create.end + creating + backfilling
        (ttl,) = [e for e in proxy.events if e.operation == "UpdateTimeToLive" and not e.error]
        (tag,) = [e for e in proxy.events if e.operation == "TagResource" and not e.error]
        assert ttl.end < backfill_end - 2 and tag.end < backfill_end - 2, (ttl, tag, backfill_end)
        assert ttl.end - started < 4, ttl.end - started
        assert finished >= backfill_end  # apply itself waits for the index to be ready
        assert has_line(result.stdout, "bh-projects", "✓", "ttl: off → expiresAt"), result.stdout
        assert_converged(proxy, catalog)


# --------------------------------------------------------------------------- 4. SSE UPDATING (moto)

SSE = """
prefix: bh-
tables:
  projects:
    partition_key: id
    encryption: {type: AWS_OWNED}
"""


def test_sse_updating_converges(clean_moto: str, tmp_path: Path) -> None:
    """While SSE is UPDATING to KMS, the change is under way: apply counts it done and does not wait.

    (moto itself ignores SSESpecification on UpdateTable: once the simulated UPDATING is over it
    reports the owned key again. That gap is tested in test_fidelity.py, where apply learns it.)"""
    catalog = write(tmp_path, SSE)
    with proxy_for(clean_moto, sse_updating_for=2.0) as proxy:
        applied(proxy, catalog)
        catalog.write_text(textwrap.dedent(SSE.replace("AWS_OWNED", "AWS_MANAGED")))
        proxy.reset_counters()
        # In its own process, bounded: apply must not wait for SSE to finish updating.
        try:
            run = subprocess.run(
                command(proxy, "apply", "--yes", catalog=catalog), capture_output=True, text=True, timeout=12
            )
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout
            pytest.fail(f"apply did not finish within 12 s:\n{out}")
        assert run.returncode == 0, run.stdout + run.stderr
        assert has_line(run.stdout, "bh-projects", "→", "encryption: AWS_OWNED → AWS_MANAGED"), run.stdout
        assert has_line(run.stdout, "bh-projects", "✓✓", "done (1 call(s))"), run.stdout
        (update,) = [e for e in proxy.events if e.operation == "UpdateTable"]
        assert not update.error
        # The re-read inside the simulated UPDATING window showed the change under way: counted done,
        # never taken for an endpoint that ignores SSE.
        assert "accepted but not applied" not in run.stdout, run.stdout
        reread = [e for e in proxy.events if e.operation == "DescribeTable" and e.start > update.end]
        assert reread and reread[0].start < update.end + 2.0


# --------------------------------------------------------------------------- 5. PITR unavailable after create

PITR = """
prefix: bh-
tables:
  projects:
    partition_key: id
    point_in_time_recovery: {enabled: true, recovery_period_days: 35}
"""


def test_pitr_unavailable_after_create_is_retried(clean_moto: str, tmp_path: Path) -> None:
    catalog = write(tmp_path, PITR)
    with proxy_for(clean_moto, pitr_unavailable_for=3.0) as proxy:
        result = applied(proxy, catalog)
        assert has_line(
            result.stdout, "bh-projects", "↻", "backups are still being enabled for the table; retrying PITR"
        ), result.stdout
        refused = errors(proxy, "ContinuousBackupsUnavailableException", "UpdateContinuousBackups")
        assert refused
        accepted = [e for e in proxy.events if e.operation == "UpdateContinuousBackups" and not e.error]
        assert len(accepted) == 1 and accepted[0].start > refused[-1].end
        pitr = local_dynamodb_client(proxy.url).describe_continuous_backups(TableName="bh-projects")
        status = pitr["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        assert status["PointInTimeRecoveryStatus"] == "ENABLED"
        assert_converged(proxy, catalog)


# --------------------------------------------------------------------------- 6. one TTL change per hour

TTL_MESSAGE = "DynamoDB allows one TTL change per table per hour; run apply again in an hour"


def test_ttl_change_once_per_hour(clean_moto: str, tmp_path: Path) -> None:
    first = write(tmp_path, SMALL, "first.yaml")
    second = write(tmp_path, SMALL.replace("ttl: expiresAt", "ttl: deleteAt"), "second.yaml")
    with proxy_for(clean_moto, ttl_hour=True) as proxy:
        applied(proxy, first)  # creates the tables and enables TTL on bh-activity: one change
        assert [e.error for e in proxy.events if e.operation == "UpdateTimeToLive"] == [""]

        refused = cli(proxy, "apply", "--yes", catalog=second)  # a rename: disable, then enable
        assert refused.exit_code == 1, refused.output
        expected = f"ttl: expiresAt → off: {TTL_MESSAGE}"
        assert has_line(refused.stdout, "bh-activity", "✗", expected), refused.stdout
        assert "Apply finished: 0 applied, 1 failed." in refused.stdout
        assert len(errors(proxy, "ValidationException", "UpdateTimeToLive")) == 1
        ttl = local_dynamodb_client(clean_moto).describe_time_to_live(TableName="bh-activity")["TimeToLiveDescription"]
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}  # nothing changed

        proxy.behaviour.update(ttl_hour=False)  # the hour is up
        proxy.forget_tables()
        applied(proxy, second)
        ttl = local_dynamodb_client(clean_moto).describe_time_to_live(TableName="bh-activity")["TimeToLiveDescription"]
        assert ttl["AttributeName"] == "deleteAt" and ttl["TimeToLiveStatus"] in ("ENABLED", "ENABLING")
        assert_converged(proxy, second)


# --------------------------------------------------------------------------- 7. limit of table operations


def test_limit_of_table_operations_backs_off(clean_moto: str) -> None:
    with proxy_for(clean_moto, max_table_operations=3, table_creating_for=1.0) as proxy:
        result = applied(proxy, FULL_CATALOG, "--prefix", "lim-", "--parallelism", "12")
        assert "Apply finished: 12 applied." in result.stdout
        limited = errors(proxy, "LimitExceededException")
        assert limited, proxy.calls
        assert proxy.calls["CreateTable"] - len(errors(proxy, "LimitExceededException", "CreateTable")) == 12
        assert len(table_names(clean_moto)) == 12
        assert_converged(proxy, FULL_CATALOG, "--prefix", "lim-")


# --------------------------------------------------------------------------- 8. throttling


def test_throttled_apply_and_plan_converge(clean_moto: str, tmp_path: Path) -> None:
    catalog = write(tmp_path, TWO_INDEXES)
    with proxy_for(clean_moto, throttle_rate=0.2, seed=7) as proxy:
        result = applied(proxy, catalog)
        assert "Apply finished: 3 applied." in result.stdout
        throttled_apply = len(errors(proxy, "ThrottlingException"))
        assert throttled_apply > 0
        proxy.behaviour.update(throttle={"DescribeTable": 1, "DescribeTimeToLive": 1})  # plan meets some for sure
        assert_converged(proxy, catalog)
        assert len(errors(proxy, "ThrottlingException")) >= throttled_apply + 2


# --------------------------------------------------------------------------- 9. destroy through latency and throttling


def test_destroy_through_latency_and_throttling(clean_moto: str, tmp_path: Path) -> None:
    catalog = write(tmp_path, TWO_INDEXES.replace("defaults:\n", "defaults:\n  deletion_protection: true\n"))
    with proxy_for(clean_moto) as proxy:
        applied(proxy, catalog)
        assert len(table_names(clean_moto)) == 3
        proxy.behaviour.update(latency=0.05, throttle_rate=0.1, throttle={"DeleteTable": 1, "UpdateTable": 1})
        proxy.reset_counters()
        result = cli(proxy, "destroy", "--yes", "--disable-deletion-protection", "--no-backup", catalog=catalog)
        assert result.exit_code == 0, result.output
        assert table_names(clean_moto) == []
        assert proxy.calls["DeleteTable"] - len(errors(proxy, "ThrottlingException", "DeleteTable")) == 3
        throttled = errors(proxy, "ThrottlingException")
        assert {"DeleteTable", "UpdateTable"} <= {e.operation for e in throttled}, throttled
        assert all(e.end - e.start >= 0.05 for e in proxy.events)  # every call met the latency
