"""Data at rest on the operator's disk is the operator's alone: exports (the tables' items), the local
engine's state, records and logs, and DynamoDB Local's data are 0600 files in 0700 folders, whatever
the umask; an existing export folder that other users can write to is refused before anything is
deleted."""

from __future__ import annotations

import os
import stat
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from conftest import Engine
from snapinfra_db.catalog import Setting
from snapinfra_db.cli.application import app
from snapinfra_db.dirs import private_file
from snapinfra_db.local import engine as local_engine
from snapinfra_db.local import state as local_state
from snapinfra_db.local.process import free_port
from snapinfra_db.ops.export_files import ExportError, check_writable_dir
from snapinfra_db.reconcile.capabilities import record_path, remember_not_applied

CATALOG = """
prefix: p-
legacy: [rhinoback-users]
tables:
  projects:
    partition_key: id
"""
TABLE = "rhinoback-users"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture(autouse=True)
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("snapinfra_db.cli.application.stdin_is_terminal", lambda: False)


def legacy_table(engine: Engine) -> None:
    client = engine.client()
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(5):
        client.put_item(TableName=TABLE, Item={"id": {"S": f"u{i}"}, "email": {"S": f"u{i}@example.com"}})


def purge(engine: Engine, tmp_path: Path, export_dir: Path) -> Result:
    catalog = tmp_path / "tables.yaml"
    catalog.write_text(textwrap.dedent(CATALOG))
    argv = ["purge-legacy", "--catalog", str(catalog), "--endpoint-url", engine.endpoint_url]
    return CliRunner().invoke(app, [*argv, "--export-dir", str(export_dir), "--yes"])


def tables(engine: Engine) -> list[str]:
    return engine.client().list_tables()["TableNames"]


def test_export_files_are_private_whatever_the_umask(moto_engine: Engine, tmp_path: Path) -> None:
    legacy_table(moto_engine)
    exports = tmp_path / "exports" / "legacy"  # its parent is created too
    with umask(0o022):
        result = purge(moto_engine, tmp_path, exports)
    assert result.exit_code == 0, result.output
    assert TABLE not in tables(moto_engine)
    assert mode(exports) == 0o700 and mode(exports.parent) == 0o700
    files = sorted(exports.iterdir())
    assert [f.name for f in files] == [f"{TABLE}.jsonl", f"{TABLE}.schema.json"]
    assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}


def test_an_existing_folder_is_used_as_it_is(moto_engine: Engine, tmp_path: Path) -> None:
    legacy_table(moto_engine)
    exports = tmp_path / "exports"
    exports.mkdir()
    exports.chmod(0o755)  # readable by others, writable only by its owner: the operator's choice
    with umask(0o022):
        result = purge(moto_engine, tmp_path, exports)
    assert result.exit_code == 0, result.output
    assert mode(exports) == 0o755  # not tightened behind the operator's back
    assert {mode(f) for f in exports.iterdir()} == {0o600}


@pytest.mark.parametrize("shared", [0o777, 0o775, 0o1777])
def test_a_folder_others_can_write_to_is_refused_before_anything_is_deleted(
    moto_engine: Engine, tmp_path: Path, shared: int
) -> None:
    legacy_table(moto_engine)
    exports = tmp_path / "shared"
    exports.mkdir()
    exports.chmod(shared)
    result = purge(moto_engine, tmp_path, exports)
    assert result.exit_code == 1
    line = (
        f"error: export directory {exports} is writable by other users (mode {shared:04o}): "
        f"refusing to write table data there; chmod go-w {exports}"
    )
    assert line in result.output.splitlines(), result.output
    assert TABLE in tables(moto_engine)  # nothing deleted
    assert list(exports.iterdir()) == [] and mode(exports) == shared  # nothing written, nothing changed


def test_check_writable_dir_refuses_and_keeps_nothing(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(ExportError, match=r"writable by other users \(mode 0777\)"):
        check_writable_dir(shared)
    # A preview (keep=False) removes what it created, and what it would create is private.
    fresh = tmp_path / "a" / "b"
    with umask(0o000):
        check_writable_dir(fresh, keep=False)
        assert not (tmp_path / "a").exists()
        check_writable_dir(fresh)
    assert mode(fresh) == 0o700 and mode(fresh.parent) == 0o700


def test_local_state_records_and_folder_are_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state" / "snapinfra-db"
    monkeypatch.setenv("SNAPINFRA_DB_STATE", str(state))
    record = local_state.LocalRecord(
        port=8123, engine="moto", pid=None, log=None, db_path=None, detached=True, started_at="now"
    )
    with umask(0o022):
        path = local_state.write_record(record)
        log = private_file(local_state.log_path(8123))
    assert path.parent == state
    assert mode(state) == 0o700 and mode(state.parent) == 0o700
    assert mode(path) == 0o600 and mode(log) == 0o600
    assert local_state.read_record(8123) == record
    # Rewritten over a record a former version left world-readable: private again.
    path.chmod(0o644)
    with umask(0o022):
        local_state.write_record(record)
    assert mode(path) == 0o600
    assert sorted(p.name for p in state.iterdir()) == ["local-8123.json", "local-8123.log"]  # no temporary left


def test_capability_records_are_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNAPINFRA_DB_STATE", str(tmp_path / "state"))
    with umask(0o022):
        path = remember_not_applied("http://localhost:9999", {Setting.TAGS: "t"})
    assert path == record_path("http://localhost:9999")
    assert mode(path) == 0o600 and mode(path.parent) == 0o700 and mode(tmp_path / "state") == 0o700


@pytest.mark.ddblocal
def test_dynamodb_local_data_log_and_work_folders_are_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from snapinfra_db.local.jar import java_available

    if not java_available():
        pytest.skip("java is not installed")
    state = tmp_path / "state"
    monkeypatch.setenv("SNAPINFRA_DB_STATE", str(state))
    port = free_port()
    with umask(0o022):
        started = local_engine.start(port, engine="dynamodb-local", detach=True)
    try:
        assert started.record.db_path is not None
        data = Path(started.record.db_path)
        assert data == local_state.default_db_path() / str(port)
        for folder in (state, data.parent, data, state / f"work-{port}"):
            assert mode(folder) == 0o700, folder
        assert mode(local_state.log_path(port)) == 0o600
        assert mode(state / f"local-{port}.json") == 0o600
    finally:
        local_engine.stop(started.record)
