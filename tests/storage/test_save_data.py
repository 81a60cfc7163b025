"""`save_data` (plain data, bounds checked without pydantic: the hooks) accepts and refuses what the tools'
CheckpointFields does, and stores the same checkpoint as `save`."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pydantic import ValidationError

from mcp_server_checkpoints.domain.records import MAX_ITEM, MAX_ITEMS, MAX_SUMMARY, MAX_TEXT, MAX_TITLE
from mcp_server_checkpoints.errors import InvalidInputError
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore

FULL: dict[str, Any] = {
    "title": "JWT refresh", "goal": "Add refresh tokens", "project": "/home/dev/api", "status": "paused",
    "progress": 40, "phase": "middleware", "current_work": "verifying tokens", "completed": ["login"],
    "files": [{"path": "src/auth.js", "change": "sign()"}, {"path": "src/a.js"}],
    "decisions": [{"decision": "RS256", "reasoning": "the gateway verifies"}], "next_step": "refresh endpoint",
    "remaining": ["refresh", "docs"], "blockers": ["no staging key"], "user_input_needed": ["which TTL?"],
    "approaches": [{"approach": "HS256", "outcome": "failed", "note": "gateway"}], "preferences": ["tabs"],
    "discoveries": ["tokens are cached"], "resume_instructions": "run npm test", "summary": "long " * 100,
    "tags": ["auto", "pre-compact"], "session_id": "s-1", "agent_id": "claude-code",
    "payload": {"transcript": '{"type":"user"}\n', "tool_history": [{"tool": "Read", "target": "a"}],
                "project_state": {"cwd": "/home/dev/api", "password": "hunter2"}},
}

BAD: list[tuple[str, dict[str, Any]]] = [
    ("empty title", {"title": ""}), ("long title", {"title": "t" * (MAX_TITLE + 1)}),
    ("no goal", {"goal": ""}), ("long goal", {"goal": "g" * (MAX_TEXT + 1)}),
    ("status", {"status": "completed"}), ("progress high", {"progress": 101}), ("progress low", {"progress": -1}),
    ("progress fraction", {"progress": 40.5}), ("long project", {"project": "p" * 501}),
    ("long phase", {"phase": "p" * (MAX_ITEM + 1)}), ("long next step", {"next_step": "n" * (MAX_TEXT + 1)}),
    ("long summary", {"summary": "s" * (MAX_SUMMARY + 1)}), ("empty item", {"remaining": ["ok", ""]}),
    ("long item", {"completed": ["c" * (MAX_ITEM + 1)]}), ("many items", {"blockers": ["b"] * (MAX_ITEMS + 1)}),
    ("item not text", {"discoveries": [3]}), ("many tags", {"tags": ["t"] * 51}), ("long tag", {"tags": ["t" * 101]}),
    ("file without path", {"files": [{"change": "x"}]}), ("empty path", {"files": [{"path": ""}]}),
    ("long path", {"files": [{"path": "p" * 1001}]}), ("unknown file key", {"files": [{"path": "a", "why": "x"}]}),
    ("approach outcome", {"approaches": [{"approach": "a", "outcome": "maybe"}]}),
    ("decision missing", {"decisions": [{"reasoning": "r"}]}), ("long id", {"parent_id": "x" * 201}),
    ("unknown field", {"colour": "red"}), ("payload key", {"payload": {"transcript": "t", "extra": 1}}),
    ("transcript not text", {"payload": {"transcript": 5}}),
]


@pytest.mark.parametrize(("what", "change"), BAD, ids=[b[0] for b in BAD])
def test_both_refuse_what_is_out_of_bounds(store: SQLiteCheckpointStore, what: str, change: dict[str, Any]) -> None:
    data = {**FULL, **change}
    with pytest.raises(ValidationError):
        CheckpointFields.model_validate(data)
    with pytest.raises(InvalidInputError):
        store.save_data(data)
    assert store.count() == 0  # nothing half-written


def test_both_accept_the_bounds_themselves(store: SQLiteCheckpointStore) -> None:
    edge = {**FULL, "title": "t" * MAX_TITLE, "goal": "g" * MAX_TEXT, "progress": 100, "tags": ["t" * 100] * 50,
            "remaining": ["r" * MAX_ITEM] * 3, "summary": "s" * MAX_SUMMARY, "files": [{"path": "p" * 1000}]}
    CheckpointFields.model_validate(edge)
    store.save_data(edge)
    minimal = {"title": "t", "goal": "g"}
    CheckpointFields.model_validate(minimal)
    assert store.save_data(minimal).status == "in-progress"


def test_save_data_stores_what_save_stores(store: SQLiteCheckpointStore) -> None:
    by_model = store.save(CheckpointFields.model_validate(FULL))
    by_data = store.save_data(FULL)
    assert by_data.redactions == by_model.redactions and sum(by_data.redactions.values()) >= 1
    a, b = store.get(by_model.id), store.get(by_data.id)
    skip = {"id", "created_at", "updated_at", "history"}
    assert {k: v for k, v in dataclasses.asdict(a).items() if k not in skip} == \
        {k: v for k, v in dataclasses.asdict(b).items() if k not in skip}
    assert "hunter2" not in str(dataclasses.asdict(b))


def test_a_lone_surrogate_in_the_payload_is_named_and_nothing_is_written(store: SQLiteCheckpointStore) -> None:
    """The payload's strings are checked as they are encoded, not in a pass of their own: same answer."""
    data = {**FULL, "payload": {**FULL["payload"], "transcript": "ok…\ud800 then more"}}
    with pytest.raises(InvalidInputError, match=r"payload\.transcript contains an unpaired UTF-16 surrogate"):
        store.save_data(data)
    with pytest.raises(InvalidInputError, match=r"payload\.project_state\.cwd"):
        store.save_data({**FULL, "payload": {"project_state": {"cwd": "\udfff"}}})
    assert store.count() == 0
