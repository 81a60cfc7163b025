"""The searchable text of a stored transcript: what was said, not the machinery around it.

A checkpoint's payload may hold the session's whole transcript (the hooks store Claude Code's JSONL,
an agent may send any text). Indexing those bytes as they are would fill the index with JSON keys,
ids, timestamps and tool output (a `cat` of a lockfile is not what anyone searches for), so a
transcript in a JSON-lines shape is reduced to its conversation: the user's and the assistant's text,
what a tool call was asked to do (its description, command or file), and recaps the client wrote
itself (Claude Code's `away_summary`, `summary` lines). Any other text is indexed as it is.

Both shapes seen in the wild are read: Claude Code's (`{"type": "user"|"assistant", "message":
{"content": str | [blocks]}}`) and the plain chat shape (`{"role": ..., "content": ...}`). Nothing
here does I/O; the caller passes the (already redacted) transcript.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# What a tool call's input says about the work, in the order worth reading.
_TOOL_KEYS = ("description", "subject", "command", "file_path", "path", "pattern", "query", "prompt", "url")


@dataclass(frozen=True)
class TranscriptIndexing:
    """Whether and how much of a stored transcript is searchable.

    enabled: the setting `index_transcripts` (off for very large stores that only want the fields
    searched). max_chars: the most text kept per checkpoint; a longer conversation keeps its start
    (what the session set out to do) and, mostly, its end (where it got to).
    """

    enabled: bool = True
    max_chars: int = 200_000

    def text_of(self, transcript: str | None) -> str | None:
        if not self.enabled or not transcript or not transcript.strip():
            return None
        return conversation_text(transcript, self.max_chars) or None

    def text_from(self, conversation: str) -> str | None:
        """`text_of` for a caller that has read the transcript's messages itself (`message_texts` of every
        line, joined by line breaks: the Claude Code hooks' reader, in the pass it makes anyway)."""
        if not self.enabled or not conversation.strip():
            return None
        return _cut(conversation, self.max_chars)


DEFAULT_TRANSCRIPT_INDEXING = TranscriptIndexing()


def conversation_text(transcript: str, max_chars: int | None = None) -> str:
    """The conversation's text, one message per line; the transcript itself when it is not JSON lines.

    Past `max_chars`, its first quarter and its last three quarters, joined by a line "…". Only as many
    lines are decoded as that takes, from each end (a hook saves a 10 MB transcript: decoding all of it
    cost a capture ~150 ms).
    """
    lines = transcript.split("\n")  # not splitlines(): message text may hold U+2028
    first = next((ln for ln in lines if ln.strip()), "")
    if not first.lstrip().startswith("{"):
        return _cut(transcript.strip(), max_chars)
    if max_chars is None:
        head_budget, tail_budget = len(transcript), 0
    else:
        head_budget, tail_budget = max_chars // 4, max_chars - max_chars // 4
    head: list[str] = []
    size = 0
    parsed = False
    end = len(lines)
    for i, line in enumerate(lines):
        got = _line_texts(line)
        if got is None:
            continue
        parsed = True
        head += got
        size += sum(len(t) + 1 for t in got)
        if size > head_budget:
            end = i + 1
            break
    if not parsed:  # "{" but not JSON lines after all (a JSON document, a code listing)
        return _cut(transcript.strip(), max_chars)
    if end == len(lines):  # all of it fits
        return _cut("\n".join(head), max_chars)
    tail: list[str] = []
    size = 0
    for line in reversed(lines[end:]):
        got = _line_texts(line)
        if not got:
            continue
        tail[:0] = got
        size += sum(len(t) + 1 for t in got)
        if size > tail_budget:  # both ends are long enough: cut exactly as the whole text would be
            return "\n".join(head)[:head_budget] + "\n…\n" + "\n".join(tail)[-tail_budget:]
    return _cut("\n".join(head + tail), max_chars)  # every line was read after all


def _cut(text: str, max_chars: int | None) -> str:
    if max_chars is None or len(text) <= max_chars:
        return text
    head = max_chars // 4
    return text[:head] + "\n…\n" + text[len(text) - (max_chars - head):]


def _line_texts(line: str) -> list[str] | None:
    """The texts of one JSON line (None: not a JSON object). A tool result's line, most of a transcript's
    bytes, is only decoded when it may hold a text block beside the result."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    if '"tool_result"' in line and '"text"' not in line:
        return []
    try:
        item = json.loads(line)
    except ValueError:
        return None
    if not isinstance(item, dict):
        return None
    return message_texts(item)


def message_texts(item: dict[str, Any]) -> list[str]:
    """What one decoded transcript line says (none for a line of machinery or of tool output only)."""
    return [t for t in _texts(item) if t]


def _texts(item: dict[str, Any]) -> list[str]:
    kind = item.get("type")
    if kind in ("summary", "away_summary"):
        return [_str(item.get("summary") or item.get("content"))]
    if kind == "system" and item.get("subtype") == "away_summary":
        return [_str(item.get("content"))]
    message = item.get("message")
    if isinstance(message, dict) and kind in ("user", "assistant"):
        # isMeta: text the client injected (command caveats, hook output), not the conversation.
        return [] if item.get("isMeta") else [_content(message.get("content"))]
    if "role" in item and "content" in item:
        return [_content(item.get("content"))]
    return []


def _content(content: Any) -> str:
    if isinstance(content, str):
        return content.strip()
    if not isinstance(content, list):
        return ""
    out: list[str] = []
    for block in content:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            out.append(_str(block.get("text")))
        elif kind == "tool_use" and isinstance(block.get("input"), dict):
            args = block["input"]
            said = [_str(args.get(k)) for k in _TOOL_KEYS if isinstance(args.get(k), str)]
            out.append(f"[{_str(block.get('name'))}] " + " · ".join(s for s in said if s))
    return "\n".join(s for s in out if s)


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
