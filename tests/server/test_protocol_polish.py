"""Titles on every resource and template, the resume prompt's topic described and completed, and a plain
answer when there is nothing to resume — each seen through the real MCP client."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, PromptReference, ResourceTemplateReference

from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.domain.time import utcnow
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.server import build_server, open_state

pytestmark = pytest.mark.anyio


async def test_resources_and_the_template_have_titles(client: Client) -> None:
    resources = {r.uri: r.title for r in (await client.list_resources()).resources}
    assert resources == {"checkpoint://latest": "Latest checkpoint", "memory://knowledge-graph": "Knowledge Graph"}
    templates = {t.uri_template: t.title for t in (await client.list_resource_templates()).resource_templates}
    assert templates == {"checkpoint://{id}": "Checkpoint"}


async def test_resume_topic_is_described(client: Client) -> None:
    prompt = next(p for p in (await client.list_prompts()).prompts if p.name == "resume")
    (topic,) = prompt.arguments or []
    assert topic.name == "topic" and topic.required is False
    assert topic.description and "title" in topic.description


async def test_completions_capability_is_declared(client: Client) -> None:
    caps = client.server_capabilities
    assert caps.completions is not None


async def test_resume_topic_completes_recent_unfinished_titles(tmp_path: Path) -> None:
    state = open_state(Settings(db=tmp_path / "c.db", semantic=False))
    now = utcnow()
    for i, (title, status) in enumerate([("Search indexing", "in-progress"), ("Search ranking", "paused"),
                                         ("JWT refresh", "in-progress"), ("Old search work", "in-progress")]):
        state.store.save(CheckpointFields(title=title, goal=f"goal {i}", status=status), now=now - timedelta(hours=i))
    done = state.store.save(CheckpointFields(title="Search docs", goal="g"), now=now).id
    state.store.set_status(done, "completed")
    async with Client(build_server(state.settings, state)) as c:
        got = await c.complete(PromptReference(type="ref/prompt", name="resume"), {"name": "topic", "value": "sea"})
        assert got.completion.values == ["Search indexing", "Search ranking", "Old search work"]
        assert got.completion.total == 3 and not got.completion.has_more
        everything = await c.complete(PromptReference(type="ref/prompt", name="resume"), {"name": "topic", "value": ""})
        assert "JWT refresh" in everything.completion.values and "Search docs" not in everything.completion.values
        ids = await c.complete(ResourceTemplateReference(type="ref/resource", uri="checkpoint://{id}"),
                               {"name": "id", "value": "jwt"})
        assert len(ids.completion.values) == 1 and ids.completion.values[0].startswith("checkpoint-")


@pytest.mark.parametrize(("ref", "argument"), [
    (PromptReference(type="ref/prompt", name="sk-secret-prompt"), "topic"),
    (PromptReference(type="ref/prompt", name="resume"), "sk-secret-arg"),
    (ResourceTemplateReference(type="ref/resource", uri="file:///sk-secret"), "id"),
    (ResourceTemplateReference(type="ref/resource", uri="checkpoint://latest"), "id"),
    (ResourceTemplateReference(type="ref/resource", uri="checkpoint://{id}"), "sk-secret-arg"),
])
async def test_completing_anything_else_is_invalid_params(client: Client, ref: PromptReference | ResourceTemplateReference,
                                                          argument: str) -> None:
    with pytest.raises(MCPError) as caught:
        await client.complete(ref, {"name": argument, "value": "x"})
    assert caught.value.code == INVALID_PARAMS and "sk-secret" not in caught.value.message


async def test_resume_without_topic_on_an_empty_database_says_there_is_nothing(client: Client) -> None:
    got = await client.get_prompt("resume", {})
    text = got.messages[0].content.text  # type: ignore[union-attr]
    assert "continue" not in text.split("\n")[0].lower()
    assert "There is no unfinished work to resume" in text and "ask me what to work on" in text
