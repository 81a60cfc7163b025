"""GraphStore: the memory server's semantics on SQLite, paging, ranked fallback, the official JSONL format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcp_server_checkpoints.domain.ranking import rrf
from mcp_server_checkpoints.errors import InvalidInputError
from mcp_server_checkpoints.schemas.graph import Entity, ObservationAddition, ObservationDeletion, Relation
from mcp_server_checkpoints.storage.sqlite.checkpoints import open_database
from mcp_server_checkpoints.storage.sqlite.graph import EntityNotFoundError, GraphStore
from mcp_server_checkpoints.storage.sqlite.memory_file import export_lines, import_lines, parse_memory_line


def E(name: str, etype: str = "person", *obs: str) -> Entity:  # noqa: N802
    return Entity(name=name, entityType=etype, observations=list(obs))


def R(a: str, b: str, t: str = "knows") -> Relation:  # noqa: N802
    return Relation.of(a, b, t)


def names(graph_result: object) -> list[str]:
    return [e.name for e in graph_result.entities]  # type: ignore[attr-defined]


def test_create_skips_existing_names_and_keeps_order(graph: GraphStore) -> None:
    assert graph.create_entities([E("b"), E("a", "x", "o1", "o1")]) == [E("b"), E("a", "x", "o1", "o1")]
    assert graph.create_entities([E("a", "other", "new"), E("c")]) == [E("c")]
    g = graph.read_graph()
    assert g.entities == [E("b"), E("a", "x", "o1", "o1"), E("c")]  # observations not merged, duplicates kept


def test_relations_dedup_on_the_triple_and_endpoints_unchecked(graph: GraphStore) -> None:
    assert graph.create_relations([R("a", "ghost"), R("a", "ghost"), R("a", "ghost", "likes")]) == [
        R("a", "ghost"), R("a", "ghost", "likes")]
    assert graph.create_relations([R("a", "ghost")]) == []
    assert graph.read_graph().relations == [R("a", "ghost"), R("a", "ghost", "likes")]


def test_add_observations_skips_existing_and_fails_whole_call_on_missing(graph: GraphStore) -> None:
    graph.create_entities([E("a", "t", "x"), E("b")])
    res = graph.add_observations([ObservationAddition(entityName="a", contents=["x", "y", "y"])])
    assert [r.addedObservations for r in res] == [["y", "y"]]
    with pytest.raises(EntityNotFoundError, match="^Entity with name nope not found$"):
        graph.add_observations([ObservationAddition(entityName="b", contents=["kept?"]),
                                ObservationAddition(entityName="nope", contents=["q"])])
    assert graph.open_nodes(["b"]).entities == [E("b")]  # nothing half-written


def test_delete_entities_cascades_relations(graph: GraphStore) -> None:
    graph.create_entities([E("a"), E("b"), E("c")])
    graph.create_relations([R("a", "b"), R("c", "a"), R("b", "c"), R("x", "y")])
    graph.delete_entities(["a", "missing"])
    g = graph.read_graph()
    assert names(g) == ["b", "c"] and g.relations == [R("b", "c"), R("x", "y")]


def test_delete_observations_and_relations_are_silent_when_nothing_matches(graph: GraphStore) -> None:
    graph.create_entities([E("a", "t", "x", "y", "x")])
    graph.create_relations([R("a", "b")])
    graph.delete_observations([ObservationDeletion(entityName="a", observations=["x", "zz"]),
                               ObservationDeletion(entityName="nope", observations=["x"])])
    graph.delete_relations([R("a", "b"), R("q", "z")])
    assert graph.read_graph().entities == [E("a", "t", "y")] and graph.read_graph().relations == []


def test_search_is_case_insensitive_substring_with_relations_touching(graph: GraphStore) -> None:
    graph.create_entities([E("Straße", "Ort", "ÜBER alles"), E("other", "thing", "nothing here")])
    graph.create_relations([R("Straße", "other"), R("ghost", "Straße"), R("ghost", "nobody")])
    g = graph.search_nodes("über")
    assert names(g) == ["Straße"] and g.relations == [R("Straße", "other"), R("ghost", "Straße")]
    assert names(graph.search_nodes("")) == ["Straße", "other"]  # the empty string is in everything
    assert names(graph.search_nodes("ORT")) == ["Straße"]


def test_open_nodes_in_graph_order_relations_touching(graph: GraphStore) -> None:
    graph.create_entities([E("a"), E("b"), E("c")])
    graph.create_relations([R("a", "b"), R("c", "ghost"), R("ghost", "x")])
    g = graph.open_nodes(["c", "a", "a", "ghost"])
    assert names(g) == ["a", "c"] and g.relations == [R("a", "b"), R("c", "ghost")]


def test_fallback_ranks_words_when_the_substring_finds_nothing(graph: GraphStore) -> None:
    graph.create_entities([
        E("checkpoint-2026-11-22-jwt-auth-7f3a9c", "session-snapshot", "GOAL: Add JWT authentication to the API"),
        E("checkpoint-2026-11-21-db-migration-1a2b3c", "session-snapshot", "GOAL: Move users to Postgres"),
        E("Alice", "person", "likes tea"),
    ])
    assert graph.search_nodes("checkpoint JWT authentication").entities[0].name.startswith("checkpoint-2026-11-22-jwt")
    assert names(graph.search_nodes("checkpoint JWT authentication")) == ["checkpoint-2026-11-22-jwt-auth-7f3a9c"]
    assert names(graph.search_nodes("zzz qqq")) == []
    assert names(graph.search_nodes("the of")) == []  # only stop words: nothing to rank


def test_fallback_fuses_a_semantic_ranker(db_path: Path) -> None:
    # A unit-test double for the semantic half (the real one: test_fusion.py, test_semantic_model.py).
    graph = GraphStore(open_database(db_path), semantic=lambda c, q, k: [("Bob", 0.9), ("Alice", 0.5)])
    graph.create_entities([E("Alice", "person", "likes tea"), E("Bob", "person", "drinks coffee")])
    assert names(graph.search_nodes("tea beverage")) == ["Alice", "Bob"]  # in both lists beats one
    assert rrf(["a", "b"], ["b", "c"]) == ["b", "a", "c"]
    graph.db.close()


def test_read_graph_pages_and_filters(graph: GraphStore) -> None:
    graph.create_entities([E(f"e{i}", "even" if i % 2 == 0 else "odd") for i in range(7)])
    graph.create_relations([R("e0", "e1"), R("e5", "ghost"), R("x", "y")])
    assert names(graph.read_graph(limit=3)) == ["e0", "e1", "e2"]
    page = graph.read_graph(limit=3, offset=3)
    assert names(page) == ["e3", "e4", "e5"] and page.relations == [R("e5", "ghost")]
    assert names(graph.read_graph(limit=3, offset=6)) == ["e6"]
    assert names(graph.read_graph(entity_types=["odd"])) == ["e1", "e3", "e5"]
    assert names(graph.read_graph(entity_types=["odd"], limit=2, offset=1)) == ["e3", "e5"]
    assert graph.read_graph().relations == [R("e0", "e1"), R("e5", "ghost"), R("x", "y")]


def test_lone_surrogates_are_refused(graph: GraphStore) -> None:
    with pytest.raises(InvalidInputError, match="surrogate"):
        graph.create_entities([E("bad\ud800")])
    assert graph.read_graph().entities == []


def test_export_import_round_trip_is_lossless(graph: GraphStore, tmp_path: Path) -> None:
    graph.create_entities([E("日本", "城市", "multi\nline", "dup", "dup"), E("", "", "")])
    graph.create_relations([R("日本", ""), R("ghost", "日本", "близко")])
    lines = list(export_lines(graph))
    assert lines[0] == '{"type":"entity","name":"日本","entityType":"城市","observations":["multi\\nline","dup","dup"]}'
    other = GraphStore(open_database(tmp_path / "other.db"))
    report = import_lines(other, lines)
    assert (report.entities, report.relations, report.errors) == (2, 2, [])
    assert list(export_lines(other)) == lines
    again = import_lines(other, lines)
    assert (again.entities, again.relations, again.skipped_existing) == (0, 0, 4)
    other.db.close()


def test_import_reports_bad_lines_and_keeps_the_rest(graph: GraphStore) -> None:
    good = json.dumps({"type": "entity", "name": "a", "entityType": "t", "observations": ["o"]})
    lines: list[str | bytes] = [
        "\ufeff" + good, "{not json", '{"type":"thing"}', '["a list"]',
        '{"type":"entity","name":"b","entityType":"t"}', b"\xff\xfe bad bytes\n", "",
        '{"type":"relation","from":"a","to":"b","relationType":"r"}',
        '{"type":"entity","name":"a","entityType":"again","observations":[]}',
    ]
    report = import_lines(graph, lines)
    assert (report.entities, report.relations, report.skipped_existing) == (1, 1, 1)
    assert [e.split(":")[0] for e in report.errors] == ["line 2", "line 3", "line 4", "line 5", "line 6"]
    assert "observations" in report.errors[3] and "not UTF-8" in report.errors[4]
    assert graph.read_graph().entities == [E("a", "t", "o")]


def test_parse_memory_line_never_echoes_values() -> None:
    with pytest.raises(InvalidInputError) as exc:
        parse_memory_line('{"type":"entity","name":"sk-secret","entityType":5,"observations":[]}')
    assert "sk-secret" not in str(exc.value) and "entityType" in str(exc.value)


def test_fts_follows_every_change(graph: GraphStore) -> None:
    graph.create_entities([E("alpha", "t", "zebra crossing")])
    assert [e.name for e in graph.ranked("zebra")] == ["alpha"]
    graph.delete_observations([ObservationDeletion(entityName="alpha", observations=["zebra crossing"])])
    assert graph.ranked("zebra") == []
    graph.add_observations([ObservationAddition(entityName="alpha", contents=["giraffe"])])
    assert [e.name for e in graph.ranked("giraffes")] == ["alpha"]  # porter stemming
    graph.delete_entities(["alpha"])
    assert graph.ranked("giraffe") == []
    graph.db.conn().execute("INSERT INTO graph_fts(graph_fts) VALUES('integrity-check')")  # raises if out of step


def test_substring_never_spans_two_fields(graph: GraphStore) -> None:
    graph.create_entities([E("ab", "cd", "ef", "g\x1fh", "nul\x00byte")])
    assert names(graph.search_nodes("b\x1fc")) == []  # name "ab" + type "cd": no match across fields
    assert names(graph.search_nodes("G\x1fH")) == ["ab"]  # the separator itself, inside one observation
    assert names(graph.search_nodes("L\x00B")) == ["ab"]
    assert names(graph.search_nodes("bc")) == []


def test_secrets_in_observations_are_redacted(tmp_path: Path) -> None:
    g = GraphStore(open_database(tmp_path / "g.db"))
    made = g.create_entities([Entity(name="deploy", entityType="note",
                                     observations=["DB_PASSWORD=hunter2-correct-horse", "plain fact"])])
    assert made[0].observations == ["DB_PASSWORD=[REDACTED:password]", "plain fact"]
    g.add_observations([ObservationAddition(entityName="deploy", contents=["token ghp_1234567890abcdefghijklmnopqrstuvwxYZ"])])
    text = g.read_graph().model_dump_json()
    assert "hunter2" not in text and "ghp_1234567890" not in text and "plain fact" in text


def test_names_and_observations_holding_nul_work_in_every_tool(graph: GraphStore) -> None:
    """json_each() cuts strings at NUL; lists holding one take another path (the official server takes any string)."""
    graph.create_entities([E("a\x00b", "t\x00", "x\x00y", "keep"), E("a", "t", "x")])
    graph.create_relations([R("a\x00b", "a"), R("ghost", "a\x00b"), R("a", "ghost")])
    assert names(graph.open_nodes(["a\x00b"])) == ["a\x00b"]
    assert graph.open_nodes(["a\x00b"]).relations == [R("a\x00b", "a"), R("ghost", "a\x00b")]
    assert names(graph.read_graph(entity_types=["t\x00"])) == ["a\x00b"]
    graph.delete_observations([ObservationDeletion(entityName="a\x00b", observations=["x\x00y"])])
    assert graph.open_nodes(["a\x00b"]).entities == [E("a\x00b", "t\x00", "keep")]
    graph.delete_entities(["a\x00b"])
    g = graph.read_graph()
    assert names(g) == ["a"] and g.relations == [R("a", "ghost")]
