"""Claude Code hook benchmark: wall time of every hook as a real subprocess, the drift check, payload compression.

What is measured
----------------
* `ckpt hook pre-compact` on transcripts of 1 MB and 10 MB (realistic turns: reads, edits, test output,
  todos, a compaction, malformed lines), first capture of a session and a later one (its payload is
  stored against the previous one's), as Claude Code runs it: a new process, JSON on stdin. The hook's
  `cwd` is a git repository of 10,000 commits, so each capture records the repository state.
* `ckpt hook post-compact` with Claude Code's summary (it hands the saving to a detached
  `store-summary`, which is waited for, not timed, before the next hook runs).
* `ckpt hook session-start` with source `startup` (a new session in the project: the proactive offer
  of that work) and `compact` (what the checkpoint adds to the summary just written at the
  transcript's end, with the drift check against the repository), on the same database.
* `ckpt hook session-end` of another session on the same transcript (a full capture).
* The drift check alone, in process: the recorded state read from the checkpoint, `git status` and
  `git log` since the recorded commit (3 commits made since), on the 10k-commit repository.
* The payload sizes: raw JSON, stored (zstd), and the ratio; for the second capture, stored against
  its parent.
* Where each hook's time goes (p50 per phase): start-up is the process's wall time before the hook's
  own code runs (interpreter and imports: the wall time less what the hook logs as its own); the
  phases are those each hook writes to its line in the hook log (`Laps` in hooks.py): imports and
  opening the database, reading the transcript, parsing it, building the fields, checking them,
  redacting, encoding and writing (compression, SQLite), or the session-start context, and closing
  the database. What is left of the wall time (interpreter start, imports before the hook's code,
  interpreter exit) is the start-up column.
Budgets (issue #14, DESIGN.md): session-start < 300 ms, post-compact < 300 ms; pre-compact and
session-end < 1 s for a 10 MB transcript; the drift check ≤ 50 ms on a 10k-commit repository.

Each hook runs as a new process from the package's compiled bytecode (.pyc), as an installed package
does: one unmeasured warm-up run writes the .pyc files first.

Run: `.venv/bin/python bench/hooks.py [--sizes 1,10] [--runs 5]`. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integrations.transcript_fixtures import SESSION, compact_summary_text, large_session  # noqa: E402

from mcp_server_checkpoints.domain.time import iso, utcnow  # noqa: E402
from mcp_server_checkpoints.recovery.repo_state import Git, drift_since  # noqa: E402
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database  # noqa: E402

GIT_ENV = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@example.com"}


def big_repo(path: Path, commits: int) -> Path:
    """A git repository of `commits` commits (one file changed each, 200 files), built with fast-import."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    stream = []
    for i in range(1, commits + 1):
        data = f"line {i}\n"
        stream.append(f"commit refs/heads/main\nmark :{i}\ncommitter b <b@example.com> {1_700_000_000 + i} +0000\n"
                      f"data 2\nc{i % 10}\n" + (f"from :{i - 1}\n" if i > 1 else "")
                      + f"M 644 inline src/f{i % 200}.js\ndata {len(data)}\n{data}\n")
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet"], input="".join(stream).encode(), check=True)
    subprocess.run(["git", "-C", str(path), "checkout", "-q", "-f", "main"], check=True)
    return path


def commit(repo: Path, n: int) -> None:
    for i in range(n):
        (repo / f"later{i}.txt").write_text(f"{time.time_ns()}\n")  # new content every time
        subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
        subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", f"later {i}"], check=True,
                       env={**os.environ, **GIT_ENV})


def wait_for_log(log: Path, text: str, count: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if log.exists() and log.read_text().count(text) >= count:
            return
        time.sleep(0.05)
    raise SystemExit(f"{text!r} did not reach the hook log")

CPU: dict[str, list[float]] = {}
PHASES = ("start-up", "imports+open", "read", "parse", "capture", "check", "redact", "encode", "transcript-text", "write", "context",
          "close", "hand-on")
LOGGED = re.compile(r" in (\d+\.\d+)s \((.*)\)$")


def phases_of(log: Path, since: int, event: str, wall_ms: float) -> dict[str, float]:
    """The phases `event` logged after byte `since` of the hook log, with start-up = wall time less its own."""
    text = log.read_bytes()[since:].decode("utf-8", errors="replace") if log.exists() else ""
    for line in reversed(text.splitlines()):
        m = LOGGED.search(line)
        if m and line.split(" ", 2)[1] == event:
            found = {"start-up": wall_ms - float(m.group(1)) * 1000}
            found.update((name, float(ms)) for name, ms in re.findall(r"(\S+) (\d+) ms", m.group(2)))
            return found
    raise SystemExit(f"{event} logged no timing line")


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
    ap.add_argument("--commits", type=int, default=10_000, help="commits in the test repository (default 10000)")
    args = ap.parse_args()
    rows: list[str] = []
    phase_rows: list[str] = []
    load_before = os.getloadavg()[0]
    comp: list[str] = []
    drift_ms: list[float] = []
    drift_shown: list[bool] = []
    with tempfile.TemporaryDirectory(prefix="bench-hooks-") as tmp_s:
        tmp = Path(tmp_s)
        print(f"building a git repository of {args.commits:,} commits …", file=sys.stderr)
        repo = big_repo(tmp / "repo", args.commits)
        cwd = str(repo)
        # PYTHONDONTWRITEBYTECODE off: an installed package runs from its compiled .pyc files (pip writes
        # them at install time); with it on, every hook would compile this package's sources again.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CHECKPOINTS_", "CLAUDE_")) and k != "PYTHONDONTWRITEBYTECODE"}
        env.update(XDG_STATE_HOME=str(tmp / "state"), XDG_CONFIG_HOME=str(tmp / "cfg"))
        log = tmp / "state" / "mcp-server-checkpoints" / "hooks.log"
        warm = {"session_id": "warm-up", "cwd": cwd, "source": "startup"}
        run_hook("session-start", warm, tmp / "warm-up.db", env)  # writes the .pyc files, fills the page cache
        summaries = 0
        for mb in (float(x) for x in args.sizes.split(",")):
            print(f"building a {mb:g} MB transcript …", file=sys.stderr)
            b = large_session(int(mb * 1024 * 1024))
            first_text = b.text()
            grown = large_session(int(mb * 1024 * 1024) + 200_000).text()  # the same session, a bit later
            keys = ("first", "later", "post", "compact", "startup", "end")
            timings: dict[str, list[float]] = {k: [] for k in keys}
            cpu: dict[str, list[float]] = {k: [] for k in keys}
            phases: dict[str, dict[str, list[float]]] = {k: {} for k in keys}

            def timed(key: str, event: str, payload: dict[str, object], db: Path) -> str:
                since = log.stat().st_size if log.exists() else 0
                ms, out = run_hook(event, payload, db, env)
                timings[key].append(ms)
                cpu[key].append(CPU["last"][-1])
                for name, value in phases_of(log, since, event, ms).items():
                    phases[key].setdefault(name, []).append(value)
                return out

            for run in range(args.runs):
                db = tmp / f"{mb:g}-{run}.db"
                t = tmp / f"{SESSION}.jsonl"
                hook = {"session_id": SESSION, "transcript_path": str(t), "cwd": cwd, "trigger": "auto",
                        "hook_event_name": "PreCompact"}
                t.write_text(first_text)
                timed("first", "pre-compact", hook, db)
                t.write_text(grown)
                timed("later", "pre-compact", hook, db)
                start = {"session_id": SESSION, "cwd": cwd, "hook_event_name": "SessionStart", "transcript_path": str(t)}
                # a fresh session in the same project: the proactive check offers the work (before the
                # compact session-start below marks it resumed, after which nothing would be offered)
                out = timed("startup", "session-start", {**start, "session_id": "new", "source": "startup"}, db)
                assert "found unfinished work" in out, out
                # Claude Code compacts: the summary is appended to the transcript, then PostCompact runs.
                summary = compact_summary_text()
                with t.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"type": "system", "subtype": "compact_boundary", "timestamp": iso(utcnow()),
                                         "compactMetadata": {"trigger": "auto"}}) + "\n")
                    fh.write(json.dumps({"type": "user", "isCompactSummary": True, "timestamp": iso(utcnow()),
                                         "sessionId": SESSION, "message": {"role": "user", "content": summary}}) + "\n")
                timed("post", "post-compact", {**hook, "hook_event_name": "PostCompact", "compact_summary": summary}, db)
                summaries += 1
                wait_for_log(log, "store-summary saved", summaries)
                commit(repo, 1)  # work goes on after the capture: the drift section has something to say
                out = timed("compact", "session-start", {**start, "source": "compact"}, db)
                assert "beyond that summary" in out, out
                drift_shown.append("commit made since" in out)  # absent when git exceeded its 0.5 s there
                end = {"session_id": f"ended-{run}", "transcript_path": str(t), "cwd": cwd, "reason": "exit",
                       "hook_event_name": "SessionEnd"}
                timed("end", "session-end", end, db)
                store = SQLiteCheckpointStore(open_database(db))
                pre = store.latest_in_session(f"ended-{run}")
                assert pre is not None, "session-end saved nothing"
                commit(repo, 3)
                for _ in range(3):  # the drift check alone: a capture with the transcript's payload, 3 commits since
                    started = time.perf_counter()
                    d = drift_since(store.get(pre.id, with_payload=False), cwd, Git(timeout=2.0))
                    drift_ms.append((time.perf_counter() - started) * 1000)
                    assert d is not None
                if run == 0:
                    for r in store.db.conn().execute(
                            "SELECT payload_codec, payload_raw_bytes AS raw, LENGTH(payload_blob) AS stored, tags"
                            " FROM checkpoints WHERE session_id = ? ORDER BY created_at", (SESSION,)):
                        if "compact-summary" in r["tags"]:
                            continue
                        kind = "first capture (full copy)" if r[0] == "zstd" else "later capture (against parent)"
                        comp.append(f"| {mb:g} MB | {kind} | {r['raw']:,} | {r['stored']:,} | {r['raw'] / r['stored']:.1f}× |")
                store.db.close()
            for key, label in (("first", "pre-compact, first capture"), ("later", "pre-compact, later capture"),
                               ("post", "post-compact"), ("compact", "session-start (compact, with drift check)"),
                               ("startup", "session-start (startup)"), ("end", "session-end")):
                v, c = timings[key], cpu[key]
                rows.append(f"| {label} | {mb:g} MB | {statistics.median(v):.0f} | {pct(v, 0.95):.0f} | {max(v):.0f}"
                            f" | {statistics.median(c):.0f} |")
                cells = [f"{statistics.median(phases[key][p]):.0f}" if p in phases[key] else "" for p in PHASES]
                phase_rows.append(f"| {label} | {mb:g} MB | {' | '.join(cells)} |")
    load = os.getloadavg()[0]
    print(f"## Hook timings (ms, {args.runs} runs each, a new process per run; load average {load_before:.1f} before,"
          f" {load:.1f} after, on {os.cpu_count()} cores)\n")
    print("Wall time is what the client waits; CPU (user+sys of the hook process) is less disturbed by other load.\n")
    print("| hook | transcript | wall p50 | wall p95 | wall max | CPU p50 |\n|---|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    print("\n### Where the time goes (ms, p50 of each phase; start-up = the rest of the wall time: interpreter start, imports before the hook's code, exit)\n")
    print(f"| hook | transcript | {' | '.join(PHASES)} |\n|---|---|{'---:|' * len(PHASES)}")
    print("\n".join(phase_rows))
    print(f"\nDrift check alone (in process; the recorded state read from the checkpoint + git status + git log; {args.commits:,}-commit repository,"
          f" {len(drift_ms)} runs): p50 {statistics.median(drift_ms):.0f} ms, p95 {pct(drift_ms, 0.95):.0f} ms,"
          f" max {max(drift_ms):.0f} ms; the drift section was in {sum(drift_shown)} of {len(drift_shown)}"
          " compact session-starts")
    print("\n## Payload compression\n")
    print("| transcript | capture | raw bytes | stored bytes | ratio |\n|---|---|---:|---:|---:|")
    print("\n".join(comp))


if __name__ == "__main__":
    main()
