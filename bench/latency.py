"""Latency benchmark for mcp-server-checkpoints: tool calls at 1k/10k checkpoints, and stdio start-up.

What is measured
----------------
1. Tool latency (p50 / p95, milliseconds) at each population size (``--sizes``, default 1k and 10k):

   * ``save_checkpoint`` -- a realistic mix of new checkpoints (about 20 % with a 20-50 KB transcript
     payload, about 30 % continuing an existing lineage through ``parent_id``); the table also splits
     the same samples into "without payload" and "with transcript".
   * ``search_checkpoints`` -- realistic 2-5 word queries (half built from stored titles and goals,
     half from the vocabulary), default filters (open statuses, limit 5).
   * ``search_checkpoints`` with the empty query (recency listing).
   * ``open_checkpoint`` on random stored ids, default components (everything but the payload).

   Each operation is timed along two paths, with the same arguments:

   * ``store`` -- plain Python, no MCP: the tool functions of ``mcp_server_checkpoints.tools.checkpoints``
     (one-line wrappers around ``SQLiteCheckpointStore``; ``save`` includes validating the argument dict into
     ``CheckpointFields``, exactly what the MCP path does).
   * ``mcp (in-memory client)`` -- ``mcp.Client(build_server(settings))`` in-process,
     ``await client.call_tool(...)``: JSON-RPC, argument validation, the server's thread hop, output
     schema validation -- everything but a real transport.

   Every population is a fresh SQLite file in a temporary directory (deleted at the end), filled with
   deterministic synthetic checkpoints (seeded ``random``, ``--seed``): software-engineering titles,
   goals, next steps, completed items, decisions, files, tags and summaries across a few projects;
   lineages (``parent_id``) whose transcripts grow like real sessions (so differential payload storage
   is exercised); mixed statuses (``mark status`` after the save, as a client would). Rows are written
   through ``SQLiteCheckpointStore.save`` (+ ``set_status``) with back-dated timestamps spread over 180 days.
   Stored ids carry a random suffix (``new_id``), so ids differ between runs; everything else is
   reproducible. A few warm-up calls per operation and path are made before timing.

2. stdio spawn-to-initialize: ``sys.executable -m mcp_server_checkpoints serve --db <tmp>`` is spawned, an
   MCP ``initialize`` request (protocolVersion 2025-06-18) is written to its stdin as one JSON-RPC line,
   and the time from spawning to the response line on stdout is measured. The same is done for a bare
   server (``MCPServer("bare").run()`` from a script written to the temp dir); the difference is what
   this project adds to start-up (DESIGN.md budget: within 0.2 s of the bare server). Runs alternate
   bare / checkpoints after one unrecorded warm-up of each; the child environment drops
   ``CHECKPOINTS_*`` and ``CLAUDE_PROJECT_DIR`` and points ``XDG_CONFIG_HOME`` into the temp dir so
   a personal config file does not change the result.

Nothing is asserted: the script only reports. Percentiles are linear interpolation between samples.

How to run
----------
From the repository root, with the project's environment::

    .venv/bin/python bench/latency.py                      # defaults: --sizes 1000,10000 --samples 200 --spawn-runs 10
    .venv/bin/python bench/latency.py --sizes 1000 --samples 50 --spawn-runs 3 --out bench-result.md

The Markdown table goes to stdout (and to ``--out`` when given); progress lines go to stderr.
The default run takes a few minutes on 2 cores, most of it populating the 10k database.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import queue
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any, TypeAlias

import anyio
from mcp import Client

from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.domain.time import utcnow
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.server.app import build_server
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database
from mcp_server_checkpoints.tools import checkpoints as ckpt_tools

Args: TypeAlias = dict[str, Any]

PROTOCOL_VERSION = "2025-06-18"
WARMUP_CALLS = 5
SPAWN_TIMEOUT_S = 60.0
PAYLOAD_SHARE = 0.20
LINEAGE_SHARE = 0.30
SPREAD_DAYS = 180

# -- vocabulary ------------------------------------------------------------------------------------
PROJECTS = ("api-gateway", "billing-service", "web-dashboard", "data-pipeline", "mobile-app", "infra")
VERBS = ("Add", "Fix", "Refactor", "Migrate", "Implement", "Speed up", "Harden", "Replace", "Debug",
         "Document", "Split", "Upgrade", "Remove", "Rewrite", "Instrument", "Test")
TECH = ("JWT", "OAuth", "Redis", "Postgres", "SQLite", "Kafka", "GraphQL", "gRPC", "REST", "Docker",
        "Kubernetes", "Terraform", "webpack", "Vite", "React", "TypeScript", "pytest", "Celery",
        "S3", "Stripe", "WebSocket", "OpenTelemetry", "Prometheus", "nginx", "Alembic", "FastAPI",
        "Django", "Express", "Rust", "Go")
COMPONENTS = ("refresh endpoint", "session cache", "rate limiter", "search index", "billing webhook",
              "invoice export", "login flow", "retry queue", "migration script", "CI pipeline",
              "feature flags", "audit log", "file upload", "notification service", "dashboard charts",
              "permission model", "background jobs", "API pagination", "error reporting", "config loader",
              "health checks", "schema validation", "connection pool", "build cache", "dark mode",
              "CSV import", "metrics exporter", "password reset", "multi-tenant routing", "e2e tests")
OBJECTS = ("token rotation", "cache invalidation", "flaky test", "memory leak", "race condition",
           "N+1 queries", "timezone bug", "deadlock", "slow query", "cold start", "bundle size",
           "stale reads", "retry storm", "null pointer", "encoding error", "TLS handshake",
           "connection reset", "idempotency key", "backpressure", "schema drift")
ADJ = ("flaky", "slow", "legacy", "async", "typed", "idempotent", "concurrent", "paginated",
       "incremental", "versioned", "cached", "sharded", "encrypted", "structured", "batched")
DIRS = ("src", "lib", "app", "internal", "pkg", "tests", "scripts", "web/src", "services", "deploy")
MODULES = ("auth", "billing", "cache", "db", "api", "jobs", "search", "users", "config", "metrics",
           "upload", "notify", "routing", "schema", "models", "handlers", "middleware", "utils")
EXTS = (".py", ".ts", ".tsx", ".go", ".rs", ".sql", ".yaml", ".tf", ".js", ".md")
REASONS = ("keeps the public API unchanged", "the old library is unmaintained", "halves p95 latency",
           "simpler to test", "avoids a schema migration", "lets other services verify without the secret",
           "the team already runs it in production", "fewer moving parts", "works offline",
           "keeps memory bounded", "matches the existing conventions", "the benchmark showed a 3x win")
PREFERENCES = ("Keep tests next to the code", "Use type hints everywhere", "No new dependencies",
               "Small commits with descriptive messages", "Prefer pytest fixtures over setUp",
               "Run the linter before committing", "Explain trade-offs before big refactors")
QUERY_FILLERS = ("the", "work", "on", "continue", "where", "we", "left", "that", "fix", "for", "my",
                 "task", "again", "resume", "bug", "feature", "with", "issue")
STATUS_WEIGHTS = {"in-progress": 30, "paused": 15, "on-hold": 10, "resumed": 5, "completed": 30, "abandoned": 10}


def _sentence_pool(rng: random.Random, n: int = 600) -> list[str]:
    """Transcript lines: turns of a coding session, built from the vocabulary."""
    lines: list[str] = []
    for _ in range(n):
        kind = rng.random()
        tech, comp, obj = rng.choice(TECH), rng.choice(COMPONENTS), rng.choice(OBJECTS)
        path = f"{rng.choice(DIRS)}/{rng.choice(MODULES)}/{rng.choice(MODULES)}{rng.choice(EXTS)}"
        if kind < 0.25:
            line = f"user: can you {rng.choice(VERBS).lower()} the {comp} so it handles the {obj} with {tech}?"
        elif kind < 0.55:
            line = (f"assistant: I looked at {path}; the {rng.choice(ADJ)} {comp} causes the {obj}. "
                    f"I'll {rng.choice(VERBS).lower()} it using {tech} because it {rng.choice(REASONS)}.")
        elif kind < 0.80:
            line = f'tool_use: {rng.choice(("Edit", "Read", "Bash", "Grep", "Write"))} {{"path": "{path}", "line": {rng.randint(1, 900)}}}'
        else:
            line = (f"tool_result: {rng.randint(1, 400)} passed, {rng.randint(0, 3)} failed in "
                    f"{rng.uniform(0.2, 90):.2f}s ({tech} {obj} test)")
        lines.append(line)
    return lines


@dataclass
class Head:
    """The newest checkpoint of a lineage, as far as the generator knows (for parent_id)."""

    id: str
    project: str
    title: str
    transcript: str | None


@dataclass
class Generator:
    """Deterministic synthetic checkpoints (as `save_checkpoint` argument dicts)."""

    seed: int
    rng: random.Random = field(init=False)
    pool: list[str] = field(init=False)
    heads: dict[str, list[Head]] = field(init=False)
    titles: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.pool = _sentence_pool(self.rng)
        self.heads = {p: [] for p in PROJECTS}
        self.titles = []

    def _path(self) -> str:
        r = self.rng
        return f"{r.choice(DIRS)}/{r.choice(MODULES)}/{r.choice(MODULES)}_{r.choice(MODULES)}{r.choice(EXTS)}"

    def _task(self) -> str:
        r = self.rng
        return f"{r.choice(VERBS)} the {r.choice(ADJ)} {r.choice(COMPONENTS)} ({r.choice(TECH)} {r.choice(OBJECTS)})"

    def _transcript(self, min_bytes: int, max_bytes: int) -> str:
        target = self.rng.randint(min_bytes, max_bytes)
        parts: list[str] = []
        size = 0
        while size < target:
            line = self.rng.choice(self.pool)
            parts.append(line)
            size += len(line) + 1
        return "\n".join(parts)

    def checkpoint(self) -> tuple[Args, str]:
        """One checkpoint's arguments, and the status it should end with."""
        r = self.rng
        project = r.choice(PROJECTS)
        tech, comp, obj = r.choice(TECH), r.choice(COMPONENTS), r.choice(OBJECTS)
        title = f"{r.choice(VERBS)} {tech} {comp}"
        if r.random() < 0.4:
            title += f": {obj}"
        args: Args = {
            "title": title,
            "goal": (f"{r.choice(VERBS)} the {comp} in {project} using {tech}; the user reported "
                     f"a {r.choice(ADJ)} {obj} and wants it solved without breaking {r.choice(COMPONENTS)}."),
            "project": project,
            "status": "paused" if r.random() < 0.2 else "in-progress",
            "progress": r.choice((None, r.randint(0, 100))),
            "phase": r.choice((None, "investigation", "implementation", "testing", "review", "rollout")),
            "current_work": f"Working on {self._path()}: {self._task().lower()}",
            "completed": [self._task() for _ in range(r.randint(0, 8))],
            "files": [{"path": self._path(), "change": f"{r.choice(VERBS).lower()} {r.choice(OBJECTS)} handling"}
                      for _ in range(r.randint(0, 10))],
            "decisions": [{"decision": f"Use {r.choice(TECH)} for the {r.choice(COMPONENTS)}", "reasoning": r.choice(REASONS)}
                          for _ in range(r.randint(0, 5))],
            "next_step": f"{self._task()} in {self._path()}",
            "remaining": [self._task() for _ in range(r.randint(0, 6))],
            "blockers": [f"waiting for {r.choice(TECH)} credentials on staging"] if r.random() < 0.15 else [],
            "user_input_needed": [f"Should the {comp} keep supporting {r.choice(TECH)}?"] if r.random() < 0.1 else [],
            "approaches": [{"approach": f"{r.choice(VERBS)} via {r.choice(TECH)}",
                            "outcome": r.choice(("worked", "failed", "partial")), "note": r.choice(REASONS)}
                           for _ in range(r.randint(0, 3))],
            "preferences": r.sample(PREFERENCES, r.randint(0, 2)),
            "discoveries": [f"The {r.choice(COMPONENTS)} {r.choice(REASONS)}" for _ in range(r.randint(0, 3))],
            "resume_instructions": f"Run the {tech} tests first, then continue with the {comp}.",
            "summary": (" ".join(r.choice(self.pool) for _ in range(r.randint(5, 30)))
                        if r.random() < 0.5 else None),
            "tags": sorted({r.choice(MODULES) for _ in range(r.randint(1, 4))} | {tech.lower()}),
            "session_id": f"sess-{r.getrandbits(48):012x}",
            "agent_id": r.choice(("claude-code", "cursor", "codex", None)),
        }
        parent: Head | None = None
        heads = self.heads[project]
        if heads and r.random() < LINEAGE_SHARE:
            parent = heads.pop(r.randrange(max(0, len(heads) - 20), len(heads)))
            args["parent_id"] = parent.id
            args["title"] = later_title(parent.title, r)
        transcript: str | None = None
        if parent is not None and parent.transcript is not None and r.random() < 0.7:
            # Same session later on: the transcript grows, the oldest part gets compacted away.
            transcript = (parent.transcript + "\n" + self._transcript(2_000, 8_000))[-50_000:]
        elif r.random() < PAYLOAD_SHARE:
            transcript = self._transcript(20_000, 50_000)
        if transcript is not None:
            args["payload"] = {
                "transcript": transcript,
                "tool_history": [{"tool": r.choice(("Edit", "Read", "Bash")), "path": self._path()}
                                 for _ in range(r.randint(1, 20))],
                "project_state": {"branch": f"feat/{r.choice(MODULES)}-{r.randint(1, 999)}",
                                  "dirty_files": r.randint(0, 12)},
            }
        args = {k: v for k, v in args.items() if v is not None}
        self.titles.append(args["title"])
        final = r.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
        return args, final

    def saved(self, args: Args, cid: str) -> None:
        """Record a stored checkpoint so later ones can continue its lineage."""
        heads = self.heads[args["project"]]
        payload = args.get("payload")
        heads.append(Head(cid, args["project"], args["title"], payload["transcript"] if payload else None))
        if len(heads) > 40:
            del heads[0]

    def query(self) -> str:
        """A 2-5 word search query: half from stored titles (likely hits), half from the vocabulary."""
        r = self.rng
        if self.titles and r.random() < 0.5:
            words = [w.strip(":,()").lower() for w in r.choice(self.titles).split()]
            words = [w for w in words if w]
            n = r.randint(2, min(4, len(words)))
            start = r.randrange(0, len(words) - n + 1)
            picked = words[start:start + n]
            if len(picked) < 5 and r.random() < 0.5:
                picked.insert(0, r.choice(QUERY_FILLERS))
            return " ".join(picked[:5])
        pool = [*(t.lower() for t in TECH), *(c for c in COMPONENTS), *OBJECTS, *QUERY_FILLERS]
        words = " ".join(r.choice(pool) for _ in range(r.randint(2, 3))).split()
        return " ".join(words[: r.randint(2, 5)])


def later_title(parent_title: str, r: random.Random) -> str:
    """A later checkpoint of the same work keeps its title, sometimes with a part number."""
    base = parent_title.split(" (part ")[0]
    return base if r.random() < 0.6 else f"{base} (part {r.randint(2, 6)})"


# -- statistics and output -------------------------------------------------------------------------
def percentile(samples: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), p in [0, 100]."""
    if not samples:
        return math.nan
    xs = sorted(samples)
    k = (len(xs) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def fmt_ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "–"
    ms = seconds * 1000.0
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}" if ms < 1000 else f"{ms:.0f}"


def size_label(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 and n >= 1000 else str(n)


def progress(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# -- population ------------------------------------------------------------------------------------
@dataclass
class Population:
    size: int
    ids: list[str]
    payloads: int
    lineage_links: int
    seconds: float
    file_bytes: int


def populate(store: SQLiteCheckpointStore, gen: Generator, size: int) -> Population:
    """`size` checkpoints through SQLiteCheckpointStore.save (+ set_status), back-dated over SPREAD_DAYS."""
    start = utcnow() - timedelta(days=SPREAD_DAYS)
    step = timedelta(days=SPREAD_DAYS) / max(size, 1)
    ids: list[str] = []
    payloads = links = 0
    t0 = time.perf_counter()
    for i in range(size):
        args, final = gen.checkpoint()
        now: datetime = start + step * i
        res = store.save(CheckpointFields.model_validate(args), now=now)
        if final != args.get("status", "in-progress"):
            store.set_status(res.id, final, note=None, now=now + step / 2)
        gen.saved(args, res.id)
        ids.append(res.id)
        payloads += "payload" in args
        links += "parent_id" in args
        if (i + 1) % 1000 == 0 or i + 1 == size:
            elapsed = time.perf_counter() - t0
            progress(f"populated {i + 1:,}/{size:,} checkpoints ({elapsed:.1f} s, {(i + 1) / elapsed:,.0f}/s)")
    seconds = time.perf_counter() - t0
    path = store.db.path
    file_bytes = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    return Population(size, ids, payloads, links, seconds, file_bytes)


# -- tool latency ----------------------------------------------------------------------------------
@dataclass
class Workload:
    """The same arguments for both paths, drawn once per size."""

    saves: list[Args]
    queries: list[str]
    open_ids: list[str]


@dataclass
class Timings:
    """Seconds per sample, keyed by (operation, path)."""

    samples: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def add(self, op: str, path: str, seconds: float) -> None:
        self.samples.setdefault((op, path), []).append(seconds)


OPS = ("save_checkpoint", "save_checkpoint · without payload", "save_checkpoint · with 20–50 KB transcript",
       "search_checkpoints · 2–5 word query", "search_checkpoints · empty query", "open_checkpoint")
PATH_STORE = "store"
PATH_MCP = "mcp (in-memory client)"


def make_workload(gen: Generator, pop: Population, samples: int) -> Workload:
    saves: list[Args] = []
    for _ in range(samples + WARMUP_CALLS):
        args, _final = gen.checkpoint()  # parent_id, when set, names a populated checkpoint
        saves.append(args)
    queries = [gen.query() for _ in range(samples + WARMUP_CALLS)]
    open_ids = [gen.rng.choice(pop.ids) for _ in range(samples + WARMUP_CALLS)]
    return Workload(saves, queries, open_ids)


def _save_op(args: Args) -> str:
    return "save_checkpoint · with 20–50 KB transcript" if "payload" in args else "save_checkpoint · without payload"


def _record_save(t: Timings, path: str, args: Args, seconds: float) -> None:
    t.add("save_checkpoint", path, seconds)
    t.add(_save_op(args), path, seconds)


def measure_store(store: SQLiteCheckpointStore, w: Workload, t: Timings) -> None:
    """The tool functions called directly: SQLiteCheckpointStore plus result models, no MCP."""
    for i, args in enumerate(w.saves):
        t0 = time.perf_counter()
        res = ckpt_tools.save_checkpoint(store, CheckpointFields.model_validate(args))
        dt = time.perf_counter() - t0
        assert res.id
        if i >= WARMUP_CALLS:
            _record_save(t, PATH_STORE, args, dt)
    for op, queries in (("search_checkpoints · 2–5 word query", w.queries),
                        ("search_checkpoints · empty query", [""] * len(w.queries))):
        for i, q in enumerate(queries):
            t0 = time.perf_counter()
            found = ckpt_tools.search_checkpoints(store, "off", query=q)
            dt = time.perf_counter() - t0
            assert found.results is not None
            if i >= WARMUP_CALLS:
                t.add(op, PATH_STORE, dt)
    for i, cid in enumerate(w.open_ids):
        t0 = time.perf_counter()
        opened = ckpt_tools.open_checkpoint(store, cid)
        dt = time.perf_counter() - t0
        assert opened.id == cid
        if i >= WARMUP_CALLS:
            t.add("open_checkpoint", PATH_STORE, dt)


async def _timed_call(client: Client, name: str, args: Args) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    res = await client.call_tool(name, args)
    dt = time.perf_counter() - t0
    if res.is_error:
        text = getattr(res.content[0], "text", "") if res.content else ""
        raise RuntimeError(f"{name} failed through MCP: {text}")
    return dt, res.structured_content or {}


async def measure_mcp(settings: Settings, w: Workload, t: Timings) -> None:
    """Every call through mcp.Client connected in-process to build_server(settings)."""
    async with Client(build_server(settings)) as client:
        for i, args in enumerate(w.saves):
            dt, out = await _timed_call(client, "save_checkpoint", args)
            assert out.get("id")
            if i >= WARMUP_CALLS:
                _record_save(t, PATH_MCP, args, dt)
        for op, queries in (("search_checkpoints · 2–5 word query", w.queries),
                            ("search_checkpoints · empty query", [""] * len(w.queries))):
            for i, q in enumerate(queries):
                dt, out = await _timed_call(client, "search_checkpoints", {"query": q})
                assert "results" in out
                if i >= WARMUP_CALLS:
                    t.add(op, PATH_MCP, dt)
        for i, cid in enumerate(w.open_ids):
            dt, out = await _timed_call(client, "open_checkpoint", {"id": cid})
            assert out.get("id") == cid
            if i >= WARMUP_CALLS:
                t.add("open_checkpoint", PATH_MCP, dt)


def bench_size(tmp: Path, size: int, samples: int, seed: int) -> tuple[Population, Timings]:
    db_path = tmp / f"checkpoints-{size}.db"
    gen = Generator(seed)
    store = SQLiteCheckpointStore(open_database(db_path))
    try:
        progress(f"populating a fresh database with {size:,} checkpoints: {db_path}")
        pop = populate(store, gen, size)
        w = make_workload(gen, pop, samples)
        t = Timings()
        progress(f"{size:,}: timing the store path ({samples} samples per operation)")
        measure_store(store, w, t)
    finally:
        store.db.close()
    # The MCP path gets the same arguments as the store path (parent_id names the same populated rows).
    progress(f"{size:,}: timing the MCP path ({samples} samples per operation)")
    anyio.run(measure_mcp, Settings(db=db_path), w, t, backend="asyncio")
    return pop, t


# -- stdio spawn → initialize ----------------------------------------------------------------------
BARE_SERVER = 'from mcp.server.mcpserver import MCPServer\n\nMCPServer("bare").run()\n'


def _initialize_line() -> bytes:
    msg = {
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": PROTOCOL_VERSION, "capabilities": {},
                   "clientInfo": {"name": "bench-latency", "version": "0"}},
    }
    return (json.dumps(msg) + "\n").encode()


def _child_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHECKPOINTS_") and k != "CLAUDE_PROJECT_DIR"}
    env["XDG_CONFIG_HOME"] = str(tmp / "xdg-config")
    return env


def _read_lines(stream: Any, out: queue.Queue[bytes | None]) -> None:
    try:
        for line in iter(stream.readline, b""):
            out.put(line)
    except (OSError, ValueError):
        pass
    out.put(None)


def spawn_once(cmd: list[str], env: dict[str, str], cwd: Path, stderr_path: Path) -> float:
    """Seconds from spawning `cmd` to the initialize response line on its stdout."""
    request = _initialize_line()
    with stderr_path.open("wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env, cwd=cwd)
        lines: queue.Queue[bytes | None] = queue.Queue()
        reader = threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True)
        try:
            assert proc.stdin is not None
            proc.stdin.write(request)
            proc.stdin.flush()
            reader.start()
            deadline = t0 + SPAWN_TIMEOUT_S
            elapsed: float | None = None
            while elapsed is None:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    raise TimeoutError(f"no initialize response within {SPAWN_TIMEOUT_S:.0f} s from {cmd}")
                try:
                    line = lines.get(timeout=remaining)
                except queue.Empty:
                    continue
                if line is None:
                    raise RuntimeError(f"{cmd} closed stdout before answering initialize; stderr: "
                                       f"{stderr_path.read_text(errors='replace')[-2000:]}")
                now = time.perf_counter()
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue  # not JSON-RPC (should not happen on a stdio server's stdout)
                if isinstance(msg, dict) and msg.get("id") == 1:
                    if "result" not in msg:
                        raise RuntimeError(f"initialize failed: {line[:500]!r}")
                    elapsed = now - t0
            return elapsed
        finally:
            _stop(proc)
            reader.join(timeout=5)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Close stdin (a stdio server exits on EOF), wait, kill on timeout."""
    try:
        if proc.stdin is not None and not proc.stdin.closed:
            proc.stdin.close()
    except OSError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()


def bench_spawn(tmp: Path, runs: int) -> dict[str, list[float]]:
    bare_script = tmp / "bare_server.py"
    bare_script.write_text(BARE_SERVER, encoding="utf-8")
    env = _child_env(tmp)
    cmds = {
        "bare `MCPServer`": [sys.executable, str(bare_script)],
        "mcp-server-checkpoints": [sys.executable, "-m", "mcp_server_checkpoints", "serve", "--db", str(tmp / "spawn.db")],
    }
    results: dict[str, list[float]] = {name: [] for name in cmds}
    for name, cmd in cmds.items():  # warm-up: bytecode caches, page cache
        spawn_once(cmd, env, tmp, tmp / "spawn-stderr.log")
    for run in range(runs):
        for name, cmd in cmds.items():
            results[name].append(spawn_once(cmd, env, tmp, tmp / "spawn-stderr.log"))
        progress(f"spawn run {run + 1}/{runs}: " + ", ".join(f"{n} {fmt_ms(v[-1])} ms" for n, v in results.items()))
    return results


# -- report ----------------------------------------------------------------------------------------
def _sqlite_version() -> str:
    return sqlite3.sqlite_version


def render(pops: list[Population], timings: list[Timings], spawn: dict[str, list[float]] | None,
           args: argparse.Namespace, total_seconds: float) -> str:
    out: list[str] = []
    out.append("## mcp-server-checkpoints latency")
    out.append("")
    out.append(f"Python {platform.python_version()} · mcp {dist_version('mcp')} · SQLite {_sqlite_version()} · "
               f"{platform.system()} {platform.machine()} · {os.cpu_count()} CPUs · seed {args.seed} · "
               f"{args.samples} samples per operation (after {WARMUP_CALLS} warm-up calls) · run took {total_seconds:.0f} s")
    out.append("")
    if pops:
        out.append("### Tool latency (ms)")
        out.append("")
        header = ["operation", "path"]
        for p in pops:
            header += [f"{size_label(p.size)} p50", f"{size_label(p.size)} p95"]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join(["---", "---"] + ["---:"] * (2 * len(pops))) + "|")
        for op in OPS:
            for path in (PATH_STORE, PATH_MCP):
                cells = [op, path]
                for t in timings:
                    xs = t.samples.get((op, path), [])
                    cells += [fmt_ms(percentile(xs, 50)), fmt_ms(percentile(xs, 95))]
                out.append("| " + " | ".join(cells) + " |")
        out.append("")
        split = []
        for p, t in zip(pops, timings):
            n_pl = len(t.samples.get(("save_checkpoint · with 20–50 KB transcript", PATH_STORE), []))
            split.append(f"{size_label(p.size)}: {n_pl}/{args.samples} saves carry a transcript")
        out.append("Save samples: " + "; ".join(split) + ".")
        out.append("")
        out.append("| population | checkpoints | with payload | parent_id links | file size | populate time |")
        out.append("|---|---:|---:|---:|---:|---:|")
        for p in pops:
            out.append(f"| {size_label(p.size)} | {p.size:,} | {p.payloads:,} | {p.lineage_links:,} | "
                       f"{p.file_bytes / 1e6:.1f} MB | {p.seconds:.1f} s ({p.size / p.seconds:,.0f}/s via save) |")
        out.append("")
    if spawn:
        out.append("### stdio spawn → `initialize` answered (ms)")
        out.append("")
        out.append("| server | runs | p50 | p95 | min | max |")
        out.append("|---|---:|---:|---:|---:|---:|")
        for name, xs in spawn.items():
            out.append(f"| {name} | {len(xs)} | {fmt_ms(percentile(xs, 50))} | {fmt_ms(percentile(xs, 95))} | "
                       f"{fmt_ms(min(xs))} | {fmt_ms(max(xs))} |")
        names = list(spawn)
        bare, ours = spawn[names[0]], spawn[names[1]]
        d50 = percentile(ours, 50) - percentile(bare, 50)
        d95 = percentile(ours, 95) - percentile(bare, 95)
        out.append(f"| difference (checkpoints − bare) | | {d50 * 1000:+.1f} | {d95 * 1000:+.1f} | | |")
        out.append("")
    out.append("Budgets (DESIGN.md, for reference, not asserted): spawn → initialize within 200 ms of a bare "
               "server; save p50 < 10 ms and search p95 < 50 ms at 100k checkpoints.")
    return "\n".join(out) + "\n"


# -- main ------------------------------------------------------------------------------------------
def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("--sizes takes comma-separated integers, e.g. 1000,10000") from None
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError("--sizes takes positive integers")
    return sizes


def _positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Latency of mcp-server-checkpoints (store, in-memory MCP, stdio start-up).")
    p.add_argument("--sizes", type=_sizes, default=[1000, 10000], help="population sizes (default 1000,10000)")
    p.add_argument("--samples", type=_positive, default=200, help="timed calls per operation (default 200)")
    p.add_argument("--spawn-runs", type=int, default=10, help="stdio spawns per server, 0 to skip (default 10)")
    p.add_argument("--seed", type=int, default=20251122, help="random seed for the synthetic data")
    p.add_argument("--out", type=Path, default=None, help="also write the Markdown table to this file")
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> str:
    t_start = time.perf_counter()
    pops: list[Population] = []
    timings: list[Timings] = []
    spawn: dict[str, list[float]] | None = None
    with tempfile.TemporaryDirectory(prefix="ckpt-bench-") as d:
        tmp = Path(d)
        for size in args.sizes:
            pop, t = bench_size(tmp, size, args.samples, args.seed)
            pops.append(pop)
            timings.append(t)
        if args.spawn_runs > 0:
            progress(f"stdio spawn → initialize, {args.spawn_runs} runs per server")
            spawn = bench_spawn(tmp, args.spawn_runs)
    return render(pops, timings, spawn, args, time.perf_counter() - t_start)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    table = run(args)
    sys.stdout.write(table)
    sys.stdout.flush()
    if args.out is not None:
        args.out.write_text(table, encoding="utf-8")
        progress(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
