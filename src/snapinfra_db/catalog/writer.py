"""Writing tables.yaml: catalog entries as the catalog's own YAML, a new catalog, or entries merged
into an existing one with ruamel's round trip (its comments, order and layout kept).

Pure: text in, text out. The style is the shipped catalog's: block mappings, a blank line between
tables, an index or a changed setting on one line in flow style (`billing: {mode: PROVISIONED, read:
10, write: 5}`), key attributes as a bare name when their type is S. What equals the catalog's
`defaults` (or the built-in defaults) is left out, so an entry holds only what is particular to the
table; a setting that differs is written from its first field (the mode, type, or on/off) on, with
what differs after it, and `null` where `defaults` sets a field this table must not have.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from snapinfra_db.catalog.loader import _default_env
from snapinfra_db.catalog.models import GlobalIndex, KeyAttribute, LocalIndex, Projection, TableSettings, TableSpec

if TYPE_CHECKING:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

# The fields of each nested setting in the order they are written; the first is always written.
SETTING_FIELDS: dict[str, tuple[str, ...]] = {
    "billing": ("mode", "read", "write", "max_read", "max_write"),
    "point_in_time_recovery": ("enabled", "recovery_period_days"),
    "encryption": ("type", "kms_key"),
    "stream": ("enabled", "view_type"),
}
SCALAR_SETTINGS = ("deletion_protection", "table_class")
CAPACITY_FIELDS = ("read", "write", "max_read", "max_write")

# The shipped catalog's indentation: mappings by 2, list items as "  - x" under their key.
MAPPING_INDENT, SEQUENCE_INDENT, SEQUENCE_OFFSET = 2, 4, 2


def default_env(key: str) -> str:
    """The backend's variable a table gets when the catalog names none: DYNAMODB_<KEY>_TABLE."""
    return _default_env(key)


def _map(pairs: Mapping[str, Any] | None = None, *, flow: bool = False) -> CommentedMap:
    from ruamel.yaml.comments import CommentedMap

    node = CommentedMap(pairs or {})
    if flow:
        node.fa.set_flow_style()
    return node


def _flow_list(items: list[str]) -> Any:
    from ruamel.yaml.comments import CommentedSeq

    node = CommentedSeq(items)
    node.fa.set_flow_style()
    return node


def _key(attr: KeyAttribute) -> Any:
    return attr.name if attr.type in ("S", None) else _map({"name": attr.name, "type": attr.type}, flow=True)


def _projection(projection: Projection) -> Any:
    if projection.type != "INCLUDE":
        return projection.type
    return _map({"type": "INCLUDE", "attributes": _flow_list(list(projection.attributes))}, flow=True)


def _global_index(index: GlobalIndex) -> CommentedMap:
    node = _map({"partition_key": _key(index.partition_key)}, flow=True)
    if index.sort_key is not None:
        node["sort_key"] = _key(index.sort_key)
    if index.projection != Projection():
        node["projection"] = _projection(index.projection)
    for field in CAPACITY_FIELDS:
        value = getattr(index, field)
        if value is not None:
            node[field] = value
    return node


def _local_index(index: LocalIndex) -> CommentedMap:
    node = _map({"sort_key": _key(index.sort_key)}, flow=True)
    if index.projection != Projection():
        node["projection"] = _projection(index.projection)
    return node


def _setting(name: str, want: BaseModel, base: BaseModel) -> CommentedMap | None:
    """`want` as the table writes it over `base` (deep-merged by the loader); None when equal."""
    if want == base:
        return None
    head, *rest = SETTING_FIELDS[name]
    node = _map({head: getattr(want, head)}, flow=True)
    for field in rest:
        value = getattr(want, field)
        if value != getattr(base, field):
            node[field] = value  # None: `null`, unsetting what `defaults` sets
    return node


def table_entry(spec: TableSpec, defaults: TableSettings) -> CommentedMap:
    """A table's entry under `tables:`, leaving out what equals `defaults`."""
    node = _map()
    if spec.env != default_env(spec.key):
        node["env"] = spec.env
    node["partition_key"] = _key(spec.partition_key)
    if spec.sort_key is not None:
        node["sort_key"] = _key(spec.sort_key)
    if spec.ttl:
        node["ttl"] = spec.ttl
    if spec.global_indexes:
        node["global_indexes"] = _map({n: _global_index(i) for n, i in spec.global_indexes.items()})
    if spec.local_indexes:
        node["local_indexes"] = _map({n: _local_index(i) for n, i in spec.local_indexes.items()})
    for name in SETTING_FIELDS:
        setting = _setting(name, getattr(spec, name), getattr(defaults, name))
        if setting is not None:
            node[name] = setting
    for name in SCALAR_SETTINGS:
        if getattr(spec, name) != getattr(defaults, name):
            node[name] = getattr(spec, name)
    # Tags add up with the defaults' tags: only the table's own, or the ones whose value differs.
    tags = {k: v for k, v in sorted(spec.tags.items()) if defaults.tags.get(k) != v}
    if tags:
        node["tags"] = _map(tags, flow=True)
    return node


def defaults_block(defaults: TableSettings) -> CommentedMap:
    """`defaults:` written out in full, in block style."""
    node = _map()
    for name, fields in SETTING_FIELDS.items():
        setting = getattr(defaults, name)
        node[name] = _map({f: getattr(setting, f) for f in fields if getattr(setting, f) is not None})
    for name in SCALAR_SETTINGS:
        node[name] = getattr(defaults, name)
    if defaults.tags:
        node["tags"] = _map(defaults.tags)
    return node


def _yaml(mapping: int = MAPPING_INDENT, sequence: int = SEQUENCE_INDENT, offset: int = SEQUENCE_OFFSET) -> YAML:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt", pure=True)
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long line (an ARN, a comment) the catalog's author wrote on one
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _dump(yaml: YAML, document: Any) -> str:
    stream = io.StringIO()
    yaml.dump(document, stream)
    return stream.getvalue()


def new_catalog(
    entries: Mapping[str, CommentedMap], prefix: str, defaults: TableSettings | None, header: str = ""
) -> str:
    """A whole catalog: `prefix`, `defaults` (written out when given) and `tables`."""
    document = _map({"prefix": prefix})
    if header:
        document.yaml_set_start_comment(header)
    if defaults is not None:
        document["defaults"] = defaults_block(defaults)
        document.yaml_set_comment_before_after_key("defaults", before="\n")
    tables = _map()
    for number, (key, entry) in enumerate(entries.items()):
        tables[key] = entry
        if number:
            tables.yaml_set_comment_before_after_key(key, before="\n")
    document["tables"] = tables
    document.yaml_set_comment_before_after_key("tables", before="\n")
    return _dump(_yaml(), document)


# --------------------------------------------------------------------------- merging


def _mapping_indent(text: str) -> int:
    """The indentation of the first nested mapping key (the shipped catalog's 2, or the author's own)."""
    for line in text.splitlines():
        match = re.match(r"^( +)[^\s#\-][^:]*:(\s|$)", line)
        if match:
            return len(match.group(1))
    return MAPPING_INDENT


def _round_trip(text: str) -> tuple[YAML, Any]:
    """ruamel's round-trip reader and writer for `text`, its indentation detected, and the document."""
    from ruamel.yaml.util import load_yaml_guess_indent

    _, sequence, offset = load_yaml_guess_indent(text)
    yaml = _yaml(_mapping_indent(text), sequence or SEQUENCE_INDENT, SEQUENCE_OFFSET if offset is None else offset)
    return yaml, yaml.load(text)


def keeps_layout(text: str) -> bool:
    """Whether ruamel's round trip gives `text` back unchanged (else add_tables re-lays out some of it:
    an unusual indentation, a quoting style)."""
    yaml, document = _round_trip(text)
    return _dump(yaml, document) == text


def _trailing_slot(node: Any) -> tuple[Any, Any, int] | None:
    """Where ruamel keeps what follows `node` in the text (blank lines, the next table's comments):
    the comment slot of its last line, as (collection, key or index, position in the slot)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    while True:
        if isinstance(node, CommentedMap) and len(node):
            last = list(node)[-1]
            value = node[last]
            if isinstance(value, CommentedMap | CommentedSeq) and len(value) and not value.fa.flow_style():
                node = value
                continue
            return node, last, 2
        if isinstance(node, CommentedSeq) and len(node):
            value = node[-1]
            if isinstance(value, CommentedMap | CommentedSeq) and len(value) and not value.fa.flow_style():
                node = value
                continue
            return node, len(node) - 1, 0
        return None


def _trailing(node: Any) -> Any:
    slot = _trailing_slot(node)
    if slot is None:
        return None
    container, key, position = slot
    return (container.ca.items.get(key) or [None] * 4)[position]


def _detach_trailing(node: Any) -> str:
    """Cut what follows `node`'s last line in the text (blank lines, comments: what introduces the next
    table or section) off `node`, and return it; the last line's own end-of-line comment stays."""
    slot = _trailing_slot(node)
    token = _trailing(node)
    if slot is None or token is None:
        return ""
    value = str(token.value)
    cut = value.find("\n")
    if cut < 0 or cut == len(value) - 1:
        return ""
    head, rest = value[: cut + 1], value[cut + 1 :]
    container, key, position = slot
    if head.startswith("#"):
        token.value = head
    else:
        container.ca.items[key][position] = None
    return rest


def _attach_trailing(node: Any, rest: str) -> None:
    """Put `rest` (from _detach_trailing) after `node`'s last line."""
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    slot = _trailing_slot(node)
    if not rest or slot is None:
        return
    container, key, position = slot
    container.ca.items.setdefault(key, [None, None, None, None])[position] = CommentToken(
        "\n" + rest, CommentMark(0), None
    )


def _separated(tables: Any, lines: list[str]) -> bool:
    """Whether the catalog separates its tables with a blank line (the shipped style; the default):
    told by what stands between its first two tables, comments aside."""
    keys = list(tables)
    if len(keys) < 2:
        return True
    line = tables.lc.key(keys[1])[0] - 1
    while line >= 0 and lines[line].lstrip().startswith("#"):
        line -= 1
    return line >= 0 and not lines[line].strip()


def add_tables(text: str, entries: Mapping[str, CommentedMap]) -> str:
    """`text` (a catalog) with `entries` under `tables:`: a new key at the end, in the catalog's style
    (a blank line before it when the catalog separates its tables so); a key already there is
    replaced where it stands. Everything else, comments included, stays as written: what followed the
    last table (or the replaced one) in the text, such as the comment before the next section, follows
    the new last table (or the replacement)."""
    yaml, document = _round_trip(text)
    tables = document["tables"]
    separated = _separated(tables, text.splitlines())
    for key, entry in entries.items():
        if key in tables:
            old = tables[key]
            rest = _detach_trailing(old)
            tables[key] = entry
            if getattr(old, "ca", None) is not None and old.ca.comment is not None:
                entry.ca.comment = old.ca.comment  # between the key and the entry's first line
            _attach_trailing(entry, rest)
            continue
        previous = list(tables)[-1] if len(tables) else None
        rest = _detach_trailing(tables[previous]) if previous is not None else ""
        tables[key] = entry
        if separated and previous is not None:
            tables.yaml_set_comment_before_after_key(key, before="\n")
        _attach_trailing(entry, rest)
    return _dump(yaml, document)
