"""Opening another connection must not drop the locks this process holds on the database file.

Closing any descriptor of a file drops every POSIX lock the process holds on it. The file's header
used to be read with Python's open() for every new connection (one per thread), which silently
released the SHARED lock the other threads' connections held on the file: another process could
then take it for the last user of the store, checkpoint and reset the WAL under them, and the store
was damaged (tests/reliability/test_many_writers.py failed integrity_check about one run in two).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from mcp_server_checkpoints.storage.sqlite.checkpoints import open_database

# SQLite's lock bytes (os_unix.c): readers hold a read lock on the SHARED range past PENDING_BYTE.
CHILD = r"""
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
shared_first, shared_size = 0x40000000 + 2, 510
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, shared_size, shared_first, os.SEEK_SET)
    print("free")
except OSError:
    print("held")
"""


def shared_lock_seen_by_another_process(db: Path) -> str:
    return subprocess.run([sys.executable, "-c", CHILD, str(db)], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_a_second_connection_keeps_the_first_ones_locks(db_path: Path) -> None:
    db = open_database(db_path)
    c = db.conn()
    c.execute("BEGIN")
    c.execute("SELECT COUNT(*) FROM checkpoints").fetchone()  # a read transaction: SHARED on the file
    assert shared_lock_seen_by_another_process(db_path) == "held"
    other = threading.Thread(target=lambda: db.conn().execute("SELECT 1").fetchone())  # a new connection
    other.start()
    other.join()
    assert shared_lock_seen_by_another_process(db_path) == "held"
    c.execute("COMMIT")
    db.close()


def test_the_file_is_looked_at_again_once_every_connection_is_closed(db_path: Path) -> None:
    from mcp_server_checkpoints.storage.sqlite import db as dbmod

    db = open_database(db_path)
    db.conn().execute("SELECT 1").fetchone()
    assert any(entry.connections > 0 for entry in dbmod._OPEN_FILES.values())
    db.close()
    assert dbmod._inode(db_path) not in dbmod._OPEN_FILES
