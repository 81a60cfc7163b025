"""Argument errors answered by the strict middleware carry only the fields of the negotiated protocol version,
as the SDK's own tool results do (no `resultType` on a handshake-era connection)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.server import build_server
from mcp_server_checkpoints.server.describe import INITIALIZED, exchange, initialize_line, request_line
from mcp_server_checkpoints.server.stdio import answer_for

pytestmark = pytest.mark.anyio


def _call(rid: int, name: str, arguments: dict[str, Any]) -> str:
    return request_line(rid, "tools/call", {"name": name, "arguments": arguments})


@pytest.mark.parametrize("version", HANDSHAKE_PROTOCOL_VERSIONS)
async def test_argument_errors_have_the_same_fields_as_sdk_tool_errors(tmp_path: Path, version: str) -> None:
    server = build_server(Settings(db=tmp_path / "e.db", semantic=False))
    out = await exchange(server, [
        initialize_line(1, version), INITIALIZED,
        _call(2, "search_checkpoints", {"query": "x", "not_an_argument": 1}),  # the strict middleware
        _call(3, "open_checkpoint", {"checkpoint_id": "checkpoint-2026-01-01-missing-000000"}),  # the SDK's path
    ])
    strict, sdk = (json.loads(line)["result"] for line in out[1:])
    assert strict["isError"] is True and sdk["isError"] is True
    assert "not_an_argument" in strict["content"][0]["text"]
    assert set(strict) == set(sdk) == {"content", "isError"}
    assert list(strict["content"][0]) == list(sdk["content"][0])  # the same key order as well


def test_the_stdio_guards_tool_errors_have_no_stray_fields() -> None:
    line = _call(9, "save_checkpoint", {"title": "\ud800"})
    reply = answer_for(line, {"save_checkpoint": {"title"}}.get)
    assert reply is not None
    result = json.loads(reply.model_dump_json(by_alias=True, exclude_unset=True))["result"]
    assert set(result) == {"content", "isError"}
