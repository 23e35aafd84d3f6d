"""Fuzzing `validate` with mutated copies of the shipped catalog: whatever the bytes, exit 0 or 1, never a
traceback, every problem one located line, and quickly."""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from snapinfra_db.cli.application import app

ROOT = Path(__file__).resolve().parents[1]
BASE = (ROOT / "tables.yaml").read_bytes()
LINES = BASE.splitlines(keepends=True)
SECONDS = 5.0

yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _flow(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flow(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "~" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["flip", "delete", "duplicate", "control", "deep", "int", "alias", "value"]))
        if op == "flip" and lines[i]:
            j = draw(st.integers(0, len(lines[i]) - 1))
            line = bytearray(lines[i])
            line[j] ^= 1 << draw(st.integers(0, 7))
            lines[i] = bytes(line)
        elif op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "control":
            j = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:j] + bytes([draw(st.integers(0, 31) | st.just(127))]) + lines[i][j:]
        elif op == "deep":
            n = draw(st.integers(20, 600))
            lines.insert(i, b"    deep: " + b"[" * n + b"]" * n + b"\n")
        elif op == "int":
            lines.insert(i, b"    ttl: " + b"9" * draw(st.integers(15, 6000)) + b"\n")
        elif op == "alias":
            lines.insert(i, b"    x: &a [1]\n    y: *a\n")
        else:
            key = draw(st.sampled_from(["ttl", "tags", "billing", "partition_key", "~", "1", "prefix", "legacy"]))
            indent = draw(st.sampled_from(["", "  ", "    ", "      "]))
            lines.insert(i, f"{indent}{key}: {_flow(draw(yaml_values))}\n".encode(errors="surrogatepass"))
        if not lines:
            lines = [b""]
    return b"".join(lines)


LOCATED = re.compile(r"^error: (?P<file>[^:]+)(?::\d+:\d+)?: \S.*$")


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_validate_survives_mutated_catalogs(catalog: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tables.yaml"
        path.write_bytes(catalog)
        started = time.monotonic()
        result = CliRunner().invoke(app, ["validate", "--catalog", str(path)])
        elapsed = time.monotonic() - started
    assert result.exit_code in (0, 1), (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    assert elapsed < SECONDS, elapsed
    if result.exit_code == 1:
        lines = result.stderr.splitlines()
        assert lines, result.output
        for line in lines:
            match = LOCATED.match(line)
            assert match and match.group("file") == str(path), line
