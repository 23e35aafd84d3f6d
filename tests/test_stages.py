"""Stages (issue #12): one catalog deployed as dev, staging and prod, each with its own prefix, region,
profile, endpoint and overrides.

The loader's part offline (layers, precedence, located errors, choosing the stage), then the real CLI
on moto's server and DynamoDB Local: three stages of one catalog applied side by side on one endpoint,
each converged, each with its own overrides in the live tables and its own `.env`.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from snapinfra_db.aws import LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY, Aws, AwsOptions
from snapinfra_db.catalog import Stage, TableSettings, load_catalog, load_every_stage
from snapinfra_db.catalog.loader import _RawTableOverride
from snapinfra_db.cli.application import app
from snapinfra_db.cli.inputs import account_label, make_aws
from snapinfra_db.errors import CatalogError
from snapinfra_db.render.plan import stage_line

LAYERED = """
prefix: base-
defaults:
  deletion_protection: true
  billing: {mode: PAY_PER_REQUEST, max_read: 100}
  tags: {ManagedBy: snapinfra-db, Team: core}
stages:
  dev:
    prefix: dev-
    region: us-east-1
    overrides:
      deletion_protection: false
      point_in_time_recovery: {enabled: false}
      tags: {Stage: dev}
      tables:
        orders: {billing: {max_write: 7}, tags: {Team: orders-dev}}
  prod: {region: eu-west-1, profile: prod}
  bare:
default_stage: dev
tables:
  orders:
    partition_key: id
    deletion_protection: true
    tags: {Team: orders}
  users:
    partition_key: id
"""


def write(tmp_path: Path, text: str, name: str = "tables.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(path: Path, **kwargs: Any) -> list[str]:
    every = kwargs.pop("every", False)
    with pytest.raises(CatalogError) as info:
        load_every_stage(path, **kwargs) if every else load_catalog(path, **kwargs)
    return str(info.value).splitlines()


def at(path: Path, text: str) -> str:
    """`FILE:LINE:COL` (1-based) of the first occurrence of `text` in `path`."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if text in line:
            return f"{path}:{number}:{line.index(text) + 1}"
    raise AssertionError(f"{text!r} not in {path}")


# -- the layers --------------------------------------------------------------------------------


def test_layers_defaults_then_stage_then_table_then_the_stages_table_override(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, LAYERED), stage="dev")
    orders, users = catalog.table("dev-orders"), catalog.table("dev-users")
    assert catalog.prefix == "dev-"
    # The stage's overrides lie over defaults ...
    assert users.deletion_protection is False and users.point_in_time_recovery.enabled is False
    # ... under the table's own settings (orders keeps the protection it sets itself) ...
    assert orders.deletion_protection is True and orders.point_in_time_recovery.enabled is False
    # ... and the stage's override of one table lies over that table, mappings merged key by key.
    assert (orders.billing.max_read, orders.billing.max_write) == (100, 7)
    assert (users.billing.max_read, users.billing.max_write) == (100, None)
    # Tags add up through every layer; the most specific wins a key.
    assert orders.tags == {"ManagedBy": "snapinfra-db", "Team": "orders-dev", "Stage": "dev"}
    assert users.tags == {"ManagedBy": "snapinfra-db", "Team": "core", "Stage": "dev"}
    # The stage's merged defaults are the catalog's defaults (what import leaves out).
    assert catalog.defaults.deletion_protection is False and catalog.defaults.tags["Stage"] == "dev"
    assert catalog.stage == Stage(name="dev", region="us-east-1")
    assert catalog.stages == ("dev", "prod", "bare")


def test_a_stage_without_prefix_or_overrides_is_the_catalog_as_written(tmp_path: Path) -> None:
    path = write(tmp_path, LAYERED)
    prod, bare = load_catalog(path, stage="prod"), load_catalog(path, stage="bare")
    for catalog in (prod, bare):
        assert catalog.prefix == "base-"
        assert catalog.table("base-users").deletion_protection is True
        assert catalog.table("base-orders").tags == {"ManagedBy": "snapinfra-db", "Team": "orders"}
        assert catalog.defaults == TableSettings.model_validate(
            {"billing": {"max_read": 100}, "tags": {"ManagedBy": "snapinfra-db", "Team": "core"}}
        )
    assert prod.stage == Stage(name="prod", region="eu-west-1", profile="prod")
    assert bare.stage == Stage(name="bare")


def test_default_stage_without_stage_and_an_explicit_prefix_wins(tmp_path: Path) -> None:
    path = write(tmp_path, LAYERED)
    assert load_catalog(path).stage == Stage(name="dev", region="us-east-1")
    assert load_catalog(path).prefix == "dev-"
    other = load_catalog(path, "other-", stage="prod")
    assert other.prefix == "other-" and [t.name for t in other.tables] == ["other-orders", "other-users"]


def test_every_stage_resolved_for_validate(tmp_path: Path) -> None:
    every = load_every_stage(write(tmp_path, LAYERED))
    assert [(c.stage.name if c.stage else None, c.prefix) for c in every] == [
        ("dev", "dev-"),
        ("prod", "base-"),
        ("bare", "base-"),
    ]


def test_a_catalog_without_stages_is_as_before(tmp_path: Path) -> None:
    path = write(tmp_path, "prefix: p-\ntables:\n  users: {partition_key: id}\n")
    catalog = load_catalog(path)
    assert (catalog.stage, catalog.stages, catalog.prefix) == (None, (), "p-")
    assert [c.stage for c in load_every_stage(path)] == [None]
    assert problems(path, stage="prod") == [
        f"{path}: --stage prod: this catalog declares no stages (add 'stages:' or leave out --stage and "
        "SNAPINFRA_DB_STAGE)"
    ]


def test_an_unknown_stage_is_one_error_listing_the_stages(tmp_path: Path) -> None:
    path = write(tmp_path, LAYERED)
    assert problems(path, stage="prd") == [f"{path}: no stage 'prd' (did you mean 'prod'? stages: dev, prod, bare)"]
    assert problems(path, stage="qa") == [f"{path}: no stage 'qa' (stages: dev, prod, bare)"]


def test_stages_without_default_stage_need_one(tmp_path: Path) -> None:
    path = write(tmp_path, LAYERED.replace("default_stage: dev\n", ""))
    assert problems(path) == [
        f"{path}: this catalog has stages (dev, prod, bare): pass --stage NAME (or set SNAPINFRA_DB_STAGE, or "
        "default_stage in the catalog)"
    ]
    assert load_catalog(path, stage="prod").prefix == "base-"


def test_a_stage_may_override_only_what_defaults_may_set() -> None:
    assert list(_RawTableOverride.model_fields) == list(TableSettings.model_fields)


# -- located problems --------------------------------------------------------------------------

BROKEN_STAGES = """
prefix: p-
stages:
  dev:
    prefix: p dev-
    region: us-east1
    overrides:
      deletion_protecton: false
      tables:
        userz: {deletion_protection: false}
        orders: {ttl: expiresAt}
  prod:
    endpoint_url: localhost:8000
  "no good":
default_stage: prd
tables:
  orders: {partition_key: id}
  users: {partition_key: id}
"""


def test_every_stage_problem_is_located_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, BROKEN_STAGES)
    allowed = ", ".join(TableSettings.model_fields)
    expected = [
        f"{path}:5:13: prefix 'p dev-' may use only A-Z a-z 0-9 _ . - (it begins table names)",
        f"{path}:6:13: region 'us-east1' is not an AWS region (e.g. us-east-1)",
        f"{path}:8:7: unknown key 'deletion_protecton' (did you mean 'deletion_protection'?)",
        f"{path}:10:9: no table 'userz' in the catalog (did you mean 'users'?)",
        f"{path}:11:18: unknown key 'ttl' (allowed: {allowed})",
        f"{path}:13:19: endpoint_url 'localhost:8000' is not an http(s) URL (e.g. http://localhost:8000)",
        f"{path}:14:3: stage name 'no good' must be 1-64 characters of A-Z a-z 0-9 _ -, first a letter or digit",
        f"{path}:15:16: default_stage 'prd' is not a stage (did you mean 'prod'? stages: dev, prod, no good)",
    ]
    # The same whichever stage is asked for: a stage's shape is checked on every load.
    assert problems(path, every=True) == expected
    assert problems(path, stage="prod") == expected


def test_a_stage_value_problem_points_at_the_line_that_set_it(tmp_path: Path) -> None:
    text = """
    prefix: p-
    defaults:
      billing: {mode: PROVISIONED, read: 1, write: 1}
    stages:
      dev:
        prefix: dev-
      prod:
        overrides:
          point_in_time_recovery: {recovery_period_days: 99}
          billing: {mode: PAY_PER_REQUEST}
          tables:
            users: {billing: {mood: x}}
    tables:
      orders: {partition_key: id}
      users: {partition_key: id}
    """
    path = write(tmp_path, text)
    prod = [
        f"{at(path, '99')}: stages.prod.overrides.point_in_time_recovery.recovery_period_days: Input should be "
        "less than or equal to 35",
        f"{at(path, 'mood')}: unknown key 'mood' (did you mean 'mode'?)",
    ]
    # Resolving prod: its problems, where prod wrote them.
    assert problems(path, stage="prod") == prod
    assert problems(path, every=True) == prod
    # dev does not resolve prod's values: a dev plan is not blocked by them (validate finds them).
    assert load_catalog(path, stage="dev").table("dev-users").billing.read == 1


def test_a_problem_only_some_stages_cause_names_them(tmp_path: Path) -> None:
    text = """
    prefix: p-
    stages:
      dev: {prefix: dev-}
      qa: {prefix: qa-}
      prod:
        overrides:
          billing: {mode: PROVISIONED, read: 1, write: 1}
    tables:
      orders: {partition_key: id, billing: {max_write: 3}}
      users: {partition_key: id, billing: {mode: PROVISIONED}}
    """
    path = write(tmp_path, text)
    capacity = "PROVISIONED billing needs 'read' and 'write' capacity for the table"
    caps = "'max_read'/'max_write' apply to PAY_PER_REQUEST only (the table)"
    # orders' cap is wrong only under prod's PROVISIONED billing; users' billing is wrong in every stage.
    assert problems(path, every=True) == [
        f"{at(path, '{max_write')}: {caps} (stage prod)",
        f"{at(path, '{mode: PROVISIONED}}')}: {capacity} (stages dev, qa)",
    ]
    # prod's billing gives users read and write: in prod users is fine, and a stage asked for is not named.
    assert problems(path, stage="prod") == [f"{at(path, '{max_write')}: {caps}"]
    assert problems(path, stage="dev") == [f"{at(path, '{mode: PROVISIONED}}')}: {capacity}"]


def test_two_stages_on_the_same_tables_are_refused(tmp_path: Path) -> None:
    text = """
    prefix: p-
    stages:
      dev: {region: us-east-1}
      qa: {region: us-east-1}
      prod: {region: us-east-1, profile: prod}
    tables:
      users: {partition_key: id}
    """
    path = write(tmp_path, text)
    assert problems(path, stage="prod") == [
        f"{path}:5:3: stage 'qa' has the prefix, region, profile and endpoint of stage 'dev': both would manage "
        "the same tables"
    ]
    # One --prefix for every stage: the stages' own prefixes no longer tell them apart, and that is asked for.
    assert load_catalog(path, "x-", stage="qa").prefix == "x-"


def test_a_stage_with_its_own_endpoint_may_name_any_region(tmp_path: Path) -> None:
    text = """
    stages:
      local: {endpoint_url: 'http://localhost:8000', region: localhost}
    default_stage: local
    tables:
      users: {partition_key: id}
    """
    assert load_catalog(write(tmp_path, text)).stage == Stage(
        name="local", region="localhost", endpoint_url="http://localhost:8000"
    )


# -- where the commands connect ------------------------------------------------------------------


def test_explicit_options_win_over_the_stage_and_the_stage_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://localhost:9999")
    stage = Stage(name="prod", region="eu-west-1", profile="prod", endpoint_url="http://localhost:7000")
    staged = make_aws(None, None, None, stage=stage).options
    assert (staged.region, staged.profile, staged.effective_endpoint) == ("eu-west-1", "prod", "http://localhost:7000")
    explicit = make_aws("ap-south-1", "other", "http://localhost:1234", stage=stage).options
    assert (explicit.region, explicit.profile, explicit.endpoint_url) == (
        "ap-south-1",
        "other",
        "http://localhost:1234",
    )
    # --local is an explicit endpoint too.
    assert make_aws(None, None, None, local=True, stage=stage).options.endpoint_url != stage.endpoint_url
    # A stage that does not say leaves the environment's.
    assert make_aws(None, None, None, stage=Stage(name="dev")).options.effective_endpoint == "http://localhost:9999"
    assert make_aws(None, None, None, stage=Stage(name="dev")).region == "us-east-1"


def test_the_stages_profile_beats_aws_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config"
    config.write_text("[profile prod]\nregion = ap-northeast-1\n[profile other]\nregion = sa-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "other")
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    catalog = write(
        tmp_path, "stages: {prod: {profile: prod}, dev: {prefix: d-}}\ntables: {users: {partition_key: id}}\n"
    )
    prod = run("env", "--catalog", str(catalog), "--stage", "prod")
    assert prod.exit_code == 0, prod.output
    assert "AWS_REGION=ap-northeast-1" in prod.stdout.splitlines()
    dev = run("env", "--catalog", str(catalog), "--stage", "dev")
    assert "AWS_REGION=sa-east-1" in dev.stdout.splitlines()
    explicit = run("env", "--catalog", str(catalog), "--stage", "prod", "--profile", "other")
    assert "AWS_REGION=sa-east-1" in explicit.stdout.splitlines()


def test_the_heading_names_stage_region_and_account(monkeypatch: pytest.MonkeyPatch) -> None:
    assert stage_line("prod", "eu-west-1", "123456789012", None, "snapinfra-") == (
        "Stage prod: region eu-west-1, account 123456789012, prefix snapinfra-"
    )
    assert stage_line("dev", "us-east-1", "local", "http://localhost:8000", "dev-") == (
        "Stage dev: region us-east-1, account local (http://localhost:8000), prefix dev-"
    )
    assert account_label(Aws(AwsOptions(endpoint_url="http://127.0.0.1:8000"))) == "local"
    assert account_label(Aws(AwsOptions(endpoint_url="https://dynamodb.example.com"))) is None

    class Sts:
        def __init__(self, answer: Any) -> None:
            self.answer = answer

        def get_caller_identity(self) -> dict[str, str]:
            if isinstance(self.answer, Exception):
                raise self.answer
            return {"Account": self.answer}

    on_aws = Aws(AwsOptions(region="us-east-1"))
    on_aws.__dict__["sts"] = Sts("123456789012")  # the cached client, without a call to AWS
    assert account_label(on_aws) == "123456789012"
    refused = Aws(AwsOptions(region="us-east-1"))
    refused.__dict__["sts"] = Sts(RuntimeError("no network"))
    assert account_label(refused) is None


# -- through the real CLI ----------------------------------------------------------------------

THREE_STAGES = """
prefix: st-
defaults:
  tags: {{ManagedBy: snapinfra-db}}
stages:
  dev:
    prefix: st-dev-
    endpoint_url: {endpoint}
    overrides:
      deletion_protection: false
      point_in_time_recovery: {{enabled: false}}
      tags: {{Stage: dev}}
  staging:
    prefix: st-staging-
    region: us-west-2
    overrides:
      deletion_protection: false
      tables:
        analytics: {{billing: {{mode: PROVISIONED, read: 5, write: 5}}}}
  prod:
    region: eu-west-1
    overrides: {{tags: {{Stage: prod}}}}
default_stage: dev
tables:
  analytics:
    partition_key: id
    ttl: expiresAt
  users:
    partition_key: id
    global_indexes:
      EmailIndex: {{partition_key: email}}
"""

REGIONS = {"dev": "us-east-1", "staging": "us-west-2", "prod": "eu-west-1"}
PREFIXES = {"dev": "st-dev-", "staging": "st-staging-", "prod": "st-"}


def run(*argv: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(argv), env=env)


def client_in(endpoint: str, region: str) -> Any:
    """A client for the endpoint in `region` (moto keeps each region's tables apart)."""
    import botocore.session

    return botocore.session.Session().create_client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=LOCAL_ACCESS_KEY_ID,
        aws_secret_access_key=LOCAL_SECRET_ACCESS_KEY,
    )


def stage_args(stage: str, path: Path, endpoint: str) -> list[str]:
    """dev's endpoint comes from the catalog; the other stages are pointed at the engine explicitly."""
    args = ["--catalog", str(path), "--stage", stage]
    return args if stage == "dev" else [*args, "--endpoint-url", endpoint]


def test_three_stages_side_by_side(engine: Any, tmp_path: Path) -> None:
    endpoint = engine.endpoint_url
    path = write(tmp_path, THREE_STAGES.format(endpoint=endpoint))
    validated = run("validate", "--catalog", str(path))
    assert validated.exit_code == 0, validated.output
    assert "ok (3 stages: dev, staging, prod; 2 tables, 1 global indexes, 0 legacy)" in validated.stderr

    for stage in ("dev", "staging", "prod"):
        applied = run("apply", "--yes", *stage_args(stage, path, endpoint))
        assert applied.exit_code == 0, applied.output
        heading = f"Stage {stage}: region {REGIONS[stage]}, account local ({endpoint}), prefix {PREFIXES[stage]}"
        assert applied.stdout.splitlines()[0] == heading, applied.stdout
    for stage in ("dev", "staging", "prod"):
        planned = run("plan", "--detailed-exitcode", *stage_args(stage, path, endpoint))
        assert planned.exit_code == 0, planned.output
        assert "No changes. 2 table(s) match the catalog." in planned.stdout
        assert "Not in the catalog" not in planned.stdout  # the other stages' tables are no orphans
    # Without --stage: default_stage, with its endpoint from the catalog.
    default = run("plan", "--detailed-exitcode", "--catalog", str(path))
    assert default.exit_code == 0 and default.stdout.startswith("Stage dev: "), default.output

    described = {
        stage: {
            key: client_in(endpoint, REGIONS[stage]).describe_table(TableName=f"{PREFIXES[stage]}{key}")["Table"]
            for key in ("analytics", "users")
        }
        for stage in REGIONS
    }
    protected = {s: [t.get("DeletionProtectionEnabled", False) for t in d.values()] for s, d in described.items()}
    assert protected == {"dev": [False, False], "staging": [False, False], "prod": [True, True]}
    billing = {
        s: [t.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED") for t in d.values()]
        for s, d in described.items()
    }
    assert billing == {
        "dev": ["PAY_PER_REQUEST"] * 2,
        "staging": ["PROVISIONED", "PAY_PER_REQUEST"],
        "prod": ["PAY_PER_REQUEST"] * 2,
    }
    assert described["staging"]["analytics"]["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    if engine.name == "moto":  # DynamoDB Local has neither PITR nor tags
        for stage, enabled in (("dev", "DISABLED"), ("staging", "ENABLED"), ("prod", "ENABLED")):
            client = client_in(endpoint, REGIONS[stage])
            backups = client.describe_continuous_backups(TableName=f"{PREFIXES[stage]}users")
            status = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
            assert status["PointInTimeRecoveryStatus"] == enabled, stage
            arn = described[stage]["users"]["TableArn"]
            tags = {t["Key"]: t["Value"] for t in client.list_tags_of_resource(ResourceArn=arn)["Tags"]}
            assert tags.get("Stage") == {"dev": "dev", "prod": "prod"}.get(stage), stage

    for stage in ("dev", "staging", "prod"):
        shown = run("env", *stage_args(stage, path, endpoint))
        assert shown.exit_code == 0, shown.output
        assert shown.stdout.splitlines() == [
            f"DYNAMODB_ANALYTICS_TABLE={PREFIXES[stage]}analytics",
            f"DYNAMODB_USERS_TABLE={PREFIXES[stage]}users",
            f"AWS_REGION={REGIONS[stage]}",
            f"AWS_ENDPOINT_URL_DYNAMODB={endpoint}",
        ]
    # The stage from the environment; offline, without an endpoint, prod's .env names only its tables and region.
    from_env = run("env", "--catalog", str(path), "--format", "json", env={"SNAPINFRA_DB_STAGE": "prod"})
    assert from_env.exit_code == 0, from_env.output
    import json

    assert json.loads(from_env.stdout) == {
        "DYNAMODB_ANALYTICS_TABLE": "st-analytics",
        "DYNAMODB_USERS_TABLE": "st-users",
        "AWS_REGION": "eu-west-1",
    }

    healthy = run("health", *stage_args("staging", path, endpoint))
    assert healthy.exit_code == 0, healthy.output
    assert "region us-west-2 · prefix st-staging-" in healthy.stdout.splitlines()[0]

    # destroy --stage dev deletes dev's tables only (dev's endpoint from the catalog, no protection there).
    destroyed = run("destroy", "--yes", "--no-backup", "--catalog", str(path), "--stage", "dev")
    assert destroyed.exit_code == 0, destroyed.output
    for stage in ("staging", "prod"):
        still = run("plan", "--detailed-exitcode", *stage_args(stage, path, endpoint))
        assert still.exit_code == 0, still.output
    gone = run("plan", "--detailed-exitcode", "--catalog", str(path), "--stage", "dev")
    assert gone.exit_code == 2 and "Plan: 2 to create" in gone.stdout, gone.output


def test_import_takes_the_stage(moto_engine: Any, tmp_path: Path) -> None:
    """import --stage: the stage's prefix and endpoint, and its merged defaults left out; --add-to checks
    the merged catalog as that stage, so plan --stage shows no changes (once the rest is applied)."""
    endpoint = moto_engine.endpoint_url
    path = write(tmp_path, THREE_STAGES.format(endpoint=endpoint))
    moto_engine.client().create_table(
        TableName="st-dev-extra",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        SSESpecification={"Enabled": True, "SSEType": "KMS"},
        Tags=[{"Key": "ManagedBy", "Value": "snapinfra-db"}, {"Key": "Stage", "Value": "dev"}],
    )
    printed = run("import", "st-dev-extra", "--catalog", str(path), "--stage", "dev")
    assert printed.exit_code == 0, printed.output
    assert "  extra:\n    partition_key: id\n" in printed.stdout
    entry = printed.stdout[printed.stdout.index("  extra:") :]
    assert "deletion_protection" not in entry and "point_in_time_recovery" not in entry, entry

    added = run("import", "st-dev-extra", "--add-to", str(path), "--stage", "dev")
    assert added.exit_code == 0, added.output
    assert run("apply", "--yes", "--catalog", str(path), "--stage", "dev").exit_code == 0
    planned = run("plan", "--detailed-exitcode", "--catalog", str(path), "--stage", "dev")
    assert planned.exit_code == 0, planned.output
    assert "No changes. 3 table(s) match the catalog." in planned.stdout
    # In prod the imported table is prod's: its own defaults, not dev's.
    assert load_catalog(path, stage="prod").table("st-extra").deletion_protection is True


def test_purge_legacy_and_restore_export_connect_as_the_stage(moto_engine: Any, tmp_path: Path) -> None:
    """Neither has a prefix to take from the stage, only where to connect: dev's endpoint, from the catalog."""
    endpoint = moto_engine.endpoint_url
    path = write(tmp_path, THREE_STAGES.format(endpoint=endpoint) + "legacy: [old-users]\n")
    moto_engine.client().create_table(
        TableName="old-users",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    moto_engine.client().put_item(TableName="old-users", Item={"id": {"S": "a"}})
    exports = tmp_path / "exports"
    purged = run("purge-legacy", "--yes", "--export-dir", str(exports), "--catalog", str(path), "--stage", "dev")
    assert purged.exit_code == 0, purged.output
    assert "old-users" not in moto_engine.client().list_tables()["TableNames"]
    # No --endpoint-url: only the stage (dev's endpoint_url in the catalog) points restore-export at the engine.
    restored = run("restore-export", str(exports), "--catalog", str(path), "--stage", "dev")
    assert restored.exit_code == 0, restored.output
    assert moto_engine.client().scan(TableName="old-users")["Items"] == [{"id": {"S": "a"}}]


def test_stage_errors_through_the_cli(tmp_path: Path) -> None:
    path = write(tmp_path, THREE_STAGES.format(endpoint="http://localhost:1"))
    for command in ("validate", "plan", "apply", "health", "env", "destroy", "purge-legacy", "import"):
        result = run(command, "--catalog", str(path), "--stage", "prd")
        assert result.exit_code == 1, (command, result.output)
        assert result.stderr == f"error: {path}: no stage 'prd' (did you mean 'prod'? stages: dev, staging, prod)\n"
    plain = write(tmp_path, "tables: {users: {partition_key: id}}\n", "plain.yaml")
    result = run("validate", "--catalog", str(plain), env={"SNAPINFRA_DB_STAGE": "prod"})
    assert result.exit_code == 1 and "this catalog declares no stages" in result.stderr
    assert run("validate", "--catalog", str(plain)).exit_code == 0
    only = run("validate", "--catalog", str(path), "--stage", "staging")
    assert only.exit_code == 0 and f"{path}: ok (stage staging: 2 tables" in only.stderr


def test_every_command_that_reads_the_catalog_takes_stage() -> None:
    import typer.main

    def commands(group: Any, path: str = "") -> list[tuple[str, Any]]:
        found = []
        for name, command in group.commands.items():
            found.append((f"{path}{name}", command))  # a group's own options too (local applies the catalog)
            if hasattr(command, "commands"):
                found += commands(command, f"{path}{name} ")
        return found

    missing, staged = set(), set()
    for name, command in commands(typer.main.get_command(app)):
        options = {opt for param in command.params for opt in param.opts}
        if "--catalog" in options and "--stage" not in options:
            missing.add(name)
        stage = next((p for p in command.params if "--stage" in p.opts), None)
        if stage is not None:
            assert stage.envvar == "SNAPINFRA_DB_STAGE", name
            staged.add(name)
    assert missing == set()
    assert {"validate", "plan", "apply", "env", "health", "import", "purge-legacy", "destroy"} <= staged
    assert {"restore-export", "local"} <= staged
