"""Append-only schema migrations. Never edit a shipped migration: add the next one."""

from __future__ import annotations

import sqlite3

from mcp_server_checkpoints.storage.sqlite.db import Migration

# The columns FTS5 indexes, in the order bm25() weights refer to them.
FTS_COLUMNS = ("title", "goal", "summary", "current_work", "next_step", "remaining", "decisions", "files", "tags")


def _fts_statements() -> tuple[str, ...]:
    """The external-content FTS5 table over `checkpoints` and the three triggers that keep it in step."""
    cols = ", ".join(f'"{c}"' for c in FTS_COLUMNS)
    new = ", ".join(f'new."{c}"' for c in FTS_COLUMNS)
    old = ", ".join(f'old."{c}"' for c in FTS_COLUMNS)
    insert = f'  INSERT INTO "checkpoints_fts" (rowid, {cols}) VALUES (new.rowid, {new});\n'
    delete = f'  INSERT INTO "checkpoints_fts" ("checkpoints_fts", rowid, {cols}) VALUES(\'delete\', old.rowid, {old});\n'
    return (
        f'CREATE VIRTUAL TABLE "checkpoints_fts" USING FTS5 (\n    {cols},\n'
        "    tokenize='porter unicode61 remove_diacritics 2',\n    content=\"checkpoints\"\n)",
        f'CREATE TRIGGER "checkpoints_ai" AFTER INSERT ON "checkpoints" BEGIN\n{insert}END',
        f'CREATE TRIGGER "checkpoints_ad" AFTER DELETE ON "checkpoints" BEGIN\n{delete}END',
        f'CREATE TRIGGER "checkpoints_au" AFTER UPDATE ON "checkpoints" BEGIN\n{delete}{insert}END',
    )


def _m1_checkpoints(c: sqlite3.Connection) -> None:
    # The exact statements sqlite-utils wrote for this migration until 0.1.0 (tests/storage/schema_v4.sql
    # holds the resulting schema), so files created before and after are one format.
    for sql in (
        ('CREATE TABLE "checkpoints" (\n'
         '   "id" TEXT PRIMARY KEY,\n'
         '   "title" TEXT NOT NULL,\n'
         '   "goal" TEXT NOT NULL,\n'
         '   "project" TEXT,\n'
         '   "status" TEXT NOT NULL,\n'
         '   "progress" INTEGER,\n'
         '   "phase" TEXT,\n'
         '   "current_work" TEXT,\n'
         '   "completed" TEXT DEFAULT \'[]\',\n'
         '   "files" TEXT DEFAULT \'[]\',\n'
         '   "decisions" TEXT DEFAULT \'[]\',\n'
         '   "next_step" TEXT,\n'
         '   "remaining" TEXT DEFAULT \'[]\',\n'
         '   "blockers" TEXT DEFAULT \'[]\',\n'
         '   "user_input_needed" TEXT DEFAULT \'[]\',\n'
         '   "approaches" TEXT DEFAULT \'[]\',\n'
         '   "preferences" TEXT DEFAULT \'[]\',\n'
         '   "discoveries" TEXT DEFAULT \'[]\',\n'
         '   "resume_instructions" TEXT,\n'
         '   "summary" TEXT,\n'
         '   "tags" TEXT DEFAULT \'[]\',\n'
         '   "parent_id" TEXT REFERENCES "checkpoints"("id"),\n'
         '   "lineage_id" TEXT NOT NULL,\n'
         '   "session_id" TEXT,\n'
         '   "agent_id" TEXT,\n'
         '   "created_at" TEXT NOT NULL,\n'
         '   "updated_at" TEXT NOT NULL,\n'
         '   "payload_codec" TEXT,\n'
         '   "payload_blob" BLOB,\n'
         '   "payload_sha256" TEXT,\n'
         '   "payload_raw_bytes" INTEGER,\n'
         '   "payload_depth" INTEGER DEFAULT 0\n'
         ')'),
        ('CREATE INDEX "idx_checkpoints_project_created_at"\n'
         '    ON "checkpoints" ("project", "created_at")'),
        ('CREATE INDEX "idx_checkpoints_status_created_at"\n'
         '    ON "checkpoints" ("status", "created_at")'),
        ('CREATE INDEX "idx_checkpoints_lineage_id_created_at"\n'
         '    ON "checkpoints" ("lineage_id", "created_at")'),
        ('CREATE INDEX "idx_checkpoints_session_id_created_at"\n'
         '    ON "checkpoints" ("session_id", "created_at")'),
        ('CREATE INDEX "idx_checkpoints_parent_id"\n'
         '    ON "checkpoints" ("parent_id")'),
        ('CREATE INDEX "idx_checkpoints_created_at"\n'
         '    ON "checkpoints" ("created_at")'),
        *_fts_statements(),
        ('CREATE TABLE "checkpoint_status" (\n'
         '   "seq" INTEGER PRIMARY KEY,\n'
         '   "checkpoint_id" TEXT NOT NULL REFERENCES "checkpoints"("id"),\n'
         '   "status" TEXT NOT NULL,\n'
         '   "at" TEXT NOT NULL,\n'
         '   "note" TEXT\n'
         ')'),
        ('CREATE INDEX "idx_checkpoint_status_checkpoint_id_seq"\n'
         '    ON "checkpoint_status" ("checkpoint_id", "seq")'),
    ):
        c.execute(sql)


def _m2_vectors(db: sqlite3.Connection) -> None:
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


def _m3_graph(db: sqlite3.Connection) -> None:
    """The knowledge graph of the memory-server tools; checkpoints become session-snapshot entities."""
    from mcp_server_checkpoints.storage.sqlite.snapshots import sync_all_snapshots

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
    sync_all_snapshots(db)


def _m4_redactions(db: sqlite3.Connection) -> None:
    db.execute('ALTER TABLE "checkpoints" ADD COLUMN "redactions" INTEGER NOT NULL DEFAULT 0')


def _m5_entity_vectors(db: sqlite3.Connection) -> None:
    # Knowledge-graph entities get embeddings too (kind "entity", ref = the entity's name). Every change
    # to an entity's name, type or observations rewrites its search row (graph.reindex updates
    # search_lc), so that update, and a delete, drop the vector: the worker embeds it again.
    db.execute(
        "CREATE TRIGGER graph_entities_vectors_au AFTER UPDATE OF name, entity_type, search_lc ON graph_entities"
        " BEGIN DELETE FROM vectors WHERE kind = 'entity' AND ref IN (old.name, new.name); END"
    )
    db.execute(
        "CREATE TRIGGER graph_entities_vectors_ad AFTER DELETE ON graph_entities"
        " BEGIN DELETE FROM vectors WHERE kind = 'entity' AND ref = old.name; END"
    )
    # "Is any checkpoint without a vector?" is a comparison of two counts; this one is index-only.
    db.execute("CREATE INDEX vectors_kind_model ON vectors (kind, model)")


def _m6_passages(db: sqlite3.Connection) -> None:
    # Long checkpoints get passage vectors (kind "passage", ref "<checkpoint id>#<n>"; search.passages),
    # dropped with their checkpoint: the range below is the (kind, ref) unique index's, not a scan.
    db.execute(
        "CREATE TRIGGER checkpoints_passages_ad AFTER DELETE ON checkpoints BEGIN"
        " DELETE FROM vectors WHERE kind = 'passage' AND ref >= old.id || '#' AND ref < old.id || '$'; END"
    )
    # Checkpoints embedded before passages existed whose text is longer than their one vector reads
    # (semantic.TEXT_CHARS; counted generously): their vector is dropped, so the worker embeds them
    # again, with passages. Short ones keep theirs.
    db.execute(
        "DELETE FROM vectors WHERE kind = 'checkpoint' AND ref IN (SELECT id FROM checkpoints WHERE"
        " length(title) + length(goal) + coalesce(length(current_work), 0) + coalesce(length(next_step), 0)"
        " + coalesce(length(remaining), 0) + coalesce(length(tags), 0) + coalesce(length(summary), 0)"
        " + coalesce(length(decisions), 0) > 2000)"
    )


def _m7_graph_trigrams(db: sqlite3.Connection) -> None:
    """A trigram index over `graph_entities.search_lc`: search_nodes' substring match without a full scan.

    External content (the text stays in `search_lc` only) and `detail=none` (no positions: the
    query is an AND of the needle's trigrams and every candidate is re-checked with instr()), so the
    index costs about as much as the text itself. `case_sensitive 1`: search_lc is already folded by
    Python's full Unicode lowercasing, which the tokenizer's own folding (one code point at a time,
    ASCII and simple mappings) would not reproduce. The triggers keep it in step with every writer.
    """
    # The trigram tokenizer stops at a NUL, so search_lc stores NUL as the field separator (U+001F).
    # SQLite's replace() cannot take a NUL pattern: rewrite those rows from Python.
    rows = db.execute("SELECT id, search_lc FROM graph_entities WHERE instr(search_lc, char(0)) > 0").fetchall()
    db.executemany("UPDATE graph_entities SET search_lc = ? WHERE id = ?",
                   [(str(text).replace("\x00", "\x1f"), rid) for rid, text in rows])
    for sql in (
        "CREATE VIRTUAL TABLE graph_trigrams USING fts5(search_lc, tokenize='trigram case_sensitive 1',"
        " content='graph_entities', content_rowid='id', detail=none)",
        "CREATE TRIGGER graph_trigrams_ai AFTER INSERT ON graph_entities BEGIN"
        " INSERT INTO graph_trigrams (rowid, search_lc) VALUES (new.id, new.search_lc); END",
        "CREATE TRIGGER graph_trigrams_ad AFTER DELETE ON graph_entities BEGIN"
        " INSERT INTO graph_trigrams (graph_trigrams, rowid, search_lc) VALUES ('delete', old.id, old.search_lc); END",
        "CREATE TRIGGER graph_trigrams_au AFTER UPDATE OF search_lc ON graph_entities BEGIN"
        " INSERT INTO graph_trigrams (graph_trigrams, rowid, search_lc) VALUES ('delete', old.id, old.search_lc);"
        " INSERT INTO graph_trigrams (rowid, search_lc) VALUES (new.id, new.search_lc); END",
        "INSERT INTO graph_trigrams (graph_trigrams) VALUES ('rebuild')",
    ):
        db.execute(sql)


def _m8_redaction_kinds(db: sqlite3.Connection) -> None:
    """The redaction report per kind (`{"github-token": 2}`); rows from before it keep their total as "secret"."""
    db.execute("ALTER TABLE \"checkpoints\" ADD COLUMN \"redaction_kinds\" TEXT NOT NULL DEFAULT '{}'")
    db.execute("UPDATE checkpoints SET redaction_kinds = json_object('secret', redactions) WHERE redactions > 0")


def _m9_transcript_text(db: sqlite3.Connection) -> None:
    """The conversation text of each checkpoint's stored transcript, full-text indexed.

    The payload itself stays compressed (and differential): its text is kept here once, reduced to
    what was said (search.transcript_text), so bm25 and the passages reach a detail mid-session.
    Keyed by checkpoint id, not rowid: VACUUM may renumber a table's implicit rowids. Checkpoints
    saved before this are filled by `ckpt reindex` (decoding every payload is too slow for an open).
    """
    for sql in (
        "CREATE TABLE checkpoint_transcripts (rowid INTEGER PRIMARY KEY, checkpoint_id TEXT NOT NULL UNIQUE,"
        " body TEXT NOT NULL)",
        "CREATE VIRTUAL TABLE transcripts_fts USING fts5(body, tokenize='porter unicode61 remove_diacritics 2',"
        " content='checkpoint_transcripts', content_rowid='rowid')",
        "CREATE TRIGGER checkpoint_transcripts_ai AFTER INSERT ON checkpoint_transcripts BEGIN"
        " INSERT INTO transcripts_fts (rowid, body) VALUES (new.rowid, new.body); END",
        "CREATE TRIGGER checkpoint_transcripts_ad AFTER DELETE ON checkpoint_transcripts BEGIN"
        " INSERT INTO transcripts_fts (transcripts_fts, rowid, body) VALUES ('delete', old.rowid, old.body); END",
        "CREATE TRIGGER checkpoint_transcripts_au AFTER UPDATE ON checkpoint_transcripts BEGIN"
        " INSERT INTO transcripts_fts (transcripts_fts, rowid, body) VALUES ('delete', old.rowid, old.body);"
        " INSERT INTO transcripts_fts (rowid, body) VALUES (new.rowid, new.body); END",
        # Whoever deletes a checkpoint (delete, import --replace) takes its transcript text with it.
        "CREATE TRIGGER checkpoints_transcript_ad AFTER DELETE ON checkpoints BEGIN"
        " DELETE FROM checkpoint_transcripts WHERE checkpoint_id = old.id; END",
    ):
        db.execute(sql)


MIGRATIONS = [
    Migration(1, "checkpoints, status history, FTS5", _m1_checkpoints),
    Migration(2, "embedding vectors", _m2_vectors),
    Migration(3, "knowledge graph (memory-server tools), checkpoints as session-snapshot entities", _m3_graph),
    Migration(4, "count of redacted secrets per checkpoint", _m4_redactions),
    Migration(5, "knowledge-graph entity vectors, dropped when the entity changes", _m5_entity_vectors),
    Migration(6, "passage vectors of long checkpoints, dropped with their checkpoint", _m6_passages),
    Migration(7, "trigram index for search_nodes' substring match", _m7_graph_trigrams),
    Migration(8, "redaction report per kind", _m8_redaction_kinds),
    Migration(9, "searchable conversation text of stored transcripts", _m9_transcript_text),
]
