"""The bounds of a checkpoint's fields, checked on plain data: what `save_data` accepts without pydantic.

`schemas.checkpoints.CheckpointFields` declares the same bounds for the MCP tools (and their JSON
schema); this is the check for callers inside the package that build the fields themselves, such as
the Claude Code hooks, whose start-up time importing pydantic would double. A test holds the two to
the same answers (tests/storage/test_save_data.py).
"""

from __future__ import annotations

from typing import Any, get_args

from mcp_server_checkpoints.domain.records import MAX_ITEM, MAX_ITEMS, MAX_SUMMARY, MAX_TEXT, MAX_TITLE, Outcome
from mcp_server_checkpoints.domain.statuses import SaveStatus
from mcp_server_checkpoints.errors import InvalidInputError

SAVE_STATUSES: tuple[str, ...] = get_args(SaveStatus)
# field → (shortest, longest); None is allowed for every optional one
TEXTS: dict[str, tuple[int, int]] = {
    "project": (0, 500), "phase": (0, MAX_ITEM), "current_work": (0, MAX_TEXT), "next_step": (0, MAX_TEXT),
    "resume_instructions": (0, MAX_TEXT), "summary": (0, MAX_SUMMARY), "parent_id": (0, 200),
    "session_id": (0, 200), "agent_id": (0, 200),
}
ITEM_LISTS = ("completed", "remaining", "blockers", "user_input_needed", "preferences", "discoveries")
# list field → {key: (shortest, longest, required)}
RECORD_LISTS: dict[str, dict[str, tuple[int, int, bool]]] = {
    "files": {"path": (1, 1_000, True), "change": (0, MAX_ITEM, False)},
    "decisions": {"decision": (1, MAX_ITEM, True), "reasoning": (0, MAX_ITEM, False)},
    "approaches": {"approach": (1, MAX_ITEM, True), "outcome": (1, 10, True), "note": (0, MAX_ITEM, False)},
}
OUTCOMES: tuple[str, ...] = get_args(Outcome)
PAYLOAD_KEYS = ("transcript", "tool_history", "project_state")
KNOWN = {"title", "goal", "status", "progress", "tags", "payload", *TEXTS, *ITEM_LISTS, *RECORD_LISTS}


def _text(value: Any, what: str, low: int, high: int) -> None:
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a string")
    if not low <= len(value) <= high:
        raise InvalidInputError(f"{what} must be {low}–{high:,} characters; it has {len(value):,}")


def _items(value: Any, what: str, low: int, high: int, most: int = MAX_ITEMS) -> None:
    if not isinstance(value, list):
        raise InvalidInputError(f"{what} must be a list")
    if len(value) > most:
        raise InvalidInputError(f"{what} may hold at most {most} items; it has {len(value)}")
    for i, item in enumerate(value):
        _text(item, f"{what}[{i}]", low, high)


def check_fields(data: dict[str, Any]) -> None:
    """Raise InvalidInputError naming the first field of `data` (CheckpointFields' shape) out of its bounds."""
    unknown = sorted(set(data) - KNOWN)
    if unknown:
        raise InvalidInputError(f"unknown field(s): {', '.join(unknown)}")
    _text(data.get("title"), "title", 1, MAX_TITLE)
    _text(data.get("goal"), "goal", 1, MAX_TEXT)
    if data.get("status", "in-progress") not in SAVE_STATUSES:
        raise InvalidInputError(f"status must be one of: {', '.join(SAVE_STATUSES)}")
    progress = data.get("progress")
    if progress is not None and (type(progress) is not int or not 0 <= progress <= 100):
        raise InvalidInputError("progress must be a whole number from 0 to 100")
    for name, (low, high) in TEXTS.items():
        if data.get(name) is not None:
            _text(data[name], name, low, high)
    for name in ITEM_LISTS:
        _items(data.get(name, []), name, 1, MAX_ITEM)
    _items(data.get("tags", []), "tags", 1, 100, most=50)
    for name, keys in RECORD_LISTS.items():
        records = data.get(name, [])
        if not isinstance(records, list) or len(records) > MAX_ITEMS:
            raise InvalidInputError(f"{name} must be a list of at most {MAX_ITEMS} items")
        for i, record in enumerate(records):
            if not isinstance(record, dict) or set(record) - set(keys):
                raise InvalidInputError(f"{name}[{i}] must be an object with the keys {', '.join(keys)}")
            for key, (low, high, required) in keys.items():
                if key in record or required:
                    _text(record.get(key), f"{name}[{i}].{key}", low, high)
            if name == "approaches" and record["outcome"] not in OUTCOMES:
                raise InvalidInputError(f"approaches[{i}].outcome must be one of: {', '.join(OUTCOMES)}")
    payload = data.get("payload")
    if payload is not None:
        if not isinstance(payload, dict) or set(payload) - set(PAYLOAD_KEYS):
            raise InvalidInputError(f"payload must be an object with the keys {', '.join(PAYLOAD_KEYS)}")
        if payload.get("transcript") is not None and not isinstance(payload["transcript"], str):
            raise InvalidInputError("payload.transcript must be a string")
