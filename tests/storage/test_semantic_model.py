"""Semantic search with the real packaged model (all-MiniLM-L6-v2): loaded once per session, slow-marked."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from mcp_server_checkpoints import cli
from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.search.sentence_embedder import SentenceTransformerEmbedder, load_embedder
from mcp_server_checkpoints.server import build_server
from mcp_server_checkpoints.server.app import AppState
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database
from mcp_server_checkpoints.storage.sqlite.db import Database
from mcp_server_checkpoints.storage.sqlite.semantic import SemanticIndex
from mcp_server_checkpoints.wiring import Services

pytest.importorskip("sentence_transformers", reason="needs the `semantic` extra")
pytestmark = [pytest.mark.slow, pytest.mark.anyio]

FIXTURES = [
    ("JWT refresh endpoint", "Add refresh tokens to the API's authentication", "login token session expiry"),
    ("Invoice PDF export", "Let accountants download monthly invoices as PDF", "billing documents for customers"),
    ("Flaky Playwright upload test", "Stabilise the e2e test that uploads a file after reload", "intermittent browser check"),
    ("Postgres migration with Ent", "Move the task tracker from SQLite to Postgres using the Ent ORM", "switch database engine"),
    ("Dark mode for the dashboard", "Add a dark colour scheme toggle to the web dashboard", "night theme for the UI"),
]
# Paraphrases sharing no word with their checkpoint's title or goal.
PARAPHRASES = {
    "let's get back to the login token work": 0,  # the example (its only shared stem: token)
    "where were we with the billing documents customers download": 1,
    "the intermittently failing browser check": 2,
    "switching our database engine": 3,
    "night theme": 4,
}


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    return load_embedder()


def seed(store: SQLiteCheckpointStore) -> list[str]:
    return [store.save(CheckpointFields(title=t, goal=g)).id for t, g, _ in FIXTURES]


def test_paraphrases_found_by_hybrid_not_by_lexical(store: SQLiteCheckpointStore, embedder: SentenceTransformerEmbedder) -> None:
    ids = seed(store)
    store.semantic = SemanticIndex.ready_with(store.db, embedder)
    while store.semantic.embed_pending():
        pass
    lexical_misses = 0
    for query, want in PARAPHRASES.items():
        out = store.search_with_state(query, limit=3)
        assert out.semantic == "ready"
        assert out.hits[0].id == ids[want], query
        assert out.hits[0].semantic is not None and out.hits[0].semantic > 0.1
        sem, store.semantic = store.semantic, None
        lexical = store.search(query, limit=1)
        store.semantic = sem
        lexical_misses += not lexical or lexical[0].id != ids[want]
    assert lexical_misses >= 3  # the point of the feature: most of these are invisible to bm25


async def test_warming_is_lexical_then_hybrid_over_mcp(db_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    gate = threading.Event()

    def loader() -> SentenceTransformerEmbedder:
        gate.wait(30)
        return embedder

    settings = Settings(db=db_path, semantic=True)
    db = open_database(db_path)
    state = _state(settings, db, SemanticIndex(db, loader))
    async with Client(build_server(settings, state)) as client:
        saved = await client.call_tool("save_checkpoint", {"title": "JWT refresh endpoint", "goal": "auth"})
        cid = saved.structured_content["id"]  # type: ignore[index]
        res = (await client.call_tool("search_checkpoints", {"query": "jwt refresh"})).structured_content
        assert res is not None and res["semantic"] == "warming"
        assert [h["id"] for h in res["results"]] == [cid] and res["results"][0]["semantic"] is None
        res = (await client.call_tool("search_checkpoints", {"query": "login token work"})).structured_content
        assert res is not None and res["results"] == []  # lexical cannot see it yet
        gate.set()
        assert state.store.semantic is not None
        for _ in range(200):  # the queued save is embedded by the background worker
            if state.store.semantic.embedded:
                break
            await anyio.sleep(0.05)
        res = (await client.call_tool("search_checkpoints", {"query": "let's get back to the login token work"})).structured_content
        assert res is not None and res["semantic"] == "ready"
        assert [h["id"] for h in res["results"]] == [cid] and res["results"][0]["semantic"] > 0.3


async def test_other_process_checkpoints_become_searchable(db_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    """A checkpoint saved by another server process (lexical-only there) is embedded here and found by meaning."""
    store = SQLiteCheckpointStore(open_database(db_path))
    store.semantic = SemanticIndex.ready_with(store.db, embedder)
    assert store.search("night theme") == []
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHECKPOINTS_")} | {"CHECKPOINTS_SEMANTIC": "false"}
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_server_checkpoints", "--db", str(db_path)],
                                   env=env)
    async with Client(params) as other:
        res = await other.call_tool("save_checkpoint", {"title": "Dark mode for the dashboard", "goal": "colour scheme"})
        assert not res.is_error and res.structured_content is not None
        cid = res.structured_content["id"]
    store.search("anything")  # a search notices the new row and wakes the embedder (here: embed directly)
    assert store.semantic.embed_pending() == 1
    assert [h.id for h in store.search("night theme")] == [cid]
    store.db.close()


def test_model_change_is_detected_and_reindex_reembeds(db_path: Path, embedder: SentenceTransformerEmbedder,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    store = SQLiteCheckpointStore(open_database(db_path))
    ids = seed(store)
    with store.db.write() as c:  # vectors made by some other model
        c.executemany("INSERT INTO vectors (kind, ref, model, dim, vector) VALUES ('checkpoint', ?, 'old-model', 3, ?)",
                      [(i, b"\0" * 12) for i in ids])
    store.semantic = SemanticIndex.ready_with(store.db, embedder)
    assert store.semantic.index is not None and len(store.semantic.index) == 0  # stale vectors are not used
    assert store.semantic.embed_pending(limit=100) == len(ids)  # ... and count as missing
    with store.db.read() as c:
        assert {r[0] for r in c.execute("SELECT DISTINCT model FROM vectors")} == {embedder.model_name}
    store.db.close()
    # `ckpt reindex` re-embeds everything and rebuilds the full-text index.
    assert cli.main(["--db", str(db_path), "reindex", "--json", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {"fts": "rebuilt", "transcripts": 0, "embedded": len(ids), "model": embedder.model_name}
    check = SQLiteCheckpointStore(open_database(db_path))
    assert check.verify().ok
    check.db.close()


@pytest.fixture
def no_extra_settings(db_path: Path) -> Iterator[Settings]:
    yield Settings(db=db_path, semantic=False)


async def test_switched_off_says_off(no_extra_settings: Settings) -> None:
    async with Client(build_server(no_extra_settings)) as client:
        res = (await client.call_tool("search_checkpoints", {"query": "x"})).structured_content
        assert res is not None and res["semantic"] == "off"


async def test_search_nodes_finds_entities_by_meaning_over_mcp(db_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    """Prompts written for the official memory server search the graph by words; when no entity contains
    them, our fallback ranks by meaning too, so a paraphrase finds the entity (the official server: nothing)."""
    settings = Settings(db=db_path, semantic=True)
    db = open_database(db_path)
    state = _state(settings, db, SemanticIndex(db, lambda: embedder))
    async with Client(build_server(settings, state)) as client:
        res = await client.call_tool("create_entities", {"entities": [
            {"name": "PaymentsWebhook", "entityType": "component",
             "observations": ["Stripe sends invoice.paid events here", "retries failed deliveries for three days"]},
            {"name": "ThemeToggle", "entityType": "component", "observations": ["switches the dashboard to dark mode"]},
        ]})
        assert not res.is_error
        sem = state.store.semantic
        assert sem is not None and sem.wait_ready(30)
        for _ in range(200):  # the background worker embeds both entities
            if sem.embedded >= 2:
                break
            await anyio.sleep(0.05)
        res = await client.call_tool("search_nodes", {"query": "billing notifications from the card processor"})
        assert res.structured_content is not None
        assert [e["name"] for e in res.structured_content["entities"]][:1] == ["PaymentsWebhook"]
        res = await client.call_tool("search_nodes", {"query": "night colours"})
        assert res.structured_content is not None
        assert [e["name"] for e in res.structured_content["entities"]][:1] == ["ThemeToggle"]


def _state(settings: Settings, db: Database, semantic: SemanticIndex) -> AppState:
    store = SQLiteCheckpointStore(db, semantic=semantic)
    return AppState(Services(settings=settings, db=db, store=store, semantic=semantic))
