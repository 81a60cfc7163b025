"""The knowledge graph's rows in SQLite: what the graph store, the memory-file import and the
checkpoint snapshots (storage/snapshots.py) all write. Plain SQL, no models: a session-start hook
that marks a checkpoint resumed rewrites its snapshot entity without importing pydantic.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence


def fold(text: str) -> str:
    """Case folding for substring search: `toLowerCase()` in the official server, `str.lower()` here.

    Both apply the full Unicode lowercase mapping, special cases included: `İ` becomes `i̇` (two code
    points) and a word-final `Σ` becomes `ς`, in the haystack and in the query alike.
    """
    return text.lower()


# Joins an entity's folded name, type and observations into one searchable string (`search_lc`); a
# query that holds it takes the exact field-by-field path (a match must not span two fields). NUL is
# stored as SEP too: the trigram tokenizer stops reading a text at its first NUL, so a NUL kept in
# `search_lc` would hide the rest of the entity from the index.
SEP = "\x1f"
NUL = "\x00"
# A trigram query names at most this many trigrams, spread over the query: each one narrows the
# candidates, and a long pasted query must not become a thousand-term AND.
MAX_TRIGRAMS = 8


def haystack(name: str, entity_type: str, observations: Iterable[str]) -> str:
    """The folded text one entity's `search_lc` holds; `graph_trigrams` indexes it."""
    return SEP.join(fold(x) for x in (name, entity_type, *observations)).replace(NUL, SEP)


def search_key(query: str) -> tuple[str, bool]:
    """The folded query as `search_lc` spells it, and whether `instr(search_lc, key)` answers it exactly.

    A query holding SEP or NUL can match across the joins in `search_lc`, so its candidates are
    checked field by field instead.
    """
    q = fold(query)
    return q.replace(NUL, SEP), SEP not in q and NUL not in q


def glob_substring(key: str) -> str:
    """A GLOB pattern matching any text that contains `key` (GLOB's `*`, `?` and `[` taken literally)."""
    return "*" + "".join(f"[{ch}]" if ch in "*?[" else ch for ch in key) + "*"


def trigram_match(key: str) -> str | None:
    """An FTS5 MATCH over `graph_trigrams` that every entity containing `key` satisfies; None under 3 characters.

    The AND of trigrams that cover every character of the key (not a phrase: the index keeps no
    positions) is a candidate filter; the caller re-checks each candidate, since the trigrams can
    occur apart. Non-overlapping trigrams read fewer posting lists than all of them (a query made of
    common words would read each common trigram's list for nothing) and still pin every character.
    """
    if len(key) < 3:
        return None
    starts = [*range(0, len(key) - 2, 3), len(key) - 3]
    grams = list(dict.fromkeys(key[i:i + 3] for i in starts))
    if len(grams) > MAX_TRIGRAMS:
        step = (len(grams) - 1) / (MAX_TRIGRAMS - 1)
        grams = [grams[round(i * step)] for i in range(MAX_TRIGRAMS)]
    return " AND ".join('"' + g.replace('"', '""') + '"' for g in grams)


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
    # The trigger of migration 7 follows this update into graph_trigrams.
    c.executemany("UPDATE graph_entities SET search_lc = ? WHERE id = ?",
                  [(haystack(r[1], r[2], obs[int(r[0])]), r[0]) for r in rows])
    c.executemany("INSERT INTO graph_fts (rowid, name, entity_type, observations) VALUES (?, ?, ?, ?)",
                  [(r[0], r[1], r[2], "\n".join(obs[int(r[0])])) for r in rows])


def insert_indexed_entities(c: sqlite3.Connection, entities: Sequence[tuple[str, str, Sequence[str]]]) -> list[int]:
    """Insert new entities (name, type, observations) with their search rows, as `reindex` would write them.

    The folded haystack goes in with the row (the insert trigger indexes its trigrams), and the
    full-text row is written directly: no second pass over rows this call has just written. Like
    the update `reindex` makes, it clears any vector still filed under these names.
    """
    ids: list[int] = []
    obs_rows: list[tuple[int, str, int]] = []
    for name, entity_type, observations in entities:
        cur = c.execute("INSERT INTO graph_entities (name, entity_type, search_lc) VALUES (?, ?, ?)",
                        (name, entity_type, haystack(name, entity_type, observations)))
        assert cur.lastrowid is not None
        ids.append(cur.lastrowid)
        obs_rows.extend((cur.lastrowid, o, 0) for o in observations)
    if not ids:
        return ids
    c.executemany("INSERT INTO graph_observations (entity_id, content, derived) VALUES (?, ?, ?)", obs_rows)
    # An id can be a deleted entity's, reused: clear whatever full-text row it left, as reindex does.
    c.execute("DELETE FROM graph_fts WHERE rowid IN (SELECT value FROM json_each(?))", (json.dumps(ids),))
    c.executemany("INSERT INTO graph_fts (rowid, name, entity_type, observations) VALUES (?, ?, ?, ?)",
                  [(eid, e[0], e[1], "\n".join(e[2])) for eid, e in zip(ids, entities, strict=True)])
    # One name at a time: json_each() would cut a name at a NUL.
    c.executemany("DELETE FROM vectors WHERE kind = 'entity' AND ref = ?", [(e[0],) for e in entities])
    return ids


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
