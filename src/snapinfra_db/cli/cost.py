"""`snapinfra-db cost`: each catalog table's monthly cost, estimated from live data and CloudWatch.

Thin: parse → prices → ops.cost.estimate_costs → render → exit. Heavy imports stay inside the
function so `--help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from snapinfra_db.cli.application import app, handle_errors, out
from snapinfra_db.cli.inputs import load, make_aws
from snapinfra_db.cli.options import (
    DEFAULT_CATALOG,
    DEFAULT_PARALLELISM,
    CatalogOpt,
    EndpointOpt,
    LocalOpt,
    ParallelismOpt,
    PrefixOpt,
    ProfileOpt,
    RegionOpt,
    StageOpt,
    TableOpt,
    TimeoutOpt,
)

DEFAULT_DAYS = 14


@app.command()
def cost(
    catalog: CatalogOpt = DEFAULT_CATALOG,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    local: LocalOpt = False,
    prefix: PrefixOpt = None,
    stage: StageOpt = None,
    table: TableOpt = None,
    parallelism: ParallelismOpt = DEFAULT_PARALLELISM,
    days: Annotated[
        int,
        typer.Option(
            "--days",
            min=1,
            max=455,
            metavar="DAYS",
            help="Usage of the last DAYS days (CloudWatch), scaled to a 30-day month.",
            show_default=True,
        ),
    ] = DEFAULT_DAYS,
    prices: Annotated[
        Path | None,
        typer.Option(
            "--prices",
            metavar="FILE",
            help="Prices to use instead of the built-in table (JSON or YAML of the same shape, see README): for "
            "a region the table does not have, or newer prices.",
            show_default=False,
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout (and nothing else).")
    ] = False,
    timeout: TimeoutOpt = None,
) -> None:
    """Estimate each catalog table's monthly cost (or those --table names) from live data. Changes nothing.

    Per table: storage (table and index sizes, table class), PITR storage (≈ the table's size when PITR is
    on), reads and writes (on-demand: CloudWatch's Consumed*CapacityUnits of the table and its GSIs over
    --days; provisioned: the capacity set now, every hour) and streams (GetRecords calls), at the region's
    list prices (the built-in table's date is shown). Free tiers are not subtracted.

    Where CloudWatch cannot be read (DynamoDB Local has none), request costs are not estimated and each
    table says so. Exit codes: 0 estimated (even in part), 1 error (a region without prices: --prices FILE).
    """
    with handle_errors(timeout):
        from snapinfra_db.ops.cost import estimate_costs
        from snapinfra_db.ops.prices import built_in_prices, load_prices
        from snapinfra_db.render.cost import cost_json, render_cost

        price_table = load_prices(prices) if prices is not None else built_in_prices()
        loaded = load(catalog, prefix, table, stage)
        aws = make_aws(region, profile, endpoint_url, parallelism, local, loaded.stage)
        price_table.for_region(aws.region)  # an unknown region fails here, before any call
        report = estimate_costs(aws, loaded, price_table, days, parallelism)
        if json_output:
            print(cost_json(report))
        else:
            render_cost(out, report)
