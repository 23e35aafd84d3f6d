"""What every command builds from its options: the loaded catalog, the AWS session, the plan, the .env mapping."""


from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from snapinfra_db.cli.application import err
from snapinfra_db.errors import SnapinfraError

if TYPE_CHECKING:
    from snapinfra_db.aws import Aws
    from snapinfra_db.catalog import Catalog
    from snapinfra_db.reconcile.plan import Plan



def load(catalog: Path, prefix: str | None) -> Catalog:
    from snapinfra_db.catalog import load_catalog

    return load_catalog(catalog, prefix)


def make_aws(
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
    parallelism: int = 10,
    local: bool = False,
) -> Aws:
    from snapinfra_db.aws import Aws, AwsOptions

    if local:
        if endpoint_url:
            raise SnapinfraError("--local and --endpoint-url name two endpoints: pass one of them")
        from snapinfra_db.local.state import local_endpoint

        endpoint_url = local_endpoint()
    return Aws(AwsOptions(region=region, profile=profile, endpoint_url=endpoint_url, parallelism=parallelism))


def make_plan(catalog: Catalog, aws: Aws, parallelism: int) -> Plan:
    from snapinfra_db.reconcile.capabilities import not_applied
    from snapinfra_db.reconcile.diff import diff_catalog
    from snapinfra_db.reconcile.live import read_tables, unsupported_at_endpoint

    endpoint = aws.options.effective_endpoint
    live = read_tables(aws.dynamodb, [t.name for t in catalog.tables], parallelism, aws.key_manager_lookup)
    # Probe only a custom endpoint: AWS itself implements every setting.
    unsupported = unsupported_at_endpoint(aws.dynamodb, live, probe=endpoint is not None)
    return diff_catalog(catalog, live, not_applied(endpoint) | unsupported)




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


