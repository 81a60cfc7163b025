"""search_nodes' substring match through the trigram index: exactly the official semantics, on every path.

The official server answers `name`, `entityType` or an observation `.toLowerCase().includes(query
.toLowerCase())`. Here the trigram index picks candidates and instr() decides; queries under three
characters, and queries holding the field separator or NUL, take other paths. Each is compared with
that one-line definition, evaluated in Python over the same entities.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_server_checkpoints.schemas.graph import Entity, ObservationAddition, ObservationDeletion
from mcp_server_checkpoints.storage.sqlite.checkpoints import open_database
from mcp_server_checkpoints.storage.sqlite.db import Database
from mcp_server_checkpoints.storage.sqlite.graph import GraphStore
from mcp_server_checkpoints.storage.sqlite.graph_rows import MAX_TRIGRAMS, glob_substring, reindex, trigram_match
from mcp_server_checkpoints.storage.sqlite.migrations import MIGRATIONS

# Characters whose case folding differs between naive and full Unicode lowercasing, quotes that FTS5
# query syntax must escape, the separator and NUL, and FTS5 operators spelled as words.
ALPHABET = ["a", "B", "c", "İ", "i", "̇", "Σ", "σ", "ς", "ß", "ẞ", "Ω", "日", "本", "🚀", '"', "'", "*", " ",
            "\x1f", "\x00", "\n", "-", "AND", "NOT", "OR", "NEAR", "(", ")", ":", "^", "%", "_"]


def official(entities: list[Entity], query: str) -> list[str]:
    """The official server's search, as its source reads."""
    q = query.lower()
    return [e.name for e in entities
            if q in e.name.lower() or q in e.entityType.lower() or any(q in o.lower() for o in e.observations)]


def text(r: random.Random, n: int) -> str:
    return "".join(r.choice(ALPHABET) for _ in range(r.randint(0, n)))


def queries(r: random.Random, entities: list[Entity]) -> Iterator[str]:
    for _ in range(400):
        source = r.choice([x for e in entities for x in (e.name, e.entityType, *e.observations)] or [""])
        i = r.randrange(len(source) + 1)
        piece = source[i:i + r.randint(1, 9)]
        kind = r.random()
        yield piece.upper() if kind < 0.3 else piece.swapcase() if kind < 0.5 else piece if kind < 0.8 else text(r, 6)


def check_all(graph: GraphStore, r: random.Random) -> int:
    stored = graph.read_graph().entities
    compared = 0
    for q in queries(r, stored):
        want = official(stored, q)
        got = [e.name for e in graph.search_nodes(q).entities]
        if want:
            assert got == want, repr(q)
            compared += 1
        else:  # nothing contains it: what came back is the ranked fallback, not a substring match
            assert got == [e.name for e in graph.ranked(q)], repr(q)
    return compared


def test_random_entities_and_queries_match_the_official_definition(graph: GraphStore) -> None:
    r = random.Random(13)
    graph.create_entities([Entity(name=f"{i}:{text(r, 8)}", entityType=text(r, 4),
                                  observations=[text(r, 14) for _ in range(r.randint(0, 3))]) for i in range(120)])
    assert check_all(graph, r) > 250  # most queries are pieces of stored text, so most compare real hits
    # The index follows every kind of change.
    for i in range(0, 120, 3):
        name = graph.read_graph().entities[i // 3].name
        graph.add_observations([ObservationAddition(entityName=name, contents=[text(r, 10)])])
        graph.delete_observations([ObservationDeletion(entityName=name, observations=graph.open_nodes(
            [name]).entities[0].observations[:1])])
    graph.delete_entities([e.name for e in graph.read_graph().entities[::5]])
    check_all(graph, r)
    graph.db.conn().execute("INSERT INTO graph_trigrams(graph_trigrams) VALUES('integrity-check')")


@pytest.mark.parametrize("query, found", [
    ("İSTANBUL", ["İstanbul"]),   # full lowercasing: İ -> i + combining dot, on both sides
    ("istanbul", []),             # ... so a plain i does not match it, as in JavaScript
    ("ΟΔΟΣ", ["ΟΔΟΣ"]),           # word-final sigma folds to ς in the query and in the name
    ("οδοσ", []),
    ("STRASSE", ["STRASSE"]),     # ß stays ß when lowercased (no case folding to ss)
    ("straße", ["straße"]),
    ("日本語", ["日本語のノード"]),
    ("🚀 r", ["emoji 🚀 rocket"]),
    ('"q"', ['quote "q"']),       # FTS5 quoting
    ("e AND", ["AND or NOT"]),     # FTS5 operators are text here
    ("ld\x00ha", ["nul"]),        # NUL inside one observation
    ("ld\x1fha", ["sep"]),        # the separator inside one observation
    ("ull\x1fn", []),             # never across two fields
])
def test_unicode_case_and_syntax(graph: GraphStore, query: str, found: list[str]) -> None:
    graph.create_entities([Entity(name=n, entityType="t", observations=obs) for n, obs in [
        ("İstanbul", []), ("ΟΔΟΣ", []), ("STRASSE", []), ("straße", []), ("日本語のノード", []),
        ("emoji 🚀 rocket", []), ('quote "q"', []), ("AND or NOT", ["type AND"]), ("nul", ["world\x00hand"]),
        ("sep", ["world\x1fhand"]), ("null", ["no"]),
    ]])
    got = [e.name for e in graph.search_nodes(query).entities]
    if found:
        assert got == found
    else:
        assert official(graph.read_graph().entities, query) == [] and got == [e.name for e in graph.ranked(query)]


def test_short_queries_scan_and_match_only_within_one_field(graph: GraphStore) -> None:
    graph.create_entities([Entity(name="ab", entityType="cd", observations=["Xy"]), Entity(name="q", entityType="bc",
                                                                                           observations=[])])
    assert [e.name for e in graph.search_nodes("XY").entities] == ["ab"]
    assert [e.name for e in graph.search_nodes("B").entities] == ["ab", "q"]
    assert [e.name for e in graph.search_nodes("bc").entities] == ["q"]  # "ab"+"cd" do not join into "bc"
    assert [e.name for e in graph.search_nodes("").entities] == ["ab", "q"]


def test_trigram_match_covers_the_key_with_at_most_max_trigrams() -> None:
    assert trigram_match("ab") is None and trigram_match("") is None
    assert trigram_match("abc") == '"abc"'
    assert trigram_match("abcd") == '"abc" AND "bcd"'
    assert trigram_match("topic17 ") == '"top" AND "ic1" AND "17 "'  # every character in some trigram
    assert trigram_match('a"bcd') == '"a""b" AND "bcd"'  # FTS5 quoting doubles the quote
    assert trigram_match("aaaaaaa") == '"aaa"'  # repeats named once
    long = "".join(chr(0x4E00 + i) for i in range(200))
    match = trigram_match(long)
    assert match is not None and match.count(" AND ") == MAX_TRIGRAMS - 1
    assert match.startswith(f'"{long[:3]}"') and match.endswith(f'"{long[-3:]}"')  # both ends kept


def test_search_uses_the_index(graph: GraphStore) -> None:
    """A three-character query must not scan search_lc: the plan reads graph_trigrams."""
    graph.create_entities([Entity(name="alpha", entityType="t", observations=["beta"])])
    c = graph.db.conn()
    plan = " ".join(str(r[3]) for r in c.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM graph_entities WHERE id IN"
        " (SELECT rowid FROM graph_trigrams WHERE graph_trigrams MATCH ?) AND instr(search_lc, ?) > 0 ORDER BY id",
        ('"alp"', "alp")))
    assert "VIRTUAL TABLE" in plan and "SCAN graph_entities" not in plan, plan
    assert [e.name for e in graph.search_nodes("ALP").entities] == ["alpha"]


def test_a_database_at_schema_5_migrates(db_path: Path) -> None:
    """A file made before migration 7, with a NUL in a search row (as schema 5 stored it), gets the index."""
    old = Database(db_path, [m for m in MIGRATIONS if m.version <= 5])
    before = GraphStore(old)
    before.create_entities([Entity(name="Alpha", entityType="Person", observations=["likes ÜBER tea", "a\x00bcd"])])
    c = old.conn()
    c.execute("UPDATE graph_entities SET search_lc = ? WHERE name = 'Alpha'",
              ("alpha\x1fperson\x1flikes über tea\x1fa\x00bcd",))
    assert not c.execute("SELECT 1 FROM sqlite_master WHERE name = 'graph_trigrams'").fetchone()
    old.close()

    graph = GraphStore(open_database(db_path))
    try:
        assert [e.name for e in graph.search_nodes("über T").entities] == ["Alpha"]
        assert [e.name for e in graph.search_nodes("BCD").entities] == ["Alpha"]  # after the NUL: indexed too
        assert [e.name for e in graph.search_nodes("A\x00B").entities] == ["Alpha"]
        c = graph.db.conn()
        assert "\x00" not in c.execute("SELECT search_lc FROM graph_entities").fetchone()[0]
        c.execute("INSERT INTO graph_trigrams(graph_trigrams) VALUES('integrity-check')")
        assert c.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] == max(m.version for m in MIGRATIONS)
    finally:
        graph.db.close()


def test_the_index_follows_session_snapshots(db_path: Path) -> None:
    """Session-snapshot entities are rewritten by storage/snapshots.py; the triggers follow them too."""
    from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore
    from tests.conftest import fields

    store = SQLiteCheckpointStore(open_database(db_path), max_payload_bytes=1024 * 1024)
    try:
        saved = store.save(fields(title="Quokka migration", current_work="Moving the WOMBAT tables"))
        graph = GraphStore(store.db)
        assert [e.name for e in graph.search_nodes("wombat t").entities] == [saved.id]
        assert graph.search_nodes("LUNCHBREAK").entities == []  # nor anything the ranked fallback finds
        store.set_status(saved.id, "on-hold", "lunchbreak")  # rewrites the entity: `Status note: lunchbreak`
        assert [e.name for e in graph.search_nodes("LUNCHBREAK").entities] == [saved.id]
        store.db.conn().execute("INSERT INTO graph_trigrams(graph_trigrams) VALUES('integrity-check')")
    finally:
        store.db.close()


def _search_rows(c: sqlite3.Connection) -> list[tuple[object, ...]]:
    return [*c.execute("SELECT id, name, entity_type, search_lc FROM graph_entities ORDER BY id"),
            *c.execute("SELECT rowid, name, entity_type, observations FROM graph_fts ORDER BY rowid"),
            *c.execute("SELECT entity_id, content, derived FROM graph_observations ORDER BY id")]


def test_created_entities_have_the_search_rows_reindex_writes(graph: GraphStore) -> None:
    """create_entities writes the haystack and full-text rows with the entity; rebuilding them changes nothing."""
    r = random.Random(5)
    graph.create_entities([Entity(name=f"{i}:{text(r, 8)}", entityType=text(r, 4),
                                  observations=[text(r, 14) for _ in range(r.randint(0, 3))] + ["rep", "rep"])
                           for i in range(60)] + [Entity(name="0:x", entityType="t", observations=[])])
    c = graph.db.conn()
    c.executemany("INSERT INTO vectors (kind, ref, model, dim, vector) VALUES ('entity', ?, 'm', 1, x'00')",
                  [("late",), ("la\x00te",)])
    graph.create_entities([Entity(name=n, entityType="t", observations=["Late Σ"]) for n in ("late", "la\x00te")])
    assert c.execute("SELECT COUNT(*) FROM vectors").fetchone()[0] == 0  # as reindex's update clears them
    written = _search_rows(c)
    with graph.db.write() as w:
        reindex(w, [int(row[0]) for row in w.execute("SELECT id FROM graph_entities")])
    assert _search_rows(c) == written
    c.execute("INSERT INTO graph_trigrams(graph_trigrams) VALUES('integrity-check')")
    c.execute("INSERT INTO graph_fts(graph_fts) VALUES('integrity-check')")


@pytest.mark.parametrize("query", ["*", "?", "[", "]", "[a", "a]", "[]", "*a", "a?", "^", "-", "\\\\", "%", "_", "ab", "A", ""])
def test_short_queries_take_glob_characters_literally(graph: GraphStore, query: str) -> None:
    """Under three characters the scan runs GLOB: its wildcard and set characters must match only themselves."""
    names = ["*", "?", "[", "]", "[a", "a]", "[]", "*a", "a?", "^", "-", "\\\\", "%", "_", "ab", "plain", "x[a]y", "b*a"]
    graph.create_entities([Entity(name=n, entityType="t", observations=[]) for n in names])
    stored = graph.read_graph().entities
    assert [e.name for e in graph.search_nodes(query).entities] == official(stored, query)
    assert glob_substring(query).startswith("*")
