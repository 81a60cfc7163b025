"""The specification's response templates: proactive offer, options list, not found, declined.

The full recovered summary (the "apply" case) is recovery/render.py.
"""

from __future__ import annotations

from datetime import datetime

from mcp_server_checkpoints.domain.records import Checkpoint
from mcp_server_checkpoints.domain.time import human_age


def _progress(cp: Checkpoint) -> str:
    return f"{cp.progress}% complete" if cp.progress is not None else "progress not recorded"


def offer(cp: Checkpoint, now: datetime, *, emoji: bool = True) -> str:
    """One candidate: "Found incomplete work from X hours ago … Continue where we left off? (yes/no)"."""
    icon = "💡 " if emoji else ""
    lines = [
        f"{icon}Found incomplete work from {human_age(cp.created_at, now)}:",
        "",
        f"{'📋 ' if emoji else ''}{cp.title} — {cp.goal}",
        f"Progress: {_progress(cp)}",
        f"Next: {cp.next_step or cp.current_work or '(not recorded)'}",
        f"(checkpoint {cp.id}, status {cp.status})",
        "",
        "Continue where we left off? (yes/no)",
    ]
    return "\n".join(lines)


def options(cps: list[Checkpoint], now: datetime, *, emoji: bool = True) -> str:
    """Several candidates: a numbered list to choose from."""
    icon = "💡 " if emoji else ""
    lines = [f"{icon}Found {len(cps)} checkpoints that may be the work you mean:", ""]
    for i, cp in enumerate(cps, 1):
        progress = f"{cp.progress}%" if cp.progress is not None else "?%"
        lines.append(f"{i}. {cp.title} — {progress} — saved {human_age(cp.created_at, now)} — status {cp.status}")
        lines.append(f"   Next: {cp.next_step or cp.current_work or '(not recorded)'}")
        lines.append(f"   id: {cp.id}")
    lines += ["", "Which one should we continue? (a number, or 'none' to start fresh)"]
    return "\n".join(lines)


def not_found(topic: str, *, emoji: bool = True) -> str:
    icon = "🔍 " if emoji else ""
    shown = " ".join(topic.split())[:120] or "your request"
    return "\n".join([
        f'{icon}Searched memory but no recent checkpoint found for "{shown}"',
        "",
        "Would you like to:",
        "1. Start fresh on this topic",
        "2. Search for older sessions",
        "3. Tell me what you were working on",
    ])


NOTHING_RECENT = "No recent unfinished work to resume."

DECLINED = "Understood. Marking that session as on-hold.\n\nWhat would you like to work on instead?"
