"""Pydantic models of the MCP tools' inputs and outputs.

The tool contracts of DESIGN.md live here: the server derives each tool's input schema from
these models, so a field added here is a field clients see. What the store returns (and the
export format) are the plain dataclasses of records.py, re-exported here.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from mcp_server_checkpoints.domain.records import (
    MAX_ITEM as MAX_ITEM,
)
from mcp_server_checkpoints.domain.records import (
    MAX_ITEMS as MAX_ITEMS,
)
from mcp_server_checkpoints.domain.records import (
    MAX_SUMMARY as MAX_SUMMARY,
)
from mcp_server_checkpoints.domain.records import (
    MAX_TEXT as MAX_TEXT,
)
from mcp_server_checkpoints.domain.records import (
    MAX_TITLE as MAX_TITLE,
)
from mcp_server_checkpoints.domain.records import (
    Candidate as Candidate,
)
from mcp_server_checkpoints.domain.records import (
    Checkpoint as Checkpoint,
)
from mcp_server_checkpoints.domain.records import (
    Component as Component,
)
from mcp_server_checkpoints.domain.records import (
    Outcome as Outcome,
)
from mcp_server_checkpoints.domain.records import (
    RecoverResult as RecoverResult,
)
from mcp_server_checkpoints.domain.records import (
    SearchHit as SearchHit,
)
from mcp_server_checkpoints.domain.records import (
    SemanticState as SemanticState,
)
from mcp_server_checkpoints.domain.records import (
    StatusChange as StatusChange,
)
from mcp_server_checkpoints.domain.records import (
    StatusResult as StatusResult,
)
from mcp_server_checkpoints.domain.statuses import (
    OPEN_STATUSES as OPEN_STATUSES,
)
from mcp_server_checkpoints.domain.statuses import (
    STATUSES as STATUSES,
)
from mcp_server_checkpoints.domain.statuses import (
    SaveStatus as SaveStatus,
)
from mcp_server_checkpoints.domain.statuses import (
    Status as Status,
)
from mcp_server_checkpoints.domain.statuses import (
    StatusFilter as StatusFilter,
)

Title = Annotated[str, Field(min_length=1, max_length=MAX_TITLE)]
Text = Annotated[str, Field(max_length=MAX_TEXT)]
Item = Annotated[str, Field(min_length=1, max_length=MAX_ITEM)]
Items = Annotated[list[Item], Field(max_length=MAX_ITEMS)]


class LazyModel(BaseModel):
    # Validators are built on first use, not at import: the hooks start a process per event and use
    # a few of these models (a third of their start-up time went to building all of them).
    model_config = ConfigDict(defer_build=True)


class _Strict(LazyModel):
    # Unknown fields are a caller's mistake worth reporting, not something to drop silently.
    # from_attributes: an output model (OpenResult) is built from the store's records (records.py).
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, from_attributes=True)


class FileChange(_Strict):
    path: Annotated[str, Field(min_length=1, max_length=1_000, description="File path, relative to the project root when possible")]
    change: Annotated[str, Field(max_length=MAX_ITEM, description="What was done to the file")] = ""


class Decision(_Strict):
    decision: Item
    reasoning: Annotated[str, Field(max_length=MAX_ITEM)] = ""


class Approach(_Strict):
    approach: Item
    outcome: Outcome
    note: Annotated[str, Field(max_length=MAX_ITEM)] = ""


class Payload(_Strict):
    """Large context stored compressed, verified by sha256 on every read."""

    transcript: str | None = Field(default=None, description="The conversation transcript (any text format)")
    tool_history: JsonValue = Field(default=None, description="Tool calls made in the session (JSON)")
    project_state: JsonValue = Field(default=None, description="Project state worth restoring (JSON): git branch, env, …")


class CheckpointFields(_Strict):
    """Every field a caller can give `save_checkpoint`; also one line of `ckpt export`."""

    title: Annotated[Title, Field(description="Short name of the work, e.g. 'JWT refresh endpoint'")]
    goal: Annotated[str, Field(min_length=1, max_length=MAX_TEXT, description="The user's original request or goal, in their terms")]
    project: Annotated[str | None, Field(max_length=500, description="Project name or root path; defaults to the server's project")] = None
    status: Annotated[SaveStatus, Field(description="in-progress (default) or paused")] = "in-progress"
    progress: Annotated[int | None, Field(ge=0, le=100, description="Estimated completion, 0–100")] = None
    phase: Annotated[str | None, Field(max_length=MAX_ITEM, description="Current phase or milestone")] = None
    current_work: Annotated[Text | None, Field(description="What was being worked on at the moment of saving")] = None
    completed: Annotated[Items, Field(description="Completed items, oldest first")] = []
    files: Annotated[list[FileChange], Field(max_length=MAX_ITEMS, description="Files created or modified and what changed")] = []
    decisions: Annotated[list[Decision], Field(max_length=MAX_ITEMS, description="Decisions made and why")] = []
    next_step: Annotated[Text | None, Field(description="Exactly what to do first when resuming")] = None
    remaining: Annotated[Items, Field(description="Remaining tasks, in order")] = []
    blockers: Annotated[Items, Field(description="What blocks progress")] = []
    user_input_needed: Annotated[Items, Field(description="Questions waiting for the user")] = []
    approaches: Annotated[list[Approach], Field(max_length=MAX_ITEMS, description="Approaches tried and how they went")] = []
    preferences: Annotated[Items, Field(description="User preferences to keep applying (style, tools, …)")] = []
    discoveries: Annotated[Items, Field(description="Important findings about the code or environment")] = []
    resume_instructions: Annotated[Text | None, Field(description="Instructions for the agent that resumes this work")] = None
    summary: Annotated[str | None, Field(max_length=MAX_SUMMARY, description="Free text, e.g. a compaction summary")] = None
    tags: Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=50, description="Tags for search")] = []
    parent_id: Annotated[str | None, Field(max_length=200, description="The checkpoint this one continues (same work, later state)")] = None
    session_id: Annotated[str | None, Field(max_length=200, description="The client's session id, if known")] = None
    agent_id: Annotated[str | None, Field(max_length=200, description="Which agent saved it")] = None
    payload: Annotated[Payload | None, Field(description="Large context: transcript, tool history, project state (compressed)")] = None


class SaveResult(LazyModel):
    id: str
    project: str | None
    status: Status
    created_at: str
    parent_id: str | None
    stored_bytes: int = Field(description="Bytes the payload takes in the database (compressed)")
    raw_bytes: int = Field(description="Bytes of the payload before compression")
    redactions: dict[str, int] = Field(default_factory=dict,
                                       description="Secrets replaced by [REDACTED:kind] before storing, by kind")


class SearchResult(LazyModel):
    results: list[SearchHit]
    semantic: SemanticState


class Integrity(LazyModel):
    verified: bool
    sha256: str | None


class OpenResult(LazyModel):
    """`open_checkpoint`: the header, the requested components, the rendered summary, integrity."""

    id: str
    title: str
    project: str | None
    status: Status
    created_at: str
    updated_at: str
    age_hours: float
    parent_id: str | None
    session_id: str | None = None
    goal: str | None = None
    progress: int | None = None
    phase: str | None = None
    current_work: str | None = None
    completed: list[str] | None = None
    decisions: list[Decision] | None = None
    next_step: str | None = None
    remaining: list[str] | None = None
    blockers: list[str] | None = None
    user_input_needed: list[str] | None = None
    approaches: list[Approach] | None = None
    preferences: list[str] | None = None
    discoveries: list[str] | None = None
    files: list[FileChange] | None = None
    resume_instructions: str | None = None
    summary: str | None = None
    tags: list[str] | None = None
    payload: Payload | None = None
    history: list[StatusChange]
    redactions: dict[str, int] = Field(default_factory=dict,
                                       description="Secrets replaced by [REDACTED:kind] before storage, by kind")
    summary_markdown: str
    integrity: Integrity
