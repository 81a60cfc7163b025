"""The installed console script over real stdio, driven by the official MCP client."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def installed_script() -> str:
    exe = shutil.which("mcp-server-checkpoints", path=str(Path(sys.executable).parent)) or shutil.which(
        "mcp-server-checkpoints")
    if exe is None:
        pytest.fail("mcp-server-checkpoints is not installed: run `pip install -e .` (the README's test command does)")
    return exe


async def test_save_search_open_mark_over_stdio(tmp_path: Path) -> None:
    params = StdioServerParameters(command=installed_script(), args=["--db", str(tmp_path / "e2e.db")])
    async with Client(params) as client:
        assert "recover" in (client.instructions or "") or "search_checkpoints" in (client.instructions or "")
        saved = await client.call_tool("save_checkpoint", {
            "title": "Database migration", "goal": "Move the users table to Postgres", "progress": 75,
            "next_step": "Test the rollback procedure", "payload": {"transcript": "talk " * 5000}})
        assert not saved.is_error and saved.structured_content
        cid = saved.structured_content["id"]

        found = await client.call_tool("search_checkpoints", {"query": "postgres migration"})
        assert found.structured_content and found.structured_content["results"][0]["id"] == cid

        opened = await client.call_tool("open_checkpoint", {"id": cid, "components": ["pending", "payload"]})
        assert opened.structured_content and opened.structured_content["integrity"]["verified"]
        assert opened.structured_content["payload"]["transcript"] == "talk " * 5000

        marked = await client.call_tool("mark_status", {"id": cid, "status": "completed", "note": "done"})
        assert marked.structured_content and marked.structured_content["status"] == "completed"


def test_raw_wire_lone_surrogate_and_malformed_json(tmp_path: Path) -> None:
    """Bytes no client library would send: the server answers each at once and keeps serving."""
    proc = subprocess.Popen([installed_script(), "--db", str(tmp_path / "raw.db")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdin and proc.stdout

    def send(line: str) -> None:
        assert proc.stdin
        proc.stdin.write(line + "\n")
        proc.stdin.flush()

    def reply() -> dict[str, object]:
        assert proc.stdout
        msg: dict[str, object] = json.loads(proc.stdout.readline())
        return msg

    try:
        send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}))
        assert "result" in reply()
        send(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        # json.dumps writes the lone surrogate as the escape \ud800, exactly as a buggy client would
        send(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                         "params": {"name": "save_checkpoint", "arguments": {"title": "x\ud800", "goal": "g"}}}))
        bad = reply()  # a tool error naming the argument, never the value
        assert bad["id"] == 2 and bad["result"]["isError"] is True  # type: ignore[index]
        text = bad["result"]["content"][0]["text"]  # type: ignore[index]
        assert "'title'" in text and "invalid Unicode" in text and "\ud800" not in json.dumps(bad)
        send("{this is not json")
        assert reply() == {"jsonrpc": "2.0", "id": None,
                           "error": {"code": -32700, "message": "Parse error: the line is not valid JSON"}}
        send(json.dumps({"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": {"cursor": "\udfff"}}))
        err = reply()
        assert err["id"] == 4 and err["error"]["code"] == -32602  # type: ignore[index]
        send(json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                         "params": {"name": "save_checkpoint", "arguments": {"title": "fine", "goal": "g"}}}))
        msg = reply()
        assert msg["id"] == 3 and msg["result"]["isError"] is False  # type: ignore[index]
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)
    assert proc.returncode == 0
