"""Hostile catalogs: each is refused at once with located one-line problems and exit 1, never a hang,
a traceback or gigabytes of memory."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from snapinfra_db.catalog import load_catalog
from snapinfra_db.catalog.loader import MAX_CATALOG_BYTES
from snapinfra_db.cli.application import app
from snapinfra_db.errors import CatalogError

ROOT = Path(__file__).resolve().parents[1]
TABLE = "tables:\n  abc:\n    partition_key: id\n"


def _refused(path: Path, seconds: float = 1.0) -> list[str]:
    """load_catalog's problems, and `validate` exits 1 with those lines on stderr, within `seconds`."""
    started = time.monotonic()
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    result = CliRunner().invoke(app, ["validate", "--catalog", str(path)])
    assert time.monotonic() - started < 2 * seconds
    assert (result.exit_code, result.stdout) == (1, ""), result.output
    assert "Traceback" not in result.output
    assert result.stderr.splitlines() == [f"error: {p}" for p in info.value.problems]
    return info.value.problems


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "tables.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_billion_laughs_is_refused_before_expansion(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    path = _write(tmp_path, "\n".join(lines) + "\n" + TABLE)
    assert _refused(path) == [f"{path}:1:5: YAML anchors and aliases are not allowed in the catalog"]


def test_an_alias_alone_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, TABLE + "  other: *x\n")
    assert _refused(path) == [f"{path}:4:10: YAML anchors and aliases are not allowed in the catalog"]


def test_size_cap_is_checked_before_reading(tmp_path: Path) -> None:
    path = _write(tmp_path, TABLE + "#" * MAX_CATALOG_BYTES)
    size = path.stat().st_size
    assert _refused(path) == [f"{path}: the catalog is {size} bytes; the limit is 256 KiB (262144 bytes)"]


def test_a_catalog_just_under_the_cap_validates_quickly(tmp_path: Path) -> None:
    text = (ROOT / "tables.yaml").read_text()
    comment = "# " + "x" * 97 + "\n"
    path = _write(tmp_path, text + comment * ((MAX_CATALOG_BYTES - len(text)) // len(comment)))
    assert path.stat().st_size <= MAX_CATALOG_BYTES
    started = time.monotonic()
    result = CliRunner().invoke(app, ["validate", "--catalog", str(path)])
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 4  # ~1 s here; bounded loosely for a loaded CI machine


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, TABLE + "    ttl: " + "[" * 600 + "]" * 600 + "\n")
    assert _refused(path) == [f"{path}:4:39: nested more than 32 levels deep"]
    block = TABLE + "".join("  " * (i + 2) + f"k{i}:\n" for i in range(40))
    assert _refused(_write(tmp_path, block))[0].endswith(": nested more than 32 levels deep")


def test_huge_integer_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, TABLE + "    billing: {mode: PROVISIONED, read: " + "9" * 5001 + ", write: 1}\n")
    assert _refused(path) == [f"{path}:4:40: integer with 5001 digits: the catalog allows at most 18"]
    ok = _write(tmp_path, TABLE + "    billing: {mode: PROVISIONED, read: 999999999999999999, write: 1}\n")
    assert load_catalog(ok).tables[0].billing.read == 999999999999999999


def test_control_character_is_located_by_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, TABLE.replace("id", "i\x07d"))
    assert _refused(path) == [
        f"{path}:3:21: control character U+0007 is not allowed in YAML (only tab and line breaks are)"
    ]


def test_invalid_utf8_is_located_by_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, TABLE.encode().replace(b"id", "é\xff".encode("latin-1")))
    assert _refused(path) == [f"{path}:3:20: not valid UTF-8 (byte 0xe9): the catalog must be UTF-8 text"]


@pytest.mark.parametrize("kind", ["FIFO", "directory", "character device"])
def test_only_regular_files_are_read(tmp_path: Path, kind: str) -> None:
    if kind == "FIFO":
        path = tmp_path / "pipe"
        os.mkfifo(path)  # opening it for reading would block until a writer comes
    else:
        path = tmp_path if kind == "directory" else Path(os.devnull)
    assert _refused(path) == [f"{path}: not a regular file (a {kind})"]


def test_unreadable_catalog_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Fails for root too: a path under a regular file.
    not_a_dir = _write(tmp_path, TABLE) / "tables.yaml"
    assert _refused(not_a_dir) == [f"{not_a_dir}: cannot read catalog: Not a directory"]

    path = _write(tmp_path, TABLE)
    path.chmod(0)
    try:
        readable_anyway = os.access(path, os.R_OK)  # root ignores permissions
        if not readable_anyway:
            assert _refused(path) == [f"{path}: cannot read catalog: Permission denied"]
    finally:
        path.chmod(0o644)

    # The same words whoever runs the suite: opening fails as it does for a user without permission.
    def denied(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("snapinfra_db.catalog.loader.os.open", denied)
    assert _refused(path) == [f"{path}: cannot read catalog: Permission denied"]


@pytest.mark.parametrize(
    ("text", "where", "kind"),
    [
        ("tables:\n  ~:\n    partition_key: id\n", "2:3", "null"),
        ("tables:\n  12:\n    partition_key: id\n", "2:3", "int 12"),
        (TABLE + "    tags: {true: x}\n", "4:12", "bool True"),
    ],
)
def test_non_string_keys_are_refused(tmp_path: Path, text: str, where: str, kind: str) -> None:
    path = _write(tmp_path, text)
    assert _refused(path) == [f"{path}:{where}: keys must be strings; this key is {kind} (quote it if it is a name)"]


def test_a_mapping_as_key_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, TABLE + "    ? [a, b]\n    : c\n")
    assert _refused(path) == [f"{path}:4:7: keys must be strings; this key is a mapping or a list"]


def test_tags_other_than_str_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, TABLE + "    ttl: !!binary aGVsbG8=\n")
    assert _refused(path) == [
        f"{path}:4:10: YAML tags are not allowed in the catalog (found 'tag:yaml.org,2002:binary')"
    ]
    assert load_catalog(_write(tmp_path, TABLE + "    ttl: !!str 123\n")).tables[0].ttl == "123"


TAGS = [
    ("tags: {aws:x: y}", "4:11", "tag key 'aws:x': keys beginning with 'aws:' are reserved by AWS"),
    ("tags: {AWS:Name: y}", "4:11", "tag key 'AWS:Name': keys beginning with 'aws:' are reserved by AWS"),
    ("tags: {'': y}", "4:11", "tag key '': keys are 1-128 characters (this one has 0)"),
    (
        f"tags: {{{'k' * 129}: y}}",
        "4:11",
        "tag key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...': keys are 1-128 characters (this one has 129)",
    ),
    (f"tags: {{k: {'v' * 257}}}", "4:11", "tag 'k': values are 0-256 characters (this one has 257)"),
    ("tags: {'a*b': y}", "4:11", "tag key 'a*b': may use only Unicode letters, digits, whitespace and _ . : / = + - @"),
    (
        "tags: {k: 'a#b'}",
        "4:11",
        "tag 'k': the value may use only Unicode letters, digits, whitespace and _ . : / = + - @",
    ),
]


@pytest.mark.parametrize(("tags", "where", "message"), TAGS, ids=[t[2][:30] for t in TAGS])
def test_dynamodb_tag_rules(tmp_path: Path, tags: str, where: str, message: str) -> None:
    path = _write(tmp_path, f"{TABLE}    {tags}\n")
    assert _refused(path) == [f"{path}:{where}: tables.abc.tags: {message}"]


def test_tag_rules_allow_what_dynamodb_allows(tmp_path: Path) -> None:
    tags = {"Équipe": "données", "a b.c:d/e=f+g-h@i_j": "", "k" * 128: "v" * 256, "awsx": "1"}
    body = "".join(f"      '{k}': '{v}'\n" for k, v in tags.items())
    assert load_catalog(_write(tmp_path, f"{TABLE}    tags:\n{body}")).tables[0].tags == tags


def test_at_most_50_tags_after_merging_defaults(tmp_path: Path) -> None:
    defaults = "".join(f"    d{i}: v\n" for i in range(30))
    own = "".join(f"      t{i}: v\n" for i in range(21))
    path = _write(tmp_path, f"defaults:\n  tags:\n{defaults}{TABLE}    tags:\n{own}")
    assert _refused(path) == [
        f"{path}:37:7: tables.abc.tags: 51 tags: DynamoDB allows at most 50 per table (defaults included)"
    ]
    fifty = "".join(f"      t{i}: v\n" for i in range(20))
    assert (
        len(load_catalog(_write(tmp_path, f"defaults:\n  tags:\n{defaults}{TABLE}    tags:\n{fifty}")).tables[0].tags)
        == 50
    )
