"""Orphans: tables this tool manages that the catalog no longer names.

A table is an orphan when its name starts with the catalog's prefix, it is neither a catalog table
nor a `legacy` one, and it carries the catalog's ManagedBy tag (the tag every catalog table gets,
normally from `defaults.tags`). Two fallbacks, each said in `OrphanSearch.rule`:

* the catalog names no ManagedBy tag: the prefix alone decides;
* the endpoint has no tags (DynamoDB Local answers ListTagsOfResource with UnknownOperationException,
  or apply learnt that it drops them): the prefix alone decides.

With an empty prefix and no tag to go by nothing is listed: every table of the account would match.

A table whose name is another prefix (itself starting with the catalog's) followed by a catalog key,
such as `snapinfra-staging-projects` next to the `snapinfra-` catalog, is this catalog deployed under
another `--prefix`: it is not listed, only counted (`OrphanSearch.other_prefixes`), so that `apply
--prune` on one environment never offers to delete another's tables.

Pure data and calls: ListTables (paginated), then per candidate DescribeTable (for the ARN and the
status; a DELETING table is not listed) and ListTagsOfResource, concurrently. Nothing prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from snapinfra_db.errors import error_code
from snapinfra_db.reconcile.live import UNSUPPORTED_CODES, describe, is_unimplemented, list_table_names, list_tags
from snapinfra_db.waiting import reading_pool

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from snapinfra_db.catalog import Catalog

Rule = Literal["tag", "prefix", "none"]
DENIED = ("AccessDeniedException", "AccessDenied")
_MANAGED_BY = re.compile(r"managed[-_ .]?by", re.IGNORECASE)


@dataclass(frozen=True)
class Orphan:
    table: str
    reason: str  # "tag ManagedBy=snapinfra-db" or "prefix"

    def to_json(self) -> dict[str, str]:
        return {"table": self.table, "reason": self.reason}


@dataclass(frozen=True)
class OrphanSearch:
    """What the search found and which rule it used."""

    orphans: tuple[Orphan, ...]
    rule: Rule
    prefix: str
    tag: tuple[str, str] | None = None  # the catalog's ManagedBy tag (key, value), if it has one
    # Why the prefix decided rather than the tag ("the catalog names no ManagedBy tag", "this endpoint has no tags").
    why_prefix: str | None = None
    # Tables that look like this catalog under a longer prefix (another environment): never listed.
    other_prefixes: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [o.table for o in self.orphans]


def managed_by_tag(catalog: Catalog) -> tuple[str, str] | None:
    """The ManagedBy-like tag (key, value) that every catalog table carries, or None."""
    common: dict[str, str] | None = None
    for table in catalog.tables:
        tags = {k: v for k, v in table.tags.items() if _MANAGED_BY.fullmatch(k)}
        common = tags if common is None else {k: v for k, v in common.items() if tags.get(k) == v}
    if not common:
        return None
    key = sorted(common)[0]
    return key, common[key]


def other_prefix(name: str, catalog: Catalog) -> str | None:
    """The longer prefix under which `name` is a catalog table (`snapinfra-staging-` for
    `snapinfra-staging-projects`), or None."""
    for table in catalog.tables:
        head = name[: -len(table.key)] if name.endswith(table.key) else None
        if head and head != catalog.prefix and head.startswith(catalog.prefix) and head[-1] in "-_.":
            return head
    return None


def find_orphans(
    client: DynamoDBClient, catalog: Catalog, *, parallelism: int = 10, tags_unsupported: bool = False
) -> OrphanSearch:
    """The tables the catalog's tag (or prefix) claims that the catalog does not name.

    `tags_unsupported`: the endpoint is already known not to keep tags (learnt by apply)."""
    prefix = catalog.prefix
    tag = managed_by_tag(catalog)
    no_tags = tags_unsupported or is_unimplemented(client, "ListTagsOfResource")
    why = "the catalog names no ManagedBy tag" if tag is None else "this endpoint has no tags" if no_tags else None
    if why is not None and not prefix:
        # The prefix alone would claim every table on the endpoint.
        return OrphanSearch((), "none", prefix, tag, why_prefix=f"{why} and the catalog has no prefix")
    known = {t.name for t in catalog.tables} | set(catalog.legacy)
    candidates: list[str] = []
    others: list[str] = []
    try:
        listed = list_table_names(client)
    except Exception as exc:
        if error_code(exc) not in DENIED:
            raise
        # A role allowed the catalog's tables only: plan and health still work, without this part.
        return OrphanSearch((), "none", prefix, tag, why_prefix=f"ListTables was refused ({error_code(exc)})")
    for name in sorted(listed):
        if not name.startswith(prefix) or name in known:
            continue
        (others if other_prefix(name, catalog) else candidates).append(name)
    if why is not None or tag is None:
        return _by_prefix(client, candidates, others, prefix, tag, why or "", parallelism)

    def tagged(name: str) -> bool | None:
        """Whether `name` carries the tag; None when the endpoint has no tags. A table this role may not
        read is not claimed (nothing proves it is ours)."""
        try:
            description = describe(client, name)
            if description is None or description.get("TableStatus") == "DELETING":
                return False
            return list_tags(client, description["TableArn"]).get(tag[0]) == tag[1]
        except Exception as exc:
            if error_code(exc) in UNSUPPORTED_CODES:
                return None
            if error_code(exc) in ("ResourceNotFoundException", *DENIED):
                return False
            raise

    with reading_pool(min(len(candidates), parallelism)) as pool:
        answers = dict(zip(candidates, pool.map(tagged, candidates), strict=True))
    if any(a is None for a in answers.values()):
        if not prefix:
            return OrphanSearch(
                (), "none", prefix, tag, why_prefix="this endpoint has no tags and the catalog has no prefix"
            )
        return _by_prefix(client, candidates, others, prefix, tag, "this endpoint has no tags", parallelism)
    reason = f"tag {tag[0]}={tag[1]}"
    return OrphanSearch(
        tuple(Orphan(n, reason) for n in candidates if answers[n]),
        "tag",
        prefix,
        tag,
        other_prefixes=tuple(others),
    )


def _by_prefix(
    client: DynamoDBClient,
    candidates: list[str],
    others: list[str],
    prefix: str,
    tag: tuple[str, str] | None,
    why: str,
    parallelism: int,
) -> OrphanSearch:
    def present(name: str) -> bool:
        try:
            description = describe(client, name)
        except Exception as exc:
            if error_code(exc) in DENIED:
                return False
            raise
        return description is not None and description.get("TableStatus") != "DELETING"

    with reading_pool(min(len(candidates), parallelism)) as pool:
        kept = [n for n, ok in zip(candidates, pool.map(present, candidates), strict=True) if ok]
    return OrphanSearch(
        tuple(Orphan(n, "prefix") for n in kept), "prefix", prefix, tag, why_prefix=why, other_prefixes=tuple(others)
    )
