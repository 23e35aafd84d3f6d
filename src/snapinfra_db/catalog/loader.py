"""Loading tables.yaml: YAML with positions, validation into the catalog's models, located problems.

Every problem is reported as ``FILE:LINE:COL: message``, all of them at once. Per-table settings are
the catalog's ``defaults`` deep-merged with the table's own; a problem in a merged setting points at
the line that set it, in the table or in ``defaults``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from snapinfra_db.catalog.models import (
    DEFAULT_PREFIX,
    ENV_RE,
    MAX_GSIS,
    MAX_LSIS,
    MAX_PROJECTED_ATTRIBUTES,
    NAME_RE,
    Capacity,
    Catalog,
    KeyAttribute,
    Model,
    TableSettings,
    TableSpec,
)
from snapinfra_db.errors import CatalogError

# ---------------------------------------------------------------------------------------------
# Raw YAML-facing shapes: validated first, so that unknown keys and bad values are located
# exactly where the user wrote them.


class _RawCatalog(Model):
    prefix: str = DEFAULT_PREFIX
    defaults: TableSettings = TableSettings()
    legacy: list[str] = Field(default_factory=list)
    tables: dict[str, Any]  # each validated on its own, after merging with defaults


Loc = tuple[str | int, ...]


@dataclass
class _Problem:
    loc: Loc
    message: str
    on_key: bool = False  # point at the key itself rather than its value


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


def load_catalog(path: str | Path, prefix: str | None = None) -> Catalog:
    """Read and validate the catalog. Raises CatalogError listing every located problem."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    path = Path(path)
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogError([f"{shown}: catalog not found (pass --catalog PATH or set SNAPINFRA_DB_CATALOG)"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError([f"{shown}: cannot read catalog: {exc}"]) from None

    yaml = YAML(typ="rt")
    try:
        document = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{shown}:{mark.line + 1}:{mark.column + 1}" if mark else shown
        reason = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise CatalogError([f"{where}: YAML error: {reason}".rstrip()]) from None
    except YAMLError as exc:
        raise CatalogError([f"{shown}: YAML error: {exc}"]) from None

    locator = _Locator(document)

    def located(problems: list[_Problem]) -> list[str]:
        """Each problem once, in the document's order (by line, then column; equal positions as found)."""
        out: dict[str, tuple[int, int]] = {}
        for p in problems:
            loc = p.loc
            # A merged setting the table does not write itself came from `defaults`: point there.
            if loc[:1] == ("tables",) and not locator.has(loc) and locator.has(("defaults", *loc[2:])):
                loc = ("defaults", *loc[2:])
            line, col = locator.find(loc, p.on_key)
            out.setdefault(f"{shown}:{line + 1}:{col + 1}: {p.message}", (line, col))
        return sorted(out, key=out.__getitem__)

    if not isinstance(document, Mapping):
        raise CatalogError([f"{shown}:1:1: the catalog must be a mapping with a 'tables' key"]) from None

    plain = _to_plain(document)
    try:
        raw = _RawCatalog.model_validate(plain)
    except ValidationError as exc:
        problems = _pydantic_problems(exc, (), _RawCatalog)
        # Still look inside the tables so every problem is reported in one run.
        tables = plain.get("tables")
        if isinstance(tables, dict):
            problems += _build_specs(tables, {}, prefix or DEFAULT_PREFIX)[1]
        raise CatalogError(located(problems)) from None

    effective_prefix = raw.prefix if prefix is None else prefix
    defaults = plain.get("defaults") or {}
    if not isinstance(raw.tables, dict) or not raw.tables:
        raise CatalogError(located([_Problem(("tables",), "'tables' must map table names to definitions")]))
    specs, problems = _build_specs(raw.tables, defaults, effective_prefix)
    problems += _semantic_problems(raw, specs)  # on the tables that validated: all problems at once
    if problems:
        raise CatalogError(located(problems))
    return Catalog(path=shown, prefix=effective_prefix, tables=tuple(s for _, s in specs), legacy=tuple(raw.legacy))


def _build_specs(
    tables: dict[str, Any], defaults: dict[str, Any], prefix: str
) -> tuple[list[tuple[str, TableSpec]], list[_Problem]]:
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
        merged.update(key=key, name=f"{prefix}{key}", env=body.get("env") or _default_env(str(key)))
        try:
            specs.append((key, TableSpec.model_validate(merged)))
        except ValidationError as exc:
            # A merged value is wrong: point at the table if it set it, else at defaults.
            problems += _pydantic_problems(exc, at, TableSpec)
    return specs, problems
