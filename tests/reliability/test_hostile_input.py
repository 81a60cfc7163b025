"""Hostile input over real stdio: every bad request gets a clear error at once, and the next one works.

Pass criterion for each case: an answer arrives (no hang) carrying the request's id when it had a
usable one; it is a tool error (isError) or a JSON-RPC error; its text holds no traceback and none
of the secret-like value sent; the server's stderr holds neither; and a normal save right after
succeeds. Strings that only look dangerous (paths, SQL, FTS syntax) are stored and searched as text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.reliability.wire import WireServer

pytestmark = [pytest.mark.slow, pytest.mark.reliability]

SECRET = "sk-ant-api03-" + "Qx7vT2" * 8
LIMIT = 1024 * 1024


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WireServer]:
    db = tmp_path_factory.mktemp("hostile") / "hostile.db"
    server = WireServer(db, env={"CHECKPOINTS_MAX_PAYLOAD_BYTES": str(LIMIT)})
    server.initialize()
    yield server
    assert server.close() == 0
    assert SECRET not in server.stderr and "Traceback" not in server.stderr


def line(rid: Any, method: str, params: Any) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}) + "\n"


def tool(rid: int, name: str, arguments: Any) -> str:
    return line(rid, "tools/call", {"name": name, "arguments": arguments})


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def raw_tool(rid: int, name: str, args_json: str) -> str:
    return f'{{"jsonrpc":"2.0","id":{rid},"method":"tools/call","params":{{"name":"{name}","arguments":{args_json}}}}}\n'


SAVE = {"title": "t", "goal": "g"}
# (case, the raw line, the id the answer must carry: an int, or None for "id null")
BAD: list[tuple[str, str | bytes, int | None]] = [
    ("payload over the limit", tool(1, "save_checkpoint", {**SAVE, "payload": {"transcript": "x" * (2 * LIMIT)}}), 1),
    ("8 MB line", tool(2, "save_checkpoint", {**SAVE, "summary": SECRET * 150_000}), 2),
    ("title too long", tool(3, "save_checkpoint", {**SAVE, "title": SECRET * 20}), 3),
    ("not JSON", "{this is not json\n", None),
    ("truncated JSON", tool(4, "save_checkpoint", SAVE)[:40] + "\n", None),
    ("binary garbage", b"\xff\xfe\x00\x01garbage\x80\n", None),
    ("JSON array", "[1, 2, 3]\n", None),
    ("JSON number", "42\n", None),
    ("batch", "[" + line(5, "tools/list", {}).strip() + "]\n", None),
    ("wrong jsonrpc version", json.dumps({"jsonrpc": "1.0", "id": 6, "method": "tools/list"}) + "\n", 6),
    ("object as id", json.dumps({"jsonrpc": "2.0", "id": {"a": SECRET}, "method": "tools/list"}) + "\n", None),
    ("params not an object", line(7, "tools/call", ["save_checkpoint"]), 7),
    ("unknown method", line(8, SECRET, {}), 8),
    ("unknown tool", tool(9, SECRET, {}), 9),
    ("arguments not an object", tool(10, "save_checkpoint", [SECRET]), 10),
    ("wrong types", tool(11, "save_checkpoint", {"title": 5, "goal": [SECRET], "progress": "abc"}), 11),
    ("progress out of range", tool(12, "save_checkpoint", {**SAVE, "progress": 10**30}), 12),
    ("files as a string", tool(13, "save_checkpoint", {**SAVE, "files": SECRET}), 13),
    ("unknown field", tool(14, "save_checkpoint", {**SAVE, "api_key": SECRET}), 14),
    ("unknown nested field", tool(15, "save_checkpoint", {**SAVE, "payload": {"transcript": "t", "token": SECRET}}), 15),
    ("bad status value", tool(16, "mark_status", {"id": "checkpoint-x", "status": SECRET}), 16),
    ("search limit wrong", tool(17, "search_checkpoints", {"limit": -1, "since_hours": SECRET}), 17),
    ("components not a list", tool(18, "open_checkpoint", {"id": "x", "components": SECRET}), 18),
    ("secret as id", tool(19, "open_checkpoint", {"id": SECRET}), 19),
    ("path as id", tool(20, "open_checkpoint", {"id": "../../../etc/passwd"}), 20),
    ("path as parent_id", tool(21, "save_checkpoint", {**SAVE, "parent_id": "../" + SECRET}), 21),
    ("lone surrogate in title", tool(22, "save_checkpoint", {**SAVE, "title": SECRET + "\ud800"}), 22),
    ("lone surrogate in payload", tool(23, "save_checkpoint", {**SAVE, "payload": {"tool_history": [{"k": "\udfff"}]}}), 23),
    ("lone surrogate in a key", tool(24, "save_checkpoint", {**SAVE, "payload": {"project_state": {"\ud83d": 1}}}), 24),
    ("lone surrogate in query", tool(25, "search_checkpoints", {"query": "auth \ud800"}), 25),
    ("lone surrogate in note", tool(26, "mark_status", {"id": "x", "status": "paused", "note": "\udc00"}), 26),
    ("lone surrogate in id", line("a\ud800", "tools/list", {}), None),
    ("10k-item list", tool(27, "save_checkpoint", {**SAVE, "completed": ["done"] * 10_000}), 27),
    ("10k tags", tool(28, "save_checkpoint", {**SAVE, "tags": ["t"] * 10_000}), 28),
    ("10k components", tool(29, "open_checkpoint", {"id": "x", "components": ["goal"] * 10_000}), 29),
    ("10k status filters", tool(30, "search_checkpoints", {"status": ["any"] * 10_000}), 30),
    ("nested 500 deep", raw_tool(31, "save_checkpoint", '{"title":"t","goal":"g","payload":{"tool_history":'
                                 + nested(500) + "}}"), 31),
    ("nested 100k deep", raw_tool(32, "save_checkpoint", '{"title":"t","goal":"g","payload":{"tool_history":'
                                  + nested(100_000) + "}}"), 32),
    ("empty title", tool(33, "save_checkpoint", {"title": "", "goal": "g"}), 33),
    ("null arguments", tool(34, "save_checkpoint", None), 34),
]


@pytest.mark.parametrize(("case", "data", "rid"), BAD, ids=[c for c, _, _ in BAD])
def test_bad_request_gets_a_clear_error_and_the_next_succeeds(srv: WireServer, case: str, data: str | bytes,
                                                              rid: int | None) -> None:
    reply = srv.exchange(data)
    assert reply["id"] == rid, (case, reply)
    text = json.dumps(reply, ensure_ascii=False)
    if "error" in reply:
        assert reply["error"]["code"] in (-32700, -32600, -32601, -32602), reply
        message = reply["error"]["message"]
    else:
        assert reply["result"]["isError"] is True, (case, reply)
        message = reply["result"]["content"][0]["text"]
    assert message and len(message) < 2_000
    assert "Traceback" not in text and 'File "' not in text
    assert SECRET not in text and "Qx7vT2" not in text
    ok = srv.call("save_checkpoint", {"title": f"after {case}", "goal": "still serving"})
    assert ok["isError"] is False


def test_invalid_notification_is_dropped_quietly(srv: WireServer) -> None:
    """A notification has no id to answer: nothing is written, and the next request is answered."""
    srv.send_raw(json.dumps({"jsonrpc": "2.0", "method": "notifications/x", "params": {"v": "\ud800"}}) + "\n")
    reply = srv.exchange(tool(90, "search_checkpoints", {"query": "after"}))
    assert reply["id"] == 90 and reply["result"]["isError"] is False


LOOKS_BAD = [
    "'; DROP TABLE checkpoints; --",
    'x" OR 1=1 --',
    "../../../../etc/passwd",
    "C:\\Windows\\System32\\config\\SAM",
    "$(rm -rf /) `reboot` %s %n {0}",
    'NEAR("auth" "jwt", 2) OR * AND title:x',
    "\x00nul\x00 and \x1b[31mescape",
]


@pytest.mark.parametrize("text", LOOKS_BAD)
def test_strings_that_look_dangerous_are_just_text(srv: WireServer, text: str) -> None:
    saved = srv.call("save_checkpoint", {"title": text, "goal": text, "project": text,
                                         "files": [{"path": text, "change": text}], "tags": [text[:100]]})
    assert saved["isError"] is False, saved
    cid = saved["structuredContent"]["id"]
    found = srv.call("search_checkpoints", {"query": text, "project": text, "status": ["any"]})
    assert found["isError"] is False, found
    opened = srv.call("open_checkpoint", {"id": cid})
    assert opened["structuredContent"]["title"] == text and opened["structuredContent"]["files"][0]["path"] == text
    count = srv.call("search_checkpoints", {"status": ["any"], "limit": 50, "all_versions": True})
    assert count["isError"] is False and count["structuredContent"]["results"]  # the table is still there


def test_deep_but_allowed_nesting_is_stored(srv: WireServer) -> None:
    reply = srv.exchange(raw_tool(95, "save_checkpoint", '{"title":"nest","goal":"g","payload":{"tool_history":'
                                  + nested(50) + "}}"))
    assert reply["id"] == 95 and reply["result"]["isError"] is False
