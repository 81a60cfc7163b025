"""Crash safety: SIGKILL a stdio server 0–50 ms into a burst of writes (counted from its first answer to
the burst), again and again, then reopen.

Pass criterion, after every one of LOOPS kills: `PRAGMA integrity_check` is ok; every checkpoint
the server acknowledged is present with exactly the payload sent (its sha256 verified on read)
and its status changes; every row of the burst that exists at all is whole (payload as sent,
status history present) — nothing half-written. Every 20 loops and at the end `verify()` (FTS
index and every payload's checksum) is ok. SIGKILL kills the process, not the machine, so with
WAL and synchronous=NORMAL an acknowledged commit must never be lost.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest

from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database
from tests.reliability.wire import WireServer

pytestmark = [pytest.mark.slow, pytest.mark.reliability]

LOOPS = int(os.environ.get("CKPT_CRASH_LOOPS", "100"))
BURST = 24
SEED = 20261122


def transcript(loop: int, i: int) -> str:
    """Deterministic, partly incompressible text of 1–40 KB, sharing a prefix with its lineage."""
    rng = random.Random(loop * 1000 + i)
    noise = hashlib.sha256(f"{loop}/{i}".encode()).hexdigest() * rng.randint(2, 600)
    return f"user: loop {loop} item {i}\nassistant: {noise}\n"


def burst_for(srv: WireServer, loop: int, rng: random.Random, acked: dict[str, dict[str, Any]]
              ) -> tuple[bytes, dict[int, tuple[str, Any]]]:
    sent: dict[int, tuple[str, Any]] = {}
    burst = bytearray()
    for i in range(BURST):
        rid = 10_000_000 + loop * 1000 + i  # clear of the ids WireServer.request uses
        if acked and i % 4 == 1:
            target = rng.choice(sorted(acked))
            burst += srv.call_tool_line(rid, "mark_status", {"id": target, "status": rng.choice(
                ["paused", "on-hold", "resumed", "in-progress"]), "note": f"loop {loop}"})
            sent[rid] = ("status", target)
            continue
        args: dict[str, Any] = {"title": f"crash loop {loop} item {i}", "goal": "survive SIGKILL",
                                "payload": {"transcript": transcript(loop, i), "tool_history": [{"tool": "Edit", "n": i}]}}
        if acked and rng.random() < 0.5:
            args["parent_id"] = rng.choice(sorted(acked))  # differential storage against a parent
        burst += srv.call_tool_line(rid, "save_checkpoint", args)
        sent[rid] = ("save", args)
    return bytes(burst), sent


def test_sigkill_mid_burst_loses_nothing_acknowledged(tmp_path: Path) -> None:
    """LOOPS kills, two servers per round on the same file (each killed at its own moment)."""
    rng = random.Random(SEED)
    db = tmp_path / "crash.db"
    acked: dict[str, dict[str, Any]] = {}  # id -> what was sent
    status_acked: dict[str, int] = {}  # id -> acknowledged status changes
    in_flight = 0
    loops = list(range(LOOPS))
    for first in range(0, LOOPS, 2):
        pair = loops[first:first + 2]
        servers = [WireServer(db) for _ in pair]  # both start at once: process start-up dominates a round
        bursts: list[dict[int, tuple[str, Any]]] = []
        try:
            for srv in servers:
                srv.initialize()
                srv.call("search_checkpoints", {"query": "warm up"})  # the database is open before the burst
            lines = [burst_for(srv, loop, rng, acked) for srv, loop in zip(servers, pair, strict=True)]
            bursts = [sent for _, sent in lines]
            delays = [rng.uniform(0.0, 0.050) for _ in servers]
            for srv, (data, _) in zip(servers, lines, strict=True):
                srv.send_raw(data)
            # The 0–50 ms count from the moment each server starts answering its burst (a burst takes
            # ~100 ms), so the kills land mid-burst however fast or loaded the machine is.
            kill_at: dict[int, float] = {}
            deadline = time.monotonic() + 5.0
            while len(kill_at) < len(servers) and time.monotonic() < deadline:
                now = time.monotonic()
                for k, (srv, sent) in enumerate(zip(servers, bursts, strict=True)):
                    if k in kill_at:
                        if now >= kill_at[k] and srv.proc.poll() is None:
                            srv.kill()
                    elif any(rid in srv.replies for rid in sent):
                        kill_at[k] = now + delays[k]
                time.sleep(0.0005)
            for k, srv in enumerate(servers):
                while k in kill_at and time.monotonic() < kill_at[k]:
                    time.sleep(0.0005)
                if srv.proc.poll() is None:
                    srv.kill()
        finally:
            for srv in servers:
                if srv.proc.poll() is None:
                    srv.kill()
        for srv, sent in zip(servers, bursts, strict=True):
            answered = 0
            for rid, (kind, what) in sent.items():
                reply = srv.replies.get(rid)
                if reply is None:
                    continue
                answered += 1
                result = reply.get("result", {})
                assert not result.get("isError"), (kind, result)  # no tool error during a normal burst
                if kind == "save":
                    acked[result["structuredContent"]["id"]] = what
                else:
                    status_acked[what] = status_acked.get(what, 0) + 1
            in_flight += answered < len(sent)
        for loop in pair:
            check(db, acked, status_acked, loop, full=(loop % 20 == 19 or loop == LOOPS - 1))
    assert len(acked) >= LOOPS // 2, "too few writes were acknowledged for the kills to mean anything"
    assert in_flight >= LOOPS * 3 // 4, "most kills must land with requests still in flight"
    print(f"\ncrash loops (SIGKILLs): {LOOPS}, acknowledged saves: {len(acked)}, acknowledged status changes:"
          f" {sum(status_acked.values())}, kills with requests in flight: {in_flight}")


def check(db: Path, acked: dict[str, dict[str, Any]], status_acked: dict[str, int], loop: int, *, full: bool) -> None:
    store = SQLiteCheckpointStore(open_database(db))
    try:
        assert store.db.integrity_check() == ["ok"], f"loop {loop}"
        for cid, args in acked.items():
            cp = store.get(cid)  # decompresses and verifies the payload's sha256
            assert cp.title == args["title"] and cp.parent_id == args.get("parent_id")
            assert cp.payload is not None and cp.payload.transcript == args["payload"]["transcript"]
            assert len(cp.history) >= 1 + status_acked.get(cid, 0)
        rows = store.db.conn().execute(
            "SELECT id, title FROM checkpoints WHERE title LIKE ?", (f"crash loop {loop} item %",)).fetchall()
        for row in rows:  # committed but maybe unacknowledged: still whole
            i = int(row["title"].rsplit(" ", 1)[1])
            cp = store.get(row["id"])
            assert cp.payload is not None and cp.payload.transcript == transcript(loop, i)
            assert cp.history and cp.history[0].status == "in-progress"
        if full:
            report = store.verify()
            assert report.ok, (loop, report.problems)
    finally:
        store.db.close()
