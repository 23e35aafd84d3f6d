"""DynamoDB Local's files and the Java that runs them.

DynamoDB Local is shipped by AWS as a zip of ``DynamoDBLocal.jar`` plus ``DynamoDBLocal_lib/``.
The only registry this project can reach that carries it is npm: the package
``amplify-dynamodb-simulator`` bundles exactly that folder under ``package/emulator/``.
:func:`fetch_jar` runs ``npm pack`` and unpacks that folder into the cache
(``$SNAPINFRA_DB_CACHE``, ``$XDG_CACHE_HOME/snapinfra-db`` or ``~/.cache/snapinfra-db``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from snapinfra_db.dirs import cache_dir

if TYPE_CHECKING:
    pass




#: The npm package (pinned) whose ``package/emulator/`` folder is DynamoDB Local 1.25.1.
NPM_PACKAGE = "amplify-dynamodb-simulator@2.9.30"
JAR_NAME = "DynamoDBLocal.jar"
LIB_DIR_NAME = "DynamoDBLocal_lib"
_EMULATOR_PREFIX = PurePosixPath("package/emulator")
_CACHE_SUBDIR = "dynamodb-local"


class LocalServerError(Exception):
    """DynamoDB Local could not be found, fetched, started or reached. The message is one line."""



def _default_install_dir() -> Path:
    return cache_dir() / _CACHE_SUBDIR


def _jar_in(path: Path) -> Path:
    """A path to the jar itself, or to the folder that holds it."""
    return path / JAR_NAME if path.is_dir() else path


def find_jar(explicit: Path | None = None) -> Path | None:
    """The DynamoDB Local jar to use, or None when there is none yet.

    Order: ``explicit``, then ``$DYNAMODB_LOCAL_JAR``, then the cached copy. An explicit path or
    the environment variable naming a file that does not exist is an error, not a fallback.
    Either may also name the folder that holds ``DynamoDBLocal.jar``.
    """
    if explicit is not None:
        jar = _jar_in(Path(explicit).expanduser())
        if not jar.is_file():
            raise LocalServerError(f"DynamoDB Local jar not found: {jar}")
        return jar
    from_env = os.environ.get("DYNAMODB_LOCAL_JAR")
    if from_env:
        jar = _jar_in(Path(from_env).expanduser())
        if not jar.is_file():
            raise LocalServerError(f"DYNAMODB_LOCAL_JAR names no jar: {jar}")
        return jar
    cached = _default_install_dir() / JAR_NAME
    return cached if cached.is_file() else None


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``path`` (POSIX); a no-op where fcntl is missing."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _extract_emulator(tgz: Path, target: Path) -> None:
    """Unpack the regular files under ``package/emulator/`` of ``tgz`` into ``target``."""
    target_resolved = target.resolve()
    found = False
    with tarfile.open(tgz, "r:gz") as archive:
        for member in archive:
            name = PurePosixPath(member.name)
            try:
                relative = name.relative_to(_EMULATOR_PREFIX)
            except ValueError:
                continue
            if not member.isfile() or not relative.parts or ".." in relative.parts:
                continue  # folders are made as needed; links and devices are never wanted
            out = target.joinpath(*relative.parts)
            if not out.resolve().is_relative_to(target_resolved):
                continue
            source = archive.extractfile(member)
            if source is None:
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            with source, open(out, "wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
            found = found or relative.parts == (JAR_NAME,)
    if not found:
        raise LocalServerError(f"{tgz.name} holds no {_EMULATOR_PREFIX}/{JAR_NAME}")
    if not (target / LIB_DIR_NAME).is_dir():
        raise LocalServerError(f"{tgz.name} holds no {_EMULATOR_PREFIX}/{LIB_DIR_NAME}/")


def _one_line(text: str, limit: int = 300) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # npm's last lines say what went wrong; its warnings come first.
    errors = [line for line in lines if "ERR" in line] or lines
    joined = " | ".join(errors[-3:])
    return joined if len(joined) <= limit else joined[: limit - 3] + "..."


def _npm_pack(package: str, into: Path, timeout: float) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise LocalServerError(
            "npm is not installed: it is needed once to fetch DynamoDB Local "
            f"({package}); or set DYNAMODB_LOCAL_JAR to a DynamoDBLocal.jar"
        )
    try:
        done = subprocess.run(
            [npm, "pack", package, "--silent"],
            cwd=into,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise LocalServerError(f"npm pack {package} took more than {timeout:.0f} s") from exc
    except OSError as exc:
        raise LocalServerError(f"could not run npm: {exc}") from exc
    if done.returncode != 0:
        detail = _one_line(done.stderr or done.stdout) or "no output"
        raise LocalServerError(f"npm pack {package} failed (exit {done.returncode}): {detail}")
    tarballs = sorted(into.glob("*.tgz"))
    if len(tarballs) != 1:
        raise LocalServerError(f"npm pack {package} left {len(tarballs)} tarballs, expected one")
    return tarballs[0]


def fetch_jar(dest: Path | None = None, *, package: str = NPM_PACKAGE, timeout: float = 900.0) -> Path:
    """Fetch DynamoDB Local with ``npm pack`` into ``dest`` (default: the cache) and return the jar.

    The folder is filled beside ``dest`` and renamed into place, so ``dest`` is either absent or
    complete; a process that loses a race for the rename uses the winner's copy. A lock file beside
    ``dest`` keeps concurrent callers from downloading twice. If ``dest`` already holds the jar,
    nothing is fetched.
    """
    dest = Path(dest).expanduser() if dest is not None else _default_install_dir()
    jar = dest / JAR_NAME
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(dest.parent / f".{dest.name}.lock"):
        if jar.is_file():
            return jar
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
        try:
            pack_dir = staging / "npm"
            pack_dir.mkdir()
            tgz = _npm_pack(package, pack_dir, timeout)
            unpacked = staging / "emulator"
            unpacked.mkdir()
            try:
                _extract_emulator(tgz, unpacked)
            except (tarfile.TarError, OSError) as exc:
                raise LocalServerError(f"could not unpack {tgz.name}: {exc}") from exc
            if dest.exists() and not jar.is_file():
                # A leftover without a jar (not something we made): move it out of the way.
                dest.rename(staging / "stale")
            try:
                unpacked.rename(dest)
            except OSError:
                if not jar.is_file():
                    raise
                # Lost the race to another process: its copy is complete, use it.
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return jar


def ensure_jar(explicit: Path | None = None, fetch: bool = True) -> Path:
    """The jar from :func:`find_jar`, fetching it with :func:`fetch_jar` when there is none."""
    jar = find_jar(explicit)
    if jar is not None:
        return jar
    if not fetch:
        raise LocalServerError(
            f"DynamoDB Local is not in {_default_install_dir()}: fetch it (needs npm) or set DYNAMODB_LOCAL_JAR"
        )
    return fetch_jar()



# --------------------------------------------------------------------------- java and the network


def java_executable() -> str | None:
    """``$JAVA_HOME/bin/java`` when it exists, else ``java`` on PATH, else None."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / ("java.exe" if sys.platform == "win32" else "java")
        if candidate.is_file():
            return str(candidate)
    return shutil.which("java")


def java_available() -> bool:
    """Whether a working ``java`` runs (a stub that prints "install a JDK" does not count)."""
    java = java_executable()
    if java is None:
        return False
    try:
        done = subprocess.run(
            [java, "-version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0

