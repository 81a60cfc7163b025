"""The memory tools' results handed past the SDK's dumps (server/prepared.py) are the same bytes on the wire.

Each sequence of calls runs twice on identical fresh databases: once as the server runs, once with
the hand-off middleware taken out (the SDK then dumps the whole result itself, as before it existed).
Every line the stdio transport writes must be identical, at every protocol version.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp.types import CallToolResult
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS

from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.server import build_server, prepared
from mcp_server_checkpoints.server.describe import INITIALIZED, exchange, initialize_line, request_line

pytestmark = pytest.mark.anyio

# Text that JSON escapes (quotes, backslashes, control characters, U+2028), text it must not (non-ASCII,
# astral code points), and case folding the search has to get right.
AWKWARD = ['say "hi" \\ then \n newline \t tab', "emoji 🧭 clef 𝄞 and ünïcödé İ Σ", "ctl \x01 \x1f \u2028 end",
           "</script> & <b>", "nul \x00 inside", ""]
ENTITIES = [{"name": f"e-{i} {AWKWARD[i % len(AWKWARD)][:12]}", "entityType": ["person", "tool", "ünit"][i % 3],
             "observations": [AWKWARD[(i + k) % len(AWKWARD)] + f" obs {i}.{k} shared-word" for k in range(i % 4)]}
            for i in range(40)]
RELATIONS = [{"from": ENTITIES[i]["name"], "to": ENTITIES[(i * 7) % 40]["name"], "relationType": "knows \"well\""}
             for i in range(0, 40, 3)] + [{"from": "nobody", "to": ENTITIES[5]["name"], "relationType": "dangling"}]

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("create_entities", {"entities": ENTITIES}),
    ("create_relations", {"relations": RELATIONS}),
    ("add_observations", {"observations": [{"entityName": ENTITIES[3]["name"], "contents": ["added \"x\"", "🧭"]}]}),
    ("read_graph", {}),
    ("read_graph", {"limit": 5, "offset": 3}),
    ("read_graph", {"entityTypes": ["ünit"]}),
    ("search_nodes", {"query": "shared-word"}),  # substring hits
    ("search_nodes", {"query": "İ"}),  # a one-character scan, folded
    ("search_nodes", {"query": "emoji notebook"}),  # no substring: the ranked fallback
    ("search_nodes", {"query": "zzzz-no-such-thing"}),  # nothing at all
    ("open_nodes", {"names": [ENTITIES[0]["name"], ENTITIES[9]["name"], "missing"]}),
    ("open_nodes", {"names": []}),
    ("add_observations", {"observations": [{"entityName": "missing", "contents": ["x"]}]}),  # the official error
    ("read_graph", {"limit": 0}),  # an argument error
    ("delete_relations", {"relations": RELATIONS[:2]}),
    ("delete_observations", {"deletions": [{"entityName": ENTITIES[3]["name"], "observations": ["🧭"]}]}),
    ("delete_entities", {"entityNames": [ENTITIES[1]["name"]]}),
    ("read_graph", {}),
]


def _call(rid: int, name: str, arguments: dict[str, Any], version: str | None = None) -> str:
    params: dict[str, Any] = {"name": name, "arguments": arguments}
    if version is not None:
        params["_meta"] = {"io.modelcontextprotocol/protocolVersion": version,
                           "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"},
                           "io.modelcontextprotocol/clientCapabilities": {}}
    return request_line(rid, "tools/call", params)


async def _lines(db: Path, version: str, *, hand_off: bool, filled: list[int]) -> list[str]:
    server = build_server(Settings(db=db, semantic=False))
    middleware = server._lowlevel_server.middleware
    ours = [m for m in middleware if isinstance(m, prepared.PreparedResults)]
    assert len(ours) == 1  # build_server installs it
    if not hand_off:
        middleware.remove(ours[0])
    if version in MODERN_PROTOCOL_VERSIONS:  # no handshake: each request names its version
        lines = [_call(i, name, args, version) for i, (name, args) in enumerate(CALLS, start=2)]
    else:
        lines = [initialize_line(1, version), INITIALIZED,
                 *(_call(i, name, args) for i, (name, args) in enumerate(CALLS, start=2))]
    real = prepared._filled

    def counted(*args: Any) -> dict[str, Any]:
        filled.append(1)
        return real(*args)

    prepared._filled = counted  # type: ignore[assignment]
    try:
        return await exchange(server, lines)
    finally:
        prepared._filled = real  # type: ignore[assignment]


@pytest.mark.parametrize("version", [*HANDSHAKE_PROTOCOL_VERSIONS, *MODERN_PROTOCOL_VERSIONS])
async def test_handed_off_results_are_the_bytes_the_sdk_would_write(tmp_path: Path, version: str) -> None:
    filled: list[int] = []
    fast = await _lines(tmp_path / "fast.db", version, hand_off=True, filled=filled)
    slow_filled: list[int] = []
    slow = await _lines(tmp_path / "slow.db", version, hand_off=False, filled=slow_filled)
    replies = [json.loads(line) for line in slow]
    calls = [r for r in replies if r.get("id") != 1 or version in MODERN_PROTOCOL_VERSIONS]
    assert len(calls) == len(CALLS)
    assert all("result" in r for r in calls), [r for r in calls if "result" not in r]
    errors = [r["result"].get("isError", False) for r in calls]
    assert errors.count(True) == 2  # the missing entity and limit 0; every other call succeeded
    whole = calls[3]["result"]["structuredContent"]
    assert len(whole["entities"]) == 40 and len(whole["relations"]) == len(RELATIONS)
    assert fast == slow
    assert len(filled) == len(CALLS) - 2 and slow_filled == []  # every success went through the hand-off


async def test_a_call_outside_the_middleware_gets_the_whole_result(tmp_path: Path) -> None:
    server = build_server(Settings(db=tmp_path / "d.db", semantic=False))
    await server.call_tool("create_entities", {"entities": ENTITIES[:3]})  # MCPServer's API: no middleware
    result = await server.call_tool("read_graph", {})
    assert isinstance(result, CallToolResult)
    assert result.structured_content is not None and len(result.structured_content["entities"]) == 3
    assert json.loads(result.content[0].text) == result.structured_content  # type: ignore[union-attr]


def test_an_unknown_result_shape_fails_instead_of_sending_the_empty_one() -> None:
    shaped = {"content": [{"type": "text", "text": ""}], "structuredContent": {}, "isError": False}
    filled = prepared._filled(shaped, "[1]", {"entities": []})
    assert filled == {"content": [{"type": "text", "text": "[1]"}], "structuredContent": {"entities": []}, "isError": False}
    assert list(filled) == list(shaped)  # the SDK's key order is kept
    for odd in ({**shaped, "structuredContent": {"x": 1}}, {**shaped, "content": []}, {"isError": False}):
        with pytest.raises(RuntimeError, match="unexpected shape"):
            prepared._filled(odd, "[1]", {})

