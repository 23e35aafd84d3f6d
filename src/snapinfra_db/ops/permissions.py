"""Least-privilege IAM: what each command calls, as IAM actions on which resources. Pure: no calls.

`OPERATOR` is the one list of the actions snapinfra-db itself calls (DynamoDB, Streams, KMS, CloudWatch),
per command group (`iam-policy operator --for GROUP`), plus the few AWS implies (TagResource for a
create with tags, the target's item actions for a restore). Each group is self-contained: everything its
commands need, reads included. A command that calls a new operation adds it here: tests/test_iam_policy.py
records every call the commands make and fails when one is not listed for its group, or when a listed
action is never called; it runs them on moto with IAM enforced and only this policy, and `apply` with
each of its actions taken away; and it scans the code the CLI can run for operations the list lacks.

`BACKEND_*` are the data-plane actions the Snapinfra backend needs on the catalog's tables
(`iam-policy backend`): items, index queries, stream reads.

Resource ARNs follow the Service Authorization Reference for DynamoDB: a table is
`arn:PARTITION:dynamodb:REGION:ACCOUNT:table/NAME`, its indexes `.../index/NAME`, its streams
`.../stream/LABEL`, its backups `.../backup/ID`; ListTables and ListStreams take no resource ("*").
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from snapinfra_db.catalog import Catalog

# The command groups of `iam-policy operator --for GROUP`, each what these commands call: plan; apply
# (without --prune); prune (apply --prune); health; cost; import; backup (backup, backup list); restore
# (point in time or backup, then the catalog's settings); migrate; purge (purge-legacy, destroy);
# restore-export.
Group = Literal[
    "plan", "apply", "prune", "health", "cost", "import", "backup", "restore", "migrate", "purge", "restore-export"
]
GROUPS: tuple[Group, ...] = get_args(Group)

# Where a grant applies:
#   catalog          the catalog's tables (narrowed by --table)
#   catalog-backups  their backups (table/NAME/backup/*)
#   prefix           every table named with the prefix: the catalog's, orphans, `restore --as` targets, and
#                    (IAM cannot say "not a longer prefix") another environment's such as snapinfra-staging-*
#   known            the catalog's tables and its `legacy` ones: what purge-legacy and destroy delete,
#                    restore-export brings back, migrate copies from
#   known-backups    their backups
#   known-streams    their streams (migrate --follow reads SOURCE's)
#   any              "*": actions without resource-level permissions (ListTables, ListBackups, GetMetricData)
#   keys             the account's KMS keys in the region (DescribeKey tells the AWS-managed key from a customer's)
#   alarms           the CloudWatch alarms named with the prefix (<table>[.<index>]-<kind>: the catalog's alarms)
Scope = Literal[
    "catalog", "catalog-backups", "prefix", "known", "known-backups", "known-streams", "any", "keys", "alarms"
]


@dataclass(frozen=True)
class Grant:
    action: str  # the IAM action, e.g. "dynamodb:DescribeTable"
    scope: Scope
    why: str  # what calls it; when its refusal is tolerated, what is lost
    alarms: bool = False  # only for a catalog with an `alarms` block (without one CloudWatch is never called)


_READ = (
    Grant("dynamodb:DescribeTable", "prefix", "read each catalog table; tell orphans (prefix tables) apart"),
    Grant("dynamodb:DescribeTimeToLive", "catalog", "read each catalog table's TTL"),
    Grant("dynamodb:DescribeContinuousBackups", "catalog", "read each catalog table's PITR"),
    Grant("dynamodb:ListTagsOfResource", "prefix", "read catalog tables' tags; the ManagedBy tag of orphans"),
    Grant("dynamodb:ListTables", "any", "look for orphans (refused: 'orphans not looked for', nothing else)"),
    Grant(
        "kms:DescribeKey",
        "keys",
        "tell the AWS-managed key from a customer's (refused: a table on a customer key passes for AWS_MANAGED)",
    ),
)
_ALARMS_READ = (
    Grant("cloudwatch:DescribeAlarms", "any", "the alarms named with the prefix", alarms=True),
    Grant("cloudwatch:ListTagsForResource", "alarms", "which of them snapinfra-db made (ManagedBy)", alarms=True),
)
_ALARMS_WRITE = (
    Grant("cloudwatch:PutMetricAlarm", "alarms", "create or update a catalog alarm", alarms=True),
    Grant("cloudwatch:TagResource", "alarms", "required by PutMetricAlarm with Tags", alarms=True),
    Grant("cloudwatch:DeleteAlarms", "alarms", "an alarm it made that the catalog no longer wants", alarms=True),
)
_CONVERGE = (
    Grant("dynamodb:CreateTable", "catalog", "create a catalog table (keys, indexes, billing, stream, SSE, tags)"),
    Grant("dynamodb:TagResource", "catalog", "converge tags; also required by CreateTable with Tags"),
    Grant("dynamodb:UpdateTable", "catalog", "indexes, billing, class, deletion protection, stream, SSE"),
    Grant("dynamodb:UpdateTimeToLive", "catalog", "set TTL"),
    Grant("dynamodb:UpdateContinuousBackups", "catalog", "set PITR"),
)


def _delete(scope: Literal["prefix", "known"], backups: Literal["prefix", "known-backups"]) -> tuple[Grant, ...]:
    """What deleting a table as purge does takes: its survey, export, backup, protection, the delete itself."""
    return (
        Grant("dynamodb:DescribeTable", scope, "survey; wait for the backup, the delete"),
        Grant("dynamodb:DescribeTimeToLive", scope, "--export-dir: the schema file"),
        Grant("dynamodb:ListTagsOfResource", scope, "--export-dir: the schema file (refused: no tags in it)"),
        Grant("dynamodb:Scan", scope, "--export-dir (consistent scan), --exact-count"),
        Grant("dynamodb:CreateBackup", scope, "--backup (the default)"),
        Grant("dynamodb:DescribeBackup", backups, "wait for the backup to be AVAILABLE"),
        Grant("dynamodb:UpdateTable", scope, "--disable-deletion-protection"),
        Grant("dynamodb:DeleteTable", scope, "delete"),
    )


# AWS authorises the writes of a restore into its target table with the target's item actions.
_RESTORE_TARGET = tuple(
    Grant(f"dynamodb:{action}", "prefix", "required on the target by RestoreTableToPointInTime/FromBackup")
    for action in ("BatchWriteItem", "DeleteItem", "GetItem", "PutItem", "Query", "Scan", "UpdateItem")
)

# The one list: what each command group calls. tests/test_iam_policy.py checks it both ways.
OPERATOR: dict[Group, tuple[Grant, ...]] = {
    "plan": _READ + _ALARMS_READ,
    "apply": _READ + _CONVERGE + _ALARMS_READ + _ALARMS_WRITE,
    "prune": _READ + _CONVERGE + _ALARMS_READ + _ALARMS_WRITE + _delete("prefix", "prefix"),
    "health": (
        *_READ,
        Grant("dynamodb:GetItem", "catalog", "--probe: one GetItem for a key that cannot exist"),
        *_ALARMS_READ,
    ),
    "cost": (
        Grant("dynamodb:DescribeTable", "catalog", "size, item count, billing, indexes"),
        Grant("dynamodb:DescribeTimeToLive", "catalog", "read the table as plan does"),
        Grant("dynamodb:DescribeContinuousBackups", "catalog", "PITR is billed"),
        Grant("dynamodb:ListTagsOfResource", "catalog", "read the table as plan does"),
        Grant("cloudwatch:GetMetricData", "any", "consumed capacity (refused: an estimate without usage, says so)"),
    ),
    "import": (
        Grant("dynamodb:ListTables", "any", "--all"),
        Grant("dynamodb:DescribeTable", "prefix", "read the tables to import"),
        Grant("dynamodb:DescribeTimeToLive", "prefix", "read the tables to import"),
        Grant("dynamodb:DescribeContinuousBackups", "prefix", "read the tables to import"),
        Grant("dynamodb:ListTagsOfResource", "prefix", "read the tables to import"),
        Grant("kms:DescribeKey", "keys", "AWS_MANAGED or CUSTOMER_MANAGED (refused: the exact key is written)"),
    ),
    "backup": (
        Grant("dynamodb:CreateBackup", "catalog", "backup"),
        Grant("dynamodb:DescribeBackup", "catalog-backups", "wait for each backup to be AVAILABLE"),
        Grant("dynamodb:ListBackups", "any", "backup list"),
    ),
    "restore": (
        Grant("dynamodb:DescribeContinuousBackups", "prefix", "the source's restorable window; the target's PITR"),
        Grant("dynamodb:DescribeBackup", "catalog-backups", "--from-backup: the backup is TABLE's, AVAILABLE"),
        Grant("dynamodb:RestoreTableToPointInTime", "catalog", "--to-time, --latest (on the source table)"),
        Grant("dynamodb:RestoreTableFromBackup", "catalog-backups", "--from-backup (on the source backup)"),
        *_RESTORE_TARGET,
        Grant("dynamodb:DescribeTable", "prefix", "--as NEW_NAME is free; wait for it to be ACTIVE; read it"),
        Grant("dynamodb:DescribeTimeToLive", "prefix", "read the restored table"),
        Grant("dynamodb:ListTagsOfResource", "prefix", "read the restored table"),
        Grant("kms:DescribeKey", "keys", "read the restored table's key"),
        Grant("dynamodb:TagResource", "prefix", "the catalog's tags on the restored table"),
        Grant("dynamodb:UpdateTable", "prefix", "its stream, deletion protection (and any other catalog change)"),
        Grant("dynamodb:UpdateTimeToLive", "prefix", "its TTL"),
        Grant("dynamodb:UpdateContinuousBackups", "prefix", "its PITR"),
    ),
    "migrate": (
        Grant("dynamodb:DescribeTable", "known", "SOURCE (catalog or legacy table) and TARGET"),
        # A missing TARGET is created by apply's executor: CreateTable (tags, stream, protection ride on it),
        # then TTL and PITR, each read back.
        Grant("dynamodb:CreateTable", "catalog", "a missing TARGET"),
        Grant("dynamodb:TagResource", "catalog", "required by CreateTable with Tags"),
        Grant("dynamodb:UpdateTimeToLive", "catalog", "the created TARGET's TTL"),
        Grant("dynamodb:UpdateContinuousBackups", "catalog", "the created TARGET's PITR"),
        Grant("dynamodb:DescribeTimeToLive", "catalog", "read the created TARGET back"),
        Grant("dynamodb:DescribeContinuousBackups", "catalog", "read the created TARGET back"),
        Grant("dynamodb:ListTagsOfResource", "catalog", "read the created TARGET back"),
        Grant("dynamodb:Scan", "known", "copy and --verify read SOURCE (segments); is TARGET empty"),
        Grant("dynamodb:BatchWriteItem", "catalog", "copy into TARGET"),
        Grant("dynamodb:BatchGetItem", "known", "--verify --sample: the sampled items"),
        Grant("dynamodb:DescribeStream", "known-streams", "--follow: SOURCE's shards"),
        Grant("dynamodb:GetShardIterator", "known-streams", "--follow"),
        Grant("dynamodb:GetRecords", "known-streams", "--follow"),
        Grant("dynamodb:GetItem", "known", "--follow on a KEYS_ONLY or OLD_IMAGE stream: the item as it is now"),
        Grant("dynamodb:PutItem", "catalog", "--follow: a change into TARGET"),
        Grant("dynamodb:DeleteItem", "catalog", "--follow: a removal from TARGET"),
    ),
    "purge": _delete("known", "known-backups"),
    "restore-export": (
        Grant("dynamodb:DescribeTable", "known", "does the table exist; wait for ACTIVE"),
        Grant("dynamodb:CreateTable", "known", "re-create the table from schema.json"),
        Grant("dynamodb:TagResource", "known", "required by CreateTable with Tags"),
        Grant("dynamodb:Scan", "known", "does an existing table hold items (Limit 1)"),
        Grant("dynamodb:DescribeTimeToLive", "known", "is TTL on"),
        Grant("dynamodb:UpdateTimeToLive", "known", "turn TTL on"),
        Grant("dynamodb:BatchWriteItem", "known", "write the items back"),
    ),
}

# Calls that need no permission at all: STS answers GetCallerIdentity whatever the policy says
# (health's heading on AWS; `iam-policy` without --account-id).
NEEDS_NO_PERMISSION = frozenset({"sts:GetCallerIdentity"})

# The backend (iam-policy backend): items on each table, queries on its indexes, its stream.
# TransactGetItems/TransactWriteItems have no IAM action of their own: each item in a transaction is
# authorised as GetItem, PutItem, UpdateItem, DeleteItem or ConditionCheckItem.
BACKEND_ITEM_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
)
BACKEND_READ_ONLY_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
)
BACKEND_INDEX_ACTIONS = ("dynamodb:Query", "dynamodb:Scan")  # the only item actions an index takes
BACKEND_STREAM_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
BACKEND_LIST_STREAMS = "dynamodb:ListStreams"  # no resource-level permissions: "*"

# IAM's limit for a managed policy (characters, whitespace not counted); an inline policy on a role may
# hold 10,240 in all of a role's inline policies.
MANAGED_POLICY_LIMIT = 6144


def partition_of(region: str) -> str:
    """The ARN partition a region belongs to."""
    for start, partition in (
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
        ("us-isof-", "aws-iso-f"),
    ):
        if region.startswith(start):
            return partition
    return "aws"


@dataclass(frozen=True)
class Place:
    """Where the policy applies: the partition, region and account its ARNs name."""

    region: str
    account: str

    @property
    def partition(self) -> str:
        return partition_of(self.region)

    def table(self, name: str) -> str:
        return f"arn:{self.partition}:dynamodb:{self.region}:{self.account}:table/{name}"

    def keys(self) -> str:
        return f"arn:{self.partition}:kms:{self.region}:{self.account}:key/*"

    def alarm(self, name: str) -> str:
        return f"arn:{self.partition}:cloudwatch:{self.region}:{self.account}:alarm:{name}"


def groups_actions(groups: Iterable[Group], alarms: bool = False) -> list[str]:
    """Every action the groups need (with `alarms`: for a catalog with an `alarms` block), sorted."""
    return sorted({g.action for group in groups for g in OPERATOR[group] if alarms or not g.alarms})


def _resources(scope: Scope, catalog: Catalog, place: Place) -> list[str]:
    known = [*(t.name for t in catalog.tables), *catalog.legacy]  # the loader keeps legacy out of the tables
    if scope == "catalog":
        return [place.table(t.name) for t in catalog.tables]
    if scope == "prefix":
        return [place.table(f"{catalog.prefix}*")]
    if scope == "known":
        return [place.table(name) for name in known]
    if scope == "catalog-backups":
        return [place.table(f"{t.name}/backup/*") for t in catalog.tables]
    if scope == "known-backups":
        return [place.table(f"{name}/backup/*") for name in known]
    if scope == "known-streams":
        return [place.table(f"{name}/stream/*") for name in known]
    if scope == "keys":
        return [place.keys()]
    if scope == "alarms":
        return [place.alarm(f"{catalog.prefix}*")]
    return ["*"]


# Statement ids (letters and digits), joined with "And" when a statement covers several scopes.
_SCOPE_SIDS: dict[Scope, str] = {
    "catalog": "CatalogTables",
    "catalog-backups": "CatalogBackups",
    "prefix": "PrefixTables",
    "known": "CatalogAndLegacyTables",
    "known-backups": "CatalogAndLegacyBackups",
    "known-streams": "CatalogAndLegacyStreams",
    "any": "AnyResource",
    "keys": "KmsKeys",
    "alarms": "Alarms",
}
_SCOPE_ORDER: list[Scope] = list(_SCOPE_SIDS)


def operator_policy(catalog: Catalog, groups: Iterable[Group], place: Place) -> dict[str, Any]:
    """The policy document for running the commands of `groups` on `catalog` at `place`.

    One statement per distinct resource list, actions sorted; an action listed under several scopes
    (DescribeTable: `prefix` for plan, `known` for purge) gets the union of their resources, less
    what a wildcard among them covers (table/snapinfra-* covers table/snapinfra-users).
    """
    chosen = set(groups)
    scopes: dict[str, set[Scope]] = {}
    for group in GROUPS:
        if group in chosen:
            for grant in OPERATOR[group]:
                if catalog.manages_alarms or not grant.alarms:
                    scopes.setdefault(grant.action, set()).add(grant.scope)
    statements: dict[tuple[str, ...], tuple[tuple[Scope, ...], list[str]]] = {}
    for action in sorted(scopes):
        ordered = [s for s in _SCOPE_ORDER if s in scopes[action]]
        resources = _covered_dropped([r for s in ordered for r in _resources(s, catalog, place)])
        kept = tuple(s for s in ordered if set(_resources(s, catalog, place)) & set(resources))
        statements.setdefault(tuple(resources), (kept, []))[1].append(action)
    return _document(
        [
            {
                "Sid": "And".join(_SCOPE_SIDS[s] for s in kept),
                "Effect": "Allow",
                "Action": actions,
                "Resource": list(res),
            }
            for res, (kept, actions) in sorted(
                statements.items(), key=lambda i: [_SCOPE_ORDER.index(s) for s in i[1][0]]
            )
        ]
    )


def _covered_dropped(resources: list[str]) -> list[str]:
    """`resources` once each, without those another of them covers with a trailing wildcard."""
    unique = list(dict.fromkeys(resources))
    wildcards = [r[:-1] for r in unique if r.endswith("*")]
    return [r for r in unique if not any(r != w + "*" and r.startswith(w) for w in wildcards)]


def backend_policy(catalog: Catalog, place: Place, read_only: bool = False) -> dict[str, Any]:
    """The backend's policy: item actions on each catalog table, Query/Scan on its indexes, reads of
    its stream (tables with `stream.enabled`), ListStreams."""
    tables = catalog.tables
    items = BACKEND_READ_ONLY_ACTIONS if read_only else BACKEND_ITEM_ACTIONS
    statements: list[dict[str, Any]] = [
        {"Sid": "Items", "Effect": "Allow", "Action": list(items), "Resource": [place.table(t.name) for t in tables]}
    ]
    indexed = [t for t in tables if t.global_indexes or t.local_indexes]
    if indexed:
        statements.append(
            {
                "Sid": "IndexQueries",
                "Effect": "Allow",
                "Action": list(BACKEND_INDEX_ACTIONS),
                "Resource": [place.table(f"{t.name}/index/*") for t in indexed],
            }
        )
    streamed = [t for t in tables if t.stream.enabled]
    if streamed:
        statements.append(
            {
                "Sid": "StreamReads",
                "Effect": "Allow",
                "Action": list(BACKEND_STREAM_ACTIONS),
                "Resource": [place.table(f"{t.name}/stream/*") for t in streamed],
            }
        )
        statements.append(
            {"Sid": "ListStreams", "Effect": "Allow", "Action": [BACKEND_LIST_STREAMS], "Resource": ["*"]}
        )
    return _document(statements)


def _document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def policy_size(document: dict[str, Any]) -> int:
    """The size IAM counts against its limits: the document without whitespace."""
    return len(json.dumps(document, separators=(",", ":")))


def customer_keys(catalog: Catalog) -> list[str]:
    """The CUSTOMER_MANAGED keys the catalog names, in catalog order."""
    keys: list[str] = []
    for table in catalog.tables:
        key = table.encryption.kms_key
        if table.encryption.type == "CUSTOMER_MANAGED" and key and key not in keys:
            keys.append(key)
    return keys
