"""The life cycle of a checkpoint's work, and which statuses count as open or closed."""

from __future__ import annotations

from typing import Literal

# Statuses a caller may give when saving; the others are reached through mark_status.
SaveStatus = Literal["in-progress", "paused"]
Status = Literal["in-progress", "paused", "on-hold", "resumed", "completed", "abandoned"]
StatusFilter = Literal["in-progress", "paused", "on-hold", "resumed", "completed", "abandoned", "any"]
STATUSES: tuple[str, ...] = ("in-progress", "paused", "on-hold", "resumed", "completed", "abandoned")
# Work that may be resumed; closed work is never offered by recovery.
OPEN_STATUSES: tuple[str, ...] = ("in-progress", "paused", "on-hold", "resumed")
CLOSED_STATUSES: tuple[str, ...] = ("completed", "abandoned")
# Equal search scores go to live work first.
STATUS_ORDER: dict[str, int] = {
    s: i for i, s in enumerate(("in-progress", "paused", "resumed", "on-hold", "completed", "abandoned"))
}


def is_closed(status: str) -> bool:
    return status in CLOSED_STATUSES
