"""Adopting existing tables (`snapinfra-db import`): live tables → catalog entries.

The live tables are read as plan reads them (reconcile.live.read_tables) and turned back into the
catalog's TableSpec by reconcile.live.as_spec, the same reflection restore uses; what import needs
beyond a restore (TTL, PITR, and leaving what the endpoint does not report at the catalog's defaults)
is laid over it here. catalog.writer writes the entries. Before anything is printed or written, the
result is loaded back as plan would load it and diffed against the tables just read: an entry that
would not plan to "no changes" is never handed out.

No printing: notes for the operator come back in the result.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from snapinfra_db.catalog import Catalog, PointInTimeRecovery, Stream, TableSettings, TableSpec, load_catalog
from snapinfra_db.catalog.writer import add_tables, default_env, keeps_layout, new_catalog, table_entry
from snapinfra_db.errors import SnapinfraError
from snapinfra_db.reconcile.diff import diff_table
from snapinfra_db.reconcile.live import LiveTable, as_spec, list_table_names, read_tables
from snapinfra_db.reconcile.plan import TagTable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KeyManager = Callable[[str], Literal["AWS", "CUSTOMER"] | None]


class AdoptError(SnapinfraError):
    """A table cannot be imported as asked (unknown, outside the prefix, already in the catalog)."""


@dataclass(frozen=True)
class Target:
    """Where the entries go: a new catalog on stdout (`add_to` None), or merged into `add_to`."""

    prefix: str  # a table's key is its live name minus this
    catalog: Catalog | None = None  # the catalog whose defaults are left out (and, with add_to, extended)
    add_to: Path | None = None
    prefix_option: str | None = None  # --prefix, passed on when the merged catalog is checked
    overwrite: bool = False


@dataclass
class ImportResult:
    text: str  # the new catalog, or the whole merged catalog (already written when add_to)
    keys: list[str]  # the imported tables' keys, in order
    replaced: list[str] = field(default_factory=list)  # those of them --overwrite replaced in add_to
    written: Path | None = None
    notes: list[str] = field(default_factory=list)


def spec_from_live(live: LiveTable, key: str, defaults: TableSettings) -> TableSpec:
    """The catalog entry that describes `live` exactly, as a TableSpec with `defaults` merged in.

    as_spec makes the entry a restore creates; import also keeps TTL and PITR, writes what the endpoint
    does not report (None in LiveTable) as the catalog's defaults (plan lists those as unsupported),
    and leaves what a disabled stream or PITR does not use at the defaults, so it is not written.
    """
    try:
        spec = as_spec(live, key=key, name=live.name, env=default_env(key), ttl=live.ttl)
    except ValueError as exc:
        raise AdoptError(f"{live.name}: cannot import: {exc}") from None
    pitr = live.point_in_time_recovery
    if pitr is None:
        pitr = defaults.point_in_time_recovery
    elif not pitr.enabled:
        period = defaults.point_in_time_recovery.recovery_period_days
        pitr = PointInTimeRecovery(enabled=False, recovery_period_days=period)
    stream = spec.stream if spec.stream.enabled else Stream(enabled=False, view_type=defaults.stream.view_type)
    # Tags add up: the defaults' tags are part of every entry, the table's own override them.
    tags = {**defaults.tags, **spec.tags} if live.tags is not None else dict(defaults.tags)
    return spec.model_copy(
        update={
            "point_in_time_recovery": pitr,
            "stream": stream,
            "encryption": spec.encryption if live.encryption is not None else defaults.encryption,
            "table_class": live.table_class or defaults.table_class,
            "tags": tags,
        }
    )


def _choose(
    client: DynamoDBClient, names: Sequence[str], every: bool, target: Target, notes: list[str]
) -> list[tuple[str, str]]:
    """(live name, key) of each table to import, in order; every problem at once as one error."""
    prefix = target.prefix
    catalog = target.catalog
    taken = {t.key for t in catalog.tables} if catalog is not None and target.add_to is not None else set()
    legacy = set(catalog.legacy) if catalog is not None else set()
    chosen: list[tuple[str, str]] = []
    if every:
        listed = sorted(list_table_names(client))
        outside = [n for n in listed if not n.startswith(prefix) or n == prefix]
        if outside and prefix:
            notes.append(f"{len(outside)} table(s) not named '{prefix}…' left out (--prefix)")
        skipped_legacy = [n for n in listed if n in legacy and n not in outside]
        if skipped_legacy:
            notes.append(f"left out the catalog's legacy table(s): {', '.join(skipped_legacy)}")
        present: list[str] = []
        for name in listed:
            if name in outside or name in legacy:
                continue
            key = name[len(prefix) :]
            if key in taken and not target.overwrite:
                present.append(name)
                continue
            chosen.append((name, key))
        if present:
            notes.append(f"already in {target.add_to}, left out (--overwrite replaces them): {', '.join(present)}")
        return chosen
    problems: list[str] = []
    for name in dict.fromkeys(names):
        key = name[len(prefix) :] if name.startswith(prefix) else ""
        if not name.startswith(prefix):
            problems.append(f"{name}: not named '{prefix}…': a catalog table's name is the prefix and its key")
        elif not key:
            problems.append(f"{name}: the name is the prefix itself, which leaves no key")
        elif name in legacy:
            problems.append(f"{name} is one of the catalog's legacy tables (purge-legacy deletes those)")
        elif key in taken and not target.overwrite:
            problems.append(f"{target.add_to} already has table '{key}' ({name}); pass --overwrite to replace it")
        else:
            chosen.append((name, key))
    if problems:
        raise AdoptError("\n".join(problems))
    return chosen


def _notes_for(live: LiveTable, spec: TableSpec) -> list[str]:
    notes: list[str] = []
    enc = live.encryption
    if enc is not None and enc.type == "KMS" and enc.key_manager is None and spec.encryption.kms_key:
        notes.append(
            f"{live.name}: whether KMS key {enc.kms_key_arn} is the AWS-managed key or a customer's could not be "
            "told here (kms:DescribeKey); written as CUSTOMER_MANAGED with that exact key"
        )
    return notes


def _check_round_trip(catalog: Catalog, tables: dict[str, LiveTable], notes: list[str]) -> None:
    """What was written, loaded back as plan loads it, must plan to no changes against what was read:
    only the catalog's default tags a table lacks may be added (a catalog cannot leave them out)."""
    problems: list[str] = []
    for name, live in tables.items():
        spec = catalog.table(name)
        change = diff_table(spec, live)
        tags = [s for s in change.steps if isinstance(s, TagTable) and not s.before]
        others = [s for s in change.steps if s not in tags]
        if change.blocked or others:
            words = "; ".join([*change.blocked, *(text for s in others for _, text in s.lines())])
            problems.append(f"{name}: the catalog cannot describe this table exactly (plan would show: {words})")
        for step in tags:
            added = ", ".join(f"{k}={v}" for k, v in sorted(step.tags.items()))
            notes.append(f"{name} lacks the catalog's default tag(s) {added}: apply will add them")
    if problems:
        raise AdoptError("\n".join(problems))


def import_tables(
    client: DynamoDBClient,
    names: Sequence[str],
    every: bool,
    target: Target,
    *,
    key_manager: KeyManager | None = None,
    parallelism: int = 10,
    endpoint: str = "",
) -> ImportResult:
    """Read the tables, make their entries, check them, and write them (`target.add_to`) or hand
    back a new catalog's text. Raises AdoptError (a SnapinfraError) for anything it refuses."""
    if every and names:
        raise AdoptError("name tables or pass --all, not both")
    if not every and not names:
        raise AdoptError("name the tables to import (their DynamoDB names), or pass --all")
    notes: list[str] = []
    chosen = _choose(client, names, every, target, notes)
    catalog = target.catalog
    if not chosen:
        if target.add_to is not None and catalog is not None:
            return ImportResult(text="", keys=[], notes=[*notes, f"nothing to add to {target.add_to}"])
        where = f" at {endpoint}" if endpoint else ""
        raise AdoptError(f"no tables to import{where}" + (f" named '{target.prefix}…'" if target.prefix else ""))

    live = read_tables(client, [n for n, _ in chosen], parallelism, key_manager)
    missing = [n for n, _ in chosen if live.get(n) is None]
    if missing:
        where = f" at {endpoint}" if endpoint else ""
        raise AdoptError(f"no such table{where}: {', '.join(missing)}")
    tables = {n: t for n, t in live.items() if t is not None}

    defaults = catalog.defaults if catalog is not None else TableSettings()
    entries = {}
    for name, key in chosen:
        spec = spec_from_live(tables[name], key, defaults)
        notes += _notes_for(tables[name], spec)
        entries[key] = table_entry(spec, defaults)
    unreported = sorted({s.value for t in tables.values() for s in t.unsupported})
    if unreported:
        notes.append(
            f"this endpoint does not report {', '.join(unreported)}: left at the catalog's defaults "
            "(check them before applying this catalog elsewhere)"
        )

    if target.add_to is not None:
        original = _read(target.add_to)
        text = add_tables(original, entries)
        shown, prefix = target.add_to, target.prefix_option
        # Checked as the stage it was imported for: its prefix and overrides are what the entries leave out.
        stage = catalog.stage.name if catalog is not None and catalog.stage is not None else None
        if not keeps_layout(original):
            notes.append(
                f"the YAML writer also re-laid out parts of {target.add_to} that import did not change "
                "(indentation or quoting): review the difference"
            )
    else:
        count = f"{len(entries)} table(s)" + (f" from {endpoint}" if endpoint else "")
        header = f"Imported by `snapinfra-db import`: {count}."
        text = new_catalog(entries, target.prefix, defaults if catalog is not None else None, header)
        shown, prefix, stage = Path("(imported catalog)"), None, None
    written = load_catalog(shown, prefix, stage=stage, text=text)
    _check_round_trip(written, tables, notes)
    if target.add_to is not None:
        write_atomically(target.add_to, text)
    taken = {t.key for t in catalog.tables} if catalog is not None and target.add_to is not None else set()
    replaced = [k for k in entries if k in taken]
    return ImportResult(text=text, keys=list(entries), replaced=replaced, written=target.add_to, notes=notes)


def _read(path: Path) -> str:
    with open(path, encoding="utf-8") as stream:
        return stream.read().removeprefix("\ufeff")


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` (through a symlink, its target) with `text`: written beside it under a temporary
    name, flushed to disk, then renamed over it, so a reader sees the old catalog or the new one, never
    half of one. The file keeps its permissions."""
    real = Path(os.path.realpath(path))
    mode = os.stat(real).st_mode & 0o7777
    fd, temporary = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, real)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
