"""Saved plans (`plan --out FILE`, `apply FILE`): a plan with what it was made from, so that it is
applied later exactly as reviewed, or not at all. Pure: no I/O, no AWS calls.

The saved plan is `plan --json`'s document (render.plan.plan_json) with one more key, `made_from`
(`MadeFrom`): the catalog file's digest, the resolved prefix and stage, the target (endpoint, region,
account) and a fingerprint of each planned table's live state as read. `apply FILE` recomputes each of
them and refuses, naming what moved, if any differs.

What a fingerprint covers: every fact of a `LiveTable` that the diff may read, as reflected (keys,
indexes, billing and capacity, stream, TTL attribute, PITR, encryption key, deletion protection, table
class, the catalog's tags), and nothing that changes without anyone changing the table: statuses
(CREATING → ACTIVE, an index backfilling, TTL ENABLING, a key change settling), item counts and sizes,
the stream's ARN, PITR's earliest restorable time. It is a list of what to leave out (`VOLATILE`), not
of what to keep: a setting added to LiveTable later is covered without anyone thinking of it here.
Tags the catalog does not name are left out too: the diff leaves them alone (cost tools, AWS Backup).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from snapinfra_db.catalog import TableSpec
from snapinfra_db.errors import SnapinfraError
from snapinfra_db.reconcile.live import LiveTable
from snapinfra_db.reconcile.plan import FORMAT_VERSION, Plan, TableChange

SAVED_PLAN_VERSION: Literal[1] = 1

# LiveTable fields that move by themselves, and the same inside an index and an encryption.
VOLATILE: frozenset[str] = frozenset(
    {
        "name",  # the fingerprint's key already
        "arn",  # region and account: checked as the target
        "status",
        "endpoint_kind",  # the endpoint: checked as the target
        "item_count",
        "size_bytes",
        "stream_arn",
        "ttl_status",
        "earliest_restorable",
    }
)
VOLATILE_INDEX: frozenset[str] = frozenset({"status", "backfilling", "item_count"})
VOLATILE_ENCRYPTION: frozenset[str] = frozenset({"changing"})


class Refusal(SnapinfraError):
    """A saved plan that is not applied: something moved since it was made. Nothing was changed."""


class SavedPlanError(SnapinfraError):
    """A file that is not a saved plan this version reads."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# -- the live state's fingerprint -------------------------------------------------------------


class TableState(BaseModel):
    """One table's fingerprint: the sha256 of its facts, and of each facet (to name what moved)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sha256: str
    facets: dict[str, str]


def facts(live: LiveTable, spec: TableSpec) -> dict[str, Any]:
    """The facts of `live` the diff against `spec` may read, as plain JSON values, one key per facet."""
    view = live.model_dump(
        mode="json",
        exclude={
            **dict.fromkeys(VOLATILE, True),
            "global_indexes": {"__all__": set(VOLATILE_INDEX)},
            "encryption": set(VOLATILE_ENCRYPTION),
        },
    )
    if live.tags is not None:  # only the catalog's tags, present or absent
        view["tags"] = {key: live.tags.get(key) for key in sorted(spec.tags)}
    return dict(view)


def fingerprint(live: LiveTable | None, spec: TableSpec) -> TableState | None:
    """None for a table that does not exist."""
    if live is None:
        return None
    view = facts(live, spec)
    return TableState(
        sha256=sha256(_canonical(view)),
        facets={facet: sha256(_canonical(value))[:16] for facet, value in sorted(view.items())},
    )


def fingerprints(live: Mapping[str, LiveTable | None], specs: Mapping[str, TableSpec]) -> dict[str, TableState | None]:
    """Each planned table's fingerprint, in the order of `live`."""
    return {name: fingerprint(table, specs[name]) for name, table in live.items()}


def moved_tables(saved: Mapping[str, TableState | None], now: Mapping[str, TableState | None]) -> list[str]:
    """`a-one (global indexes, ttl)`, `a-two (created since)`: every table whose fingerprint differs."""
    moved = []
    for name, before in saved.items():
        after = now.get(name)
        if before == after:
            continue
        if before is None:
            moved.append(f"{name} (created since)")
        elif after is None:
            moved.append(f"{name} (deleted since)")
        else:
            facets = sorted(f for f in {*before.facets, *after.facets} if before.facets.get(f) != after.facets.get(f))
            moved.append(f"{name} ({', '.join(f.replace('_', ' ') for f in facets) or 'changed'})")
    return moved


# -- what the plan was made from --------------------------------------------------------------


class Target(BaseModel):
    """Where the plan applies: the effective endpoint URL or "aws", the region, the account id
    (STS's answer on AWS; on a custom endpoint the one its table ARNs carry, None with no table)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint: str
    region: str
    account: str | None


class MadeFrom(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = SAVED_PLAN_VERSION
    tool: str  # "snapinfra-db 0.1.0": another version may diff differently
    made_at: datetime
    catalog: str  # the catalog file as given (apply reads it unless --catalog names another)
    catalog_sha256: str  # of the file's bytes
    prefix: str  # resolved: the catalog's, or --prefix
    prefix_option: str | None  # --prefix as given (apply uses it unless --prefix names another)
    stage: str | None = None  # the catalog's stage, when the catalog has one
    prune: bool = False  # made with --prune: apply FILE never deletes tables, so it refuses such a plan
    target: Target
    live: dict[str, TableState | None]  # every planned table, in the plan's order; None: did not exist


def account_from_arns(live: Mapping[str, LiveTable | None]) -> str | None:
    """The account id in the tables' ARNs (arn:PARTITION:dynamodb:REGION:ACCOUNT:table/NAME)."""
    for table in live.values():
        if table is not None:
            parts = table.arn.split(":")
            if len(parts) > 4 and parts[4]:
                return parts[4]
    return None


def catalog_refusal(path: str, saved: MadeFrom, digest: str) -> Refusal | None:
    if digest == saved.catalog_sha256:
        return None
    return Refusal(
        f"the catalog changed since the plan was made ({path}: digest {digest[:12]}, the plan's "
        f"{saved.catalog_sha256[:12]}); nothing was changed: run plan again"
    )


def settings_refusal(saved: MadeFrom, prefix: str, stage: str | None) -> Refusal | None:
    differences = []
    if prefix != saved.prefix:
        differences.append(f"prefix {prefix!r}, the plan's {saved.prefix!r}")
    if stage != saved.stage:
        differences.append(f"stage {stage!r}, the plan's {saved.stage!r}")
    if not differences:
        return None
    return Refusal(f"the plan was made for other tables ({'; '.join(differences)}); nothing was changed")


def target_refusal(saved: Target, now: Target) -> Refusal | None:
    """The endpoint, region or account differ (on AWS the account must be known on both sides)."""
    differences = []
    if now.endpoint != saved.endpoint:
        differences.append(f"endpoint {now.endpoint}, the plan's {saved.endpoint}")
    if now.region != saved.region:
        differences.append(f"region {now.region}, the plan's {saved.region}")
    if now.account != saved.account and (now.endpoint == "aws" or None not in (now.account, saved.account)):
        differences.append(f"account {now.account or 'unknown'}, the plan's {saved.account or 'unknown'}")
    if not differences:
        return None
    return Refusal(f"the plan was made for another place ({'; '.join(differences)}); nothing was changed")


def tables_refusal(saved: MadeFrom, now: Mapping[str, TableState | None]) -> Refusal | None:
    moved = moved_tables(saved.live, now)
    if not moved:
        return None
    return Refusal(
        f"{len(moved)} table(s) changed since the plan was made: {', '.join(moved)}; nothing was changed: "
        "run plan again"
    )


# -- the document -----------------------------------------------------------------------------


class SavedPlan(BaseModel):
    """`plan --json`'s document as apply reads it back. `unsupported`, `orphans` and `summary` are for
    people and are not read; `made_from` is what apply checks before anything else."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    format_version: Literal["1"]
    changes: tuple[TableChange, ...]
    unchanged: tuple[str, ...]
    made_from: MadeFrom

    def plan(self) -> Plan:
        """The plan, its tables in the order they were planned."""
        by_name = {c.table: c for c in self.changes}
        by_name.update((name, TableChange(table=name, action="none")) for name in self.unchanged)
        order = [*self.made_from.live, *(n for n in by_name if n not in self.made_from.live)]
        return Plan(tables=tuple(by_name[n] for n in order if n in by_name))


def parse_saved_plan(text: str, source: str) -> SavedPlan:
    """The saved plan in `text` (read from `source`, which names it in errors). SavedPlanError, one
    line, for anything else: not JSON, not a saved plan, a version this tool does not read."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise SavedPlanError(f"{source}: not a saved plan: not JSON ({exc.args[0] if exc.args else exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("made_from"), dict):
        raise SavedPlanError(
            f"{source}: not a saved plan: no 'made_from' (write one with plan --out FILE or plan --json)"
        )
    versions = (document.get("format_version"), document["made_from"].get("version"))
    if versions != (FORMAT_VERSION, SAVED_PLAN_VERSION):
        raise SavedPlanError(
            f"{source}: a saved plan of format {versions[0]!r}, version {versions[1]!r}: this snapinfra-db reads "
            f"format {FORMAT_VERSION!r}, version {SAVED_PLAN_VERSION}; run plan --out again"
        )
    try:
        saved = SavedPlan.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the document"
        raise SavedPlanError(
            f"{source}: not a valid saved plan: {where}: {first['msg']} ({exc.error_count()} problem(s))"
        ) from None
    planned = {*(c.table for c in saved.changes), *saved.unchanged}
    if planned != set(saved.made_from.live):
        raise SavedPlanError(f"{source}: not a valid saved plan: its tables and their fingerprints do not match")
    return saved
