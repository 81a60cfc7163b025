"""Two server processes write one knowledge graph at once: nothing is lost (the official server loses writes)."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from mcp_server_checkpoints.schemas.graph import Entity
from mcp_server_checkpoints.storage.sqlite.checkpoints import open_database
from mcp_server_checkpoints.storage.sqlite.graph import GraphStore

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

ROUNDS = 60


async def writer(db: Path, name: str) -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_server_checkpoints", "--db", str(db)])
    async with Client(params) as client:
        for i in range(ROUNDS):
            steps = [
                ("create_entities", {"entities": [{"name": f"{name}-{i}", "entityType": name, "observations": [f"o{i}"]}]}),
                # Both processes append to the same entity and link to each other's entities.
                ("add_observations", {"observations": [{"entityName": "shared", "contents": [f"{name} {i}"]}]}),
                ("create_relations", {"relations": [{"from": f"{name}-{i}", "to": "shared", "relationType": "feeds"}]}),
            ]
            for tool, args in steps:
                res = await client.call_tool(tool, args)
                assert not res.is_error, res.content


async def test_two_servers_write_one_graph(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    graph = GraphStore(open_database(db))
    graph.create_entities([Entity(name="shared", entityType="hub", observations=[])])
    async with anyio.create_task_group() as tg:
        tg.start_soon(writer, db, "alpha")
        tg.start_soon(writer, db, "beta")
    whole = graph.read_graph()
    assert len(whole.entities) == 1 + 2 * ROUNDS
    [shared] = graph.open_nodes(["shared"]).entities
    assert sorted(shared.observations) == sorted(f"{n} {i}" for n in ("alpha", "beta") for i in range(ROUNDS))
    assert len(whole.relations) == 2 * ROUNDS
    c = graph.db.conn()
    c.execute("INSERT INTO graph_fts(graph_fts) VALUES('integrity-check')")
    # The trigram index follows search_lc through triggers, whichever process wrote the row.
    c.execute("INSERT INTO graph_trigrams(graph_trigrams) VALUES('integrity-check')")
    assert [e.name for e in graph.search_nodes("BETA 5").entities] == ["shared"]  # `beta 5`, `beta 50`...
    assert [e.name for e in graph.search_nodes("ALPHA-59").entities] == ["alpha-59"]
    graph.db.close()
