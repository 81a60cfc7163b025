"""Retrieval quality on real Claude Code compaction summaries: lexical vs semantic vs hybrid.

Each summary of ``../shared/corpus/summaries.jsonl`` (outside the repository; ``--corpus`` to
point elsewhere) becomes one checkpoint, mapped mechanically: ``title`` = the corpus title, ``goal`` =
section "Primary Request and Intent", ``current_work`` = "Current Work", ``remaining`` = the items
of "Pending Tasks", ``next_step`` = "Optional Next Step", ``summary`` = the whole text, ``project`` =
the project key. The queries (``bench/queries.jsonl``, written by hand after reading each summary)
come in two kinds per summary: ``natural`` (a resume request as a user would type it) and
``paraphrase`` (the same request avoiding the summary's distinctive words).

For every query the store is searched (all statuses, limit 10) and the rank of the summary's
checkpoint is recorded: recall@1, recall@5 and MRR (reciprocal rank, 0 past rank 10), per query
kind, for lexical only (bm25), semantic only (cosine) and hybrid (several fusions; the default
one is marked). Checkpoints are embedded with the real model before timing anything. Then the
memory-server tools: each summary as a knowledge-graph entity searched with this server's
`search_nodes` (the official substring match, then its ranked fallback, bm25 alone or fused with
the entities' embeddings), and the official memory server itself as the baseline: the same entities
created in it and every query sent to its `search_nodes` over stdio (npx; the row is left out without
Node.js).

    .venv/bin/python bench/retrieval.py                # Markdown tables on stdout
    .venv/bin/python bench/retrieval.py --show-misses  # also the queries the default misses at rank 1
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.schemas.graph import Entity
from mcp_server_checkpoints.search.sentence_embedder import SentenceTransformerEmbedder, load_embedder
from mcp_server_checkpoints.server.memory import OFFICIAL_PACKAGE, OFFICIAL_VERSION
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database
from mcp_server_checkpoints.storage.sqlite.graph import GraphStore
from mcp_server_checkpoints.storage.sqlite.search import Fusion, Mode
from mcp_server_checkpoints.storage.sqlite.search import search as run_search
from mcp_server_checkpoints.storage.sqlite.semantic import SemanticIndex

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "summaries.jsonl"
SECTIONS = ("Primary Request and Intent", "Key Technical Concepts", "Files and Code Sections", "Errors and [Ff]ixes",
            "Problem Solving", "All [Uu]ser [Mm]essages", "Pending Tasks", "Current Work", "Optional Next Step")
HEADING = re.compile(r"(?m)^[#>*\s]*\d+\.\s*\**\s*(" + "|".join(SECTIONS) + r")\s*\**\s*:?\s*\**")
CUT = 3_800  # goal / current work / next step: the section's start is what matters


def sections(text: str) -> dict[str, str]:
    found = list(HEADING.finditer(text))
    out: dict[str, str] = {}
    for m, nxt in zip(found, [*found[1:], None], strict=True):
        name = m.group(1).lower()
        out.setdefault(name, text[m.end(): nxt.start() if nxt else len(text)].strip())
    return out


def items(section: str) -> list[str]:
    lines = [re.sub(r"^[\s\-*\d.]+", "", ln).strip() for ln in section.splitlines()]
    return [ln[:1000] for ln in lines if len(ln) > 3][:50]


def to_fields(doc: dict[str, Any]) -> CheckpointFields:
    s = sections(doc["summary"])
    goal = s.get("primary request and intent") or doc["summary"]
    return CheckpointFields(
        title=doc["title"][:200], goal=goal[:CUT], project=doc["project_key"], status="paused",
        current_work=(s.get("current work") or None) and s["current work"][:CUT],
        next_step=(s.get("optional next step") or None) and s["optional next step"][:CUT],
        remaining=items(s.get("pending tasks", "")), summary=doc["summary"], tags=[],
    )


def evaluate(store: SQLiteCheckpointStore, queries: list[dict[str, str]], ids: dict[str, str], mode: Mode,
             fusion: Fusion = "rrf", weight: float = 0.5) -> dict[str, Any]:
    per_kind: dict[str, list[int | None]] = {}
    misses: list[tuple[str, str, int | None]] = []
    times: list[float] = []
    for q in queries:
        t = time.perf_counter()
        out = run_search(store.db, store.semantic, q["query"], statuses=["any"], limit=10, mode=mode,
                         fusion=fusion, weight=weight)
        times.append(time.perf_counter() - t)
        got = [h.id for h in out.hits]
        rank = got.index(ids[q["summary_id"]]) + 1 if ids[q["summary_id"]] in got else None
        per_kind.setdefault(q["kind"], []).append(rank)
        if rank != 1:
            misses.append((q["kind"], q["query"], rank))
    per_kind["all"] = [r for ranks in list(per_kind.values()) for r in ranks]
    stats = {
        kind: {
            "n": len(ranks),
            "r1": sum(r == 1 for r in ranks) / len(ranks),
            "r5": sum(r is not None and r <= 5 for r in ranks) / len(ranks),
            "mrr": sum(1 / r for r in ranks if r is not None) / len(ranks),
        }
        for kind, ranks in per_kind.items()
    }
    times.sort()
    return {"stats": stats, "misses": misses, "p50_ms": 1000 * times[len(times) // 2]}


def _entities(docs: list[dict[str, Any]]) -> list[tuple[str, str, list[str]]]:
    """Each summary as one knowledge-graph entity: (summary id, name = title, observations = its mapped fields)."""
    out = []
    for d in docs:
        f = to_fields(d)
        obs = [f.goal, f.current_work or "", f.next_step or "", *f.remaining, f.summary or "", f"Project: {f.project}"]
        out.append((d["id"], f.title, [o for o in obs if o]))
    return out


def _stats(per_kind: dict[str, list[int | None]]) -> dict[str, Any]:
    per_kind["all"] = [r for ranks in list(per_kind.values()) for r in ranks]
    return {k: {"n": len(r), "r1": sum(x == 1 for x in r) / len(r),
                "r5": sum(x is not None and x <= 5 for x in r) / len(r),
                "mrr": sum(1 / x for x in r if x is not None) / len(r)} for k, r in per_kind.items()}


def graph_search(tmp: Path, docs: list[dict[str, Any]], queries: list[dict[str, str]],
                 embedder: SentenceTransformerEmbedder, *, semantic: bool = True) -> dict[str, Any]:
    """This server's `search_nodes` on the same entities: the official substring match, then, when it
    finds nothing, the ranked fallback (bm25, fused with the entities' own embeddings if `semantic`)."""
    db = open_database(tmp / f"graph-{semantic}.db")
    sem = SemanticIndex.ready_with(db, embedder)
    graph = GraphStore(db, semantic=sem.rank_entities if semantic else None)
    names: dict[str, str] = {}
    for name, sid, obs in _unique_names(docs):
        names[name] = sid
        graph.create_entities([Entity(name=name, entityType="session-snapshot", observations=obs)])
    while sem.embed_pending(limit=16):
        pass
    per_kind: dict[str, list[int | None]] = {}
    times: list[float] = []
    for q in queries:
        t = time.perf_counter()
        got = [names[e.name] for e in graph.search_nodes(q["query"]).entities]
        times.append(time.perf_counter() - t)
        per_kind.setdefault(q["kind"], []).append(got.index(q["summary_id"]) + 1 if q["summary_id"] in got[:10] else None)
    db.close()
    times.sort()
    return {"stats": _stats(per_kind), "misses": [], "p50_ms": 1000 * times[len(times) // 2]}


def _unique_names(docs: list[dict[str, Any]]) -> list[tuple[str, str, list[str]]]:
    """(entity name, summary id, observations): names are unique in a graph, so a repeated title gets its id."""
    out: list[tuple[str, str, list[str]]] = []
    seen: set[str] = set()
    for sid, title, obs in _entities(docs):
        name = title if title not in seen else f"{title} ({sid})"
        seen.add(name)
        out.append((name, sid, obs))
    return out


def official_baseline(tmp: Path, docs: list[dict[str, Any]], queries: list[dict[str, str]]) -> dict[str, Any] | None:
    """The official memory server itself (npx, the version the differential tests pin), over stdio: the
    same entities created through its `create_entities`, every query sent to its `search_nodes`.
    None when npx is missing (the row is then left out, not emulated)."""
    import os
    import shutil

    import anyio
    from mcp import Client, StdioServerParameters

    npx = shutil.which("npx")
    if npx is None:
        print("retrieval: npx not found, so the official memory server's row is left out"
              " (install Node.js 18+)", file=sys.stderr)
        return None
    entities = _unique_names(docs)
    sid_of = {name: sid for name, sid, _ in entities}
    params = StdioServerParameters(command=npx, args=["-y", f"{OFFICIAL_PACKAGE}@{OFFICIAL_VERSION}"],
                                   env={**os.environ, "MEMORY_FILE_PATH": str(tmp / "official-memory.jsonl")},
                                   cwd=str(tmp))

    async def run() -> dict[str, Any]:
        per_kind: dict[str, list[int | None]] = {}
        times: list[float] = []
        async with Client(params) as client:
            res = await client.call_tool("create_entities", {"entities": [
                {"name": name, "entityType": "session-snapshot", "observations": obs} for name, _, obs in entities]})
            assert not res.is_error, res
            for q in queries:
                t = time.perf_counter()
                res = await client.call_tool("search_nodes", {"query": q["query"]})
                times.append(time.perf_counter() - t)
                assert not res.is_error and isinstance(res.structured_content, dict), res
                got = [sid_of[e["name"]] for e in res.structured_content["entities"]]
                per_kind.setdefault(q["kind"], []).append(
                    got.index(q["summary_id"]) + 1 if q["summary_id"] in got[:10] else None)
        times.sort()
        return {"stats": _stats(per_kind), "misses": [], "p50_ms": 1000 * times[len(times) // 2]}

    print("retrieval: the official memory server (npx) …", file=sys.stderr)
    return anyio.run(run)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--queries", type=Path, default=ROOT / "bench" / "queries.jsonl")
    p.add_argument("--model", default=None, help="embedding model (default: the packaged all-MiniLM-L6-v2)")
    p.add_argument("--show-misses", action="store_true")
    args = p.parse_args(argv)
    if not args.corpus.is_file():
        print(f"retrieval: corpus not found at {args.corpus}; pass --corpus", file=sys.stderr)
        return 2
    docs = [json.loads(line) for line in args.corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    queries = [json.loads(line) for line in args.queries.read_text(encoding="utf-8").splitlines() if line.strip()]
    known = {d["id"] for d in docs}
    queries = [q for q in queries if q["summary_id"] in known]
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteCheckpointStore(open_database(Path(tmp) / "retrieval.db"))
        ids = {d["id"]: store.save(to_fields(d)).id for d in docs}
        t = time.perf_counter()
        embedder = load_embedder(args.model)
        load_s = time.perf_counter() - t
        store.semantic = SemanticIndex.ready_with(store.db, embedder)
        t = time.perf_counter()
        while store.semantic.embed_pending(limit=16):
            pass
        embed_s = time.perf_counter() - t
        configs: list[tuple[str, Mode, Fusion, float]] = [
            ("lexical only (bm25)", "lexical", "rrf", 1.0),
            ("semantic only (cosine)", "semantic", "rrf", 0.0),
            ("hybrid, weighted sum (0.3 bm25/max + 0.7 cos) — default", "hybrid", "weighted", 0.3),
            ("hybrid, RRF (lexical share 0.5)", "hybrid", "rrf", 0.5),
            ("hybrid, RRF (lexical share 0.3)", "hybrid", "rrf", 0.3),
            ("hybrid, RRF (lexical share 0.7)", "hybrid", "rrf", 0.7),
            ("hybrid, weighted sum (0.5 bm25/max + 0.5 cos)", "hybrid", "weighted", 0.5),
        ]
        results = [(name, evaluate(store, queries, ids, mode, fusion, w)) for name, mode, fusion, w in configs]
        store.db.close()
        results.append(("this server's `search_nodes`, summaries as entities: substring, then a bm25 fallback",
                        graph_search(Path(tmp), docs, queries, embedder, semantic=False)))
        results.append(("this server's `search_nodes`, summaries as entities: substring, then a hybrid fallback (default)",
                        graph_search(Path(tmp), docs, queries, embedder)))
        official = official_baseline(Path(tmp), docs, queries)
        if official is not None:
            results.append((f"the official memory server's `search_nodes` ({OFFICIAL_PACKAGE}@{OFFICIAL_VERSION}, over stdio)",
                            official))
    kinds = sorted({q["kind"] for q in queries}) + ["all"]
    counts = ", ".join(f"{k}: {results[0][1]['stats'][k]['n']}" for k in kinds[:-1])
    lines = [
        f"# Retrieval on {len(docs)} real compaction summaries, {len(queries)} queries ({counts})",
        "",
        f"Model {embedder.model_name} (load {load_s:.1f} s; {len(docs)} checkpoints embedded in {embed_s:.1f} s).",
        "",
        "| ranker | " + " | ".join(f"{k} R@1 | {k} R@5 | {k} MRR" for k in kinds) + " | p50 ms |",
        "|---|" + "---:|" * (3 * len(kinds) + 1),
    ]
    for name, res in results:
        cells = [f"{res['stats'][k]['r1']:.3f} | {res['stats'][k]['r5']:.3f} | {res['stats'][k]['mrr']:.3f}" for k in kinds]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {res['p50_ms']:.1f} |")
    print("\n".join(lines))
    if args.show_misses:
        print("\nMisses at rank 1 (default hybrid):")
        for kind, q, rank in results[2][1]["misses"]:
            print(f"  [{kind}] rank {rank}: {q}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
