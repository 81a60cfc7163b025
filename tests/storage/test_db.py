from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mcp_server_checkpoints.errors import StorageError
from mcp_server_checkpoints.storage.sqlite.checkpoints import open_database
from mcp_server_checkpoints.storage.sqlite.db import Database, Migration
from mcp_server_checkpoints.storage.sqlite.migrations import MIGRATIONS


def test_pragmas_for_many_processes(db_path: Path) -> None:
    db = open_database(db_path)
    c = db.conn()
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert c.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert c.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert c.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    db.close()


def test_migrations_recorded_and_idempotent(db_path: Path) -> None:
    db = open_database(db_path)
    newest = max(m.version for m in MIGRATIONS)
    assert db.migrate() == newest
    assert db.migrate() == newest
    rows = db.conn().execute("SELECT version, name FROM schema_migrations").fetchall()
    assert [r[0] for r in rows] == [m.version for m in MIGRATIONS]
    tables = {r[0] for r in db.conn().execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"checkpoints", "checkpoint_status", "checkpoints_fts", "schema_migrations"} <= tables
    db.close()


def test_new_migration_applies_on_top(db_path: Path) -> None:
    open_database(db_path).migrate()
    newest = max(m.version for m in MIGRATIONS)
    extra = Migration(newest + 1, "extra", lambda c: c.execute("CREATE TABLE extra (x INTEGER)"))
    db = Database(db_path, [*MIGRATIONS, extra])
    db.migrate()
    assert db.schema_version() == newest + 1
    db.close()


def test_missing_lower_version_still_applies(db_path: Path) -> None:
    """Branches add migrations in parallel: a file at versions 1 and 3 must still get 2 when it appears."""
    db = Database(db_path, [MIGRATIONS[0], Migration(3, "three", lambda c: c.execute("CREATE TABLE three (x INTEGER)"))])
    db.migrate()
    db.close()
    two = Migration(2, "two", lambda c: c.execute("CREATE TABLE two (y INTEGER)"))
    db = Database(db_path, [MIGRATIONS[0], two, Migration(3, "three", lambda c: c.execute("CREATE TABLE three (x INTEGER)"))])
    assert db.migrate() == 3
    rows = [r[0] for r in db.conn().execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert rows == [1, 2, 3]
    assert db.conn().execute("SELECT COUNT(*) FROM two").fetchone()[0] == 0
    db.close()


def test_failed_migration_leaves_nothing(db_path: Path) -> None:
    def broken(d: object) -> None:
        raise sqlite3.OperationalError("boom")

    db = Database(db_path, [*MIGRATIONS, Migration(99, "broken", broken)])
    with pytest.raises(StorageError):
        db.migrate()
    fresh = sqlite3.connect(db_path)
    assert fresh.execute("SELECT name FROM sqlite_master WHERE name='checkpoints'").fetchone() is None


def test_newer_schema_refused_with_advice(db_path: Path) -> None:
    db = open_database(db_path)
    db.migrate()
    db.conn().execute("INSERT INTO schema_migrations VALUES (999, 'future', 'x')")
    db.close()
    with pytest.raises(StorageError, match="upgrade"):
        open_database(db_path).migrate()


def test_not_a_database(tmp_path: Path) -> None:
    p = tmp_path / "junk.db"
    p.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="damaged or is not a SQLite file"):
        open_database(p).conn()


def test_write_rolls_back_on_error(db_path: Path) -> None:
    db = open_database(db_path)
    db.migrate()
    with pytest.raises(RuntimeError):
        with db.write() as c:
            c.execute("INSERT INTO schema_migrations VALUES (500, 'x', 'y')")
            raise RuntimeError
    assert db.conn().execute("SELECT COUNT(*) FROM schema_migrations WHERE version=500").fetchone()[0] == 0
    db.close()


def test_new_database_schema_is_the_shipped_one(db_path: Path) -> None:
    """Migrations are plain SQL now; a new file must be exactly what the sqlite-utils era wrote (schema_v4.sql),
    so every database, old or new, is one format."""
    db = Database(db_path, [m for m in MIGRATIONS if m.version < 8])  # 8 adds a column to v4's checkpoints table
    db.migrate()
    got = [f"-- {t} {n}\n{s};\n" for t, n, s in db.conn().execute(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY rowid")]
    db.close()
    expected = (Path(__file__).parent / "schema_v4.sql").read_text().split("\n\n", 1)[1]
    later = got[len(expected.split("\n-- ")):]  # what migrations 5+ added, after everything v4 had
    assert "\n".join(got[:len(got) - len(later)]) == expected
    assert [x.split("\n")[0] for x in later] == ["-- trigger graph_entities_vectors_au", "-- trigger graph_entities_vectors_ad",
                                                  "-- index vectors_kind_model", "-- trigger checkpoints_passages_ad",
                                                  *(f"-- table graph_trigrams{t}" for t in ("", "_data", "_idx", "_docsize",
                                                                                             "_config")),
                                                  *(f"-- trigger graph_trigrams_a{t}" for t in "idu")]
    full = open_database(db_path)
    columns = [r[1] for r in full.conn().execute("PRAGMA table_info(checkpoints)")]
    full.close()
    assert columns[-1] == "redaction_kinds"  # migration 8, on the same file
