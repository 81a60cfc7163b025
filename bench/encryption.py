"""Encryption at rest: what SQLCipher costs, plain SQLite vs an encrypted store, same data, same machine.

Measured in-process on one store of N checkpoints (default 2,000, each with a 4 KB transcript payload
and a status change): save p50/p95, lexical search p50/p95 (`search_checkpoints`' engine, 5 queries
rotated), open (get with the payload verified) p50, recover p50; and the Claude Code `session-start`
hook as a new process (its start-up includes importing SQLCipher), p50/p95. Also the file size and
the time of `ckpt encrypt` on the plain store.

Run: `.venv/bin/python bench/encryption.py [--n 2000] [--runs 200]`. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.recovery.service import recover
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.storage.keys import create_key_file, read_key
from mcp_server_checkpoints.storage.sqlite.crypto import convert
from mcp_server_checkpoints.wiring import services

WORDS = ("auth", "payments", "kafka", "migration", "dashboard", "tokens", "cache", "search", "deploy", "tests")
QUERIES = ("kafka consumer lag", "payments refactor", "jwt refresh tokens", "dashboard charts", "deploy pipeline")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def fields(i: int) -> CheckpointFields:
    a, b = WORDS[i % 10], WORDS[(i * 7 + 3) % 10]
    return CheckpointFields(title=f"{a} {b} work {i}", goal=f"Improve the {a} of the {b} service", project=f"p{i % 5}",
                            next_step=f"write the {b} tests", payload={"transcript": f"user: {a} {b}\n" * 200})


def measure(s: Settings, n: int, runs: int) -> dict[str, float]:
    row: dict[str, float] = {}
    with services(s) as sv:
        saves = []
        for i in range(n):
            start = time.perf_counter()
            cid = sv.store.save(fields(i)).id
            saves.append((time.perf_counter() - start) * 1000)
            if i % 4 == 0:
                sv.store.set_status(cid, "paused")
        row["save p50"], row["save p95"] = statistics.median(saves), pct(saves, 0.95)
        q = iter(QUERIES * runs)
        search = timed(lambda: sv.store.search(next(q), limit=5), runs)
        row["search p50"], row["search p95"] = statistics.median(search), pct(search, 0.95)
        ids = [h.id for h in sv.store.list_recent(limit=50)]
        it = iter(ids * (runs // len(ids) + 1))
        row["open p50"] = statistics.median(timed(lambda: sv.store.get(next(it)), runs))
        row["recover p50"] = statistics.median(timed(lambda: recover(sv.store, "let's continue the kafka work"), runs // 4))
    env = {**os.environ, "CHECKPOINTS_DB": str(s.db), "CHECKPOINTS_SEMANTIC": "false",
           "CHECKPOINTS_HOOK_LOG": str(s.db.parent / "hooks.log")}
    if s.encryption_key_file is not None:
        env["CHECKPOINTS_KEY_FILE"] = str(s.encryption_key_file)
    payload = json.dumps({"session_id": "none", "cwd": "p1", "source": "startup", "hook_event_name": "SessionStart"})
    hook = []
    for k in range(11):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mcp_server_checkpoints", "hook", "session-start"], input=payload,
                       capture_output=True, text=True, env=env, timeout=60, check=True)
        if k:  # the first run writes the .pyc files
            hook.append((time.perf_counter() - start) * 1000)
    row["session-start p50"], row["session-start p95"] = statistics.median(hook), pct(hook, 0.95)
    row["file MB"] = sum(p.stat().st_size for p in s.db.parent.glob(f"{s.db.name}*")) / 1e6
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        key = create_key_file(root / "store.key")
        (root / "plain").mkdir()
        (root / "enc").mkdir()
        plain = Settings(db=root / "plain" / "c.db", semantic=False)
        enc = Settings(db=root / "enc" / "c.db", semantic=False, encryption_key_file=key)
        rows = {"plain SQLite": measure(plain, args.n, args.runs), "SQLCipher": measure(enc, args.n, args.runs)}
        start = time.perf_counter()
        convert(plain.db, None, read_key(key))
        encrypt_s = time.perf_counter() - start
    cols = list(rows["plain SQLite"])
    print(f"{args.n} checkpoints (4 KB transcript each), {args.runs} runs; load average {os.getloadavg()[0]:.2f}\n")
    print("| store | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(f"{row[c]:.2f}" for c in cols) + " |")
    p, e = rows["plain SQLite"], rows["SQLCipher"]
    print("| overhead | " + " | ".join(f"{(e[c] / p[c] - 1) * 100:+.0f} %" for c in cols) + " |")
    print(f"\nTimes in ms (file in MB). `ckpt encrypt` of the plain store ({args.n} checkpoints): {encrypt_s:.2f} s")


if __name__ == "__main__":
    main()
