"""A raw JSON-RPC client over a real server process's stdio: bytes no client library would send.

Responses are read by a thread into a dict keyed by id, so a test can pipeline requests, kill
the process mid-burst, and know exactly which requests were acknowledged.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

PROTOCOL = "2025-06-18"


def server_command(db: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "mcp_server_checkpoints", "--db", str(db), *extra]


class WireServer:
    """One `mcp-server-checkpoints` process spoken to line by line."""

    def __init__(self, db: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(server_command(db, *extra), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
        self.lines: list[bytes] = []  # every stdout line, raw
        self.replies: dict[Any, dict[str, Any]] = {}
        self._arrived: queue.Queue[dict[str, Any]] = queue.Queue()
        self._next_id = 1000
        self._stderr: list[bytes] = []
        self._threads = [threading.Thread(target=self._read_stdout, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for t in self._threads:
            t.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout
        for line in iter(self.proc.stdout.readline, b""):
            self.lines.append(line)
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if isinstance(msg, dict) and ("result" in msg or "error" in msg):
                self.replies[msg.get("id")] = msg
                self._arrived.put(msg)

    def _read_stderr(self) -> None:
        assert self.proc.stderr
        for line in iter(self.proc.stderr.readline, b""):
            self._stderr.append(line)

    @property
    def stderr(self) -> str:
        return b"".join(self._stderr).decode("utf-8", "replace")

    # -- sending -------------------------------------------------------------------------
    def send_raw(self, data: bytes | str) -> None:
        assert self.proc.stdin
        self.proc.stdin.write(data.encode() if isinstance(data, str) else data)
        self.proc.stdin.flush()

    def send(self, msg: dict[str, Any]) -> None:
        self.send_raw(json.dumps(msg) + "\n")

    def request(self, method: str, params: dict[str, Any] | None = None) -> int:
        self._next_id += 1
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        return self._next_id

    def exchange(self, data: bytes | str, timeout: float = 30.0) -> dict[str, Any]:
        """Send one raw line and return the next message the server writes (requests go one at a time)."""
        seen = len(self.lines)
        self.send_raw(data)
        deadline = time.monotonic() + timeout
        while len(self.lines) <= seen:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer within {timeout} s; stderr: {self.stderr[-2000:]}")
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}): {self.stderr[-2000:]}")
            time.sleep(0.005)
        msg: dict[str, Any] = json.loads(self.lines[seen])
        return msg

    def call_tool_line(self, rid: int, name: str, arguments: dict[str, Any]) -> bytes:
        return (json.dumps({"jsonrpc": "2.0", "id": rid, "method": "tools/call",
                            "params": {"name": name, "arguments": arguments}}) + "\n").encode()

    def wait_reply(self, rid: Any, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while rid not in self.replies:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no reply to request {rid!r} within {timeout} s; stderr: {self.stderr[-2000:]}")
            try:
                self._arrived.get(timeout=min(left, 0.5))
            except queue.Empty:
                if self.proc.poll() is not None and rid not in self.replies:
                    raise RuntimeError(f"server exited ({self.proc.returncode}) before answering {rid!r}:"
                                       f" {self.stderr[-2000:]}") from None
        return self.replies[rid]

    def ask(self, method: str, params: dict[str, Any] | None = None, timeout: float = 30.0) -> dict[str, Any]:
        return self.wait_reply(self.request(method, params), timeout)

    def call(self, name: str, arguments: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        """tools/call; returns the result (a dict with isError) or raises on a JSON-RPC error."""
        reply = self.ask("tools/call", {"name": name, "arguments": arguments}, timeout)
        if "error" in reply:
            raise AssertionError(f"JSON-RPC error for {name}: {reply['error']}")
        result: dict[str, Any] = reply["result"]
        return result

    def initialize(self) -> dict[str, Any]:
        reply = self.ask("initialize", {"protocolVersion": PROTOCOL, "capabilities": {},
                                        "clientInfo": {"name": "reliability", "version": "1"}})
        assert "result" in reply, reply
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return reply

    # -- ending --------------------------------------------------------------------------
    def close(self, timeout: float = 10.0) -> int:
        """Close stdin and wait; kill if it does not exit. Returns the exit code."""
        if self.proc.stdin and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def kill(self) -> None:
        """SIGKILL, then wait until every reply the process wrote before dying has been read."""
        self.proc.kill()
        self.proc.wait()
        for t in self._threads:
            t.join(timeout=10)
        if self.proc.stdin:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
