"""Scale benchmark for hybrid search: latency at 10k and 100k checkpoints, save + embed, memory, start-up.

What is measured
----------------
Per population size (``--sizes``, default 10k and 100k), on a fresh SQLite file filled with the
deterministic synthetic checkpoints of bench/latency.py (no payloads; lineages and mixed statuses
kept), with the real model (all-MiniLM-L6-v2, CPU) loaded and warm:

* vectors: ``--embed-sample`` checkpoints (default 2,000) are embedded with the real model (that
  gives the embedding throughput). Embedding 100k texts on 2 CPU cores takes most of an hour, so the
  other checkpoints get a sample vector plus Gaussian noise (sigma 0.05), re-normalised: the
  latency of an exact cosine top-k does not depend on the values, only on the matrix size.
* index load: building the in-memory numpy matrix from the ``vectors`` table, and its size.
* search p50/p95 (``SQLiteCheckpointStore.search`` with the default filters, limit 5), **including
  embedding the query**, for realistic 2-5 word queries (bench/latency.py's generator): hybrid,
  lexical only, and the query embedding alone.
* passages: ``--passages P`` gives every checkpoint P passage vectors (noisy copies of its own, as
  above: the cost of a top-k is the matrix size, not the values), as long checkpoints have (an
  auto-captured checkpoint carries its compaction summary: the 84 real ones average ~12 passages
  each, see bench/retrieval.py's table headers); the passage matrix's size is reported.
* through MCP (``--mcp``): the real server (``python -m mcp_server_checkpoints serve``) spawned
  over stdio on the same file, waited for until its model is warm, then ``search_checkpoints``
  called by the real MCP client: p50/p95 of the round trip, as an agent sees it.
* save: ``SQLiteCheckpointStore.save`` (what a tool call waits for: the vector is made in the background)
  and save + embedding that checkpoint (the background work per save).

Then stdio spawn → ``initialize`` answered for a bare ``MCPServer``, this server with the extra
installed and semantic search on (it loads the model on a background thread), and with semantic
off, alternating runs (bench/latency.py's method).

    .venv/bin/python bench/scale.py                       # --sizes 10000,100000 --samples 200 --spawn-runs 10
    .venv/bin/python bench/scale.py --sizes 10000 --samples 50 --spawn-runs 3
    .venv/bin/python bench/scale.py --keep ~/.cache/ckpt-bench   # reuse the populated files next time
    .venv/bin/python bench/scale.py --spawn-only --spawn-runs 10  # only stdio spawn → initialize
    .venv/bin/python bench/scale.py --sizes 10000 --passages 4 --mcp --spawn-runs 0

Nothing is asserted: the script prints a Markdown table (stdout; progress on stderr).
"""

from __future__ import annotations

import argparse
import gc
import resource
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import latency as L  # noqa: E402  (the synthetic data and the spawn timer of bench/latency.py)
from mcp_server_checkpoints.domain.time import utcnow
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields  # noqa: E402
from mcp_server_checkpoints.search.backends import choose_backend  # noqa: E402
from mcp_server_checkpoints.search.embedder import Embedder  # noqa: E402
from mcp_server_checkpoints.search.vectors import to_blob  # noqa: E402
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database  # noqa: E402
from mcp_server_checkpoints.storage.sqlite.semantic import EMBED_COLUMNS, SemanticIndex, as_matrix, embedding_text  # noqa: E402


def progress(msg: str) -> None:
    print(f"[scale] {msg}", file=sys.stderr, flush=True)


def pct(samples: list[float], p: float) -> float:
    return L.percentile(samples, p) * 1000


def populate(store: SQLiteCheckpointStore, gen: L.Generator, size: int) -> float:
    start = utcnow() - timedelta(days=L.SPREAD_DAYS)
    step = timedelta(days=L.SPREAD_DAYS) / size
    t0 = time.perf_counter()
    for i in range(size):
        args, final = gen.checkpoint()
        args.pop("payload", None)
        now = start + step * i
        res = store.save(CheckpointFields.model_validate(args), now=now)
        if final != args.get("status", "in-progress"):
            store.set_status(res.id, final, now=now + step / 2)
        gen.saved({**args, "payload": None}, res.id)
        if (i + 1) % 10_000 == 0:
            progress(f"populated {i + 1:,}/{size:,} ({time.perf_counter() - t0:.0f} s)")
    return time.perf_counter() - t0


def fill_vectors(store: SQLiteCheckpointStore, embedder: Embedder, sample: int, seed: int) -> float:
    """Real embeddings for `sample` checkpoints, noisy copies for the rest; returns texts/s of the real ones."""
    rng = np.random.default_rng(seed)
    with store.db.read() as c:
        rows = c.execute(f"SELECT {EMBED_COLUMNS} FROM checkpoints c ORDER BY c.rowid").fetchall()
    t = time.perf_counter()
    real = as_matrix(embedder, [embedding_text(r) for r in rows[:sample]])
    rate = min(sample, len(rows)) / (time.perf_counter() - t)
    progress(f"embedded {len(real):,} real texts ({rate:.0f}/s)")
    for i in range(0, len(rows), 5_000):
        chunk = rows[i:i + 5_000]
        vecs = []
        for j, _ in enumerate(chunk):
            k = i + j
            if k < len(real):
                vecs.append(real[k])
            else:
                v = real[k % len(real)] + rng.normal(0, 0.05, real.shape[1]).astype(np.float32)
                vecs.append(v / np.linalg.norm(v))
        with store.db.write() as c:
            c.executemany("INSERT OR REPLACE INTO vectors (kind, ref, model, dim, vector) VALUES ('checkpoint', ?, ?, ?, ?)",
                          [(r["id"], embedder.model_name, embedder.dim, to_blob(v)) for r, v in zip(chunk, vecs, strict=True)])
    return rate


def fill_passages(path: Path, per: int, model: str, seed: int) -> None:
    """`per` passage vectors for every checkpoint: its own vector plus noise (sigma 0.1), re-normalised."""
    rng = np.random.default_rng(seed + 7)
    db = open_database(path)
    with db.read() as c:
        rows = c.execute("SELECT ref, vector FROM vectors WHERE kind = 'checkpoint' ORDER BY seq").fetchall()
    for i in range(0, len(rows), 2_000):
        batch = []
        for ref, blob in rows[i:i + 2_000]:
            base = np.frombuffer(blob, dtype="<f4")
            for n in range(per):
                v = base + rng.normal(0, 0.1, base.shape[0]).astype(np.float32)
                batch.append((f"{ref}#{n}", model, base.shape[0], to_blob(v / np.linalg.norm(v))))
        with db.write() as c:
            c.executemany("INSERT OR REPLACE INTO vectors (kind, ref, model, dim, vector) VALUES ('passage', ?, ?, ?, ?)",
                          batch)
    db.close()


def mcp_search(path: Path, tmp: Path, queries: list[str]) -> list[float]:
    """search_checkpoints round trips through the real server over stdio, once its model is warm."""
    import anyio
    from mcp import Client, StdioServerParameters

    env = {**L._child_env(tmp), "CHECKPOINTS_SEMANTIC": "true"}
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_server_checkpoints", "serve", "--db", str(path)],
                                   env=env, cwd=str(tmp))

    async def run() -> list[float]:
        times: list[float] = []
        async with Client(params) as client:
            deadline = time.monotonic() + 300
            while True:  # the model loads on a background thread; searches are lexical until then
                res = await client.call_tool("search_checkpoints", {"query": queries[0]})
                assert not res.is_error and isinstance(res.structured_content, dict), res
                if res.structured_content.get("semantic") == "ready":
                    break
                if time.monotonic() > deadline:
                    raise SystemExit("scale: the server's model did not become ready in 5 minutes")
                await anyio.sleep(0.5)
            for q in queries[:10]:
                await client.call_tool("search_checkpoints", {"query": q})
            for q in queries:
                t = time.perf_counter()
                res = await client.call_tool("search_checkpoints", {"query": q})
                times.append(time.perf_counter() - t)
                assert not res.is_error, res
        return times

    return anyio.run(run)


def prepare(tmp: Path, size: int, seed: int, sample: int, embedder: Embedder,
            keep: Path | None) -> tuple[Path, str, str]:
    """A populated database to measure on (a scratch copy of the one kept in `keep`, if any), the fill
    time and the embedding rate ("reused" when the kept file was there already)."""
    name = f"scale-{size}-seed{seed}-embed{sample}.db"
    kept = keep / name if keep is not None else None
    if kept is not None and kept.exists():
        progress(f"reusing {kept}")
        fill, rate = "reused", "reused"
    else:
        target = kept.with_suffix(".partial") if kept is not None else tmp / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        store = SQLiteCheckpointStore(open_database(target))
        fill_s = populate(store, L.Generator(seed), size)
        rate_s = fill_vectors(store, embedder, sample, seed)
        store.db.close()
        if kept is None:
            return target, f"{fill_s:.0f} s", f"{rate_s:.0f}/s"
        target.rename(kept)  # only a complete file is ever reused
        fill, rate = f"{fill_s:.0f} s", f"{rate_s:.0f}/s"
    scratch = tmp / name
    shutil.copyfile(kept, scratch)  # measuring adds checkpoints: the kept file stays as populated
    return scratch, fill, rate


def bench_size(tmp: Path, size: int, samples: int, seed: int, sample: int,
               embedder: Embedder, keep: Path | None = None, passages: int = 0,
               mcp: bool = False) -> dict[str, str]:
    path, fill, rate = prepare(tmp, size, seed, sample, embedder, keep)
    if passages:
        t = time.perf_counter()
        fill_passages(path, passages, embedder.model_name, seed)
        progress(f"{passages} passage vectors per checkpoint written in {time.perf_counter() - t:.0f} s")
    store = SQLiteCheckpointStore(open_database(path))
    # Queries and new checkpoints come from a second generator that knows the stored titles, so a
    # reused file is measured with the same queries as a new one.
    gen = L.Generator(seed + 1)
    with store.db.read() as c:
        gen.titles = [r[0] for r in c.execute("SELECT title FROM checkpoints ORDER BY rowid")]
    gc.collect()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    store.semantic = SemanticIndex.ready_with(store.db, embedder)
    load_s = time.perf_counter() - t
    index, pindex = store.semantic.index, store.semantic.passage_index
    assert index is not None and len(index) == size, "every checkpoint should have a vector"
    assert pindex is not None and len(pindex) == size * passages
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queries = [gen.query() for _ in range(samples)]
    out: dict[str, list[float]] = {"hybrid": [], "lexical": [], "embed": []}
    for q in queries[:10]:  # warm-up
        store.search(q)
    for q in queries:
        t = time.perf_counter()
        res = store.search_with_state(q)
        out["hybrid"].append(time.perf_counter() - t)
        assert res.semantic == "ready"
        t = time.perf_counter()
        store.semantic.query_vector(q)
        out["embed"].append(time.perf_counter() - t)
    sem, store.semantic = store.semantic, None
    for q in queries:
        t = time.perf_counter()
        store.search(q)
        out["lexical"].append(time.perf_counter() - t)
    store.semantic = sem
    saves: list[float] = []
    save_embed: list[float] = []
    for _ in range(min(samples, 100)):
        args, _ = gen.checkpoint()
        args.pop("payload", None)
        args.pop("parent_id", None)
        t = time.perf_counter()
        store.save(CheckpointFields.model_validate(args))
        saves.append(time.perf_counter() - t)
        assert sem.embed_pending(limit=1) == 1
        save_embed.append(time.perf_counter() - t)
    store.db.close()
    tool = mcp_search(path, tmp, queries) if mcp else []
    return {
        "size": f"{size:,}",
        "fill": fill,
        "embed rate": rate,
        "index load": f"{load_s * 1000:.0f} ms",
        "passages": f"{len(pindex):,}",
        "matrix": f"{index.nbytes / 2**20:.1f} + {pindex.nbytes / 2**20:.1f} MiB",
        "rss": f"+{(rss1 - rss0) / 1024:.0f} MiB",
        "hybrid": f"{pct(out['hybrid'], 50):.1f} / {pct(out['hybrid'], 95):.1f}",
        "lexical": f"{pct(out['lexical'], 50):.1f} / {pct(out['lexical'], 95):.1f}",
        "embed": f"{pct(out['embed'], 50):.1f} / {pct(out['embed'], 95):.1f}",
        "MCP tool": f"{pct(tool, 50):.1f} / {pct(tool, 95):.1f}" if tool else "—",
        "save": f"{pct(saves, 50):.1f} / {pct(saves, 95):.1f}",
        "save+embed": f"{pct(save_embed, 50):.1f} / {pct(save_embed, 95):.1f}",
    }


def bench_spawn(tmp: Path, runs: int) -> dict[str, list[float]]:
    (tmp / "bare.py").write_text(L.BARE_SERVER, encoding="utf-8")
    env = L._child_env(tmp)
    off = {**env, "CHECKPOINTS_SEMANTIC": "false"}
    serve = [sys.executable, "-m", "mcp_server_checkpoints", "serve", "--db", str(tmp / "spawn.db")]
    cmds = {"bare `MCPServer`": ([sys.executable, str(tmp / "bare.py")], env),
            "checkpoints, semantic on (extra installed)": (serve, env),
            "checkpoints, semantic off": (serve, off)}
    results: dict[str, list[float]] = {name: [] for name in cmds}
    for cmd, e in cmds.values():
        L.spawn_once(cmd, e, tmp, tmp / "spawn-stderr.log")
    for run in range(runs):
        for name, (cmd, e) in cmds.items():
            results[name].append(L.spawn_once(cmd, e, tmp, tmp / "spawn-stderr.log"))
        progress(f"spawn run {run + 1}/{runs}")
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Hybrid search at scale, save + embed, memory, stdio start-up.")
    p.add_argument("--sizes", type=L._sizes, default=[10_000, 100_000])
    p.add_argument("--samples", type=L._positive, default=200)
    p.add_argument("--embed-sample", type=L._positive, default=2_000)
    p.add_argument("--spawn-runs", type=int, default=10)
    p.add_argument("--seed", type=int, default=20251122)
    p.add_argument("--passages", type=int, default=0, help="passage vectors per checkpoint (long checkpoints)")
    p.add_argument("--mcp", action="store_true", help="also search_checkpoints through the real server over stdio")
    p.add_argument("--spawn-only", action="store_true", help="only the stdio start-up comparison (no databases)")
    p.add_argument("--keep", type=Path, default=None, metavar="DIR",
                   help="keep the populated databases in DIR and reuse them on later runs (100k takes ~6 min to fill)")
    args = p.parse_args(argv)
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.sizes and not args.spawn_only:
            t = time.perf_counter()
            choice = choose_backend("auto", None)  # what the server runs: the in-process rows match the MCP one
            embedder = choice.loader(None)()
            progress(f"model loaded in {time.perf_counter() - t:.1f} s ({choice.backend} backend)")
            rows = [bench_size(tmp, n, args.samples, args.seed, args.embed_sample, embedder, args.keep,
                               args.passages, args.mcp) for n in args.sizes]
            cols = list(rows[0])
            lines += ["### Hybrid search at scale (ms, p50 / p95; model warm, query embedding included)", "",
                      "| " + " | ".join(cols) + " |", "|" + "---:|" * len(cols)]
            lines += ["| " + " | ".join(r[c] for c in cols) + " |" for r in rows]
            lines += ["", "hybrid / lexical: `SQLiteCheckpointStore.search`, default filters, limit 5; embed: the query"
                      " embedding alone; save: the call (embedding happens in the background); save+embed:"
                      " the call plus embedding that checkpoint; rss: growth of the peak RSS while loading the index"
                      " (checkpoint and passage matrices); matrix: checkpoint + passage matrices; MCP tool:"
                      " search_checkpoints round trip through the real server over stdio (model warm).", ""]
        if args.spawn_runs:
            spawn = bench_spawn(tmp, args.spawn_runs)
            bare = spawn["bare `MCPServer`"]
            lines += ["### stdio spawn → `initialize` answered (ms)", "", "| server | runs | p50 | p95 | p50 − bare |",
                      "|---|---:|---:|---:|---:|"]
            for name, v in spawn.items():
                lines.append(f"| {name} | {len(v)} | {pct(v, 50):.0f} | {pct(v, 95):.0f} | {pct(v, 50) - pct(bare, 50):+.0f} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
