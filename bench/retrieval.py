"""Retrieval quality on real Claude Code compaction summaries: lexical vs semantic vs hybrid, on data not tuned on.

Each summary of ``../shared/corpus/summaries.jsonl`` (outside the repository; ``--corpus`` to point
elsewhere) becomes one checkpoint, in two mappings:

* ``mechanical`` — what an automatically captured checkpoint would hold: ``title`` = the first
  sentence of section "Primary Request and Intent" (cut to 80 characters, as the PreCompact hook
  cuts the first request), ``goal`` = that section, ``current_work`` = "Current Work",
  ``remaining`` = the items of "Pending Tasks", ``next_step`` = "Optional Next Step", ``summary`` =
  the whole text, ``project`` = the project key;
* ``collector`` — the same, but ``title`` = the collector's hand-written title.

Queries, per summary:

* ``natural`` and ``paraphrase`` (``bench/queries.jsonl``, written by hand after reading each summary;
  a paraphrase avoids the summary's distinctive words). They are split by summary id into a
  **tuning half** (odd numbers: s001, s003, …) and a **test half** (even numbers); ranking choices
  were made on the tuning half only.
* ``formatted`` — a continuation as this server's own recovery text starts, built mechanically from
  the checkpoint: ``Continue work on: <title>`` / ``Progress: <first sentence of current work>`` /
  ``Next steps: <first sentence of the next step>``.
* ``bench/queries_fresh.jsonl`` (``--fresh``): a natural and a paraphrased request for each summary of
  the test half, written after the first tuning run (from the summaries, in other words than
  queries.jsonl); reported as their own table. It was not used to choose anything until the second
  round of tuning (the lexical share 0.5 → 0.4, chosen on the tuning half, this set and
  bench/sessions.py's requests).
* ``bench/queries_fresh2.jsonl`` (``--fresh2``): a natural and a paraphrased request for every summary,
  written after that second round by someone who had not seen the ranker or the other query files
  (paraphrases checked by a script for words rare in the corpus); the held-out set of that round.

For every query the store is searched (all statuses, limit 10) and the rank of the summary's
checkpoint is recorded: recall@1, recall@5 and MRR (0 past rank 10), per query kind, for lexical
only (bm25), semantic only (cosine) and hybrid (the product default, and with ``--variants`` the
alternatives that were compared). The real model embeds everything before anything is timed.
``--memory-tools`` adds the knowledge-graph ``search_nodes`` rows and the official memory server.

    .venv/bin/python bench/retrieval.py                     # Markdown tables on stdout
    .venv/bin/python bench/retrieval.py --variants --split tune   # what the tuning looked at
    .venv/bin/python bench/retrieval.py --show-misses       # the default's misses at rank 1
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.schemas.graph import Entity
from mcp_server_checkpoints.search.embedder import Embedder
from mcp_server_checkpoints.search.fusion import DEFAULT, RankingOptions
from mcp_server_checkpoints.search.sentence_embedder import load_embedder
from mcp_server_checkpoints.server.memory import OFFICIAL_PACKAGE, OFFICIAL_VERSION
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database
from mcp_server_checkpoints.storage.sqlite.graph import GraphStore
from mcp_server_checkpoints.storage.sqlite.search import search as run_search
from mcp_server_checkpoints.storage.sqlite.semantic import SemanticIndex

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "summaries.jsonl"
SECTIONS = ("Primary Request and Intent", "Key Technical Concepts", "Files and Code Sections", "Errors and [Ff]ixes",
            "Problem Solving", "All [Uu]ser [Mm]essages", "Pending Tasks", "Current Work", "Optional Next Step")
HEADING = re.compile(r"(?m)^[#>*\s]*\d+\.\s*\**\s*(" + "|".join(SECTIONS) + r")\s*\**\s*:?\s*\**")
CUT = 3_800  # goal / current work / next step: the section's start is what matters
TITLE_CHARS = 80  # the PreCompact hook's title: the first request's first line, this long

# (label, options): the product default first after the two halves; --variants adds the rest.
RANKERS: list[tuple[str, RankingOptions]] = [
    ("lexical only (bm25)", RankingOptions(mode="lexical")),
    ("semantic only (cosine, passages)", RankingOptions(mode="semantic")),
    (f"hybrid — default ({DEFAULT.fusion}, lexical share {DEFAULT.weight}, passages, filler stripped)", DEFAULT),
]
VARIANTS: list[tuple[str, RankingOptions]] = [
    ("hybrid, old default (weighted 0.3 bm25/best + 0.7 cos, one vector)",
     RankingOptions(fusion="weighted", weight=0.3, passages=False, strip_filler=False)),
    ("hybrid, zscore, lexical share 0.5 (the default before the second tuning)", RankingOptions(weight=0.5)),
    ("hybrid, RRF", RankingOptions(fusion="rrf", weight=0.5)),
    ("hybrid, weighted 0.5 bm25/best + 0.5 cos", RankingOptions(fusion="weighted", weight=0.5)),
]


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


def first_sentence(text: str, chars: int) -> str:
    """The first sentence of a section, without list bullets or Markdown emphasis, at most `chars` long."""
    flat = " ".join(re.sub(r"^[\s\-*>#\d.]+", "", ln).strip() for ln in text.splitlines() if ln.strip())
    flat = flat.replace("**", "").replace("`", "")
    sentence = re.split(r"(?<=[.!?])\s", flat, maxsplit=1)[0].strip()
    if len(sentence) <= chars:
        return sentence
    return sentence[:chars - 1].rsplit(" ", 1)[0] + "…"


def to_fields(doc: dict[str, Any], mapping: str = "mechanical") -> CheckpointFields:
    s = sections(doc["summary"])
    goal = s.get("primary request and intent") or doc["summary"]
    title = first_sentence(goal, TITLE_CHARS) if mapping == "mechanical" else doc["title"][:200]
    return CheckpointFields(
        title=title or doc["title"][:200], goal=goal[:CUT], project=doc["project_key"], status="paused",
        current_work=(s.get("current work") or None) and s["current work"][:CUT],
        next_step=(s.get("optional next step") or None) and s["optional next step"][:CUT],
        remaining=items(s.get("pending tasks", "")), summary=doc["summary"], tags=[],
    )


def formatted_query(f: CheckpointFields) -> str:
    """A continuation message as this server's recovery text begins, from the checkpoint's own fields."""
    lines = [f"Continue work on: {f.title}"]
    if f.current_work:
        lines.append(f"Progress: {first_sentence(f.current_work, 200)}")
    nxt = f.next_step or (f.remaining[0] if f.remaining else None)
    if nxt:
        lines.append(f"Next steps: {first_sentence(nxt, 200)}")
    return "\n".join(lines)


def split_of(summary_id: str) -> str:
    return "tune" if int(summary_id.lstrip("s")) % 2 else "test"


class CachedEmbedder:
    """The real embedder, remembering vectors by text (in memory and, with `path`, on disk between runs):
    the benchmark embeds the same passages under both mappings, and tuning re-runs it many times."""

    def __init__(self, inner: Any, path: Path | None = None) -> None:
        self.inner = inner
        self.path = path
        self.cache: dict[str, np.ndarray] = {}
        if path is not None and path.is_file():
            with np.load(path) as z:
                self.cache = {k: z[k] for k in z.files}
        self.new = 0

    @property
    def model_name(self) -> str:
        return str(self.inner.model_name)

    @property
    def dim(self) -> int:
        return int(self.inner.dim)

    def embed(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in self.embed_array(texts)]

    def embed_array(self, texts: list[str]) -> np.ndarray:
        keys = [hashlib.sha1(f"{self.model_name}\0{t}".encode()).hexdigest() for t in texts]
        todo = [(k, t) for k, t in dict(zip(keys, texts, strict=True)).items() if k not in self.cache]
        if todo:
            vecs = np.asarray(self.inner.embed_array([t for _, t in todo]), dtype=np.float32)
            for (k, _), v in zip(todo, vecs, strict=True):
                self.cache[k] = v
            self.new += len(todo)
        return np.stack([self.cache[k] for k in keys]).astype(np.float32)

    def save(self) -> None:
        if self.path is not None and self.new:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(self.path, **self.cache)  # type: ignore[arg-type]
            self.new = 0


def build_store(path: Path, fields: Iterable[tuple[str, CheckpointFields]], embedder: Embedder) -> tuple[
        SQLiteCheckpointStore, dict[str, str], float]:
    """A store with one checkpoint per (key, fields), everything embedded; (store, key → id, embed seconds)."""
    store = SQLiteCheckpointStore(open_database(path))
    ids = {key: store.save(f).id for key, f in fields}
    store.semantic = SemanticIndex.ready_with(store.db, embedder)
    t = time.perf_counter()
    while store.semantic.embed_pending(limit=16):
        pass
    return store, ids, time.perf_counter() - t


def evaluate(store: SQLiteCheckpointStore, queries: list[dict[str, str]], ids: dict[str, str],
             options: RankingOptions, target: str = "summary_id") -> dict[str, Any]:
    per_kind: dict[str, list[int | None]] = {}
    misses: list[tuple[str, str, int | None, str | None]] = []
    times: list[float] = []
    for q in queries:
        t = time.perf_counter()
        out = run_search(store.db, store.semantic, q["query"], statuses=["any"], limit=10, options=options)
        times.append(time.perf_counter() - t)
        got = [h.id for h in out.hits]
        want = ids[q[target]]
        rank = got.index(want) + 1 if want in got else None
        per_kind.setdefault(q["kind"], []).append(rank)
        if rank != 1:
            misses.append((q["kind"], q["query"], rank, out.hits[0].title if out.hits else None))
    times.sort()
    return {"stats": _stats(per_kind), "misses": misses, "p50_ms": 1000 * times[len(times) // 2]}


def _stats(per_kind: dict[str, list[int | None]]) -> dict[str, Any]:
    per_kind["all"] = [r for ranks in list(per_kind.values()) for r in ranks]
    return {k: {"n": len(r), "r1": sum(x == 1 for x in r) / len(r),
                "r5": sum(x is not None and x <= 5 for x in r) / len(r),
                "r10": sum(x is not None for x in r) / len(r),
                "mrr": sum(1 / x for x in r if x is not None) / len(r)} for k, r in per_kind.items()}


def table(title: str, results: list[tuple[str, dict[str, Any]]], kinds: list[str],
          metrics: tuple[str, ...] = ("r1", "r5", "mrr")) -> str:
    names = {"r1": "R@1", "r5": "R@5", "r10": "R@10", "mrr": "MRR"}
    first = results[0][1]["stats"]
    counts = ", ".join(f"{k}: {first[k]['n']}" for k in kinds if k != "all")
    lines = [f"### {title} ({counts})", "",
             "| ranker | " + " | ".join(f"{k} {names[m]}" for k in kinds for m in metrics) + " |",
             "|---|" + "---:|" * (len(metrics) * len(kinds))]
    for name, res in results:  # no latency here: query vectors are cached across rankers (bench/scale.py times)
        cells = [f"{res['stats'][k][m]:.3f}" for k in kinds for m in metrics]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- the knowledge-graph tools (--memory-tools) -------------------------------------------------------
def _entities(docs: list[dict[str, Any]]) -> list[tuple[str, str, list[str]]]:
    """Each summary as one knowledge-graph entity: (summary id, name = title, observations = its mapped fields)."""
    out = []
    for d in docs:
        f = to_fields(d, "collector")
        obs = [f.goal, f.current_work or "", f.next_step or "", *f.remaining, f.summary or "", f"Project: {f.project}"]
        out.append((d["id"], f.title, [o for o in obs if o]))
    return out


def _unique_names(docs: list[dict[str, Any]]) -> list[tuple[str, str, list[str]]]:
    """(entity name, summary id, observations): names are unique in a graph, so a repeated title gets its id."""
    out: list[tuple[str, str, list[str]]] = []
    seen: set[str] = set()
    for sid, title, obs in _entities(docs):
        name = title if title not in seen else f"{title} ({sid})"
        seen.add(name)
        out.append((name, sid, obs))
    return out


def graph_search(tmp: Path, docs: list[dict[str, Any]], queries: list[dict[str, str]],
                 embedder: Embedder, *, semantic: bool = True) -> dict[str, Any]:
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


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--queries", type=Path, default=ROOT / "bench" / "queries.jsonl")
    p.add_argument("--fresh", type=Path, default=ROOT / "bench" / "queries_fresh.jsonl")
    p.add_argument("--fresh2", type=Path, default=ROOT / "bench" / "queries_fresh2.jsonl")
    p.add_argument("--split", choices=("test", "tune", "both"), default="both",
                   help="which half of queries.jsonl to report (default: both, as separate tables)")
    p.add_argument("--mapping", choices=("mechanical", "collector", "both"), default="both")
    p.add_argument("--model", default=None, help="embedding model (default: the packaged all-MiniLM-L6-v2)")
    p.add_argument("--variants", action="store_true", help="also the ranking variants that were compared")
    p.add_argument("--memory-tools", action="store_true", help="also search_nodes and the official memory server")
    p.add_argument("--cache", type=Path, default=None, help="keep embeddings in this .npz between runs")
    p.add_argument("--show-misses", action="store_true")
    args = p.parse_args(argv)
    if not args.corpus.is_file():
        print(f"retrieval: corpus not found at {args.corpus}; pass --corpus", file=sys.stderr)
        return 2
    docs = read_jsonl(args.corpus)
    known = {d["id"] for d in docs}
    hand = [q for q in read_jsonl(args.queries) if q["summary_id"] in known]
    fresh, fresh2 = ([q for q in read_jsonl(path) if q["summary_id"] in known] if path.is_file() else []
                     for path in (args.fresh, args.fresh2))
    t = time.perf_counter()
    embedder = CachedEmbedder(load_embedder(args.model), args.cache)
    load_s = time.perf_counter() - t
    rankers = RANKERS + (VARIANTS if args.variants else [])
    mappings = ["mechanical", "collector"] if args.mapping == "both" else [args.mapping]
    splits = ["test", "tune"] if args.split == "both" else [args.split]
    out: list[str] = [f"# Retrieval on {len(docs)} real compaction summaries", ""]
    with tempfile.TemporaryDirectory() as tmp:
        for mapping in mappings:
            fields = {d["id"]: to_fields(d, mapping) for d in docs}
            print(f"retrieval: {mapping} mapping, embedding …", file=sys.stderr, flush=True)
            store, ids, embed_s = build_store(Path(tmp) / f"{mapping}.db", fields.items(), embedder)
            embedder.save()
            n_passages = len(store.semantic.passage_index or []) if store.semantic else 0
            out.append(f"## Mapping: {mapping} titles ({len(docs)} checkpoints, {n_passages} passages, "
                       f"embedded in {embed_s:.1f} s)\n")
            formatted = [{"summary_id": sid, "kind": "formatted", "query": formatted_query(f)} for sid, f in fields.items()]
            sets = [(f"queries.jsonl {half} half + formatted", [q for q in hand + formatted if split_of(q["summary_id"]) == half])
                    for half in splits]
            if fresh:
                sets.append(("queries_fresh.jsonl (written after the first tuning)", fresh))
            if fresh2:
                sets.append(("queries_fresh2.jsonl (written after the second tuning, held out)", fresh2))
            for title, queries in sets:
                print(f"retrieval: {mapping}: {title} …", file=sys.stderr, flush=True)
                results = [(name, evaluate(store, queries, ids, opt)) for name, opt in rankers]
                kinds = sorted({q["kind"] for q in queries}) + ["all"]
                out += [table(title, results, kinds), ""]
                print(table(f"{mapping}: {title}", results, kinds), file=sys.stderr, flush=True)  # as it comes
                if args.show_misses:
                    default = next(r for n, r in results if "default" in n)
                    out.append("Default hybrid, misses at rank 1 (kind, rank, query → top hit):\n")
                    out += [f"- [{k}] {r}: {q[:110]!r} → {top!r}" for k, q, r, top in default["misses"]]
                    out.append("")
            store.db.close()
        if args.memory_tools:
            results = [("this server's `search_nodes`: substring, then a bm25 fallback",
                        graph_search(Path(tmp), docs, hand, embedder, semantic=False)),
                       ("this server's `search_nodes`: substring, then a hybrid fallback (default)",
                        graph_search(Path(tmp), docs, hand, embedder))]
            official = official_baseline(Path(tmp), docs, hand)
            if official is not None:
                results.append((f"the official memory server ({OFFICIAL_PACKAGE}@{OFFICIAL_VERSION}, stdio)", official))
            out += [table("Memory tools, summaries as entities, queries.jsonl (both halves)", results,
                          sorted({q["kind"] for q in hand}) + ["all"]), ""]
    embedder.save()
    out.append(f"Model {embedder.model_name} (load {load_s:.1f} s).")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
