"""`snapinfra-db local`: a real engine started and stopped from the tests, detached and in the
foreground, persistence across a restart, reuse, the moto fallback, and the one-line errors."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socketserver
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from snapinfra_db.aws import local_dynamodb_client as local_client
from snapinfra_db.cli.application import app
from snapinfra_db.local import engine as local_engine
from snapinfra_db.local import state as local_state
from snapinfra_db.local.process import free_port, is_dynamodb_endpoint, port_in_use

CATALOG = """
prefix: t-
tables:
  notes:
    partition_key: id
    ttl: expiresAt
    global_indexes:
      ByUser: {partition_key: userId, sort_key: createdAt}
  settings:
    env: SETTINGS_TABLE
    partition_key: userId
"""

pytestmark = pytest.mark.ddblocal


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private state dir; anything `local` left running there is stopped afterwards."""
    directory = tmp_path / "state"
    monkeypatch.setenv("SNAPINFRA_DB_STATE", str(directory))
    yield directory
    for record in local_state.records():
        local_engine.stop(record)


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    path = tmp_path / "tables.yaml"
    path.write_text(textwrap.dedent(CATALOG))
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_detached_start_status_reuse_local_flag_and_stop(state: Path, catalog: Path) -> None:
    port = free_port()
    code, stdout, stderr = run("local", "--detach", "--port", str(port), "--in-memory", "--catalog", str(catalog))
    assert code == 0, stderr
    assert f"Started DynamoDB Local on http://localhost:{port}" in stderr
    # The .env a backend developer pastes: endpoint, region and every table variable.
    assert f"AWS_ENDPOINT_URL_DYNAMODB=http://localhost:{port}" in stdout
    assert "AWS_REGION=us-east-1" in stdout
    assert "SETTINGS_TABLE=t-settings" in stdout
    assert "DYNAMODB_NOTES_TABLE=t-notes" in stdout
    client = local_client(f"http://localhost:{port}")
    assert sorted(client.list_tables()["TableNames"]) == ["t-notes", "t-settings"]

    code, stdout, _ = run("local", "status")
    assert code == 0
    assert f"http://localhost:{port}" in stdout and "DynamoDB Local" in stdout and "2 tables" in stdout

    # Starting again on the same port reuses the running engine and converges to no changes.
    record = local_state.read_record(port)
    assert record is not None and record.detached
    code, _, stderr = run("local", "--detach", "--port", str(port), "--catalog", str(catalog))
    assert code == 0, stderr
    assert "Reusing the local DynamoDB already on" in stderr and "No changes" in stderr
    assert local_state.read_record(port) == record

    # --local on another command finds that port through the record.
    code, _, stderr = run("plan", "--local", "--catalog", str(catalog), "--detailed-exitcode")
    assert code == 0, stderr
    code, _, stderr = run("health", "--local", "--catalog", str(catalog))
    assert code == 0, stderr

    code, _, stderr = run("local", "stop")
    assert code == 0
    assert f"Stopped DynamoDB Local on http://localhost:{port}" in stderr
    assert not local_state.pid_alive(record.pid) or _zombie(record.pid)
    assert not port_in_use(port)
    code, _, stderr = run("local", "status")
    assert code == 1 and "No local DynamoDB" in stderr
    # Stopping what is not running is not an error.
    assert run("local", "stop")[0] == 0


def _zombie(pid: int | None) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_data_persists_across_a_restart(state: Path, catalog: Path, tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    code, _, stderr = run("local", "-d", "-p", str(port), "--db-path", str(data), "--catalog", str(catalog))
    assert code == 0, stderr
    endpoint = f"http://localhost:{port}"
    local_client(endpoint).put_item(TableName="t-notes", Item={"id": {"S": "kept"}, "body": {"S": "hello"}})
    assert run("local", "stop", "--port", str(port))[0] == 0
    assert not is_dynamodb_endpoint(endpoint)

    code, _, stderr = run("local", "-d", "-p", str(port), "--db-path", str(data), "--catalog", str(catalog))
    assert code == 0, stderr
    assert "No changes" in stderr  # tables, indexes and TTL came back from disk
    item = local_client(endpoint).get_item(TableName="t-notes", Key={"id": {"S": "kept"}}, ConsistentRead=True)
    assert item["Item"]["body"] == {"S": "hello"}


def test_foreground_serves_until_a_signal_then_stops_cleanly(state: Path, catalog: Path) -> None:
    port = free_port()
    env = {**os.environ, "SNAPINFRA_DB_STATE": str(state)}
    process = subprocess.Popen(
        [sys.executable, "-m", "snapinfra_db", "local", "-p", str(port), "--in-memory", "--catalog", str(catalog)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lines: list[str] = []
        assert process.stderr is not None
        deadline = time.monotonic() + 90
        while not any("Press Ctrl-C to stop" in line for line in lines):
            line = process.stderr.readline()
            assert line or process.poll() is None, "".join(lines)
            lines.append(line)
            assert time.monotonic() < deadline, "".join(lines)
        record = local_state.read_record(port)
        assert record is not None and not record.detached and record.pid == process.pid
        assert is_dynamodb_endpoint(f"http://localhost:{port}")

        process.send_signal(signal.SIGINT)
        stdout, rest = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, rest
    assert "AWS_ENDPOINT_URL_DYNAMODB" in stdout and "SETTINGS_TABLE=t-settings" in stdout
    assert f"Stopped DynamoDB Local on http://localhost:{port}" in rest
    assert not port_in_use(port)  # the Java process went with it
    assert local_state.read_record(port) is None


def test_local_stop_ends_a_foreground_local_too(state: Path, catalog: Path) -> None:
    port = free_port()
    env = {**os.environ, "SNAPINFRA_DB_STATE": str(state)}
    process = subprocess.Popen(
        [sys.executable, "-m", "snapinfra_db", "local", "-p", str(port), "--in-memory", "--no-apply"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while local_state.read_record(port) is None or not is_dynamodb_endpoint(f"http://localhost:{port}"):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        assert run("local", "stop", "--port", str(port))[0] == 0
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert not port_in_use(port)


def test_moto_fallback_when_java_is_missing(state: Path, catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_engine, "java_available", lambda: False)
    port = free_port()
    code, stdout, stderr = run("local", "-d", "-p", str(port), "--catalog", str(catalog))
    assert code == 0, stderr
    assert "Java is not installed" in stderr and "moto's server" in stderr and "in memory" in stderr
    assert f"AWS_ENDPOINT_URL_DYNAMODB=http://localhost:{port}" in stdout
    record = local_state.read_record(port)
    assert record is not None and record.engine == "moto" and record.db_path is None
    client = local_client(f"http://localhost:{port}")
    assert sorted(client.list_tables()["TableNames"]) == ["t-notes", "t-settings"]
    assert run("plan", "--local", "--catalog", str(catalog), "--detailed-exitcode")[0] == 0
    assert run("local", "stop")[0] == 0
    assert not port_in_use(port)


def test_java_missing_and_no_fallback_is_one_line(state: Path, catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_engine, "java_available", lambda: False)
    monkeypatch.setattr(local_engine, "moto_available", lambda: False)
    code, stdout, stderr = run("local", "-p", str(free_port()), "--catalog", str(catalog))
    assert code == 1 and stdout == ""
    assert stderr.count("\n") == 1
    assert "Java is not installed" in stderr and "pip install 'snapinfra-db[local]'" in stderr


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"hello")

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


def test_port_taken_by_something_else(state: Path, catalog: Path) -> None:
    with socketserver.TCPServer(("127.0.0.1", 0), _Hello) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            port = server.server_address[1]
            code, _, stderr = run("local", "-p", str(port), "--catalog", str(catalog))
        finally:
            server.shutdown()
    assert code == 1
    assert f"port {port} is taken by something that is not DynamoDB" in stderr
    assert stderr.count("\n") == 1


def test_a_jar_that_fails_to_start_shows_its_log(state: Path, catalog: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "DynamoDBLocal.jar"
    bogus.write_bytes(b"this is not a jar")
    port = free_port()
    code, stdout, stderr = run("local", "-p", str(port), "--jar", str(bogus), "--catalog", str(catalog))
    assert code == 1 and stdout == ""
    # One line: what failed, the JVM's own words (OpenJDK's launcher, exit code 1), and where the log is.
    assert stderr == (
        f"error: DynamoDB Local did not start ({bogus}): DynamoDB Local exited with code 1 while starting: "
        f"Error: Invalid or corrupt jarfile {bogus} (log: {state / f'local-{port}.log'})\n"
    )


def test_a_db_path_that_is_a_file_is_one_line(state: Path, catalog: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("")
    port = free_port()
    code, _, stderr = run("local", "-p", str(port), "--db-path", str(a_file), "--catalog", str(catalog))
    assert code == 1 and stderr == f"error: {a_file}: File exists\n"
    assert not port_in_use(port) and local_state.records() == []


def test_contradictory_options(state: Path, catalog: Path) -> None:
    code, _, stderr = run("local", "--in-memory", "--db-path", "x", "--catalog", str(catalog))
    assert code == 1 and "--in-memory and --db-path" in stderr
    code, _, stderr = run("plan", "--local", "--endpoint-url", "http://localhost:1", "--catalog", str(catalog))
    assert code == 1 and "--local and --endpoint-url" in stderr


def test_a_bad_catalog_fails_before_anything_starts(state: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("tables:\n  x:\n    partition_kye: id\n")
    port = free_port()
    code, _, stderr = run("local", "-p", str(port), "--catalog", str(bad))
    assert code == 1 and "bad.yaml:3:5" in stderr
    assert not port_in_use(port) and local_state.records() == []


def test_local_flag_without_a_running_local_means_port_8000(state: Path) -> None:
    assert local_state.local_endpoint() == "http://localhost:8000"


def _start_moto(port: int) -> None:
    code, _, stderr = run("local", "-d", "-p", str(port), "--engine", "moto", "--no-apply")
    assert code == 0, stderr
    assert f"Started moto's server on http://localhost:{port}" in stderr


def test_stop_stops_the_one_local_picks_port_picks_one_all_stops_every_one(state: Path, catalog: Path) -> None:
    # Two instances in the shared state folder, as two checkouts would leave them, neither on 8000.
    first, second = free_port(), free_port()
    while second == first:
        second = free_port()
    _start_moto(first)
    _start_moto(second)
    ports = sorted((first, second))

    # Ambiguous: --local refuses in one line, and so does a bare `local stop`; both keep running.
    code, stdout, stderr = run("plan", "--local", "--catalog", str(catalog))
    assert code == 1 and stdout == ""
    assert stderr == (
        f"error: several local DynamoDBs are running (ports {ports[0]}, {ports[1]}): "
        "pass --endpoint-url http://localhost:PORT\n"
    )
    code, _, stderr = run("local", "stop")
    assert code == 1 and stderr.count("\n") == 1
    assert f"ports {ports[0]}, {ports[1]}" in stderr and "--port PORT, or --all" in stderr
    assert port_in_use(first) and port_in_use(second)
    code, _, stderr = run("local", "stop", "--all", "--port", str(first))
    assert code == 1 and "--all and --port" in stderr

    # --port stops that one only.
    stopped = local_state.read_record(first)
    assert stopped is not None
    code, _, stderr = run("local", "stop", "--port", str(first))
    assert code == 0 and stderr == f"Stopped moto's server on http://localhost:{first} (pid {stopped.pid}).\n"
    assert not port_in_use(first) and is_dynamodb_endpoint(f"http://localhost:{second}")
    assert [r.port for r in local_state.records()] == [second]
    # A port with nothing on it: nothing to stop, not an error, and the other one is untouched.
    code, _, stderr = run("local", "stop", "--port", str(first))
    assert code == 0 and f"running on port {first}: nothing to stop" in stderr
    assert is_dynamodb_endpoint(f"http://localhost:{second}")

    # One left: --local and a bare `local stop` pick it.
    assert local_state.local_endpoint() == f"http://localhost:{second}"
    third = free_port()
    _start_moto(third)
    code, _, stderr = run("local", "stop", "--all")
    assert code == 0
    assert f"on http://localhost:{second}" in stderr and f"on http://localhost:{third}" in stderr
    assert not port_in_use(second) and not port_in_use(third) and local_state.records() == []
    code, _, stderr = run("local", "stop", "--all")
    assert code == 0 and "nothing to stop" in stderr


def test_bare_stop_stops_the_only_one(state: Path) -> None:
    port = free_port()
    _start_moto(port)
    code, _, stderr = run("local", "stop")
    assert code == 0 and f"Stopped moto's server on http://localhost:{port}" in stderr
    assert not port_in_use(port)


@pytest.fixture
def fake_records(state: Path) -> Iterator[Callable[[int], None]]:
    """Records for ports nothing listens on, held alive by a sleeping process (never signalled:
    it does not look like an engine). `--local` only reads records, so this is all it sees."""
    sleeper = subprocess.Popen(["sleep", "300"])
    written: list[int] = []

    def add(port: int) -> None:
        written.append(port)
        local_state.write_record(
            local_state.LocalRecord(
                port=port, engine="moto", pid=sleeper.pid, log=None, db_path=None, detached=True, started_at="now"
            )
        )

    try:
        yield add
    finally:
        for port in written:
            local_state.remove_record(port)
        sleeper.kill()
        sleeper.wait()


def test_local_flag_picks_8000_else_the_only_one_else_refuses(
    fake_records: Callable[[int], None], catalog: Path
) -> None:
    fake_records(8002)
    assert local_state.local_endpoint() == "http://localhost:8002"  # the only one
    fake_records(8001)
    with pytest.raises(local_state.SeveralLocalEndpoints):
        local_state.local_endpoint()
    code, stdout, stderr = run("health", "--local", "--catalog", str(catalog))
    assert code == 1 and stdout == ""
    assert stderr == (
        "error: several local DynamoDBs are running (ports 8001, 8002): pass --endpoint-url http://localhost:PORT\n"
    )
    # `local status` says so too, without choosing.
    code, stdout, _ = run("local", "status")
    assert stdout.count("--local: refuses (several are running, none on port 8000)") == 2
    fake_records(8000)
    assert local_state.local_endpoint() == "http://localhost:8000"  # 8000 wins, whatever else runs


def test_status_lists_port_engine_pid_data_and_what_local_picks(state: Path, catalog: Path, tmp_path: Path) -> None:
    picked, other = free_port(), free_port()
    while other == picked:
        other = free_port()
    _start_moto(picked)
    code, stdout, _ = run("local", "status")
    assert code == 0
    record = local_state.read_record(picked)
    assert record is not None
    assert f"http://localhost:{picked}  port {picked}, moto's server, pid {record.pid}, background, 0 tables" in stdout
    assert "  data: in memory" in stdout and "  --local: picks this one" in stdout
    code, stdout, _ = run("local", "status", "--json")
    (entry,) = json.loads(stdout)["running"]
    assert (entry["port"], entry["engine"], entry["pid"], entry["db_path"], entry["picked_by_local"]) == (
        picked,
        "moto",
        record.pid,
        None,
        True,
    )

    # A second one elsewhere: --local cannot choose, status says so for each, and JSON picks none.
    _start_moto(other)
    code, stdout, _ = run("local", "status", "--json")
    assert code == 0
    running = json.loads(stdout)["running"]
    assert sorted(e["port"] for e in running) == sorted((picked, other))
    assert not any(e["picked_by_local"] for e in running)
    code, stdout, _ = run("local", "status", "--port", str(other))
    assert f"port {other}," in stdout and f"port {picked}," not in stdout
    assert "--local: refuses" in stdout
    assert run("local", "stop", "--port", str(picked))[0] == 0
    code, stdout, _ = run("local", "status")
    assert f"port {other}," in stdout and "--local: picks this one" in stdout


def test_health_local_heading_is_the_same_empty_or_with_tables(state: Path, catalog: Path) -> None:
    """DynamoDB Local with no table yet is still named DynamoDB Local, as it is once tables exist."""
    port = free_port()
    code, _, stderr = run("local", "-d", "-p", str(port), "--in-memory", "--no-apply")
    assert code == 0, stderr
    url = f"http://localhost:{port}"
    code, empty, _ = run("health", "--local", "--catalog", str(catalog))
    assert code == 1  # nothing applied yet
    assert run("apply", "--local", "--yes", "--catalog", str(catalog))[0] == 0
    code, full, stderr = run("health", "--local", "--catalog", str(catalog))
    assert code == 0, stderr

    def heading(text: str) -> str:
        return next(line for line in text.splitlines() if url in line)

    assert heading(empty) == heading(full)
    assert heading(full).startswith(f"DynamoDB Local {url} · region us-east-1")
