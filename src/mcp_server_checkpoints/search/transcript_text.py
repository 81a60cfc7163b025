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
        text = conversation_text(transcript)
        if len(text) > self.max_chars:
            head = self.max_chars // 4
            text = text[:head] + "\n…\n" + text[len(text) - (self.max_chars - head):]
        return text or None


DEFAULT_TRANSCRIPT_INDEXING = TranscriptIndexing()


def conversation_text(transcript: str) -> str:
    """The conversation's text, one message per line; the transcript itself when it is not JSON lines."""
    lines = transcript.splitlines()
    first = next((ln for ln in lines if ln.strip()), "")
    if not first.lstrip().startswith("{"):
        return transcript.strip()
    out: list[str] = []
    parsed = 0
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if not isinstance(item, dict):
            continue
        parsed += 1
        out += _texts(item)
    if not parsed:  # "{" but not JSON lines after all (a JSON document, a code listing)
        return transcript.strip()
    return "\n".join(t for t in out if t)


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
