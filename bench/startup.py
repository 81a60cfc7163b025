"""stdio start-up and shut-down, this server against the official memory server, one client, one run.

Each spawn is timed from `Popen` by the same client, which writes `initialize` at once (as Claude
Code and the SDK clients do), then `notifications/initialized` and `tools/list` when initialize is
answered:
- spawn → initialize: the initialize response line read;
- spawn → tools/list: the tools/list response line read;
- exit after EOF (cold): stdin closed right after tools/list is answered → the process has exited;
- exit after EOF (warm): a second spawn waits until the server answers `resources/list` (it is fully
  up: for this server the SDK is imported and the real session runs), then sends one more
  `resources/list` and closes stdin at once → that request is answered (checked) and the process exits.

Servers, spawned in turn in every round so load on the machine hits them alike:
- checkpoints: `python -m mcp_server_checkpoints serve` with the semantic extra installed (default
  settings: semantic search on), one database file (the first spawn creates it);
- checkpoints, SDK handshake: the same with CHECKPOINTS_FAST_HANDSHAKE=0 (the SDK answers everything);
- official (node): @modelcontextprotocol/server-memory's dist/index.js run by `node`;
- official (npx): `npx -y @modelcontextprotocol/server-memory@<version>` (npx's own start-up included).

The official package is installed once with npm into $XDG_CACHE_HOME/mcp-server-checkpoints-bench.

    .venv/bin/python bench/startup.py                 # 10 rounds
    .venv/bin/python bench/startup.py --runs 7 --no-npx
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.processes import node_env, node_tool  # noqa: E402  (scripts/install-node's Node.js, else PATH's)

OFFICIAL_PACKAGE = "@modelcontextprotocol/server-memory"
OFFICIAL_VERSION = "2026.8.31"  # the version server/memory.py mirrors
TIMEOUT_S = 120.0
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {"roots": {"listChanged": True}},
                         "clientInfo": {"name": "bench-startup", "version": "1"}}}


def _line(msg: dict[str, object]) -> bytes:
    return (json.dumps(msg) + "\n").encode()


def _request(rid: int, method: str) -> bytes:
    return _line({"jsonrpc": "2.0", "id": rid, "method": method})


@dataclass
class Server:
    name: str
    cmd: list[str]
    env: dict[str, str]
    init: list[float] = field(default_factory=list)
    tools: list[float] = field(default_factory=list)
    exit_cold: list[float] = field(default_factory=list)
    exit_warm: list[float] = field(default_factory=list)


class Spawned:
    """One server process and the response lines on its stdout, each with the time it was read."""

    def __init__(self, server: Server, cwd: Path) -> None:
        self.responses: queue.Queue[tuple[float, dict[str, object] | None]] = queue.Queue()
        self._stderr = tempfile.TemporaryFile()
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(server.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                     env=server.env, cwd=cwd)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in iter(self.proc.stdout.readline, b""):
            now = time.perf_counter()
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            if isinstance(msg, dict) and "id" in msg:
                self.responses.put((now, msg))
        self.responses.put((time.perf_counter(), None))

    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def answer(self, rid: int) -> float:
        """Seconds from spawn until the response to `rid` was read."""
        deadline = self.t0 + TIMEOUT_S
        while True:
            try:
                at, msg = self.responses.get(timeout=max(0.0, deadline - time.perf_counter()))
            except queue.Empty:
                raise TimeoutError(f"no answer to request {rid} in {TIMEOUT_S:.0f} s") from None
            if msg is None:
                raise RuntimeError(f"stdout closed before request {rid} was answered: {self.stderr()}")
            if msg.get("id") == rid:
                if "result" not in msg and rid <= 2:  # the handshake must succeed
                    raise RuntimeError(f"request {rid} failed: {msg}")
                return at - self.t0

    def close_and_wait(self) -> float:
        """Close stdin; seconds until the process has exited."""
        assert self.proc.stdin is not None
        t = time.perf_counter()
        self.proc.stdin.close()
        self.proc.wait(timeout=TIMEOUT_S)
        return time.perf_counter() - t

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-2000:]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()


def cold(server: Server, cwd: Path) -> None:
    s = Spawned(server, cwd)
    try:
        s.send(_line(INITIALIZE))
        init = s.answer(1)
        s.send(_line({"jsonrpc": "2.0", "method": "notifications/initialized"}) + _request(2, "tools/list"))
        tools = s.answer(2)
        exit_s = s.close_and_wait()
        server.init.append(init)
        server.tools.append(tools)
        server.exit_cold.append(exit_s)
    finally:
        s.kill()


def warm(server: Server, cwd: Path) -> None:
    s = Spawned(server, cwd)
    try:
        s.send(_line(INITIALIZE))
        s.answer(1)
        s.send(_line({"jsonrpc": "2.0", "method": "notifications/initialized"}) + _request(2, "tools/list"))
        s.answer(2)
        s.send(_request(3, "resources/list"))
        s.answer(3)
        s.send(_request(4, "resources/list"))
        t = time.perf_counter()
        assert s.proc.stdin is not None
        s.proc.stdin.close()
        s.answer(4)  # the request in flight at EOF is answered
        s.proc.wait(timeout=TIMEOUT_S)
        server.exit_warm.append(time.perf_counter() - t)
    finally:
        s.kill()


def official_entry(version: str) -> Path:
    """dist/index.js of the official package, installed once with npm into a cache folder."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mcp-server-checkpoints-bench"
    entry = cache / "node_modules" / OFFICIAL_PACKAGE / "dist" / "index.js"
    if not entry.exists():
        npm = node_tool("npm")
        if npm is None:
            raise SystemExit("npm is not installed (the official server is a Node package): run scripts/install-node")
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(cache),
                        f"{OFFICIAL_PACKAGE}@{version}"], check=True, stdout=subprocess.DEVNULL, env=node_env())
    return entry


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def fmt(values: list[float]) -> str:
    return f"{pct(values, 50) * 1000:.0f} / {pct(values, 95) * 1000:.0f}" if values else "–"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10, help="rounds (each spawns every server twice: cold and warm)")
    p.add_argument("--no-npx", action="store_true", help="leave out the official server run through npx")
    p.add_argument("--no-sdk", action="store_true", help="leave out this server with the SDK answering the handshake")
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")

    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp_dir:
        tmp = Path(tmp_dir)
        base = {k: v for k, v in node_env().items() if not k.startswith("CHECKPOINTS_")}
        ours = {**base, "CHECKPOINTS_DB": str(tmp / "checkpoints.db"), "HF_HUB_OFFLINE": "1"}
        official_env = {**base, "MEMORY_FILE_PATH": str(tmp / "memory.jsonl")}
        serve = [sys.executable, "-m", "mcp_server_checkpoints", "serve"]
        servers = [Server("checkpoints", serve, ours)]
        if not args.no_sdk:
            servers.append(Server("checkpoints, SDK handshake (CHECKPOINTS_FAST_HANDSHAKE=0)", serve,
                                  {**ours, "CHECKPOINTS_FAST_HANDSHAKE": "0"}))
        node = node_tool("node")
        if node is None:
            raise SystemExit("node is not installed: run scripts/install-node to compare with the official server")
        servers.append(Server(f"official {OFFICIAL_VERSION} (node dist/index.js)", [node, str(official_entry(
            OFFICIAL_VERSION))], official_env))
        if not args.no_npx:
            npx = node_tool("npx") or "npx"
            servers.append(Server(f"official {OFFICIAL_VERSION} (npx -y)",
                                  [npx, "-y", f"{OFFICIAL_PACKAGE}@{OFFICIAL_VERSION}"], official_env))

        load_before = load()
        for server in servers:  # warm the file cache and byte-compile; not counted
            cold(Server(server.name, server.cmd, server.env), tmp)
        for run in range(args.runs):
            for server in servers:
                cold(server, tmp)
                warm(server, tmp)
            print(f"round {run + 1}/{args.runs} (load {load()})", file=sys.stderr)
        load_after = load()

    print(f"### stdio start-up and shut-down (ms, median / p95 of {args.runs} spawns each)\n")
    print("| server | spawn → initialize | spawn → tools/list | exit after EOF (cold) | exit after EOF (warm) |")
    print("|---|---|---|---|---|")
    for s in servers:
        print(f"| {s.name} | {fmt(s.init)} | {fmt(s.tools)} | {fmt(s.exit_cold)} | {fmt(s.exit_warm)} |")
    print(f"\nload average (1, 5, 15 min) before: {load_before}; after: {load_after}; {os.cpu_count()} CPUs; "
          f"Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
