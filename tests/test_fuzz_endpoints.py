"""Fuzzing `plan` and `health` with DynamoDB answers mutated from real ones (issue #15).

moto's server holds a small applied catalog (TTL, PITR, tags, a GSI). Its real answers to DescribeTable,
DescribeTimeToLive, DescribeContinuousBackups, ListTagsOfResource and ListTables are recorded at test time;
hypothesis mutates one of them (a key deleted, a value replaced by one of another JSON type, a wrong enum word,
a huge string, a key inserted, the body truncated, random bytes, valid JSON of the wrong top-level type) and the
behaviour proxy (tests/behaviour.py, knob ``answer``) serves it for that operation, after forwarding the call.

For every example, `plan --detailed-exitcode` and `health`: exit 0, 1 (or 2 for plan), no traceback, stderr only
`error:`/`warning:`/`note:` lines (at most three), each run within BOUND seconds. And what the answer is judged to
be, from DynamoDB's API model (botocore's) and its documented values, never from the tool's own code:

- not a DynamoDB response (unreadable, another shape, a member of the wrong type, a required member gone, a status
  DynamoDB does not report, a TTL that is on without an attribute, ...): exit 1 and the one line naming the
  operation, for both commands; garbage is never read as a setting;
- a well-formed but different answer (TTL DISABLED, another tag value): believed; the plan may change, but only in
  what that operation reports (a DescribeTable answer never changes TTL, PITR or, unless its ARN changed, tags);
- ListTables (the endpoint probe, and the orphan search's list): whatever it answers, plan and health say what
  they said before, or fail with one `error:` line; never a change of TTL, PITR or tags.

Profiles (tests/conftest.py): "ci" (the default) is derandomized and bounded, the same examples on every run;
"long" (SNAPINFRA_DB_HYPOTHESIS_PROFILE=long, or --hypothesis-profile=long) explores 12 times as many.
"""

from __future__ import annotations

import copy
import http.client
import json
import re
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import botocore.session
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from behaviour import BehaviourProxy, proxy_for
from snapinfra_db.cli.application import app

CATALOG = """
prefix: fuzz-
defaults:
  point_in_time_recovery: {enabled: true, recovery_period_days: 7}
  tags: {ManagedBy: snapinfra-db}
tables:
  notes:
    partition_key: id
    sort_key: {name: ts, type: N}
    ttl: expiresAt
    tags: {Team: core}
    global_indexes:
      ByOwner: {partition_key: owner, projection: KEYS_ONLY}
"""
TABLE = "fuzz-notes"
OPERATIONS = ["DescribeTable", "DescribeTimeToLive", "DescribeContinuousBackups", "ListTagsOfResource", "ListTables"]
# The setting each operation reports: a well-formed answer may change the plan there and nowhere else.
FACET = {"DescribeTimeToLive": "ttl", "DescribeContinuousBackups": "pitr", "ListTagsOfResource": "tags"}
FACET_LINES = {"ttl": "~ ttl:", "pitr": "point-in-time recovery:", "tags": "~ tags:"}
# Examples per operation, as a share of the profile's max_examples (ci: 25, long: 300).
SHARE = {
    "DescribeTable": 0.4,
    "DescribeTimeToLive": 0.24,
    "DescribeContinuousBackups": 0.24,
    "ListTagsOfResource": 0.28,
    "ListTables": 0.12,
}
BOUND = 10.0  # seconds, per command
MODEL = botocore.session.get_session().get_service_model("dynamodb")
STATUSES = {"ENABLED", "DISABLED", "ENABLING", "DISABLING"}  # TTL's, and PITR's as the tool reads them
ON = {"ENABLED", "ENABLING"}
STDERR_LINE = re.compile(r"^(error|warning|note): \S")

Path_ = tuple[str | int, ...]


# --------------------------------------------------------------------------- real answers


def raw_answer(url: str, operation: str, payload: dict[str, Any]) -> Any:
    """The engine's own JSON answer to one call, as it is on the wire."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=10)
    headers = {
        "X-Amz-Target": f"DynamoDB_20120810.{operation}",
        "Content-Type": "application/x-amz-json-1.0",
        # Unsigned, but its credential scope tells moto which service this is.
        "Authorization": "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host, Signature=0",
    }
    try:
        conn.request("POST", "/", body=json.dumps(payload), headers=headers)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    assert response.status == 200, (operation, body)
    return json.loads(body)


@dataclass(frozen=True)
class Recorded:
    catalog: Path
    answers: dict[str, Any]


@pytest.fixture
def recorded(clean_moto: str, tmp_path: Path) -> Recorded:
    """The catalog applied to moto's server, and moto's real answers about its table."""
    catalog = tmp_path / "tables.yaml"
    catalog.write_text(textwrap.dedent(CATALOG))
    applied = CliRunner().invoke(app, ["apply", "--yes", "--endpoint-url", clean_moto, "--catalog", str(catalog)])
    assert applied.exit_code == 0, applied.output
    table = raw_answer(clean_moto, "DescribeTable", {"TableName": TABLE})
    answers = {
        "DescribeTable": table,
        "DescribeTimeToLive": raw_answer(clean_moto, "DescribeTimeToLive", {"TableName": TABLE}),
        "DescribeContinuousBackups": raw_answer(clean_moto, "DescribeContinuousBackups", {"TableName": TABLE}),
        "ListTagsOfResource": raw_answer(clean_moto, "ListTagsOfResource", {"ResourceArn": table["Table"]["TableArn"]}),
        "ListTables": raw_answer(clean_moto, "ListTables", {}),
    }
    # What the tool reads is there to be mutated.
    assert answers["DescribeTimeToLive"]["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expiresAt",
    }
    pitr = answers["DescribeContinuousBackups"]["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert (pitr["PointInTimeRecoveryStatus"], pitr["RecoveryPeriodInDays"]) == ("ENABLED", 7)
    assert {t["Key"]: t["Value"] for t in answers["ListTagsOfResource"]["Tags"]} == {
        "ManagedBy": "snapinfra-db",
        "Team": "core",
    }
    assert [g["IndexName"] for g in table["Table"]["GlobalSecondaryIndexes"]] == ["ByOwner"]
    assert answers["ListTables"] == {"TableNames": [TABLE]}
    return Recorded(catalog, answers)


# --------------------------------------------------------------------------- mutations


class Huge(str):
    """A long string that does not flood hypothesis' report."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Huge({len(self)})"


HUGE = Huge("x" * 100_000)
WORDS = [
    *sorted(STATUSES),
    "ACTIVE",
    "CREATING",
    "UPDATING",
    "DELETING",
    "HASH",
    "RANGE",
    "KMS",
    "AES256",
    "PAY_PER_REQUEST",
    "PROVISIONED",
    "ALL",
    "KEYS_ONLY",
    "NEW_IMAGE",
    "STANDARD_INFREQUENT_ACCESS",
    "S",
    "N",
    "",
    "bogus",
    "enabled",
    "expiresAt",
    "core",
    "[/]",
    "[bold]x[/bold]",
    "a\nb",
    "\x1b[31m",
    "1970-01-01T00:00:00Z",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([-1, 0, 1, 7, 35, 36, 10**30, -(10**30)]),
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(WORDS),
    st.text(max_size=12),
    st.just(HUGE),
)
junk = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.sampled_from(["Key", "Value", "AttributeName", "TimeToLiveStatus", "x"]), scalars, max_size=3),
)
# Keys a mutation may add where there is a mapping: some modelled somewhere in these answers, some not at all.
INSERTED = ["NextToken", "LastEvaluatedTableName", "TableClassSummary", "Backfilling", "__type", "message", "Other"]
TOP_LEVEL = {
    "list": lambda original: b"[]",
    "string": lambda original: b'"Table"',
    "number": lambda original: b"1",
    "null": lambda original: b"null",
    "true": lambda original: b"true",
    "wrapped": lambda original: compact([original]),
    "nested": lambda original: b"[" * 5000 + b"]" * 5000,
}


def compact(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def at(doc: Any, path: Path_) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def paths_of(doc: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every path to a value inside `doc` (the root excluded)."""
    items: Any = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    found: list[Path_] = []
    for key, value in items:
        found.append((*prefix, key))
        found += paths_of(value, (*prefix, key))
    return found


@dataclass(frozen=True)
class Mutation:
    kind: str  # replace | delete | insert | truncate | bytes | top
    path: Path_ = ()
    value: Any = None

    def body(self, original: Any) -> bytes:
        if self.kind == "bytes":
            return bytes(self.value)
        if self.kind == "truncate":
            return compact(original)[: self.value]
        if self.kind == "top":
            return TOP_LEVEL[self.value](original)
        doc = copy.deepcopy(original)
        parent = at(doc, self.path[:-1])
        if self.kind == "delete":
            del parent[self.path[-1]]
        else:
            parent[self.path[-1]] = self.value
        return compact(doc)


@st.composite
def mutations(draw: st.DrawFn, original: Any) -> Mutation:
    paths = paths_of(original)
    kind = draw(st.sampled_from(["replace", "delete", "insert", "truncate", "bytes", "top"]))
    if kind == "replace":
        return Mutation(kind, draw(st.sampled_from(paths)), draw(junk))
    if kind == "delete":
        return Mutation(kind, draw(st.sampled_from(paths)))
    if kind == "insert":
        parents = [(), *(p for p in paths if isinstance(at(original, p), dict))]
        return Mutation(kind, (*draw(st.sampled_from(parents)), draw(st.sampled_from(INSERTED))), draw(junk))
    if kind == "truncate":
        return Mutation(kind, value=draw(st.integers(0, len(compact(original)) - 1)))
    if kind == "bytes":
        return Mutation(kind, value=draw(st.binary(max_size=64)))
    return Mutation(kind, value=draw(st.sampled_from(sorted(TOP_LEVEL))))


# --------------------------------------------------------------------------- the oracle


def _worst(verdicts: list[str]) -> str:
    return "bad" if "bad" in verdicts else "maybe" if "maybe" in verdicts else "ok"


def typed(shape: Any, value: Any) -> str:
    """ "ok" when `value` (raw JSON) has the type DynamoDB's model gives `shape`, "bad" when not, "maybe" where
    botocore decides (a string or a far-off number for a timestamp). null is an absent member."""
    if value is None:
        return "ok"
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return "bad"
        return _worst([typed(m, value.get(m.serialization.get("name", n))) for n, m in shape.members.items()])
    if kind == "map":
        if not isinstance(value, dict):
            return "bad"
        return _worst(["bad" if v is None else typed(shape.value, v) for v in value.values()])
    if kind == "list":
        if not isinstance(value, list):
            return "bad"
        return _worst(["bad" if v is None else typed(shape.member, v) for v in value])
    if kind == "timestamp":
        if isinstance(value, dict | list):
            return "bad"
        plain = isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 1e10
        return "ok" if plain else "maybe"
    expected = {"string": str, "boolean": bool, "integer": int, "long": int, "double": (int, float)}[kind]
    right = isinstance(value, expected) and (kind == "boolean" or not isinstance(value, bool))
    return "ok" if right else "bad"


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def well_formed(operation: str, doc: dict[str, Any]) -> bool:
    """What DynamoDB always reports (well typed already): the members the answer is about, known statuses,
    what a status that means on needs. A page with a NextToken is not well formed here: the proxy answers
    the same page again, for ever."""
    if operation == "DescribeTable":
        table = doc.get("Table")
        keys = table.get("KeySchema") if isinstance(table, dict) else None
        return (
            isinstance(table, dict)
            and _text(table.get("TableName"))
            and _text(table.get("TableArn"))
            and isinstance(keys, list)
            and all(_text(k.get("AttributeName")) for k in keys)
            and sorted(str(k.get("KeyType")) for k in keys) in (["HASH"], ["HASH", "RANGE"])
        )
    if operation == "DescribeTimeToLive":
        ttl = doc.get("TimeToLiveDescription")
        if not isinstance(ttl, dict) or ttl.get("TimeToLiveStatus") not in STATUSES:
            return False
        return ttl["TimeToLiveStatus"] not in ON or _text(ttl.get("AttributeName"))
    if operation == "DescribeContinuousBackups":
        backups = doc.get("ContinuousBackupsDescription")
        if not isinstance(backups, dict) or backups.get("ContinuousBackupsStatus") not in ("ENABLED", "DISABLED"):
            return False
        pitr = backups.get("PointInTimeRecoveryDescription") or {}  # absent: off
        status, days = pitr.get("PointInTimeRecoveryStatus"), pitr.get("RecoveryPeriodInDays")
        status = "DISABLED" if status is None else status
        return status in STATUSES and (status not in ON or days is None or 1 <= days <= 35)
    assert operation == "ListTagsOfResource", operation
    tags = doc.get("Tags")
    if not isinstance(tags, list) or doc.get("NextToken"):
        return False
    return all(_text(t.get("Key")) and isinstance(t.get("Value"), str) for t in tags)


def judge(operation: str, original: Any, body: bytes) -> str:
    """ "baseline" (as if unchanged), "malformed" (must be refused), "valid" (must be believed), "either", or
    "probe" (ListTables: as if unchanged, or one `error:` line)."""
    if operation == "ListTables":
        return "probe"
    try:
        doc = json.loads(body.decode("utf-8"))  # as botocore reads a body
    except (ValueError, RecursionError):
        return "malformed"
    if json.dumps(doc, sort_keys=True) == json.dumps(original, sort_keys=True):
        return "baseline"
    verdict = typed(MODEL.operation_model(operation).output_shape, doc) if isinstance(doc, dict) else "bad"
    if verdict == "bad" or not well_formed(operation, doc):
        return "malformed"
    # A DescribeTable may be well formed and still not hang together (a GSI without a HASH key, ...).
    return "either" if verdict == "maybe" or operation == "DescribeTable" else "valid"


def allowed_facets(operation: str, mutation: Mutation) -> set[str]:
    if operation in FACET:
        return {FACET[operation]}
    # The tags are asked for with the ARN DescribeTable reports: another one may well have other tags.
    return {"tags"} if mutation.path[:2] == ("Table", "TableArn") else set()


# --------------------------------------------------------------------------- running the CLI


def invoke(proxy: BehaviourProxy, catalog: Path, command: list[str]) -> tuple[Result, float]:
    """Run a command in a thread; one that has not finished after BOUND seconds fails the example (and the
    real answers are served again, so that it ends)."""
    args = [*command, "--endpoint-url", proxy.url, "--catalog", str(catalog)]
    box: list[Result] = []
    started = time.monotonic()
    worker = threading.Thread(target=lambda: box.append(CliRunner().invoke(app, args)), daemon=True)
    worker.start()
    worker.join(BOUND)
    took = time.monotonic() - started
    if worker.is_alive():
        proxy.behaviour.update(answer={})
        worker.join(30)
        raise AssertionError(f"{command[0]} did not finish within {BOUND:g}s")
    return box[0], took


def check(
    proxy: BehaviourProxy, recorded: Recorded, operation: str, body: bytes, verdict: str, facets: set[str]
) -> Result:
    """Serve `body` as the answer to `operation`; run plan and health; hold them to `verdict` (see judge) and
    `facets` (what may change). Returns plan's result."""
    malformed_line = (
        f"error: DynamoDB at {proxy.url} answered {operation} with something that is not a DynamoDB response"
    )
    proxy.behaviour.update(answer={operation: body})
    try:
        runs = [invoke(proxy, recorded.catalog, command) for command in (["plan", "--detailed-exitcode"], ["health"])]
    finally:
        proxy.behaviour.update(answer={})
    for name, (result, took), codes in zip(("plan", "health"), runs, ({0, 1, 2}, {0, 1}), strict=True):
        seen = (
            f"{name}: {verdict}, exit {result.exit_code}, {took:.1f}s\n--- stdout\n{result.stdout[-3000:]}"
            f"\n--- stderr\n{result.stderr[-3000:]}"
        )
        assert result.exit_code in codes, seen
        assert result.exception is None or isinstance(result.exception, SystemExit), (repr(result.exception), seen)
        assert "Traceback" not in result.output, seen
        assert took < BOUND, seen
        lines = result.stderr.strip().splitlines()
        assert len(lines) <= 3 and all(STDERR_LINE.match(line) for line in lines), seen
        if name == "plan" and result.exit_code == 1:
            assert any(line.startswith("error: ") for line in lines), seen
        changed = {facet for facet, words in FACET_LINES.items() if words in result.stdout}
        if verdict == "baseline":
            assert (result.exit_code, lines, changed) == (0, [], set()), seen
        elif verdict == "malformed":
            assert (result.exit_code, lines, changed) == (1, [malformed_line], set()), seen
        elif verdict == "probe":
            assert changed == set() and result.exit_code in (0, 1), seen
            assert lines == [] if result.exit_code == 0 else len(lines) == 1, seen
        else:
            assert changed <= facets, seen
            if verdict == "valid":
                assert malformed_line not in lines, seen
                assert name == "health" or result.exit_code in (0, 2), seen
    return runs[0][0]


def examples(operation: str) -> int:
    return max(3, round(settings.default.max_examples * SHARE[operation]))


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_mutated_answer_is_refused_or_believed_never_a_traceback(
    operation: str, recorded: Recorded, clean_moto: str
) -> None:
    original = recorded.answers[operation]

    @settings(
        max_examples=examples(operation),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(mutation=mutations(original))
    def fuzz(mutation: Mutation) -> None:
        body = mutation.body(original)
        check(proxy, recorded, operation, body, judge(operation, original, body), allowed_facets(operation, mutation))

    with proxy_for(clean_moto) as proxy:
        # The real answer, through the proxy: no changes, healthy.
        check(proxy, recorded, operation, compact(original), "baseline", set())
        fuzz()


# --------------------------------------------------------------------------- what the fuzz found

PITR = ("ContinuousBackupsDescription", "PointInTimeRecoveryDescription")
LSI_WITHOUT_RANGE = {
    "IndexName": "ByDate",
    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
    "Projection": {"ProjectionType": "ALL"},
}
# Each a traceback, a change read off garbage, or an error that was not one line, before the fix.
FOUND = [
    ("DescribeTable", Mutation("top", value="list")),  # botocore's parser: AttributeError
    ("DescribeTable", Mutation("top", value="nested")),  # json: RecursionError
    ("DescribeTable", Mutation("replace", ("Table", "KeySchema", 0, "KeyType"), "bogus")),  # AssertionError
    ("DescribeTable", Mutation("replace", ("Table", "DeletionProtectionEnabled"), 0)),  # "~ deletion protection"
    ("DescribeTable", Mutation("replace", ("Table", "TableArn"), "")),  # two lines: botocore's parameter check
    ("DescribeTable", Mutation("replace", ("Table", "LocalSecondaryIndexes"), [LSI_WITHOUT_RANGE])),  # AssertionError
    ("DescribeTimeToLive", Mutation("replace", ("TimeToLiveDescription", "TimeToLiveStatus"), "bogus")),  # "~ ttl"
    ("DescribeTimeToLive", Mutation("delete", ("TimeToLiveDescription", "AttributeName"))),  # "~ ttl" (ENABLED)
    ("DescribeContinuousBackups", Mutation("replace", (*PITR, "RecoveryPeriodInDays"), 0)),  # read as 35 days
    ("DescribeContinuousBackups", Mutation("replace", (*PITR, "RecoveryPeriodInDays"), 99)),  # "DescribeTable"
    ("DescribeContinuousBackups", Mutation("replace", (*PITR, "EarliestRestorableDateTime"), "bogus")),  # ValueError
    ("DescribeContinuousBackups", Mutation("replace", (*PITR, "EarliestRestorableDateTime"), 1e300)),  # RuntimeError
    ("ListTagsOfResource", Mutation("replace", ("Tags", 1, "Value"), None)),  # read as the value "None"
    ("ListTagsOfResource", Mutation("insert", ("NextToken",), "again")),  # the same page for ever
    ("ListTagsOfResource", Mutation("bytes", value=b"\x80")),  # UnicodeDecodeError
]
# Well-formed answers that differ from the catalog: believed, and the plan says so (the oracle cuts both ways).
BELIEVED = [
    ("DescribeTimeToLive", Mutation("replace", ("TimeToLiveDescription", "TimeToLiveStatus"), "DISABLED"), "~ ttl:"),
    ("DescribeContinuousBackups", Mutation("delete", (*PITR, "PointInTimeRecoveryStatus")), "point-in-time recovery:"),
    ("DescribeContinuousBackups", Mutation("replace", (*PITR, "RecoveryPeriodInDays"), 30), "point-in-time recovery:"),
    ("ListTagsOfResource", Mutation("replace", ("Tags", 1, "Value"), "other"), "~ tags: Team: other → core"),
    ("DescribeTable", Mutation("replace", ("Table", "DeletionProtectionEnabled"), False), "~ deletion protection:"),
]


def test_what_the_fuzz_found_stays_fixed_and_real_differences_are_believed(recorded: Recorded, clean_moto: str) -> None:
    with proxy_for(clean_moto) as proxy:
        for operation, mutation in FOUND:
            original = recorded.answers[operation]
            body = mutation.body(original)
            assert judge(operation, original, body) in ("malformed", "either"), mutation  # either: a bad LSI
            check(proxy, recorded, operation, body, "malformed", set())
        for operation, mutation, words in BELIEVED:
            original = recorded.answers[operation]
            body = mutation.body(original)
            assert judge(operation, original, body) in ("valid", "either"), mutation
            result = check(proxy, recorded, operation, body, "valid", allowed_facets(operation, mutation))
            assert result.exit_code == 2 and words in result.stdout, (mutation, result.output)
