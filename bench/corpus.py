"""The real Claude Code compaction summaries in ../shared/corpus, mapped mechanically to checkpoints.

Read at run time, never copied into this repository (the text belongs to its authors).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mcp_server_checkpoints.schemas.checkpoints import MAX_SUMMARY, MAX_TEXT, MAX_TITLE, CheckpointFields

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "summaries.jsonl"
COMPACTION_INTRO = ("This session is being continued from a previous conversation that ran out of context. "
                    "The conversation is summarized below:\n")


def load(path: Path = DEFAULT_CORPUS) -> list[dict[str, Any]]:
    if not path.is_file():
        raise SystemExit(f"no corpus at {path}: pass --corpus PATH to summaries.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def section(text: str, name: str) -> str:
    """The body of a numbered section ("1. Primary Request and Intent: …") up to the next one."""
    m = re.search(rf"{re.escape(name)}[^\n]*:\s*\n?(.*?)(?=\n\s*\d+\.\s+[A-Z][^\n]*:|\Z)", text, re.S)
    return m.group(1).strip() if m else ""


def to_fields(row: dict[str, Any]) -> CheckpointFields:
    """goal ← Primary Request and Intent; current work; pending tasks; next step; the whole text as summary."""
    text: str = row["summary"]
    pending = [re.sub(r"^[-*\d.\s]+", "", line).strip() for line in section(text, "Pending Tasks").splitlines()]
    return CheckpointFields(
        title=row["title"][:MAX_TITLE],
        goal=(section(text, "Primary Request and Intent") or row["title"])[:MAX_TEXT],
        project=row.get("project_key"),
        current_work=section(text, "Current Work")[:MAX_TEXT] or None,
        remaining=[p[:4000] for p in pending if p][:500],
        next_step=section(text, "Optional Next Step")[:MAX_TEXT] or None,
        summary=text[:MAX_SUMMARY],
    )
