"""How much of a large knowledge-graph result is the server's: ours beside a stand-in that replies instantly.

bench/graph.py times whole round trips, so a big answer's figure includes what the Python MCP client
does with it (reading the line off the pipe, parsing the JSON-RPC message, building the result) and
the pipe itself. Here the same calls go, round-robin, to two stdio servers through the same client:

* ours -- ``python -m mcp_server_checkpoints`` over the seeded graph of bench/graph.py;
* replay -- a few lines of Python that answer each call with the exact line ours wrote for it
  (captured first through the SDK's stdio transport), with no work of its own.

``replay`` is the floor any server sending those bytes to this client pays; ours minus replay is
the server's share (reading the request, running the tool, dumping and writing the answer).
Nothing is asserted.

    .venv/bin/python bench/graph_floor.py --size 10000 --samples 30
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

sys.path.insert(0, str(Path(__file__).resolve().parent))
import graph as bench  # noqa: E402  (bench/graph.py: the same graph, servers and client settings)
from mcp_server_checkpoints.config import Settings  # noqa: E402
from mcp_server_checkpoints.server import build_server  # noqa: E402
from mcp_server_checkpoints.server.describe import INITIALIZED, exchange, initialize_line, request_line  # noqa: E402

CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "search_nodes (hit)": ("search_nodes", {"query": "tok000042"}),
    "search_nodes (word)": ("search_nodes", {"query": "topic17 "}),
    "search_nodes (miss)": ("search_nodes", {"query": "auth refactoring plan cache"}),
    "read_graph": ("read_graph", {}),
}


async def capture(db: Path, version: str) -> dict[str, str]:
    """The lines ours writes for `initialize` and for each call (through the SDK's stdio transport)."""
    server = build_server(Settings(db=db, semantic=False))
    lines = [initialize_line(1, version), INITIALIZED,
             *(request_line(i, "tools/call", {"name": t, "arguments": a}) for i, (t, a) in enumerate(CALLS.values(), 2))]
    out = await exchange(server, lines)
    return {"initialize": out[0], **dict(zip(CALLS, out[1:], strict=True))}


def serve(path: str, op: str) -> None:
    """The replay server: every request answered at once with the captured line (its id swapped in)."""
    replies = json.loads(Path(path).read_text(encoding="utf-8"))
    for line in sys.stdin:
        msg = json.loads(line)
        if "id" not in msg:
            continue
        canned = replies["initialize" if msg["method"] == "initialize" else op]
        rest = canned[canned.index(',"result"'):].rstrip("\n")
        sys.stdout.write('{"jsonrpc":"2.0","id":' + json.dumps(msg["id"]) + rest + "\n")
        sys.stdout.flush()


async def measure(args: argparse.Namespace) -> str:
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp_name:
        tmp = Path(tmp_name)
        bench.prepare(tmp, "ours", bench.graph_lines(args.size, args.seed))
        shutil.copy(tmp / "checkpoints.db", tmp / "capture.db")
        replies = await capture(tmp / "capture.db", args.version)
        (tmp / "replies.json").write_text(json.dumps(replies), encoding="utf-8")
        ours = bench.servers(tmp, "off")["ours"]
        rows = ["| operation | entities | reply bytes | ours p50 | replay p50 | server's share p50 |", "|---|---|---|---|---|---|"]
        load = os.getloadavg()[0]
        for op, (tool, arguments) in CALLS.items():
            replay = StdioServerParameters(command=sys.executable, args=[__file__, "--serve", str(tmp / "replies.json"), op],
                                           env=ours.env, cwd=str(tmp))
            times: dict[str, list[float]] = {"ours": [], "replay": []}
            async with Client(ours) as a, Client(replay) as b:
                for c in (a, b):
                    setattr(c.session, "validate_tool_result", bench._not_validated)  # noqa: B010 (as bench/graph.py)
                    await c.call_tool(tool, arguments)  # warm-up
                samples = args.samples if op != "read_graph" else max(5, args.samples // 3)
                for _ in range(samples):
                    for who, c in (("ours", a), ("replay", b)):
                        t0 = time.perf_counter()
                        await c.call_tool(tool, arguments)
                        times[who].append((time.perf_counter() - t0) * 1000)
            o, r = bench.pct(times["ours"], .5), bench.pct(times["replay"], .5)
            rows.append(f"| {op} | {args.size:,} | {len(replies[op]):,} | {o:.2f} | {r:.2f} | {o - r:.2f} |")
        return "\n".join(rows) + f"\n\n1-minute load average ({os.cpu_count()} cores): {load:.1f} → {os.getloadavg()[0]:.1f}"


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3])
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--size", type=int, default=10_000)
    p.add_argument("--samples", type=int, default=30, help="calls per operation (read_graph: a third, at least 5)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--version", default="2025-11-25", help="protocol version the replies are captured at")
    args = p.parse_args()
    print(f"Server's share of a round trip, ms, stdio, Python {sys.version.split()[0]}, semantic off,"
          f" client-side output validation off, {args.samples} samples\n")
    print(anyio.run(measure, args))


if __name__ == "__main__":
    main()
