"""What an endpoint turned out not to apply, remembered per endpoint URL in the user's state folder.

Some DynamoDB-compatible endpoints accept a setting and silently do not apply it (moto ignores
SSESpecification on UpdateTable; others drop Tags, DeletionProtectionEnabled, StreamSpecification,
SSE or TTL). apply observes each call's effect; when it never shows, the setting is recorded here so
that the next plan reports it as "not supported by this endpoint" instead of planning it forever.

This is a record of an endpoint's behaviour, not of any table's state: no table is ever planned from
it. Against AWS itself (no endpoint URL) nothing is recorded or assumed. Deleting the file makes the
tool find out again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from snapinfra_db.catalog import Setting
from snapinfra_db.dirs import state_dir, write_private


def record_path(endpoint_url: str) -> Path:
    digest = hashlib.sha256(endpoint_url.rstrip("/").encode()).hexdigest()[:16]
    return state_dir() / "endpoints" / f"{digest}.json"


def not_applied(endpoint_url: str | None) -> frozenset[Setting]:
    """The settings `endpoint_url` is known to accept and not apply (none for AWS itself)."""
    if not endpoint_url:
        return frozenset()
    try:
        document = json.loads(record_path(endpoint_url).read_text(encoding="utf-8"))
        return frozenset(Setting(name) for name in document.get("not_applied", {}))
    except (OSError, ValueError, TypeError, AttributeError):
        return frozenset()  # no record (or an unreadable one): assume nothing


def remember_not_applied(endpoint_url: str | None, learnt: dict[Setting, str]) -> Path | None:
    """Add `learnt` (setting → the table it was seen on) to the endpoint's record; None for AWS."""
    if not endpoint_url or not learnt:
        return None
    path = record_path(endpoint_url)
    document: dict[str, object] = {"endpoint": endpoint_url.rstrip("/"), "not_applied": {}}
    with contextlib.suppress(OSError, ValueError):
        document = json.loads(path.read_text(encoding="utf-8"))
    seen = document.setdefault("not_applied", {})
    assert isinstance(seen, dict)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for setting, table in learnt.items():
        seen.setdefault(setting.value, {"table": table, "learnt": now})
    write_private(path, json.dumps(document, indent=2, sort_keys=True) + "\n")
    return path
