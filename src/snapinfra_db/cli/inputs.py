"""What every command builds from its options: the loaded catalog, the AWS session, the plan, the .env mapping."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from snapinfra_db.cli.application import err
from snapinfra_db.errors import SnapinfraError

if TYPE_CHECKING:
    from snapinfra_db.aws import Aws
    from snapinfra_db.catalog import Catalog, Stage
    from snapinfra_db.reconcile.live import LiveTable
    from snapinfra_db.reconcile.orphans import OrphanSearch
    from snapinfra_db.reconcile.plan import Plan


def load(catalog: Path, prefix: str | None, tables: Sequence[str] | None = None, stage: str | None = None) -> Catalog:
    """The catalog as `stage` (--stage, else its default_stage) has it, narrowed to `tables` (--table/-t)
    when given."""
    from snapinfra_db.catalog import load_catalog

    loaded = load_catalog(catalog, prefix, stage=stage)
    return select_tables(loaded, tables) if tables else loaded


def select_tables(catalog: Catalog, patterns: Sequence[str]) -> Catalog:
    """The catalog with only the tables `patterns` name (--table/-t), in the catalog's order.

    Each pattern is a short name (`projects`), a full name (`snapinfra-projects`) or an fnmatch glob
    of either (`proj*`, `snapinfra-a*`), case-sensitive as DynamoDB's names are. A pattern that
    matches no table is an error naming the catalog file and its tables (every such pattern at once).
    """
    from fnmatch import fnmatchcase

    from snapinfra_db.errors import CatalogError

    def matches(pattern: str, key: str, name: str) -> bool:
        return fnmatchcase(key, pattern) or fnmatchcase(name, pattern)

    unknown = [p for p in dict.fromkeys(patterns) if not any(matches(p, t.key, t.name) for t in catalog.tables)]
    if unknown:
        names = ", ".join(t.key for t in catalog.tables)
        raise CatalogError([f"{catalog.path}: no table '{p}' (tables: {names})" for p in unknown])
    chosen = tuple(t for t in catalog.tables if any(matches(p, t.key, t.name) for p in patterns))
    return catalog.model_copy(update={"tables": chosen})


def make_aws(
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
    parallelism: int = 10,
    local: bool = False,
    stage: Stage | None = None,
) -> Aws:
    """The session the options describe. A stage's region, profile and endpoint fill in what the command
    line does not say: an explicit option wins over the stage, and the stage (explicit configuration, in
    the catalog) wins over the environment's AWS_REGION, AWS_PROFILE and AWS_ENDPOINT_URL(_DYNAMODB)."""
    from snapinfra_db.aws import Aws, AwsOptions

    if local:
        if endpoint_url:
            raise SnapinfraError("--local and --endpoint-url name two endpoints: pass one of them")
        from snapinfra_db.local.state import local_endpoint

        endpoint_url = local_endpoint()
    if stage is not None:
        region = region or stage.region
        profile = profile or stage.profile
        endpoint_url = endpoint_url or stage.endpoint_url
    return Aws(AwsOptions(region=region, profile=profile, endpoint_url=endpoint_url, parallelism=parallelism))


def account_label(aws: Aws) -> str | None:
    """Whose tables these are, for plan's heading: the AWS account id (STS GetCallerIdentity) on AWS,
    "local" on a local endpoint, None when it cannot be told (another endpoint, STS refused)."""
    if aws.options.effective_endpoint:
        return "local" if aws.options.is_local else None
    try:
        return str(aws.sts.get_caller_identity()["Account"])
    except Exception:  # the heading says "account unknown"; the plan itself does not depend on it
        return None


def stage_heading(catalog: Catalog, aws: Aws) -> str:
    """plan's and apply's first line for a catalog resolved for a stage: the stage, region, account, prefix."""
    from snapinfra_db.render.plan import stage_line

    assert catalog.stage is not None
    endpoint = aws.options.effective_endpoint
    return stage_line(catalog.stage.name, aws.region, account_label(aws), endpoint, catalog.prefix)


def make_plan(catalog: Catalog, aws: Aws, parallelism: int) -> Plan:
    return read_and_plan(catalog, aws, parallelism)[0]


def read_and_plan(catalog: Catalog, aws: Aws, parallelism: int) -> tuple[Plan, dict[str, LiveTable | None]]:
    """The plan, and the live state it was made from (what a saved plan fingerprints)."""
    from snapinfra_db.reconcile.capabilities import not_applied
    from snapinfra_db.reconcile.diff import diff_catalog
    from snapinfra_db.reconcile.live import probe_unsupported, read_tables, unsupported_at_endpoint
    from snapinfra_db.waiting import reading_pool

    endpoint = aws.options.effective_endpoint
    client, names = aws.dynamodb, [t.name for t in catalog.tables]
    with reading_pool(1) as pool:
        # A custom endpoint is asked what it implements while the tables are read (AWS itself implements
        # every setting): no round trip after the reads when no table exists yet, and on DynamoDB Local
        # the reads skip the calls it does not implement once the answer is in.
        probed = pool.submit(probe_unsupported, client, names[0]) if endpoint is not None and names else None
        live = read_tables(client, names, parallelism, aws.key_manager_lookup)
        unsupported = unsupported_at_endpoint(live, probed.result() if probed is not None else None)
    return diff_catalog(catalog, live, not_applied(endpoint) | unsupported), live


@contextmanager
def orphans_meanwhile(
    catalog: Catalog, aws: Aws, parallelism: int, look: bool = True
) -> Iterator[Callable[[], OrphanSearch | None]]:
    """Look for orphans (reconcile.orphans) while the body reads the catalog's tables: the body calls
    the yielded function for the answer (None when not `look`ing: --table narrows the scope)."""
    if not look:
        yield lambda: None
        return
    from snapinfra_db.catalog import Setting
    from snapinfra_db.reconcile.capabilities import not_applied
    from snapinfra_db.reconcile.orphans import find_orphans
    from snapinfra_db.waiting import reading_pool

    client = aws.dynamodb  # built here, once, not by two threads at the same moment
    unsupported = Setting.TAGS in not_applied(aws.options.effective_endpoint)
    with reading_pool(1) as pool:
        search = pool.submit(find_orphans, client, catalog, parallelism=parallelism, tags_unsupported=unsupported)
        yield search.result


def env_mapping(catalog: Catalog, aws: Aws) -> dict[str, str]:
    """The backend's environment: one variable per table, AWS_REGION, and the endpoint if any."""
    mapping = dict(catalog.env_variables())
    try:
        mapping["AWS_REGION"] = aws.region
    except SnapinfraError:
        err.print("note: no AWS region configured; AWS_REGION left out (pass --region)")
    if aws.options.effective_endpoint:
        mapping["AWS_ENDPOINT_URL_DYNAMODB"] = aws.options.effective_endpoint
    return mapping
