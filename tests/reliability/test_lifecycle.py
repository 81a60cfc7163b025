"""Process lifecycle of the stdio server.

Pass criteria: stdin closed → exit 0 within 2 s; SIGTERM → exit 0 within 5 s with the database
closed cleanly (SQLite removes the -wal file when the last connection closes); the server starts
no child processes, and when its client dies it goes too; with DEBUG logging, every stdout line
is a valid JSON-RPC message even when code in the process prints (logs and prints go to stderr).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mcp_types as types
import pytest

from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database
from tests.reliability.wire import WireServer, server_command

pytestmark = [pytest.mark.slow, pytest.mark.reliability]


def children_of(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def gone(pid: int) -> bool:
    """Exited: no such process, or a zombie waiting for a parent that is not the test."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def busy_server(db: Path, *extra: str) -> WireServer:
    srv = WireServer(db, *extra)
    srv.initialize()
    saved = srv.call("save_checkpoint", {"title": "lifecycle", "goal": "exit cleanly",
                                         "payload": {"transcript": "talk " * 1000}})
    assert saved["isError"] is False
    return srv


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_stdin_eof_exits_0_within_2_s_without_children(tmp_path: Path) -> None:
    db = tmp_path / "eof.db"
    srv = busy_server(db)
    assert children_of(srv.proc.pid) == []  # nothing spawned that could be orphaned
    assert srv.proc.stdin
    srv.proc.stdin.close()
    assert srv.proc.wait(timeout=2) == 0, srv.stderr
    assert not Path(f"{db}-wal").exists()  # the last connection closed, so SQLite folded the WAL back


def test_sigterm_exits_0_within_5_s_and_closes_the_database(tmp_path: Path) -> None:
    db = tmp_path / "term.db"
    srv = busy_server(db)
    assert Path(f"{db}-wal").exists()
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(timeout=5) == 0, srv.stderr
    assert not Path(f"{db}-wal").exists()
    assert "Traceback" not in srv.stderr


def test_sigterm_during_a_burst_still_exits_and_keeps_what_was_acknowledged(tmp_path: Path) -> None:
    db = tmp_path / "term-burst.db"
    srv = busy_server(db)
    burst = b"".join(srv.call_tool_line(5000 + i, "save_checkpoint", {"title": f"b{i}", "goal": "g"})
                     for i in range(200))
    srv.send_raw(burst)
    time.sleep(0.05)
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(timeout=5) == 0, srv.stderr
    srv.kill()  # already exited: this only joins the reader threads
    acked = [r["result"]["structuredContent"]["id"] for r in srv.replies.values()
             if isinstance(r.get("id"), int) and r["id"] >= 5000]
    store = SQLiteCheckpointStore(open_database(db))
    assert all(store.exists(cid) for cid in acked) and store.verify().ok


def test_sigterm_before_initialize(tmp_path: Path) -> None:
    """Serving but never initialized (the database not even opened): SIGTERM still exits 0."""
    srv = WireServer(tmp_path / "early.db")
    assert "result" in srv.ask("ping")  # serving: answered before any handshake
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(timeout=5) == 0, srv.stderr
    assert not (tmp_path / "early.db").exists()  # opening the database waits for the first tool call


PARENT = """
import subprocess, sys, time
child = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
child.stdin.write(b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}\\n')
child.stdin.flush()
child.stdout.readline()  # the server is serving
print(child.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_server_exits_when_its_client_is_killed(tmp_path: Path) -> None:
    """The client (which holds the server's stdin) dies by SIGKILL: the server sees EOF and exits."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT, *server_command(tmp_path / "orphan.db")],
                              stdout=subprocess.PIPE, text=True)
    assert parent.stdout
    server_pid = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 2
    while not gone(server_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not gone(server_pid):
        os.kill(server_pid, signal.SIGKILL)
        pytest.fail("the server outlived its client by more than 2 s")


STRAY = """
import sys
from mcp_server_checkpoints.cli import main
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore

_save = SQLiteCheckpointStore.save

def noisy_save(self, *args, **kwargs):  # a library that prints while a tool runs
    print("stray print from a library", flush=True)
    return _save(self, *args, **kwargs)

SQLiteCheckpointStore.save = noisy_save
sys.exit(main(sys.argv[1:]))
"""


def test_debug_logging_keeps_stdout_pure_json_rpc(tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", STRAY, "--db", str(tmp_path / "debug.db"), "--log-level", "DEBUG"]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = [
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
            "name": "save_checkpoint", "arguments": {"title": "debug", "goal": "logs to stderr"}}}),
        "{not json",
        json.dumps({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {
            "name": "search_checkpoints", "arguments": {"query": "debug"}}}),
    ]
    out, err = proc.communicate(("\n".join(lines) + "\n").encode(), timeout=30)
    assert proc.returncode == 0
    stdout_lines = out.decode().splitlines()
    assert len(stdout_lines) == 5  # replies to 1, 2, 3, the parse error, 4
    for raw in stdout_lines:
        types.jsonrpc_message_adapter.validate_json(raw)
    assert b"DEBUG" in err and b"stray print from a library" in err
