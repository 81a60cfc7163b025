"""The compact vector index against the exact float32 scan: recall, speed and memory.

What is measured
----------------
Past `COMPACT_ROWS` vectors (search/vectors.py) the index keeps int8 codes and sign bits instead of
float32 rows, and a search shortlists rows by the Hamming distance of sign bits before scoring them
with the codes. This prints what that costs in results and what it saves in time and memory.

1. Recall, on real embeddings (the default backend, all-MiniLM-L6-v2): the texts are ~40-word
   windows of the 84 real compaction summaries (read from ../shared/corpus/ at run time) plus the
   synthetic checkpoints of bench/latency.py (their embedding text); the queries are every query of
   bench/queries.jsonl, queries_fresh.jsonl and session_questions.jsonl plus the generator's. Both
   indexes hold the same vectors; recall@k is the share of the exact top k that the compact top k
   returns, and "top-1" how often the best hit is the same. The shortlist is a fixed share of the
   rows, so a small set is as hard as a large one only at the same share: the table gives k, the
   shortlist (OVERSAMPLE × k, as the index uses) and its share of the rows; at 500k rows the
   index's shortlists for k = 100 and 400 (what a search asks of the checkpoint and passage
   indexes) are 0.2 % and 0.8 % of the rows. The embeddings are cached in ~/.cache.
2. Speed and memory at 100k and 500k rows (100k checkpoints with 4 passages each): the rows are
   the real vectors tiled with Gaussian noise (sigma 0.05, re-normalised; a scan's cost does not
   depend on the values), top_k with k = 100 and 400 on two threads as search runs it; p50 / p95
   over --samples real queries, and the index's bytes.

    .venv/bin/python bench/vectors.py                    # both sections
    .venv/bin/python bench/vectors.py --samples 200 --sizes 100000,500000

Nothing is asserted: the script prints Markdown tables (stdout; progress on stderr).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
import latency as L  # noqa: E402  (the synthetic checkpoints)
import mcp_server_checkpoints.search.vectors as V  # noqa: E402
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields  # noqa: E402
from mcp_server_checkpoints.search.backends import choose_backend, load_embedder  # noqa: E402
from mcp_server_checkpoints.search.vectors import OVERSAMPLE, VectorIndex  # noqa: E402
from mcp_server_checkpoints.storage.sqlite.semantic import embedding_text  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "summaries.jsonl"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mcp-server-checkpoints-bench"


def progress(msg: str) -> None:
    print(f"[vectors] {msg}", file=sys.stderr, flush=True)


def texts_and_queries(synthetic: int) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    if CORPUS.exists():
        for line in CORPUS.read_text().splitlines():
            words = json.loads(line)["summary"].split()
            texts += [" ".join(words[i:i + 40]) for i in range(0, max(len(words) - 20, 1), 20)]
    else:
        progress(f"{CORPUS} not found: synthetic texts only")
    gen = L.Generator(7)
    for _ in range(synthetic):
        args, _ = gen.checkpoint()
        args.pop("payload", None)
        args.pop("parent_id", None)
        fields = CheckpointFields.model_validate(args)
        texts.append(embedding_text(fields.model_dump()))
        gen.titles.append(fields.title)
    queries = []
    for name in ("queries.jsonl", "queries_fresh.jsonl", "session_questions.jsonl"):
        path = ROOT / "bench" / name
        if path.exists():
            queries += [json.loads(line)["query"] for line in path.read_text().splitlines() if line.strip()]
    queries += [gen.query() for _ in range(300)]
    return texts, queries


def embed_cached(texts: list[str], label: str) -> np.ndarray:
    choice = choose_backend("auto", None)
    if choice.backend is None:
        sys.exit(f"no embedding backend: {choice.problem}")
    backend = choice.backend
    embedder = load_embedder(backend, None, threads=None)
    key = hashlib.sha256(("\0".join(texts) + embedder.model_name).encode()).hexdigest()[:16]
    path = CACHE / f"vectors-{label}-{key}.npy"
    if path.exists():
        return np.load(path)
    progress(f"embedding {len(texts):,} {label} with the {backend} backend (cached in {path})")
    out, t = [], time.perf_counter()
    for i in range(0, len(texts), 64):
        out += embedder.embed(texts[i:i + 64])
        if (i // 64) % 20 == 0:
            progress(f"  {i + 64:,}/{len(texts):,} ({(i + 64) / (time.perf_counter() - t):.0f}/s)")
    arr = np.asarray(out, dtype=np.float32)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, arr)
    return arr


def build(vectors: np.ndarray, compact: bool) -> VectorIndex:
    index = VectorIndex(kind="bench", model="m", dim=vectors.shape[1], capacity=len(vectors),
                        compact_rows=0 if compact else len(vectors) + 1)
    for start in range(0, len(vectors), 4096):
        chunk = vectors[start:start + 4096]
        index._put_many([str(start + i) for i in range(len(chunk))], chunk)  # noqa: SLF001 (bulk load)
    return index


def recall_table(vectors: np.ndarray, queries: np.ndarray) -> list[str]:
    exact, compact = build(vectors, False), build(vectors, True)
    n = len(vectors)
    lines = [f"Recall of the compact index against the exact scan, {n:,} real MiniLM vectors, {len(queries)} queries",
             "", "| k | shortlist | share of rows | recall@k | top-1 same |", "|---:|---:|---:|---:|---:|"]
    for k in (5, 10, 25, 100):
        short = k * OVERSAMPLE
        if short >= n:
            continue
        rec, top1 = [], 0
        saved = V.MIN_SHORTLIST
        V.MIN_SHORTLIST = 0  # the share of rows is the point here: no floor
        try:
            for q in queries:
                want = [r for r, _ in exact.top_k(q, k)]
                got = [r for r, _ in compact.top_k(q, k)]
                rec.append(len(set(want) & set(got)) / k)
                top1 += want[0] == got[0]
        finally:
            V.MIN_SHORTLIST = saved
        lines.append(f"| {k} | {short} | {short / n:.2%} | {np.mean(rec):.3f} | {top1 / len(queries):.3f} |")
    return lines


def speed_table(vectors: np.ndarray, queries: np.ndarray, sizes: list[int], samples: int) -> list[str]:
    rng = np.random.default_rng(0)
    pool = ThreadPoolExecutor(max_workers=2)
    lines = ["Top-k on two threads, ms p50 / p95, and the index's memory", "",
             "| rows | index | memory | k = 100 | k = 400 |", "|---:|---|---:|---:|---:|"]
    for size in sizes:
        base = vectors[rng.integers(0, len(vectors), size)]
        data = base + rng.normal(0, 0.05, base.shape).astype(np.float32)
        data /= np.linalg.norm(data, axis=1, keepdims=True)
        for compact in (False, True):
            index = build(data.astype(np.float32), compact)
            row = [f"{size:,}", "compact (codes + sign bits)" if compact else "exact (float32)",
                   f"{index.nbytes / 2**20:.1f} MiB"]
            for k in (100, 400):
                ts = []
                for q in queries[:samples]:
                    t = time.perf_counter()
                    index.top_k(q, k, pool=pool)
                    ts.append((time.perf_counter() - t) * 1000)
                row.append(f"{np.percentile(ts, 50):.1f} / {np.percentile(ts, 95):.1f}")
            lines.append("| " + " | ".join(row) + " |")
            del index
        progress(f"speed at {size:,} rows done")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--synthetic", type=int, default=4000, help="synthetic checkpoint texts added to the corpus windows")
    p.add_argument("--sizes", default="100000,500000")
    p.add_argument("--samples", type=int, default=100)
    args = p.parse_args(argv)
    texts, query_texts = texts_and_queries(args.synthetic)
    vectors = embed_cached(texts, "texts")
    queries = embed_cached(query_texts, "queries")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = recall_table(vectors, queries)
    lines += ["", *speed_table(vectors, queries, [int(s) for s in args.sizes.split(",")], args.samples)]
    lines += ["", f"load average before: {load}; after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
