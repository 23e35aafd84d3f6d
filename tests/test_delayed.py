"""Waiting for real: DynamoDB Local with -delayTransientStatuses makes tables and indexes pass
through CREATING (and backfilling) like DynamoDB does, and refuses a second index change while one
is in progress. Slow (~30 s per index built), so only what needs real waiting lives here."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from snapinfra_db.catalog import load_catalog
from snapinfra_db.reconcile.diff import diff_catalog
from snapinfra_db.reconcile.events import ApplyEvent as Event
from snapinfra_db.reconcile.executor import Executor
from snapinfra_db.reconcile.live import read_tables

BASE = """
prefix: slow-
tables:
  projects:
    partition_key: id
    global_indexes:
      UserIdIndex: {partition_key: userId, sort_key: createdAt}
  teams:
    partition_key: id
"""

MORE = """
prefix: slow-
tables:
  projects:
    partition_key: id
    global_indexes:
      UserIdIndex: {partition_key: userId, sort_key: createdAt}
      StatusIndex: {partition_key: status, sort_key: updatedAt}
      OwnerIndex: {partition_key: owner}
      TeamIndex: {partition_key: team, sort_key: {name: rank, type: N}}
  teams:
    partition_key: id
    global_indexes:
      UserIdIndex: {partition_key: userId, sort_key: createdAt}
"""


def converge(client: Any, path: Path) -> tuple[list[Event], float, Any]:
    catalog = load_catalog(path)
    plan = diff_catalog(catalog, read_tables(client, [t.name for t in catalog.tables]))
    events: list[Event] = []
    started = time.monotonic()
    results = Executor(client, {t.name: t for t in catalog.tables}, on_event=events.append).run(plan)
    assert all(r.status == "applied" for r in results), [(r.table, r.error) for r in results]
    return events, time.monotonic() - started, catalog


@pytest.mark.slow
def test_several_indexes_on_one_table_are_built_one_at_a_time(clean_ddb_local_delayed: str, tmp_path: Path) -> None:
    client = boto3.client("dynamodb", endpoint_url=clean_ddb_local_delayed)
    path = tmp_path / "tables.yaml"
    path.write_text(textwrap.dedent(BASE))
    converge(client, path)  # (DynamoDB Local 1.25 reports new tables ACTIVE at once, even when delayed)

    path.write_text(textwrap.dedent(MORE))
    events, elapsed, catalog = converge(client, path)
    created = [e.step.index for e in events if e.kind == "done" and e.step is not None and e.step.op == "create_gsi"]  # type: ignore[union-attr]
    assert sorted(created) == ["OwnerIndex", "StatusIndex", "TeamIndex", "UserIdIndex"]
    # Each index was waited for (CREATING/backfilling seen) and DynamoDB Local never had to refuse
    # a second concurrent index change (no LimitExceededException retries).
    assert sum(1 for e in events if e.kind == "wait" and "index" in e.message and e.table == "slow-projects") >= 3
    assert not [e for e in events if e.kind == "retry"], [e.message for e in events if e.kind == "retry"]
    # Different tables proceed concurrently: the one index on `teams` is built while `projects`
    # builds its three, so the whole run takes about three index builds, not four.
    teams_done = max(i for i, e in enumerate(events) if e.table == "slow-teams")
    projects_done = max(i for i, e in enumerate(events) if e.table == "slow-projects")
    assert teams_done < projects_done
    print(f"three indexes on one table + one on another: {elapsed:.1f}s")

    live = read_tables(client, [t.name for t in catalog.tables])
    assert not diff_catalog(catalog, live).has_changes
    for table in live.values():
        assert table is not None and table.accepts_updates
