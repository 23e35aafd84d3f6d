"""`migrate --map FILE`: a small declarative mapping from SOURCE's items to TARGET's, applied to
DynamoDB-JSON items (the low-level client's dicts). Pure: no AWS, no printing.

```yaml
rename: {userId: ownerId}                # attribute → new name
defaults: {status: active, version: 1}   # set when absent (YAML values: str → S, int/float → N, bool → BOOL,
                                         # null → NULL, list → L, mapping → M)
derive:                                  # computed from the item (after rename and defaults)
  pk: "{ownerId}#{id}"                   # a format string: S
  rank: {format: "{score}", type: N}     # or with the type, S or N
drop: [legacyField]                      # removed last (a derived attribute may use it first)
overwrite_derived: false                 # true: derive replaces an attribute the item already has
```

Order: rename, defaults, derive, drop. A format string reads scalar attributes (S, N, BOOL) by
their name after rename; a missing or non-scalar one rejects the item with the reason. An item
without every key attribute of TARGET (or with one of another type) is rejected too: nothing is
ever silently dropped. Unknown keys are errors, located ``file:line:col``.
"""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Mapping as AbcMapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from snapinfra_db.errors import SnapinfraError

Item = dict[str, Any]


class MappingError(SnapinfraError):
    """The mapping file is unreadable or invalid; one located line per problem."""


class Rejected(Exception):
    """An item that cannot be mapped; `str()` is the reason written to the reject file."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Derived(_Model):
    format: str
    type: Literal["S", "N"] = "S"

    @field_validator("format")
    @classmethod
    def _fields_named(cls, value: str) -> str:
        fields = _format_fields(value)
        if not fields:
            raise ValueError("a format string names at least one attribute, e.g. '{userId}#{id}'")
        return value


def _format_fields(text: str) -> list[str]:
    """The attribute names a format string reads: `{name}` only (no indexing, no conversions)."""
    names: list[str] = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(f"not a format string: {exc}") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name or conversion or spec or any(c in name for c in ".[]"):
            raise ValueError(f"'{{{name}}}': write attribute names only, as in '{{userId}}#{{id}}'")
        names.append(name)
    return names


class ItemMapping(_Model):
    rename: dict[str, str] = Field(default_factory=dict)
    defaults: dict[str, Any] = Field(default_factory=dict)
    derive: dict[str, Derived] = Field(default_factory=dict)
    drop: list[str] = Field(default_factory=list)
    overwrite_derived: bool = False

    @field_validator("derive", mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        if isinstance(value, AbcMapping):
            return {k: {"format": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("defaults")
    @classmethod
    def _values(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name, default in value.items():
            to_attribute(default, name)
        return value

    def digest(self) -> str:
        """What identifies this mapping in a checkpoint: a resumed copy must map as the first run did."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # -- applying ----------------------------------------------------------------------------

    def apply(self, item: Item, keys: dict[str, str]) -> Item:
        """`item` mapped; `keys` is TARGET's key attributes and their types. Raises Rejected."""
        out = dict(item)
        for old, new in self.rename.items():
            if old in out:
                if new in out and new not in self.rename:
                    raise Rejected(f"rename {old} → {new}: the item already has {new}")
                out[new] = out.pop(old)
        for name, default in self.defaults.items():
            out.setdefault(name, to_attribute(default, name))
        for name, derived in self.derive.items():
            if name in out and not self.overwrite_derived:
                continue
            out[name] = self._derive(name, derived, out)
        for name in self.drop:
            out.pop(name, None)
        return checked_keys(out, keys)

    @staticmethod
    def _derive(name: str, derived: Derived, item: Item) -> dict[str, Any]:
        values: dict[str, str] = {}
        for field in _format_fields(derived.format):
            if field not in item:
                raise Rejected(f"derive {name}: attribute {field} is missing")
            values[field] = _scalar_text(item[field], f"derive {name}: attribute {field}")
        text = derived.format.format(**values)
        if derived.type == "N":
            try:
                Decimal(text)
            except InvalidOperation:
                raise Rejected(f"derive {name}: '{text[:60]}' is not a number") from None
            return {"N": text}
        return {"S": text}


IDENTITY = ItemMapping()


def checked_keys(item: Item, keys: dict[str, str]) -> Item:
    """`item` if it has every key attribute with its type (and a non-empty S/B value); else Rejected."""
    for name, kind in keys.items():
        value = item.get(name)
        if value is None:
            raise Rejected(f"missing key attribute {name}")
        ((have, inner),) = value.items()
        if have != kind:
            raise Rejected(f"key attribute {name} is {have}, TARGET's key is {kind}")
        if kind in ("S", "B") and not inner:
            raise Rejected(f"key attribute {name} is empty")
    return item


def key_of(item: Item, keys: dict[str, str]) -> Item:
    return {name: item[name] for name in keys}


def _scalar_text(value: dict[str, Any], what: str) -> str:
    ((kind, inner),) = value.items()
    if kind in ("S", "N"):
        return str(inner)
    if kind == "BOOL":
        return "true" if inner else "false"
    raise Rejected(f"{what} is {kind}: a format string reads S, N or BOOL")


def to_attribute(value: Any, name: str = "value") -> dict[str, Any]:
    """A YAML value → a DynamoDB attribute value."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        if (isinstance(value, float) and value != value) or value in (float("inf"), float("-inf")):
            raise ValueError(f"{name}: DynamoDB numbers are finite")
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list):
        return {"L": [to_attribute(v, name) for v in value]}
    if isinstance(value, dict):
        return {"M": {str(k): to_attribute(v, name) for k, v in value.items()}}
    raise ValueError(f"{name}: cannot store {type(value).__name__}")


# -- comparing items (migrate --verify) ------------------------------------------------------------


def canonical(value: Any) -> Any:
    """An attribute value in a form that compares as DynamoDB does: numbers by value, sets unordered."""
    if isinstance(value, dict) and len(value) == 1:
        ((kind, inner),) = value.items()
        if kind == "N":
            return ["N", _number(inner)]
        if kind == "NS":
            return ["NS", sorted(_number(n) for n in inner)]
        if kind in ("SS",):
            return ["SS", sorted(inner)]
        if kind == "BS":
            return ["BS", sorted(bytes(b).hex() for b in inner)]
        if kind == "B":
            return ["B", bytes(inner).hex()]
        if kind == "L":
            return ["L", [canonical(v) for v in inner]]
        if kind == "M":
            return ["M", {k: canonical(v) for k, v in sorted(inner.items())}]
        return [kind, inner]
    return value


def _number(text: str) -> str:
    try:
        number = Decimal(text).normalize()
    except InvalidOperation:
        return text
    return "0" if number == 0 else format(number, "f") if abs(number.adjusted()) < 30 else str(number)


def item_digest(item: Item) -> str:
    text = json.dumps({k: canonical(v) for k, v in sorted(item.items())}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def key_text(key: Item) -> str:
    """A key as one short readable string, for sets and messages: `id=abc, ts=3`."""
    return ", ".join(f"{k}={canonical(v)[1]}" for k, v in sorted(key.items()))


# -- the file --------------------------------------------------------------------------------------


def load_mapping(path: Path) -> ItemMapping:
    """Read and validate a mapping file; MappingError lists every problem as `file:line:col: message`."""
    from snapinfra_db.catalog.loader import _Located, _Locator, _parse  # the catalog's YAML, with positions

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise MappingError(f"{path}: not UTF-8 text") from None
    try:
        document = _parse(text)
    except _Located as exc:
        line, col = exc.args[1] if len(exc.args) > 1 else (0, 0)
        raise MappingError(f"{path}:{line + 1}:{col + 1}: {exc.args[0]}") from None
    except Exception as exc:  # ruamel's own syntax errors, located by its mark
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
        raise MappingError(f"{path}{where}: YAML error: {problem}") from None
    if document is None:
        return IDENTITY
    if not isinstance(document, dict):
        raise MappingError(f"{path}:1:1: a mapping file is a YAML mapping (rename, defaults, derive, drop)")
    try:
        return ItemMapping.model_validate(_plain(document))
    except ValidationError as exc:
        locator = _Locator(document)
        problems = []
        for error in exc.errors():
            loc = tuple(p for p in error["loc"] if p not in ("format",) or len(error["loc"]) < 3)
            line, col = locator.find(loc, on_key=error["type"] == "extra_forbidden")
            where = ".".join(str(p) for p in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown key (known: rename, defaults, derive, drop, overwrite_derived)"
            problems.append(f"{path}:{line + 1}:{col + 1}: {where}: {message}")
        raise MappingError("\n".join(problems)) from None


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node
