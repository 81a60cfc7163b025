"""The checkpoint tools: save_checkpoint, search_checkpoints, open_checkpoint, mark_status.

Each is a short typed function: validate, call one storage function, return a model. The
server binds them to a store and registers them; these functions never touch MCP.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from mcp_server_checkpoints.domain.records import COMPONENTS
from mcp_server_checkpoints.domain.time import age_hours, utcnow
from mcp_server_checkpoints.errors import InvalidInputError
from mcp_server_checkpoints.recovery.render import render_summary
from mcp_server_checkpoints.recovery.repo_state import Git, drift_since
from mcp_server_checkpoints.schemas.checkpoints import (
    CheckpointFields,
    Component,
    Integrity,
    OpenResult,
    SaveResult,
    SearchResult,
    Status,
    StatusFilter,
    StatusResult,
)
from mcp_server_checkpoints.storage.protocols import CheckpointStore

# Which checkpoint fields each component of open_checkpoint brings back.
COMPONENT_FIELDS: dict[str, tuple[str, ...]] = {
    "goal": ("goal", "tags"),
    "progress": ("progress", "phase", "current_work"),
    "completed": ("completed",),
    "decisions": ("decisions",),
    "pending": ("next_step", "remaining", "blockers", "user_input_needed"),
    "context": ("approaches", "preferences", "discoveries"),
    "files": ("files",),
    "resume": ("resume_instructions", "next_step"),
    "summary": ("summary",),
    "payload": ("payload",),
}
DEFAULT_COMPONENTS = tuple(c for c in COMPONENTS if c != "payload")


def save_checkpoint(store: CheckpointStore, fields: CheckpointFields) -> SaveResult:
    """Save a checkpoint of the current work so a fresh conversation can resume it without re-asking anything.

    Save before work may be cut off (long tasks, near the context limit, before compaction) and at
    milestones. Give the goal in the user's terms, what is done, decisions with reasons, the exact
    next step, and what is left. To record a later state of the same work, pass parent_id.
    """
    return store.save(fields)


def search_checkpoints(
    store: CheckpointStore,
    query: Annotated[str, Field(max_length=2_000, description="What the work was about; empty lists the most recent")] = "",
    project: Annotated[str | None, Field(max_length=500, description="Only this project")] = None,
    status: Annotated[
        list[StatusFilter] | None,
        Field(max_length=7, description='Statuses to include, or ["any"]; default the open ones: in-progress, paused, on-hold, resumed'),
    ] = None,
    since_hours: Annotated[float | None, Field(gt=0, le=24 * 365 * 20, description="Only checkpoints saved in the last N hours")] = None,
    limit: Annotated[int, Field(ge=1, le=50, description="How many results (default 5)")] = 5,
    all_versions: Annotated[bool, Field(description="Every version of a lineage instead of its newest only")] = False,
) -> SearchResult:
    """Find saved checkpoints by topic, most relevant first (most recent first for an empty query).

    Returns headers (id, title, goal, status, progress, next step, age); open one with open_checkpoint.
    """
    # The state reported is the one the search ran with (the model may finish loading meanwhile).
    out = store.search_with_state(query, project=project, statuses=status, since_hours=since_hours, limit=limit,
                                  all_versions=all_versions)
    return SearchResult(results=out.hits, semantic=out.semantic)


def open_checkpoint(
    store: CheckpointStore,
    id: Annotated[str, Field(min_length=1, max_length=200, description="Checkpoint id, from search_checkpoints or recover")],
    components: Annotated[
        list[Component] | None,
        Field(max_length=10, description="Only these parts (selective restoration); default all but payload"),
    ] = None,
) -> OpenResult:
    """Open a checkpoint: its fields, the rendered recovery summary, and the payload's integrity check.

    The payload (transcript, tool history, project state) can be large: it is returned only when
    "payload" is among the components.
    """
    wanted = tuple(dict.fromkeys(components)) if components else DEFAULT_COMPONENTS
    cp = store.get(id, with_payload="payload" in wanted)
    verified, digest = store.verify_payload(id)
    fields: set[str] = {f for c in wanted for f in COMPONENT_FIELDS[c]}
    data = {f: getattr(cp, f) for f in fields}
    return OpenResult(
        id=cp.id, title=cp.title, project=cp.project, status=cp.status, created_at=cp.created_at,
        updated_at=cp.updated_at, age_hours=age_hours(cp.created_at, utcnow()), parent_id=cp.parent_id,
        session_id=cp.session_id, history=cp.history, redactions=cp.redactions, summary_markdown=render_summary(cp, drift=drift_since(cp, cp.project, Git())),
        integrity=Integrity(verified=verified, sha256=digest), **data,
    )


def mark_status(
    store: CheckpointStore,
    id: Annotated[str, Field(min_length=1, max_length=200, description="Checkpoint id")],
    status: Annotated[Status, Field(description="in-progress, paused, on-hold, resumed, completed or abandoned")],
    note: Annotated[
        str | None,
        Field(max_length=4_000, description="Outcome for completed, reason for abandoned, anything else worth keeping"),
    ] = None,
) -> StatusResult:
    """Record a checkpoint's new status: completed (with the outcome), abandoned (with the reason), on-hold, …

    Mark work completed or abandoned when it ends so it is never offered for recovery again.
    """
    if note is not None and not note.strip():
        raise InvalidInputError("note is blank; omit it or say what happened")
    return store.set_status(id, status, note)
