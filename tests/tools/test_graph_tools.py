"""The memory tools over MCP: checkpoints found, opened and updated by an agent that knows only the official tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from mcp import Client

from mcp_server_checkpoints.server.memory import _json
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database
from tests.conftest import FULL, fields

pytestmark = pytest.mark.anyio


async def call(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    res = await client.call_tool(tool, args)
    assert not res.is_error, res.content
    assert res.structured_content is not None
    return res.structured_content


async def save(client: Client, **kw: Any) -> str:
    return str((await call(client, "save_checkpoint", **kw))["id"])


def observations(graph: dict[str, Any], name: str) -> list[str]:
    [entity] = [e for e in graph["entities"] if e["name"] == name]
    return list(entity["observations"])


async def test_a_checkpoint_is_a_session_snapshot_entity(client: Client) -> None:
    cid = await save(client, **FULL)
    g = await call(client, "open_nodes", names=[cid])
    assert g["entities"][0]["entityType"] == "session-snapshot"
    obs = observations(g, cid)
    for expected in ("Status: paused", "Progress: 60%", "GOAL: Add JWT authentication with refresh tokens",
                     "CURRENT WORK: Writing the refresh handler",
                     "PENDING: next: Implement POST /auth/refresh; logout revocation; expiry tests",
                     "RESUME INSTRUCTIONS: Run npm test first", "Project: api", "TAGS: auth, jwt"):
        assert expected in obs
    assert any(o.startswith("Timestamp: 20") for o in obs)
    assert "DECISIONS: RS256 (key rotation)" in obs and "APPROACHES: HS256: failed (shared secret)" in obs


async def test_found_by_the_recovery_agents_searches(client: Client) -> None:
    jwt = await save(client, **FULL)
    await save(client, title="Database migration", goal="Move users to Postgres", next_step="copy tables")
    await call(client, "create_entities", entities=[{"name": "Alice", "entityType": "person", "observations": ["x"]}])
    # "checkpoint JWT authentication" is no substring of anything: the ranked fallback answers.
    found = await call(client, "search_nodes", query="checkpoint JWT authentication")
    assert [e["name"] for e in found["entities"]][0] == jwt
    snapshots = await call(client, "search_nodes", query="session-snapshot")
    assert len(snapshots["entities"]) == 2  # the official substring path
    assert [e["name"] for e in (await call(client, "search_nodes", query="checkpoint"))["entities"]] != []
    whole = await call(client, "read_graph")
    assert {e["entityType"] for e in whole["entities"]} == {"session-snapshot", "person"}


async def test_lineage_is_a_continues_relation(client: Client) -> None:
    parent = await save(client, title="Migration", goal="Move users")
    child = await save(client, title="Migration", goal="Move users", parent_id=parent, progress=80)
    g = await call(client, "open_nodes", names=[child])
    assert g["relations"] == [{"from": child, "to": parent, "relationType": "continues"}]


async def test_status_changes_rewrite_the_projection_and_keep_agent_observations(client: Client) -> None:
    cid = await save(client, **FULL)
    added = await call(client, "add_observations",
                       observations=[{"entityName": cid, "contents": ["Resumed at: 2026-11-22T10:00Z", "Status: paused"]}])
    assert added["results"][0]["addedObservations"] == ["Resumed at: 2026-11-22T10:00Z"]  # Status: paused is there
    await call(client, "mark_status", id=cid, status="completed", note="shipped")
    obs = observations(await call(client, "open_nodes", names=[cid]), cid)
    assert "Status: completed" in obs and "Status: paused" not in obs and "Status note: shipped" in obs
    assert obs[-1] == "Resumed at: 2026-11-22T10:00Z"  # agent observations follow the projected ones
    assert len([o for o in obs if o.startswith("Status:")]) == 1


async def test_a_status_observation_marks_the_checkpoint(client: Client) -> None:
    cid = await save(client, **FULL)
    await call(client, "add_observations", observations=[{"entityName": cid, "contents": ["Status: resumed"]}])
    opened = await call(client, "open_checkpoint", id=cid)
    assert opened["status"] == "resumed" and opened["history"][-1]["note"] == "via add_observations"
    obs = observations(await call(client, "open_nodes", names=[cid]), cid)
    assert obs.count("Status: resumed") == 1 and "Status: paused" not in obs


async def test_projected_observations_survive_deletes_agent_ones_do_not(client: Client) -> None:
    cid = await save(client, **FULL)
    await call(client, "add_observations", observations=[{"entityName": cid, "contents": ["note by agent"]}])
    await call(client, "delete_observations",
               deletions=[{"entityName": cid, "observations": ["Status: paused", "note by agent"]}])
    obs = observations(await call(client, "open_nodes", names=[cid]), cid)
    assert "Status: paused" in obs and "note by agent" not in obs


async def test_deleting_a_snapshot_entity_keeps_the_checkpoint(client: Client) -> None:
    cid = await save(client, **FULL)
    await call(client, "delete_entities", entityNames=[cid])
    assert (await call(client, "open_nodes", names=[cid]))["entities"] == []
    assert (await call(client, "open_checkpoint", id=cid))["id"] == cid
    await call(client, "mark_status", id=cid, status="on-hold")
    assert observations(await call(client, "open_nodes", names=[cid]), cid)[1] == "Status: on-hold"


async def test_missing_entity_is_the_official_error_text(client: Client) -> None:
    res = await client.call_tool("add_observations", {"observations": [{"entityName": "Nope", "contents": ["q"]}]})
    assert res.is_error and [c.text for c in res.content] == ["Entity with name Nope not found"]  # type: ignore[union-attr]


async def test_results_carry_the_official_text(client: Client) -> None:
    entity = {"name": "Ωmega", "entityType": "t", "observations": ["ü"]}
    res = await client.call_tool("create_entities", {"entities": [entity]})
    assert res.content[0].text == json.dumps([entity], indent=2, ensure_ascii=False)  # type: ignore[union-attr]
    res = await client.call_tool("delete_relations", {"relations": []})
    assert res.content[0].text == "Relations deleted successfully"  # type: ignore[union-attr]
    assert res.structured_content == {"success": True, "message": "Relations deleted successfully"}


async def test_read_graph_paging_through_the_tool(client: Client) -> None:
    await call(client, "create_entities",
               entities=[{"name": f"e{i}", "entityType": "odd" if i % 2 else "even", "observations": []} for i in range(5)])
    assert [e["name"] for e in (await call(client, "read_graph", limit=2, offset=2))["entities"]] == ["e2", "e3"]
    assert [e["name"] for e in (await call(client, "read_graph", entityTypes=["odd"]))["entities"]] == ["e1", "e3"]
    for bad in ({"limit": 0}, {"offset": -1}, {"limit": "many"}, {"page": 2}):
        res = await client.call_tool("read_graph", bad)
        assert res.is_error, bad


async def test_memory_resource_is_the_whole_graph(client: Client) -> None:
    await call(client, "create_entities", entities=[{"name": "a", "entityType": "t", "observations": []}])
    contents = (await client.read_resource("memory://knowledge-graph")).contents[0]
    assert json.loads(contents.text) == await call(client, "read_graph")  # type: ignore[union-attr]


def test_existing_checkpoints_are_materialised_by_the_migration(db_path: Path) -> None:
    old = SQLiteCheckpointStore(open_database(db_path))
    parent = old.save(fields()).id
    child = old.save(fields(parent_id=parent)).id
    # Back to the file a release before the graph left: checkpoints, no graph tables, no version 3.
    c = old.db.conn()
    for table in ("graph_fts", "graph_observations", "graph_relations", "graph_entities"):
        c.execute(f"DROP TABLE {table}")
    c.execute("DELETE FROM schema_migrations WHERE version = 3")
    old.db.close()
    store = SQLiteCheckpointStore(open_database(db_path))
    rows = store.db.conn().execute("SELECT name, entity_type FROM graph_entities ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [(parent, "session-snapshot"), (child, "session-snapshot")]
    rel = store.db.conn().execute("SELECT from_name, to_name, relation_type FROM graph_relations").fetchall()
    assert [tuple(r) for r in rel] == [(child, parent, "continues")]
    store.db.close()


def test_imported_checkpoints_are_materialised(store: SQLiteCheckpointStore, tmp_path: Path) -> None:
    cid = store.save(fields()).id
    items = list(store.iter_all())
    other = SQLiteCheckpointStore(open_database(tmp_path / "other.db"))
    other.import_checkpoints(items)
    names = [r[0] for r in other.db.conn().execute("SELECT name FROM graph_entities")]
    assert names == [cid]
    other.import_checkpoints(items, replace=True)  # the replaced row keeps its entity
    assert [r[0] for r in other.db.conn().execute("SELECT name FROM graph_entities")] == [cid]
    other.db.close()


@given(st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=20))
def test_text_encoder_writes_what_json_dumps_writes(value: object) -> None:
    # The official text is JSON.stringify(value, null, 2); json.dumps(indent=2, ensure_ascii=False) matches it
    # (the differential tests check that); the faster encoder must match json.dumps byte for byte.
    assume(not any(0xD800 <= ord(ch) <= 0xDFFF for ch in json.dumps(value, ensure_ascii=False)))
    assert _json(value) == json.dumps(value, indent=2, ensure_ascii=False)
