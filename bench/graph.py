"""Knowledge-graph benchmark: the official memory server and ours, same workload, same client, same transport.

What is measured
----------------
Both servers run as real stdio subprocesses driven by the official Python MCP client (``mcp.Client``):

* official -- ``npx -y @modelcontextprotocol/server-memory@<pinned>`` with ``MEMORY_FILE_PATH`` in a
  temporary folder (the first run downloads the package; later runs use npm's cache);
* ours -- ``python -m mcp_server_checkpoints --db <tmp>/checkpoints.db``.

For each size N (``--sizes``, default 1k and 10k entities) a fresh graph is built through the tools and
every call is timed (wall clock around ``call_tool``, milliseconds):

* ``create_entities`` -- batches of 10 new entities, 3 observations each (builds the graph);
* ``create_relations`` -- batches of 10 relations from each new entity to earlier ones;
* ``add_observations`` -- 2 observations to one random entity;
* ``search_nodes (hit)`` -- a substring that occurs in one entity's observation (``tok00042``);
* ``search_nodes (word)`` -- a word shared by ~2 % of the entities (``topic17``);
* ``search_nodes (miss)`` -- words that are no substring of anything: the official server answers an
  empty graph, ours runs its ranked fallback (so the rows measure different work; both are what a
  client gets);
* ``open_nodes`` -- 5 random names;
* ``read_graph`` -- the whole graph (a few calls: at 10k it is megabytes of JSON).

The workload is seeded (``--seed``) and identical for both servers. Percentiles are linear
interpolation between samples; "ratio" is official p50 / ours p50 (above 1: ours is faster).
Nothing is asserted: the script only reports.

How to run
----------
From the repository root (Node 18+ with npx, network to the npm registry on the first run)::

    .venv/bin/python bench/graph.py                          # --sizes 1000,10000 --samples 200
    .venv/bin/python bench/graph.py --sizes 1000 --samples 50 --out bench-graph.md

The Markdown table goes to stdout (and ``--out``); progress goes to stderr. The default run takes a
few minutes, most of it the official server rewriting its whole file on every write at 10k.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from mcp_server_checkpoints.server.memory import OFFICIAL_PACKAGE, OFFICIAL_VERSION  # noqa: E402

OPS = ["create_entities", "create_relations", "add_observations", "search_nodes (hit)", "search_nodes (word)",
       "search_nodes (miss)", "open_nodes", "read_graph"]
WORDS = "auth cache queue schema deploy render parser token index shard replica billing invoice webhook".split()


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    if not s:
        return math.nan
    k = (len(s) - 1) * p
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def servers(tmp: Path) -> dict[str, StdioServerParameters]:
    npx = shutil.which("npx")
    if npx is None:
        sys.exit("npx not found: install Node.js 18+ (apt-get install nodejs npm, or https://nodejs.org)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHECKPOINTS_")}
    return {
        "official": StdioServerParameters(
            command=npx, args=["-y", f"{OFFICIAL_PACKAGE}@{OFFICIAL_VERSION}"],
            env={**env, "MEMORY_FILE_PATH": str(tmp / "memory.jsonl")}, cwd=str(tmp)),
        "ours": StdioServerParameters(
            command=sys.executable, args=["-m", "mcp_server_checkpoints", "--db", str(tmp / "checkpoints.db")],
            env={**env, "XDG_CONFIG_HOME": str(tmp)}, cwd=str(tmp)),
    }


def entity(i: int, r: random.Random) -> dict[str, Any]:
    return {"name": f"entity-{i:05d}", "entityType": r.choice(["person", "project", "service", "decision"]),
            "observations": [f"works on {r.choice(WORDS)} and topic{i % 50} with tok{i:05d}",
                             f"owner of the {r.choice(WORDS)} {r.choice(WORDS)} module",
                             f"last touched in sprint {r.randint(1, 40)}"]}


async def run_one(params: StdioServerParameters, n: int, samples: int, seed: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {op: [] for op in OPS}
    r = random.Random(seed)

    async with Client(params) as client:
        async def timed(op: str, tool: str, args: dict[str, Any]) -> None:
            t0 = time.perf_counter()
            res = await client.call_tool(tool, args)
            times[op].append((time.perf_counter() - t0) * 1000)
            if res.is_error:
                raise RuntimeError(f"{tool} failed: {res.content}")

        for start in range(0, n, 10):
            await timed("create_entities", "create_entities",
                        {"entities": [entity(i, r) for i in range(start, min(start + 10, n))]})
            if start:
                rels = [{"from": f"entity-{i:05d}", "to": f"entity-{r.randrange(start):05d}",
                         "relationType": r.choice(["depends on", "owns", "reviews"])}
                        for i in range(start, min(start + 10, n))]
                await timed("create_relations", "create_relations", {"relations": rels})
            if start % 1000 == 0:
                print(f"  {start}/{n}", file=sys.stderr)
        measured: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("add_observations", lambda: timed("add_observations", "add_observations", {"observations": [
                {"entityName": f"entity-{r.randrange(n):05d}", "contents": [f"note {r.random()}", "reviewed"]}]})),
            ("search_nodes (hit)", lambda: timed("search_nodes (hit)", "search_nodes", {"query": f"tok{r.randrange(n):05d}"})),
            ("search_nodes (word)", lambda: timed("search_nodes (word)", "search_nodes", {"query": f"topic{r.randrange(50)} "})),
            ("search_nodes (miss)", lambda: timed("search_nodes (miss)", "search_nodes",
                                                  {"query": f"{r.choice(WORDS)} refactoring plan {r.choice(WORDS)}"})),
            ("open_nodes", lambda: timed("open_nodes", "open_nodes",
                                         {"names": [f"entity-{r.randrange(n):05d}" for _ in range(5)]})),
        ]
        for _ in range(samples):
            for _, fn in measured:
                await fn()
        for _ in range(max(3, samples // 40)):
            await timed("read_graph", "read_graph", {})
    return times


async def main_async(args: argparse.Namespace) -> str:
    rows = ["| operation | entities | official p50 | official p95 | ours p50 | ours p95 | ratio (official/ours p50) |",
            "|---|---|---|---|---|---|---|"]
    for n in args.sizes:
        results: dict[str, dict[str, list[float]]] = {}
        for name in ("official", "ours"):
            with tempfile.TemporaryDirectory(prefix="bench-graph-") as tmp:
                print(f"{name}: {n} entities", file=sys.stderr)
                results[name] = await run_one(servers(Path(tmp))[name], n, args.samples, args.seed)
        for op in OPS:
            o, m = results["official"][op], results["ours"][op]
            rows.append(f"| {op} | {n:,} | {pct(o, .5):.2f} | {pct(o, .95):.2f} | {pct(m, .5):.2f} | {pct(m, .95):.2f}"
                        f" | {pct(o, .5) / pct(m, .5):.2f}× |")
    return "\n".join(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 10000])
    p.add_argument("--samples", type=int, default=200, help="timed calls per read operation")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    table = anyio.run(main_async, args)
    header = (f"Knowledge-graph latency, ms, stdio, official {OFFICIAL_PACKAGE}@{OFFICIAL_VERSION} vs "
              f"mcp-server-checkpoints (Python {sys.version.split()[0]})\n\n")
    print(header + table)
    if args.out:
        Path(args.out).write_text(header + table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
