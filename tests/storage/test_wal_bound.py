"""The WAL a long reader left behind shrinks at the first commit after it lets go.

SQLite on its own restarts the WAL only when a write *begins* with nobody reading from it, so the
first commit after the reader left it as big as the burst; with several busy servers on one file
the right instant could take many rounds (tests/reliability/test_many_writers.py saw 264 MB after
ten rounds of eight saves). Database.write now checkpoints and truncates it as soon as it can.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from mcp_server_checkpoints.storage.sqlite.checkpoints import open_database
from mcp_server_checkpoints.storage.sqlite.db import JOURNAL_SIZE_LIMIT, wal_size


def burst(db, rows: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(rows):
        with db.write() as c:
            c.execute("INSERT INTO filler(b) VALUES (?)", (os.urandom(64 * 1024),))


def burst_under_a_reader(db_path: Path):  # type: ignore[no-untyped-def]
    """A store, and a reader holding a snapshot taken before ~13 MB of writes it keeps in the WAL."""
    db = open_database(db_path)
    with db.write() as c:
        c.execute("CREATE TABLE filler(b BLOB)")
    reader = sqlite3.connect(db_path, isolation_level=None)
    reader.execute("BEGIN")
    before = reader.execute("SELECT COUNT(*) FROM filler").fetchone()[0]
    burst(db, 200)
    return db, reader, before


def test_first_commit_after_a_long_reader_truncates_the_wal(db_path: Path) -> None:
    db, reader, _ = burst_under_a_reader(db_path)
    grown = wal_size(db_path)
    assert grown > JOURNAL_SIZE_LIMIT
    reader.execute("COMMIT")
    reader.close()

    db.conn().execute("PRAGMA busy_timeout=2000")  # as the embedder's connection has
    burst(db, 1)
    assert db.conn().execute("PRAGMA busy_timeout").fetchone()[0] == 2000  # restored after the truncation
    assert wal_size(db_path) <= JOURNAL_SIZE_LIMIT, f"WAL {wal_size(db_path):,} bytes (was {grown:,})"
    with db.read() as c:
        assert c.execute("SELECT COUNT(*) FROM filler").fetchone()[0] == 201
    assert db.integrity_check() == ["ok"]
    db.close()


def test_a_reader_still_holding_its_snapshot_keeps_the_frames_it_needs(db_path: Path) -> None:
    db, reader, before = burst_under_a_reader(db_path)
    assert wal_size(db_path) > JOURNAL_SIZE_LIMIT  # nothing truncated under the reader
    assert reader.execute("SELECT COUNT(*) FROM filler").fetchone()[0] == before  # its snapshot intact
    reader.execute("COMMIT")
    reader.close()
    db.close()
