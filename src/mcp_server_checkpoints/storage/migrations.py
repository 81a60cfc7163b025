"""Append-only schema migrations. Never edit a shipped migration: add the next one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp_server_checkpoints.storage.db import Migration

if TYPE_CHECKING:
    import sqlite_utils

# The columns FTS5 indexes, in the order bm25() weights refer to them.
FTS_COLUMNS = ("title", "goal", "summary", "current_work", "next_step", "remaining", "decisions", "files", "tags")


def _m1_checkpoints(db: sqlite_utils.Database) -> None:
    db.table("checkpoints").create(
        {
            "id": str,
            "title": str,
            "goal": str,
            "project": str,
            "status": str,
            "progress": int,
            "phase": str,
            "current_work": str,
            "completed": str,  # JSON list
            "files": str,  # JSON list of {path, change}
            "decisions": str,  # JSON list of {decision, reasoning}
            "next_step": str,
            "remaining": str,  # JSON list
            "blockers": str,
            "user_input_needed": str,
            "approaches": str,
            "preferences": str,
            "discoveries": str,
            "resume_instructions": str,
            "summary": str,
            "tags": str,
            "parent_id": str,
            "lineage_id": str,  # id of the first checkpoint of the lineage (parent_id chain)
            "session_id": str,
            "agent_id": str,
            "created_at": str,
            "updated_at": str,
            "payload_codec": str,
            "payload_blob": bytes,
            "payload_sha256": str,
            "payload_raw_bytes": int,
            "payload_depth": int,  # 0 for a full copy, n for the n-th differential link of a chain
        },
        pk="id",
        not_null={"title", "goal", "status", "lineage_id", "created_at", "updated_at"},
        defaults={"completed": "[]", "files": "[]", "decisions": "[]", "remaining": "[]", "blockers": "[]",
                  "user_input_needed": "[]", "approaches": "[]", "preferences": "[]", "discoveries": "[]",
                  "tags": "[]", "payload_depth": 0},
        foreign_keys=[("parent_id", "checkpoints", "id")],
    )
    db.table("checkpoints").create_index(["project", "created_at"])
    db.table("checkpoints").create_index(["status", "created_at"])
    db.table("checkpoints").create_index(["lineage_id", "created_at"])
    db.table("checkpoints").create_index(["session_id", "created_at"])
    db.table("checkpoints").create_index(["parent_id"])
    db.table("checkpoints").create_index(["created_at"])
    db.table("checkpoints").enable_fts(FTS_COLUMNS, fts_version="FTS5", create_triggers=True,
                                 tokenize="porter unicode61 remove_diacritics 2")
    db.table("checkpoint_status").create(
        {"seq": int, "checkpoint_id": str, "status": str, "at": str, "note": str},
        pk="seq",
        not_null={"checkpoint_id", "status", "at"},
        foreign_keys=[("checkpoint_id", "checkpoints", "id")],
    )
    db.table("checkpoint_status").create_index(["checkpoint_id", "seq"])


def _m2_vectors(db: sqlite_utils.Database) -> None:
    # One embedding per (kind, ref): kind "checkpoint" (ref = checkpoint id) or "entity" (graph entities).
    # seq grows with every write (AUTOINCREMENT never reuses a value, and INSERT OR REPLACE takes a new
    # one), so every process refreshes its in-memory matrix with `WHERE seq > last_seen`.
    db.execute(
        "CREATE TABLE vectors ("
        " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " kind TEXT NOT NULL,"
        " ref TEXT NOT NULL,"
        " model TEXT NOT NULL,"  # a different model name means the vector is stale
        " dim INTEGER NOT NULL,"
        " vector BLOB NOT NULL,"  # little-endian float32, L2-normalised
        " UNIQUE (kind, ref))"
    )
    db.execute("CREATE INDEX vectors_model_seq ON vectors (model, seq)")
    # A replaced (deleted, then re-inserted) checkpoint must be embedded again.
    db.execute(
        "CREATE TRIGGER checkpoints_vectors_ad AFTER DELETE ON checkpoints BEGIN"
        " DELETE FROM vectors WHERE kind = 'checkpoint' AND ref = old.id; END"
    )


def _m3_graph(db: sqlite_utils.Database) -> None:
    """The knowledge graph of the memory-server tools; checkpoints become session-snapshot entities."""
    from mcp_server_checkpoints.storage.snapshots import sync_all_snapshots

    for sql in (
        # search_lc: name, type and observations lowercased by Python and joined, so the official
        # case-insensitive substring search is one instr() per entity (SQLite's lower() folds only ASCII).
        "CREATE TABLE graph_entities (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, entity_type TEXT NOT NULL,"
        " search_lc TEXT NOT NULL DEFAULT '', checkpoint_id TEXT REFERENCES checkpoints(id) ON DELETE SET NULL)",
        "CREATE INDEX graph_entities_type ON graph_entities (entity_type, id)",
        "CREATE INDEX graph_entities_checkpoint ON graph_entities (checkpoint_id)",
        # derived = 1: projected from a checkpoint's fields and rewritten when it changes.
        "CREATE TABLE graph_observations (id INTEGER PRIMARY KEY,"
        " entity_id INTEGER NOT NULL REFERENCES graph_entities(id) ON DELETE CASCADE,"
        " content TEXT NOT NULL, derived INTEGER NOT NULL DEFAULT 0)",
        "CREATE INDEX graph_observations_entity ON graph_observations (entity_id, derived DESC, id)",
        "CREATE TABLE graph_relations (id INTEGER PRIMARY KEY, from_name TEXT NOT NULL, to_name TEXT NOT NULL,"
        " relation_type TEXT NOT NULL, UNIQUE (from_name, to_name, relation_type))",
        "CREATE INDEX graph_relations_to ON graph_relations (to_name)",
        "CREATE VIRTUAL TABLE graph_fts USING fts5(name, entity_type, observations,"
        " tokenize='porter unicode61 remove_diacritics 2')",
    ):
        db.execute(sql)
    sync_all_snapshots(db.conn)


def _m4_redactions(db: sqlite_utils.Database) -> None:
    db.table("checkpoints").add_column("redactions", int, not_null_default=0)


MIGRATIONS = [
    Migration(1, "checkpoints, status history, FTS5", _m1_checkpoints),
    Migration(2, "embedding vectors", _m2_vectors),
    Migration(3, "knowledge graph (memory-server tools), checkpoints as session-snapshot entities", _m3_graph),
    Migration(4, "count of redacted secrets per checkpoint", _m4_redactions),
]
