"""The four checkpoint tools through the in-memory MCP client."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from tests.conftest import FULL

pytestmark = pytest.mark.anyio

SECRET = "sk-ant-api03-DO-NOT-ECHO-THIS-VALUE"


async def ok(client: Client, name: str, args: dict[str, Any]) -> dict[str, Any]:
    res = await client.call_tool(name, args)
    assert not res.is_error, res.content
    assert res.structured_content is not None
    return res.structured_content


async def err(client: Client, name: str, args: dict[str, Any]) -> str:
    res = await client.call_tool(name, args)
    assert res.is_error
    text = res.content[0].text  # type: ignore[union-attr]
    assert "Traceback" not in text
    return text


async def test_tools_listed_with_schemas_and_annotations(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) >= {"save_checkpoint", "search_checkpoints", "open_checkpoint", "mark_status"}
    for t in tools.values():
        assert t.input_schema.get("additionalProperties") is False
        assert t.output_schema is not None
        assert t.description
    assert tools["search_checkpoints"].annotations.read_only_hint is True  # type: ignore[union-attr]
    assert tools["open_checkpoint"].annotations.read_only_hint is True  # type: ignore[union-attr]
    assert tools["save_checkpoint"].annotations.read_only_hint is False  # type: ignore[union-attr]
    save_props = tools["save_checkpoint"].input_schema["properties"]
    assert set(FULL) <= set(save_props) and tools["save_checkpoint"].input_schema["required"] == ["title", "goal"]


async def test_save_search_open_mark(client: Client) -> None:
    saved = await ok(client, "save_checkpoint", FULL)
    assert set(saved) == {"id", "project", "status", "created_at", "parent_id", "stored_bytes", "raw_bytes",
                          "redactions"}
    assert saved["status"] == "paused" and saved["project"] == "api"

    found = await ok(client, "search_checkpoints", {"query": "refresh endpoint"})
    assert found["semantic"] == "off"
    hit = found["results"][0]
    assert hit["id"] == saved["id"]
    assert set(hit) >= {"id", "title", "goal", "project", "status", "progress", "next_step", "updated_at",
                        "age_hours", "score"}

    opened = await ok(client, "open_checkpoint", {"id": saved["id"]})
    assert opened["integrity"]["verified"] is True and len(opened["integrity"]["sha256"]) == 64
    assert opened["payload"] is None  # not requested by default
    for item in FULL["completed"] + FULL["remaining"]:  # type: ignore[operator]
        assert item in opened["summary_markdown"]
    assert opened["decisions"] == FULL["decisions"]

    marked = await ok(client, "mark_status", {"id": saved["id"], "status": "completed", "note": "shipped"})
    assert [h["status"] for h in marked["history"]] == ["paused", "completed"]
    assert (await ok(client, "search_checkpoints", {"query": "refresh endpoint"}))["results"] == []


async def test_selective_components(client: Client) -> None:
    saved = await ok(client, "save_checkpoint", FULL)
    only = await ok(client, "open_checkpoint", {"id": saved["id"], "components": ["pending", "payload"]})
    assert only["next_step"] == FULL["next_step"] and only["remaining"] == FULL["remaining"]
    assert only["payload"]["transcript"] == FULL["payload"]["transcript"]  # type: ignore[index]
    assert only["goal"] is None and only["decisions"] is None and only["completed"] is None


@pytest.mark.parametrize(
    ("tool", "args", "expect"),
    [
        ("save_checkpoint", {"title": "", "goal": "g"}, "title: must not be empty"),
        ("save_checkpoint", {"goal": "g"}, "title: is required"),
        ("save_checkpoint", {"title": "t", "goal": "g", "status": "completed"}, "status"),
        ("save_checkpoint", {"title": "t", "goal": "g", "progress": 101}, "progress"),
        ("save_checkpoint", {"title": "t", "goal": "g", "progress": -1}, "progress"),
        ("save_checkpoint", {"title": "t", "goal": "g", "progress": "lots"}, "progress"),
        ("save_checkpoint", {"title": "t", "goal": "g", "api_key": SECRET}, "api_key: is not an argument"),
        ("save_checkpoint", {"title": "t", "goal": "g", "files": [{"path": "a", "token": SECRET}]}, "files.0.token"),
        ("save_checkpoint", {"title": SECRET * 20, "goal": "g"}, "title"),
        ("save_checkpoint", {"title": "t", "goal": "g", "completed": ["x"] * 10_000}, "completed"),
        ("save_checkpoint", {"title": "t", "goal": "g", "parent_id": SECRET}, "parent_id names no stored checkpoint"),
        ("save_checkpoint", {"title": "t", "goal": "g", "payload": {"transcript": SECRET * 40_000}}, "above the limit"),
        ("save_checkpoint", {"title": "t\ud800", "goal": "g"}, "title: must be valid Unicode"),
        ("search_checkpoints", {"status": ["done"]}, "status.0"),
        ("search_checkpoints", {"limit": 0}, "limit"),
        ("open_checkpoint", {"id": SECRET}, "no checkpoint"),
        ("open_checkpoint", {"id": "x", "components": ["everything"]}, "components.0"),
        ("mark_status", {"id": "checkpoint-x", "status": "finished"}, "status"),
        ("mark_status", {"id": SECRET, "status": "completed"}, "no checkpoint"),
    ],
)
async def test_bad_input_is_a_clear_tool_error(client: Client, tool: str, args: dict[str, Any], expect: str) -> None:
    text = await err(client, tool, args)
    assert expect in text
    assert SECRET not in text and "DO-NOT-ECHO" not in text
    # nothing half-written, and the server keeps serving
    assert (await ok(client, "search_checkpoints", {"query": "", "status": ["any"]}))["results"] == []
    assert (await ok(client, "save_checkpoint", {"title": "after", "goal": "still serving"}))["id"]


async def test_claude_desktop_style_json_strings_accepted(client: Client) -> None:
    # Some clients send lists as JSON text; the SDK parses them, and strict checking must agree.
    saved = await ok(client, "save_checkpoint", {"title": "t", "goal": "g", "completed": '["a", "b"]'})
    opened = await ok(client, "open_checkpoint", {"id": saved["id"], "components": ["completed"]})
    assert opened["completed"] == ["a", "b"]


async def test_save_with_parent_links_lineage(client: Client) -> None:
    a = await ok(client, "save_checkpoint", {"title": "Migration", "goal": "move to postgres"})
    b = await ok(client, "save_checkpoint", {"title": "Migration", "goal": "move to postgres", "parent_id": a["id"]})
    assert b["parent_id"] == a["id"]
    found = await ok(client, "search_checkpoints", {"query": "postgres"})
    assert [h["id"] for h in found["results"]] == [b["id"]]
    both = await ok(client, "search_checkpoints", {"query": "postgres", "all_versions": True})
    assert {h["id"] for h in both["results"]} == {a["id"], b["id"]}
