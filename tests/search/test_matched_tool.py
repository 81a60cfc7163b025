"""search_checkpoints says why each hit was found (`matched`), through the real MCP client."""

from __future__ import annotations

import pytest
from mcp import Client

pytestmark = pytest.mark.anyio


async def test_hits_carry_the_matching_fragment(client: Client) -> None:
    summary = ("Early work on the navigation bar. " * 40 + "Then the flaky upload test was traced to a websocket"
               " reconnect race. " + "Later the footer links were updated. " * 40)
    saved = await client.call_tool("save_checkpoint", {"title": "Weekly session", "goal": "Frontend chores",
                                                       "summary": summary})
    assert not saved.is_error
    res = (await client.call_tool("search_checkpoints", {"query": "websocket race"})).structured_content
    assert res is not None and len(res["results"]) == 1
    matched = res["results"][0]["matched"]
    assert "websocket" in matched and "race" in matched and len(matched) < 400
    recent = (await client.call_tool("search_checkpoints", {"query": ""})).structured_content
    assert recent is not None and recent["results"][0]["matched"] is None  # no query: nothing matched
