"""Our memory tools list as the official server's `tools/list` dump (tests/data), save the allowed differences."""

from __future__ import annotations

import json

import pytest
from mcp import Client

from tests.memory_contract import MEMORY_TOOLS, load_dump, normalise_tool

pytestmark = pytest.mark.anyio


def _wire(obj: object) -> dict[str, object]:
    return json.loads(obj.model_dump_json(by_alias=True, exclude_none=True))  # type: ignore[attr-defined,no-any-return]


async def test_tools_match_the_official_dump(client: Client) -> None:
    ours = {t.name: _wire(t) for t in (await client.list_tools()).tools}
    official = {t["name"]: t for t in load_dump()["tools"]}
    assert sorted(official) == sorted(MEMORY_TOOLS)
    for name in MEMORY_TOOLS:
        assert normalise_tool(ours[name]) == normalise_tool(official[name]), name


async def test_input_objects_are_closed(client: Client) -> None:
    for tool in (await client.list_tools()).tools:
        if tool.name in MEMORY_TOOLS:
            assert tool.input_schema["additionalProperties"] is False, tool.name
            items = [p.get("items") for p in tool.input_schema["properties"].values()]
            for item in items:
                if isinstance(item, dict) and item.get("type") == "object":
                    assert item["additionalProperties"] is False, tool.name


async def test_resource_matches_the_official_dump(client: Client) -> None:
    ours = [_wire(r) for r in (await client.list_resources()).resources]
    assert [r for r in ours if r["uri"] == "memory://knowledge-graph"] == load_dump()["resources"]
