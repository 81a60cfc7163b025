"""Claude Code hook benchmark: wall time of both hooks as real subprocesses, and payload compression.

What is measured
----------------
* `ckpt hook pre-compact` on transcripts of 1 MB and 10 MB (realistic turns: reads, edits, test output,
  todos, a compaction, malformed lines), first capture of a session and a later one (its payload is
  stored against the previous one's), as Claude Code runs it: a new process, JSON on stdin.
* `ckpt hook session-start` with source `startup` (a new session in the project: the proactive offer
  of that work) and `compact` (the recovered summary of that session), on the same database.
* The payload sizes: raw JSON, stored (zstd), and the ratio; for the second capture, stored against
  its parent.
Budgets (DESIGN.md): session-start < 300 ms; pre-compact < 1 s for a 10 MB transcript.

Each hook runs as a new process from the package's compiled bytecode (.pyc), as an installed package
does: one unmeasured warm-up run writes the .pyc files first.

Run: `.venv/bin/python bench/hooks.py [--sizes 1,10] [--runs 5]`. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integrations.transcript_fixtures import CWD, SESSION, large_session  # noqa: E402

from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database  # noqa: E402

CPU: dict[str, list[float]] = {}


def run_hook(event: str, payload: dict[str, object], db: Path, env: dict[str, str]) -> tuple[float, str]:
    """Wall time in ms (and the child's user+sys CPU time, recorded in CPU[event])."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "mcp_server_checkpoints", "hook", event, "--db", str(db)],
                         input=json.dumps(payload), capture_output=True, text=True, env=env, timeout=120)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.setdefault("last", []).append(
        ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1000)
    if res.returncode != 0:
        raise SystemExit(f"{event} exited {res.returncode}: {res.stderr}")
    return elapsed * 1000, res.stdout


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,10", help="transcript sizes in MB (default 1,10)")
    ap.add_argument("--runs", type=int, default=5, help="runs per measurement (default 5)")
    args = ap.parse_args()
    rows: list[str] = []
    comp: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-hooks-") as tmp_s:
        tmp = Path(tmp_s)
        # PYTHONDONTWRITEBYTECODE off: an installed package runs from its compiled .pyc files (pip writes
        # them at install time); with it on, every hook would compile this package's sources again.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CHECKPOINTS_", "CLAUDE_")) and k != "PYTHONDONTWRITEBYTECODE"}
        env.update(XDG_STATE_HOME=str(tmp / "state"), XDG_CONFIG_HOME=str(tmp / "cfg"))
        warm = {"session_id": "warm-up", "cwd": CWD, "source": "startup"}
        run_hook("session-start", warm, tmp / "warm-up.db", env)  # writes the .pyc files, fills the page cache
        for mb in (float(x) for x in args.sizes.split(",")):
            print(f"building a {mb:g} MB transcript …", file=sys.stderr)
            b = large_session(int(mb * 1024 * 1024))
            first_text = b.text()
            grown = large_session(int(mb * 1024 * 1024) + 200_000).text()  # the same session, a bit later
            timings: dict[str, list[float]] = {"first": [], "later": [], "compact": [], "startup": []}
            cpu: dict[str, list[float]] = {k: [] for k in timings}
            for run in range(args.runs):
                db = tmp / f"{mb:g}-{run}.db"
                t = tmp / f"{SESSION}.jsonl"
                hook = {"session_id": SESSION, "transcript_path": str(t), "cwd": CWD, "trigger": "auto",
                        "hook_event_name": "PreCompact"}
                t.write_text(first_text)
                timings["first"].append(run_hook("pre-compact", hook, db, env)[0])
                cpu["first"].append(CPU["last"][-1])
                t.write_text(grown)
                timings["later"].append(run_hook("pre-compact", hook, db, env)[0])
                cpu["later"].append(CPU["last"][-1])
                start = {"session_id": SESSION, "cwd": CWD, "hook_event_name": "SessionStart"}
                # a fresh session in the same project: the proactive check offers the work (before the
                # compact session-start below marks it resumed, after which nothing would be offered)
                ms, out = run_hook("session-start", {**start, "session_id": "new", "source": "startup"}, db, env)
                assert "found unfinished work" in out, out
                timings["startup"].append(ms)
                cpu["startup"].append(CPU["last"][-1])
                ms, out = run_hook("session-start", {**start, "source": "compact"}, db, env)
                assert "CONTEXT RECOVERED FROM CHECKPOINT" in out, out
                timings["compact"].append(ms)
                cpu["compact"].append(CPU["last"][-1])
                if run == 0:
                    store = SQLiteCheckpointStore(open_database(db))
                    for r in store.db.conn().execute(
                            "SELECT payload_codec, payload_raw_bytes AS raw, LENGTH(payload_blob) AS stored"
                            " FROM checkpoints ORDER BY created_at"):
                        kind = "first capture (full copy)" if r[0] == "zstd" else "later capture (against parent)"
                        comp.append(f"| {mb:g} MB | {kind} | {r['raw']:,} | {r['stored']:,} | {r['raw'] / r['stored']:.1f}× |")
                    store.db.close()
            for key, label in (("first", "pre-compact, first capture"), ("later", "pre-compact, later capture"),
                               ("compact", "session-start (compact)"), ("startup", "session-start (startup)")):
                v, c = timings[key], cpu[key]
                rows.append(f"| {label} | {mb:g} MB | {statistics.median(v):.0f} | {pct(v, 0.95):.0f} | {max(v):.0f}"
                            f" | {statistics.median(c):.0f} |")
    load = os.getloadavg()[0]
    print(f"## Hook timings (ms, {args.runs} runs each, a new process per run; load average {load:.1f} on"
          f" {os.cpu_count()} cores)\n")
    print("Wall time is what the client waits; CPU (user+sys of the hook process) is less disturbed by other load.\n")
    print("| hook | transcript | wall p50 | wall p95 | wall max | CPU p50 |\n|---|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    print("\n## Payload compression\n")
    print("| transcript | capture | raw bytes | stored bytes | ratio |\n|---|---|---:|---:|---:|")
    print("\n".join(comp))


if __name__ == "__main__":
    main()
