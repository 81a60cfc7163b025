"""The knowledge graph's rows in SQLite: what the graph store, the memory-file import and the
checkpoint snapshots (storage/snapshots.py) all write. Plain SQL, no models: a session-start hook
that marks a checkpoint resumed rewrites its snapshot entity without importing pydantic.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence


def fold(text: str) -> str:
    """Case folding for substring search: `toLowerCase()` in the official server, `str.lower()` here."""
    return text.lower()


# Joins an entity's folded name, type and observations into one searchable string; a query that
# holds it takes the slow exact path (a match must not span two fields).
SEP = "\x1f"


def reindex(c: sqlite3.Connection, entity_ids: Iterable[int]) -> None:
    """Rewrite the search rows of these entities: the folded haystack and the full-text row (deleted ones lose theirs)."""
    ids = json.dumps(sorted(set(entity_ids)))
    c.execute("DELETE FROM graph_fts WHERE rowid IN (SELECT value FROM json_each(?))", (ids,))
    rows = c.execute("SELECT id, name, entity_type FROM graph_entities WHERE id IN (SELECT value FROM json_each(?))",
                     (ids,)).fetchall()
    obs: dict[int, list[str]] = {int(r[0]): [] for r in rows}
    for eid, content in c.execute(
            "SELECT entity_id, content FROM graph_observations WHERE entity_id IN (SELECT value FROM json_each(?))"
            " ORDER BY entity_id, derived DESC, id", (ids,)):
        obs[int(eid)].append(content)
    c.executemany("UPDATE graph_entities SET search_lc = ? WHERE id = ?",
                  [(SEP.join(fold(x) for x in (r[1], r[2], *obs[int(r[0])])), r[0]) for r in rows])
    c.executemany("INSERT INTO graph_fts (rowid, name, entity_type, observations) VALUES (?, ?, ?, ?)",
                  [(r[0], r[1], r[2], "\n".join(obs[int(r[0])])) for r in rows])


def insert_entity(c: sqlite3.Connection, name: str, entity_type: str, checkpoint_id: str | None = None) -> int:
    cur = c.execute("INSERT INTO graph_entities (name, entity_type, checkpoint_id) VALUES (?, ?, ?)",
                    (name, entity_type, checkpoint_id))
    assert cur.lastrowid is not None
    return cur.lastrowid


def insert_observations(c: sqlite3.Connection, entity_id: int, contents: Sequence[str], *, derived: bool = False) -> None:
    c.executemany(
        "INSERT INTO graph_observations (entity_id, content, derived) VALUES (?, ?, ?)",
        [(entity_id, o, int(derived)) for o in contents],
    )


def insert_relation(c: sqlite3.Connection, key: tuple[str, str, str]) -> bool:
    """Insert (from, to, relationType) unless the triple exists; True when it was new."""
    cur = c.execute("INSERT OR IGNORE INTO graph_relations (from_name, to_name, relation_type) VALUES (?, ?, ?)", key)
    return cur.rowcount > 0
