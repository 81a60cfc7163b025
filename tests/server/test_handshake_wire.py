"""The stdio front end in a real process: the handshake answered before the SDK is imported, byte for byte
as the SDK answers it, and an exit at stdin EOF that does not wait for the SDK when nothing needs it.

A `sitecustomize` on PYTHONPATH holds `import mcp` until a gate file exists, so "answered before the
SDK" is a fact of the test, not a timing: while the gate is shut, only the front end can answer.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.wire import WireServer

pytestmark = pytest.mark.slow

GATE_HOOK = '''
import os, sys, time

class _HoldMcp:
    """Hold `import mcp` until the file named by CKPT_TEST_MCP_GATE exists."""

    def find_spec(self, name, path=None, target=None):
        if name == "mcp":
            while not os.path.exists(os.environ["CKPT_TEST_MCP_GATE"]):
                time.sleep(0.01)
            sys.meta_path.remove(self)
        return None

if os.environ.get("CKPT_TEST_MCP_GATE"):
    sys.meta_path.insert(0, _HoldMcp())
'''


class Gated:
    def __init__(self, tmp: Path) -> None:
        self.dir = tmp / "hook"
        self.dir.mkdir(exist_ok=True)
        (self.dir / "sitecustomize.py").write_text(GATE_HOOK, encoding="utf-8")
        self.file = tmp / "gate"

    def env(self, **extra: str) -> dict[str, str]:
        return {"PYTHONPATH": str(self.dir), "CKPT_TEST_MCP_GATE": str(self.file), "CHECKPOINTS_SEMANTIC": "false",
                **extra}

    def open(self) -> None:
        self.file.touch()


def _line(msg: dict[str, Any]) -> str:
    return json.dumps(msg) + "\n"


def _init(rid: Any, version: str) -> str:
    return _line({"jsonrpc": "2.0", "id": rid, "method": "initialize",
                  "params": {"protocolVersion": version, "capabilities": {"roots": {"listChanged": True}},
                             "clientInfo": {"name": "wire-test", "version": "1"}}})


INITIALIZED = _line({"jsonrpc": "2.0", "method": "notifications/initialized"})


def _conversation(version: str) -> list[str]:
    return [_init(1, version), INITIALIZED,
            _line({"jsonrpc": "2.0", "id": "two", "method": "tools/list"}),
            _line({"jsonrpc": "2.0", "id": 3, "method": "ping"}),
            _line({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                   "params": {"name": "search_checkpoints", "arguments": {"query": "x", "nope": 1}}}),
            _line({"jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": {}})]


def _run(tmp: Path, lines: list[str], env: dict[str, str], gate: Gated | None = None,
         early: int = 0) -> tuple[list[bytes], str]:
    """Every stdout line for `lines`, each request awaited; the gate opens after `early` lines."""
    server = WireServer(tmp / f"db-{len(list(tmp.iterdir()))}.db", env=env)
    try:
        for i, line in enumerate(lines):
            if gate is not None and i == early:
                gate.open()
            if '"id"' in line:
                server.exchange(line, timeout=120)
            else:
                server.send_raw(line)
        assert server.close(timeout=60) == 0
    finally:
        if server.proc.poll() is None:
            server.kill()
    return server.lines, server.stderr


@pytest.mark.parametrize("version", ["2025-11-25", "2099-01-01"])  # every version: test_handshake_answers.py
def test_early_answers_are_the_sdks_bytes(tmp_path: Path, version: str) -> None:
    gate = Gated(tmp_path)
    lines = _conversation(version)
    # The gate holds the SDK until initialize, tools/list and ping are answered: the front end answered them.
    fast, fast_err = _run(tmp_path, lines, gate.env(), gate, early=4)
    sdk, _ = _run(tmp_path, lines, {"CHECKPOINTS_FAST_HANDSHAKE": "0", "CHECKPOINTS_SEMANTIC": "false"})
    assert fast == sdk
    assert len(fast) == 5 and b'"protocolVersion"' in fast[0]
    assert "differs from the SDK" not in fast_err


def test_semantic_setting_does_not_change_the_answers(tmp_path: Path) -> None:
    """The description is recorded with semantic search off; the default (on, extra installed) answers alike."""
    lines = _conversation("2025-06-18")[:4]
    fast, err = _run(tmp_path, lines, {})
    sdk, _ = _run(tmp_path, lines, {"CHECKPOINTS_FAST_HANDSHAKE": "0"})
    assert fast == sdk and "differs from the SDK" not in err


def test_eof_after_the_handshake_exits_without_the_sdk(tmp_path: Path) -> None:
    gate = Gated(tmp_path)  # never opened: the SDK cannot be imported
    server = WireServer(tmp_path / "e.db", env=gate.env())
    try:
        assert "result" in server.exchange(_init(1, "2025-11-25"), timeout=120)
        server.send_raw(INITIALIZED)
        assert "result" in server.exchange(_line({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}), timeout=120)
        assert server.close(timeout=30) == 0
    finally:
        if server.proc.poll() is None:
            server.kill()


def test_sigterm_during_the_handshake_exits_cleanly(tmp_path: Path) -> None:
    gate = Gated(tmp_path)
    server = WireServer(tmp_path / "t.db", env=gate.env())
    try:
        assert "result" in server.exchange(_init(1, "2025-11-25"), timeout=120)
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=30) == 0
    finally:
        if server.proc.poll() is None:
            server.kill()


def test_a_request_in_flight_at_eof_is_answered_by_the_real_server(tmp_path: Path) -> None:
    gate = Gated(tmp_path)
    server = WireServer(tmp_path / "f.db", env=gate.env())
    try:
        assert "result" in server.exchange(_init(1, "2025-11-25"), timeout=120)
        server.send_raw(INITIALIZED + _line({"jsonrpc": "2.0", "id": 2, "method": "resources/list"}))
        assert server.proc.stdin is not None
        server.proc.stdin.close()
        with pytest.raises(subprocess.TimeoutExpired):
            server.proc.wait(timeout=0.5)  # it waits for the SDK to answer request 2
        gate.open()
        assert server.proc.wait(timeout=120) == 0
        server.kill()  # joins the readers
        assert "result" in server.replies[2]
    finally:
        if server.proc.poll() is None:
            server.kill()
