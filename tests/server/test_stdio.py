"""The stdio guard's answers to lines the SDK cannot decode (pure function; the wire is tested in tests/reliability)."""

from __future__ import annotations

import json

import pytest

from mcp_server_checkpoints.server.stdio import answer_for

TOOLS = {"save_checkpoint": {"title", "goal", "payload"}}


def answer(line: str) -> dict[str, object] | None:
    reply = answer_for(line, TOOLS.get)
    return None if reply is None else json.loads(reply.model_dump_json(by_alias=True, exclude_unset=True))  # as the SDK writes


def test_valid_lines_pass_through() -> None:
    assert answer(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})) is None
    assert answer(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"})) is None
    assert answer("   \n") is None


@pytest.mark.parametrize("line", ["{nope", "", "[1,", '{"a": tru}'])
def test_not_json_is_a_parse_error_with_id_null(line: str) -> None:
    if not line:
        assert answer(line) is None
        return
    assert answer(line) == {"jsonrpc": "2.0", "id": None, "error": {"code": -32700,
                                                                     "message": "Parse error: the line is not valid JSON"}}


def test_lone_surrogate_in_tool_arguments_is_a_tool_error_naming_the_argument() -> None:
    reply = answer(json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                               "params": {"name": "save_checkpoint", "arguments": {"title": "sk-secret\ud800"}}}))
    assert reply is not None and reply["id"] == 7
    result = reply["result"]
    assert isinstance(result, dict) and result["isError"] is True
    assert "argument 'title'" in result["content"][0]["text"] and "sk-secret" not in json.dumps(reply)


def test_unknown_argument_or_tool_names_are_not_repeated() -> None:
    for name, args in (("save_checkpoint", {"sk-secret-key": "\ud800"}), ("sk-secret-tool", {"a": "\ud800"})):
        reply = answer(json.dumps({"jsonrpc": "2.0", "id": 8, "method": "tools/call",
                                   "params": {"name": name, "arguments": args}}))
        assert reply is not None and "sk-secret" not in json.dumps(reply) and "an argument" in json.dumps(reply)


def test_other_requests_get_errors_with_their_id() -> None:
    reply = answer(json.dumps({"jsonrpc": "2.0", "id": "r1", "method": "tools/list", "params": {"cursor": "\udc00"}}))
    assert reply is not None and reply["id"] == "r1" and reply["error"]["code"] == -32602  # type: ignore[index]
    reply = answer(json.dumps({"jsonrpc": "2.0", "id": 3, "method": 5}))
    assert reply is not None and reply["id"] == 3 and reply["error"]["code"] == -32600  # type: ignore[index]
    reply = answer(json.dumps({"jsonrpc": "2.0", "id": {"x": 1}, "method": "tools/list"}))
    assert reply is not None and reply["id"] is None and reply["error"]["code"] == -32600  # type: ignore[index]


def test_too_deep_lines_are_answered_with_their_id() -> None:
    deep = '{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"save_checkpoint","arguments":' \
           + "[" * 50_000 + "]" * 50_000 + "}}"
    reply = answer(deep)
    assert reply is not None and reply["id"] == 12 and reply["result"]["isError"] is True  # type: ignore[index]
    reply = answer('{"jsonrpc":"2.0","id":13,"method":"x","params":{"a":' + "[" * 300 + "]" * 300 + "}}")
    assert reply is not None and reply["id"] == 13 and reply["error"]["code"] == -32602  # type: ignore[index]


def test_invalid_notifications_get_no_answer() -> None:
    assert answer(json.dumps({"jsonrpc": "2.0", "method": "notifications/x", "params": {"v": "\ud800"}})) is None
