"""`snapinfra-db local`: a real engine started and stopped from the tests, detached and in the
foreground, persistence across a restart, reuse, the moto fallback, and the one-line errors."""

from __future__ import annotations

import http.server
import os
import signal
import socketserver
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
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
