"""Local DynamoDB-compatible servers run as child processes: DynamoDB Local (Java) and moto's server.

:class:`DynamoDBLocal` runs one instance (always ``-sharedDb`` and ``-disableTelemetry``) in its own
process group, with its output in a log file and its working directory in a private temporary
folder (Local drops a ``dynamodb-local-metadata.json`` into its working directory).
:class:`MotoServer` runs moto's server the same way (the fallback engine of ``snapinfra-db local``);
both are :class:`ServerProcess` es, which hold the process handling they share.

Things worth knowing about DynamoDB Local 1.25 (measured, not documented):

* it listens on all interfaces (``*:PORT``); there is no option to bind to loopback only;
* ``-port 0`` is refused, so a free port is picked here before starting;
* ``-delayTransientStatuses`` only delays *index* statuses: a GSI added by UpdateTable stays
  ``CREATING`` ~30 s and a deleted one ``DELETING`` ~16 s; tables themselves are ``ACTIVE`` as soon as
  CreateTable returns and gone as soon as DeleteTable returns (whose response still says ``ACTIVE``);
* it enforces DeletionProtectionEnabled, allows one online index change per table at a time
  (LimitExceededException), and has no tagging and no point-in-time recovery
  (UnknownOperationException).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Self

from snapinfra_db.aws import local_dynamodb_client
from snapinfra_db.local.jar import LIB_DIR_NAME, LocalServerError, java_executable
from snapinfra_db.waiting import PROCESS_START, WaitTimeout, wait_for

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


_LOG_TAIL_LINES = 25


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now (the OS's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something listens on ``host:port``, or the port cannot be bound on all interfaces."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        if sock.connect_ex((host, port)) == 0:
            return True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("", port))
        except OSError:
            return True
    return False


def _answers_list_tables(client: DynamoDBClient) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = client.list_tables(Limit=1)
    except (BotoCoreError, ClientError, OSError):
        return False
    return isinstance(response.get("TableNames"), list)


def is_dynamodb_endpoint(url: str, timeout: float = 2.0) -> bool:
    """Whether ``url`` answers ListTables like DynamoDB does (with dummy credentials)."""
    return _answers_list_tables(local_dynamodb_client(url, timeout=timeout, attempts=1))


# --------------------------------------------------------------------------- the process


_RUNNING: weakref.WeakSet[ServerProcess] = weakref.WeakSet()


@atexit.register
def _stop_leftovers() -> None:
    for instance in list(_RUNNING):
        with contextlib.suppress(Exception):
            instance.stop(timeout=5)


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the process group ``pid`` leads (engines run in their own), else the process alone."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(pid, sig)
        else:  # pragma: no cover - Windows
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(OSError):
            os.kill(pid, sig)


def one_line(log_tail: str) -> str:
    """A log excerpt folded onto one line, for one-line error messages."""
    return " | ".join(line.strip() for line in log_tail.splitlines() if line.strip())


class ServerProcess:
    """A local DynamoDB-compatible server run as a child process: the part every engine shares.

    The child runs in its own process group with its output in a log file and a working directory
    of its own; :meth:`start` returns once it answers ListTables. Subclasses say what to run
    (:meth:`command`) and how to call it in messages (``label``). ``port=0`` picks a free port.
    """

    label = "the local engine"

    def __init__(self, port: int = 0, log_path: Path | None = None, workdir: Path | None = None) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"invalid port {port}")
        self.requested_port = port
        self._log_path = Path(log_path) if log_path is not None else None
        self._port: int | None = port or None
        self._process: subprocess.Popen[bytes] | None = None
        # A given working directory is kept; a temporary one is removed by stop().
        self._own_workdir = workdir is None
        self._workdir: Path | None = Path(workdir) if workdir is not None else None
        self._log_handle: IO[bytes] | None = None
        self._log_offset = 0

    # ----------------------------------------------------------------- properties

    @property
    def port(self) -> int:
        if self._port is None:
            raise LocalServerError(f"{self.label} has no port yet: start it first")
        return self._port

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def log_path(self) -> Path | None:
        """Where the process's output goes (None before the first start when it is a temp file)."""
        return self._log_path if self._log_path is not None else self._own_log()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        """The command line :meth:`start` runs (the port is known by then)."""
        raise NotImplementedError

    def client(self) -> DynamoDBClient:
        """A boto3 client for this instance."""
        return local_dynamodb_client(self.endpoint_url)

    # ----------------------------------------------------------------- lifecycle

    def start(self, timeout: float = 30.0) -> Self:
        """Start it and return once it answers ListTables; LocalServerError if it never does."""
        if self.running:
            raise LocalServerError(f"{self.label} is already running (pid {self.pid})")
        deadline = time.monotonic() + timeout
        # A port we picked may be taken between the pick and the child's bind: then pick another.
        attempts = 3 if self.requested_port == 0 else 1
        for attempt in range(1, attempts + 1):
            try:
                self._start_once(deadline, timeout)
                return self
            except _PortTaken as exc:
                if attempt == attempts:
                    raise LocalServerError(str(exc)) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _own_log(self) -> Path | None:
        return self._workdir / "engine.log" if self._workdir is not None else None

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last lines the process wrote since it was started."""
        log_path = self.log_path
        if log_path is None:
            return ""
        try:
            with open(log_path, "rb") as handle:
                handle.seek(self._log_offset)
                text = handle.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _start_once(self, deadline: float, timeout: float) -> None:
        self._port = self.requested_port or free_port()
        if port_in_use(self._port):
            # Checked first: otherwise whatever listens there would pass for us starting up.
            raise _PortTaken(f"port {self._port} is already in use")
        args = self.command()
        if self._workdir is None:
            # DynamoDB Local writes dynamodb-local-metadata.json into its working directory.
            self._workdir = Path(tempfile.mkdtemp(prefix="snapinfra-engine-"))
        self._workdir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_path
        assert log_path is not None
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_handle = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._log_offset = self._log_handle.tell()
        try:
            self._process = subprocess.Popen(
                args,
                cwd=self._workdir,
                stdin=subprocess.DEVNULL,
                stdout=self._log_handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            self._cleanup()
            raise LocalServerError(f"could not run {args[0]}: {exc}") from exc
        _RUNNING.add(self)
        process = self._process
        client = local_dynamodb_client(self.endpoint_url, timeout=1.0, attempts=1)

        def answering() -> bool | None:
            code = process.poll()
            if code is not None:  # it died starting: no point waiting for the deadline
                tail = self.log_tail()
                self._cleanup()
                if "Address already in use" in tail or "BindException" in tail:
                    raise _PortTaken(f"port {self._port} is in use: {one_line(tail)}")
                raise LocalServerError(
                    f"{self.label} exited with code {code} while starting: {one_line(tail) or 'no output'}"
                )
            return True if self._port_open() and _answers_list_tables(client) else None

        try:
            # The deadline is start()'s, shared by the attempts on other ports.
            wait_for(answering, PROCESS_START.within(deadline - time.monotonic()), what=f"{self.label} answering")
        except WaitTimeout:
            tail = self.log_tail()
            self.stop()
            raise LocalServerError(
                f"{self.label} did not answer on {self.endpoint_url} within {timeout:g} s: "
                f"{one_line(tail) or 'no output'}"
            ) from None

    def _port_open(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process group (SIGTERM, then SIGKILL after ``timeout`` s). Safe to call again."""
        process = self._process
        if process is not None and process.poll() is None:
            signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout=timeout)
        self._cleanup()

    def detach(self) -> int:
        """Let the running process outlive this Python process; return its pid.

        After this, :meth:`stop` and the exit hook leave it alone: it is stopped by pid
        (``snapinfra-db local stop``). Needs a ``log_path`` and ``workdir`` that outlive us too.
        """
        process = self._process
        if process is None or process.poll() is not None:
            raise LocalServerError(f"{self.label} is not running")
        if self._log_path is None or self._own_workdir:
            raise LocalServerError(f"a detached {self.label} needs its own log_path and workdir")
        _RUNNING.discard(self)
        if self._log_handle is not None:
            self._log_handle.close()  # the child keeps its own descriptor
            self._log_handle = None
        # Forget the child: Popen's destructor does not kill, and we must not reap it either.
        self._process = None
        return process.pid

    def _cleanup(self) -> None:
        _RUNNING.discard(self)
        if self._process is not None and self._process.poll() is not None:
            self._process = None
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None
        if self._workdir is not None and self._process is None and self._own_workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> Self:
        if not self.running:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class DynamoDBLocal(ServerProcess):
    """One DynamoDB Local process (always ``-sharedDb`` and ``-disableTelemetry``).

    ``db_path`` keeps the data in that folder (``-dbPath``), which wins over ``in_memory``; with
    neither, it is an error. The output goes to ``log_path``, or to a temporary file removed by
    :meth:`stop`.
    """

    label = "DynamoDB Local"

    def __init__(
        self,
        jar: Path,
        port: int = 0,
        in_memory: bool = True,
        db_path: Path | None = None,
        delay_transient_statuses: bool = False,
        log_path: Path | None = None,
        *,
        java: str | None = None,
        java_options: Sequence[str] = (),
        workdir: Path | None = None,
    ) -> None:
        if not in_memory and db_path is None:
            raise ValueError("DynamoDBLocal needs db_path when in_memory is False")
        super().__init__(port, log_path, workdir)
        self.jar = Path(jar)
        self.in_memory = db_path is None
        self.db_path = Path(db_path) if db_path is not None else None
        self.delay_transient_statuses = delay_transient_statuses
        self._java = java
        self._java_options = tuple(java_options)

    def command(self) -> list[str]:
        java = self._java or java_executable()
        if java is None:
            raise LocalServerError("java is not installed: DynamoDB Local needs a Java runtime (>= 11)")
        lib = self.jar.parent / LIB_DIR_NAME
        args = [
            java,
            *self._java_options,
            f"-Djava.library.path={lib}",
            "-jar",
            str(self.jar),
            "-port",
            str(self.port),
            "-sharedDb",
            "-disableTelemetry",
        ]
        if self.db_path is not None:
            args += ["-dbPath", str(self.db_path)]
        else:
            args.append("-inMemory")
        if self.delay_transient_statuses:
            args.append("-delayTransientStatuses")
        return args

    def start(self, timeout: float = 30.0) -> Self:
        if not self.jar.is_file():
            raise LocalServerError(f"DynamoDB Local jar not found: {self.jar}")
        if self.db_path is not None:
            self.db_path.mkdir(parents=True, exist_ok=True)
        return super().start(timeout)

    def __repr__(self) -> str:
        mode = f"db_path={self.db_path}" if self.db_path is not None else "in_memory"
        state = f"pid={self.pid}" if self.running else "stopped"
        return f"DynamoDBLocal(port={self._port}, {mode}, {state})"


class MotoServer(ServerProcess):
    """moto's server (``pip install 'snapinfra-db[local]'``): in memory, more lenient than DynamoDB."""

    label = "moto's server"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]


class _PortTaken(LocalServerError):
    pass
