"""The diff: catalog × live → steps. Pure: no boto3, no I/O, no printing.

One small comparator per facet (GSIs, billing, stream, TTL, PITR, SSE, tags, ...). Steps come out
in the order DynamoDB needs them (the order terraform's provider uses): index deletions first,
then table-level updates, stream, index creations, encryption, TTL, PITR, tags.
"""

from __future__ import annotations

from collections.abc import Iterable

from snapinfra_db.catalog import (
    Capacity,
    Catalog,
    Encryption,
    GlobalIndex,
    KeyAttribute,
    PointInTimeRecovery,
    Setting,
    TableSpec,
)
from snapinfra_db.reconcile.live import LiveEncryption, LiveTable
from snapinfra_db.reconcile.plan import (
    CreateGsi,
    CreateTable,
    DeleteGsi,
    DisableStream,
    DisableTtl,
    EnableStream,
    EnableTtl,
    Plan,
    Step,
    TableChange,
    TagTable,
    UpdateBilling,
    UpdateDeletionProtection,
    UpdateEncryption,
    UpdateGsiCapacity,
    UpdatePitr,
    UpdateTableClass,
)


def diff_catalog(
    catalog: Catalog, live: dict[str, LiveTable | None], not_applied: frozenset[Setting] = frozenset()
) -> Plan:
    return Plan(tables=tuple(diff_table(spec, live.get(spec.name), not_applied) for spec in catalog.tables))


def diff_table(spec: TableSpec, live: LiveTable | None, not_applied: frozenset[Setting] = frozenset()) -> TableChange:
    """The change that takes `live` to `spec`. `not_applied`: settings this endpoint does not implement
    or is known to accept and not apply (learnt by apply), beyond what `live` itself shows: they are
    reported as unsupported, never planned (and not shown under a create)."""
    change = _diff(spec, live)
    if not not_applied:
        return change
    steps = tuple(
        s.model_copy(update={"left_out": tuple(x for x in Setting if x in not_applied)})
        if isinstance(s, CreateTable)
        else s
        for s in change.steps
        if s.setting not in not_applied
    )
    unsupported = tuple(s for s in Setting if s in not_applied or s in change.unsupported)
    action = change.action if steps or change.action == "blocked" else "none"
    return change.model_copy(update={"steps": steps, "unsupported": unsupported, "action": action})


def _diff(spec: TableSpec, live: LiveTable | None) -> TableChange:
    if live is None:
        return _create(spec)

    blocked = _blocked(spec, live)
    if blocked:
        return TableChange(table=spec.name, action="blocked", blocked=tuple(blocked), notes=(_way_through(spec),))

    steps: list[Step] = []
    notes: list[str] = []
    deletes, creates, capacity_updates = _compare_indexes(spec, live, notes)
    steps += deletes
    steps += _compare_billing(spec, live, creates)
    steps += capacity_updates
    steps += _compare_table_class(spec, live)
    steps += _compare_deletion_protection(spec, live)
    steps += _compare_stream(spec, live, notes)
    steps += creates
    steps += _compare_encryption(spec, live)
    steps += _compare_ttl(spec, live, notes)
    steps += _compare_pitr(spec, live)
    steps += _compare_tags(spec, live)
    return TableChange(
        table=spec.name,
        action="update" if steps else "none",
        steps=tuple(steps),
        notes=tuple(notes),
        unsupported=live.unsupported,
    )


def _create(spec: TableSpec) -> TableChange:
    # Keys, indexes, billing, stream, SSE, tags, class and protection go into CreateTable;
    # TTL and PITR have their own calls, made once the table is ACTIVE.
    steps: list[Step] = [CreateTable(spec=spec)]
    if spec.ttl:
        steps.append(EnableTtl(attribute=spec.ttl))
    if spec.point_in_time_recovery.enabled:
        steps.append(UpdatePitr(before=PointInTimeRecovery(enabled=False), after=spec.point_in_time_recovery))
    return TableChange(table=spec.name, action="create", steps=tuple(steps))


def _same_key(want: KeyAttribute | None, have: KeyAttribute | None) -> bool:
    if want is None or have is None:
        return want is have
    # An unknown live type (moto drops definitions) compares by name only.
    return want.name == have.name and (have.type is None or want.type == have.type)


def _key_text(partition: KeyAttribute, sort: KeyAttribute | None) -> str:
    text = f"{partition.name} ({partition.type or '?'})"
    return text + (f" + {sort.name} ({sort.type or '?'})" if sort else "")


def _blocked(spec: TableSpec, live: LiveTable) -> list[str]:
    """Changes DynamoDB cannot make in place. We refuse them instead of replacing the table."""
    reasons: list[str] = []
    migrate = (
        "DynamoDB cannot change this on an existing table; create a new table with the new definition "
        "(a new name in the catalog), migrate the data, then retire the old one"
    )
    if not (_same_key(spec.partition_key, live.partition_key) and _same_key(spec.sort_key, live.sort_key)):
        reasons.append(
            f"primary key differs: live {_key_text(live.partition_key, live.sort_key)}, catalog "
            f"{_key_text(spec.partition_key, spec.sort_key)}. {migrate}"
        )
    for name in sorted(set(spec.local_indexes) | set(live.local_indexes)):
        want, have = spec.local_indexes.get(name), live.local_indexes.get(name)
        if want is None:
            reasons.append(f"local index {name} exists but is not in the catalog. {migrate}")
        elif have is None:
            reasons.append(f"local index {name} is in the catalog but not on the table. {migrate}")
        elif not _same_key(want.sort_key, have.sort_key) or want.projection != have.projection:
            reasons.append(f"local index {name} differs from the catalog. {migrate}")
    return reasons


def _way_through(spec: TableSpec) -> str:
    """What to do about a blocked table, as commands: a new catalog entry, migrate, switch, retire."""
    return (
        f"the way through: add a catalog entry {spec.key}-v2 with the new definition (and put {spec.key} back "
        f"as it is live), then `snapinfra-db migrate {spec.name} {spec.name}-v2 --follow` creates it, copies "
        f"every item and follows the writes made meanwhile; switch the backend with the .env line it prints, "
        f"check with `snapinfra-db migrate --verify {spec.name} {spec.name}-v2`, then retire {spec.name} through "
        "destroy -t or purge-legacy (a backup first)"
    )


def _gsi_shape_differs(want: GlobalIndex, have: GlobalIndex) -> bool:
    return (
        not _same_key(want.partition_key, have.partition_key)
        or not _same_key(want.sort_key, have.sort_key)
        or want.projection != have.projection
    )


def _capacity(index: Capacity, provisioned: bool) -> Capacity:
    if provisioned:
        return Capacity(read=index.read, write=index.write)
    return Capacity(max_read=index.max_read, max_write=index.max_write)


def _compare_indexes(spec: TableSpec, live: LiveTable, notes: list[str]) -> tuple[list[Step], list[Step], list[Step]]:
    deletes: list[Step] = []
    creates: list[Step] = []
    updates: list[Step] = []
    provisioned = spec.billing.mode == "PROVISIONED"
    billing_changes = spec.billing.mode != live.billing.mode
    types = spec.attribute_types()

    def create(name: str, rebuild: bool) -> CreateGsi:
        gsi = spec.global_indexes[name]
        attrs = {a.name: types[a.name] for a in (*spec.key_attributes(), *gsi.key_attributes())}
        return CreateGsi(index=name, spec=gsi, attribute_types=attrs, provisioned=provisioned, rebuild=rebuild)

    for name in sorted(set(live.global_indexes) - set(spec.global_indexes)):
        deletes.append(DeleteGsi(index=name))
        notes.append(f"index {name} is not in the catalog and will be deleted: queries on it will fail")
    for name in sorted(set(spec.global_indexes) - set(live.global_indexes)):
        creates.append(create(name, rebuild=False))
    for name in sorted(set(spec.global_indexes) & set(live.global_indexes)):
        want, have = spec.global_indexes[name], live.global_indexes[name]
        if _gsi_shape_differs(want, have):
            deletes.append(DeleteGsi(index=name, rebuild=True))
            creates.append(create(name, rebuild=True))
            notes.append(
                f"index {name} is rebuilt (deleted, then created) because its key schema or projection "
                "changed: queries on it fail until the new index is ACTIVE (backfilling can take a long "
                "time on a large table)"
            )
        elif not billing_changes:
            # When billing changes, UpdateBilling carries every index's capacity itself.
            before, after = _capacity(have, provisioned), _capacity(want, provisioned)
            if before != after:
                updates.append(UpdateGsiCapacity(index=name, before=before, after=after))
    return deletes, creates, updates


def _compare_billing(spec: TableSpec, live: LiveTable, creates: Iterable[Step]) -> list[Step]:
    want, have = spec.billing, live.billing
    if want == have:
        return []
    index_capacity: dict[str, Capacity] = {}
    if want.mode != have.mode:
        rebuilt = {s.index for s in creates if isinstance(s, CreateGsi)}
        provisioned = want.mode == "PROVISIONED"
        # Indexes that stay through the switch need their capacity in the same UpdateTable call.
        for name in sorted(set(live.global_indexes) & set(spec.global_indexes) - rebuilt):
            cap = _capacity(spec.global_indexes[name], provisioned)
            if provisioned or cap != Capacity():
                index_capacity[name] = cap
    return [UpdateBilling(before=have, after=want, index_capacity=index_capacity)]


def _compare_table_class(spec: TableSpec, live: LiveTable) -> list[Step]:
    if live.table_class is None:
        return []
    if spec.table_class == live.table_class:
        return []
    return [UpdateTableClass(before=live.table_class, after=spec.table_class)]


def _compare_deletion_protection(spec: TableSpec, live: LiveTable) -> list[Step]:
    if spec.deletion_protection == live.deletion_protection:
        return []
    return [UpdateDeletionProtection(before=live.deletion_protection, after=spec.deletion_protection)]


def _compare_stream(spec: TableSpec, live: LiveTable, notes: list[str]) -> list[Step]:
    want, have = spec.stream, live.stream
    if not want.enabled and not have.enabled:
        return []
    if want.enabled and not have.enabled:
        return [EnableStream(view_type=want.view_type)]
    if not want.enabled:
        notes.append("the stream is turned off: its consumers (Lambda triggers, pipes) stop receiving changes")
        return [DisableStream(before=have.view_type)]
    if want.view_type != have.view_type:
        notes.append(
            f"stream view type {have.view_type} → {want.view_type}: DynamoDB cannot change it in place, so the "
            "stream is disabled, then enabled; the stream ARN changes and consumers must be re-pointed"
        )
        return [DisableStream(before=have.view_type), EnableStream(view_type=want.view_type)]
    return []


def encryption_matches(want: Encryption, have: LiveEncryption) -> bool:
    if want.type == "AWS_OWNED":
        return have.type == "AWS_OWNED"
    if have.type != "KMS":
        return False
    if want.type == "AWS_MANAGED":
        return have.key_manager != "CUSTOMER"
    key, arn = want.kms_key or "", have.kms_key_arn or ""
    return arn == key or arn.endswith("/" + key)


def _live_encryption_as_catalog(have: LiveEncryption) -> Encryption:
    if have.type == "AWS_OWNED":
        return Encryption(type="AWS_OWNED")
    if have.key_manager == "CUSTOMER":
        return Encryption(type="CUSTOMER_MANAGED", kms_key=have.kms_key_arn)
    return Encryption(type="AWS_MANAGED")


def _compare_encryption(spec: TableSpec, live: LiveTable) -> list[Step]:
    if live.encryption is None or live.encryption.changing:
        return []  # not implemented, or a change of key under way: compared again once it settles
    if encryption_matches(spec.encryption, live.encryption):
        return []
    return [UpdateEncryption(before=_live_encryption_as_catalog(live.encryption), after=spec.encryption)]


def _compare_ttl(spec: TableSpec, live: LiveTable, notes: list[str]) -> list[Step]:
    want, have = spec.ttl, live.ttl
    if want == have:
        return []
    if have is None:
        return [EnableTtl(attribute=want)] if want else []
    if want is None:
        return [DisableTtl(attribute=have)]
    notes.append(
        f"TTL attribute {have} → {want} is a disable then an enable, and DynamoDB allows one TTL change per "
        "table per hour: the enable is refused until an hour after the disable, so run apply again then; "
        "items do not expire in between"
    )
    return [DisableTtl(attribute=have), EnableTtl(attribute=want)]


def _compare_pitr(spec: TableSpec, live: LiveTable) -> list[Step]:
    have = live.point_in_time_recovery
    if have is None:
        return []
    want = spec.point_in_time_recovery
    if want == have or (not want.enabled and not have.enabled):
        return []
    return [UpdatePitr(before=have, after=want)]


def _compare_tags(spec: TableSpec, live: LiveTable) -> list[Step]:
    if live.tags is None:
        return []
    # Tags the catalog does not name belong to someone else (cost tools, other stacks): left alone.
    changed = {k: v for k, v in spec.tags.items() if live.tags.get(k) != v}
    if not changed:
        return []
    return [TagTable(before={k: live.tags[k] for k in changed if k in live.tags}, tags=changed)]
