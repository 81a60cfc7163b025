"""A checkpoint's status change in SQLite: the row, its history and its snapshot entity, in the caller's transaction."""

from __future__ import annotations

import sqlite3

from mcp_server_checkpoints.storage.sqlite.snapshots import sync_snapshot


def write_status(c: sqlite3.Connection, cid: str, status: str, at: str, note: str | None) -> None:
    """Set `cid`'s status as of `at`, append it to the history, and rewrite its session-snapshot entity."""
    c.execute("UPDATE checkpoints SET status = ?, updated_at = ? WHERE id = ?", (status, at, cid))
    c.execute("INSERT INTO checkpoint_status (checkpoint_id, status, at, note) VALUES (?, ?, ?, ?)",
              (cid, status, at, note))
    sync_snapshot(c, cid)
