"""Converting a whole SQLite store between keys: encrypt (plain → key), decrypt (key → plain), rotate (key → key).

Each conversion writes a complete copy beside the database with SQLCipher's `sqlcipher_export`,
checks it (integrity_check, same row counts, opens with the new key), and only then renames it over
the original. Interrupted at any point before the rename, the original file is untouched and its
old key still opens it; after the rename only the new key does. The conversion needs the store to
itself: leaving WAL mode fails while another process has the file open, and that is the check.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mcp_server_checkpoints.errors import DatabaseBusyError, StorageError
from mcp_server_checkpoints.storage.sqlite import driver
from mcp_server_checkpoints.storage.sqlite.db import file_state, open_connection

COUNTED = ("checkpoints", "checkpoint_status", "graph_entities", "graph_relations", "vectors")


def _key_sql(key: bytes | None) -> str:
    return f"\"x'{key.hex()}'\"" if key is not None else "''"


def _counts(c: Any, schema: str) -> dict[str, int]:
    names = {r[0] for r in c.execute(f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table'")}
    return {t: int(c.execute(f'SELECT COUNT(*) FROM {schema}."{t}"').fetchone()[0]) for t in COUNTED if t in names}


def convert(path: Path, old_key: bytes | None, new_key: bytes | None) -> dict[str, int]:
    """Re-write the store at `path` under `new_key` (None: plain); returns the row counts copied."""
    if not path.exists():
        raise StorageError(f"no database at {path}")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.converting")
    tmp.unlink(missing_ok=True)
    driver.cipher()  # sqlcipher_export lives in SQLCipher, whichever side is plain
    c = open_connection(path, old_key) if old_key is not None else _plain_through_cipher(path)
    try:
        c.execute(f"ATTACH DATABASE ? AS converted KEY {_key_sql(new_key)}", (str(tmp),))
        try:
            mode = c.execute("PRAGMA main.journal_mode=DELETE").fetchone()[0]
        except driver.OperationalError:
            mode = "busy"
        if str(mode).lower() != "delete":
            raise DatabaseBusyError(f"the database {path} is open in another process (a server of a client session);"
                                    " close those sessions and retry")
        c.execute("BEGIN EXCLUSIVE")
        try:
            c.execute("SELECT sqlcipher_export('converted')")
            before, after = _counts(c, "main"), _counts(c, "converted")
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise
        c.execute("DETACH DATABASE converted")
    finally:
        c.close()
    try:
        if before != after:
            raise StorageError(f"the converted copy of {path} differs from it ({after} rows against {before}); nothing changed")
        check = open_connection(tmp, new_key)
        try:
            problems = [r[0] for r in check.execute("PRAGMA integrity_check")]
        finally:
            check.close()
        if problems != ["ok"]:
            raise StorageError(f"the converted copy of {path} failed its integrity check; nothing changed")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):  # left by the old file's WAL mode; they hold nothing the copy needs
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return after


def _plain_through_cipher(path: Path) -> Any:
    """A plain file opened by SQLCipher's module (no key: SQLCipher reads and writes it unencrypted)."""
    if file_state(path) != "plain":
        raise StorageError(f"the database {path} is not a plain SQLite file (already encrypted? give its key)")
    module = driver.cipher()
    c = module.connect(str(path), isolation_level=None, timeout=15)
    c.row_factory = module.Row
    c.execute("PRAGMA cipher_log_level = NONE")
    c.execute("PRAGMA temp_store=MEMORY")
    return c


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
