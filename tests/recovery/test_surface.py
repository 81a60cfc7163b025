"""Server instructions, the resume prompt and the checkpoint:// resources."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from mcp import Client

from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.domain.time import utcnow
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.server import build_server, open_state
from mcp_server_checkpoints.server.app import INSTRUCTIONS

pytestmark = pytest.mark.anyio


def test_instructions_under_2kb_and_say_what_to_do() -> None:
    assert len(INSTRUCTIONS.encode()) < 2048
    for words in ("start of EVERY conversation", "recover", "save_checkpoint", "mark_status", "on-hold"):
        assert words in INSTRUCTIONS


async def test_prompt_and_resources(tmp_path: Path) -> None:
    state = open_state(Settings(db=tmp_path / "s.db"))
    cid = state.store.save(CheckpointFields(title="Search indexing", goal="Index docs with tantivy", progress=40,
                                            next_step="Add the tokenizer"), now=utcnow() - timedelta(hours=1)).id
    async with Client(build_server(state.settings, state)) as c:
        assert c.instructions == INSTRUCTIONS
        prompts = {p.name: p for p in (await c.list_prompts()).prompts}
        assert "resume" in prompts and [a.name for a in prompts["resume"].arguments or []] == ["topic"]
        got = await c.get_prompt("resume", {"topic": "search indexing"})
        text = got.messages[0].content.text  # type: ignore[union-attr]
        assert "Search indexing" in text and "Ask me whether to continue" in text

        latest = await c.read_resource("checkpoint://latest")
        assert "Add the tokenizer" in latest.contents[0].text  # type: ignore[union-attr]
        one = await c.read_resource(f"checkpoint://{cid}")
        assert "GOAL" in one.contents[0].text  # type: ignore[union-attr]
        with pytest.raises(Exception, match="no checkpoint"):
            await c.read_resource("checkpoint://checkpoint-2026-01-01-missing-000000")
