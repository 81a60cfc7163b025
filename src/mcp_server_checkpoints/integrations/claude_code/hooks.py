"""Claude Code hooks, one `ckpt hook EVENT` each, JSON on stdin:

- `pre-compact` saves the mechanical capture of the transcript before a compaction;
- `post-compact` hands Claude Code's own summary (`compact_summary`) to a background `store-summary`,
  which stores it, parsed into fields, as the next version of the session's lineage;
- `session-start` puts the recovered work into the new context: after a compaction only what the
  checkpoint knows beyond Claude Code's summary, otherwise the offer of unfinished work; when it finds a
  summary in the transcript that is not stored yet (no PostCompact hook ran), it hands it on the same way;
- `session-end` saves a checkpoint of a session that ended without one (trivial sessions are skipped).

A hook must never get in its client's way: whatever happens it exits 0 (exit 2 would block
compaction), writes its errors to the hook log (never a stored value), and prints nothing it was not
asked for. No hook imports mcp or loads an embedding model: they run on every compaction and session
start; session-start and post-compact do not import pydantic either (half of a start-up went to that),
which is why post-compact leaves the saving (pydantic fields) to a detached process of its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.domain.time import iso, parse_iso, utcnow
from mcp_server_checkpoints.errors import describe as describe_error

# Each event imports what it uses, in the function that uses it: post-compact needs none of the store,
# session-start (startup) none of the summary parsing, and so on; every module is start-up time.
if TYPE_CHECKING:
    from mcp_server_checkpoints.domain.records import Checkpoint, Saved
    from mcp_server_checkpoints.recovery.repo_state import Git
    from mcp_server_checkpoints.schemas.checkpoints import SaveResult
    from mcp_server_checkpoints.storage.protocols import CheckpointStore

CONTEXT_LIMIT = 10_000  # Claude Code moves longer additionalContext to a file
PAYLOAD_MARGIN = 1024 * 1024  # room for the tool history and project state beside the transcript
SUMMARY_TAIL = 2 * 1024 * 1024  # where session-start looks for the compaction summary: the transcript's end
AFTER_COMPACT = ("The conversation was just compacted. This is the checkpoint saved by mcp-server-checkpoints right"
                 " before, with the structured state of the work: use it together with the summary above and continue"
                 " from its next step.\n\n")
OFFER = ("mcp-server-checkpoints found unfinished work for this project. In your first reply, offer to resume it"
         " (do not resume before the user says yes: then call the recover tool with its checkpoint_id; if they"
         " decline, call mark_status with status on-hold):\n\n")
START_GIT_TIMEOUT = 0.5  # session-start's budget is 300 ms: a slower git means no drift section, not a late start


class Laps:
    """Where a hook's time went, phase by phase, for its line in the hook log (and bench/hooks.py)."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.ms: dict[str, float] = {}

    def __call__(self, phase: str) -> None:
        now = time.perf_counter()
        self.ms[phase] = self.ms.get(phase, 0.0) + (now - self.last) * 1000
        self.last = now

    def text(self) -> str:
        total = (time.perf_counter() - self.started)
        return f"in {total:.3f}s ({', '.join(f'{k} {v:.0f} ms' for k, v in self.ms.items())})"


def _tail(data: bytes, limit: int) -> tuple[bytes, int]:
    """At most `limit` bytes of the transcript (the newest part, from a line start); and how many were left out."""
    if len(data) <= limit:
        return data, 0
    cut = data.find(b"\n", len(data) - limit)
    cut = len(data) - limit if cut < 0 else cut + 1
    return data[cut:], cut


def _session(hook: dict[str, Any]) -> str | None:
    sid = hook.get("session_id")
    return sid if isinstance(sid, str) and sid else None


def _transcript_path(hook: dict[str, Any]) -> Path:
    path = hook.get("transcript_path")
    if not isinstance(path, str) or not path:
        raise ValueError("the hook input has no transcript_path")
    return Path(path).expanduser()


def capture(hook: dict[str, Any], store: CheckpointStore, *, source: str, trigger: str | None,
            git: Git | None = None, lap: Callable[[str], None] = lambda phase: None) -> Saved | None:
    """Save the mechanical capture of the hook's transcript (pre-compact, session-end)."""
    from mcp_server_checkpoints.integrations.claude_code import capture as cap
    from mcp_server_checkpoints.integrations.claude_code import transcript as tr

    lap("imports+open")
    path = _transcript_path(hook)
    cwd = hook.get("cwd") if isinstance(hook.get("cwd"), str) else None
    found: dict[str, Any] = {}
    worker = None
    if git is not None and cwd:  # git runs while the transcript is read and parsed: its wait overlaps their work
        worker = threading.Thread(target=lambda: found.update(repo=git.state(cwd)), daemon=True)
        worker.start()
    raw = path.read_bytes()
    text = raw.decode("utf-8", errors="replace")  # once: for the reader and, most often whole, for the payload
    lap("read")
    parsed = tr.parse(text)
    if worker is not None:
        worker.join()
    lap("parse")
    session_id = _session(hook)
    parent = store.latest_in_session(session_id) if session_id else None
    if source == "session-end":
        if cap.is_trivial(parsed):
            return None
        if parent is not None and path.stat().st_mtime <= parse_iso(parent.created_at).timestamp():
            return None  # nothing was written since the last checkpoint (a compaction's, say)
    kept, dropped = _tail(raw, max(store.max_payload_bytes - PAYLOAD_MARGIN, 1024))
    project = cwd or parsed.cwd
    if worker is None and git is not None and project:
        found["repo"] = git.state(project)
    fields = cap.to_fields(parsed, transcript_text=kept.decode("utf-8", errors="replace") if dropped else text,
                           session_id=session_id, project=project, trigger=trigger, source=source,
                           parent_id=parent.id if parent else None, repo=found.get("repo"))
    if dropped:
        fields["payload"]["project_state"]["transcript_bytes_left_out"] = dropped
    lap("capture")
    # The reader gathered what the transcript says as it parsed: the store's search index takes that (when
    # the payload holds the whole transcript) instead of decoding 10 MB of JSON lines again.
    said = "\n".join(parsed.conversation) if not dropped and parsed.lines > parsed.bad_lines else None
    return store.save_data(fields, lap=lap, conversation=said)


def store_summary(hook: dict[str, Any], store: CheckpointStore, lock_dir: Path | None = None,
                  git: Git | None = None) -> Saved | SaveResult | None:
    """Store Claude Code's compaction summary as the next version of the session's lineage (once)."""
    from mcp_server_checkpoints.integrations.claude_code import compact_summary as cs
    from mcp_server_checkpoints.recovery.drift import describe_state
    from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields

    text = hook.get("compact_summary")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("the hook input has no compact_summary")
    session_id = _session(hook)
    project = hook.get("cwd") if isinstance(hook.get("cwd"), str) else None
    trigger = hook.get("trigger") if isinstance(hook.get("trigger"), str) else None
    with _lock(lock_dir, session_id):  # post-compact and session-start may both hand the same summary on
        parent = store.latest_in_session(session_id) if session_id else None
        if parent is not None and "compact-summary" in parent.tags and parent.summary is not None \
                and parent.summary == store.redactor.redact(text)[0][: len(parent.summary)]:
            return None
        fields = cs.to_fields(cs.parse(text), parent, session_id=session_id, project=project, trigger=trigger)
        repo = git.state(project) if git is not None and project else None
        if repo is not None:
            fields["payload"] = {"project_state": {"cwd": project, "repo": repo}}
            fields["resume_instructions"] = f"{fields['resume_instructions']} {describe_state(repo)}"
        return store.save(CheckpointFields.model_validate(fields))


class _lock:
    """An exclusive lock per session while a summary is checked and stored (POSIX; elsewhere none)."""

    def __init__(self, directory: Path | None, session_id: str | None) -> None:
        name = hashlib.sha256(session_id.encode()).hexdigest()[:16] if session_id else ""
        self.path = directory / f"summary-{name}.lock" if directory and session_id else None
        self.fh: Any = None

    def __enter__(self) -> None:
        if self.path is None:
            return
        try:
            import fcntl

            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.fh = self.path.open("a")
            fcntl.flock(self.fh, fcntl.LOCK_EX)
        except (ImportError, OSError):
            self.fh = None

    def __exit__(self, *exc: object) -> None:
        if self.fh is not None:
            self.fh.close()  # closing releases the lock


def hand_on_summary(settings: Settings, hook: dict[str, Any]) -> None:
    """Start `ckpt hook store-summary` detached with the summary on its stdin, and return at once."""
    data = json.dumps({k: hook.get(k) for k in ("session_id", "cwd", "trigger", "compact_summary", "transcript_path")},
                      ensure_ascii=False).encode("utf-8")
    kw: dict[str, Any] = {"start_new_session": True} if os.name == "posix" else {
        "creationflags": getattr(subprocess, "DETACHED_PROCESS", 0) | getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
    # Detached: Claude Code waits for the hook's process and may end its group; the saving must outlive both.
    child = subprocess.Popen([sys.executable, "-m", "mcp_server_checkpoints", "--db", str(settings.db), "hook",
                              "store-summary"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, close_fds=True,
                             env={**os.environ, "CHECKPOINTS_HOOK_LOG": str(settings.hook_log)}, **kw)
    assert child.stdin is not None
    child.stdin.write(data)  # a summary is ~10 KB: the pipe takes it without waiting for the child
    child.stdin.close()


def post_compact(hook: dict[str, Any], settings: Settings) -> None:
    text = hook.get("compact_summary")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("the hook input has no compact_summary")
    hand_on_summary(settings, hook)


def summary_in_transcript(hook: dict[str, Any], since: str | None = None) -> tuple[str | None, str | None]:
    """The latest compaction summary at the transcript's end and its compaction's trigger, if there.

    With `since` (the latest checkpoint's time), a summary written before it is an earlier compaction's:
    the transcript is written asynchronously and may not hold this compaction's summary yet.
    """
    from mcp_server_checkpoints.integrations.claude_code.after_compact import message_text

    try:
        path = _transcript_path(hook)
        with path.open("rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(max(0, size - SUMMARY_TAIL))
            tail = fh.read()
    except (OSError, ValueError):
        return None, None
    summary: str | None = None
    for raw in reversed(tail.split(b"\n")):
        if summary is None and b'"isCompactSummary"' in raw:
            line = _json_line(raw)
            if line.get("isCompactSummary") is True:
                if since is not None and _before(line.get("timestamp"), since):
                    return None, None
                summary = message_text(line)
        elif summary is not None and b'"compact_boundary"' in raw:
            meta = _json_line(raw).get("compactMetadata")
            trigger = meta.get("trigger") if isinstance(meta, dict) else None
            return summary, trigger if isinstance(trigger, str) else None
    return summary, None


def _before(stamp: Any, since: str) -> bool:
    try:
        return isinstance(stamp, str) and parse_iso(stamp) < parse_iso(since)
    except ValueError:
        return False


def _json_line(raw: bytes) -> dict[str, Any]:
    try:
        line = json.loads(raw)
    except ValueError:
        return {}
    return line if isinstance(line, dict) else {}


def _stored(cp: Checkpoint | None, summary: str) -> bool:
    """Whether `cp` is already this summary's version (a cheap look; store-summary checks exactly)."""
    return bool(cp and "compact-summary" in cp.tags and cp.summary and summary[:200] == cp.summary[:200])


def session_start(hook: dict[str, Any], store: CheckpointStore, settings: Settings | None = None,
                  git: Git | None = None) -> str | None:
    """The additionalContext for this session start, or None when there is nothing to say."""
    from mcp_server_checkpoints.domain.statuses import CLOSED_STATUSES
    from mcp_server_checkpoints.recovery.render import render_summary
    from mcp_server_checkpoints.recovery.repo_state import drift_since

    source = hook.get("source")
    session_id = _session(hook)
    project = hook.get("cwd") if isinstance(hook.get("cwd"), str) else None
    now = utcnow()
    if source in ("compact", "resume") and session_id:
        cp = store.latest_in_session(session_id)
        found: dict[str, Any] = {}
        worker = None
        if cp is not None and cp.status not in CLOSED_STATUSES and git is not None:
            # git (two processes) runs while the summary is read and the status written: the waits overlap
            worker = threading.Thread(target=lambda: found.update(drift=drift_since(cp, project, git)), daemon=True)
            worker.start()
        summary, trigger = summary_in_transcript(hook, cp.created_at if cp else None) if source == "compact" \
            else (None, None)
        if summary is None and cp is not None and source == "compact" and "compact-summary" in cp.tags:
            summary = cp.summary  # stored by post-compact; the transcript did not have it (yet)
        elif summary is not None and settings is not None and not _stored(cp, summary):
            hand_on_summary(settings, {**hook, "compact_summary": summary, "trigger": trigger})
        if cp is not None and cp.status not in CLOSED_STATUSES:
            store.set_status(cp.id, "resumed", f"Resumed at: {iso(now)} (after {source})", now=now)
            full = store.get(cp.id, with_payload=False)
            if worker is not None:
                worker.join()
            drift = found.get("drift")
            if summary is not None:
                from mcp_server_checkpoints.integrations.claude_code import after_compact
                from mcp_server_checkpoints.recovery.drift import drift_lines

                return after_compact.render_delta(full, summary, now=now, extra=drift_lines(drift) if drift else None)
            body = render_summary(full, now=now, limit=CONTEXT_LIMIT - len(AFTER_COMPACT), drift=drift)
            return AFTER_COMPACT + body
    from mcp_server_checkpoints.recovery.service import recover

    result = recover(store, "", project=project, now=now)
    if result.action in ("confirm", "choose"):
        return (OFFER + result.text)[:CONTEXT_LIMIT]
    return None


def run(event: str, stdin_text: str, settings: Settings) -> str:
    """Run one hook; returns what to print (possibly nothing). Never raises."""
    laps = Laps()
    try:
        hook = json.loads(stdin_text) if stdin_text.strip() else {}
        if not isinstance(hook, dict):
            raise ValueError("the hook input is not a JSON object")
        if event == "post-compact":  # no store, no pydantic: the detached store-summary does the saving
            post_compact(hook, settings)
            laps("hand-on")
            _log(settings, f"post-compact handed the summary on {laps.text()}")
            return ""
        from mcp_server_checkpoints.recovery.repo_state import Git
        from mcp_server_checkpoints.wiring import services

        with services(settings) as s:
            if event in ("pre-compact", "session-end", "store-summary"):
                if event == "store-summary":
                    saved = store_summary(hook, s.store, lock_dir=settings.hook_log.parent, git=Git())
                else:
                    trigger = hook.get("trigger" if event == "pre-compact" else "reason")
                    saved = capture(hook, s.store, source=event, trigger=trigger if isinstance(trigger, str) else None,
                                    git=Git(), lap=laps)
                what = (f"saved {saved.id} ({saved.raw_bytes} bytes → {saved.stored_bytes})" if saved
                        else "saved nothing (trivial, or already saved)")
                context = None
            else:
                laps("imports+open")
                context = session_start(hook, s.store, settings, git=Git(timeout=START_GIT_TIMEOUT))
                laps("context")
                what = f"({hook.get('source')}) gave {len(context or '')} characters"
        laps("close")  # the database's last connection closes: SQLite checkpoints its write-ahead log
        _log(settings, f"{event} {what} {laps.text()}")
        if context is None:
            return ""
        return json.dumps({"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": context}},
                          ensure_ascii=False)
    except Exception as exc:  # a hook must never fail its client: record and carry on
        _log(settings, f"{event} failed: {describe_error(exc)}")
        return ""


def _log(settings: Settings, message: str) -> None:
    try:
        settings.hook_log.parent.mkdir(parents=True, exist_ok=True)
        with settings.hook_log.open("a", encoding="utf-8") as fh:
            fh.write(f"{iso(utcnow())} {message}\n")
    except OSError:
        pass  # nowhere to write: stay silent rather than break the client
