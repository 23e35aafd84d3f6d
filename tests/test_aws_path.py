"""The AWS path itself: no --endpoint-url, region and credentials resolved as the AWS SDKs do.

moto's in-process `mock_aws` intercepts the real AWS endpoints (https://dynamodb.<region>.amazonaws.com,
STS), so these tests exercise what a user with an AWS account runs: AWS_REGION, AWS_DEFAULT_REGION,
--region, --profile / AWS_PROFILE from AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE, and the
account id STS reports. Nothing leaves the process.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner, Result

from snapinfra_db.cli.application import app

CATALOG = """
prefix: aws-path-
defaults:
  point_in_time_recovery: {enabled: true}
  tags: {ManagedBy: snapinfra-db}
tables:
  notes:
    partition_key: id
    ttl: expiresAt
    global_indexes:
      ByOwner: {partition_key: owner, sort_key: createdAt}
  users:
    partition_key: id
"""
NAMES = ["aws-path-notes", "aws-path-users"]
MOTO_ACCOUNT = "123456789012"  # moto's default account id


@pytest.fixture
def aws_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two profiles in two regions, each with its own keys; no region or profile in the environment."""
    (tmp_path / "config").write_text(
        textwrap.dedent(
            """
            [default]
            region = ap-southeast-2
            [profile staging]
            region = eu-central-1
            [profile prod]
            region = us-west-2
            """
        )
    )
    (tmp_path / "credentials").write_text(
        textwrap.dedent(
            """
            [default]
            aws_access_key_id = AKIADEFAULT
            aws_secret_access_key = default-secret
            [staging]
            aws_access_key_id = AKIASTAGING
            aws_secret_access_key = staging-secret
            [prod]
            aws_access_key_id = AKIAPROD
            aws_secret_access_key = prod-secret
            """
        )
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    catalog = tmp_path / "tables.yaml"
    catalog.write_text(textwrap.dedent(CATALOG))
    return catalog


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """mock_aws, with one of AWS's behaviours moto lacks: DynamoDB's default key (alias/aws/dynamodb) is
    AWS-managed (DescribeKey: KeyManager AWS); moto creates it as a customer key."""
    from moto.dynamodb.models.table import Table
    from moto.kms import kms_backends

    created = Table._get_default_encryption_key

    def aws_managed(self: Table, account_id: str, region: str) -> str:
        arn: str = created(self, account_id, region)
        kms_backends[account_id][region].describe_key(arn).key_manager = "AWS"
        return arn

    monkeypatch.setattr(Table, "_get_default_encryption_key", aws_managed)
    with mock_aws():
        yield


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def tables_in(region: str) -> list[str]:
    client = boto3.client(
        "dynamodb", region_name=region, aws_access_key_id="inspect", aws_secret_access_key="inspect"
    )
    return sorted(client.list_tables()["TableNames"])


@pytest.mark.parametrize(
    ("how", "env", "args", "region"),
    [
        ("AWS_REGION alone", {"AWS_REGION": "eu-west-1"}, [], "eu-west-1"),
        ("AWS_DEFAULT_REGION alone", {"AWS_DEFAULT_REGION": "sa-east-1"}, [], "sa-east-1"),
        (
            "AWS_REGION wins over AWS_DEFAULT_REGION",
            {"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "sa-east-1"},
            [],
            "eu-west-1",
        ),
        ("--region wins over AWS_REGION", {"AWS_REGION": "eu-west-1"}, ["--region", "ca-central-1"], "ca-central-1"),
        ("the default profile's region", {}, [], "ap-southeast-2"),
        ("AWS_PROFILE's region", {"AWS_PROFILE": "staging"}, [], "eu-central-1"),
        ("--profile's region", {}, ["--profile", "prod"], "us-west-2"),
        ("AWS_REGION wins over the profile's region", {"AWS_REGION": "eu-west-1"}, ["--profile", "prod"], "eu-west-1"),
    ],
    ids=lambda value: value if isinstance(value, str) and " " in value else "",
)
def test_apply_lands_in_the_region_the_sdks_would_choose(
    how: str,
    env: dict[str, str],
    args: list[str],
    region: str,
    aws_files: Path,
    aws: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    catalog = str(aws_files)

    printed = run("env", "--catalog", catalog, *args)
    assert printed.exit_code == 0, printed.output
    assert f"AWS_REGION={region}" in printed.stdout.splitlines()
    assert "AWS_ENDPOINT_URL_DYNAMODB" not in printed.stdout  # the AWS path: no endpoint

    planned = run("plan", "--json", "--catalog", catalog, *args)
    assert planned.exit_code == 0, planned.output
    assert [c["action"] for c in json.loads(planned.stdout)["changes"]] == ["create", "create"]

    applied = run("apply", "--yes", "--catalog", catalog, *args)
    assert applied.exit_code == 0, applied.output
    assert tables_in(region) == NAMES
    assert all(tables_in(other) == [] for other in ("us-east-1", "eu-west-1", "us-west-2") if other != region)

    again = run("plan", "--detailed-exitcode", "--catalog", catalog, *args)
    assert again.exit_code == 0, again.output


def test_health_on_aws_names_the_region_and_the_account_sts_reports(aws_files: Path, aws: None) -> None:
    catalog = str(aws_files)
    assert run("apply", "--yes", "--catalog", catalog, "--profile", "staging").exit_code == 0
    report = run("health", "--json", "--catalog", catalog, "--profile", "staging")
    assert report.exit_code == 0, report.output
    document = json.loads(report.stdout)
    assert document["endpoint"]["region"] == "eu-central-1"
    assert document["endpoint"]["account_id"] == MOTO_ACCOUNT
    assert document["endpoint"]["endpoint"] == "https://dynamodb.eu-central-1.amazonaws.com"
    assert document["healthy"] is True


def test_no_region_anywhere_is_one_line(aws_files: Path, aws: None, tmp_path: Path) -> None:
    (tmp_path / "config").write_text("[default]\n")  # keys, but no region in any profile
    result = run("plan", "--catalog", str(aws_files))
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: no AWS region: pass --region, set AWS_REGION (or AWS_DEFAULT_REGION), or set one in your profile"
    ]


def test_an_unknown_profile_is_one_line(aws_files: Path, aws: None) -> None:
    result = run("plan", "--catalog", str(aws_files), "--profile", "nope")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: AWS profile 'nope' not found: check ~/.aws/config or pass another --profile"
    ]
