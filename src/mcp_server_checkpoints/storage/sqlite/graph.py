"""The knowledge graph (entities, observations, relations) in SQLite, with the official memory server's semantics.

Semantics copied from `@modelcontextprotocol/server-memory` (checked by tests/test_memory_differential.py):
entities and relations keep insertion order; an existing entity name is skipped; relations are
deduplicated on the (from, to, relationType) triple and their endpoints are not checked; adding
observations skips those already on the entity; deleting an entity deletes every relation touching
it; reads return the relations with at least one endpoint among the returned entities.

What this module adds: every call is one transaction (`BEGIN IMMEDIATE`), so several server
processes can share the file without losing writes; search falls back to ranked matches when the
official substring match finds nothing; reads can be paged.

Checkpoints appear here as `session-snapshot` entities: storage/snapshots.py keeps them in sync.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from mcp_server_checkpoints.domain.statuses import STATUSES
from mcp_server_checkpoints.domain.text import check_strings
from mcp_server_checkpoints.domain.time import iso, utcnow
from mcp_server_checkpoints.errors import NotFoundError
from mcp_server_checkpoints.schemas.graph import (
    AddedObservations,
    Entity,
    EntityWire,
    GraphWire,
    KnowledgeGraph,
    ObservationAddition,
    ObservationDeletion,
    Relation,
    RelationWire,
)
from mcp_server_checkpoints.search.fusion import fuse_keys
from mcp_server_checkpoints.search.lexical import fts_query
from mcp_server_checkpoints.storage.redact import Redactor
from mcp_server_checkpoints.storage.sqlite.db import Database
from mcp_server_checkpoints.storage.sqlite.graph_rows import (
    NUL,
    fold,
    glob_substring,
    insert_indexed_entities,
    insert_observations,
    insert_relation,
    reindex,
    search_key,
    trigram_match,
)
from mcp_server_checkpoints.storage.sqlite.status_rows import write_status

# bm25() weights for graph_fts columns (name, entity_type, observations): a name says what the entity is.
GRAPH_BM25_WEIGHTS = (4.0, 1.0, 1.0)
FALLBACK_LIMIT = 10
# Ranked fallback keeps hits scoring at least this share of the best one: a word every snapshot
# shares ("checkpoint") must not drag the whole graph in behind the one real match.
FALLBACK_MIN_RATIO = 0.35

# A status observation added to a session-snapshot entity changes the checkpoint's status.
STATUS_OBSERVATION = re.compile(r"^Status:\s*(" + "|".join(re.escape(s) for s in STATUSES) + r")\s*$")

# (connection, query, k) -> [(entity name, similarity)] best first: the semantic half of the fallback ranking.
SemanticRanker = Callable[[sqlite3.Connection, str, int], list[tuple[str, float]]]


def _listed(c: sqlite3.Connection, values: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """A subquery yielding `values`, and its parameters: json_each() unless a value holds NUL.

    json_each() ends a string at its first NUL (an entity named `a\\x00b` could not be opened or
    deleted), so such lists go through a temporary table, private to this connection (one per thread).
    """
    if not any(NUL in v for v in values):
        return "(SELECT value FROM json_each(?))", (json.dumps(list(values)),)
    c.execute("CREATE TEMP TABLE IF NOT EXISTS graph_values (value TEXT)")
    c.execute("DELETE FROM temp.graph_values")
    c.executemany("INSERT INTO temp.graph_values (value) VALUES (?)", [(v,) for v in values])
    return "(SELECT value FROM temp.graph_values)", ()


def _tuples(c: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
    """`sql`'s rows as plain tuples: the connection's sqlite3.Row costs a tenth more on a large read."""
    cur = c.cursor()
    cur.row_factory = None
    return cur.execute(sql, tuple(params))


def _model(graph: GraphWire) -> KnowledgeGraph:
    """The model form of a wire graph (model_construct: the rows were validated on the way in)."""
    return KnowledgeGraph.model_construct(
        entities=[Entity.model_construct(**e) for e in graph["entities"]],
        relations=[Relation.model_construct(from_=r["from"], to=r["to"], relationType=r["relationType"])
                   for r in graph["relations"]])


class EntityNotFoundError(NotFoundError):
    """add_observations named an entity that does not exist (the official server's error)."""


class GraphStore:
    """The nine memory-server operations, plus paging and the ranked fallback search (the file format: memory_file.py)."""

    def __init__(self, db: Database, *, semantic: SemanticRanker | None = None,
                 redactor: Redactor | None = None, on_change: Callable[[], None] | None = None) -> None:
        self.db = db
        self.semantic = semantic
        self.on_change = on_change  # called after an entity's text changed (the embedder re-embeds it)
        # Every string an operation is given passes the redaction gate first, identifiers included: a
        # secret never reaches the file, and a name or observation holding one is looked up, matched
        # and deleted by the same redacted text it was stored as (redaction is deterministic).
        self.redactor = redactor or Redactor.build()

    def _changed(self, entity_ids: Sequence[int]) -> None:
        if entity_ids and self.on_change is not None:
            self.on_change()

    def redacted(self, texts: Sequence[str]) -> list[str]:
        return [self.redactor.redact(o)[0] for o in texts]

    def redacted_entity(self, e: Entity) -> Entity:
        name, kind = self.redacted([e.name, e.entityType])
        return e.model_copy(update={"name": name, "entityType": kind, "observations": self.redacted(e.observations)})

    def redacted_relation(self, r: Relation) -> Relation:
        return Relation.of(*self.redacted(list(r.key())))

    # -- writes --------------------------------------------------------------------------
    def create_entities(self, entities: Sequence[Entity]) -> list[Entity]:
        """Create the entities whose name is new; returns those created (as stored), in order."""
        for e in entities:
            check_strings([e.name, e.entityType, *e.observations], "an entity")
        entities = [self.redacted_entity(e) for e in entities]
        created: list[Entity] = []
        with self.db.write() as c:
            listed, params = _listed(c, [e.name for e in entities])
            taken = {r[0] for r in c.execute(f"SELECT name FROM graph_entities WHERE name IN {listed}", params)}
            for e in entities:
                if e.name in taken:
                    continue  # also a repeat within this call: names are unique
                taken.add(e.name)
                created.append(e)
            touched = insert_indexed_entities(c, [(e.name, e.entityType, e.observations) for e in created])
        self._changed(touched)
        return created

    def create_relations(self, relations: Sequence[Relation]) -> list[Relation]:
        """Create the relations whose (from, to, relationType) triple is new; endpoints are not checked."""
        for r in relations:
            check_strings(r.key(), "a relation")
        relations = [self.redacted_relation(r) for r in relations]
        with self.db.write() as c:
            return [r for r in relations if insert_relation(c, r.key())]

    def add_observations(self, additions: Sequence[ObservationAddition]) -> list[AddedObservations]:
        """Append observations not already on the entity; a missing entity fails the whole call."""
        for a in additions:
            check_strings([a.entityName, *a.contents], "an observation")
        additions = [a.model_copy(update={"entityName": self.redacted([a.entityName])[0],
                                          "contents": self.redacted(a.contents)}) for a in additions]
        results: list[AddedObservations] = []
        touched: list[int] = []
        with self.db.write() as c:
            for a in additions:
                row = c.execute("SELECT id, checkpoint_id FROM graph_entities WHERE name = ?", (a.entityName,)).fetchone()
                if row is None:
                    # The official server's exact text; the name is the caller's own entity name.
                    raise EntityNotFoundError(f"Entity with name {a.entityName} not found")
                eid, checkpoint_id = int(row[0]), row[1]
                existing = {r[0] for r in c.execute("SELECT content FROM graph_observations WHERE entity_id = ?", (eid,))}
                # Like the official server: skip what the entity has, keep repeats within the call.
                new = [o for o in a.contents if o not in existing]
                insert_observations(c, eid, new)
                if checkpoint_id is not None:
                    self._apply_snapshot_status(c, checkpoint_id, new)
                touched.append(eid)
                results.append(AddedObservations(entityName=a.entityName, addedObservations=new))
            reindex(c, touched)
        self._changed(touched)
        return results

    @staticmethod
    def _apply_snapshot_status(c: sqlite3.Connection, checkpoint_id: str, added: Sequence[str]) -> None:
        """`Status: resumed` added to a session-snapshot marks the checkpoint resumed, as mark_status would."""

        for o in added:
            m = STATUS_OBSERVATION.match(o)
            if m is None:
                continue
            status, ts = m.group(1), iso(utcnow())
            write_status(c, checkpoint_id, status, ts, "via add_observations")

    def delete_entities(self, names: Sequence[str]) -> None:
        """Delete the entities and every relation touching them; unknown names are ignored.

        A session-snapshot entity leaves the graph but its checkpoint stays (the checkpoint tools own
        it); the entity comes back when the checkpoint next changes.
        """
        check_strings(names, "an entity name")
        with self.db.write() as c:
            wanted, params = _listed(c, list(dict.fromkeys(self.redacted(names))))
            ids = [r[0] for r in c.execute(f"SELECT id FROM graph_entities WHERE name IN {wanted}", params)]
            c.execute(f"DELETE FROM graph_entities WHERE name IN {wanted}", params)
            c.execute(f"DELETE FROM graph_relations WHERE from_name IN {wanted} OR to_name IN {wanted}", params + params)
            reindex(c, ids)

    def delete_observations(self, deletions: Sequence[ObservationDeletion]) -> None:
        """Remove matching observations; missing entities and observations are ignored.

        Observations projected from a checkpoint (its fields) stay: they are rewritten from the
        checkpoint whenever it changes. Observations added by agents can be deleted.
        """
        for d in deletions:
            check_strings([d.entityName, *d.observations], "an observation")
        deletions = [d.model_copy(update={"entityName": self.redacted([d.entityName])[0],
                                          "observations": self.redacted(d.observations)}) for d in deletions]
        touched: list[int] = []
        with self.db.write() as c:
            for d in deletions:
                row = c.execute("SELECT id FROM graph_entities WHERE name = ?", (d.entityName,)).fetchone()
                if row is None:
                    continue
                listed, params = _listed(c, d.observations)
                c.execute(f"DELETE FROM graph_observations WHERE entity_id = ? AND derived = 0 AND content IN {listed}",
                          (row[0], *params))
                touched.append(int(row[0]))
            reindex(c, touched)
        self._changed(touched)

    def delete_relations(self, relations: Sequence[Relation]) -> None:
        for r in relations:
            check_strings(r.key(), "a relation")
        relations = [self.redacted_relation(r) for r in relations]
        with self.db.write() as c:
            c.executemany("DELETE FROM graph_relations WHERE from_name = ? AND to_name = ? AND relation_type = ?",
                          [r.key() for r in relations])

    # -- reads ---------------------------------------------------------------------------
    # Each read has a `*_wire` form: the graph as plain dicts in the official wire shape (entities
    # `{name, entityType, observations}`, relations `{from, to, relationType}`, keys in that order), built
    # straight from the rows. The tool layer sends it as is; the model form wraps the same dicts.
    def read_graph(self, *, entity_types: Sequence[str] | None = None, limit: int | None = None,
                   offset: int = 0) -> KnowledgeGraph:
        """The whole graph (the official behaviour), or one page of it (see `read_graph_wire`)."""
        return _model(self.read_graph_wire(entity_types=entity_types, limit=limit, offset=offset))

    def read_graph_wire(self, *, entity_types: Sequence[str] | None = None, limit: int | None = None,
                        offset: int = 0) -> GraphWire:
        """The whole graph (the official behaviour), or one page of it.

        With no argument: every entity and every relation. With entity types, limit or offset: those
        entities, in insertion order, and the relations with at least one endpoint among them.
        """
        if entity_types is None and limit is None and offset == 0:
            with self.db.read() as c:
                entities = self._entities(c, "SELECT id, name, entity_type FROM graph_entities ORDER BY id", ())
                relations = self._relations(c, "SELECT from_name, to_name, relation_type FROM graph_relations ORDER BY id", ())
            return {"entities": entities, "relations": relations}
        if entity_types is not None:
            check_strings(entity_types, "entityTypes")
        with self.db.read() as c:
            where, params = ("1", ()) if entity_types is None else _listed(c, entity_types)
            if entity_types is not None:
                where = f"entity_type IN {where}"
            sql = f"SELECT id, name, entity_type FROM graph_entities WHERE {where} ORDER BY id LIMIT ? OFFSET ?"
            entities = self._entities(c, sql, (*params, -1 if limit is None else limit, offset))
            return {"entities": entities, "relations": self._relations_touching(c, entities)}

    def search_nodes(self, query: str) -> KnowledgeGraph:
        """The official case-insensitive substring match; when it finds nothing, the best ranked matches."""
        return _model(self.search_nodes_wire(query))

    def search_nodes_wire(self, query: str) -> GraphWire:
        """`search_nodes` as wire dicts."""
        check_strings([query], "query")
        with self.db.read() as c:
            entities = self._substring(c, query)
            if not entities:
                entities = self._ranked(c, query)
            return {"entities": entities, "relations": self._relations_touching(c, entities)}

    def _substring(self, c: sqlite3.Connection, query: str) -> list[EntityWire]:
        """Entities whose name, type or an observation contains the query, case folded, in insertion order.

        The trigram index narrows the rows to those holding every trigram of the query; instr() on
        search_lc then decides. Queries under three characters have no trigram and scan search_lc.
        """
        key, exact = search_key(query)
        match = trigram_match(key)
        rows = "graph_entities" if match is None else \
            "graph_entities WHERE id IN (SELECT rowid FROM graph_trigrams WHERE graph_trigrams MATCH ?)"
        params: tuple[str, ...] = () if match is None else (match,)
        if exact and match is None:
            # A scan of every row: GLOB (case-sensitive, on code points) runs twice as fast as instr(),
            # which counts characters to report a position nobody reads.
            return self._entities(c, "SELECT id, name, entity_type FROM graph_entities WHERE search_lc GLOB ? ORDER BY id",
                                  (glob_substring(key),))
        if exact:
            return self._entities(c, f"SELECT id, name, entity_type FROM {rows} AND instr(search_lc, ?) > 0 ORDER BY id",
                                  (*params, key))
        # The query holds the separator (or NUL, stored as it): compare field by field.
        q = fold(query)
        return [e for e in self._entities(c, f"SELECT id, name, entity_type FROM {rows} ORDER BY id", params)
                if any(q in fold(x) for x in (e["name"], e["entityType"], *e["observations"]))]

    def open_nodes(self, names: Sequence[str]) -> KnowledgeGraph:
        """The named entities that exist, in insertion order, and the relations touching them."""
        return _model(self.open_nodes_wire(names))

    def open_nodes_wire(self, names: Sequence[str]) -> GraphWire:
        """`open_nodes` as wire dicts."""
        check_strings(names, "an entity name")
        with self.db.read() as c:
            listed, params = _listed(c, self.redacted(names))
            entities = self._entities(
                c, f"SELECT id, name, entity_type FROM graph_entities WHERE name IN {listed} ORDER BY id", params)
            return {"entities": entities, "relations": self._relations_touching(c, entities)}

    def ranked(self, query: str, limit: int = FALLBACK_LIMIT) -> list[Entity]:
        """Best ranked matches (lexical, fused with semantic when a ranker is set), without the substring step."""
        with self.db.read() as c:
            return [Entity.model_construct(**e) for e in self._ranked(c, query, limit)]

    def _ranked(self, c: sqlite3.Connection, query: str, limit: int = FALLBACK_LIMIT) -> list[EntityWire]:
        lexical = self._lexical(c, query, limit)
        semantic = [name for name, _ in self.semantic(c, query, limit)] if self.semantic is not None else []
        if not lexical and not semantic:
            return []
        # One ranking alone keeps its order; both: the checkpoints' search fusion (search.fusion).
        names = (fuse_keys(lexical, semantic) if lexical and semantic else lexical or semantic)[:limit]
        listed, params = _listed(c, names)
        found = {e["name"]: e for e in self._entities(
            c, f"SELECT id, name, entity_type FROM graph_entities WHERE name IN {listed}", params)}
        return [found[n] for n in names if n in found]

    @staticmethod
    def _lexical(c: sqlite3.Connection, query: str, limit: int) -> list[str]:
        match = fts_query(query)
        if match is None:
            return []
        weights = ", ".join(str(w) for w in GRAPH_BM25_WEIGHTS)
        # The best rows of the full-text table alone, then their names: joining first would look up an
        # entity for every row that matches any word, before the sort keeps `limit` of them.
        ranked = c.execute(
            f"SELECT rowid, bm25(graph_fts, {weights}) AS rank FROM graph_fts WHERE graph_fts MATCH ?"
            " ORDER BY rank, rowid DESC LIMIT ?", (match, limit)).fetchall()
        if not ranked:
            return []
        names = dict(c.execute("SELECT id, name FROM graph_entities WHERE id IN (SELECT value FROM json_each(?))",
                               (json.dumps([r[0] for r in ranked]),)).fetchall())
        rows = [(names[r[0]], r[1]) for r in ranked if r[0] in names]
        if len(rows) < len(ranked):  # a full-text row without its entity (never written so): rank the join
            rows = c.execute(
                f"SELECT e.name, bm25(graph_fts, {weights}) AS rank FROM graph_fts JOIN graph_entities e"
                " ON e.id = graph_fts.rowid WHERE graph_fts MATCH ? ORDER BY rank, e.id DESC LIMIT ?",
                (match, limit),
            ).fetchall()
        best = -float(rows[0][1])
        return [r[0] for r in rows if best <= 0 or -float(r[1]) >= FALLBACK_MIN_RATIO * best]

    @staticmethod
    def _entities(c: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[EntityWire]:
        """The entities `sql` selects (id, name, entity_type), in its order, each with its observations."""
        rows = _tuples(c, sql, params).fetchall()
        if not rows:
            return []
        obs: dict[int, list[str]] = {r[0]: [] for r in rows}
        if len(rows) > 500 and 2 * len(rows) > int(c.execute("SELECT COALESCE(MAX(id), 0) FROM graph_entities").fetchone()[0]):
            # Most of the graph (read_graph, a one-letter search): one ordered scan beats a lookup per
            # entity. MAX(id) is read from the end of the table and only ever overstates the count.
            cur = _tuples(c, "SELECT entity_id, content FROM graph_observations ORDER BY entity_id, derived DESC, id")
        else:
            cur = _tuples(
                c, "SELECT entity_id, content FROM graph_observations WHERE entity_id IN (SELECT value FROM json_each(?))"
                   " ORDER BY entity_id, derived DESC, id", (json.dumps(list(obs)),))
        for eid, content in cur:
            got = obs.get(eid)
            if got is not None:
                got.append(content)
        return [{"name": r[1], "entityType": r[2], "observations": obs[r[0]]} for r in rows]

    @staticmethod
    def _relations(c: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[RelationWire]:
        return [{"from": f, "to": t, "relationType": k} for f, t, k in _tuples(c, sql, params)]

    def _relations_touching(self, c: sqlite3.Connection, entities: Sequence[EntityWire]) -> list[RelationWire]:
        if not entities:
            return []
        listed, params = _listed(c, [e["name"] for e in entities])
        return self._relations(
            c, f"SELECT from_name, to_name, relation_type FROM graph_relations"
               f" WHERE from_name IN {listed} OR to_name IN {listed} ORDER BY id", params + params)

    def counts(self) -> dict[str, int]:
        with self.db.read() as c:
            return {
                "entities": int(c.execute("SELECT COUNT(*) FROM graph_entities").fetchone()[0]),
                "relations": int(c.execute("SELECT COUNT(*) FROM graph_relations").fetchone()[0]),
                "observations": int(c.execute("SELECT COUNT(*) FROM graph_observations").fetchone()[0]),
            }
