"""`iam-policy backend | operator`: least-privilege policies, proven sufficient and minimal on moto with IAM enforced.

How it is proven, through the real CLI on the AWS path (moto's `mock_aws`, no endpoint URL: the tool
behaves as against AWS, STS and KMS included):

* sufficient: each command group runs with an IAM user holding only `iam-policy operator --for GROUP`
  (moto checks every call's credentials and action against the user's policies);
* exactly the list: every call the tool makes is recorded (a botocore hook on every client it builds);
  the actions recorded for a group must equal `ops.permissions.OPERATOR[group]` (a call missing from
  the list fails, so does a listed action never called), and every recorded call's resource ARN must
  be allowed by the policy as generated, table ARNs and all;
* minimal: `apply` is run again without each one of its actions, and must fail with an access-denied
  line (or, for the two whose refusal the tool tolerates by design, visibly lose what they are for);
* a scan of the source: every AWS operation the code names is listed.

What moto's enforcement does not check: resources (it authorises DynamoDB calls against "*", so a
statement scoped to table ARNs never matches there: the policies are widened to "*" before they are
attached, and resources are checked by `allows` below against the policy as printed), conditions,
and implied actions (CreateTable with Tags also needs dynamodb:TagResource on AWS, a restore needs the
target's item actions; moto asks for neither: `_needs` adds them). Four AWS behaviours moto lacks are
restored by the `cloud` fixture: DynamoDB's default key is AWS-managed, a backup is CREATING before it
is AVAILABLE, a restored table keeps its billing mode and key, and a refusal is DynamoDB's JSON
AccessDeniedException (moto answers JSON services with XML).
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner, Result

import snapinfra_db.aws as aws_module
from snapinfra_db.catalog import load_catalog
from snapinfra_db.cli.application import app
from snapinfra_db.ops.permissions import (
    BACKEND_ITEM_ACTIONS,
    GROUPS,
    NEEDS_NO_PERMISSION,
    OPERATOR,
    Group,
    Place,
    groups_actions,
    operator_policy,
)

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
PLACE = Place(REGION, ACCOUNT)
# botocore's service name -> the IAM prefix of its actions (Streams' are dynamodb:, CloudWatch signs as monitoring)
IAM_PREFIX = {
    "dynamodb": "dynamodb",
    "dynamodbstreams": "dynamodb",
    "kms": "kms",
    "sts": "sts",
    "cloudwatch": "cloudwatch",
}
RESTORE_TARGET_ACTIONS = ("BatchWriteItem", "DeleteItem", "GetItem", "PutItem", "Query", "Scan", "UpdateItem")

V1 = """
prefix: iam-
defaults:
  point_in_time_recovery: {enabled: true}
  tags: {ManagedBy: snapinfra-db, Project: iam}
legacy: [old-users]
tables:
  notes:
    partition_key: id
    ttl: expiresAt
    global_indexes:
      ByOwner: {partition_key: owner, sort_key: createdAt}
  users:
    partition_key: id
    ttl: expiresAt
    stream: {enabled: false}
"""
# V1 + a tag changed (TagResource), an index added (UpdateTable), a new table with TTL and PITR.
V2 = V1.replace("Project: iam}", "Project: iam-2}").replace(
    "    stream: {enabled: false}\n",
    "    stream: {enabled: false}\n    global_indexes:\n      ByEmail: {partition_key: email}\n"
    "  teams:\n    partition_key: id\n    ttl: expiresAt\n",
)
# V1 with CloudWatch alarms on every table; then an `alarms` block that wants none (the made ones are deleted).
ALARMS = V1.replace(
    "  tags: {ManagedBy: snapinfra-db, Project: iam}\n",
    "  tags: {ManagedBy: snapinfra-db, Project: iam}\n  alarms: {throttled_requests: true}\n",
)
NO_ALARMS = V1.replace(
    "  tags: {ManagedBy: snapinfra-db, Project: iam}\n",
    "  tags: {ManagedBy: snapinfra-db, Project: iam}\n  alarms: {}\n",
)
# One table that admin makes on a customer key: only kms:DescribeKey tells plan it is not AWS_MANAGED.
KEYED = """
prefix: iam-
defaults:
  point_in_time_recovery: {enabled: false}
  stream: {enabled: false}
  deletion_protection: false
tables:
  keyed: {partition_key: id}
"""


# --------------------------------------------------------------------------- moto, made to act like AWS


def _widened(policy: dict[str, Any]) -> dict[str, Any]:
    """The policy as moto can enforce it: moto authorises DynamoDB calls against "*", never a table ARN."""
    statements = [{**s, "Resource": "*"} for s in policy["Statement"]]
    return {**policy, "Statement": statements}


def _without(policy: dict[str, Any], action: str) -> dict[str, Any]:
    statements = [{**s, "Action": [a for a in s["Action"] if a != action]} for s in policy["Statement"]]
    return {**policy, "Statement": [s for s in statements if s["Action"]]}


@dataclass
class Recorder:
    """Every call the tool's own clients make: (IAM service prefix, operation, parameters)."""

    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((IAM_PREFIX[model.service_model.service_name], model.name, dict(params)))


@dataclass
class Cloud:
    admin: dict[str, str]
    recorder: Recorder
    monkeypatch: pytest.MonkeyPatch
    root: Path
    users: int = 0

    def client(self, service: str, keys: dict[str, str] | None = None) -> Any:
        keys = keys or self.admin
        return boto3.client(
            service,
            region_name=REGION,
            aws_access_key_id=keys["AccessKeyId"],
            aws_secret_access_key=keys["SecretAccessKey"],
        )

    def user(self, policy: dict[str, Any]) -> dict[str, str]:
        """A new IAM user whose only permissions are `policy` (widened: moto cannot match table ARNs)."""
        self.users += 1
        name = f"user{self.users}"
        iam = self.client("iam")
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="only", PolicyDocument=json.dumps(_widened(policy)))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}

    def cli(self, keys: dict[str, str] | None, *args: str) -> Result:
        keys = keys or self.admin
        self.monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys["AccessKeyId"])
        self.monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys["SecretAccessKey"])
        return CliRunner().invoke(app, list(args))

    def catalog(self, name: str) -> str:
        return str(self.root / f"{name}.yaml")


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Cloud]:
    """mock_aws with IAM enforced for every call (an admin user with "*" for the setting up), the
    tool's calls recorded, and four AWS behaviours moto lacks."""
    from moto.core import enable_iam_authentication
    from moto.core.exceptions import JsonRESTError
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import RestoredPITTable, RestoredTable, Table
    from moto.iam.access_control import IAMRequest
    from moto.kms import kms_backends

    created = Table._get_default_encryption_key

    def aws_managed(self: Table, account_id: str, region: str) -> str:
        arn: str = created(self, account_id, region)
        kms_backends[account_id][region].describe_key(arn).key_manager = "AWS"
        return arn

    create_backup, describe_backup = DynamoDBBackend.create_backup, DynamoDBBackend.describe_backup

    def creating(self: DynamoDBBackend, table_name: str, backup_name: str) -> Any:
        backup = create_backup(self, table_name, backup_name)
        backup.status = "CREATING"  # AWS: CreateBackup answers CREATING; DescribeBackup later says AVAILABLE
        return backup

    def described(self: DynamoDBBackend, backup_arn: str) -> Any:
        backup = describe_backup(self, backup_arn)
        backup.status = "AVAILABLE"
        return backup

    def carried(parse: Callable[[Any, Any], dict[str, Any]], source: Callable[[Any], Table]) -> Any:
        def params(self: Any, origin: Any) -> dict[str, Any]:  # AWS: a restore keeps billing mode and key
            table = source(origin)
            sse = dict(table.sse_specification) if table.sse_specification else None
            return {**parse(self, origin), "billing_mode": table.billing_mode, "sse_specification": sse}

        return params

    from_backup = carried(RestoredTable._parse_params_from_backup, lambda backup: backup.table)
    from_time = carried(RestoredPITTable._parse_params_from_table, lambda table: table)
    denied, checked = IAMRequest._raise_access_denied, IAMRequest.check_action_permitted

    def iam_names(self: IAMRequest, resource: str) -> None:  # CloudWatch signs as "monitoring"; IAM says cloudwatch:
        self._action = self._action.replace("monitoring:", "cloudwatch:", 1)
        checked(self, resource)

    def json_denied(self: IAMRequest) -> None:
        if self._service in ("dynamodb", "kms"):  # JSON protocols: AWS answers 400 AccessDeniedException
            raise JsonRESTError(
                "com.amazon.coral.service#AccessDeniedException",
                f"User: {self._access_key.arn} is not authorized to perform: {self._action}",
            )
        denied(self)

    recorder = Recorder()
    bound = aws_module.bound_silence

    def recording(client: Any, server: str, *args: Any, **kwargs: Any) -> Any:
        client.meta.events.register("before-parameter-build", recorder)
        return bound(client, server, *args, **kwargs)

    monkeypatch.setattr(Table, "_get_default_encryption_key", aws_managed)
    monkeypatch.setattr(DynamoDBBackend, "create_backup", creating)
    monkeypatch.setattr(DynamoDBBackend, "describe_backup", described)
    monkeypatch.setattr(IAMRequest, "_raise_access_denied", json_denied)
    monkeypatch.setattr(IAMRequest, "check_action_permitted", iam_names)
    monkeypatch.setattr(RestoredTable, "_parse_params_from_backup", from_backup)
    monkeypatch.setattr(RestoredPITTable, "_parse_params_from_table", from_time)
    monkeypatch.setattr(aws_module, "bound_silence", recording)
    # botocore sends Streams calls to an account endpoint (ACCOUNT.streams-ddb...) that moto does not serve;
    # the SDKs' own per-service variable points them at the regional one (the tool stays on the AWS path).
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", "https://streams.dynamodb.us-east-1.amazonaws.com")
    for name, text in (("v1", V1), ("v2", V2), ("keyed", KEYED), ("alarms", ALARMS), ("no-alarms", NO_ALARMS)):
        (tmp_path / f"{name}.yaml").write_text(textwrap.dedent(text))
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)  # IAM not enforced yet: the admin is made here
        iam.create_user(UserName="admin")
        everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=json.dumps(everything))
        admin = iam.create_access_key(UserName="admin")["AccessKey"]
        _ADMIN[:] = [admin["AccessKeyId"], admin["SecretAccessKey"]]
        with enable_iam_authentication():
            yield Cloud(admin=admin, recorder=recorder, monkeypatch=monkeypatch, root=tmp_path)


# --------------------------------------------------------------------------- what each group runs


def _make_tables(cloud: Cloud) -> None:
    """What the commands find besides the catalog's tables: an orphan (tagged, protected, one item),
    a legacy table (TTL, tags, protected, a KEYS_ONLY stream, two items), and a table on a customer key."""
    ddb = cloud.client("dynamodb")
    key = _key_schema()
    ddb.create_table(
        TableName="iam-old",
        BillingMode="PAY_PER_REQUEST",
        DeletionProtectionEnabled=True,
        Tags=[{"Key": "ManagedBy", "Value": "snapinfra-db"}],
        **key,
    )
    ddb.put_item(TableName="iam-old", Item={"id": {"S": "a"}})
    ddb.create_table(
        TableName="old-users",
        BillingMode="PAY_PER_REQUEST",
        DeletionProtectionEnabled=True,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
        Tags=[{"Key": "Team", "Value": "legacy"}],
        **key,
    )
    ddb.update_time_to_live(TableName="old-users", TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})
    for n in ("a", "b"):
        ddb.put_item(TableName="old-users", Item={"id": {"S": n}})
    customer = cloud.client("kms").create_key(Description="a customer key")["KeyMetadata"]["Arn"]
    ddb.create_table(
        TableName="iam-keyed",
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": customer},
        **key,
    )


@dataclass(frozen=True)
class Step:
    catalog: str  # v1, v2 or keyed: the catalog the command runs on (and the policy is made from)
    argv: tuple[str, ...]
    exit_code: int = 0
    says: str = ""  # text the output must hold
    before: Callable[[], object] | None = None  # what the admin does first (with boto3)


def _steps(group: Group, cloud: Cloud) -> list[Step]:
    """The commands of `group`, after the admin has set up what they need (with the tool itself)."""
    admin = cloud.admin
    exports = cloud.root / "exports"
    if group in ("plan", "health", "cost", "import", "prune", "backup", "restore"):
        assert cloud.cli(admin, "apply", "--yes", "-c", cloud.catalog("v1")).exit_code == 0
    if group == "health":
        assert cloud.cli(admin, "apply", "--yes", "-c", cloud.catalog("v2")).exit_code == 0
    if group == "restore-export":
        purged = cloud.cli(
            admin,
            "purge-legacy",
            "-c",
            cloud.catalog("v1"),
            "--yes",
            "--export-dir",
            str(exports),
            "--disable-deletion-protection",
        )
        assert purged.exit_code == 0, purged.output
    backup = ""
    if group == "restore":
        ddb = cloud.client("dynamodb")
        backup = ddb.create_backup(TableName="iam-users", BackupName="before")["BackupDetails"]["BackupArn"]
        ddb.describe_backup(BackupArn=backup)  # AVAILABLE from now on
    return {
        "plan": [Step("v2", ("plan", "--json")), Step("keyed", ("plan", "--detailed-exitcode"), 2)],
        "apply": [
            Step("v1", ("apply", "--yes"), says="managed by snapinfra-db, not in the catalog (kept"),
            Step("v2", ("apply", "--yes")),
            Step("v2", ("health",)),
            Step("keyed", ("plan", "--detailed-exitcode"), 2, says="encryption"),
        ],
        "prune": [
            Step(
                "v2",
                (
                    "apply",
                    "--prune",
                    "--yes",
                    "--export-dir",
                    str(exports),
                    "--backup",
                    "--disable-deletion-protection",
                ),
                says="iam-old",
            )
        ],
        "health": [Step("v2", ("health", "--probe"))],
        "cost": [Step("v1", ("cost",), says="users  on-demand")],
        "import": [Step("v1", ("import", "--all", "--prefix", "iam-"))],
        "migrate": [
            Step("v1", ("migrate", "old-users", "users", "--yes"), says="2 written"),
            Step("v1", ("migrate", "old-users", "users", "--yes", "--follow", "--until-caught-up"), before=_change),
            Step("v1", ("migrate", "old-users", "users", "--verify")),
            Step("v1", ("migrate", "old-users", "users", "--verify", "--sample", "1")),
        ],
        "purge": [
            Step(
                "v1",
                (
                    "purge-legacy",
                    "--yes",
                    "--export-dir",
                    str(exports),
                    "--backup",
                    "--disable-deletion-protection",
                    "--exact-count",
                ),
            ),
            Step("v1", ("apply", "--yes")),  # admin's part: tables for destroy (recorded calls are ignored)
            Step("v1", ("destroy", "--yes", "--export-dir", str(cloud.root / "more"), "--disable-deletion-protection")),
        ],
        "backup": [Step("v1", ("backup",)), Step("v1", ("backup", "list"), says="iam-notes")],
        "restore": [
            Step("v1", ("restore", "users", "--latest", "--as", "iam-users-copy"), says="iam-users-copy"),
            Step("v1", ("restore", "users", "--from-backup", backup, "--as", "iam-users-back"), says="iam-users-back"),
        ],
        "restore-export": [
            Step("v1", ("restore-export", str(exports))),
            Step("v1", ("restore-export", str(exports)), 1, says="holds items"),
        ],
    }[group]


def _change() -> None:
    """A change to migrate's SOURCE while it is copied: one item added, one removed (its stream records both)."""
    ddb = boto3.client("dynamodb", region_name=REGION, aws_access_key_id=_ADMIN[0], aws_secret_access_key=_ADMIN[1])
    ddb.put_item(TableName="old-users", Item={"id": {"S": "c"}})
    ddb.delete_item(TableName="old-users", Key={"id": {"S": "a"}})


_ADMIN: list[str] = []  # the admin's keys, for `before` steps
ADMIN_STEPS = {("purge", 1)}  # steps the admin runs between a group's own


Run = tuple[Step, Result, list[Any]]


def _run(group: Group, cloud: Cloud, keys: dict[str, str]) -> tuple[list[Step], list[Run]]:
    """Run the group's steps as `keys` (with the calls each made); stop at the first that exits otherwise."""
    steps = _steps(group, cloud)
    done: list[Run] = []
    for number, step in enumerate(steps):
        who = cloud.admin if (group, number) in ADMIN_STEPS else keys
        if step.before is not None:
            step.before()
        cloud.recorder.calls.clear()
        result = cloud.cli(who, *step.argv, "-c", cloud.catalog(step.catalog))
        calls = [] if who is cloud.admin else list(cloud.recorder.calls)
        done.append((step, result, calls))
        if result.exit_code != step.exit_code:
            break
    return steps, done


def _policy(cloud: Cloud, group: Group, catalog: str = "v1", *more: Group) -> dict[str, Any]:
    """`iam-policy operator --for GROUP ...`, through the CLI, offline (--account-id, --region)."""
    result = cloud.cli(
        None,
        "iam-policy",
        "operator",
        *(word for g in (group, *more) for word in ("--for", g)),
        "-c",
        cloud.catalog(catalog),
        "--account-id",
        ACCOUNT,
        "--region",
        REGION,
    )
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _needs(call: tuple[str, str, dict[str, Any]]) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs AWS authorises a recorded call against."""
    service, operation, params = call
    action = f"{service}:{operation}"
    if action in NEEDS_NO_PERMISSION:
        return []
    if service == "kms":
        return [(action, params["KeyId"])]
    if operation in ("ListTables", "ListBackups", "GetMetricData", "DescribeAlarms"):
        return [(action, "*")]
    if operation == "PutMetricAlarm":  # with Tags, AWS also asks for cloudwatch:TagResource
        alarm = PLACE.alarm(params["AlarmName"])
        return [(action, alarm)] + ([("cloudwatch:TagResource", alarm)] if params.get("Tags") else [])
    if operation == "DeleteAlarms":
        return [(action, PLACE.alarm(name)) for name in params["AlarmNames"]]
    if "ResourceARN" in params:  # CloudWatch's spelling
        return [(action, params["ResourceARN"])]
    if "StreamArn" in params:
        return [(action, params["StreamArn"])]
    if operation == "GetRecords":  # on the stream its iterator came from: migrate reads one stream
        return [(action, streams[0]) for streams in [sorted(STREAMS_SEEN)]]
    if "ResourceArn" in params:
        return [(action, params["ResourceArn"])]
    if "BackupArn" in params and operation != "RestoreTableFromBackup":
        return [(action, params["BackupArn"])]
    if "RequestItems" in params:
        return [(action, PLACE.table(name)) for name in params["RequestItems"]]
    if operation in ("RestoreTableToPointInTime", "RestoreTableFromBackup"):
        # On the source (table, or backup); AWS also authorises the writes into the target with its item actions.
        source = params.get("BackupArn") or PLACE.table(params["SourceTableName"])
        target = PLACE.table(params["TargetTableName"])
        return [(action, source), *((f"dynamodb:{a}", target) for a in RESTORE_TARGET_ACTIONS)]
    table = PLACE.table(params["TableName"])
    needs = [(action, f"{table}/index/{params['IndexName']}" if params.get("IndexName") else table)]
    if operation == "CreateTable" and params.get("Tags"):
        needs.append(("dynamodb:TagResource", table))  # AWS asks for it; moto does not
    return needs


STREAMS_SEEN: set[str] = set()


def allows(policy: dict[str, Any], action: str, resource: str) -> bool:
    """IAM's evaluation of an Allow-only identity policy: some statement matches action and resource
    (`*` and `?` as IAM reads them; `*` matches `/` too)."""
    for statement in policy["Statement"]:
        actions, resources = statement["Action"], statement["Resource"]
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if (
            statement["Effect"] == "Allow"
            and any(fnmatchcase(action, a) for a in actions)
            and any(fnmatchcase(resource, r) for r in resources)
        ):
            return True
    return False


# --------------------------------------------------------------------------- sufficient, and exactly the list


@pytest.mark.parametrize("group", GROUPS)
def test_each_group_runs_on_its_policy_alone_and_calls_exactly_its_list(group: Group, cloud: Cloud) -> None:
    _make_tables(cloud)
    keys = cloud.user(_policy(cloud, group))
    steps, runs = _run(group, cloud, keys)
    for step, result, _ in runs:  # sufficient: every step ends as it does for the admin
        assert result.exit_code == step.exit_code, f"{' '.join(step.argv)}:\n{result.output}"
        assert step.says in result.output, result.output
        assert "Traceback" not in result.output
    assert len(runs) == len(steps)

    called: set[str] = set()
    for step, _, calls in runs:
        STREAMS_SEEN.clear()
        STREAMS_SEEN.update(c[2]["StreamArn"] for c in calls if "StreamArn" in c[2])
        policy = _policy(cloud, group, step.catalog)  # the policy as printed: table ARNs, not "*"
        for call in calls:
            for action, resource in _needs(call):
                called.add(action)
                assert allows(policy, action, resource), f"{' '.join(step.argv)}: {action} on {resource} not allowed"
    # The list is exactly what the commands call: nothing missing (that would fail above too), nothing unused.
    listed = groups_actions([group])
    unlisted, unused = sorted(called - set(listed)), sorted(set(listed) - called)
    assert (unlisted, unused) == ([], []), f"called, not listed: {unlisted}; listed, never called: {unused}"


# --------------------------------------------------------------------------- minimal


APPLY_ACTIONS = groups_actions(["apply"])


@pytest.mark.parametrize("action", APPLY_ACTIONS)
def test_apply_fails_without_any_one_of_its_actions(action: str, cloud: Cloud) -> None:
    _make_tables(cloud)
    keys = cloud.user(_without(_policy(cloud, "apply"), action))
    steps, runs = _run("apply", cloud, keys)
    output = "\n".join(r.output for _, r, _ in runs)
    assert "Traceback" not in output
    last_step, last, _ = runs[-1]
    if action == "dynamodb:ListTables":
        # Tolerated by design: the orphan look-up is skipped, and says so; everything else works.
        assert len(runs) == len(steps) and last.exit_code == last_step.exit_code, output
        assert "ListTables was refused (AccessDeniedException)" in output
    elif action == "kms:DescribeKey":
        # Tolerated by design: without it a table on a customer key passes for AWS_MANAGED (drift missed).
        assert last_step.argv[0] == "plan" and last.exit_code == 0, output
    else:
        operation = action.split(":")[1]
        assert last.exit_code == 1, output
        assert re.search(rf"{operation}: access denied: User: .* is not authorized to perform: {action}", output), (
            output
        )


def test_a_catalog_with_alarms_adds_cloudwatch_and_each_call_is_allowed(cloud: Cloud) -> None:
    """plan, apply, health and apply again (the alarms no longer wanted are deleted) with the policy for
    `--for apply --for health`: the CloudWatch grants appear with an `alarms` block, and suffice."""
    keys = cloud.user(_policy(cloud, "apply", "alarms", "health"))
    steps = [
        Step("alarms", ("plan",), says="iam-notes-throttled-requests"),
        Step("alarms", ("apply", "--yes")),
        Step("alarms", ("health",)),
        Step("no-alarms", ("apply", "--yes"), says="iam-notes-throttled-requests"),
    ]
    called: set[str] = set()
    for step in steps:
        cloud.recorder.calls.clear()
        result = cloud.cli(keys, *step.argv, "-c", cloud.catalog(step.catalog))
        assert result.exit_code == step.exit_code and step.says in result.output, result.output
        policy = _policy(cloud, "apply", step.catalog, "health")
        for call in cloud.recorder.calls:
            for action, resource in _needs(call):
                called.add(action)
                assert allows(policy, action, resource), f"{' '.join(step.argv)}: {action} on {resource} not allowed"
    alarm_actions = set(groups_actions(["apply", "health"], alarms=True)) - set(groups_actions(["apply", "health"]))
    assert {a for a in called if a.startswith("cloudwatch:")} == alarm_actions
    assert alarm_actions == {
        "cloudwatch:DescribeAlarms",
        "cloudwatch:ListTagsForResource",
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:TagResource",
        "cloudwatch:DeleteAlarms",
    }
    without = _policy(cloud, "apply", "v1", "health")
    assert not any(a.startswith("cloudwatch:") for s in without["Statement"] for a in s["Action"])


# --------------------------------------------------------------------------- the source names nothing unlisted


def test_every_aws_operation_the_source_names_is_listed() -> None:
    """A static net under the recordings: each AWS operation that code the CLI can run names (a method
    call, a paginator, or an operation name dispatched with getattr) is in some group's list."""
    import botocore.session
    import grimp
    from botocore import xform_name

    graph = grimp.build_graph("snapinfra_db", cache_dir=None)
    reachable = graph.find_upstream_modules("snapinfra_db.cli", as_package=True) | {"snapinfra_db.cli"}
    root = Path(aws_module.__file__).parent.parent
    text = "\n".join(
        path.read_text()
        for path in sorted((root / "snapinfra_db").rglob("*.py"))
        if ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__") in reachable
    )
    listed = {g.action for grants in OPERATOR.values() for g in grants} | NEEDS_NO_PERMISSION
    session = botocore.session.get_session()
    actions: dict[str, set[str]] = {}  # client method name -> the IAM actions of the services that have it
    for service, prefix in IAM_PREFIX.items():
        for operation in session.get_service_model(service).operation_names:
            actions.setdefault(xform_name(operation), set()).add(f"{prefix}:{operation}")

    def named(name: str) -> bool:  # a call, a paginator, or (two words or more) a name in quotes
        quoted = rf"[\"']{name}[\"']" if "_" in name else rf"get_paginator\([\"']{name}[\"']\)"
        return re.search(rf"\.{name}\(|{quoted}", text) is not None

    found = {name for name in actions if named(name)}
    assert {"describe_table", "update_continuous_backups", "scan", "describe_key", "get_metric_data"} <= found
    # A name several services share (tag_resource: DynamoDB's and KMS's) counts as listed if one of them is.
    assert sorted(" or ".join(sorted(actions[n])) for n in found if not actions[n] & listed) == []


# --------------------------------------------------------------------------- the backend's policy


def test_the_backend_policy_allows_the_items_indexes_and_streams_and_nothing_else(cloud: Cloud) -> None:
    assert cloud.cli(None, "apply", "--yes", "-c", cloud.catalog("v2")).exit_code == 0
    printed = cloud.cli(
        None, "iam-policy", "backend", "-c", cloud.catalog("v2"), "--account-id", ACCOUNT, "--region", REGION
    )
    assert printed.exit_code == 0, printed.output
    policy = json.loads(printed.stdout)
    keys = cloud.user(policy)
    ddb, streams = cloud.client("dynamodb", keys), cloud.client("dynamodbstreams", keys)

    item = {"id": {"S": "1"}, "owner": {"S": "ann"}, "createdAt": {"S": "2026"}}
    ddb.put_item(TableName="iam-notes", Item=item)
    ddb.get_item(TableName="iam-notes", Key={"id": {"S": "1"}})
    ddb.update_item(TableName="iam-notes", Key={"id": {"S": "1"}}, AttributeUpdates={"x": {"Value": {"S": "y"}}})
    ddb.query(
        TableName="iam-notes",
        IndexName="ByOwner",
        KeyConditionExpression="#o = :o",
        ExpressionAttributeNames={"#o": "owner"},
        ExpressionAttributeValues={":o": {"S": "ann"}},
    )
    ddb.scan(TableName="iam-users")
    ddb.batch_write_item(RequestItems={"iam-users": [{"PutRequest": {"Item": {"id": {"S": "u"}}}}]})
    ddb.batch_get_item(RequestItems={"iam-users": {"Keys": [{"id": {"S": "u"}}]}})
    ddb.describe_table(TableName="iam-teams")
    ddb.delete_item(TableName="iam-notes", Key={"id": {"S": "1"}})
    arn = streams.list_streams(TableName="iam-notes")["Streams"][0]["StreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    assert streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]

    def refused(call: Callable[[], Any]) -> bool:
        try:
            call()
        except ddb.exceptions.ClientError as exc:
            return exc.response["Error"]["Code"] == "AccessDeniedException"
        return False

    assert refused(lambda: ddb.list_tables())
    assert refused(lambda: ddb.delete_table(TableName="iam-notes"))
    assert refused(lambda: ddb.update_table(TableName="iam-notes", DeletionProtectionEnabled=False))
    assert refused(lambda: ddb.create_table(TableName="iam-x", **_key_schema(), BillingMode="PAY_PER_REQUEST"))

    # Resources (moto cannot tell): the printed policy names the catalog's tables, indexes, streams only.
    notes = PLACE.table("iam-notes")
    assert allows(policy, "dynamodb:PutItem", notes)
    assert allows(policy, "dynamodb:Query", f"{notes}/index/ByOwner")
    assert not allows(policy, "dynamodb:PutItem", f"{notes}/index/ByOwner")  # indexes: Query and Scan only
    assert allows(policy, "dynamodb:GetRecords", f"{notes}/stream/2026-11-26T00:00:00.000")
    assert not allows(policy, "dynamodb:GetRecords", f"{PLACE.table('iam-users')}/stream/x")  # users: no stream
    assert not allows(policy, "dynamodb:GetItem", PLACE.table("iam-old"))
    assert not allows(policy, "dynamodb:GetItem", PLACE.table("iam-notes-copy"))


def _key_schema() -> dict[str, Any]:
    return {
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
    }


def test_the_read_only_backend_policy_refuses_writes(cloud: Cloud) -> None:
    assert cloud.cli(None, "apply", "--yes", "-c", cloud.catalog("v1")).exit_code == 0
    printed = cloud.cli(
        None,
        "iam-policy",
        "backend",
        "--read-only",
        "-c",
        cloud.catalog("v1"),
        "--account-id",
        ACCOUNT,
        "--region",
        REGION,
    )
    policy = json.loads(printed.stdout)
    ddb = cloud.client("dynamodb", cloud.user(policy))
    ddb.get_item(TableName="iam-notes", Key={"id": {"S": "1"}})
    ddb.scan(TableName="iam-notes", IndexName="ByOwner")
    for write in (
        lambda: ddb.put_item(TableName="iam-notes", Item={"id": {"S": "1"}}),
        lambda: ddb.delete_item(TableName="iam-notes", Key={"id": {"S": "1"}}),
        lambda: ddb.batch_write_item(RequestItems={"iam-notes": [{"DeleteRequest": {"Key": {"id": {"S": "1"}}}}]}),
    ):
        with pytest.raises(ddb.exceptions.ClientError, match="AccessDeniedException"):
            write()


# --------------------------------------------------------------------------- the documents themselves


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


OFFLINE = ("--account-id", ACCOUNT, "--region", "eu-west-1")


def test_the_backend_policy_for_tables_yaml() -> None:
    result = run("iam-policy", "backend", "-c", "tables.yaml", *OFFLINE)
    assert result.exit_code == 0, result.output
    assert result.stdout == run("iam-policy", "backend", "-c", "tables.yaml", *OFFLINE).stdout  # deterministic
    policy = json.loads(result.stdout)
    catalog = load_catalog("tables.yaml")
    place = Place("eu-west-1", ACCOUNT)
    assert policy["Version"] == "2012-10-17"
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert list(by_sid) == ["Items", "IndexQueries", "StreamReads", "ListStreams"]
    assert by_sid["Items"]["Action"] == list(BACKEND_ITEM_ACTIONS)
    assert by_sid["Items"]["Resource"] == [place.table(t.name) for t in catalog.tables]
    indexed = [t.name for t in catalog.tables if t.global_indexes]
    assert by_sid["IndexQueries"]["Resource"] == [place.table(f"{n}/index/*") for n in indexed]
    assert "snapinfra-settings" not in indexed  # the one table without an index
    assert by_sid["StreamReads"]["Resource"] == [place.table(f"{t.name}/stream/*") for t in catalog.tables]
    assert by_sid["ListStreams"] == {
        "Sid": "ListStreams",
        "Effect": "Allow",
        "Action": ["dynamodb:ListStreams"],
        "Resource": ["*"],
    }
    every = {a for s in policy["Statement"] for a in s["Action"]}
    assert not every & {"dynamodb:CreateTable", "dynamodb:DeleteTable", "dynamodb:UpdateTable", "dynamodb:ListTables"}
    assert result.stderr == ""


def test_the_read_only_variant_and_table_narrowing() -> None:
    result = run("iam-policy", "backend", "--read-only", "-t", "users", "-t", "settings", "-c", "tables.yaml", *OFFLINE)
    assert result.exit_code == 0, result.output
    policy = json.loads(result.stdout)
    items = policy["Statement"][0]
    assert items["Action"] == [
        "dynamodb:BatchGetItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:DescribeTable",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:Scan",
    ]
    assert [r.rsplit("/", 1)[1] for r in items["Resource"]] == ["snapinfra-users", "snapinfra-settings"]
    assert policy["Statement"][1]["Resource"] == [Place("eu-west-1", ACCOUNT).table("snapinfra-users/index/*")]


def test_the_operator_policy_scopes_writes_to_the_catalog_and_reads_to_the_prefix() -> None:
    result = run(
        "iam-policy", "operator", "--for", "apply", "-c", "tables.yaml", "--prefix", "snapinfra-staging-", *OFFLINE
    )
    assert result.exit_code == 0, result.output
    policy = json.loads(result.stdout)
    place = Place("eu-west-1", ACCOUNT)
    staging = place.table("snapinfra-staging-users")
    assert allows(policy, "dynamodb:UpdateTable", staging)
    assert not allows(policy, "dynamodb:UpdateTable", place.table("snapinfra-users"))  # another environment
    assert not allows(policy, "dynamodb:DeleteTable", staging)  # apply never deletes
    assert allows(policy, "dynamodb:DescribeTable", place.table("snapinfra-staging-orphan"))  # orphan look-up
    assert allows(policy, "dynamodb:ListTables", "*")
    assert {a for s in policy["Statement"] for a in s["Action"]} == set(groups_actions(["apply"]))


def test_the_for_choices_are_the_groups_of_the_list() -> None:
    from snapinfra_db.cli.iam import For

    assert [f.value for f in For] == [*GROUPS, "all"]


def test_operator_for_all_is_every_group_and_purge_reaches_the_legacy_tables() -> None:
    every = json.loads(run("iam-policy", "operator", "-c", "tables.yaml", *OFFLINE).stdout)
    both = json.loads(run("iam-policy", "operator", "--for", "all", "-c", "tables.yaml", *OFFLINE).stdout)
    assert every == both
    assert {a for s in every["Statement"] for a in s["Action"]} == set(groups_actions(GROUPS))
    place = Place("eu-west-1", ACCOUNT)
    purge = json.loads(run("iam-policy", "operator", "--for", "purge", "-c", "tables.yaml", *OFFLINE).stdout)
    assert allows(purge, "dynamodb:DeleteTable", place.table("rhinoback-users"))
    assert allows(purge, "dynamodb:DescribeBackup", place.table("rhinoback-users/backup/01795618482122-cca6fa68"))
    assert not allows(purge, "dynamodb:DeleteTable", place.table("snapinfra-staging-users"))
    assert not allows(purge, "dynamodb:ListTables", "*")  # purge names its tables: it lists nothing


def test_regions_of_other_partitions_get_their_arns() -> None:
    policy = json.loads(
        run("iam-policy", "backend", "-c", "tables.yaml", "--account-id", ACCOUNT, "--region", "cn-north-1").stdout
    )
    assert policy["Statement"][0]["Resource"][0] == f"arn:aws-cn:dynamodb:cn-north-1:{ACCOUNT}:table/snapinfra-projects"


def test_the_account_comes_from_sts_without_account_id() -> None:
    with mock_aws():
        result = run("iam-policy", "operator", "--for", "plan", "-c", "tables.yaml", "--region", REGION)
    assert result.exit_code == 0, result.output
    assert f":{ACCOUNT}:table/snapinfra-" in result.stdout
    assert json.loads(result.stdout) == operator_policy(load_catalog("tables.yaml"), ["plan"], PLACE)


@pytest.mark.parametrize(
    ("args", "env", "line"),
    [
        (("--account-id", "12345"), {}, "error: --account-id '12345' is not a 12-digit AWS account id"),
        (
            ("--account-id", ACCOUNT),
            {"AWS_REGION": "", "AWS_DEFAULT_REGION": ""},
            "error: no AWS region: pass --region",
        ),
        (("--region", REGION), {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}, "pass --account-id"),
        (("--for", "everything", *OFFLINE), {}, "error: "),
    ],
)
def test_mistakes_are_one_line(
    args: tuple[str, ...], env: dict[str, str], line: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.delenv(name) if not value else monkeypatch.setenv(name, value)
    result = run("iam-policy", "operator", "-c", "tables.yaml", *args)
    assert result.exit_code == 1 and result.stdout == ""
    assert line in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.output


def test_customer_keys_are_named_in_a_note(tmp_path: Path) -> None:
    path = tmp_path / "tables.yaml"
    path.write_text(
        "prefix: k-\ntables:\n  t:\n    partition_key: id\n"
        "    encryption: {type: CUSTOMER_MANAGED, kms_key: arn:aws:kms:eu-west-1:111122223333:key/k1}\n"
    )
    result = run("iam-policy", "operator", "--for", "apply", "-c", str(path), *OFFLINE)
    assert result.exit_code == 0
    assert "note: CUSTOMER_MANAGED key(s) arn:aws:kms:eu-west-1:111122223333:key/k1" in result.stderr
    assert "kms:CreateGrant" in result.stderr and "kms:CreateGrant" not in result.stdout


def test_a_stage_gives_its_prefix_and_region_and_needs_no_profile_offline(tmp_path: Path) -> None:
    path = tmp_path / "tables.yaml"
    path.write_text(
        "prefix: app-\nstages:\n  prod: {prefix: app-prod-, region: eu-central-1, profile: nowhere}\n"
        "default_stage: prod\ntables:\n  users: {partition_key: id}\n"
    )
    result = run("iam-policy", "backend", "-c", str(path), "--account-id", ACCOUNT)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["Statement"][0]["Resource"] == [
        f"arn:aws:dynamodb:eu-central-1:{ACCOUNT}:table/app-prod-users"
    ]


def test_a_document_too_big_for_a_managed_policy_gets_a_note(tmp_path: Path) -> None:
    path = tmp_path / "tables.yaml"
    path.write_text("prefix: big-\ntables:\n" + "".join(f"  table-{n:03}: {{partition_key: id}}\n" for n in range(60)))
    result = run("iam-policy", "operator", "-c", str(path), *OFFLINE)
    assert result.exit_code == 0
    assert "more than a managed policy holds (6144)" in result.stderr
    assert "note" not in run("iam-policy", "operator", "--for", "apply", "-c", "tables.yaml", *OFFLINE).stderr
