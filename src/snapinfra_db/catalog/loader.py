"""Loading tables.yaml: YAML with positions, validation into the catalog's models, located problems.

Every problem is reported as ``FILE:LINE:COL: message``, all of them at once. Per-table settings are
the catalog's ``defaults`` deep-merged with the table's own; a problem in a merged setting points at
the line that set it, in the table or in ``defaults``.

Stages (``stages.<name>``: prefix, region, profile, endpoint_url, overrides) are resolved with the
same merge, in layers, each laid over the one before: ``defaults``, the stage's ``overrides``, the
table's own settings, the stage's ``overrides.tables.<key>``. Every stage's shape is checked on every
load; the layers are merged and validated for the stage(s) resolved (`load_catalog`: one,
`load_every_stage`: all).
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, Field, ValidationError

from snapinfra_db.catalog.models import (
    ALARM_SUFFIXES,
    DEFAULT_PREFIX,
    ENV_RE,
    MAX_ALARM_NAME,
    MAX_GSIS,
    MAX_LSIS,
    MAX_PROJECTED_ATTRIBUTES,
    NAME_RE,
    Capacity,
    Catalog,
    KeyAttribute,
    Model,
    Stage,
    TableSettings,
    TableSpec,
)
from snapinfra_db.errors import CatalogError

# ---------------------------------------------------------------------------------------------
# Raw YAML-facing shapes: validated first, so that unknown keys and bad values are located
# exactly where the user wrote them.


class _RawTableOverride(Model):
    """What a stage may override, for every table or one: what `defaults` may set (TableSettings'
    fields; a test keeps the two lists equal). Values are validated once merged, as a table's are."""

    billing: Any = None
    point_in_time_recovery: Any = None
    encryption: Any = None
    stream: Any = None
    deletion_protection: Any = None
    table_class: Any = None
    tags: Any = None
    alarms: Any = None


class _RawOverrides(_RawTableOverride):
    tables: dict[str, _RawTableOverride] = Field(default_factory=dict)  # by the catalog's table key


class _RawStage(Model):
    prefix: str | None = None
    region: str | None = None
    profile: str | None = Field(default=None, min_length=1)
    endpoint_url: str | None = None
    overrides: _RawOverrides = _RawOverrides()


class _RawCatalog(Model):
    prefix: str = DEFAULT_PREFIX
    defaults: TableSettings = TableSettings()
    legacy: list[str] = Field(default_factory=list)
    tables: dict[str, Any]  # each validated on its own, after merging with defaults
    stages: dict[str, _RawStage] = Field(default_factory=dict)
    default_stage: str | None = None


STAGE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
PREFIX_RE = re.compile(r"^[A-Za-z0-9_.-]*$")  # what a table name may hold (NAME_RE), so prefix + key can be one
# An AWS region (us-east-1, us-gov-west-1, ap-southeast-4): a typo is caught by validate, not at the first call.
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$")
# With its own endpoint_url a stage may name any region the endpoint takes (DynamoDB Local takes any).
ANY_REGION_RE = re.compile(r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$")


Loc = tuple[str | int, ...]


@dataclass
class _Problem:
    loc: Loc
    message: str
    on_key: bool = False  # point at the key itself rather than its value
    stage: str | None = None  # found while resolving this stage (its layers decide where loc was written)


class _Locator:
    """Maps a path in the YAML document to ``line:col`` using ruamel's position data."""

    def __init__(self, root: Any) -> None:
        self.root = root

    def _position(self, loc: Loc, on_key: bool) -> tuple[int, int] | None:
        node = self.root
        position: tuple[int, int] | None = (0, 0)
        for i, part in enumerate(loc):
            lc = getattr(node, "lc", None)
            if isinstance(node, Mapping) and part in node and lc is not None:
                last = i == len(loc) - 1
                line, col = lc.key(part) if (on_key and last) else lc.value(part)
                position = (line, col)
                node = node[part]
            elif isinstance(node, Sequence) and isinstance(part, int) and 0 <= part < len(node) and lc:
                position = lc.item(part)
                node = node[part]
            else:
                return None
        return position

    def find(self, loc: Loc, on_key: bool = False) -> tuple[int, int]:
        """Exact position of loc, else that of its nearest ancestor present in the document."""
        for cut in range(len(loc), -1, -1):
            position = self._position(loc[:cut], on_key and cut == len(loc))
            if position is not None:
                return position
        return (0, 0)

    def has(self, loc: Loc) -> bool:
        return self._position(loc, False) is not None


def _to_plain(node: Any) -> Any:
    """ruamel's CommentedMap/Seq and scalar subclasses → plain dicts, lists and scalars."""
    if isinstance(node, Mapping):
        return {str(k) if not isinstance(k, str) else k: _to_plain(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_to_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _allowed_keys(model: type[BaseModel], loc: Loc) -> list[str] | None:
    """Field names allowed at `loc` (a path inside `model`), for 'did you mean' hints."""
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            # A dict of models (indexes by name): skip the name.
            return None
        annotation = field.annotation
        current = _model_in(annotation)
        if current is None:
            return None
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _pydantic_problems(error: ValidationError, base: Loc, model: type[BaseModel]) -> list[_Problem]:
    items: list[tuple[Loc, Any]] = []
    for item in error.errors():
        loc = tuple(p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        # pydantic adds the union member or model name to some locations; drop non-YAML parts.
        items.append((tuple(p for p in loc if p not in ("str", "KeyAttribute", "Projection")), item))
    # Unknown keys, with a hint each; a "did you mean X" explains X's "Field required" at the same level.
    unknown_keys: dict[Loc, str] = {}
    explained: set[Loc] = set()
    for loc, item in items:
        if item["type"] == "extra_forbidden":
            unknown = str(loc[-1])
            hint = ""
            allowed = _allowed_keys(model, _strip_dict_names(model, loc[:-1]))
            if allowed:
                close = difflib.get_close_matches(unknown, allowed, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else f" (allowed: {', '.join(allowed)})"
                explained.update((*loc[:-1], c) for c in close)
            unknown_keys[loc] = f"unknown key '{unknown}'{hint}"
    problems = []
    for loc, item in items:
        if item["type"] == "extra_forbidden":
            problems.append(_Problem(base + loc, unknown_keys[loc], on_key=True))
            continue
        if item["type"] == "missing" and loc in explained:
            continue  # 'partiton_key' is reported, not the partition_key it was meant to be
        message = item["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        where = ".".join(str(p) for p in base + loc)
        problems.append(_Problem(base + loc, f"{where}: {message}"))
    return problems


def _strip_dict_names(model: type[BaseModel], loc: Loc) -> Loc:
    """global_indexes.UserIdIndex.projection → global_indexes.projection (the model path)."""
    out: list[str | int] = []
    current: Any = model
    skip_next = False
    for part in loc:
        if skip_next:
            skip_next = False
            continue
        out.append(part)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                break
            origin = getattr(field.annotation, "__origin__", None)
            skip_next = origin is dict
            current = _model_in(field.annotation)
    return tuple(out)


def _semantic_problems(raw: _RawCatalog, specs: list[tuple[str, TableSpec]]) -> list[_Problem]:
    """Rules that span fields: the ones pydantic cannot see from one value."""
    problems: list[_Problem] = []
    names: dict[str, str] = {}
    envs: dict[str, str] = {}
    for key, spec in specs:
        at: Loc = ("tables", key)
        if not NAME_RE.match(spec.name):
            problems.append(
                _Problem(at, f"table name '{spec.name}' must be 3-255 characters of A-Z a-z 0-9 _ . -", True)
            )
        if spec.name in names:
            problems.append(_Problem(at, f"duplicate table name '{spec.name}' (also '{names[spec.name]}')", True))
        names[spec.name] = key
        if not ENV_RE.match(spec.env):
            problems.append(_Problem((*at, "env"), f"env '{spec.env}' is not a valid environment variable name"))
        elif spec.env in envs:
            problems.append(_Problem((*at, "env"), f"env '{spec.env}' is also used by table '{envs[spec.env]}'"))
        envs.setdefault(spec.env, key)

        # One attribute, one type, everywhere in the table.
        seen: dict[str, tuple[str, Loc]] = {}
        key_paths: list[tuple[Loc, KeyAttribute]] = [((*at, "partition_key"), spec.partition_key)]
        if spec.sort_key:
            key_paths.append(((*at, "sort_key"), spec.sort_key))
        for iname, gsi in spec.global_indexes.items():
            key_paths.append(((*at, "global_indexes", iname, "partition_key"), gsi.partition_key))
            if gsi.sort_key:
                key_paths.append(((*at, "global_indexes", iname, "sort_key"), gsi.sort_key))
        for iname, lsi in spec.local_indexes.items():
            key_paths.append(((*at, "local_indexes", iname, "sort_key"), lsi.sort_key))
        for path, attr in key_paths:
            assert attr.type is not None  # the catalog always has a type (default S)
            if attr.name in seen and seen[attr.name][0] != attr.type:
                first_type, _ = seen[attr.name]
                problems.append(
                    _Problem(
                        path,
                        f"attribute '{attr.name}' is declared {attr.type} here and {first_type} elsewhere "
                        "in this table (an attribute has one type)",
                    )
                )
            seen.setdefault(attr.name, (attr.type, path))

        index_names: set[str] = set()
        for kind, indexes in (("global_indexes", spec.global_indexes), ("local_indexes", spec.local_indexes)):
            for iname in indexes:
                if not NAME_RE.match(iname):
                    problems.append(
                        _Problem(
                            (*at, kind, iname),
                            f"index name '{iname}' must be 3-255 characters of A-Z a-z 0-9 _ . -",
                            True,
                        )
                    )
                if iname in index_names:
                    problems.append(_Problem((*at, kind, iname), f"duplicate index name '{iname}'", True))
                index_names.add(iname)
        if len(spec.global_indexes) > MAX_GSIS:
            problems.append(
                _Problem(
                    (*at, "global_indexes"),
                    f"{len(spec.global_indexes)} global secondary "
                    f"indexes: DynamoDB allows at most {MAX_GSIS} per table",
                )
            )
        if len(spec.local_indexes) > MAX_LSIS:
            problems.append(
                _Problem(
                    (*at, "local_indexes"),
                    f"{len(spec.local_indexes)} local secondary indexes: DynamoDB allows at most {MAX_LSIS} per table",
                )
            )
        if spec.local_indexes and spec.sort_key is None:
            problems.append(
                _Problem(
                    (*at, "local_indexes"),
                    "local secondary indexes need a table with a sort key (a composite primary key)",
                )
            )
        projected = sum(len(i.projection.attributes) for i in spec.global_indexes.values()) + sum(
            len(i.projection.attributes) for i in spec.local_indexes.values()
        )
        if projected > MAX_PROJECTED_ATTRIBUTES:
            problems.append(
                _Problem(
                    (*at,),
                    f"{projected} projected non-key attributes over all indexes: "
                    f"DynamoDB allows at most {MAX_PROJECTED_ATTRIBUTES}",
                    True,
                )
            )

        problems.extend(_capacity_problems(spec, at))
        suffixes = [x for kind in (spec.alarms.kinds() if spec.alarms else {}) for x in ALARM_SUFFIXES[kind]]
        if suffixes:
            longest = max([spec.name, *(f"{spec.name}.{i}" for i in spec.global_indexes)], key=len)
            name = f"{longest}-{max(suffixes, key=len)}"
            if len(name) > MAX_ALARM_NAME:
                problems.append(
                    _Problem(
                        (*at, "alarms"),
                        f"alarm '{name[:40]}...' would be {len(name)} characters: CloudWatch allows at most "
                        f"{MAX_ALARM_NAME} (alarms are named '<table>[.<index>]-<alarm>')",
                        True,
                    )
                )

    for i, legacy in enumerate(raw.legacy):
        if legacy in names:
            problems.append(
                _Problem(
                    ("legacy", i),
                    f"legacy table '{legacy}' is also a catalog table: purging it would delete a live table",
                )
            )
    return problems


def _capacity_problems(spec: TableSpec, at: Loc) -> list[_Problem]:
    problems: list[_Problem] = []
    provisioned = spec.billing.mode == "PROVISIONED"
    targets: list[tuple[Loc, Capacity, str]] = [((*at, "billing"), spec.billing, "the table")]
    targets += [((*at, "global_indexes", n), g, f"index {n}") for n, g in spec.global_indexes.items()]
    for path, cap, what in targets:
        if provisioned and (cap.read is None or cap.write is None):
            problems.append(_Problem(path, f"PROVISIONED billing needs 'read' and 'write' capacity for {what}"))
        if provisioned and (cap.max_read is not None or cap.max_write is not None):
            problems.append(_Problem(path, f"'max_read'/'max_write' apply to PAY_PER_REQUEST only ({what})"))
        if not provisioned and (cap.read is not None or cap.write is not None):
            problems.append(
                _Problem(
                    path,
                    f"'read'/'write' capacity apply to PROVISIONED billing only ({what}); "
                    "use max_read/max_write to cap an on-demand table",
                )
            )
    return problems


def _default_env(key: str) -> str:
    return f"DYNAMODB_{re.sub(r'[^A-Za-z0-9]+', '_', key).upper()}_TABLE"


# ---------------------------------------------------------------------------------------------
# Reading the file: only a regular file of at most MAX_CATALOG_BYTES, valid UTF-8 without control
# characters, parsed event by event (no YAML constructor runs): anchors, aliases, tags, non-string
# keys, deep nesting and huge integers are refused where they are written, before anything is built.

# 60 times the real 12-table catalog, and small enough that ruamel's pure-Python parser reads even a
# catalog of nothing but dense tables at the cap in about 2 s (1 MiB of them took 7-13 s).
MAX_CATALOG_BYTES = 256 * 1024
MAX_DEPTH = 32
MAX_INT_DIGITS = 18

_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
# What YAML allows in a stream (ruamel's Reader.NON_PRINTABLE): everything else is refused, located.
_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_NULL = {"", "~", "null", "Null", "NULL"}
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?(?:0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+|[0-9][0-9_]*)")
_FLOAT = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)
_STR_TAG = "tag:yaml.org,2002:str"


class _Located(Exception):
    """A problem found while reading: (line, col) 0-based, or None for the whole file."""

    def __init__(self, message: str, position: tuple[int, int] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


def _line_col(text: str, index: int) -> tuple[int, int]:
    """0-based line and column of character `index`, counting line breaks as YAML (and ruamel) do."""
    line, start = 0, 0
    for match in _LINE_BREAK.finditer(text, 0, index):
        line, start = line + 1, match.end()
    return line, index - start


def _one_line(message: str) -> str:
    """A problem is one line: control characters and line breaks (from user input) are escaped."""
    return _NON_PRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", message.replace("\n", "\\n").replace("\r", "\\r"))


def _read_text(path: Path) -> str:
    """The catalog's text: a regular file, at most MAX_CATALOG_BYTES, valid UTF-8, no control characters."""
    try:
        info = os.stat(path)
        kind = next((name for test, name in _FILE_KINDS if test(info.st_mode)), "not a regular file")
        if not stat.S_ISREG(info.st_mode):
            raise _Located(f"not a regular file ({kind})")
        if info.st_size > MAX_CATALOG_BYTES:
            raise _Located(_size_message(info.st_size))
        # O_NONBLOCK: should the path be swapped for a FIFO after the stat, opening does not hang.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as stream:
            if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
                raise _Located("not a regular file")
            data = stream.read(MAX_CATALOG_BYTES + 1)
    except FileNotFoundError:
        raise _Located("catalog not found (pass --catalog PATH or set SNAPINFRA_DB_CATALOG)") from None
    except OSError as exc:
        raise _Located(f"cannot read catalog: {exc.strerror or exc}") from None
    if len(data) > MAX_CATALOG_BYTES:
        raise _Located(_size_message(len(data)))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8")
        raise _Located(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x}): the catalog must be UTF-8 text",
            _line_col(before, len(before)),
        ) from None
    return _checked_text(text)


def _checked_text(text: str) -> str:
    """Text at hand (a file's, decoded, or text import is about to write), held to the catalog's limits:
    at most MAX_CATALOG_BYTES, no control characters; a byte-order mark is dropped."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_CATALOG_BYTES:
        raise _Located(_size_message(size))
    text = text.removeprefix("\ufeff")
    bad = _NON_PRINTABLE.search(text)
    if bad:
        raise _Located(
            f"control character U+{ord(bad.group()):04X} is not allowed in YAML (only tab and line breaks are)",
            _line_col(text, bad.start()),
        )
    return text


def _size_message(size: int) -> str:
    return f"the catalog is {size} bytes; the limit is 256 KiB ({MAX_CATALOG_BYTES} bytes)"


class _Positions:
    """ruamel's `lc` interface for the built document: where each key, value and item was written."""

    def __init__(self) -> None:
        self.keys: dict[Any, tuple[int, int]] = {}
        self.values: dict[Any, tuple[int, int]] = {}
        self.items: list[tuple[int, int]] = []

    def key(self, key: Any) -> tuple[int, int]:
        return self.keys[key]

    def value(self, key: Any) -> tuple[int, int]:
        return self.values[key]

    def item(self, index: int) -> tuple[int, int]:
        return self.items[index]


class _Map(dict[str, Any]):
    lc: _Positions


class _Seq(list[Any]):
    lc: _Positions


def _at(event: Any) -> tuple[int, int]:
    return (event.start_mark.line, event.start_mark.column)


def _scalar(event: Any) -> Any:
    """A scalar's value under YAML 1.2's core schema (strings stay strings: no dates, no sets)."""
    value: str = event.value
    tag = event.tag
    if tag is not None and str(tag) not in ("!", _STR_TAG):
        raise _Located(f"YAML tags are not allowed in the catalog (found '{_one_line(str(tag))[:60]}')", _at(event))
    if tag is not None or event.style is not None:
        return value  # quoted, or tagged as a string
    if value in _NULL:
        return None
    if value in _BOOL:
        return _BOOL[value]
    if _INT.fullmatch(value):
        digits = value.lstrip("+-").replace("_", "")
        base = {"0x": 16, "0o": 8, "0b": 2}.get(digits[:2].lower(), 10)
        digits = digits[2:] if base != 10 else digits
        if len(digits) > MAX_INT_DIGITS:
            message = f"integer with {len(digits)} digits: the catalog allows at most {MAX_INT_DIGITS}"
            raise _Located(message, _at(event))
        if not digits:
            return value  # '0x' alone is a string, as ruamel reads it
        return int(value.replace("_", ""), 0 if base != 10 else 10)
    if _FLOAT.fullmatch(value):
        lowered = value.lower()
        if "inf" in lowered:
            return float("-inf") if value.startswith("-") else float("inf")
        if "nan" in lowered:
            return float("nan")
        return float(value.replace("_", ""))
    return value


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    return f"{type(value).__name__} {_one_line(repr(value))[:40]}"


def _parse(text: str) -> Any:
    """Build the document from ruamel's event stream, with positions; refuse what the catalog never needs."""
    from ruamel.yaml import YAML
    from ruamel.yaml.events import (
        AliasEvent,
        CollectionStartEvent,
        DocumentStartEvent,
        MappingStartEvent,
        NodeEvent,
        ScalarEvent,
    )

    root: list[Any] = []
    documents = 0
    # Each open collection: (container, the key awaiting its value (mappings), that key's position).
    stack: list[list[Any]] = []

    def add(value: Any, event: Any) -> None:
        if not stack:
            root.append(value)
            return
        frame = stack[-1]
        container = frame[0]
        if isinstance(container, _Seq):
            container.lc.items.append(_at(event))
            container.append(value)
        elif frame[1] is _NO_KEY:
            if not isinstance(value, str):
                raise _Located(
                    f"keys must be strings; this key is {_describe(value)} (quote it if it is a name)", _at(event)
                )
            frame[1], frame[2] = value, _at(event)
        else:
            key = frame[1]
            if key in container:
                raise _Located(
                    "YAML error: while constructing a mapping found duplicate key "
                    f'"{_one_line(key)}" with value "{_short(value)}" (original value: "{_short(container[key])}")',
                    frame[2],
                )
            container[key] = value
            container.lc.keys[key] = frame[2]
            container.lc.values[key] = _at(event)
            frame[1] = _NO_KEY

    for event in YAML(typ="safe", pure=True).parse(text):
        if isinstance(event, DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise _Located("the catalog must be a single YAML document (found another '---')", _at(event))
        if isinstance(event, AliasEvent) or (isinstance(event, NodeEvent) and event.anchor is not None):
            raise _Located("YAML anchors and aliases are not allowed in the catalog", _at(event))
        if isinstance(event, ScalarEvent):
            add(_scalar(event), event)
        elif isinstance(event, CollectionStartEvent):
            if stack and isinstance(stack[-1][0], _Map) and stack[-1][1] is _NO_KEY:
                raise _Located("keys must be strings; this key is a mapping or a list", _at(event))
            if len(stack) >= MAX_DEPTH:
                raise _Located(f"nested more than {MAX_DEPTH} levels deep", _at(event))
            if event.tag is not None and str(event.tag) != "!":
                raise _Located(
                    f"YAML tags are not allowed in the catalog (found '{_one_line(str(event.tag))[:60]}')", _at(event)
                )
            container: _Map | _Seq = _Map() if isinstance(event, MappingStartEvent) else _Seq()
            container.lc = _Positions()
            stack.append([container, _NO_KEY, (0, 0), event])
        elif type(event).__name__ in ("MappingEndEvent", "SequenceEndEvent"):
            container, _, _, start = stack.pop()
            add(container, start)
    return root[0] if root else None


_NO_KEY = object()


def _short(value: Any) -> str:
    text = _one_line(str(_to_plain(value)))
    return text if len(text) <= 80 else text[:77] + "..."


def load_catalog(
    path: str | Path, prefix: str | None = None, *, stage: str | None = None, text: str | None = None
) -> Catalog:
    """Read and validate the catalog. Raises CatalogError listing every located problem.

    `prefix`: --prefix, which wins over the stage's and the catalog's. `stage`: the stage to resolve
    (--stage); None: the catalog's `default_stage` (a catalog with stages and neither is an error; one
    without stages takes no stage). `text`: the catalog's text, already at hand (import checks what it is
    about to write), checked like a file's (size, UTF-8, control characters); `path` then only names it
    in messages."""
    return _load(path, prefix, text, stage, every_stage=False)[0]


def load_every_stage(path: str | Path, prefix: str | None = None, *, text: str | None = None) -> tuple[Catalog, ...]:
    """Every stage resolved, in the catalog's order (one catalog with `stage` None when it declares none);
    every problem of every stage at once (`validate` without --stage)."""
    return _load(path, prefix, text, None, every_stage=True)


def _load(
    path: str | Path, prefix: str | None, given: str | None, stage: str | None, *, every_stage: bool
) -> tuple[Catalog, ...]:
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    path = Path(path)
    shown = str(path)

    def at(position: tuple[int, int] | None) -> str:
        return shown if position is None else f"{shown}:{position[0] + 1}:{position[1] + 1}"

    text = ""
    try:
        text = _read_text(path) if given is None else _checked_text(given)
        document = _parse(text)
    except _Located as exc:
        raise CatalogError([f"{at(exc.position)}: {_one_line(exc.message)}"]) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = at((mark.line, mark.column)) if mark else shown
        reason = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise CatalogError([_one_line(f"{where}: YAML error: {reason}".rstrip())]) from None
    except ReaderError as exc:
        where = at(_line_col(text, min(exc.position, len(text))))
        raise CatalogError([_one_line(f"{where}: YAML error: {exc.reason}")]) from None
    except YAMLError as exc:
        raise CatalogError([_one_line(f"{shown}: YAML error: {exc}")]) from None

    locator = _Locator(document)

    def written_at(p: _Problem) -> Loc:
        """Where the value a problem is about was written: the most specific layer that writes it
        (a stage's table override, the table, the stage's overrides, `defaults`), else where found."""
        loc, rest = p.loc, p.loc[2:]
        if loc[:1] == ("tables",) and rest:
            layers: list[Loc] = [("tables", loc[1]), ("defaults",)]
            if p.stage is not None:
                overrides = ("stages", p.stage, "overrides")
                layers = [(*overrides, "tables", loc[1]), layers[0], overrides, layers[1]]
        elif p.stage is not None and loc[:3] == ("stages", p.stage, "overrides") and loc[3:4] != ("tables",):
            layers, rest = [loc[:3], ("defaults",)], loc[3:]
        else:
            return loc
        return next(((*layer, *rest) for layer in layers if locator.has((*layer, *rest))), loc)

    def located(problems: list[_Problem], resolved: Sequence[str | None] = ()) -> list[str]:
        """Each problem once, in the document's order (by line, then column; equal positions as found).
        Resolving several stages, a problem found in some of them only names them."""
        out: dict[str, tuple[tuple[int, int], list[str | None]]] = {}
        inside: dict[str, bool] = {}  # written inside the stage's own block: the location names it already
        for p in problems:
            loc = written_at(p)
            line, col = locator.find(loc, p.on_key)
            message = f"{shown}:{line + 1}:{col + 1}: {_one_line(p.message)}"
            found = out.setdefault(message, ((line, col), []))[1]
            if p.stage not in found:
                found.append(p.stage)
            inside[message] = inside.get(message, True) and loc[:2] == ("stages", p.stage)
        lines = []
        for message, (_, stages) in sorted(out.items(), key=lambda item: item[1][0]):
            stage_specific = None not in stages and len(stages) < len(resolved) and not inside[message]
            if len(resolved) > 1 and stage_specific:
                names = [s for s in resolved if s in stages]
                message += f" (stage{'s' if len(names) > 1 else ''} {', '.join(str(s) for s in names)})"
            lines.append(message)
        return lines

    if not isinstance(document, Mapping):
        raise CatalogError([f"{shown}:1:1: the catalog must be a mapping with a 'tables' key"]) from None

    plain = _to_plain(document)
    if isinstance(plain.get("stages"), dict):
        # `dev:` with nothing under it is a stage that changes nothing.
        plain["stages"] = {k: {} if v is None else v for k, v in plain["stages"].items()}
    try:
        raw = _RawCatalog.model_validate(plain)
    except ValidationError as exc:
        problems = _pydantic_problems(exc, (), _RawCatalog)
        # Still look inside the tables so every problem is reported in one run.
        tables = plain.get("tables")
        if isinstance(tables, dict):
            problems += _build_specs(tables, {}, prefix or DEFAULT_PREFIX)[1]
            problems += _stage_problems(_lenient(plain, tables), prefix, compare_targets=False)
        raise CatalogError(located(problems)) from None

    if not isinstance(raw.tables, dict) or not raw.tables:
        raise CatalogError(located([_Problem(("tables",), "'tables' must map table names to definitions")]))
    problems = _stage_problems(raw, prefix)
    names: list[str | None] = (list(raw.stages) or [None]) if every_stage else [_chosen_stage(raw, stage, shown)]
    if names == [None] and raw.default_stage is not None and raw.stages:
        raise CatalogError(located(problems))  # default_stage names no stage (a located problem), and no --stage
    catalogs = []
    for name in names:
        catalog, found = _resolve(raw, plain, name, prefix, shown)
        catalogs.append(catalog)
        problems += found
    if problems:
        raise CatalogError(located(problems, names))
    return tuple(c for c in catalogs if c is not None)


def _chosen_stage(raw: _RawCatalog, stage: str | None, shown: str) -> str | None:
    """The stage to resolve: `stage` (--stage), else `default_stage`; None for a catalog without stages.
    A stage that cannot be chosen is one error naming the file and its stages."""
    declared = ", ".join(raw.stages)
    if stage is not None:
        if not raw.stages:
            raise CatalogError(
                [
                    f"{shown}: --stage {_one_line(stage)}: this catalog declares no stages "
                    "(add 'stages:' or leave out --stage and SNAPINFRA_DB_STAGE)"
                ]
            )
        if stage not in raw.stages:
            close = difflib.get_close_matches(stage, list(raw.stages), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise CatalogError([f"{shown}: no stage '{_one_line(stage)}' ({hint}stages: {declared})"])
        return stage
    if not raw.stages:
        return None
    if raw.default_stage is None:
        raise CatalogError(
            [
                f"{shown}: this catalog has stages ({declared}): pass --stage NAME (or set SNAPINFRA_DB_STAGE, "
                "or default_stage in the catalog)"
            ]
        )
    return raw.default_stage if raw.default_stage in raw.stages else None


def _lenient(plain: dict[str, Any], tables: dict[str, Any]) -> _RawCatalog:
    """What of the catalog validated, when some of it did not: every stage named (those that did not
    validate as empty ones), so that their other problems are reported in the same run."""
    stages = plain.get("stages") if isinstance(plain.get("stages"), dict) else {}
    default = plain.get("default_stage")
    return _RawCatalog.model_construct(
        tables=tables,
        stages={name: _lenient_stage(body) for name, body in (stages or {}).items()},
        default_stage=default if isinstance(default, str) else None,
    )


def _lenient_stage(body: Any) -> _RawStage:
    """A stage as written, its wrong values left out."""
    try:
        return _RawStage.model_validate(body)
    except ValidationError:
        pass
    body = body if isinstance(body, dict) else {}

    def text(key: str) -> str | None:
        value = body.get(key)
        return value if isinstance(value, str) else None

    overrides = body.get("overrides")
    tables = overrides.get("tables") if isinstance(overrides, dict) else None
    named = {k: _RawTableOverride.model_construct() for k in tables} if isinstance(tables, dict) else {}
    return _RawStage.model_construct(
        prefix=text("prefix"),
        region=text("region"),
        profile=text("profile"),
        endpoint_url=text("endpoint_url"),
        overrides=_RawOverrides.model_construct(tables=named),
    )


def _stage_problems(raw: _RawCatalog, prefix_option: str | None, *, compare_targets: bool = True) -> list[_Problem]:
    """Every stage's own rules (names, prefix, region, endpoint, the tables its overrides name) and
    default_stage's: checked on every load, whichever stage is resolved. `compare_targets`: also refuse
    two stages that would manage the same tables."""
    problems: list[_Problem] = []
    if raw.default_stage is not None and raw.default_stage not in raw.stages:
        if raw.stages:
            close = difflib.get_close_matches(raw.default_stage, list(raw.stages), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            why = f"default_stage '{raw.default_stage}' is not a stage ({hint}stages: {', '.join(raw.stages)})"
        else:
            why = "default_stage names a stage, and there is no 'stages' mapping"
        problems.append(_Problem(("default_stage",), why))
    targets: dict[tuple[str | None, ...], str] = {}
    for name, stage in raw.stages.items():
        at: Loc = ("stages", name)
        if not STAGE_NAME_RE.match(name):
            problems.append(
                _Problem(
                    at, f"stage name '{name}' must be 1-64 characters of A-Z a-z 0-9 _ -, first a letter or digit", True
                )
            )
        if stage.prefix is not None and not PREFIX_RE.match(stage.prefix):
            problems.append(
                _Problem(
                    (*at, "prefix"), f"prefix '{stage.prefix}' may use only A-Z a-z 0-9 _ . - (it begins table names)"
                )
            )
        if stage.endpoint_url is not None:
            parsed = urlparse(stage.endpoint_url)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                problems.append(
                    _Problem(
                        (*at, "endpoint_url"),
                        f"endpoint_url '{stage.endpoint_url}' is not an http(s) URL (e.g. http://localhost:8000)",
                    )
                )
        if stage.region is not None and not (ANY_REGION_RE if stage.endpoint_url else REGION_RE).match(stage.region):
            problems.append(_Problem((*at, "region"), f"region '{stage.region}' is not an AWS region (e.g. us-east-1)"))
        for key in stage.overrides.tables:
            if key not in raw.tables:
                close = difflib.get_close_matches(key, list(raw.tables), n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"tables: {', '.join(raw.tables)}"
                problems.append(
                    _Problem((*at, "overrides", "tables", key), f"no table '{key}' in the catalog ({hint})", True)
                )
        if compare_targets and prefix_option is None:
            target = (
                stage.prefix if stage.prefix is not None else raw.prefix,
                stage.region,
                stage.profile,
                stage.endpoint_url,
            )
            if target in targets:
                problems.append(
                    _Problem(
                        at,
                        f"stage '{name}' has the prefix, region, profile and endpoint of stage '{targets[target]}': "
                        "both would manage the same tables",
                        True,
                    )
                )
            targets.setdefault(target, name)
    return problems


def _resolve(
    raw: _RawCatalog, plain: dict[str, Any], name: str | None, prefix_option: str | None, shown: str
) -> tuple[Catalog | None, list[_Problem]]:
    """The catalog as stage `name` (None: no stage) has it: its prefix, its overrides merged in layers."""
    defaults: dict[str, Any] = plain.get("defaults") or {}
    stage = raw.stages[name] if name is not None else None
    overrides: dict[str, Any] = dict(plain["stages"][name].get("overrides") or {}) if name is not None else {}
    per_table: dict[str, Any] = overrides.pop("tables", None) or {}
    problems: list[_Problem] = []
    settings = raw.defaults
    if overrides:
        staged = _deep_merge(defaults, overrides)
        try:
            settings = TableSettings.model_validate(staged)
            defaults = staged
        except ValidationError as exc:
            # Reported where the stage (or defaults) wrote it; the tables are checked without it.
            problems += _pydantic_problems(exc, ("stages", str(name), "overrides"), TableSettings)
    if stage is not None and prefix_option is None and stage.prefix is not None:
        effective_prefix = stage.prefix
    else:
        effective_prefix = raw.prefix if prefix_option is None else prefix_option
    specs, found = _build_specs(raw.tables, defaults, effective_prefix, per_table)
    problems += found + _semantic_problems(raw, specs)  # on the tables that validated: all problems at once
    for p in problems:
        p.stage = name
    if problems:
        return None, problems
    return Catalog(
        path=shown,
        prefix=effective_prefix,
        tables=tuple(s for _, s in specs),
        legacy=tuple(raw.legacy),
        defaults=settings,
        stage=None
        if stage is None or name is None
        else Stage(name=name, region=stage.region, profile=stage.profile, endpoint_url=stage.endpoint_url),
        stages=tuple(raw.stages),
        manages_alarms=_declares_alarms(plain),
    ), []


def _declares_alarms(plain: dict[str, Any]) -> bool:
    """Whether `alarms` is written anywhere: defaults, a table, a stage's overrides or overrides.tables."""

    def has(body: Any) -> bool:
        return isinstance(body, dict) and "alarms" in body

    places: list[Any] = [plain.get("defaults"), *(plain.get("tables") or {}).values()]
    for stage in (plain.get("stages") or {}).values():
        overrides = stage.get("overrides") if isinstance(stage, dict) else None
        places.append(overrides)
        if isinstance(overrides, dict) and isinstance(overrides.get("tables"), dict):
            places.extend(overrides["tables"].values())
    return any(has(place) for place in places)


def _build_specs(
    tables: dict[str, Any], defaults: dict[str, Any], prefix: str, overrides: Mapping[str, Any] | None = None
) -> tuple[list[tuple[str, TableSpec]], list[_Problem]]:
    """Each table: `defaults`, then the table's own settings, then its stage override (`overrides[key]`)."""
    specs: list[tuple[str, TableSpec]] = []
    problems: list[_Problem] = []
    for key, body in tables.items():
        at: Loc = ("tables", key)
        if not isinstance(body, dict):
            problems.append(_Problem(at, f"table '{key}' must be a mapping with at least 'partition_key'"))
            continue
        reserved = [k for k in ("key", "name") if k in body]
        for k in reserved:
            problems.append(
                _Problem(
                    (*at, k),
                    f"unknown key '{k}' (a table's name is its key under 'tables' plus the prefix)",
                    True,
                )
            )
        if reserved:
            continue
        merged = _deep_merge(defaults, body)
        if overrides and isinstance(overrides.get(key), dict):
            merged = _deep_merge(merged, overrides[key])
        merged.update(key=key, name=f"{prefix}{key}", env=body.get("env") or _default_env(str(key)))
        try:
            specs.append((key, TableSpec.model_validate(merged)))
        except ValidationError as exc:
            # A merged value is wrong: point at the table if it set it, else at defaults.
            problems += _pydantic_problems(exc, at, TableSpec)
    return specs, problems
