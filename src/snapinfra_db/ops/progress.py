"""How operations report progress: a callback told (table, message), so that nothing in ops/ prints."""

from __future__ import annotations

from collections.abc import Callable

TableProgress = Callable[[str, str], None]
