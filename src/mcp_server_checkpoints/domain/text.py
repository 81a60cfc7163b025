"""Text that can be stored: SQLite and JSON cannot hold a lone UTF-16 surrogate."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mcp_server_checkpoints.errors import InvalidInputError


def surrogate_path(value: Any, path: list[str | int] | None = None, depth: int = 0,
                   max_depth: int = 200) -> list[str | int] | None:
    """Keys and list indexes leading to the first string holding a lone surrogate, or None.
    Deeper than `max_depth` is not searched (the JSON parsers refuse it)."""
    path = path or []
    if depth > max_depth:
        return None
    if isinstance(value, str):
        if value.isascii():  # free (CPython keeps the flag); encoding a 10 MB transcript is not
            return None
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, dict):
        for k, v in value.items():
            found = surrogate_path(k, path, depth + 1, max_depth) if isinstance(k, str) else None
            found = found or surrogate_path(v, [*path, str(k)], depth + 1, max_depth)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = surrogate_path(v, [*path, i], depth + 1, max_depth)
            if found is not None:
                return found
    return None


def check_text(value: Any, what: str = "") -> None:
    """Raise InvalidInputError naming where `value` holds a lone surrogate (never the text itself)."""
    found = surrogate_path(value)
    if found is not None:
        bad = what + "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if (what or i) else p)
                             for i, p in enumerate(found))
        raise InvalidInputError(
            f"{bad or 'input'} contains an unpaired UTF-16 surrogate, which cannot be stored; send valid Unicode text"
        )


def check_strings(values: Iterable[str], what: str) -> None:
    """`check_text` for each of several strings, all named `what`."""
    for v in values:
        check_text(v, what)


def text_size(value: Any) -> int:
    """A cheap lower bound of a JSON value's serialised size: the characters of its strings."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(len(str(k)) + text_size(v) for k, v in value.items())
    if isinstance(value, list):
        return sum(text_size(v) for v in value)
    return 0
