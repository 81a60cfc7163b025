"""Checkpoints as knowledge-graph entities, so agents that only know the memory server's tools find them.

Every checkpoint is an entity named by its id, of type `session-snapshot`, whose observations
carry its fields (`Status: paused`, `Progress: 60%`, `GOAL: …`, `CURRENT WORK: …`, `PENDING: …`,
`RESUME INSTRUCTIONS: …`, `Timestamp: …`); a checkpoint with a parent `continues` it (a relation).

These projected observations are marked `derived` and rewritten whenever the checkpoint changes
(save, status, import), inside the same transaction. Observations agents add (the recovery
agent adds `Resumed at: …`) are kept across rewrites and listed after the projected ones.
"""

from __future__ import annotations

import json
import sqlite3

from mcp_server_checkpoints.storage.sqlite.graph_rows import (
    insert_entity,
    insert_observations,
    insert_relation,
    reindex,
)

SNAPSHOT_TYPE = "session-snapshot"
CONTINUES = "continues"
# A compaction summary can be 200 kB: the graph gets its opening, the checkpoint keeps it all.
SUMMARY_CHARS = 1_000


def _items(raw: str | None) -> list[object]:
    value = json.loads(raw or "[]")
    return value if isinstance(value, list) else []


def snapshot_observations(row: sqlite3.Row, status_note: str | None = None) -> list[str]:
    """The observations of a checkpoint's entity, in a fixed order; empty fields are left out."""
    obs: list[str] = [f"Title: {row['title']}", f"Status: {row['status']}"]
    if status_note:
        obs.append(f"Status note: {status_note}")
    if row["progress"] is not None:
        obs.append(f"Progress: {row['progress']}%")
    for label, key in (("Project", "project"), ("Phase", "phase")):
        if row[key]:
            obs.append(f"{label}: {row[key]}")
    obs.append(f"Timestamp: {row['updated_at']}")
    obs.append(f"Created: {row['created_at']}")
    obs.append(f"GOAL: {row['goal']}")
    if row["current_work"]:
        obs.append(f"CURRENT WORK: {row['current_work']}")
    completed = [str(x) for x in _items(row["completed"])]
    if completed:
        obs.append("COMPLETED: " + "; ".join(completed))
    files = [f"{f['path']} ({f['change']})" if f.get("change") else str(f["path"])
             for f in _items(row["files"]) if isinstance(f, dict)]
    if files:
        obs.append("FILES: " + "; ".join(files))
    decisions = [f"{d['decision']} ({d['reasoning']})" if d.get("reasoning") else str(d["decision"])
                 for d in _items(row["decisions"]) if isinstance(d, dict)]
    if decisions:
        obs.append("DECISIONS: " + "; ".join(decisions))
    pending = ([f"next: {row['next_step']}"] if row["next_step"] else []) + [str(x) for x in _items(row["remaining"])]
    if pending:
        obs.append("PENDING: " + "; ".join(pending))
    for label, key in (("BLOCKERS", "blockers"), ("USER INPUT NEEDED", "user_input_needed"),
                       ("PREFERENCES", "preferences"), ("DISCOVERIES", "discoveries")):
        values = [str(x) for x in _items(row[key])]
        if values:
            obs.append(f"{label}: " + "; ".join(values))
    approaches = [f"{a['approach']}: {a['outcome']}" + (f" ({a['note']})" if a.get("note") else "")
                  for a in _items(row["approaches"]) if isinstance(a, dict)]
    if approaches:
        obs.append("APPROACHES: " + "; ".join(approaches))
    if row["resume_instructions"]:
        obs.append(f"RESUME INSTRUCTIONS: {row['resume_instructions']}")
    tags = [str(x) for x in _items(row["tags"])]
    if tags:
        obs.append("TAGS: " + ", ".join(tags))
    if row["summary"]:
        summary = row["summary"]
        obs.append("SUMMARY: " + (summary if len(summary) <= SUMMARY_CHARS else summary[:SUMMARY_CHARS] + " …"))
    if row["session_id"]:
        obs.append(f"Session: {row['session_id']}")
    return obs


def sync_snapshot(c: sqlite3.Connection, checkpoint_id: str) -> None:
    """Create or rewrite a checkpoint's entity and its `continues` relation, in the caller's transaction."""

    cur = c.cursor()
    cur.row_factory = c.row_factory  # rows by column name whatever the connection's driver (sqlite3 or SQLCipher)
    row = cur.execute("SELECT * FROM checkpoints WHERE id = ?", (checkpoint_id,)).fetchone()
    if row is None:
        return
    note = cur.execute("SELECT note FROM checkpoint_status WHERE checkpoint_id = ? ORDER BY seq DESC LIMIT 1",
                       (checkpoint_id,)).fetchone()
    observations = snapshot_observations(row, note["note"] if note is not None else None)
    found = cur.execute("SELECT id FROM graph_entities WHERE name = ?", (checkpoint_id,)).fetchone()
    if found is None:
        eid = insert_entity(c, checkpoint_id, SNAPSHOT_TYPE, checkpoint_id)
    else:
        eid = int(found["id"])
        c.execute("UPDATE graph_entities SET entity_type = ?, checkpoint_id = ? WHERE id = ?",
                  (SNAPSHOT_TYPE, checkpoint_id, eid))
        c.execute("DELETE FROM graph_observations WHERE entity_id = ? AND (derived = 1"
                  " OR content IN (SELECT value FROM json_each(?)))", (eid, json.dumps(observations)))
    insert_observations(c, eid, observations, derived=True)
    if row["parent_id"]:
        insert_relation(c, (checkpoint_id, row["parent_id"], CONTINUES))
    reindex(c, [eid])


def sync_all_snapshots(c: sqlite3.Connection) -> int:
    """Materialise every checkpoint (parents first); used when the graph tables are created."""
    ids = [r[0] for r in c.execute("SELECT id FROM checkpoints ORDER BY created_at, rowid")]
    for cid in ids:
        sync_snapshot(c, cid)
    return len(ids)
