"""Record the SDK's own answers to the handshake into `handshake.json` (the stdio front end's description).

    python -m mcp_server_checkpoints.server.describe           # rewrite the shipped file
    python -m mcp_server_checkpoints.server.describe --check   # exit 1 when it is stale

The real server is driven through the SDK's `stdio_server` with in-memory lines, so each answer is
the exact text that transport writes, for every protocol version the handshake can negotiate.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import AsyncIterator, Iterable
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION

from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.server.handshake import DESCRIPTION_FILE, Description

REGENERATE = "python -m mcp_server_checkpoints.server.describe"


class _Sink:
    """stdout for `stdio_server`: the lines it writes, and a wake-up for each."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._buffer = ""
        self.wrote = anyio.Event()

    async def write(self, text: str) -> None:
        self._buffer += text
        *done, self._buffer = self._buffer.split("\n")
        self.lines.extend(done)
        if done:
            self.wrote.set()
            self.wrote = anyio.Event()

    async def flush(self) -> None:
        pass


async def exchange(server: MCPServer, lines: Iterable[str], *, timeout_s: float = 30.0) -> list[str]:
    """The lines the SDK's stdio transport writes for `lines`, sent one by one (each request's answer
    awaited before the next line, as a client waiting on the handshake does)."""
    sink = _Sink()

    async def stdin() -> AsyncIterator[str]:
        for line in lines:
            wanted = len(sink.lines) + (1 if '"id"' in line else 0)
            yield line + "\n"
            while len(sink.lines) < wanted:
                await sink.wrote.wait()

    lowlevel = server._lowlevel_server
    with anyio.fail_after(timeout_s):
        async with stdio_server(stdin=stdin(), stdout=sink) as (read_stream, write_stream):  # type: ignore[arg-type]
            await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
    return sink.lines


def initialize_line(rid: int | str, version: str, client: dict[str, Any] | None = None) -> str:
    params = {"protocolVersion": version, "capabilities": {}, "clientInfo": client or {"name": "describe", "version": "1"}}
    return json.dumps({"jsonrpc": "2.0", "id": rid, "method": "initialize", "params": params})


def request_line(rid: int | str, method: str, params: dict[str, Any] | None = None) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, **({"params": params} if params is not None else {})})


INITIALIZED = json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"})


async def describe(server: MCPServer) -> Description:
    """What the SDK answers to `initialize`, `tools/list` and `ping` at each handshake version."""
    answers: dict[str, dict[str, str]] = {}
    for version in HANDSHAKE_PROTOCOL_VERSIONS:
        out = await exchange(server, [initialize_line(1, version), INITIALIZED, request_line(2, "tools/list"),
                                      request_line(3, "ping")])
        answers[version] = {}
        for rid, method, line in zip((1, 2, 3), ("initialize", "tools/list", "ping"), out, strict=True):
            head = f'{{"jsonrpc":"2.0","id":{rid}'
            if not line.startswith(head) or '"error"' in line[len(head):len(head) + 12]:
                raise RuntimeError(f"unexpected SDK answer to {method} at {version}: {line[:200]}")
            answers[version][method] = line[len(head):]
    return Description(latest=LATEST_HANDSHAKE_VERSION, answers=answers, sdk_version=package_version("mcp"))


def describe_default(settings: Settings | None = None) -> Description:
    """The description of the server built from `settings` (default: an empty database, no model)."""
    from mcp_server_checkpoints.server.app import build_server

    with tempfile.TemporaryDirectory(prefix="ckpt-describe-") as tmp:
        settings = settings or Settings(db=Path(tmp) / "describe.db", semantic=False)
        return anyio.run(describe, build_server(settings))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], prog="python -m " + __spec__.name)
    p.add_argument("--check", action="store_true", help="exit 1 if the shipped file differs (write nothing)")
    p.add_argument("--out", type=Path, default=DESCRIPTION_FILE)
    args = p.parse_args(argv)
    text = describe_default().to_json()
    current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    if args.check:
        if text != current:
            print(f"{args.out} is stale: run `{REGENERATE}` and commit it", file=sys.stderr)
            return 1
        return 0
    if text != current:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
