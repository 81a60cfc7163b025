"""The GraphStore contract (the official memory server's semantics), on every backend of conftest.BACKENDS."""

from __future__ import annotations

import pytest

from mcp_server_checkpoints.errors import InvalidInputError, NotFoundError
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.schemas.graph import Entity, ObservationAddition, ObservationDeletion, Relation
from tests.storage.conformance.conftest import Opened


def ent(name: str, kind: str = "person", *obs: str) -> Entity:
    return Entity(name=name, entityType=kind, observations=list(obs))


def test_create_is_new_only_and_relations_dedupe(opened: Opened) -> None:
    g = opened.services.graph
    assert [e.name for e in g.create_entities([ent("Ada", "person", "wrote notes"), ent("Ada")])] == ["Ada"]
    assert g.create_entities([ent("Ada", "person", "other")]) == []  # existing name: skipped, not merged
    r = Relation.of("Ada", "Bob", "knows")  # endpoints are not checked
    assert g.create_relations([r, r]) == [r]
    assert g.create_relations([r]) == []
    graph = g.read_graph()
    assert [e.observations for e in graph.entities] == [["wrote notes"]] and len(graph.relations) == 1


def test_observations_add_dedupe_and_missing_entity(opened: Opened) -> None:
    g = opened.services.graph
    g.create_entities([ent("Ada")])
    added = g.add_observations([ObservationAddition(entityName="Ada", contents=["likes tea"])])
    assert added[0].addedObservations == ["likes tea"]
    assert g.add_observations([ObservationAddition(entityName="Ada", contents=["likes tea"])])[0].addedObservations == []
    with pytest.raises(NotFoundError, match="Entity with name Nobody not found"):
        g.add_observations([ObservationAddition(entityName="Nobody", contents=["x"])])
    g.delete_observations([ObservationDeletion(entityName="Ada", observations=["likes tea", "absent"])])
    assert g.open_nodes(["Ada"]).entities[0].observations == []


def test_deletes_cascade_to_relations_and_are_silent(opened: Opened) -> None:
    g = opened.services.graph
    g.create_entities([ent("Ada"), ent("Bob"), ent("Cy")])
    g.create_relations([Relation.of("Ada", "Bob", "knows"), Relation.of("Bob", "Cy", "knows")])
    g.delete_entities(["Bob", "Nobody"])
    graph = g.read_graph()
    assert [e.name for e in graph.entities] == ["Ada", "Cy"] and graph.relations == []
    g.delete_relations([Relation.of("Ada", "Cy", "never")])  # nothing matches: silent


def test_search_and_open_nodes(opened: Opened) -> None:
    g = opened.services.graph
    g.create_entities([ent("Ada", "person", "Writes the Analytical Engine notes"), ent("Bob", "robot"),
                       ent("Cy", "person")])
    g.create_relations([Relation.of("Ada", "Bob", "built"), Relation.of("Bob", "Cy", "helps")])
    found = g.search_nodes("analytical ENGINE")  # case-insensitive substring of an observation
    assert [e.name for e in found.entities] == ["Ada"]
    assert [r.key() for r in found.relations] == [("Ada", "Bob", "built")]
    assert [e.name for e in g.search_nodes("ROBOT").entities] == ["Bob"]  # entityType matches too
    opened_nodes = g.open_nodes(["Cy", "Nobody"])
    assert [e.name for e in opened_nodes.entities] == ["Cy"] and len(opened_nodes.relations) == 1
    with pytest.raises(InvalidInputError, match="surrogate"):
        g.search_nodes("bad \ud800")


def test_every_checkpoint_is_a_session_snapshot_entity(opened: Opened) -> None:
    store, g = opened.services.store, opened.services.graph
    cid = store.save(CheckpointFields(title="Snapshot me", goal="Be an entity", progress=40)).id
    snap = g.open_nodes([cid]).entities
    assert snap and snap[0].entityType == "session-snapshot"
    assert "Status: in-progress" in snap[0].observations and any(o.startswith("GOAL:") for o in snap[0].observations)
    store.set_status(cid, "paused")
    assert "Status: paused" in g.open_nodes([cid]).entities[0].observations
    # An agent marking it through the memory tools changes the checkpoint too.
    g.add_observations([ObservationAddition(entityName=cid, contents=["Status: resumed"])])
    assert store.status_of(cid).status == "resumed"


def test_paging_and_counts(opened: Opened) -> None:
    g = opened.services.graph
    g.create_entities([ent(f"E{i}", "note" if i % 2 else "person") for i in range(10)])
    page = g.read_graph(entity_types=["note"], limit=3, offset=1)
    assert [e.name for e in page.entities] == ["E3", "E5", "E7"]
    assert g.counts()["entities"] == 10


def test_graph_writes_are_seen_by_a_second_handle(opened: Opened) -> None:
    other = opened.another()
    try:
        opened.services.graph.create_entities([ent("Shared")])
        assert [e.name for e in other.graph.open_nodes(["Shared"]).entities] == ["Shared"]
    finally:
        other.close()
