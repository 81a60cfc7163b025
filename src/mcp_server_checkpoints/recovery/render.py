"""The recovered summary of a checkpoint, in the layout of the recovery specification.

GOAL, COMPLETED (with decisions), PENDING (next step first), KEY CONTEXT, RESUMING FROM.
Every heading is a word; the emoji before it are decoration, so the text reads the same without them.

Truncation rule (the result never exceeds `limit` characters): while too long, drop whole items,
least important kind first and, within a kind, oldest first —
summary text, discoveries, approaches, file changes, completed items, decisions, preferences,
remaining tasks (from the end). The goal, the progress line and the next step are never dropped.
A line saying how many items were left out (and that open_checkpoint has them all) replaces them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mcp_server_checkpoints.domain.records import Checkpoint
from mcp_server_checkpoints.domain.time import human_age
from mcp_server_checkpoints.recovery.drift import Drift, drift_lines

RULE = "═" * 47
DEFAULT_LIMIT = 10_000

# Drop order, first dropped first. Each name is a list of lines in _Parts.
DROP_ORDER = ("summary", "discoveries", "approaches", "files", "completed", "decisions", "preferences", "remaining")


@dataclass
class _Parts:
    completed: list[str]
    files: list[str]
    decisions: list[str]
    remaining: list[str]
    preferences: list[str]
    approaches: list[str]
    discoveries: list[str]
    summary: list[str]


def _parts(cp: Checkpoint) -> _Parts:
    return _Parts(
        completed=[f"- {c}" for c in cp.completed],
        files=[f"- {f.path}: {f.change}" if f.change else f"- {f.path}" for f in cp.files],
        decisions=[f"- {d.decision}: {d.reasoning}" if d.reasoning else f"- {d.decision}" for d in cp.decisions],
        remaining=[f"{i}. {t}" for i, t in enumerate(cp.remaining, 1)],
        preferences=[f"- Preference: {p}" for p in cp.preferences],
        approaches=[
            f"- {'Worked' if a.outcome == 'worked' else 'Failed' if a.outcome == 'failed' else 'Partly worked'}:"
            f" {a.approach}{f' ({a.note})' if a.note else ''}"
            for a in cp.approaches
        ],
        discoveries=[f"- Discovery: {d}" for d in cp.discoveries],
        summary=[cp.summary] if cp.summary else [],
    )


def _compose(cp: Checkpoint, p: _Parts, omitted: int, emoji: bool, now: datetime | None,
             drift: Drift | None = None) -> str:
    def h(icon: str, word: str) -> str:
        return f"{icon} {word}" if emoji else word

    out: list[str] = [h("💡", "CONTEXT RECOVERED FROM CHECKPOINT"), ""]
    out.append(f"{h('📅', 'Saved:')} {human_age(cp.created_at, now)} ({cp.created_at})")
    progress = f"{cp.progress}%" if cp.progress is not None else "not stated"
    out.append(f"{h('📊', 'Original progress:')} {progress}" + (f" — phase: {cp.phase}" if cp.phase else ""))
    out.append(f"Checkpoint: {cp.id} (status: {cp.status}{', project: ' + cp.project if cp.project else ''})")
    if drift is not None and drift.any:  # first, so a stale picture is seen as stale; never dropped
        out += ["", *drift_lines(drift)]
    out += ["", RULE, "", h("🎯", "GOAL"), cp.goal]
    if cp.current_work:
        out += ["", f"Current work: {cp.current_work}"]
    out += ["", h("✅", "COMPLETED")]
    out += p.completed + p.files or (["- (nothing recorded)"] if not (cp.completed or cp.files) else [])
    if p.decisions:
        out += ["", "Decisions made:"] + p.decisions
    out += ["", h("⏳", "PENDING"), f"Next immediate step: {cp.next_step or '(not recorded)'}"]
    if p.remaining:
        out += ["", "Remaining tasks:"] + p.remaining
    if cp.blockers:
        out += ["", "Blockers:"] + [f"- {b}" for b in cp.blockers]
    if cp.user_input_needed:
        out += ["", "User input needed:"] + [f"- {q}" for q in cp.user_input_needed]
    context = p.preferences + p.approaches + p.discoveries
    if cp.resume_instructions:
        context = [f"- Resume instructions: {cp.resume_instructions}"] + context
    if context:
        out += ["", h("🔑", "KEY CONTEXT")] + context
    if p.summary:
        out += ["", "Session summary:", p.summary[0]]
    if omitted:
        out += ["", f"[{omitted} older or less important item{'s' if omitted != 1 else ''} left out to stay under"
                    f" the size limit; open_checkpoint {cp.id} has them all]"]
    out += ["", RULE, "", f"{h('▶️ ', 'RESUMING FROM:')} {cp.next_step or cp.current_work or cp.goal}"]
    return "\n".join(out)


def render_summary(cp: Checkpoint, *, limit: int = DEFAULT_LIMIT, emoji: bool = True, now: datetime | None = None,
                   drift: Drift | None = None) -> str:
    """The recovered summary of `cp`, at most `limit` characters (see the module's truncation rule);
    with `drift`, what changed in the repository since it was saved (recovery/drift.py)."""
    parts = _parts(cp)
    omitted = 0
    text = _compose(cp, parts, omitted, emoji, now, drift)
    for kind in DROP_ORDER:
        items: list[str] = getattr(parts, kind)
        while len(text) > limit and items:
            if kind == "summary":
                # The free-text summary is trimmed from its start (its oldest part) before being dropped.
                over = len(text) - limit + 40
                s = items[0]
                if len(s) - over > 500:
                    items[0] = "[…] " + s[over:]
                else:
                    items.pop(0)
                    omitted += 1
            else:
                items.pop(-1 if kind == "remaining" else 0)
                omitted += 1
            text = _compose(cp, parts, omitted, emoji, now, drift)
    if len(text) > limit:  # only giant single fields are left: cut hard, keeping the start
        marker = "\n[… cut to the size limit]"
        text = text[: limit - len(marker)] + marker
    return text
