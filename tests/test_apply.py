"""apply's promises beyond the happy path: failures stay per table, interruptions converge on the
next run, confirmation is required, and mistakes give one line instead of a traceback."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from snapinfra_db.catalog import load_catalog
from snapinfra_db.cli.application import app
from snapinfra_db.reconcile.diff import diff_catalog
from snapinfra_db.reconcile.executor import ApplyInterrupted, Executor
from snapinfra_db.reconcile.live import read_tables
from snapinfra_db.waiting import Backoff

CATALOG = """
prefix: a-
tables:
  one:
    partition_key: id
    ttl: expiresAt
    global_indexes:
      ByUser: {partition_key: userId, sort_key: createdAt}
      ByStatus: {partition_key: status}
      ByTeam: {partition_key: team}
  two:
    partition_key: id
  three:
    partition_key: id
"""


class Faulty:
    """A DynamoDB client that fails one chosen call, the way a network fault or a crash would."""

    def __init__(self, client: Any, fail_on: str, when: Any, error: BaseException) -> None:
        self._client, self._fail_on, self._when, self._error = client, fail_on, when, error
        self.failed = False

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)
        if name != self._fail_on:
            return real

        def call(**params: Any) -> Any:
            if not self.failed and self._when(params):
                self.failed = True
                raise self._error
            return real(**params)

        return call


def setup(engine: Any, tmp_path: Path) -> tuple[Path, Any]:
    path = tmp_path / "tables.yaml"
    path.write_text(textwrap.dedent(CATALOG))
    return path, load_catalog(path)


def run(engine: Any, client: Any, catalog: Any) -> list[Any]:
    plan = diff_catalog(catalog, read_tables(engine.client(), [t.name for t in catalog.tables]))
    executor = Executor(client, {t.name: t for t in catalog.tables}, status=Backoff(first=0.05))
    return executor.run(plan)


def apply_cli(engine: Any, path: Path, *extra: str) -> Any:
    return CliRunner().invoke(
        app, ["apply", "--yes", "--catalog", str(path), "--endpoint-url", engine.endpoint_url, *extra]
    )


def converged(engine: Any, path: Path) -> bool:
    result = CliRunner().invoke(
        app, ["plan", "--detailed-exitcode", "--catalog", str(path), "--endpoint-url", engine.endpoint_url]
    )
    return result.exit_code == 0


def test_one_table_failing_does_not_stop_the_others(engine: Any, tmp_path: Path) -> None:
    path, catalog = setup(engine, tmp_path)
    from botocore.exceptions import ClientError

    error = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "CreateTable")
    client = Faulty(engine.client(), "create_table", lambda p: p["TableName"] == "a-two", error)
    results = {r.table: r for r in run(engine, client, catalog)}
    assert results["a-two"].status == "failed" and "not allowed" in (results["a-two"].error or "")
    assert results["a-one"].status == "applied" and results["a-three"].status == "applied"
    # The next apply finishes the job.
    assert apply_cli(engine, path).exit_code == 0
    assert converged(engine, path)


def test_network_fault_mid_apply_converges_on_the_next_run(engine: Any, tmp_path: Path) -> None:
    path, catalog = setup(engine, tmp_path)
    apply_cli(engine, path)
    path.write_text(
        textwrap.dedent(CATALOG).replace(
            "      ByTeam: {partition_key: team}\n",
            "      ByTeam: {partition_key: team}\n      ByA: {partition_key: aa}\n      ByB: {partition_key: bb}\n",
        )
    )
    catalog = load_catalog(path)
    from botocore.exceptions import EndpointConnectionError

    # The second index creation dies on the wire.
    seen: list[str] = []

    def second_create(params: dict[str, Any]) -> bool:
        if "GlobalSecondaryIndexUpdates" in params:
            seen.append("x")
        return len(seen) == 2

    client = Faulty(engine.client(), "update_table", second_create, EndpointConnectionError(endpoint_url="x"))
    results = {r.table: r for r in run(engine, client, catalog)}
    assert results["a-one"].status == "failed" and len(results["a-one"].done) == 1
    assert not converged(engine, path)
    result = apply_cli(engine, path)
    assert result.exit_code == 0, result.output
    assert converged(engine, path)


def test_ctrl_c_stops_and_apply_again_converges(engine: Any, tmp_path: Path) -> None:
    path, catalog = setup(engine, tmp_path)
    client = Faulty(engine.client(), "update_time_to_live", lambda p: True, KeyboardInterrupt())
    with pytest.raises(ApplyInterrupted) as info:
        run(engine, client, catalog)
    assert {r.table for r in info.value.results} == {"a-one", "a-two", "a-three"}
    result = apply_cli(engine, path)
    assert result.exit_code == 0, result.output
    assert converged(engine, path)
    again = apply_cli(engine, path)
    assert again.exit_code == 0 and "No changes." in again.stdout


def test_confirmation_on_a_terminal(engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = setup(engine, tmp_path)
    monkeypatch.setattr("snapinfra_db.cli.application.stdin_is_terminal", lambda: True)
    argv = ["apply", "--catalog", str(path), "--endpoint-url", engine.endpoint_url]
    no = CliRunner().invoke(app, argv, input="n\n")
    assert no.exit_code == 1 and "Apply these changes?" in no.output and "nothing was changed" in no.stderr
    assert engine.client().list_tables()["TableNames"] == []
    yes = CliRunner().invoke(app, argv, input="y\n")
    assert yes.exit_code == 0, yes.output
    assert len(engine.client().list_tables()["TableNames"]) == 3


@pytest.mark.parametrize(
    ("env", "argv", "message"),
    [
        ({}, ["--region", "us-east-1"], "no AWS credentials"),
        ({"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}, [], "no AWS region"),
        ({}, ["--profile", "does-not-exist"], "AWS profile 'does-not-exist' not found"),
        ({}, ["--endpoint-url", "http://127.0.0.1:9"], "cannot reach DynamoDB at http://127.0.0.1:9"),
    ],
)
def test_aws_configuration_mistakes_are_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str], argv: list[str], message: str
) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    root = Path(__file__).resolve().parents[1]
    result = CliRunner().invoke(app, ["plan", "--catalog", str(root / "tables.yaml"), *argv])
    assert result.exit_code == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_local_endpoint_needs_no_credentials(engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A laptop without an AWS account: a loopback endpoint gets dummy credentials and a region.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    path, _ = setup(engine, tmp_path)
    result = CliRunner().invoke(app, ["plan", "--catalog", str(path), "--endpoint-url", engine.endpoint_url])
    assert result.exit_code == 0, result.output
