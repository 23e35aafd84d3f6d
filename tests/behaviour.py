"""A behaviour layer: a small HTTP reverse proxy that makes a local DynamoDB engine act like AWS.

DynamoDB Local and moto's server are fast and forgiving: tables are ACTIVE at once, indexes never
backfill, TTL can change any number of times, nothing is ever throttled. Real DynamoDB is none of
that. ``BehaviourProxy`` sits in front of either engine, on ``127.0.0.1`` and a free port, and
reproduces those behaviours with AWS's own error codes and messages, so code under test (an
in-process boto3 client, or the CLI run as a subprocess with ``--endpoint-url <proxy.url>``) meets
them on a laptop::

    from behaviour import Behaviour, BehaviourProxy, proxy_for

    with proxy_for(moto_url, table_creating_for=2.0, ttl_hour=True) as proxy:
        client = boto3.client("dynamodb", endpoint_url=proxy.url, ...)
        ...
        proxy.behaviour.update(latency=0.05)     # knobs can change while it runs
        assert proxy.calls["CreateTable"] == 3

What passes through
    Only DynamoDB JSON calls (``POST`` with ``X-Amz-Target: DynamoDB_20120810.<Operation>``) are
    looked at. Everything else (``/moto-api/...``, STS and CloudWatch requests for moto, DynamoDB
    Streams) is forwarded byte for byte. A DynamoDB call that no knob concerns is forwarded
    unchanged too; when the proxy rewrites a body it recomputes ``Content-Length`` and drops the
    response's ``x-amz-crc32`` (botocore checks it). The ``Host`` header is kept as the client sent
    it, so SigV4 signatures still match unless a request body is rewritten (``ignore``).

Knobs (``Behaviour``, all off by default; change them with ``behaviour.update(...)`` at any time)
    ``latency``               seconds added before every DynamoDB call is forwarded.
    ``table_creating_for``    after CreateTable succeeds: TableStatus CREATING (CreateTable's answer
                              and DescribeTable), every GSI IndexStatus CREATING without
                              ``Backfilling`` (AWS omits it for indexes made with the table), for N s.
                              Meanwhile UpdateTable, UpdateTimeToLive, DeleteTable, TagResource,
                              UntagResource and a second CreateTable of the name answer
                              ResourceInUseException "Attempt to change a resource which is still in
                              use: Table is being created: <name>"; UpdateContinuousBackups and
                              CreateBackup answer ContinuousBackupsUnavailableException (below).
    ``table_updating_for``    after UpdateTable succeeds: TableStatus UPDATING for N s; UpdateTable,
                              UpdateTimeToLive and DeleteTable answer ResourceInUseException
                              "...: Table is being updated: <name>". Tagging is admitted (AWS does).
    ``index_creating_for``    a GSI created by UpdateTable is IndexStatus CREATING, Backfilling false
                              for N s, then
    ``index_backfilling_for`` CREATING with Backfilling true for N s (or, with
    ``backfill_reports_active``, ACTIVE with Backfilling true, as AWS has been seen to report), then
                              whatever the engine says (ACTIVE). While an index is in transition,
                              another GSI create/delete answers LimitExceededException "Subscriber
                              limit exceeded: Only 1 online index can be created or deleted
                              simultaneously per table" (deleting the index that is backfilling is
                              allowed, as on AWS); before backfilling starts any other UpdateTable
                              answers ResourceInUseException "...Table is being updated: <name>".
    ``sse_updating_for``      after an UpdateTable carrying SSESpecification: SSEDescription.Status
                              UPDATING for N s (SSEDescription is added if the engine has none).
    ``pitr_unavailable_for``  UpdateContinuousBackups and CreateBackup within N s of the table turning
                              ACTIVE (CreateTable + table_creating_for) answer
                              ContinuousBackupsUnavailableException "Backups are being enabled for the
                              table: <name>. Please retry later".
    ``ttl_hour``/``ttl_window`` a second UpdateTimeToLive on a table within ``ttl_window`` s (default
                              3600) of the last accepted one answers ValidationException "Time to live
                              has been modified multiple times within a fixed interval".
    ``max_table_operations``  K: CreateTable, UpdateTable, DeleteTable and UpdateTimeToLive answer
                              LimitExceededException "Subscriber limit exceeded: Only K tables can be
                              created, updated, or deleted simultaneously" while K tables are
                              simulated CREATING/UPDATING plus such calls in flight through the proxy.
    ``throttle``              {operation: n}: the next n calls of that operation answer
                              ThrottlingException "Rate exceeded" (botocore retries these itself).
    ``throttle_rate``         probability that any DynamoDB call is throttled (``random.Random(seed)``).
    ``ignore``                fields an "endpoint" accepts and silently drops: "Tags" (removed from
                              CreateTable; TagResource/UntagResource succeed doing nothing,
                              ListTagsOfResource answers no tags), "DeletionProtectionEnabled",
                              "StreamSpecification", "SSESpecification" (removed from CreateTable and
                              UpdateTable; an UpdateTable left with nothing to do answers success with
                              the current description), "TimeToLive" (UpdateTimeToLive answers the
                              requested specification and changes nothing).
    ``ignore_on_create``      the same fields, dropped from CreateTable only: the later calls that set
                              them (TagResource, UpdateTable) work.
    ``malformed``             {operation: mode}: answer that operation badly. Every mode but "html"
                              forwards the call first, so the change does happen upstream and only the
                              answer is lost or garbled (as when a real connection drops):
                              "not-json" (200, garbage), "truncated" (full Content-Length announced,
                              half the body sent, connection closed), "empty" (200, no body),
                              "empty-object" (200, ``{}``), "html" (502 with an HTML page, not
                              forwarded), "bad-crc" (real body, wrong ``x-amz-crc32``), "hang" (no
                              answer for ``hang_for`` s or until the proxy stops), "close" (connection
                              closed without an answer).
    ``answer``                {operation: body}: answer that operation with ``body`` (str or bytes), well
                              framed: the call is forwarded first (the change does happen upstream), then
                              ``body`` goes back as HTTP 200, ``application/x-amz-json-1.0``, with a
                              correct ``x-amz-crc32``, so botocore parses it as the operation's answer
                              (a fuzz test's wrong answers), whatever the engine answered (an error
                              included: a NextToken the engine never issued). An operation is either
                              ``malformed`` or ``answer``ed, not both.

Simulated time is per table name and lives in the proxy (creation, updates, index creation, SSE
and TTL changes); DeleteTable forgets it. The proxy counts what it saw: ``calls`` (operation ->
count, refused calls included), ``max_in_flight`` (most DynamoDB calls in flight at once) and
``events`` (one ``Event`` per DynamoDB call: start/end ``time.monotonic()``, operation, table,
HTTP status and error code). ``reset_counters()`` clears them; ``forget_tables()`` ends every
simulated transition and window at once. ``BehaviourProxy(upstream, behaviour, seed, timeout)``:
``timeout`` bounds each forwarded call (seconds).

``python tests/behaviour.py UPSTREAM_URL [knob=json-value ...]`` runs a proxy until interrupted and
prints its URL (for scripts and manual runs).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import http.client
import json
import random
import socket
import sys
import threading
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import urlsplit

__all__ = ["MALFORMED_MODES", "Behaviour", "BehaviourProxy", "Event", "proxy_for"]

TARGET_PREFIX = "DynamoDB_20120810."
JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
DYNAMODB_NS = "com.amazonaws.dynamodb.v20120810#"
VALIDATION_NS = "com.amazon.coral.validate#"
AVAILABILITY_NS = "com.amazon.coral.availability#"

MALFORMED_MODES = frozenset({"not-json", "truncated", "empty", "empty-object", "html", "bad-crc", "hang", "close"})
IGNORABLE = frozenset({"Tags", "DeletionProtectionEnabled", "StreamSpecification", "SSESpecification", "TimeToLive"})

# Table operations AWS counts against the account's concurrent-operations quota.
TABLE_OPERATIONS = frozenset({"CreateTable", "UpdateTable", "DeleteTable", "UpdateTimeToLive"})
# Refused while the table is CREATING / UPDATING.
REFUSED_WHILE_CREATING = frozenset(
    {"CreateTable", "UpdateTable", "UpdateTimeToLive", "DeleteTable", "TagResource", "UntagResource"}
)
REFUSED_WHILE_UPDATING = frozenset({"UpdateTable", "UpdateTimeToLive", "DeleteTable"})
BACKUP_OPERATIONS = frozenset({"UpdateContinuousBackups", "CreateBackup"})

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "expect",
    }
)

HTML_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n"
    b"<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)


# --------------------------------------------------------------------------- knobs


@dataclass
class Behaviour:
    """What the proxy simulates. All off by default; see the module docstring for each knob."""

    latency: float = 0.0
    table_creating_for: float = 0.0
    table_updating_for: float = 0.0
    index_creating_for: float = 0.0
    index_backfilling_for: float = 0.0
    backfill_reports_active: bool = False
    sse_updating_for: float = 0.0
    pitr_unavailable_for: float = 0.0
    ttl_hour: bool = False
    ttl_window: float = 3600.0
    max_table_operations: int | None = None
    throttle: dict[str, int] = field(default_factory=dict)
    throttle_rate: float = 0.0
    ignore: set[str] = field(default_factory=set)
    ignore_on_create: set[str] = field(default_factory=set)
    malformed: dict[str, str] = field(default_factory=dict)
    answer: dict[str, str | bytes] = field(default_factory=dict)
    hang_for: float = 30.0
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._validate()

    def _validate(self) -> None:
        unknown = (set(self.ignore) | set(self.ignore_on_create)) - IGNORABLE
        if unknown:
            raise ValueError(f"ignore: unknown fields {sorted(unknown)} (known: {sorted(IGNORABLE)})")
        bad = {op: mode for op, mode in self.malformed.items() if mode not in MALFORMED_MODES}
        if bad:
            raise ValueError(f"malformed: unknown modes {bad} (known: {sorted(MALFORMED_MODES)})")
        not_bodies = sorted(op for op, body in self.answer.items() if not isinstance(body, str | bytes))
        if not_bodies:
            raise ValueError(f"answer: bodies must be str or bytes: {not_bodies}")
        both = sorted(set(self.answer) & set(self.malformed))
        if both:
            raise ValueError(f"answer: {both} also malformed (one or the other)")

    def update(self, **knobs: Any) -> None:
        """Change knobs atomically (thread-safe), e.g. ``update(latency=0.1, throttle={"ListTables": 2})``."""
        names = {f.name for f in dataclasses.fields(self) if not f.name.startswith("_")}
        unknown = set(knobs) - names
        if unknown:
            raise TypeError(f"unknown Behaviour knobs: {sorted(unknown)}")
        with self._lock:
            old = {name: getattr(self, name) for name in knobs}
            for name, value in knobs.items():
                if name in ("ignore", "ignore_on_create", "throttle", "malformed", "answer"):
                    value = type(getattr(self, name))(value)
                setattr(self, name, value)
            try:
                self._validate()
            except ValueError:
                for name, value in old.items():
                    setattr(self, name, value)
                raise

    def snapshot(self) -> Behaviour:
        """A consistent copy of the knobs, taken under the lock."""
        with self._lock:
            values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if not f.name.startswith("_")}
            values["throttle"] = dict(self.throttle)
            values["ignore"] = set(self.ignore)
            values["ignore_on_create"] = set(self.ignore_on_create)
            values["malformed"] = dict(self.malformed)
            values["answer"] = dict(self.answer)
            return Behaviour(**values)

    def take_throttle(self, operation: str, rng: random.Random) -> bool:
        """Whether this call of ``operation`` is throttled (consumes one of ``throttle[operation]``)."""
        with self._lock:
            left = self.throttle.get(operation, 0)
            if left > 0:
                self.throttle[operation] = left - 1
                return True
            return self.throttle_rate > 0 and rng.random() < self.throttle_rate


# --------------------------------------------------------------------------- state


class Event(NamedTuple):
    """One DynamoDB call seen by the proxy (times from ``time.monotonic()``)."""

    start: float
    end: float
    operation: str
    table: str | None
    status: int  # HTTP status answered (0: no answer: "close", "hang", "truncated")
    error: str  # error code answered, "" on success


@dataclass
class _Index:
    backfill_from: float  # CREATING with Backfilling false until then
    done_at: float  # backfilling until then


@dataclass
class _Table:
    created_at: float | None = None  # None: not created through the proxy
    creating_until: float = 0.0
    updating_until: float = 0.0
    pending: str = ""  # "create" / "update" while such a call is being forwarded
    indexes: dict[str, _Index] = field(default_factory=dict)
    sse_until: float = 0.0
    ttl_changed_at: float | None = None

    def status(self, now: float) -> str | None:
        if self.pending == "create" or now < self.creating_until:
            return "CREATING"
        if self.pending == "update" or now < self.updating_until:
            return "UPDATING"
        return None

    def in_transition(self, now: float) -> bool:
        """Simulated CREATING/UPDATING once the call that started it has returned."""
        return not self.pending and (now < self.creating_until or now < self.updating_until)

    def live_indexes(self, now: float) -> dict[str, _Index]:
        return {name: idx for name, idx in self.indexes.items() if now < idx.done_at}


class _Request(NamedTuple):
    path: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class _Reply:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    rewritten: bool = False

    def json(self) -> Any:
        data = self.body
        if any(k.lower() == "content-encoding" and v.lower() == "gzip" for k, v in self.headers):
            data = gzip.decompress(data)
        return json.loads(data) if data else {}

    def set_json(self, value: Any) -> None:
        self.body = json.dumps(value, separators=(",", ":")).encode()
        self.headers = [(k, v) for k, v in self.headers if k.lower() not in ("x-amz-crc32", "content-encoding")]
        self.rewritten = True

    def error_code(self) -> str:
        if self.status < 400:
            return ""
        try:
            code = str(self.json().get("__type", ""))
        except (ValueError, AttributeError, OSError):
            return str(self.status)
        return code.rsplit("#", 1)[-1] or str(self.status)


def _error(code: str, message: str, namespace: str = DYNAMODB_NS) -> _Reply:
    body = json.dumps({"__type": f"{namespace}{code}", "message": message}).encode()
    headers = [("Content-Type", JSON_CONTENT_TYPE), ("x-amzn-RequestId", uuid.uuid4().hex.upper())]
    return _Reply(400, "Bad Request", headers, body, rewritten=True)


def _ok(payload: Any) -> _Reply:
    headers = [("Content-Type", JSON_CONTENT_TYPE), ("x-amzn-RequestId", uuid.uuid4().hex.upper())]
    return _Reply(200, "OK", headers, json.dumps(payload).encode(), rewritten=True)


def _in_use(table: str, status: str) -> _Reply:
    doing = "created" if status == "CREATING" else "updated"
    return _error(
        "ResourceInUseException", f"Attempt to change a resource which is still in use: Table is being {doing}: {table}"
    )


def _table_of(payload: dict[str, Any]) -> str | None:
    name = payload.get("TableName")
    if isinstance(name, str):
        return name
    arn = payload.get("ResourceArn")
    if isinstance(arn, str) and ":table/" in arn:
        return arn.split(":table/", 1)[1].split("/", 1)[0]
    return None


# --------------------------------------------------------------------------- proxy


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    proxy: BehaviourProxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _handle(self) -> None:
        self.server.proxy._handle(self)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


class BehaviourProxy:
    """A threaded reverse proxy on 127.0.0.1 in front of ``upstream`` (a context manager).

    ``url`` is the endpoint to give clients. ``start()``/``stop()`` work too; ``stop`` shuts the
    server down, closes its socket and releases calls held by "hang" or ``latency``.
    """

    def __init__(self, upstream: str, behaviour: Behaviour | None = None, seed: int = 0, timeout: float = 60.0) -> None:
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"upstream must be an http(s) URL, not {upstream!r}")
        self.upstream = upstream.rstrip("/")
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._prefix = parts.path.rstrip("/")
        self.behaviour = behaviour if behaviour is not None else Behaviour()
        self.timeout = timeout
        self.calls: Counter[str] = Counter()
        self.max_in_flight = 0
        self.events: list[Event] = []
        self._in_flight = 0
        self._table_ops_in_flight = 0
        self._tables: dict[str, _Table] = {}
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> BehaviourProxy:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.proxy = self
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(target=server.serve_forever, name=f"behaviour-proxy-{self.url}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> BehaviourProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset_counters(self) -> None:
        """Forget ``calls``, ``max_in_flight`` and ``events`` (simulated table state is kept).

        A call is recorded once it has been answered, so the client may already hold the answer of a
        call whose event is not in yet: wait (briefly) for calls in flight to finish first, so that a
        call made before the reset is never counted after it."""
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            with self._lock:
                if self._in_flight == 0:
                    break
            time.sleep(0.005)
        with self._lock:
            self.calls.clear()
            self.max_in_flight = self._in_flight
            self.events.clear()

    def forget_tables(self) -> None:
        """Forget all simulated table state (transitions end at once, TTL/PITR windows close)."""
        with self._lock:
            self._tables.clear()

    # ------------------------------------------------------------------ HTTP plumbing

    def _handle(self, handler: _Handler) -> None:
        try:
            body = self._read_body(handler)
        except (OSError, ValueError):
            handler.close_connection = True
            return
        headers = [(k, v) for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP]
        target = handler.headers.get("X-Amz-Target", "")
        if handler.command == "POST" and target.startswith(TARGET_PREFIX):
            self._dynamodb(handler, target[len(TARGET_PREFIX) :], headers, body)
        else:
            self._send(handler, self._forward(handler.command, handler.path, headers, body))

    @staticmethod
    def _read_body(handler: _Handler) -> bytes:
        if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(handler.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(handler.rfile.read(size))
                handler.rfile.readline()
        length = int(handler.headers.get("Content-Length") or 0)
        return handler.rfile.read(length) if length else b""

    def _forward(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> _Reply:
        conn_class = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        conn = conn_class(self._host, self._port, timeout=self.timeout)
        try:
            conn.putrequest(method, self._prefix + path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                conn.putheader(name, value)
            if body or method in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            response = conn.getresponse()
            data = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
            if method == "HEAD":
                kept += [(k, v) for k, v in response.getheaders() if k.lower() == "content-length"]
            return _Reply(response.status, response.reason, kept, data)
        except (OSError, http.client.HTTPException) as exc:
            message = f"behaviour proxy: upstream {self.upstream} failed: {exc!r}".encode()
            return _Reply(502, "Bad Gateway", [("Content-Type", "text/plain")], message)
        finally:
            conn.close()

    @staticmethod
    def _send(handler: _Handler, reply: _Reply, *, cut: bool = False) -> None:
        try:
            handler.send_response_only(reply.status, reply.reason)
            for name, value in reply.headers:
                if handler.command == "HEAD" and name.lower() == "content-length":
                    continue
                handler.send_header(name, value)
            if handler.command == "HEAD":
                length = next((v for k, v in reply.headers if k.lower() == "content-length"), "0")
                handler.send_header("Content-Length", length)
            else:
                handler.send_header("Content-Length", str(len(reply.body)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(reply.body[: len(reply.body) // 2] if cut else reply.body)
            handler.wfile.flush()
        except OSError:
            handler.close_connection = True
        if cut:
            handler.close_connection = True

    # ------------------------------------------------------------------ DynamoDB calls

    def _dynamodb(self, handler: _Handler, operation: str, headers: list[tuple[str, str]], body: bytes) -> None:
        start = time.monotonic()
        knobs = self.behaviour.snapshot()
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            payload = None
        table = _table_of(payload) if isinstance(payload, dict) else None
        with self._lock:
            self.calls[operation] += 1
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        status, error = 0, ""
        try:
            if knobs.latency > 0:
                self._stopping.wait(knobs.latency)
            if isinstance(payload, dict):
                reply = self._simulate(operation, table, payload, _Request(handler.path, headers, body), knobs)
            else:  # not JSON: let the engine answer
                reply = self._forward("POST", handler.path, headers, body)
            status, error = self._answer(handler, operation, reply, knobs)
        finally:
            with self._lock:
                self._in_flight -= 1
                self.events.append(Event(start, time.monotonic(), operation, table, status, error))

    def _answer(self, handler: _Handler, operation: str, reply: _Reply, knobs: Behaviour) -> tuple[int, str]:
        """Send ``reply``, spoilt as ``knobs.malformed`` asks (or replaced by ``knobs.answer``). Returns (status
        sent, error code)."""
        given = knobs.answer.get(operation)
        if given is not None:
            body = given.encode() if isinstance(given, str) else given
            headers = [
                ("Content-Type", JSON_CONTENT_TYPE),
                ("x-amzn-RequestId", uuid.uuid4().hex.upper()),
                ("x-amz-crc32", str(zlib.crc32(body))),
            ]
            self._send(handler, _Reply(200, "OK", headers, body))
            return 200, ""
        mode = knobs.malformed.get(operation)
        if mode is None or (mode != "html" and reply.status >= 500):
            self._send(handler, reply)
            return reply.status, reply.error_code()
        base = [(k, v) for k, v in reply.headers if k.lower() not in ("x-amz-crc32", "content-encoding")]
        if mode in ("close", "hang"):
            if mode == "hang":
                self._stopping.wait(knobs.hang_for)
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return 0, ""
        if mode == "truncated":
            self._send(handler, reply, cut=True)
            return 0, ""
        if mode == "bad-crc":
            bad = str((zlib.crc32(reply.body) + 1) & 0xFFFFFFFF)
            headers = [(k, v) for k, v in reply.headers if k.lower() != "x-amz-crc32"]
            self._send(handler, _Reply(reply.status, reply.reason, [*headers, ("x-amz-crc32", bad)], reply.body))
            return reply.status, reply.error_code()
        if mode == "html":
            page = _Reply(502, "Bad Gateway", [("Content-Type", "text/html")], HTML_PAGE)
            self._send(handler, page)
            return 502, "502"
        body = {"not-json": b"<<this is not JSON>>", "empty": b"", "empty-object": b"{}"}[mode]
        self._send(handler, _Reply(200, "OK", base, body))
        return 200, ""

    def _simulate(
        self,
        operation: str,
        table: str | None,
        payload: dict[str, Any],
        request: _Request,
        knobs: Behaviour,
    ) -> _Reply:
        if knobs.malformed.get(operation) == "html":
            return _Reply(502, "Bad Gateway", [], b"")  # never forwarded; _answer sends the page
        if self.behaviour.take_throttle(operation, self._rng):
            return _error("ThrottlingException", "Rate exceeded", AVAILABILITY_NS)
        counted = operation in TABLE_OPERATIONS
        with self._lock:
            refusal = self._refusal(operation, table, payload, knobs, time.monotonic())
            if refusal is not None:
                return refusal
            if counted:
                self._table_ops_in_flight += 1
            # Reserve the transition so that concurrent calls already see the table busy.
            if table is not None and operation == "CreateTable" and knobs.table_creating_for > 0:
                if table not in self._tables:  # (a known table exists: the engine will refuse)
                    self._tables[table] = _Table(pending="create")
            elif table is not None and operation == "UpdateTable" and knobs.table_updating_for > 0:
                self._tables.setdefault(table, _Table()).pending = "update"
        try:
            return self._call(operation, table, payload, request, knobs)
        finally:
            with self._lock:
                if counted:
                    self._table_ops_in_flight -= 1
                state = self._tables.get(table) if table is not None else None
                if table is not None and state is not None:
                    state.pending = ""
                    if state == _Table():  # a reservation for a call that failed: nothing to remember
                        del self._tables[table]

    def _refusal(
        self, operation: str, table: str | None, payload: dict[str, Any], knobs: Behaviour, now: float
    ) -> _Reply | None:
        """The error AWS would answer instead of doing ``operation`` now, if any. Called under the lock."""
        state = self._tables.get(table) if table is not None else None
        status = state.status(now) if state is not None else None
        if table is not None and status == "CREATING":
            if operation in REFUSED_WHILE_CREATING:
                return _in_use(table, status)
            if operation in BACKUP_OPERATIONS:
                return self._backups_unavailable(table)
        if table is not None and status == "UPDATING" and operation in REFUSED_WHILE_UPDATING:
            return _in_use(table, status)
        if table is not None and state is not None and operation == "UpdateTable":
            live = state.live_indexes(now)
            changes = [u for u in payload.get("GlobalSecondaryIndexUpdates") or [] if "Create" in u or "Delete" in u]
            backfilling = {name for name, idx in live.items() if now >= idx.backfill_from}
            deleting_backfilling = all(u.get("Delete", {}).get("IndexName") in backfilling for u in changes)
            if live and changes and not deleting_backfilling:
                return _error(
                    "LimitExceededException",
                    "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table",
                )
            if any(now < idx.backfill_from for idx in live.values()):
                return _in_use(table, "UPDATING")
        if (
            table is not None
            and state is not None
            and operation in BACKUP_OPERATIONS
            and state.created_at is not None
            and now < max(state.created_at, state.creating_until) + knobs.pitr_unavailable_for
        ):
            return self._backups_unavailable(table)
        if (
            table is not None
            and state is not None
            and operation == "UpdateTimeToLive"
            and knobs.ttl_hour
            and state.ttl_changed_at is not None
            and now - state.ttl_changed_at < knobs.ttl_window
        ):
            return _error(
                "ValidationException",
                "Time to live has been modified multiple times within a fixed interval",
                VALIDATION_NS,
            )
        limit = knobs.max_table_operations
        if limit is not None and operation in TABLE_OPERATIONS:
            busy = sum(1 for t in self._tables.values() if t.in_transition(now))
            if busy + self._table_ops_in_flight >= limit:
                return _error(
                    "LimitExceededException",
                    f"Subscriber limit exceeded: Only {limit} tables can be created, updated, "
                    "or deleted simultaneously",
                )
        return None

    @staticmethod
    def _backups_unavailable(table: str) -> _Reply:
        return _error(
            "ContinuousBackupsUnavailableException",
            f"Backups are being enabled for the table: {table}. Please retry later",
        )

    def _call(
        self,
        operation: str,
        table: str | None,
        payload: dict[str, Any],
        request: _Request,
        knobs: Behaviour,
    ) -> _Reply:
        """Forward the call, minus what ``knobs.ignore`` drops; record and show what it started."""
        headers = request.headers
        ignore = knobs.ignore
        if "Tags" in ignore and operation in ("TagResource", "UntagResource"):
            return _ok({})
        if "Tags" in ignore and operation == "ListTagsOfResource":
            return _ok({"Tags": []})
        if "TimeToLive" in ignore and operation == "UpdateTimeToLive" and table is not None:
            found = self._send_json("DescribeTable", {"TableName": table}, request)
            if found.status != 200:
                return found
            self._record(operation, table, payload, knobs)
            return _ok({"TimeToLiveSpecification": payload.get("TimeToLiveSpecification")})
        dropped: set[str] = set()
        if operation == "CreateTable":
            dropped = (ignore | knobs.ignore_on_create) & set(payload)
        elif operation == "UpdateTable":
            dropped = (ignore - {"Tags", "TimeToLive"}) & set(payload)
        if dropped:
            payload = {k: v for k, v in payload.items() if k not in dropped}
            if operation == "UpdateTable" and set(payload) <= {"TableName"}:
                # Nothing left to do: such an endpoint answers success with the table as it is.
                described = self._send_json("DescribeTable", payload, request)
                if described.status != 200:
                    return described
                reply = _ok({"TableDescription": described.json().get("Table", {})})
                self._dress(reply, "TableDescription", table, knobs)
                return reply
            reply = self._send_json(operation, payload, request)
        else:
            reply = self._forward("POST", request.path, headers, request.body)
        if reply.status == 200 and table is not None:
            self._record(operation, table, payload, knobs)
            key = {"DescribeTable": "Table", "CreateTable": "TableDescription", "UpdateTable": "TableDescription"}
            if operation in key:
                self._dress(reply, key[operation], table, knobs)
        return reply

    def _send_json(self, operation: str, payload: dict[str, Any], request: _Request) -> _Reply:
        """Send ``payload`` as ``operation`` with the client's headers (the signature no longer matches)."""
        headers = [(k, v) for k, v in request.headers if k.lower() != "x-amz-target"]
        headers.append(("X-Amz-Target", TARGET_PREFIX + operation))
        return self._forward("POST", request.path, headers, json.dumps(payload).encode())

    def _record(self, operation: str, table: str, payload: dict[str, Any], knobs: Behaviour) -> None:
        """Start the simulated transitions a successful call begins."""
        now = time.monotonic()
        with self._lock:
            if operation == "DeleteTable":
                self._tables.pop(table, None)
                return
            if operation == "CreateTable":
                pending = self._tables[table].pending if table in self._tables else ""
                self._tables[table] = _Table(
                    created_at=now, creating_until=now + knobs.table_creating_for, pending=pending
                )
                return
            if operation not in ("UpdateTimeToLive", "UpdateTable"):
                return
            state = self._tables.setdefault(table, _Table())
            if operation == "UpdateTimeToLive":
                state.ttl_changed_at = now
                return
            if knobs.table_updating_for > 0:
                state.updating_until = now + knobs.table_updating_for
            for update in payload.get("GlobalSecondaryIndexUpdates") or []:
                if "Delete" in update:
                    state.indexes.pop(update["Delete"].get("IndexName", ""), None)
                if "Create" in update and (knobs.index_creating_for > 0 or knobs.index_backfilling_for > 0):
                    begin = now + knobs.index_creating_for
                    state.indexes[update["Create"]["IndexName"]] = _Index(begin, begin + knobs.index_backfilling_for)
            if "SSESpecification" in payload and knobs.sse_updating_for > 0:
                state.sse_until = now + knobs.sse_updating_for

    def _dress(self, reply: _Reply, key: str, table: str | None, knobs: Behaviour) -> None:
        """Rewrite a table description to show the simulated transitions in progress."""
        now = time.monotonic()
        with self._lock:
            state = self._tables.get(table) if table is not None else None
            if state is None:
                return
            status = state.status(now)
            indexes = state.live_indexes(now)
            sse = now < state.sse_until
        if status is None and not indexes and not sse:
            return
        try:
            document = reply.json()
        except (ValueError, OSError):
            return
        description = document.get(key) if isinstance(document, dict) else None
        if not isinstance(description, dict):
            return
        if status is not None:
            description["TableStatus"] = status
        for gsi in description.get("GlobalSecondaryIndexes") or []:
            if status == "CREATING":  # indexes made with the table: no Backfilling attribute on AWS
                gsi["IndexStatus"] = "CREATING"
                gsi.pop("Backfilling", None)
                continue
            idx = indexes.get(gsi.get("IndexName", ""))
            if idx is None:
                continue
            if now < idx.backfill_from:
                gsi["IndexStatus"], gsi["Backfilling"] = "CREATING", False
            else:
                gsi["IndexStatus"] = "ACTIVE" if knobs.backfill_reports_active else "CREATING"
                gsi["Backfilling"] = True
        if sse:
            description["SSEDescription"] = {**(description.get("SSEDescription") or {}), "Status": "UPDATING"}
        reply.set_json(document)


# --------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def proxy_for(upstream: str, *, seed: int = 0, **knobs: Any) -> Iterator[BehaviourProxy]:
    """``with proxy_for(url, table_creating_for=2) as proxy:`` a started ``BehaviourProxy`` (a fixture body)."""
    behaviour = Behaviour()
    behaviour.update(**knobs)
    with BehaviourProxy(upstream, behaviour, seed=seed) as proxy:
        yield proxy


def main(argv: list[str]) -> int:
    """``behaviour.py UPSTREAM [knob=json ...]``: run a proxy until interrupted."""
    if not argv or argv[0] in ("-h", "--help"):
        print(main.__doc__)
        return 2
    knobs = {}
    for item in argv[1:]:
        name, _, value = item.partition("=")
        try:
            knobs[name] = json.loads(value)
        except ValueError:
            knobs[name] = value
    for name in ("ignore", "ignore_on_create"):
        if name in knobs and isinstance(knobs[name], list):
            knobs[name] = set(knobs[name])
    with proxy_for(argv[0], **knobs) as proxy:
        print(proxy.url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
