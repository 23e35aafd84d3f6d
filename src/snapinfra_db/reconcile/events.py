"""What the executor reports: an event per thing it does or waits for, and a result per table.

Kept apart from the executor so that views can show them without importing what calls AWS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from snapinfra_db.catalog import Setting
from snapinfra_db.reconcile.plan import Step

EventKind = Literal["start", "step", "done", "wait", "retry", "ok", "failed", "blocked"]


@dataclass(frozen=True)
class ApplyEvent:
    table: str
    kind: EventKind
    message: str
    step: Step | None = None


@dataclass
class ApplyResult:
    table: str
    status: Literal["applied", "failed", "blocked", "interrupted"]
    done: list[Step] = field(default_factory=list)
    error: str | None = None
    # Settings this endpoint does not implement (left as is, as plan said).
    unsupported: list[Setting] = field(default_factory=list)
    # Settings the endpoint accepted and did not apply (their effect never showed): to be remembered.
    not_applied: list[Setting] = field(default_factory=list)
