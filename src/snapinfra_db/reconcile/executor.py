"""Carry a Plan out: ordering, one index change per UpdateTable, waiting, retrying.

Level-triggered, like a Kubernetes controller: before every step the table is waited for (ACTIVE,
every index ACTIVE and filled) and read again, and the diff is recomputed. The next step is taken
from that fresh diff, and only if it carries out what the confirmed plan showed: a step of the plan,
or, for a table the plan creates, any setting shown under the create (tags, protection, stream,
encryption, TTL, PITR) that CreateTable did not apply. A concurrent change never makes apply act on
stale information or do something the operator did not see. An interrupted apply converges when
run again because each run starts from what DynamoDB reports.

Observe, don't assume: a call that succeeded must show its effect on a re-read. When it does not
within EFFECT_VISIBLE's deadline, and the endpoint is not AWS itself, the setting is taken as one
this endpoint accepts and does not apply: the table is reported applied with a note, the setting is
left out of the rest of this apply, and `ApplyResult.not_applied` says so (the CLI remembers it for
the next plan, see reconcile.capabilities). Against AWS itself nothing is assumed: it is a failure.

Idempotent answers are success: when DynamoDB refuses a call because what it asks for is already so
(another apply, or someone by hand, got there between this apply's read and its call: "TimeToLive is
already enabled", "Table already exists", ...), the table is read again, and if the fresh diff no
longer asks for anything of that step's concern, the step is counted as done ("(already so)").
Otherwise the refusal stands. See ALREADY_ANSWERS for the answers, as each engine gives them.

Progress goes out through an `on_event` callback; this module never prints.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from snapinfra_db.catalog import Setting, TableSpec
from snapinfra_db.errors import error_code
from snapinfra_db.reconcile.diff import diff_table
from snapinfra_db.reconcile.events import ApplyEvent, ApplyResult, EventKind
from snapinfra_db.reconcile.live import LiveTable, describe, read_again, read_table, reflect
from snapinfra_db.reconcile.plan import (
    DisableTtl,
    EnableTtl,
    Plan,
    Step,
    TableChange,
    TagTable,
    UpdatePitr,
)
from snapinfra_db.reconcile.requests import step_request
from snapinfra_db.waiting import (
    BUSY,
    EFFECT_VISIBLE,
    PITR_NOT_READY,
    STATUS,
    Backoff,
    Clock,
    Interrupted,
    WaitTimeout,
    retry,
    wait_for,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The table or one of its indexes is busy, or the account is at its limit of table operations:
# wait and try again rather than fail.
BUSY_CODES = frozenset({"ResourceInUseException", "LimitExceededException"})
# PITR right after CreateTable: "Backups are being enabled for the table". Retry for minutes.
PITR_NOT_READY_CODES = frozenset({"ContinuousBackupsUnavailableException"})

# Busy refusals are retried along BUSY (0.5 s doubling to 20 s), at most this many times per step
# (after botocore's own retries). A count, not BUSY's deadline, because each try first waits for
# ACTIVE again, and that wait (bounded by the status timeout) can last as long as an index build:
# a deadline would leave no retry at all to a refusal that comes right after a long build, when
# one that comes after a short wait gets several.
BUSY_RETRIES = 6
_BUSY_BY_COUNT = BUSY.within(math.inf)  # the count above is the bound

# A call refused because what it asks for may already be so: (error code, text in the message), per
# step. Only a hint: the step counts as done only when a fresh read shows it is no longer needed.
# Measured (out-of-band change between plan and apply) on DynamoDB Local 1.25 and moto 5.2.5; AWS's
# texts as its documentation and the reported runs give them. Where a call is accepted again (moto:
# TTL, PITR, tags, deletion protection, disabling a stream; every engine: PITR and tags on AWS) there
# is nothing to recognise.
_INTERNAL_ERROR = ("500", "Internal Server Error")  # moto: its "already exists" ValueError becomes an HTTP 500
ALREADY_ANSWERS: dict[str, tuple[tuple[str, str], ...]] = {
    # AWS and moto: "Table already exists: NAME"; DynamoDB Local: "Cannot create preexisting table"
    "create_table": (
        ("ResourceInUseException", "already exists"),
        ("ResourceInUseException", "preexisting"),
        ("ResourceInUseException", "being created"),
    ),
    # AWS and DynamoDB Local: "Attempting to create an index which already exists" once it is ACTIVE;
    # while the other call's index is still building, Local: ResourceInUseException "Attempt to change
    # a resource which is still in use: Index is being created." (the check waits for it to be ACTIVE)
    "create_gsi": (
        ("ValidationException", "already exists"),
        ("ResourceInUseException", "already exists"),
        ("ResourceInUseException", "being created"),
        _INTERNAL_ERROR,
    ),
    # DynamoDB Local: "Attempt to change a resource which is still in use: Index is being deleted."
    "delete_gsi": (
        ("ResourceInUseException", "being deleted"),
        ("ValidationException", "does not exist"),
        ("ResourceNotFoundException", ""),
        _INTERNAL_ERROR,
    ),
    # AWS and DynamoDB Local: "TimeToLive is already enabled" / "... already disabled"
    "enable_ttl": (("ValidationException", "already enabled"),),
    "disable_ttl": (("ValidationException", "already disabled"),),
    # AWS and DynamoDB Local: "Table already has an enabled stream"; moto: ResourceInUseException
    # "Cannot enable stream"
    "enable_stream": (
        ("ValidationException", "already has an enabled stream"),
        ("ResourceInUseException", "Cannot enable stream"),
    ),
    # DynamoDB Local: "Table has no stream to disable"
    "disable_stream": (("ValidationException", "no stream to disable"), ("ValidationException", "already disabled")),
    "update_pitr": (("ValidationException", "already"),),
    "tag_table": (("ValidationException", "already"),),
    "update_deletion_protection": (("ValidationException", "already"),),
}


def may_be_already_so(step: Step, exc: BaseException) -> bool:
    """Whether DynamoDB refused `step` with an answer that may mean its effect is already in place."""
    code = error_code(exc)
    if not code:
        return False
    message = str(getattr(exc, "response", {}).get("Error", {}).get("Message", "")).lower()
    return any(code == c and text.lower() in message for c, text in ALREADY_ANSWERS.get(step.op, ()))


def _concern(step: Step) -> tuple[str, str]:
    """What a step is about: one index, one setting, or (billing, the table itself) its operation. A step
    is already so when the fresh diff has no step of the same concern left, whatever its exact values."""
    index = getattr(step, "index", None)
    if isinstance(index, str):
        return ("index", index)
    if step.setting is not None:
        return ("setting", step.setting.value)
    return ("op", step.op)


# The part of a table, besides DescribeTable's answer, that a step's call changes (live.FACETS): after
# the step, the re-read asks for that part again, and for nothing else DescribeTable does not answer.
FACET_OF: dict[Setting, str] = {Setting.TTL: "ttl", Setting.POINT_IN_TIME_RECOVERY: "pitr", Setting.TAGS: "tags"}
# What a table CreateTable has just made has, whatever the request: no TTL (UpdateTimeToLive is a call
# of its own) and no PITR. What a request may carry and an endpoint may drop (tags) is read back.
NEW_TABLE_TTL = {"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}}


# Steps whose call is not UpdateTable (UpdateTimeToLive, UpdateContinuousBackups, TagResource): they
# need the table ACTIVE, not its indexes, so they run while an index builds or backfills (minutes to
# hours) instead of after it. Index changes stay one per UpdateTable, each waited for.
INDEPENDENT_OF_INDEXES = (EnableTtl, DisableTtl, UpdatePitr, TagTable)


class StepFailed(Exception):
    pass


class Executor:
    def __init__(
        self,
        client: DynamoDBClient,
        specs: dict[str, TableSpec],
        on_event: Callable[[ApplyEvent], None] = lambda e: None,
        parallelism: int = 10,
        status: Backoff = STATUS,
        busy_retries: int = BUSY_RETRIES,
        not_applied: frozenset[Setting] = frozenset(),
        learn: bool = False,
    ) -> None:
        """`status`: how to poll a table until it is ready for the next step; its `timeout` is apply's
        --wait-timeout (per wait). `busy_retries`: see BUSY_RETRIES. `not_applied`: settings this
        endpoint is already known not to apply. `learn`: whether a setting whose effect never shows
        may be taken as not applied by the endpoint (never for AWS itself)."""
        self.client = client
        self.specs = specs
        # What the endpoint does not apply is the endpoint's, not a table's: shared by every table.
        self._not_applied = set(not_applied)
        # Tables whose steps wait for every index, even those that need not (a refusal said so).
        self._wait_for_indexes: set[str] = set()
        self._not_applied_lock = threading.Lock()
        self.learn = learn
        self.on_event = on_event
        self.parallelism = max(1, parallelism)
        self.status = status
        self.busy_retries = busy_retries
        self.stop = threading.Event()
        # Every wait of every worker sleeps on this clock: Ctrl-C sets `stop` and they all end at once.
        self.clock = Clock(self.stop)
        # Per table (each is worked on by one thread only): the last read, and the facets (live.FACETS)
        # a call of this apply may have changed since. No entry: read everything (the first read, the
        # plan guard, and after a refusal that may mean someone else changed the table).
        self._last: dict[str, LiveTable] = {}
        self._stale: dict[str, set[str]] = {}
        # CreateTable's own answer: the first "poll" of a table this apply just created.
        self._created: dict[str, dict[str, Any]] = {}

    # -- public ------------------------------------------------------------------------------

    def run(self, plan: Plan) -> list[ApplyResult]:
        """Apply every table's change, `parallelism` tables at a time. Ctrl-C stops between calls."""
        work = [c for c in plan.tables if c.action != "none"]
        results: dict[str, ApplyResult] = {}
        pool = ThreadPoolExecutor(max_workers=self.parallelism, thread_name_prefix="apply")
        futures: dict[Future[ApplyResult], str] = {}
        try:
            # Submitted inside the try: a Ctrl-C while tables are still being handed out stops the
            # ones already started too (they see `stop`), and those never started are 'interrupted'.
            for change in work:
                futures[pool.submit(self._table, change)] = change.table
            pending = set(futures)
            while pending:
                # A timeout keeps the main thread responsive to Ctrl-C.
                finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in finished:
                    results[futures[future]] = future.result()
        except KeyboardInterrupt:
            self.stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            submitted = {name: future for future, name in futures.items()}
            for change in work:
                if change.table in results:
                    continue
                started = submitted.get(change.table)
                finished_cleanly = (
                    started is not None and started.done() and not started.cancelled() and started.exception() is None
                )
                results[change.table] = (
                    started.result()
                    if started is not None and finished_cleanly
                    else ApplyResult(change.table, "interrupted", error="interrupted")
                )
            raise_interrupt = True
        else:
            raise_interrupt = False
            pool.shutdown(wait=True)
        ordered = [results[c.table] for c in work]
        if raise_interrupt:
            raise ApplyInterrupted(ordered)
        return ordered

    # -- one table ------------------------------------------------------------------------------

    def _emit(self, table: str, kind: EventKind, message: str, step: Step | None = None) -> None:
        self.on_event(ApplyEvent(table, kind, message, step))

    def _table(self, change: TableChange) -> ApplyResult:
        name = change.table
        if change.action == "blocked":
            self._emit(name, "blocked", "; ".join(change.blocked))
            return ApplyResult(name, "blocked", error="; ".join(change.blocked))
        result = ApplyResult(name, "applied")
        try:
            self._converge(change, self.specs[name], result)
        except Interrupted:
            result.status, result.error = "interrupted", "interrupted: run apply again to finish"
            self._emit(name, "failed", result.error)
        except Exception as exc:  # one table's failure never stops the others
            from snapinfra_db.aws import translate

            translated = translate(exc)
            result.status, result.error = "failed", str(translated or exc)
            self._emit(name, "failed", result.error)
        return result

    def _converge(self, change: TableChange, spec: TableSpec, result: ApplyResult) -> None:
        name = change.table
        remaining = [s.intent() for s in change.steps]
        creating = change.action == "create"
        self._emit(name, "start", f"{len(change.steps)} call(s)")

        def refused_while_busy(exc: BaseException) -> bool:
            return error_code(exc) in BUSY_CODES

        def busy(exc: BaseException, delay: float) -> None:
            # Refused while an index is busy: from now on this table waits for its indexes first.
            with self._not_applied_lock:
                self._wait_for_indexes.add(name)
            self._emit(name, "retry", f"{error_code(exc)}: waiting for the table and trying again")

        # One step per turn until the fresh diff has none left. A busy refusal retries the whole turn
        # (wait for ACTIVE, read, diff, call): the table may have changed while it was busy.
        while (
            turn := retry(
                lambda: self._turn(name, spec, remaining, result, creating),
                _BUSY_BY_COUNT,
                retryable=refused_while_busy,
                tries=self.busy_retries + 1,
                clock=self.clock,
                on_retry=busy,
            )
        ) is not None:
            step, already = turn
            if step.intent() in remaining:
                remaining.remove(step.intent())
            result.done.append(step)
            self._emit(name, "done", step.describe() + (" (already so)" if already else ""), step)
        self._emit(name, "ok", f"done ({len(result.done)} call(s))")

    def _turn(
        self, name: str, spec: TableSpec, remaining: list[dict[str, Any]], result: ApplyResult, creating: bool
    ) -> tuple[Step, bool] | None:
        """Wait for the table, read it, and make the first call its fresh diff asks for (None: none left).
        Returns the step and whether DynamoDB found it already so (see `_already_so`)."""
        live, fresh = self._fresh_diff(name, spec, remaining, result)
        if not fresh.steps:
            result.unsupported = [s for s in fresh.unsupported if s not in result.not_applied]
            return None
        step = fresh.steps[0]
        # For a new table the operator saw every setting under the create: finishing any of them
        # (CreateTable did not apply it) carries out the confirmed plan.
        if step.intent() not in remaining and not creating:
            raise StepFailed(
                f"live state changed since the plan: the table now needs '{step.describe()}', which the "
                "confirmed plan did not include; run plan again to see the change"
            )
        self._emit(name, "step", step.describe(), step)
        try:
            self._execute(name, live, step)
        except Exception as exc:
            self._forget(name)  # refused: read everything again, someone else may have changed the table
            if may_be_already_so(step, exc) and self._already_so(name, spec, step):
                return step, True
            if error_code(exc) == "ValidationException" and "Time to live has been modified" in str(exc):
                raise StepFailed(
                    f"{step.describe()}: DynamoDB allows one TTL change per table per hour; run apply again in an hour"
                ) from exc
            raise
        return step, False

    def _already_so(self, name: str, spec: TableSpec, step: Step) -> bool:
        """After a refusal that may mean "already so": whether the table, read again once ready, no longer
        needs anything of the step's concern (another apply or a hand got there first)."""
        fresh = diff_table(spec, self._wait_ready(name), self.not_applied)
        if fresh.action == "blocked":
            return False
        concern = _concern(step)
        return all(_concern(s) != concern for s in fresh.steps)

    def _fresh_diff(
        self, name: str, spec: TableSpec, remaining: list[dict[str, Any]], result: ApplyResult
    ) -> tuple[LiveTable | None, TableChange]:
        """The table once ready, and its diff. While the diff still asks for a call this apply already
        made (and has not planned again), that call's effect does not show yet: read again along
        EFFECT_VISIBLE. Past its deadline the setting is one the endpoint does not apply (when
        `learn`), or the step fails: DynamoDB accepted a call whose effect never showed."""
        while True:
            last: tuple[LiveTable | None, TableChange] | None = None
            unseen: Step | None = None

            def effects_visible() -> tuple[LiveTable | None, TableChange] | None:
                nonlocal last, unseen
                live, fresh = self._ready_diff(name, spec)
                if fresh.action == "blocked":
                    raise StepFailed("; ".join(fresh.blocked))
                last, unseen = (live, fresh), None
                if fresh.steps:
                    step = fresh.steps[0]
                    if step.intent() not in remaining and any(step.intent() == s.intent() for s in result.done):
                        unseen = step
                        return None
                return last

            try:
                return wait_for(effects_visible, EFFECT_VISIBLE, what=f"{name}: effect of a call", clock=self.clock)
            except WaitTimeout:
                assert last is not None and unseen is not None  # the check ran, and asked to wait
                setting = unseen.setting
                if not self.learn or setting is None:
                    raise StepFailed(
                        f"{unseen.describe()}: DynamoDB accepted the call, but the table still does not show "
                        f"it after {EFFECT_VISIBLE.timeout:g}s; run apply again"
                    ) from None
                with self._not_applied_lock:
                    self._not_applied.add(setting)
                result.not_applied.append(setting)
                self._emit(name, "retry", f"{setting.value}: accepted but not applied by this endpoint; left as is")

    def _ready_diff(self, name: str, spec: TableSpec) -> tuple[LiveTable | None, TableChange]:
        """The table read once it can take its next step, and the diff of what it still needs.

        Once the table is ACTIVE, steps that do not go through UpdateTable may run while an index is
        still building: the diff then holds only those. Otherwise (and at the end, so that apply
        finishes on a settled table) it waits for every index, as DynamoDB requires for UpdateTable.
        """
        with self._not_applied_lock:
            early = name not in self._wait_for_indexes
        live = self._wait_ready(name, indexes=not early)
        fresh = self._settled(name, diff_table(spec, live, self.not_applied))
        if live is None or live.accepts_updates or fresh.action == "blocked":
            return live, fresh
        now = tuple(s for s in fresh.steps if isinstance(s, INDEPENDENT_OF_INDEXES))
        if now:
            return live, fresh.model_copy(update={"steps": now})
        live = self._wait_ready(name, indexes=True)
        return live, self._settled(name, diff_table(spec, live, self.not_applied))

    def _settled(self, name: str, fresh: TableChange) -> TableChange:
        """A facet changed by a call of this apply stays stale (read again) until a diff no longer asks
        for anything of it: its effect may take a moment to show (eventual consistency)."""
        stale = self._stale.get(name)
        if stale:
            asked = {FACET_OF.get(s.setting) for s in fresh.steps if s.setting is not None}
            stale &= asked
        return fresh

    def _forget(self, name: str) -> None:
        """The next read of `name` reads everything."""
        self._stale.pop(name, None)
        self._last.pop(name, None)
        self._created.pop(name, None)

    def _changed(self, name: str, step: Step, answer: Any) -> None:
        """After `step`'s call succeeded: what the next read of `name` must ask again."""
        if step.op == "create_table":
            description = answer.get("TableDescription") if isinstance(answer, dict) else None
            if isinstance(description, dict) and description.get("TableName") == name:
                self._created[name] = description
                try:
                    self._last[name] = reflect(description, NEW_TABLE_TTL, None, None)
                except (KeyError, TypeError, AttributeError, ValueError):  # not a usable answer: read all
                    self._forget(name)
                    return
                self._stale[name] = {"pitr", "tags"}
            return
        facet = FACET_OF.get(step.setting) if step.setting is not None else None
        if name in self._stale and facet is not None:
            self._stale[name].add(facet)

    @property
    def not_applied(self) -> frozenset[Setting]:
        """The settings this endpoint is known (or was found in this apply) not to apply."""
        with self._not_applied_lock:
            return frozenset(self._not_applied)

    def _execute(self, name: str, live: LiveTable | None, step: Step) -> None:
        self._changed(name, step, self._call(name, live, step))

    def _call(self, name: str, live: LiveTable | None, step: Step) -> Any:
        """Make `step`'s call; return DynamoDB's answer."""
        operation, params = step_request(name, live.arn if live else "", step)
        if live is not None and live.endpoint_kind == "ddblocal" and operation == "update_table":
            # DynamoDB Local resets deletion protection to off on any UpdateTable that does not
            # name it (AWS leaves it unchanged): restate the current value.
            params.setdefault("DeletionProtectionEnabled", live.deletion_protection)
        call = getattr(self.client, operation)
        if not isinstance(step, UpdatePitr):
            return call(**params)

        # PITR can be refused for minutes after CreateTable while backups are being enabled.
        def not_ready(exc: BaseException) -> bool:
            return error_code(exc) in PITR_NOT_READY_CODES

        def retrying(exc: BaseException, delay: float) -> None:
            self._emit(name, "retry", "backups are still being enabled for the table; retrying PITR")

        return retry(lambda: call(**params), PITR_NOT_READY, retryable=not_ready, clock=self.clock, on_retry=retrying)

    def _wait_ready(self, name: str, indexes: bool = True) -> LiveTable | None:
        """Poll DescribeTable along the status curve until the table (and, with `indexes`, every index)
        is ACTIVE and filled, then read it."""
        reason = ""  # what the table was last seen busy with: told once each time it changes

        def ready() -> tuple[LiveTable | None] | None:
            # The answer is wrapped: None means "not yet" to wait_for, but a missing table is an answer.
            nonlocal reason
            # Right after CreateTable its answer is the first look (DynamoDB Local's tables are ACTIVE at once).
            description = self._created.pop(name, None) or describe(self.client, name)
            if description is None:
                return (None,)
            snapshot = reflect(description, None, None, None)
            if snapshot.accepts_updates or (not indexes and snapshot.status == "ACTIVE"):
                if reason:
                    self._emit(name, "wait", "ACTIVE")
                return (self._read(name, description),)
            if snapshot.busy_reason() != reason:
                reason = snapshot.busy_reason()
                self._emit(name, "wait", reason)
            return None

        try:
            (live,) = wait_for(ready, self.status, what=f"{name} ready", clock=self.clock)
        except WaitTimeout:
            raise StepFailed(
                f"still {reason} after {self.status.timeout:.0f}s; DynamoDB carries on in the background: "
                "run apply again later"
            ) from None
        return live

    def _read(self, name: str, description: dict[str, Any]) -> LiveTable | None:
        """The table, from DescribeTable's `description` and the other calls: all of them the first
        time, then only those whose part a call of this apply may have changed (see _changed)."""
        keep, stale = self._last.get(name), self._stale.get(name)
        if keep is None or stale is None:
            live = read_table(self.client, name, description)
            self._stale[name] = set()
        else:
            live = read_again(self.client, description, stale, keep)
        if live is not None:
            self._last[name] = live
        return live


class ApplyInterrupted(Exception):
    def __init__(self, results: list[ApplyResult]) -> None:
        super().__init__("interrupted")
        self.results = results
