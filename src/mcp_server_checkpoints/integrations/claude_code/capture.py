"""A read transcript (transcript.py) turned into the fields of a checkpoint: the mechanical capture.

What weighs most is what the session was doing at the end: the latest task list gives completed /
remaining / next step; without one, the assistant's last stated plan is the next step; the goal is the
first request with the latest one beside it. Files are listed edited first, then written by a shell
command, then tracked by Claude Code, then read, then only named by a sub-agent; paths relative to the
project when under it.

No pydantic (`to_fields` gives plain data, which `save_data` checks): the pre-compact and session-end
hooks run this on every compaction and session end, and importing pydantic would double their start-up.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from mcp_server_checkpoints.domain.records import MAX_ITEM, MAX_SUMMARY, MAX_TEXT, MAX_TITLE
from mcp_server_checkpoints.integrations.claude_code.transcript import FileSeen, Transcript, short
from mcp_server_checkpoints.recovery.drift import describe_state

if TYPE_CHECKING:
    from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields

MAX_FILES = 200
MAX_TOOL_HISTORY = 300
SOURCES = {"pre-compact": "the PreCompact hook", "session-end": "the SessionEnd hook"}


def relative(path: str, root: str | None) -> str:
    """`path` relative to `root` when it lies under it (how summaries and people name files)."""
    if root and os.path.isabs(path):
        try:
            rel = os.path.relpath(path, root)
        except ValueError:  # another drive on Windows
            return path
        if not rel.startswith(".."):
            return rel
    return path


def _change(fs: FileSeen) -> str:
    if fs.edits:
        return ("created; " if fs.created else "") + f"{fs.edits}× — last: {fs.last}"
    if fs.shell == "written":
        return "changed by a shell command"
    if fs.tracked:
        return "tracked by Claude Code (changed in the session)"
    if fs.reads or fs.shell:
        return f"read{f' {fs.reads}×' if fs.reads > 1 else ''}"
    return "named by a sub-agent"


def _rank(fs: FileSeen) -> int:
    return 0 if fs.edits else 1 if fs.shell == "written" else 2 if fs.tracked else 3 if fs.reads or fs.shell else 4


def _merged(t: Transcript, root: str | None) -> dict[str, FileSeen]:
    """One entry per file: a snapshot names it relative to the project, a tool call often absolute."""
    merged: dict[str, FileSeen] = {}
    for path, fs in t.files.items():
        key = relative(path, root)
        seen = merged.pop(key, None)  # re-inserted: the order is that of the latest mention
        if seen is not None:
            fs = FileSeen(edits=seen.edits + fs.edits, reads=seen.reads + fs.reads, created=seen.created or fs.created,
                          tracked=seen.tracked or fs.tracked, mentioned=seen.mentioned or fs.mentioned, shell="written" if "written" in (seen.shell, fs.shell)
                          else seen.shell or fs.shell, last=fs.last or seen.last)
        merged[key] = fs
    return merged


def files_of(t: Transcript, root: str | None) -> list[dict[str, str]]:
    """The files of the session, most telling first; newest first within a kind."""
    ordered = sorted(reversed(list(_merged(t, root).items())), key=lambda kv: _rank(kv[1]))
    return [{"path": p[:1000], "change": _change(fs)[:MAX_ITEM]} for p, fs in ordered[:MAX_FILES]]


def title_of(t: Transcript) -> str:
    source = t.title or t.first_request or t.last_request or "Claude Code session"
    first_line = next((ln.strip() for ln in source.splitlines() if ln.strip()), source)
    return short(first_line, 80)[:MAX_TITLE] or "Claude Code session"


def goal_of(t: Transcript) -> str:
    goal = t.first_request or t.last_request or "(no user request in the transcript)"
    if t.last_request and t.last_request != t.first_request:
        latest = f"\n\nLatest request: {short(t.last_request, 2000)}"
        goal = goal[: MAX_TEXT - len(latest)] + latest
    return goal[:MAX_TEXT]


def is_trivial(t: Transcript) -> bool:
    """Nothing worth a checkpoint: no request, or no work done (no tool call, no task list)."""
    return not t.requests or (t.tool_calls == 0 and not t.todos)


def to_checkpoint(t: Transcript, **kw: Any) -> CheckpointFields:
    """`to_fields` as the validated model the tools take."""
    from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields

    return CheckpointFields.model_validate(to_fields(t, **kw))


def to_fields(t: Transcript, *, transcript_text: str | None, session_id: str | None, project: str | None,
              trigger: str | None, parent_id: str | None, source: str = "pre-compact",
              repo: dict[str, Any] | None = None) -> dict[str, Any]:
    """The checkpoint's fields as plain data of CheckpointFields' shape, every one within its bounds."""
    done = [str(x.get("content", "")) for x in t.todos if x.get("status") == "completed"]
    doing = [x for x in t.todos if x.get("status") == "in_progress"]
    todo = [x for x in t.todos if x.get("status") == "pending"]
    remaining = [str(x.get("content", "")) for x in doing + todo]
    next_step = remaining[0] if remaining else t.last_plan
    progress = round(100 * len(done) / len(t.todos)) if t.todos else None
    current = t.last_assistant or (str(doing[0].get("activeForm") or doing[0].get("content")) if doing else None)
    root = project or t.cwd
    summary = t.compact_summary or ("\n\n".join(f"Recap: {r}" for r in t.away_summaries[-5:]) or None)
    how = SOURCES.get(source, source)
    where = f"{' on branch ' + t.git_branch if t.git_branch else ''}{'; PR ' + t.pr_url if t.pr_url else ''}"
    trig = f" ({trigger} compaction)" if source == "pre-compact" else f" (session ended: {trigger})" if trigger else ""
    state: dict[str, Any] = {"cwd": t.cwd or project, "git_branch": t.git_branch, "lines": t.lines,
                             "bad_lines": t.bad_lines, "compactions": t.compactions}
    if t.unknown_types:
        state["unknown_line_types"] = dict(t.unknown_types)
    if t.pr_url:
        state["pr"] = {"url": t.pr_url, "number": t.pr_number}
    if t.version:
        state["claude_code_version"] = t.version
    if repo:
        state["repo"] = repo
    return {
        "title": title_of(t),
        "goal": goal_of(t),
        "project": project,
        "progress": progress if progress is None or progress < 100 else 99,  # not finished until marked so
        "current_work": short(current, MAX_TEXT) if current else None,
        "completed": [c[:MAX_ITEM] for c in done if c][:500],
        "files": files_of(t, root),
        "next_step": next_step[:MAX_TEXT] if next_step else None,
        "remaining": [r[:MAX_ITEM] for r in remaining if r][:500],
        "discoveries": [f"Sub-agent {r}"[:MAX_ITEM] for r in t.agent_results[-20:]],
        "resume_instructions": (
            f"Captured automatically by {how}{trig}{where}. The whole transcript is in this checkpoint's"
            " payload: open_checkpoint with components ['payload'] if a detail is missing."
            + (f" {describe_state(repo)}" if repo else ""))[:MAX_TEXT],
        "summary": summary[:MAX_SUMMARY] if summary else None,
        "tags": list(dict.fromkeys(["auto", source] + ([trigger] if trigger else []))),  # trigger "auto" once
        "parent_id": parent_id,
        "session_id": session_id or t.session_id,
        "agent_id": "claude-code",
        "payload": {"transcript": transcript_text, "tool_history": t.tool_history[-MAX_TOOL_HISTORY:],
                    "project_state": state},
    }
