-- The schema of a new database at version 4, as the sqlite-utils based migrations wrote it.
-- New databases must match it exactly: old and new files are then one format.

-- table schema_migrations
CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);

-- table checkpoints
CREATE TABLE "checkpoints" (
   "id" TEXT PRIMARY KEY,
   "title" TEXT NOT NULL,
   "goal" TEXT NOT NULL,
   "project" TEXT,
   "status" TEXT NOT NULL,
   "progress" INTEGER,
   "phase" TEXT,
   "current_work" TEXT,
   "completed" TEXT DEFAULT '[]',
   "files" TEXT DEFAULT '[]',
   "decisions" TEXT DEFAULT '[]',
   "next_step" TEXT,
   "remaining" TEXT DEFAULT '[]',
   "blockers" TEXT DEFAULT '[]',
   "user_input_needed" TEXT DEFAULT '[]',
   "approaches" TEXT DEFAULT '[]',
   "preferences" TEXT DEFAULT '[]',
   "discoveries" TEXT DEFAULT '[]',
   "resume_instructions" TEXT,
   "summary" TEXT,
   "tags" TEXT DEFAULT '[]',
   "parent_id" TEXT REFERENCES "checkpoints"("id"),
   "lineage_id" TEXT NOT NULL,
   "session_id" TEXT,
   "agent_id" TEXT,
   "created_at" TEXT NOT NULL,
   "updated_at" TEXT NOT NULL,
   "payload_codec" TEXT,
   "payload_blob" BLOB,
   "payload_sha256" TEXT,
   "payload_raw_bytes" INTEGER,
   "payload_depth" INTEGER DEFAULT 0
, "redactions" INTEGER NOT NULL DEFAULT 0);

-- index idx_checkpoints_project_created_at
CREATE INDEX "idx_checkpoints_project_created_at"
    ON "checkpoints" ("project", "created_at");

-- index idx_checkpoints_status_created_at
CREATE INDEX "idx_checkpoints_status_created_at"
    ON "checkpoints" ("status", "created_at");

-- index idx_checkpoints_lineage_id_created_at
CREATE INDEX "idx_checkpoints_lineage_id_created_at"
    ON "checkpoints" ("lineage_id", "created_at");

-- index idx_checkpoints_session_id_created_at
CREATE INDEX "idx_checkpoints_session_id_created_at"
    ON "checkpoints" ("session_id", "created_at");

-- index idx_checkpoints_parent_id
CREATE INDEX "idx_checkpoints_parent_id"
    ON "checkpoints" ("parent_id");

-- index idx_checkpoints_created_at
CREATE INDEX "idx_checkpoints_created_at"
    ON "checkpoints" ("created_at");

-- table checkpoints_fts
CREATE VIRTUAL TABLE "checkpoints_fts" USING FTS5 (
    "title", "goal", "summary", "current_work", "next_step", "remaining", "decisions", "files", "tags",
    tokenize='porter unicode61 remove_diacritics 2',
    content="checkpoints"
);

-- table checkpoints_fts_data
CREATE TABLE 'checkpoints_fts_data'(id INTEGER PRIMARY KEY, block BLOB);

-- table checkpoints_fts_idx
CREATE TABLE 'checkpoints_fts_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;

-- table checkpoints_fts_docsize
CREATE TABLE 'checkpoints_fts_docsize'(id INTEGER PRIMARY KEY, sz BLOB);

-- table checkpoints_fts_config
CREATE TABLE 'checkpoints_fts_config'(k PRIMARY KEY, v) WITHOUT ROWID;

-- trigger checkpoints_ai
CREATE TRIGGER "checkpoints_ai" AFTER INSERT ON "checkpoints" BEGIN
  INSERT INTO "checkpoints_fts" (rowid, "title", "goal", "summary", "current_work", "next_step", "remaining", "decisions", "files", "tags") VALUES (new.rowid, new."title", new."goal", new."summary", new."current_work", new."next_step", new."remaining", new."decisions", new."files", new."tags");
END;

-- trigger checkpoints_ad
CREATE TRIGGER "checkpoints_ad" AFTER DELETE ON "checkpoints" BEGIN
  INSERT INTO "checkpoints_fts" ("checkpoints_fts", rowid, "title", "goal", "summary", "current_work", "next_step", "remaining", "decisions", "files", "tags") VALUES('delete', old.rowid, old."title", old."goal", old."summary", old."current_work", old."next_step", old."remaining", old."decisions", old."files", old."tags");
END;

-- trigger checkpoints_au
CREATE TRIGGER "checkpoints_au" AFTER UPDATE ON "checkpoints" BEGIN
  INSERT INTO "checkpoints_fts" ("checkpoints_fts", rowid, "title", "goal", "summary", "current_work", "next_step", "remaining", "decisions", "files", "tags") VALUES('delete', old.rowid, old."title", old."goal", old."summary", old."current_work", old."next_step", old."remaining", old."decisions", old."files", old."tags");
  INSERT INTO "checkpoints_fts" (rowid, "title", "goal", "summary", "current_work", "next_step", "remaining", "decisions", "files", "tags") VALUES (new.rowid, new."title", new."goal", new."summary", new."current_work", new."next_step", new."remaining", new."decisions", new."files", new."tags");
END;

-- table checkpoint_status
CREATE TABLE "checkpoint_status" (
   "seq" INTEGER PRIMARY KEY,
   "checkpoint_id" TEXT NOT NULL REFERENCES "checkpoints"("id"),
   "status" TEXT NOT NULL,
   "at" TEXT NOT NULL,
   "note" TEXT
);

-- index idx_checkpoint_status_checkpoint_id_seq
CREATE INDEX "idx_checkpoint_status_checkpoint_id_seq"
    ON "checkpoint_status" ("checkpoint_id", "seq");

-- table vectors
CREATE TABLE vectors ( seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, ref TEXT NOT NULL, model TEXT NOT NULL, dim INTEGER NOT NULL, vector BLOB NOT NULL, UNIQUE (kind, ref));

-- index vectors_model_seq
CREATE INDEX vectors_model_seq ON vectors (model, seq);

-- trigger checkpoints_vectors_ad
CREATE TRIGGER checkpoints_vectors_ad AFTER DELETE ON checkpoints BEGIN DELETE FROM vectors WHERE kind = 'checkpoint' AND ref = old.id; END;

-- table graph_entities
CREATE TABLE graph_entities (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, entity_type TEXT NOT NULL, search_lc TEXT NOT NULL DEFAULT '', checkpoint_id TEXT REFERENCES checkpoints(id) ON DELETE SET NULL);

-- index graph_entities_type
CREATE INDEX graph_entities_type ON graph_entities (entity_type, id);

-- index graph_entities_checkpoint
CREATE INDEX graph_entities_checkpoint ON graph_entities (checkpoint_id);

-- table graph_observations
CREATE TABLE graph_observations (id INTEGER PRIMARY KEY, entity_id INTEGER NOT NULL REFERENCES graph_entities(id) ON DELETE CASCADE, content TEXT NOT NULL, derived INTEGER NOT NULL DEFAULT 0);

-- index graph_observations_entity
CREATE INDEX graph_observations_entity ON graph_observations (entity_id, derived DESC, id);

-- table graph_relations
CREATE TABLE graph_relations (id INTEGER PRIMARY KEY, from_name TEXT NOT NULL, to_name TEXT NOT NULL, relation_type TEXT NOT NULL, UNIQUE (from_name, to_name, relation_type));

-- index graph_relations_to
CREATE INDEX graph_relations_to ON graph_relations (to_name);

-- table graph_fts
CREATE VIRTUAL TABLE graph_fts USING fts5(name, entity_type, observations, tokenize='porter unicode61 remove_diacritics 2');

-- table graph_fts_data
CREATE TABLE 'graph_fts_data'(id INTEGER PRIMARY KEY, block BLOB);

-- table graph_fts_idx
CREATE TABLE 'graph_fts_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;

-- table graph_fts_content
CREATE TABLE 'graph_fts_content'(id INTEGER PRIMARY KEY, c0, c1, c2);

-- table graph_fts_docsize
CREATE TABLE 'graph_fts_docsize'(id INTEGER PRIMARY KEY, sz BLOB);

-- table graph_fts_config
CREATE TABLE 'graph_fts_config'(k PRIMARY KEY, v) WITHOUT ROWID;
