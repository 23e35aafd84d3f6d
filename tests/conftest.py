"""Shared fixtures: AWS environment hygiene, DynamoDB Local, moto's server, and ``engine``.

DynamoDB Local (the Java emulator) is started once per test session (once per xdist worker), in
memory and on a free port. Set ``SNAPINFRA_DB_TEST_ENDPOINT`` (and
``SNAPINFRA_DB_TEST_ENDPOINT_DELAYED`` for the ``-delayTransientStatuses`` one) to use instances
that are already running instead. Without Java or the jar these tests are skipped, except when
``CI`` is set: there they fail, because in CI they must run.
"""

from __future__ import annotations

import os
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

import pytest
from hypothesis import settings

from snapinfra_db.aws import local_dynamodb_client as local_client
from snapinfra_db.dirs import cache_dir
from snapinfra_db.local.jar import LocalServerError, ensure_jar, java_available
from snapinfra_db.local.process import DynamoDBLocal, is_dynamodb_endpoint

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
# Anything that could point a client at a real account or another endpoint.
REMOVED_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_STS",
)

ENDPOINT_ENV = "SNAPINFRA_DB_TEST_ENDPOINT"
DELAYED_ENDPOINT_ENV = "SNAPINFRA_DB_TEST_ENDPOINT_DELAYED"

# Hypothesis: "ci" (the default) is deterministic and bounded, the same examples on every run;
# "long" explores: pytest --hypothesis-profile=long, or SNAPINFRA_DB_HYPOTHESIS_PROFILE=long.
settings.register_profile("ci", derandomize=True, max_examples=25, deadline=None)
settings.register_profile("long", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("SNAPINFRA_DB_HYPOTHESIS_PROFILE", "ci"))


# --------------------------------------------------------------------------- hygiene


@pytest.fixture(scope="session", autouse=True)
def aws_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Dummy credentials, us-east-1, no profile, no endpoint override, no ~/.aws files."""
    aws_dir = tmp_path_factory.mktemp("aws")
    with pytest.MonkeyPatch.context() as mp:
        for name, value in DUMMY_ENV.items():
            mp.setenv(name, value)
        for name in REMOVED_ENV:
            mp.delenv(name, raising=False)
        # A ~/.aws/config may carry endpoint_url, services or a credential_process.
        mp.setenv("AWS_CONFIG_FILE", str(aws_dir / "config"))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws_dir / "credentials"))
        yield


@pytest.fixture(autouse=True)
def own_state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """A state folder per test: what one test's apply learns about an endpoint (moto's server is
    shared by the session) must not change another test's plan."""
    monkeypatch.setenv("SNAPINFRA_DB_STATE", str(tmp_path_factory.mktemp("state")))


# --------------------------------------------------------------------------- DynamoDB Local


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"DynamoDB Local is required in CI: {reason}", pytrace=False)
    pytest.skip(f"DynamoDB Local unavailable: {reason}")


def _local_endpoint(tmp_path_factory: pytest.TempPathFactory, *, delayed: bool, env_name: str) -> Iterator[str]:
    url = os.environ.get(env_name)
    if url:
        if not is_dynamodb_endpoint(url):
            pytest.fail(f"{env_name}={url} does not answer ListTables", pytrace=False)
        yield url.rstrip("/")
        return
    if not java_available():
        _unavailable("java is not installed")
    try:
        jar = ensure_jar()
    except LocalServerError as exc:
        _unavailable(str(exc))
    name = "ddblocal-delayed" if delayed else "ddblocal"
    log = tmp_path_factory.mktemp(name) / "dynamodb-local.log"
    local = DynamoDBLocal(jar, delay_transient_statuses=delayed, log_path=log)
    try:
        local.start(timeout=60)
    except LocalServerError as exc:
        _unavailable(str(exc))
    try:
        yield local.endpoint_url
    finally:
        local.stop()


@pytest.fixture(scope="session")
def ddb_local(aws_env: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Endpoint URL of a DynamoDB Local in fast mode (statuses flip at once)."""
    yield from _local_endpoint(tmp_path_factory, delayed=False, env_name=ENDPOINT_ENV)


@pytest.fixture(scope="session")
def ddb_local_delayed(aws_env: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Endpoint URL of a separate DynamoDB Local started with ``-delayTransientStatuses``.

    In DynamoDB Local 1.25 that delays only index statuses: a GSI added by UpdateTable stays
    CREATING ~30 s and a deleted one DELETING ~16 s; tables are ACTIVE at once.
    """
    yield from _local_endpoint(tmp_path_factory, delayed=True, env_name=DELAYED_ENDPOINT_ENV)


@pytest.fixture
def ddb_local_client(ddb_local: str) -> DynamoDBClient:
    """A boto3 DynamoDB client for ``ddb_local``."""
    return local_client(ddb_local)


@pytest.fixture
def ddb_local_delayed_client(ddb_local_delayed: str) -> DynamoDBClient:
    """A boto3 DynamoDB client for ``ddb_local_delayed``."""
    return local_client(ddb_local_delayed)


def _table_names(client: DynamoDBClient) -> list[str]:
    names: list[str] = []
    for page in client.get_paginator("list_tables").paginate():
        names.extend(page.get("TableNames", []))
    return names


def delete_all_tables(client: DynamoDBClient, *, wait: bool = True, timeout: float = 120.0) -> None:
    """Delete every table behind ``client`` (deletion protection turned off first).

    Retries while a table is busy (an index being built); with ``wait``, returns once ListTables
    is empty.
    """
    deadline = time.monotonic() + timeout
    pending = set(_table_names(client))
    while pending:
        for name in sorted(pending):
            try:
                table = client.describe_table(TableName=name)["Table"]
                if table.get("TableStatus") == "DELETING":
                    pending.discard(name)
                    continue
                if table.get("DeletionProtectionEnabled"):
                    client.update_table(TableName=name, DeletionProtectionEnabled=False)
                client.delete_table(TableName=name)
                pending.discard(name)
            except client.exceptions.ResourceNotFoundException:
                pending.discard(name)
            except (client.exceptions.ResourceInUseException, client.exceptions.LimitExceededException):
                pass  # busy: try again below
        if pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not delete tables {sorted(pending)}")
            time.sleep(0.2)
    while wait and _table_names(client):
        if time.monotonic() > deadline:
            raise TimeoutError(f"tables still listed after deletion: {_table_names(client)}")
        time.sleep(0.1)


@pytest.fixture
def clean_ddb_local(ddb_local: str, ddb_local_client: DynamoDBClient) -> str:
    """``ddb_local``'s endpoint URL, emptied of tables before the test."""
    delete_all_tables(ddb_local_client)
    return ddb_local


@pytest.fixture
def clean_ddb_local_delayed(ddb_local_delayed: str, ddb_local_delayed_client: DynamoDBClient) -> str:
    """``ddb_local_delayed``'s endpoint URL, emptied of tables (deletions finished) before the test."""
    delete_all_tables(ddb_local_delayed_client, wait=True)
    return ddb_local_delayed


# --------------------------------------------------------------------------- moto


@pytest.fixture(scope="session")
def moto_endpoint(aws_env: None) -> Iterator[str]:
    """Endpoint URL of moto's server, in this process, on a free loopback port."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def reset_moto(endpoint_url: str) -> None:
    request = urllib.request.Request(f"{endpoint_url}/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


@pytest.fixture
def clean_moto(moto_endpoint: str) -> str:
    """``moto_endpoint``, reset to empty before the test."""
    reset_moto(moto_endpoint)
    return moto_endpoint


# --------------------------------------------------------------------------- both engines


@dataclass(frozen=True)
class Engine:
    """A DynamoDB endpoint the tests can run the real code against."""

    name: str  # "moto" or "ddblocal"
    endpoint_url: str

    def client(self) -> DynamoDBClient:
        return local_client(self.endpoint_url)


@pytest.fixture(
    params=["moto", pytest.param("ddblocal", marks=pytest.mark.ddblocal)],
)
def engine(request: pytest.FixtureRequest) -> Engine:
    """moto's server or DynamoDB Local, emptied before the test: one test body runs on both."""
    name: str = request.param
    if name == "moto":
        return Engine(name, request.getfixturevalue("clean_moto"))
    return Engine(name, request.getfixturevalue("clean_ddb_local"))


@pytest.fixture
def moto_engine(clean_moto: str) -> Engine:
    """The moto half of ``engine``, for tests that only make sense there."""
    return Engine("moto", clean_moto)


@pytest.fixture
def ddblocal_engine(clean_ddb_local: str) -> Engine:
    """The DynamoDB Local half of ``engine``, for tests of what only Local does faithfully."""
    return Engine("ddblocal", clean_ddb_local)


# --------------------------------------------------------------------------- markers


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        on_local_engine = callspec is not None and callspec.params.get("engine") == "ddblocal"
        if names & {"ddb_local", "ddb_local_delayed"} or on_local_engine:
            item.add_marker(pytest.mark.ddblocal)
        if "ddb_local_delayed" in names:
            item.add_marker(pytest.mark.slow)


def pytest_report_header(config: pytest.Config) -> str:
    where = os.environ.get(ENDPOINT_ENV) or "started by the tests"
    return f"DynamoDB Local: {where}; jar cache: {cache_dir()}"
