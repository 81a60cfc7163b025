"""The front end's early answers are the SDK's own bytes, and it stays silent whenever the SDK could differ.

Each conversation is given to the front end (`FrontEnd.feed`, as its reader thread does) and to the
real server through the SDK's stdio transport (`describe.exchange`); every line answered early must
equal the SDK's answer to that request. The wire itself (a spawned process) is tested in
tests/server/test_handshake_wire.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION

from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.server import build_server
from mcp_server_checkpoints.server.describe import INITIALIZED, exchange, initialize_line, request_line
from mcp_server_checkpoints.server.handshake import Description, FrontEnd, _Wire

pytestmark = pytest.mark.anyio


def _front() -> FrontEnd:
    read, write = os.pipe()
    os.close(read)  # feed() never writes; the descriptor only has to exist
    front = FrontEnd(Description.load(), _Wire(stdin=open(os.devnull, "rb"), stdout_fd=write))
    return front


async def _compare(tmp_path: Path, lines: list[str]) -> list[Any]:
    """Feed `lines` to a front end and to the SDK; the ids answered early (each equal to the SDK's answer)."""
    front = _front()
    early = {}
    for line in lines:
        reply = front.feed(line)
        if reply is not None:
            early[json.loads(reply)["id"]] = reply.decode()
    sdk = await exchange(build_server(Settings(db=tmp_path / "h.db", semantic=False)), lines)
    by_id: dict[Any, str] = {}
    for line in sdk:  # the first answer with an id is the one to the request answered early
        by_id.setdefault(json.loads(line).get("id"), line + "\n")
    for rid, reply in early.items():
        assert reply == by_id[rid], f"early answer to {rid} differs from the SDK's"
    return list(early)


@pytest.mark.parametrize("version", [*HANDSHAKE_PROTOCOL_VERSIONS, "2026-07-28", "2099-01-01", "1.0", ""])
async def test_every_version_is_negotiated_as_the_sdk_does(tmp_path: Path, version: str) -> None:
    lines = [initialize_line(1, version), INITIALIZED, request_line(2, "tools/list"), request_line("p-3", "ping")]
    assert await _compare(tmp_path, lines) == [1, 2, "p-3"]


async def test_negotiated_version_is_the_sdks(tmp_path: Path) -> None:
    front = _front()
    for asked, got in (("2025-06-18", "2025-06-18"), ("2099-01-01", LATEST_HANDSHAKE_VERSION)):
        front = _front()
        reply = front.feed(initialize_line(1, asked))
        assert reply is not None and json.loads(reply)["result"]["protocolVersion"] == got


CLIENTS: list[dict[str, Any]] = [
    {"name": "claude-code", "version": "2.1.0"},
    {"name": "x", "version": "1", "title": "X", "description": "d", "websiteUrl": "https://example.com"},
]
CAPABILITIES: list[dict[str, Any]] = [
    {},
    {"roots": {"listChanged": True}, "sampling": {}, "elicitation": {"form": {}, "url": {}}},
    {"experimental": {"a": {}}, "tasks": {"list": {}, "cancel": {}, "requests": {"sampling": {"createMessage": {}}}}},
]


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("caps", CAPABILITIES)
async def test_real_clients_initialize_is_answered_early(tmp_path: Path, client: dict[str, Any],
                                                         caps: dict[str, Any]) -> None:
    line = json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                       "params": {"protocolVersion": "2025-11-25", "capabilities": caps, "clientInfo": client}})
    assert await _compare(tmp_path, [line, INITIALIZED, request_line(1, "tools/list")]) == [0, 1]


def _init(params: Any, rid: Any = 1, **extra: Any) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": rid, "method": "initialize", "params": params, **extra})


GOOD = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "c", "version": "1"}}
UNUSUAL = [
    _init({**GOOD, "_meta": {"progressToken": 1}}),
    _init({**GOOD, "clientInfo": {"name": "c", "version": "1", "icons": [{"src": "x.png"}]}}),
    _init({**GOOD, "clientInfo": {"name": "c"}}),
    _init({**GOOD, "clientInfo": {"name": "c", "version": 1}}),
    _init({**GOOD, "capabilities": {"roots": {"listChanged": "yes"}}}),
    _init({**GOOD, "capabilities": {"sampling": {"context": 5}}}),
    _init({**GOOD, "capabilities": {"roots": None}}),
    _init({**GOOD, "protocolVersion": 20251125}),
    _init({k: v for k, v in GOOD.items() if k != "capabilities"}),
    _init(None),
    _init(GOOD, rid="é"),
    _init(GOOD, rid=2**60),
    _init(GOOD, extra_field=1),
    json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list",
                "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}}),
    request_line(1, "tools/list"),
    request_line(1, "ping"),
]


@pytest.mark.parametrize("opening", UNUSUAL)
async def test_anything_unusual_first_leaves_the_whole_session_to_the_sdk(tmp_path: Path, opening: str) -> None:
    assert await _compare(tmp_path, [opening, INITIALIZED, request_line(2, "tools/list")]) == []


@pytest.mark.parametrize("opening", [_init(GOOD, rid=True), _init(GOOD, rid=1.0), _init({**GOOD, "clientInfo": {"name": "c\ud800",
                                                                                        "version": "1"}})])
def test_lines_the_sdk_cannot_decode_are_left_to_the_stdio_guard(opening: str) -> None:
    front = _front()
    assert front.feed(opening) is None and front.feed(request_line(2, "tools/list")) is None
    assert front._unanswered == 2


async def test_after_initialize_only_plain_requests_are_answered_early(tmp_path: Path) -> None:
    lines = [_init(GOOD, rid="init"), INITIALIZED,
             request_line(2, "tools/list", {"cursor": "abc"}),
             request_line(3, "ping", {"_meta": {"progressToken": 3}}),
             request_line("init", "tools/list"),  # an id already answered
             request_line(4, "resources/list"),
             _init(GOOD, rid=5),  # a second initialize is the SDK's to refuse
             request_line(6, "tools/list", {}),
             request_line(7, "ping")]
    assert await _compare(tmp_path, lines) == ["init", 6, 7]


def test_unanswered_lines_are_counted_and_notifications_are_not() -> None:
    front = _front()
    front.feed(_init(GOOD))
    for line in (INITIALIZED, "", json.dumps({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                              "params": {"requestId": 9}})):
        assert front.feed(line) is None
    assert front._unanswered == 0
    for line in ("{not json", request_line(2, "resources/list"), json.dumps([1])):
        front.feed(line)
    assert front._unanswered == 3


def test_nothing_is_answered_after_the_hand_over() -> None:
    front = _front()
    front.hand_over()
    assert front.feed(_init(GOOD)) is None


def test_sent_answers_are_taken_once() -> None:
    front = _front()
    reply = front.feed(_init(GOOD, rid=4))
    assert reply is not None and front.take_sent(4) == reply and front.take_sent(4) is None
    assert front.take_sent(None) is None
