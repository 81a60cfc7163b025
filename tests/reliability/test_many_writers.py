"""Many writers: 8 server processes × 50 saves (and status changes) on one database at once.

Pass criterion: all 400 checkpoints present with their payloads verified, every status change
recorded, no error of any kind (no "locked"/busy) reaches a client, every process exits 0 on
stdin EOF. Meanwhile a reader holds one read transaction open for the whole burst and the
writers are not stopped by it; once it lets go, the WAL is checkpointed and truncated back to
a bounded size while the servers are still running.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database
from mcp_server_checkpoints.storage.sqlite.db import JOURNAL_SIZE_LIMIT, wal_size
from tests.reliability.wire import WireServer

pytestmark = [pytest.mark.slow, pytest.mark.reliability]

PROCESSES = 8
SAVES = 50
AFTER_ROUNDS = 40  # at most this many rounds of one save per process once the reader has let go,
AFTER_SECONDS = 60.0  # and for at most this long: copying a 200 MB WAL back takes a few seconds of I/O


class LongReader(threading.Thread):
    """Holds one read transaction (a snapshot) until told to let go."""

    def __init__(self, db: Path) -> None:
        super().__init__(daemon=True)
        self.db = db
        self.holding = threading.Event()
        self.release = threading.Event()
        self.seen_at_start = -1
        self.seen_at_end = -1

    def run(self) -> None:
        c = sqlite3.connect(self.db, isolation_level=None)
        try:
            c.execute("BEGIN")
            self.seen_at_start = c.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0]
            self.holding.set()
            self.release.wait(timeout=600)
            self.seen_at_end = c.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0]
            c.execute("COMMIT")
        finally:
            c.close()


def test_eight_servers_fifty_saves_each(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    store = SQLiteCheckpointStore(open_database(db))
    assert store.count() == 0  # creates the schema before the writers race for it
    store.db.close()
    servers = [WireServer(db) for _ in range(PROCESSES)]
    for srv in servers:
        srv.initialize()
    reader = LongReader(db)
    reader.start()
    assert reader.holding.wait(timeout=30)

    acked: dict[str, tuple[int, int]] = {}
    statuses: dict[str, int] = {}
    errors: list[str] = []
    lock = threading.Lock()

    def work(n: int, srv: WireServer, count: int, tag: str) -> None:
        try:
            for i in range(count):
                res = srv.call("save_checkpoint", {
                    "title": f"writer {n} {tag} {i}", "goal": "many writers", "tags": [f"w{n}"],
                    "payload": {"transcript": os.urandom(32_000).hex()}})
                if res.get("isError"):
                    raise AssertionError(res["content"][0]["text"])
                cid = res["structuredContent"]["id"]
                with lock:
                    acked[cid] = (n, i)
                if i % 5 == 0:
                    st = srv.call("mark_status", {"id": cid, "status": "paused", "note": f"writer {n}"})
                    if st.get("isError"):
                        raise AssertionError(st["content"][0]["text"])
                    with lock:
                        statuses[cid] = statuses.get(cid, 0) + 1
        except BaseException as exc:  # noqa: BLE001 - reported below with the writer's number
            with lock:
                errors.append(f"writer {n}: {exc!r}")

    def phase(count: int, tag: str) -> None:
        threads = [threading.Thread(target=work, args=(n, srv, count, tag)) for n, srv in enumerate(servers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)

    try:
        phase(SAVES, "burst")  # the reader holds its snapshot all along
        peak = wal_size(db)
        assert not errors, errors[:3]
        assert len(acked) == PROCESSES * SAVES
        reader.release.set()
        reader.join(timeout=30)
        assert reader.seen_at_end == reader.seen_at_start  # a snapshot: the reader saw none of the burst
        # Commits after the reader let go checkpoint the WAL back into the file, and the first commit that
        # finds it fully copied truncates it (Database._bound_wal). Copying the burst back takes a moment,
        # during which other commits find the checkpoint busy, so allow some rounds.
        rounds, let_go = 0, time.monotonic()
        while rounds < AFTER_ROUNDS and time.monotonic() - let_go < AFTER_SECONDS:
            rounds += 1
            phase(1, f"after{rounds}")
            if wal_size(db) <= JOURNAL_SIZE_LIMIT:
                break
        bounded, took = wal_size(db), time.monotonic() - let_go
        assert not errors, errors[:3]
    finally:
        codes = [srv.close(timeout=15) for srv in servers]
    assert codes == [0] * PROCESSES, [srv.stderr[-500:] for srv in servers if srv.proc.returncode]
    troubled = [srv.stderr[-2000:] for srv in servers if "locked" in srv.stderr.lower() or "Traceback" in srv.stderr]
    # The file is checked before the servers' logs, so a failure below says whether the store is intact.
    store = SQLiteCheckpointStore(open_database(db))
    try:
        report = store.verify()
        assert report.ok, report
        assert store.count() == PROCESSES * (SAVES + rounds)
        for cid, (n, i) in acked.items():
            cp = store.get(cid)  # payload decompressed and its sha256 verified
            assert cp.title.startswith(f"writer {n} ") and cp.payload is not None
            assert len(cp.history) == 1 + statuses.get(cid, 0)
    finally:
        store.db.close()
    assert not troubled, f"store verified intact, but a server logged: {troubled[0]}"

    assert peak > JOURNAL_SIZE_LIMIT, "the burst was too small to test the WAL bound"
    assert bounded <= JOURNAL_SIZE_LIMIT, f"WAL still {bounded:,} bytes after the reader let go"
    print(f"\nmany writers: {PROCESSES} processes, {PROCESSES * SAVES} saves in the burst ({len(acked)} in all), {sum(statuses.values())} status changes;"
          f" WAL peak {peak:,} bytes with a reader holding a snapshot, {bounded:,} after {rounds} round(s) of saves, {took:.1f} s")


