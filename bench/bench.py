"""The benchmark: snapinfra-db's wall time against the waits DynamoDB itself imposes.

Runs the real CLI (a subprocess per run, as an operator runs it, imports included) against DynamoDB
Local behind the tests' behaviour layer (tests/behaviour.py), which adds a latency per call and
AWS-like status times (tables CREATING for T s, an index backfilling for B s, PITR unavailable for
P s after create). For each run it prints one JSON line: wall seconds, calls by operation, the most
calls in flight, and, where DynamoDB imposes waits, the critical path (the longest chain of those
waits plus one round trip per call on it) and the ratio wall / critical path. A table of the runs
with their targets follows on stderr.

    .venv/bin/python bench/bench.py                 # every run (about 4 minutes)
    .venv/bin/python bench/bench.py --runs plan-12 plan-200 --latency 0.05

Not a test: the figures depend on the machine; README's Performance section records them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the behaviour layer lives with the tests

from behaviour import BehaviourProxy, proxy_for  # noqa: E402
from snapinfra_db.aws import local_dynamodb_client  # noqa: E402
from snapinfra_db.local.jar import ensure_jar  # noqa: E402
from snapinfra_db.local.process import DynamoDBLocal  # noqa: E402

CATALOG = ROOT / "tables.yaml"


@dataclass
class Result:
    run: str
    wall: float
    calls: dict[str, int]
    max_in_flight: int
    critical_path: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return round(self.wall / self.critical_path, 2) if self.critical_path else None

    def line(self) -> str:
        return json.dumps(
            {
                "run": self.run,
                "wall_s": round(self.wall, 3),
                "calls": sum(self.calls.values()),
                "calls_by_operation": dict(sorted(self.calls.items())),
                "max_in_flight": self.max_in_flight,
                "critical_path_s": round(self.critical_path, 3) if self.critical_path else None,
                "wall_over_critical_path": self.ratio,
                **self.extra,
            }
        )


def cli(
    *args: str, endpoint: str | None = None, catalog: Path = CATALOG
) -> tuple[float, subprocess.CompletedProcess[str]]:
    argv = [sys.executable, "-m", "snapinfra_db", *args]
    if endpoint is not None:
        argv += ["--endpoint-url", endpoint, "--catalog", str(catalog)]
    env = {**os.environ, "NO_COLOR": "1", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}
    env["AWS_REGION"] = "us-east-1"
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=900, check=False)
    wall = time.monotonic() - started
    if done.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return wall, done


def empty(endpoint: str) -> None:
    client = local_dynamodb_client(endpoint)
    for name in client.list_tables()["TableNames"]:
        client.update_table(TableName=name, DeletionProtectionEnabled=False)
        client.delete_table(TableName=name)


@contextmanager
def measured(proxy: BehaviourProxy) -> Iterator[Callable[[str, float, float | None], Result]]:
    proxy.reset_counters()

    def result(run: str, wall: float, critical: float | None = None) -> Result:
        return Result(run, wall, dict(Counter(proxy.calls)), proxy.max_in_flight, critical)

    yield result


def generated_catalog(directory: Path, tables: int) -> Path:
    """The 12 tables' shape, repeated: `tables` tables with two GSIs, TTL and tags each."""
    body = ["prefix: bench-", "defaults:", "  tags: {Project: snapinfra, ManagedBy: snapinfra-db}", "tables:"]
    for n in range(tables):
        body += [
            f"  t{n:03d}:",
            "    partition_key: id",
            "    ttl: expiresAt",
            "    global_indexes:",
            "      ByOwner: {partition_key: owner, sort_key: createdAt}",
            "      ByStatus: {partition_key: status, sort_key: updatedAt}",
        ]
    path = directory / f"catalog-{tables}.yaml"
    path.write_text("\n".join(body) + "\n")
    return path


# -- the runs ---------------------------------------------------------------------------------


# Short runs are repeated and their median kept: one run of a second is at the mercy of the JVM's
# garbage collector and of whatever else the machine does in that second.
REPEAT = 3


def median_of(runs: list[Result]) -> Result:
    return sorted(runs, key=lambda r: r.wall)[len(runs) // 2]


def warm_up(upstream: str) -> None:
    """Apply and plan once, unmeasured: DynamoDB Local's JIT compiles its hot paths in the first calls,
    which would otherwise be charged to whichever run comes first."""
    empty(upstream)
    with proxy_for(upstream) as proxy:
        cli("apply", "--yes", endpoint=proxy.url)
        cli("plan", endpoint=proxy.url)
    empty(upstream)


def plan_12(upstream: str, latency: float, _: Path) -> list[Result]:
    empty(upstream)
    runs = []
    with proxy_for(upstream, latency=latency) as proxy:
        for _ in range(REPEAT):
            with measured(proxy) as result:
                wall, _done = cli("plan", endpoint=proxy.url)
                runs.append(result("plan, 12 tables", wall))
    return [median_of(runs)]


def apply_12_instant(upstream: str, latency: float, _: Path) -> list[Result]:
    firsts, seconds = [], []
    for _ in range(REPEAT):
        empty(upstream)
        with proxy_for(upstream, latency=latency) as proxy:
            with measured(proxy) as result:
                wall, _done = cli("apply", "--yes", endpoint=proxy.url)
                firsts.append(result("apply from empty, 12 tables, instant statuses", wall))
            with measured(proxy) as result:
                wall, _done = cli("apply", "--yes", endpoint=proxy.url)
                seconds.append(result("apply with nothing to do, 12 tables", wall))
    return [median_of(firsts), median_of(seconds)]


def apply_12_creating(upstream: str, latency: float, _: Path, creating: float = 5.0) -> list[Result]:
    empty(upstream)
    with proxy_for(upstream, latency=latency, table_creating_for=creating) as proxy, measured(proxy) as result:
        wall, _done = cli("apply", "--yes", endpoint=proxy.url)
        # DynamoDB's own chain per table: CreateTable, CREATING for T s, then the calls after it (TTL),
        # each one round trip: T + the describe that sees ACTIVE + the TTL call and its re-read.
        critical = creating + 4 * latency
        return [result(f"apply from empty, 12 tables, tables CREATING for {creating:g} s", wall, critical)]


def index_and_ttl(upstream: str, latency: float, directory: Path, backfill: float = 30.0) -> list[Result]:
    empty(upstream)
    base = directory / "one.yaml"
    base.write_text(
        textwrap.dedent(
            """
            prefix: bench-
            tables:
              activity:
                partition_key: id
                deletion_protection: false
                global_indexes:
                  ByOwner: {partition_key: owner, sort_key: createdAt}
            """
        )
    )
    changed = directory / "two.yaml"
    changed.write_text(
        base.read_text().replace(
            "      ByOwner: {partition_key: owner, sort_key: createdAt}\n",
            "      ByOwner: {partition_key: owner, sort_key: createdAt}\n"
            "      ByType: {partition_key: entityType, sort_key: createdAt}\n",
        )
        + "    ttl: expiresAt\n"
    )
    with proxy_for(upstream, latency=latency) as proxy:
        cli("apply", "--yes", endpoint=proxy.url, catalog=base)
        proxy.behaviour.update(index_creating_for=1.0, index_backfilling_for=backfill)
        with measured(proxy) as result:
            started = time.monotonic()
            wall, _done = cli("apply", "--yes", endpoint=proxy.url, catalog=changed)
            ttl = [e for e in proxy.events if e.operation == "UpdateTimeToLive" and not e.error]
            landed = round(ttl[0].end - started, 2) if ttl else None
            critical = 1.0 + backfill + 4 * latency  # the index: CREATING, backfilling, then ACTIVE
            run = result(f"apply: add a GSI (backfill {backfill:g} s) + TTL on the same table", wall, critical)
            run.extra["ttl_landed_after_s"] = landed
            return [run]


def plan_200(upstream: str, latency: float, directory: Path) -> list[Result]:
    results = []
    empty(upstream)
    for tables in (12, 200):
        catalog = generated_catalog(directory, tables)
        runs = []
        with proxy_for(upstream, latency=latency) as proxy:
            for _ in range(REPEAT):
                with measured(proxy) as result:
                    wall, _done = cli("plan", endpoint=proxy.url, catalog=catalog)
                    runs.append(result(f"plan, {tables} generated tables", wall))
        results.append(median_of(runs))
    results[1].extra["vs_12_tables"] = round(results[1].wall / results[0].wall, 2)
    return results


def startup(_: str, __: float, ___: Path) -> list[Result]:
    walls = []
    for args in (["--help"], ["validate", "--catalog", str(CATALOG)]):
        best = min(cli(*args)[0] for _ in range(3))
        walls.append(Result(f"`{' '.join(args[:1])}`", best, {}, 0))
    return walls


RUNS: dict[str, Callable[[str, float, Path], list[Result]]] = {
    "startup": startup,  # first: nothing else is busy (DynamoDB Local still deleting 200 tables would be)
    "plan-12": plan_12,
    "apply-12": apply_12_instant,
    "apply-12-creating": apply_12_creating,
    "index-ttl": index_and_ttl,
    "plan-200": plan_200,
}
TARGETS = {
    "plan, 12 tables": "≤ 0.6 s",
    "apply from empty, 12 tables, instant statuses": "≤ 1.5 s, ≤ 72 calls",
    "apply with nothing to do, 12 tables": "-",
    "apply from empty, 12 tables, tables CREATING for 5 s": "wall ≤ 1.15x critical path",
    "apply: add a GSI (backfill 30 s) + TTL on the same table": "TTL within 2 s; wall ≤ 1.1x critical path",
    "plan, 12 generated tables": "-",
    "plan, 200 generated tables": "≤ 2x the 12-table plan",
    "`--help`": "≤ 0.2 s",
    "`validate`": "≤ 0.3 s",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", nargs="*", choices=sorted(RUNS), default=list(RUNS))
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every call (default 0.05)")
    options = parser.parse_args()
    # As an installed tool runs: from bytecode. An editable install with PYTHONDONTWRITEBYTECODE set (as
    # on CI machines) would otherwise compile the package's sources again in every run (~0.1 s of CPU).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    local = DynamoDBLocal(ensure_jar())
    local.start(timeout=60)
    results: list[Result] = []
    try:
        warm_up(local.endpoint_url)
        with tempfile.TemporaryDirectory(prefix="snapinfra-db-bench-") as directory:
            for name in options.runs:
                for result in RUNS[name](local.endpoint_url, options.latency, Path(directory)):
                    print(result.line(), flush=True)
                    results.append(result)
    finally:
        local.stop()
    print(f"\n{'run':<62} {'wall':>7} {'calls':>6} {'ratio':>6}  target", file=sys.stderr)
    for r in results:
        ratio = f"{r.ratio:.2f}x" if r.ratio else "-"
        extra = "".join(f"  {k}={v}" for k, v in r.extra.items())
        calls = str(sum(r.calls.values())) if r.calls else "-"
        print(f"{r.run:<62} {r.wall:>6.2f}s {calls:>6} {ratio:>6}  {TARGETS.get(r.run, '-')}{extra}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
