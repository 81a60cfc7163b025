"""Claude Code hooks: `ckpt hook pre-compact` saves a checkpoint from the transcript before compaction;
`ckpt hook session-start` puts the recovered work into the new context.

A hook must never get in its client's way: whatever happens it exits 0 (exit 2 would block
compaction), writes its errors to the hook log, and prints nothing it was not asked for. Neither
hook imports mcp or loads an embedding model: they run on every compaction and session start; and
session-start does not import pydantic either (half of its time went to that).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.domain.statuses import CLOSED_STATUSES
from mcp_server_checkpoints.domain.time import iso, utcnow
from mcp_server_checkpoints.recovery.render import render_summary
from mcp_server_checkpoints.recovery.service import recover
from mcp_server_checkpoints.storage.protocols import CheckpointStore
from mcp_server_checkpoints.wiring import services

if TYPE_CHECKING:
    from mcp_server_checkpoints.schemas.checkpoints import SaveResult

log = logging.getLogger("mcp_server_checkpoints.hooks")

CONTEXT_LIMIT = 10_000  # Claude Code moves longer additionalContext to a file
PAYLOAD_MARGIN = 1024 * 1024  # room for the tool history and project state beside the transcript
AFTER_COMPACT = ("The conversation was just compacted. This is the checkpoint saved by mcp-server-checkpoints right"
                 " before, with the structured state of the work: use it together with the summary above and continue"
                 " from its next step.\n\n")
OFFER = ("mcp-server-checkpoints found unfinished work for this project. In your first reply, offer to resume it"
         " (do not resume before the user says yes: then call the recover tool with its checkpoint_id; if they"
         " decline, call mark_status with status on-hold):\n\n")


def _tail(data: bytes, limit: int) -> tuple[bytes, int]:
    """At most `limit` bytes of the transcript (the newest part, from a line start); and how many were left out."""
    if len(data) <= limit:
        return data, 0
    cut = data.find(b"\n", len(data) - limit)
    cut = len(data) - limit if cut < 0 else cut + 1
    return data[cut:], cut


def pre_compact(hook: dict[str, Any], store: CheckpointStore) -> SaveResult | None:
    path = hook.get("transcript_path")
    if not isinstance(path, str) or not path:
        raise ValueError("the hook input has no transcript_path")
    from mcp_server_checkpoints.integrations.claude_code import capture  # pydantic: only the saving hooks
    from mcp_server_checkpoints.integrations.claude_code import transcript as tr

    raw = Path(path).expanduser().read_bytes()
    parsed = tr.parse(raw)
    kept, dropped = _tail(raw, max(store.max_payload_bytes - PAYLOAD_MARGIN, 1024))
    session_id = hook.get("session_id") if isinstance(hook.get("session_id"), str) else None
    parent = store.latest_in_session(session_id) if session_id else None
    fields = capture.to_checkpoint(parsed, transcript_text=kept.decode("utf-8", errors="replace"), session_id=session_id,
                              project=hook.get("cwd") or parsed.cwd, trigger=hook.get("trigger"),
                              parent_id=parent.id if parent else None)
    if dropped and fields.payload is not None and isinstance(fields.payload.project_state, dict):
        fields.payload.project_state["transcript_bytes_left_out"] = dropped
    return store.save(fields)


def session_start(hook: dict[str, Any], store: CheckpointStore) -> str | None:
    """The additionalContext for this session start, or None when there is nothing to say."""
    source = hook.get("source")
    session_id = hook.get("session_id")
    project = hook.get("cwd") if isinstance(hook.get("cwd"), str) else None
    now = utcnow()
    if source in ("compact", "resume") and isinstance(session_id, str):
        cp = store.latest_in_session(session_id)
        if cp is not None and cp.status not in CLOSED_STATUSES:
            store.set_status(cp.id, "resumed", f"Resumed at: {iso(now)} (after {source})", now=now)
            body = render_summary(store.get(cp.id, with_payload=False), now=now,
                                  limit=CONTEXT_LIMIT - len(AFTER_COMPACT))
            return AFTER_COMPACT + body
    result = recover(store, "", project=project, now=now)
    if result.action in ("confirm", "choose"):
        return (OFFER + result.text)[:CONTEXT_LIMIT]
    return None


def run(event: str, stdin_text: str, settings: Settings) -> str:
    """Run one hook; returns what to print (possibly nothing). Never raises."""
    started = time.perf_counter()
    try:
        hook = json.loads(stdin_text) if stdin_text.strip() else {}
        if not isinstance(hook, dict):
            raise ValueError("the hook input is not a JSON object")
        with services(settings) as s:
            if event == "pre-compact":
                saved = pre_compact(hook, s.store)
                _log(settings, f"pre-compact saved {saved.id if saved else '-'} "
                               f"({saved.raw_bytes if saved else 0} bytes → {saved.stored_bytes if saved else 0}) "
                               f"in {time.perf_counter() - started:.3f}s")
                return ""
            context = session_start(hook, s.store)
        if context is None:
            return ""
        return json.dumps({"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": context}},
                          ensure_ascii=False)
    except Exception as exc:  # a hook must never fail its client: record and carry on
        _log(settings, f"{event} failed: {type(exc).__name__}: {exc}")
        return ""


def _log(settings: Settings, message: str) -> None:
    try:
        settings.hook_log.parent.mkdir(parents=True, exist_ok=True)
        with settings.hook_log.open("a", encoding="utf-8") as fh:
            fh.write(f"{iso(utcnow())} {message}\n")
    except OSError:
        pass  # nowhere to write: stay silent rather than break the client
