"""Hypothesis state machine: the knowledge-graph store against a simple model of the official memory server.

Pass criterion: after every step, read_graph equals the model (entities with their observations in
order, relations as a set), and search_nodes / open_nodes return what the official rules give on the
model. 500 derandomized examples in CI (CKPT_HYPOTHESIS_EXAMPLES changes it).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from mcp_server_checkpoints.errors import CheckpointsError
from mcp_server_checkpoints.schemas.graph import Entity, ObservationAddition, ObservationDeletion, Relation
from mcp_server_checkpoints.storage.sqlite.checkpoints import open_database
from mcp_server_checkpoints.storage.sqlite.graph import GraphStore

pytestmark = [pytest.mark.reliability]
EXAMPLES = int(os.environ.get("CKPT_HYPOTHESIS_EXAMPLES", "500"))

names = st.sampled_from(["alpha", "Beta", "gamma δ", "日本", "x"])
types = st.sampled_from(["person", "project", "Person"])
texts = st.sampled_from(["likes tea", "LIKES TEA", "works at ACME", "δ-value", "ß straße", "", "tea"])
queries = st.sampled_from(["tea", "TEA", "alpha", "person", "δ", "straße", "acme", "nothing-here"])


class GraphMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.store = GraphStore(open_database(Path(self.tmp.name) / "g.db"))
        self.entities: dict[str, tuple[str, list[str]]] = {}  # name -> (type, observations in order)
        self.relations: set[tuple[str, str, str]] = set()

    def teardown(self) -> None:
        self.store.db.close()
        self.tmp.cleanup()

    @rule(batch=st.lists(st.tuples(names, types, st.lists(texts, max_size=3)), max_size=3))
    def create_entities(self, batch: list[tuple[str, str, list[str]]]) -> None:
        made = self.store.create_entities([Entity(name=n, entityType=t, observations=o) for n, t, o in batch])
        expected = []
        for n, t, o in batch:
            if n not in self.entities:  # an existing name is skipped, observations not merged
                self.entities[n] = (t, list(o))
                expected.append(n)
        assert [e.name for e in made] == expected

    @rule(batch=st.lists(st.tuples(names, names, st.sampled_from(["knows", "owns"])), max_size=3))
    def create_relations(self, batch: list[tuple[str, str, str]]) -> None:
        made = self.store.create_relations([Relation.of(a, b, r) for a, b, r in batch])
        expected = []
        for key in batch:
            if key not in self.relations:  # triple dedup; endpoints are not checked
                self.relations.add(key)
                expected.append(key)
        assert [r.key() for r in made] == expected

    @rule(name=names, contents=st.lists(texts, max_size=3))
    def add_observations(self, name: str, contents: list[str]) -> None:
        if name not in self.entities:
            with pytest.raises(CheckpointsError, match=f"Entity with name {name} not found"):
                self.store.add_observations([ObservationAddition(entityName=name, contents=contents)])
            return
        out = self.store.add_observations([ObservationAddition(entityName=name, contents=contents)])
        existing = set(self.entities[name][1])
        new = [c for c in contents if c not in existing]  # skip what the entity has; repeats in the call kept
        self.entities[name][1].extend(new)
        assert out[0].addedObservations == new

    @rule(victims=st.lists(names, max_size=2))
    def delete_entities(self, victims: list[str]) -> None:
        self.store.delete_entities(victims)
        for n in victims:
            self.entities.pop(n, None)
        self.relations = {r for r in self.relations if r[0] not in victims and r[1] not in victims}

    @rule(name=names, gone=st.lists(texts, max_size=2))
    def delete_observations(self, name: str, gone: list[str]) -> None:
        self.store.delete_observations([ObservationDeletion(entityName=name, observations=gone)])
        if name in self.entities:
            t, obs = self.entities[name]
            self.entities[name] = (t, [o for o in obs if o not in gone])

    @rule(batch=st.lists(st.tuples(names, names, st.sampled_from(["knows", "owns"])), max_size=2))
    def delete_relations(self, batch: list[tuple[str, str, str]]) -> None:
        self.store.delete_relations([Relation.of(a, b, r) for a, b, r in batch])
        self.relations -= set(batch)

    @rule(query=queries)
    def search_nodes(self, query: str) -> None:
        q = query.lower()
        hit = {n for n, (t, obs) in self.entities.items()
               if q in n.lower() or q in t.lower() or any(q in o.lower() for o in obs)}
        result = self.store.search_nodes(query)
        if hit:  # the official substring result exactly; otherwise the ranked fallback may answer
            assert {e.name for e in result.entities} == hit
            assert {r.key() for r in result.relations} == {r for r in self.relations if r[0] in hit or r[1] in hit}

    @rule(wanted=st.lists(names, max_size=3))
    def open_nodes(self, wanted: list[str]) -> None:
        result = self.store.open_nodes(wanted)
        found = {n for n in wanted if n in self.entities}
        assert {e.name for e in result.entities} == found
        assert {r.key() for r in result.relations} == {r for r in self.relations if r[0] in found or r[1] in found}

    @invariant()
    def graph_matches_model(self) -> None:
        g = self.store.read_graph()
        assert {e.name: (e.entityType, e.observations) for e in g.entities} == \
            {n: (t, list(o)) for n, (t, o) in self.entities.items()}
        assert {r.key() for r in g.relations} == self.relations


GraphMachine.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=20, derandomize=True, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestGraphAgainstModel = GraphMachine.TestCase
