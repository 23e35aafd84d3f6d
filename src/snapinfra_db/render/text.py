"""Small plain-text formats shared by the views: sizes and .env lines."""


from __future__ import annotations


def human_bytes(size: int | None) -> str:
    """1024-based, one decimal: 889 B, 785.1 KB, 1.1 MB ("?" when unknown)."""
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def dotenv_text(mapping: dict[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in mapping.items())
