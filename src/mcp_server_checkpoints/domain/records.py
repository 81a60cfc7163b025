"""What the store gives back: plain dataclasses, and the vocabulary (statuses, components, bounds).

No pydantic here. The Claude Code hooks start a new process for every session start and compaction,
and importing pydantic alone took half of a session-start hook's time; so storage and recovery hand
these records around, and pydantic stays at the boundaries: tool inputs and outputs (models.py) and
the export format (validated through a TypeAdapter of `Checkpoint` when a file is imported).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from mcp_server_checkpoints.domain.statuses import Status

Outcome = Literal["worked", "failed", "partial"]
Component = Literal[
    "goal", "progress", "completed", "decisions", "pending", "context", "files", "resume", "summary", "payload"
]
COMPONENTS: tuple[str, ...] = (
    "goal", "progress", "completed", "decisions", "pending", "context", "files", "resume", "summary", "payload"
)
SemanticState = Literal["ready", "warming", "off"]
Action = Literal["apply", "confirm", "choose", "none"]

# Bounds keep one checkpoint well inside a client's tool-output limit and stop hostile input
# (10k-item lists, megabyte titles) before it reaches the database.
MAX_TITLE = 300
MAX_TEXT = 20_000
MAX_SUMMARY = 200_000
MAX_ITEMS = 500
MAX_ITEM = 4_000


@dataclass
class FileRecord:
    path: str
    change: str = ""


@dataclass
class DecisionRecord:
    decision: str
    reasoning: str = ""


@dataclass
class ApproachRecord:
    approach: str
    outcome: Outcome
    note: str = ""


@dataclass
class PayloadRecord:
    transcript: str | None = None
    tool_history: Any = None
    project_state: Any = None


@dataclass
class StatusChange:
    status: Status
    at: str
    note: str | None = None


@dataclass(kw_only=True)
class Checkpoint:
    """A stored checkpoint, every field (what `ckpt export` writes, one per line, in this order)."""

    id: str
    title: str
    goal: str
    project: str | None = None
    status: Status
    progress: int | None = None
    phase: str | None = None
    current_work: str | None = None
    completed: list[str] = field(default_factory=list)
    files: list[FileRecord] = field(default_factory=list)
    decisions: list[DecisionRecord] = field(default_factory=list)
    next_step: str | None = None
    remaining: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    user_input_needed: list[str] = field(default_factory=list)
    approaches: list[ApproachRecord] = field(default_factory=list)
    preferences: list[str] = field(default_factory=list)
    discoveries: list[str] = field(default_factory=list)
    resume_instructions: str | None = None
    summary: str | None = None
    tags: list[str] = field(default_factory=list)
    parent_id: str | None = None
    session_id: str | None = None
    agent_id: str | None = None
    created_at: str
    updated_at: str
    redactions: dict[str, int] = field(default_factory=dict)  # secrets replaced before storage, by kind
    history: list[StatusChange] = field(default_factory=list)
    payload: PayloadRecord | None = None


@dataclass
class Saved:
    """What a save reports (the tools return it as `SaveResult`)."""

    id: str
    project: str | None
    status: str
    created_at: str
    parent_id: str | None
    stored_bytes: int  # the payload in the database (compressed)
    raw_bytes: int  # the payload before compression
    redactions: dict[str, int] = field(default_factory=dict)  # secrets replaced before storing, by kind


def _describe(descriptions: dict[str, str]) -> Any:
    """pydantic's json_schema_extra for a dataclass: field descriptions in its output schema."""

    def extra(schema: dict[str, Any]) -> None:
        for name, text in descriptions.items():
            schema.get("properties", {}).get(name, {})["description"] = text

    return extra


@dataclass
class SearchHit:
    # Read by pydantic where a tool returns hits (SearchResult); a plain dict, so pydantic is not imported.
    __pydantic_config__ = {"json_schema_extra": _describe({
        "age_hours": "Hours since the checkpoint was saved",
        "lexical": "Lexical (bm25) component of the score, when the query had one",
        "semantic": "Semantic (cosine) component of the score, when embeddings were used",
        "matched": "Why it was found: the passage that matched the query best, or the words bm25 matched",
    })}

    id: str
    title: str
    goal: str
    project: str | None
    status: Status
    progress: int | None
    next_step: str | None
    updated_at: str
    age_hours: float
    score: float
    lexical: float | None = None
    semantic: float | None = None
    matched: str | None = None


@dataclass
class StatusResult:
    """`mark_status`: the updated header and the whole status history."""

    id: str
    title: str
    project: str | None
    status: Status
    updated_at: str
    parent_id: str | None
    history: list[StatusChange]


@dataclass
class Candidate:
    id: str
    title: str
    status: Status
    age_hours: float
    score: float


@dataclass
class RecoverResult:
    """`recover`: what to do (apply / confirm / choose / none), how sure, why, the candidates, and the text to show."""

    action: Action
    confidence: float
    reasons: list[str]
    candidates: list[Candidate]
    text: str


def checkpoint_from_data(data: dict[str, Any]) -> Checkpoint:
    """A Checkpoint from plain data of its shape (a stored row's fields, `dataclasses.asdict` of one)."""
    nested = dict(data)
    nested["files"] = [FileRecord(**f) for f in data.get("files") or []]
    nested["decisions"] = [DecisionRecord(**d) for d in data.get("decisions") or []]
    nested["approaches"] = [ApproachRecord(**a) for a in data.get("approaches") or []]
    nested["history"] = [StatusChange(**h) for h in data.get("history") or []]
    payload = data.get("payload")
    nested["payload"] = PayloadRecord(**payload) if isinstance(payload, dict) else payload
    return Checkpoint(**nested)
