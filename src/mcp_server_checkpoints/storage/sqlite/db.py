"""The SQLite file: connections (one per thread), pragmas, migrations, transactions.

Several server processes share one file (every Claude Code session spawns its own server), so:
WAL for concurrent readers, a long busy_timeout, and `BEGIN IMMEDIATE` for every write (a read
transaction that later upgrades to a write fails at once with SQLITE_BUSY, whatever the timeout).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp_server_checkpoints.domain.time import iso, utcnow
from mcp_server_checkpoints.errors import DatabaseBusyError, EncryptionKeyError, StorageError
from mcp_server_checkpoints.storage.sqlite import driver

BUSY_TIMEOUT_MS = 15_000
# After a checkpoint, the WAL file is truncated back to this size: a reader that held a snapshot
# through a long burst of writes must not leave a WAL as big as the burst behind it for good.
JOURNAL_SIZE_LIMIT = 8 * 1024 * 1024
# How long a commit that found the WAL over that size waits for readers to leave it (see _bound_wal).
TRUNCATE_WAIT_MS = 200


def wal_size(path: Path) -> int:
    """Bytes in the database's WAL file; 0 when there is none (or it cannot be looked at)."""
    try:
        return os.stat(f"{path}-wal").st_size
    except OSError:
        return 0


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[sqlite3.Connection], None]


def _translate(exc: Exception, path: Path) -> StorageError:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return DatabaseBusyError(
            f"the database {path} stayed locked by another process for {BUSY_TIMEOUT_MS // 1000} s; retry the call"
        )
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StorageError(f"the database {path} is damaged or is not a SQLite file; run `ckpt verify` and restore a backup")
    if "readonly" in text or "unable to open" in text or "disk i/o" in text:
        return StorageError(f"the database {path} cannot be written ({exc}); check the path, its permissions and free space")
    return StorageError(f"database error on {path}: {exc}")


# What kind of file each open database is, per inode, while this process has a connection to it.
# A connection's file is looked at (its first 16 bytes, in `driver.file_state`) only when no other
# connection of this process is open on it: closing any descriptor of a file drops every POSIX lock
# the process holds on that file, so reading the header while another thread's connection was in a
# transaction let other processes write and reset the WAL under it, and the store was damaged (seen:
# eight servers saving at once, about one run in two failed `integrity_check`; see
# https://sqlite.org/howtocorrupt.html, "POSIX advisory locks canceled by a separate thread doing
# close()"). SQLite itself defers closing such a descriptor; Python's open() cannot.
@dataclass
class _OpenFile:
    state: str  # driver.file_state's answer when the first connection was opened
    connections: int = 0


_OPEN_FILES: dict[tuple[int, int], _OpenFile] = {}  # by (st_dev, st_ino)
_OPEN_FILES_LOCK = threading.Lock()


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _state_locked(path: Path, key: tuple[int, int] | None) -> str:
    entry = _OPEN_FILES.get(key) if key is not None else None
    return entry.state if entry is not None else driver.file_state(path)


def _hold_locked(key: tuple[int, int], state: str) -> None:
    _OPEN_FILES.setdefault(key, _OpenFile(state)).connections += 1


def file_state(path: Path) -> str:
    """`driver.file_state`, without opening the file while this process has a connection to it."""
    with _OPEN_FILES_LOCK:
        return _state_locked(path, _inode(path))


def _claim(path: Path) -> tuple[str, tuple[int, int] | None]:
    """The file's state and, for an existing file, a claim on its inode (released with the connection)."""
    with _OPEN_FILES_LOCK:
        key = _inode(path)
        state = _state_locked(path, key)
        if key is None or state == "missing":
            return state, None
        _hold_locked(key, state)
        return state, key


def _claim_new(path: Path, state: str) -> tuple[int, int] | None:
    """A claim on a file the connection just created (its state is what the connection makes it)."""
    with _OPEN_FILES_LOCK:
        key = _inode(path)
        if key is not None:
            _hold_locked(key, state)
        return key


def _release(key: tuple[int, int]) -> None:
    with _OPEN_FILES_LOCK:
        entry = _OPEN_FILES.get(key)
        if entry is not None:
            entry.connections -= 1
            if entry.connections <= 0:
                del _OPEN_FILES[key]


_TRACKED: dict[Any, type] = {}


def _tracked_class(module: Any) -> type:
    """`module.Connection` whose close (or garbage collection) releases its claim on the file."""
    cls = _TRACKED.get(module)
    if cls is None:
        class Tracked(module.Connection):  # type: ignore[misc]
            release_claim: Callable[[], Any] | None = None

            def close(self) -> None:
                try:
                    super().close()
                finally:
                    if self.release_claim is not None:
                        self.release_claim()

        cls = _TRACKED[module] = Tracked
    return cls


def open_connection(path: Path, key: bytes | None, *, readonly: bool = False, timeout_ms: int = BUSY_TIMEOUT_MS) -> Any:
    """A connection to the file at `path` through the right driver, its key applied and checked.

    Nothing is written before the key is known to open the file: a missing or wrong key leaves the
    file (and the folder) as it was. Raises EncryptionKeyError with what to do.
    """
    state, claim = _claim(path)
    try:
        if key is None and state == "other":
            raise EncryptionKeyError(
                f"the database {path} is damaged or is not a SQLite file: if it is an encrypted store, set"
                " encryption_key_file (env CHECKPOINTS_KEY_FILE) to its key file; otherwise restore a backup")
        if key is not None and state == "plain":
            raise EncryptionKeyError(
                f"the database {path} is not encrypted but a key file is set: encrypt it with `ckpt encrypt --key FILE`,"
                " or unset encryption_key_file / CHECKPOINTS_KEY_FILE")
        module = driver.cipher() if key is not None else driver.plain()
        target = f"{path.resolve().as_uri()}?mode=ro" if readonly else str(path)
        c = module.connect(target, uri=readonly, timeout=timeout_ms / 1000, isolation_level=None,
                           check_same_thread=False, factory=_tracked_class(module))
    except BaseException:
        if claim is not None:
            _release(claim)
        raise
    if claim is None:  # the connection created the file
        claim = _claim_new(path, "other" if key is not None else "plain")
    if claim is not None:
        c.release_claim = weakref.finalize(c, _release, claim)
    try:
        c.row_factory = module.Row
        if key is not None:
            c.execute("PRAGMA cipher_log_level = NONE")  # a wrong key is reported below, not on stderr
            c.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
            try:
                c.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            except driver.DatabaseError:
                raise EncryptionKeyError(
                    f"the key file does not open the database {path} (another key, or a damaged file)") from None
        # Sorts and temporary indexes stay in memory: a temporary file could hold clear text.
        c.execute("PRAGMA temp_store=MEMORY")
    except BaseException:
        c.close()
        raise
    return c


def count_readonly(path: Path, table: str, key: bytes | None = None) -> int:
    """Rows of `table` in the file at `path`, read without changing it (no migration, no journal-mode switch)."""
    try:
        c = open_connection(path, key, readonly=True)
        try:
            return int(c.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])
        finally:
            c.close()
    except driver.Error as exc:
        raise _translate(exc, path) from None


class Database:
    """One SQLite file with a connection per thread (sqlite3 connections are not shared across threads)."""

    def __init__(self, path: str | Path, migrations: list[Migration], *, key: bytes | None = None) -> None:
        self.path = Path(path)
        self._migrations = migrations
        self.key = key  # SQLCipher's raw key, or None: a plain SQLite file
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: list[sqlite3.Connection] = []
        self._migrated = False

    # -- connections -------------------------------------------------------------------
    def conn(self) -> sqlite3.Connection:
        c: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if c is None:
            c = self._connect()
            self._local.conn = c
            with self._lock:
                self._conns.append(c)
        if not self._migrated:
            self.migrate()
        return c

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: no implicit transactions; every write says BEGIN IMMEDIATE itself.
            c: sqlite3.Connection = open_connection(self.path, self.key)
            c.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")
            c.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
            c.execute("PRAGMA foreign_keys=ON")
        except driver.Error as exc:
            raise _translate(exc, self.path) from None
        except OSError as exc:
            raise StorageError(f"cannot create the database at {self.path}: {exc.strerror}") from None
        return c

    def close(self) -> None:
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            try:
                c.close()
            except driver.Error:
                pass
        self._local = threading.local()

    # -- transactions ------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: BEGIN IMMEDIATE, commit on success, roll back on any error."""
        c = self.conn()
        try:
            c.execute("BEGIN IMMEDIATE")
        except driver.Error as exc:
            raise _translate(exc, self.path) from None
        try:
            yield c
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise
        try:
            c.execute("COMMIT")
        except driver.Error as exc:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise _translate(exc, self.path) from None
        self._bound_wal(c)

    def _bound_wal(self, c: sqlite3.Connection) -> None:
        """Bring an oversized WAL back to nothing once no reader needs its old frames.

        SQLite restarts the WAL (and truncates it to journal_size_limit) only when a write begins at an
        instant no other connection is reading from it; with several busy servers on one file that
        instant can be long in coming, and the WAL a long reader left behind stayed hundreds of MB
        (seen: 264 MB after ten rounds of eight saves). So a commit that finds the WAL over the limit
        asks for a PASSIVE checkpoint (never waits), and only if that copied every frame back, which
        means no reader holds an older snapshot, for a TRUNCATE checkpoint that waits at most
        TRUNCATE_WAIT_MS for the readers still in the WAL; readers that start meanwhile read the
        database file, so they do not hold it up. Either failing is harmless: the next commit tries again.
        """
        if wal_size(self.path) <= JOURNAL_SIZE_LIMIT:
            return
        try:
            busy, frames, copied = c.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if busy or frames != copied:
                return  # another checkpoint is running, or a reader still needs frames the WAL holds
            timeout = c.execute("PRAGMA busy_timeout").fetchone()[0]  # the embedder's connection has its own
            c.execute(f"PRAGMA busy_timeout={min(timeout, TRUNCATE_WAIT_MS)}")
            try:
                c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                c.execute(f"PRAGMA busy_timeout={timeout}")
        except driver.Error:
            pass  # busy or locked: the commit itself succeeded, and the next one tries again

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: one consistent snapshot for several SELECTs."""
        c = self.conn()
        try:
            c.execute("BEGIN")
        except driver.Error as exc:
            raise _translate(exc, self.path) from None
        try:
            yield c
        finally:
            if c.in_transaction:
                c.execute("COMMIT")

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Translate sqlite3 errors raised inside into StorageError with advice."""
        try:
            yield
        except driver.Error as exc:
            raise _translate(exc, self.path) from None

    def integrity_check(self, max_errors: int = 20) -> list[str]:
        """`PRAGMA integrity_check` on a fresh read-only connection (no migrations): ["ok"] or the problems.

        A file too damaged to open or to check gives one line saying so instead of raising.
        """
        try:
            c = open_connection(self.path, self.key, readonly=True)
        except driver.Error as exc:
            return [f"cannot open the file: {exc}"]
        except EncryptionKeyError as exc:  # a damaged header reads as an unknown format: say so, do not raise
            return [f"cannot open the file: {exc}"]
        try:
            return [str(r[0]) for r in c.execute(f"PRAGMA integrity_check({int(max_errors)})")]
        except driver.DatabaseError as exc:
            return [f"cannot check the file: {exc}"]
        finally:
            c.close()

    # -- backup ------------------------------------------------------------------------
    def backup(self, dest: str | Path) -> Path:
        """Copy the database to `dest` with SQLite's online backup API; returns `dest`.

        One step (all pages at once) reads a single snapshot: consistent while other processes
        write (WAL readers never block writers). The copy is written beside `dest` and renamed
        into place, so `dest` is either absent or complete; it is a self-contained rollback-journal
        file (no -wal needed) that passed integrity_check. An encrypted store's copy is encrypted with
        the same key (SQLCipher's backup needs equal keys on both sides): a backup never holds clear text.
        """
        dest = Path(dest)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp.unlink(missing_ok=True)
            target = open_connection(tmp, self.key)
            try:
                self.conn().backup(target)
                target.execute("PRAGMA journal_mode=DELETE")
                problems = [r[0] for r in target.execute("PRAGMA integrity_check")]
            finally:
                target.close()
            if problems != ["ok"]:
                raise StorageError(f"the backup of {self.path} failed its integrity check; run `ckpt verify` on the source")
            os.replace(tmp, dest)
        except driver.Error as exc:
            raise _translate(exc, self.path) from None
        except OSError as exc:
            raise StorageError(f"cannot write the backup {dest}: {exc.strerror}") from None
        finally:
            tmp.unlink(missing_ok=True)
        return dest

    # -- migrations --------------------------------------------------------------------
    def migrate(self) -> int:
        """Apply pending migrations in one IMMEDIATE transaction; safe to call twice or from two processes."""
        c = self._local.conn if getattr(self._local, "conn", None) else self._connect()
        self._local.conn = c
        known = max((m.version for m in self._migrations), default=0)
        try:
            # The common case, every process start: every version applied. Checked without a write lock;
            # any missing version, even a lower one, migrates.
            done = {int(r[0]) for r in c.execute("SELECT version FROM schema_migrations")}
            if {m.version for m in self._migrations} <= done and max(done, default=0) <= known:
                self._migrated = True
                return known
        except driver.OperationalError:
            pass  # no version table yet: a new database
        except driver.Error as exc:
            raise _translate(exc, self.path) from None
        try:
            c.execute("BEGIN IMMEDIATE")
            c.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations"
                " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            current = c.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]
            applied = {int(r[0]) for r in c.execute("SELECT version FROM schema_migrations")}
            if current > known:
                c.execute("ROLLBACK")
                raise StorageError(
                    f"the database {self.path} has schema version {current}, newer than this release knows ({known});"
                    " upgrade mcp-server-checkpoints"
                )
            for m in sorted(self._migrations, key=lambda m: m.version):
                # Every version not applied yet, not only those above the newest: branches add
                # migrations in parallel, so a file may have 1 and 3 before it meets 2.
                if m.version not in applied:
                    m.apply(c)
                    c.execute(
                        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                        (m.version, m.name, iso(utcnow())),
                    )
            c.execute("COMMIT")
        except driver.Error as exc:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise _translate(exc, self.path) from None
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise
        self._migrated = True
        return max(int(current), known)

    def schema_version(self) -> int:
        row = self.conn().execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
        return int(row[0])
