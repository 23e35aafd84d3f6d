"""Saved plans on the command line: what `plan --out FILE` records (and `plan --json` carries), and
the checks `apply FILE` makes before it applies exactly that plan. The document and its checks are
reconcile.saved's; here are the files, the catalog's digest and the target (endpoint, region, account).
"""

from __future__ import annotations

import errno
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from snapinfra_db import __version__
from snapinfra_db.cli.inputs import load, make_aws
from snapinfra_db.errors import SnapinfraError

if TYPE_CHECKING:
    from snapinfra_db.aws import Aws
    from snapinfra_db.catalog import Catalog
    from snapinfra_db.reconcile.live import LiveTable
    from snapinfra_db.reconcile.plan import Plan
    from snapinfra_db.reconcile.saved import MadeFrom, Target

TOOL = f"snapinfra-db {__version__}"
# A plan of the 12-table catalog is ~30 KB; one of a catalog at its size limit stays far below this.
MAX_PLAN_BYTES = 64 * 1024 * 1024


def _read_regular(path: Path, limit: int) -> bytes:
    """A regular file's bytes, at most `limit` + 1 of them; OSError for anything else. O_NONBLOCK: a
    path swapped for a FIFO does not hang the command."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return stream.read(limit + 1)


def catalog_digest(path: Path) -> str | None:
    """The sha256 of the catalog file's bytes; None when it cannot be read (the loader says why)."""
    from snapinfra_db.catalog.loader import MAX_CATALOG_BYTES
    from snapinfra_db.reconcile.saved import sha256

    try:
        return sha256(_read_regular(path, MAX_CATALOG_BYTES))
    except OSError:
        return None


def catalog_stage(catalog: Catalog) -> str | None:
    """The name of the stage the catalog was resolved for (--stage, `default_stage`); None without stages."""
    return catalog.stage.name if catalog.stage is not None else None


def _endpoint(aws: Aws) -> str:
    endpoint = aws.options.effective_endpoint
    return endpoint.rstrip("/") if endpoint else "aws"


def _aws_account(aws: Aws) -> str:
    """STS GetCallerIdentity's account id; a SnapinfraError saying why when STS fails."""
    from snapinfra_db.aws import translate

    try:
        return str(aws.sts.get_caller_identity()["Account"])
    except Exception as exc:
        translated = translate(exc)
        if translated is None:
            raise
        raise SnapinfraError(
            f"cannot tell the AWS account, which a saved plan records: STS GetCallerIdentity failed: {translated}"
        ) from None


def target_of(aws: Aws, live: dict[str, LiveTable | None], *, account_required: bool) -> Target:
    """Where a plan applies: on AWS the account STS reports (None when STS fails and the account is not
    `account_required`); on a custom endpoint the account its table ARNs carry, if any table exists."""
    from snapinfra_db.reconcile.saved import Target, account_from_arns

    endpoint = _endpoint(aws)
    if endpoint != "aws":
        account = account_from_arns(live)
    elif account_required:
        account = _aws_account(aws)
    else:
        try:
            account = _aws_account(aws)
        except SnapinfraError:  # plan --json still prints; apply refuses a plan without the account
            account = None
    return Target(endpoint=endpoint, region=aws.region, account=account)


def made_from(
    *,
    catalog_path: Path,
    digest_before: str | None,
    catalog: Catalog,
    prefix_option: str | None,
    prune: bool,
    aws: Aws,
    live: dict[str, LiveTable | None],
    account_required: bool,
) -> MadeFrom:
    """What the plan was made from. `digest_before`: the catalog file's digest taken before it was
    loaded; a different one now means the file changed while it was read."""
    from snapinfra_db.reconcile.saved import MadeFrom, fingerprints

    digest = catalog_digest(catalog_path)
    if digest is None or digest != digest_before:
        raise SnapinfraError(f"{catalog_path}: the catalog changed while it was read; run plan again")
    specs = {t.name: t for t in catalog.tables}
    return MadeFrom(
        tool=TOOL,
        made_at=datetime.now(UTC).replace(microsecond=0),
        catalog=str(catalog_path),
        catalog_sha256=digest,
        prefix=catalog.prefix,
        prefix_option=prefix_option,
        stage=catalog_stage(catalog),
        prune=prune,
        target=target_of(aws, live, account_required=account_required),
        live=fingerprints(live, specs),
    )


def save_plan(path: Path, document: str) -> None:
    """The plan file: replaced atomically, 0600 (it names tables, tags and keys)."""
    from snapinfra_db.dirs import write_private

    write_private(path, document + "\n")


def read_plan_text(path: Path) -> str:
    from snapinfra_db.reconcile.saved import SavedPlanError

    try:
        data = _read_regular(path, MAX_PLAN_BYTES)
    except OSError as exc:
        raise SavedPlanError(f"{path}: cannot read the saved plan: {exc.strerror or exc}") from None
    if len(data) > MAX_PLAN_BYTES:
        raise SavedPlanError(f"{path}: not a saved plan: larger than {MAX_PLAN_BYTES // (1024 * 1024)} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SavedPlanError(f"{path}: not a saved plan: not UTF-8 text") from None


def checked_saved_plan(
    plan_file: Path,
    *,
    catalog: Path | None,
    prefix: str | None,
    stage: str | None,
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
    local: bool,
    parallelism: int,
) -> tuple[Catalog, Aws, Plan, MadeFrom]:
    """The saved plan in `plan_file`, once everything it was made from is found unchanged: the
    catalog (`catalog`, else the file the plan names), the prefix and stage (`prefix` and `stage`,
    else the plan's), the endpoint, region and account, and the live state of every planned table.
    Else a Refusal naming what moved; nothing has been changed then (only reads were made)."""
    from snapinfra_db.reconcile.live import read_tables
    from snapinfra_db.reconcile.saved import (
        Refusal,
        Target,
        catalog_refusal,
        fingerprints,
        parse_saved_plan,
        settings_refusal,
        tables_refusal,
        target_refusal,
    )

    saved = parse_saved_plan(read_plan_text(plan_file), str(plan_file))
    made = saved.made_from
    if made.tool != TOOL:
        raise Refusal(f"{plan_file}: the plan was made by {made.tool}, this is {TOOL}; run plan again with this one")
    if made.prune:
        raise Refusal(
            f"{plan_file}: the plan was made with --prune; a saved plan never deletes tables: apply it without "
            "orphans (plan --out without --prune), or run apply --prune"
        )

    path = catalog if catalog is not None else Path(made.catalog)
    digest = catalog_digest(path)  # None: unreadable, and the loader says why
    refusal = catalog_refusal(str(path), made, digest) if digest is not None else None
    if refusal is not None:
        raise refusal
    loaded = load(
        path,
        prefix if prefix is not None else made.prefix_option,
        stage=stage if stage is not None else made.stage,
    )
    if catalog_digest(path) != digest:
        raise Refusal(f"{path}: the catalog changed while it was read; nothing was changed: run plan again")
    refusal = settings_refusal(made, loaded.prefix, catalog_stage(loaded))
    if refusal is not None:
        raise refusal
    specs = {t.name: t for t in loaded.tables}
    unknown = [name for name in made.live if name not in specs]
    if unknown:
        raise Refusal(f"{plan_file}: the plan names tables the catalog does not: {', '.join(unknown)}")

    aws = make_aws(region, profile, endpoint_url, parallelism, local, loaded.stage)
    # The endpoint and region first, before any call (the account needs one).
    here = Target(endpoint=_endpoint(aws), region=aws.region, account=made.target.account)
    refusal = target_refusal(made.target, here)
    if refusal is not None:
        raise refusal
    live = read_tables(aws.dynamodb, list(made.live), parallelism, aws.key_manager_lookup)
    refusal = target_refusal(made.target, target_of(aws, live, account_required=True))
    if refusal is None:
        refusal = tables_refusal(made, fingerprints(live, specs))
    if refusal is not None:
        raise refusal
    return loaded, aws, saved.plan(), made
