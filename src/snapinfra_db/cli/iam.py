"""`snapinfra-db iam-policy backend | operator`: least-privilege IAM policy documents for the catalog.

Thin: parse → load the catalog → region and account (--account-id, else STS) → ops.permissions → print
the JSON document on stdout. Nothing is created in IAM; nothing but STS is called (and only without
--account-id).
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from snapinfra_db.cli.application import app, err, handle_errors
from snapinfra_db.cli.inputs import load, make_aws
from snapinfra_db.cli.options import (
    DEFAULT_CATALOG,
    CatalogOpt,
    PrefixOpt,
    ProfileOpt,
    RegionOpt,
    StageOpt,
    TableOpt,
)
from snapinfra_db.errors import AwsConfigError, SnapinfraError

if TYPE_CHECKING:
    from snapinfra_db.catalog import Catalog
    from snapinfra_db.ops.permissions import Place

iam_app = typer.Typer(
    help="Least-privilege IAM policy documents for the catalog: `backend` (the app's data access), "
    "`operator` (what snapinfra-db itself calls). Printed on stdout as JSON; nothing is created.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
app.add_typer(iam_app, name="iam-policy")


class For(StrEnum):  # ops.permissions.GROUPS, and all
    PLAN = "plan"
    APPLY = "apply"
    PRUNE = "prune"
    HEALTH = "health"
    COST = "cost"
    IMPORT = "import"
    BACKUP = "backup"
    RESTORE = "restore"
    MIGRATE = "migrate"
    PURGE = "purge"
    RESTORE_EXPORT = "restore-export"
    ALL = "all"


AccountOpt = Annotated[
    str | None,
    typer.Option(
        "--account-id",
        metavar="ACCOUNT",
        help="The 12-digit AWS account the ARNs name (default: the credentials' account, from STS "
        "GetCallerIdentity). With it and --region nothing is called: works offline, e.g. in CI.",
    ),
]
_ACCOUNT = re.compile(r"\d{12}")


def _place(catalog: Catalog, region: str | None, profile: str | None, account_id: str | None) -> Place:
    """The region (--region, the stage's, the environment's, the profile's) and account (--account-id, else
    STS) the ARNs name. With both given (or the stage's region) nothing is read or called."""
    from snapinfra_db.ops.permissions import Place

    if account_id is not None and not _ACCOUNT.fullmatch(account_id):
        raise SnapinfraError(f"--account-id '{account_id}' is not a 12-digit AWS account id")
    stage = catalog.stage
    region = region or (stage.region if stage is not None else None)
    if region is not None and account_id is not None:
        return Place(region=region, account=account_id)
    if stage is not None:
        stage = stage.model_copy(update={"endpoint_url": None})  # policies are for AWS itself
    aws = make_aws(region, profile, None, stage=stage)
    if account_id is None:
        from snapinfra_db.aws import translate

        try:
            account_id = str(aws.sts.get_caller_identity()["Account"])
        except Exception as exc:
            translated = translate(exc)
            if translated is None:
                raise
            raise AwsConfigError(f"cannot find the account id ({translated}): pass --account-id") from None
    return Place(region=aws.region, account=account_id)


def _print(document: dict[str, Any]) -> None:
    from snapinfra_db.ops.permissions import MANAGED_POLICY_LIMIT, policy_size

    print(json.dumps(document, indent=2))
    size = policy_size(document)
    if size > MANAGED_POLICY_LIMIT:
        err.print(
            f"note: {size} characters: more than a managed policy holds ({MANAGED_POLICY_LIMIT}); attach it inline, "
            "or split it with --table / --for",
            markup=False,
        )


@iam_app.command("backend")
def backend(
    catalog: CatalogOpt = DEFAULT_CATALOG,
    prefix: PrefixOpt = None,
    stage: StageOpt = None,
    table: TableOpt = None,
    read_only: Annotated[
        bool,
        typer.Option(
            "--read-only",
            help="Reads only: GetItem, BatchGetItem, Query, Scan, ConditionCheckItem, DescribeTable (and the streams).",
        ),
    ] = False,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    account_id: AccountOpt = None,
) -> None:
    """The backend's policy: item actions on each catalog table, Query/Scan on its indexes, stream reads.

    Per table ARN: GetItem, PutItem, UpdateItem, DeleteItem, Query, Scan, BatchGetItem, BatchWriteItem,
    ConditionCheckItem (transactions are authorised through these), DescribeTable; Query and Scan on
    table/NAME/index/*; DescribeStream, GetRecords, GetShardIterator on table/NAME/stream/* for tables with
    a stream, ListStreams on "*". Nothing else: no table outside the catalog, no control-plane action.
    """
    with handle_errors():
        from snapinfra_db.ops.permissions import backend_policy

        loaded = load(catalog, prefix, table, stage)
        _print(backend_policy(loaded, _place(loaded, region, profile, account_id), read_only=read_only))


@iam_app.command("operator")
def operator(
    catalog: CatalogOpt = DEFAULT_CATALOG,
    prefix: PrefixOpt = None,
    stage: StageOpt = None,
    table: TableOpt = None,
    groups: Annotated[
        list[For] | None,
        typer.Option(
            "--for",
            metavar="GROUP",
            help="The commands to allow, repeatable: plan, apply, prune (apply --prune), health, cost, import, "
            "backup (backup, backup list), restore, migrate, purge (purge-legacy, destroy), restore-export, all. "
            "Default: all.",
            show_default=False,
        ),
    ] = None,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    account_id: AccountOpt = None,
) -> None:
    """What snapinfra-db itself calls, per command group: exactly those actions, on the catalog's tables.

    apply's writes are granted on the catalog's tables only (--table narrows them); the orphan look-up
    reads the tables named with the prefix; prune (apply --prune) deletes tables named with the prefix;
    restore writes its --as NEW_NAME under the prefix; purge, restore-export and migrate (its SOURCE)
    also reach the legacy tables. ListTables, ListBackups and CloudWatch's GetMetricData take no
    resource ("*"). Tested: each group runs on moto with IAM enforced and only this policy.
    """
    with handle_errors():
        from snapinfra_db.ops.permissions import GROUPS, customer_keys, operator_policy

        chosen = set(groups or [For.ALL])
        wanted = [g for g in GROUPS if For.ALL in chosen or For(g) in chosen]
        loaded = load(catalog, prefix, table, stage)
        document = operator_policy(loaded, wanted, _place(loaded, region, profile, account_id))
        keys = customer_keys(loaded)
        if keys and {"apply", "prune", "restore", "migrate", "restore-export"} & set(wanted):
            err.print(
                f"note: CUSTOMER_MANAGED key(s) {', '.join(keys)}: DynamoDB uses a key on the caller's behalf, so "
                "the key's policy (or this principal's) must also allow kms:CreateGrant, kms:Decrypt, "
                "kms:DescribeKey, kms:Encrypt, kms:GenerateDataKey* and kms:ReEncrypt* through DynamoDB "
                "(condition kms:ViaService); not in this document",
                markup=False,
            )
        _print(document)
