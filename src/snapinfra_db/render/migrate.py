"""Views for `migrate`: progress lines (items/s, ETA, stream lag), the copy and catch-up summary, the
switch-over lines, and `--verify`'s verdict. No AWS calls, no exits."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from snapinfra_db.ops.migrate import CopyResult, FollowResult, Progress, VerifyResult


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def progress_text(progress: Progress) -> str:
    """`copy: 1,200 read, 1,180 written, 20 rejected, 840 items/s, ETA 12s` (rate over this run only)."""
    done_here = progress.read - progress.resumed_from
    rate = done_here / progress.elapsed if progress.elapsed > 0 else 0.0
    if progress.phase == "follow":
        lag = "?" if progress.lag is None else f"{progress.lag:.1f}s"
        return (
            f"follow: {progress.read:,} stream records, {progress.written:,} writes, "
            f"{progress.rejected:,} rejected, lag {lag}"
        )
    parts = [f"{progress.phase}: {progress.read:,} read"]
    if progress.phase == "copy":
        parts.append(f"{progress.written:,} written")
    parts += [f"{progress.rejected:,} rejected", f"{rate:,.0f} items/s"]
    if progress.phase == "copy" and progress.estimate and rate > 0:
        left = max(0, progress.estimate - progress.read)
        parts.append(f"ETA {_duration(left / rate)} (of ≈{progress.estimate:,})" if left else "ETA soon")
    return ", ".join(parts)


class ProgressLines:
    """A thread-safe sink for `Progress`: at most one line a second (CI logs), and the last one."""

    def __init__(self, console: Console, every: float = 1.0) -> None:
        self.console = console
        self.every = every
        self._lock = threading.Lock()
        self._last = 0.0
        self._last_text = ""

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        text = progress_text(progress)
        with self._lock:
            if now - self._last < self.every or text == self._last_text:
                return
            self._last, self._last_text = now, text
            self.console.print(escape(text), markup=True)


def render_copy(console: Console, result: CopyResult) -> None:
    how = {"resume": "resumed", "again": "copied again"}.get(result.mode, "copied")
    console.print(
        f"{escape(result.source)} → {escape(result.target)}: {result.read:,} read, {result.written:,} written, "
        f"{result.rejected:,} rejected ({how}, {result.segments} segment(s), {_duration(result.seconds)}"
        + (f", throttled {result.throttled} time(s)" if result.throttled else "")
        + ")"
    )
    if result.rejected:
        console.print(f"  rejected items, each with its reason: {escape(str(result.folder))}/rejects-*.jsonl")
    console.print(f"  checkpoint: {escape(str(result.folder))}")


def render_follow(console: Console, result: FollowResult) -> None:
    state = "caught up" if result.caught_up else "not caught up"
    console.print(
        f"stream: {result.applied:,} record(s) applied ({result.puts:,} puts, {result.deletes:,} deletes, "
        f"{result.rejected:,} rejected), {state}"
    )


def render_switch(console: Console, env_line: str, verify_command: str) -> None:
    console.print("Switch the backend to the new table with this .env line:")
    console.print(f"  {escape(env_line)}")
    console.print(f"Check it first: {escape(verify_command)}")


def render_verify(console: Console, result: VerifyResult) -> None:
    how = f"a sample of {result.sample:,}" if result.sample is not None else "every item"
    console.print(
        f"{escape(result.source)}: {result.source_items:,} item(s), {result.rejected:,} not mappable; "
        f"{escape(result.target)}: {result.target_items:,} item(s); compared {how}: {result.matched:,} equal"
    )
    for label, keys in (
        ("missing in TARGET", result.missing),
        ("differ", result.differing),
        ("extra in TARGET", result.extra),
    ):
        if keys:
            shown = "; ".join(keys[:5]) + (f"; … {len(keys) - 5} more" if len(keys) > 5 else "")
            console.print(f"  {len(keys):,} {label}: {escape(shown)}")
    if result.ok:
        console.print("[green]TARGET equals SOURCE through the mapping.[/green]")
