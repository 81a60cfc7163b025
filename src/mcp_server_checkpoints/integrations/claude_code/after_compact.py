"""What session-start injects right after a compaction: only what the checkpoint knows beyond the summary.

Claude Code has just put its own summary into the context, so repeating the checkpoint whole would spend
the new context on the same facts twice. An item is left out when the summary already covers it: a file
it names, a task or decision whose words it mostly contains. What stays (open tasks, files, decisions,
the exact next step, the user's preferences) fits in `max_tokens` (about 4 characters a token), and the
text says how much was left out and where the rest is. No pydantic: this runs in session-start.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from mcp_server_checkpoints.domain.records import Checkpoint
from mcp_server_checkpoints.domain.time import human_age
from mcp_server_checkpoints.integrations.claude_code import compact_summary as cs

DEFAULT_MAX_TOKENS = 2_000
CHARS_PER_TOKEN = 4
COVERED = 0.7  # share of an item's words the summary must contain for the item to count as covered
WORD = re.compile(r"[\w.-]{3,}")


def message_text(line: dict[str, Any]) -> str | None:
    """The text of a transcript line's message (a string, or its text blocks)."""
    message = line.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict) and b.get("type") == "text")
    return None


def _words(text: str) -> set[str]:
    return {w.lower().strip(".-") for w in WORD.findall(text)} - {""}


def covered(item: str, summary_words: set[str]) -> bool:
    words = _words(item)
    return bool(words) and len(words & summary_words) / len(words) >= COVERED


def _file_named(path: str, summary_files: list[str], summary_text: str) -> bool:
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    return any(cs.same_file(path, f) for f in summary_files) or (len(base) > 3 and base in summary_text)


def render_delta(cp: Checkpoint, summary: str, *, now: datetime | None = None,
                 max_tokens: int = DEFAULT_MAX_TOKENS, extra: list[str] | None = None) -> str:
    """The context to inject after a compaction: `cp` less what `summary` covers, within `max_tokens`."""
    limit = max_tokens * CHARS_PER_TOKEN
    words = _words(summary)
    parsed = cs.parse(summary)
    named = [p for p, _ in cs.files(parsed.sections.get("files", ""))]
    left_out = 0

    def keep(items: list[str]) -> list[str]:
        nonlocal left_out
        out = [i for i in items if not covered(i, words)]
        left_out += len(items) - len(out)
        return out

    files = [f for f in cp.files if not _file_named(f.path, named, summary)]
    left_out += len(cp.files) - len(files)
    sections: list[tuple[str, list[str]]] = [
        ("Open tasks", [f"{i}. {t}" for i, t in enumerate(keep(cp.remaining), 1)]),
        ("Files the summary does not name", [f"- {f.path}: {f.change}" if f.change else f"- {f.path}" for f in files]),
        ("Decisions", [f"- {d}" for d in keep([d.decision + (f": {d.reasoning}" if d.reasoning else "")
                                               for d in cp.decisions])]),
        ("Blockers", [f"- {b}" for b in keep(cp.blockers)]),
        ("Questions for the user", [f"- {q}" for q in keep(cp.user_input_needed)]),
        ("User preferences", [f"- {p}" for p in keep(cp.preferences)]),
        ("Completed", [f"- {c}" for c in keep(cp.completed)]),
    ]
    head = [f"The conversation was just compacted and Claude Code's summary above is the context. mcp-server-checkpoints"
            f" saved checkpoint {cp.id} ({human_age(cp.created_at, now)}, status {cp.status}); this adds only what it"
            " knows beyond that summary."]
    if cp.next_step:
        head += ["", f"Next immediate step (exact): {cp.next_step}"]
    body = ["", *extra] if extra else []
    for title, lines in sections:
        if lines:
            body += ["", f"{title}:"] + lines
    cut = 0
    while body and len("\n".join(head + body)) + 200 > limit:
        body.pop()
        cut += 1
    tail = [f"({left_out} item{'s' if left_out != 1 else ''} the summary already covers left out"
            f"{f', {cut} more line(s) cut to stay within {max_tokens} tokens' if cut else ''};"
            f" open_checkpoint {cp.id} has everything.)"]
    if len(head) == 1 and not body:
        head.append("The checkpoint holds nothing the summary lacks.")
    text = "\n".join(head + body + [""] + tail)
    return text[:limit]
