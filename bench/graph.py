"""Knowledge-graph benchmark: the official memory server and ours, same graph, same calls, same client.

What is measured
----------------
Both servers run as real stdio subprocesses driven by the official Python MCP client (``mcp.Client``):

* official -- ``npx -y @modelcontextprotocol/server-memory@<pinned>`` with ``MEMORY_FILE_PATH`` in a
  temporary folder (the first run downloads the package; later runs use npm's cache);
* ours -- ``python -m mcp_server_checkpoints --db <tmp>/checkpoints.db``, semantic search off by
  default (``--semantic on`` keeps the configured default: the model loads and embeds in the
  background, work the official server has no counterpart for).

For each size N (``--sizes``, default 10k and 100k entities) the same seeded graph -- N entities with
3 observations each, one relation from every entity past the first ten to an earlier one -- is written
once in the official JSONL format: the official server reads that file as its memory file; ours
imports it (``import_lines``, what ``ckpt import-memory`` runs) before it starts. Building 100k
entities through the official server's tools would take hours: it rewrites its whole file on every
write. Then every operation is timed ``--samples`` times, round-robin, at size N (wall clock around
``call_tool``, milliseconds):

* ``create_entities`` -- 10 new entities, 3 observations each;
* ``create_relations`` -- 10 relations from new entities to existing ones;
* ``add_observations`` -- 2 observations to one random entity;
* ``search_nodes (hit)`` -- a substring that occurs in one entity's observation (``tok00042``);
* ``search_nodes (word)`` -- a word shared by 2 % of the entities (``topic17 ``);
* ``search_nodes (2 chars)`` -- a two-character query found in 2 % of the entities (``#7``): too short
  for a trigram, so ours scans;
* ``search_nodes (miss)`` -- words that are no substring of anything: the official server answers an
  empty graph, ours runs its ranked fallback (so the rows measure different work; both are what a
  client gets);
* ``open_nodes`` -- 5 random names;
* ``read_graph`` -- the whole graph (a few calls: at 100k it is ~20 MB of JSON).

The client's own check of each structured result against the tool's output schema (``jsonschema``,
pure Python, in ``mcp.ClientSession``) costs the same for both servers and dominates large reads;
it is off unless ``--client-validation on``.

Percentiles are linear interpolation between samples; "ratio" is official p50 / ours p50 (above 1:
ours is faster). Nothing is asserted: the script only reports. The 1-minute load average before
and after each server's run is printed with the table: other processes on the machine skew both.

How to run
----------
From the repository root (Node.js 22+ with npx: ``scripts/install-node``; network to the npm registry on the first run)::

    .venv/bin/python bench/graph.py                          # --sizes 10000,100000 --samples 100
    .venv/bin/python bench/graph.py --sizes 1000 --samples 50 --out bench-graph.md

The Markdown table goes to stdout (and ``--out``); progress goes to stderr. The default run takes
about a quarter of an hour, most of it the official server at 100k (every call reads its whole
file; every write rewrites it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
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
from mcp_server_checkpoints.storage.sqlite.checkpoints import open_database  # noqa: E402
from mcp_server_checkpoints.storage.sqlite.graph import GraphStore  # noqa: E402
from mcp_server_checkpoints.storage.sqlite.memory_file import import_lines  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.processes import node_env, node_tool  # noqa: E402  (scripts/install-node's Node.js, else PATH's)

OPS = ["create_entities", "create_relations", "add_observations", "search_nodes (hit)", "search_nodes (word)",
       "search_nodes (2 chars)", "search_nodes (miss)", "open_nodes", "read_graph"]
WORDS = "auth cache queue schema deploy render parser token index shard replica billing invoice webhook".split()


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    if not s:
        return math.nan
    k = (len(s) - 1) * p
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def servers(tmp: Path, semantic: str) -> dict[str, StdioServerParameters]:
    npx = node_tool("npx")
    if npx is None:
        sys.exit("npx not found: run scripts/install-node (Node.js 22 into .venv/node), or install Node.js 22+")
    env = {k: v for k, v in node_env().items() if not k.startswith("CHECKPOINTS_")}
    ours_env = {**env, "XDG_CONFIG_HOME": str(tmp)}
    if semantic == "off":
        ours_env["CHECKPOINTS_SEMANTIC"] = "false"
    return {
        "official": StdioServerParameters(
            command=npx, args=["-y", f"{OFFICIAL_PACKAGE}@{OFFICIAL_VERSION}"],
            env={**env, "MEMORY_FILE_PATH": str(tmp / "memory.jsonl")}, cwd=str(tmp)),
        "ours": StdioServerParameters(
            command=sys.executable, args=["-m", "mcp_server_checkpoints", "--db", str(tmp / "checkpoints.db")],
            env=ours_env, cwd=str(tmp)),
    }


def name(i: int) -> str:
    return f"entity-{i:06d}"


def entity(i: int, r: random.Random) -> dict[str, Any]:
    return {"name": name(i), "entityType": r.choice(["person", "project", "service", "decision"]),
            "observations": [f"works on {r.choice(WORDS)} and topic{i % 50} with tok{i:06d}",
                             f"owner of the {r.choice(WORDS)} {r.choice(WORDS)} module #{i % 50}",
                             f"last touched in sprint {r.randint(1, 40)}"]}


def graph_lines(n: int, seed: int) -> list[str]:
    """The starting graph in the official file format: n entities, then one relation per entity past the tenth."""
    r = random.Random(seed)
    lines = [json.dumps({"type": "entity", **entity(i, r)}) for i in range(n)]
    lines += [json.dumps({"type": "relation", "from": name(i), "to": name(r.randrange(i)),
                          "relationType": r.choice(["depends on", "owns", "reviews"])}) for i in range(10, n)]
    return lines


def prepare(tmp: Path, who: str, lines: list[str]) -> None:
    if who == "official":
        (tmp / "memory.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return
    db = open_database(tmp / "checkpoints.db")
    try:
        report = import_lines(GraphStore(db), lines)
        if report.errors:
            raise RuntimeError(f"import failed: {report.errors[:3]}")
    finally:
        db.close()


async def _not_validated(name: str, result: Any) -> None:
    """Stands in for ClientSession.validate_tool_result when --client-validation is off."""


async def run_one(params: StdioServerParameters, n: int, samples: int, seed: int,
                  validate: bool) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {op: [] for op in OPS}
    r = random.Random(seed + 1)
    fresh = iter(range(n, n + 10 * samples))

    async with Client(params) as client:
        if not validate:
            # The Python SDK checks every structured result against the tool's output schema with
            # jsonschema in pure Python: ~1 ms per 15 entities, the same for both servers, and most of a
            # large read's time. Off by default, so the table measures the servers.
            setattr(client.session, "validate_tool_result", _not_validated)  # noqa: B010
        async def timed(op: str, tool: str, args: dict[str, Any]) -> None:
            t0 = time.perf_counter()
            res = await client.call_tool(tool, args)
            times[op].append((time.perf_counter() - t0) * 1000)
            if res.is_error:
                raise RuntimeError(f"{tool} failed: {res.content}")

        created: list[int] = []

        async def create() -> None:
            batch = [next(fresh) for _ in range(10)]
            created.extend(batch)
            await timed("create_entities", "create_entities", {"entities": [entity(i, r) for i in batch]})

        measured: list[Callable[[], Awaitable[None]]] = [
            create,
            lambda: timed("create_relations", "create_relations", {"relations": [
                {"from": name(i), "to": name(r.randrange(n)), "relationType": r.choice(["depends on", "owns"])}
                for i in created[-10:]]}),
            lambda: timed("add_observations", "add_observations", {"observations": [
                {"entityName": name(r.randrange(n)), "contents": [f"note {r.random()}", "reviewed"]}]}),
            lambda: timed("search_nodes (hit)", "search_nodes", {"query": f"tok{r.randrange(n):06d}"}),
            lambda: timed("search_nodes (word)", "search_nodes", {"query": f"topic{r.randrange(50)} "}),
            lambda: timed("search_nodes (2 chars)", "search_nodes", {"query": f"#{r.randrange(5, 10)}"}),
            lambda: timed("search_nodes (miss)", "search_nodes",
                          {"query": f"{r.choice(WORDS)} refactoring plan {r.choice(WORDS)}"}),
            lambda: timed("open_nodes", "open_nodes", {"names": [name(r.randrange(n)) for _ in range(5)]}),
        ]
        for k in range(samples):
            for fn in measured:
                await fn()
            if k % 20 == 0:
                print(f"  {k}/{samples}", file=sys.stderr)
        for _ in range(max(3, samples // 40)):
            await timed("read_graph", "read_graph", {})
    return times


async def main_async(args: argparse.Namespace) -> str:
    rows = ["| operation | entities | official p50 | official p95 | ours p50 | ours p95 | ratio (official/ours p50) |",
            "|---|---|---|---|---|---|---|"]
    loads: list[str] = []
    for n in args.sizes:
        lines = graph_lines(n, args.seed)
        results: dict[str, dict[str, list[float]]] = {}
        for who in ("official", "ours"):
            with tempfile.TemporaryDirectory(prefix="bench-graph-") as tmp:
                prepare(Path(tmp), who, lines)
                before = os.getloadavg()[0]
                print(f"{who}: {n} entities (load {before:.1f})", file=sys.stderr)
                results[who] = await run_one(servers(Path(tmp), args.semantic)[who], n, args.samples, args.seed,
                                             args.client_validation == "on")
                loads.append(f"{who} at {n:,}: {before:.1f} → {os.getloadavg()[0]:.1f}")
        for op in OPS:
            o, m = results["official"][op], results["ours"][op]
            rows.append(f"| {op} | {n:,} | {pct(o, .5):.2f} | {pct(o, .95):.2f} | {pct(m, .5):.2f} | {pct(m, .95):.2f}"
                        f" | {pct(o, .5) / pct(m, .5):.1f}× |")
    return "\n".join(rows) + f"\n\n1-minute load average ({os.cpu_count()} cores), before → after: " + "; ".join(loads)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[10_000, 100_000])
    p.add_argument("--samples", type=int, default=100, help="timed calls per operation (read_graph: a few)")
    p.add_argument("--semantic", choices=["off", "on"], default="off",
                   help="ours with semantic search off (like for like, the default) or as configured")
    p.add_argument("--client-validation", choices=["off", "on"], default="off",
                   help="let the client check each result against the output schema (jsonschema; both servers pay it)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    table = anyio.run(main_async, args)
    header = (f"Knowledge-graph latency, ms, stdio, official {OFFICIAL_PACKAGE}@{OFFICIAL_VERSION} vs "
              f"mcp-server-checkpoints (Python {sys.version.split()[0]}, semantic {args.semantic},"
              f" client-side output validation {args.client_validation}),"
              f" {args.samples} samples per operation\n\n")
    print(header + table)
    if args.out:
        Path(args.out).write_text(header + table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
