"""--table/-t on plan, apply, health and destroy: only the named tables are read or changed.

Through the real CLI, behind the behaviour proxy (tests/behaviour.py), whose `events` record every
DynamoDB call with its table: the calls are counted per table. Pure tests cover the selection itself
(short and full names, globs, order, unknown names).
"""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from behaviour import BehaviourProxy, proxy_for
from snapinfra_db.catalog import load_catalog
from snapinfra_db.cli.application import app
from snapinfra_db.cli.inputs import select_tables
from snapinfra_db.errors import CatalogError

CATALOG = """
prefix: tg-
defaults:
  deletion_protection: false
  tags: {ManagedBy: snapinfra-db}
tables:
  alpha:
    partition_key: id
  beta:
    partition_key: id
  gamma:
    partition_key: id
"""
# Every table drifts the same way: a TTL, deletion protection on, a new tag (where the endpoint keeps tags).
CHANGED = (
    CATALOG.replace("  tags: {ManagedBy: snapinfra-db}", "  tags: {ManagedBy: snapinfra-db, Team: data}")
    .replace("deletion_protection: false", "deletion_protection: true")
    .replace("    partition_key: id\n", "    partition_key: id\n    ttl: expiresAt\n")
)
TABLES = ["tg-alpha", "tg-beta", "tg-gamma"]
WRITES = {"CreateTable", "UpdateTable", "UpdateTimeToLive", "TagResource", "UntagResource", "DeleteTable"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tables.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def cli(url: str, *argv: str, catalog: Path) -> Result:
    return CliRunner().invoke(app, [*argv, "--catalog", str(catalog), "--endpoint-url", url])


def calls_per_table(proxy: BehaviourProxy, operations: set[str] | None = None) -> Counter[str | None]:
    return Counter(e.table for e in list(proxy.events) if operations is None or e.operation in operations)


@pytest.fixture(autouse=True)
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("snapinfra_db.cli.application.stdin_is_terminal", lambda: False)


# ---------------------------------------------------------------------------------------------
# through the CLI, calls counted per table


def test_apply_t_changes_only_the_named_tables(engine: Any, tmp_path: Path) -> None:
    catalog = write(tmp_path, CATALOG)
    with proxy_for(engine.endpoint_url) as proxy:
        # From nothing: -t with a short name creates that table only.
        result = cli(proxy.url, "apply", "--yes", "-t", "beta", catalog=catalog)
        assert result.exit_code == 0, result.output
        assert set(calls_per_table(proxy, {"CreateTable"})) == {"tg-beta"}
        assert set(engine.client().list_tables()["TableNames"]) == {"tg-beta"}
        assert cli(proxy.url, "apply", "--yes", catalog=catalog).exit_code == 0

        # Every table drifts; -t with a full name and a glob converges those two, not the third.
        catalog.write_text(textwrap.dedent(CHANGED))
        proxy.reset_counters()
        result = cli(proxy.url, "apply", "--yes", "-t", "tg-alpha", "--table", "g*", catalog=catalog)
        assert result.exit_code == 0, result.output
        writes = calls_per_table(proxy, WRITES)
        assert set(writes) == {"tg-alpha", "tg-gamma"}, proxy.events
        assert writes["tg-alpha"] == writes["tg-gamma"] >= 2  # TTL and protection (and tags), on each
        # tg-beta was not even read, and no orphan search was made (--table narrows the scope): fewer
        # ListTables than an apply of every table makes (the endpoint's reachability probe is one too).
        assert calls_per_table(proxy)["tg-beta"] == 0
        assert "tg-beta" not in result.stdout
        targeted_list_tables = proxy.calls["ListTables"]
        proxy.reset_counters()
        assert cli(proxy.url, "plan", catalog=catalog).exit_code == 0
        assert targeted_list_tables < proxy.calls["ListTables"]

        # The untouched table still has its drift; the targeted ones have none.
        targeted = cli(proxy.url, "plan", "--detailed-exitcode", "-t", "alpha", "-t", "gamma", catalog=catalog)
        assert targeted.exit_code == 0, targeted.output
        everything = cli(proxy.url, "plan", "--json", "--detailed-exitcode", catalog=catalog)
        assert everything.exit_code == 2, everything.output
        assert [c["table"] for c in json.loads(everything.stdout)["changes"]] == ["tg-beta"]


def test_plan_and_health_read_only_the_named_tables(moto_engine: Any, tmp_path: Path) -> None:
    catalog = write(tmp_path, CATALOG)
    with proxy_for(moto_engine.endpoint_url) as proxy:
        assert cli(proxy.url, "apply", "--yes", catalog=catalog).exit_code == 0
        catalog.write_text(textwrap.dedent(CHANGED))

        proxy.reset_counters()
        plan = cli(proxy.url, "plan", "--json", "-t", "alpha", catalog=catalog)
        assert plan.exit_code == 0, plan.output
        document = json.loads(plan.stdout)
        assert [c["table"] for c in document["changes"]] == ["tg-alpha"]
        assert document["orphans"] is None  # not looked for under --table
        assert set(calls_per_table(proxy)) - {None} == {"tg-alpha"}  # None: the reachability probe

        proxy.reset_counters()
        health = cli(proxy.url, "health", "--json", "-t", "tg-b*", "-t", "gamma", catalog=catalog)
        assert health.exit_code == 1, health.output  # both drift
        document = json.loads(health.stdout)
        assert [t["table"] for t in document["tables"]] == ["tg-beta", "tg-gamma"]
        assert document["orphans"] is None
        assert set(calls_per_table(proxy)) - {None} == {"tg-beta", "tg-gamma"}


def test_destroy_t_deletes_only_the_named_table(moto_engine: Any, tmp_path: Path) -> None:
    catalog = write(tmp_path, CATALOG)
    with proxy_for(moto_engine.endpoint_url) as proxy:
        assert cli(proxy.url, "apply", "--yes", catalog=catalog).exit_code == 0
        proxy.reset_counters()
        result = cli(proxy.url, "destroy", "--yes", "--no-backup", "-t", "gamma", catalog=catalog)
        assert result.exit_code == 0, result.output
        assert set(calls_per_table(proxy, WRITES)) == {"tg-gamma"}
        assert calls_per_table(proxy)["tg-alpha"] == calls_per_table(proxy)["tg-beta"] == 0
    assert sorted(moto_engine.client().list_tables()["TableNames"]) == ["tg-alpha", "tg-beta"]


def test_an_unknown_name_is_one_located_error_per_name(tmp_path: Path) -> None:
    catalog = write(tmp_path, CATALOG)
    # No endpoint answers there: the catalog is checked before any call.
    for command in ("plan", "apply", "health", "destroy"):
        result = cli(
            "http://127.0.0.1:9",
            command,
            "--yes" if command in ("apply", "destroy") else "--json",
            "-t",
            "alpha",
            "-t",
            "nope",
            "-t",
            "zz*",
            catalog=catalog,
        )
        assert result.exit_code == 1, (command, result.output)
        lines = result.stderr.splitlines()
        assert lines == [
            f"error: {catalog}: no table 'nope' (tables: alpha, beta, gamma)",
            f"error: {catalog}: no table 'zz*' (tables: alpha, beta, gamma)",
        ], (command, result.stderr)
        assert "Traceback" not in result.output


def test_prune_does_not_go_with_t(tmp_path: Path) -> None:
    catalog = write(tmp_path, CATALOG)
    result = cli("http://127.0.0.1:9", "apply", "--yes", "--prune", "-t", "alpha", catalog=catalog)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --prune and --table do not go together")


def test_help_names_the_option() -> None:
    for command in ("plan", "apply", "health", "destroy"):
        result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0
        assert "--table" in result.stdout and "-t" in result.stdout and "glob" in result.stdout, command


# ---------------------------------------------------------------------------------------------
# the selection itself


def names(patterns: list[str], tmp_path: Path) -> list[str]:
    return [t.name for t in select_tables(load_catalog(write(tmp_path, CATALOG)), patterns).tables]


def test_short_names_full_names_and_globs(tmp_path: Path) -> None:
    assert names(["beta"], tmp_path) == ["tg-beta"]
    assert names(["tg-beta"], tmp_path) == ["tg-beta"]
    assert names(["*a"], tmp_path) == TABLES  # alpha, beta, gamma all end in a
    assert names(["tg-[ag]*"], tmp_path) == ["tg-alpha", "tg-gamma"]
    # The catalog's order, each table once, whatever order and repeats were asked.
    assert names(["gamma", "alpha", "alpha", "tg-gamma"], tmp_path) == ["tg-alpha", "tg-gamma"]


def test_names_are_case_sensitive_as_dynamodbs_are(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as error:
        names(["Alpha"], tmp_path)
    assert error.value.problems == [f"{tmp_path / 'tables.yaml'}: no table 'Alpha' (tables: alpha, beta, gamma)"]


def test_the_prefix_override_is_what_full_names_match(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, CATALOG), "other-")
    assert [t.name for t in select_tables(catalog, ["other-beta"]).tables] == ["other-beta"]
    with pytest.raises(CatalogError):
        select_tables(catalog, ["tg-beta"])
