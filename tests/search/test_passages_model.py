"""Passages with the real packaged model (all-MiniLM-L6-v2): a detail in the middle of a long session is
found by a question in other words, through the warming path and from another process (slow: loads the model)."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.search.fusion import RankingOptions
from mcp_server_checkpoints.search.sentence_embedder import SentenceTransformerEmbedder
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database
from mcp_server_checkpoints.storage.sqlite.search import search
from mcp_server_checkpoints.storage.sqlite.semantic import SemanticIndex

pytest.importorskip("sentence_transformers", reason="needs the `semantic` extra")
pytestmark = pytest.mark.slow

from tests.storage.test_semantic_model import embedder  # noqa: E402,F401  (the session-scoped model)

TOPICS = [
    "We reworked the dashboard's colour palette, moved the charts into a two-column grid and fixed the tooltip "
    "that overflowed on narrow screens; the designer wants the legend below the chart rather than beside it.",
    "The invoice generator now rounds each line before summing, which matches what the accountants do by hand; "
    "the PDF footer shows the VAT number and the payment terms, and credit notes get their own sequence.",
    "Kubernetes manifests were split per environment with kustomize overlays; staging uses two replicas, "
    "production four, and the readiness probe waits for the migrations job before traffic is sent.",
    "The nightly backup job to S3 failed because the IAM role was missing s3:PutObject on the bucket prefix; "
    "after adding the permission the dump of the Postgres database uploaded in four minutes.",
    "Onboarding emails are queued through the worker now instead of being sent inside the request; the "
    "template renders the user's first name and a link that expires after forty-eight hours.",
    "Flaky end-to-end tests were traced to a race between the websocket reconnect and the first render; "
    "waiting for the connection event before asserting made the suite pass fifty times in a row.",
]
DETAIL = 3  # the backup paragraph, in the middle of the session
QUESTION = "why did the overnight copy of our data to amazon cloud storage break?"


def session_text(rounds: int = 6) -> str:
    """A long session that keeps switching topics (~1,100 words): each topic comes back several times."""
    parts = []
    for r in range(rounds):
        for i, topic in enumerate(TOPICS):
            if i != DETAIL or r == rounds // 2:  # the detail is said once, mid-session
                parts.append(f"Turn {r * len(TOPICS) + i}: {topic}")
    return "\n\n".join(parts)


def long_checkpoint(title: str) -> CheckpointFields:
    return CheckpointFields(title=title, goal="Keep the product running", summary=session_text())


def test_a_mid_session_detail_is_found_by_its_passage(store: SQLiteCheckpointStore,
                                                      embedder: SentenceTransformerEmbedder) -> None:  # noqa: F811
    target = store.save(long_checkpoint("Tuesday session")).id
    for title in ("Frontend polish", "Billing fixes", "Cluster set-up"):  # short checkpoints on the other topics
        store.save(CheckpointFields(title=title, goal=TOPICS[("Frontend polish", "Billing fixes", "Cluster set-up")
                                                             .index(title)]))
    store.semantic = SemanticIndex.ready_with(store.db, embedder)
    while store.semantic.embed_pending():
        pass
    assert store.semantic.passage_index is not None and len(store.semantic.passage_index) >= 5
    assert search(store.db, store.semantic, QUESTION, statuses=["any"], options=RankingOptions(mode="lexical")).hits == []
    out = search(store.db, store.semantic, QUESTION, statuses=["any"])
    assert out.hits[0].id == target, [(h.title, h.semantic) for h in out.hits]
    assert out.hits[0].matched is not None and "bucket prefix" in out.hits[0].matched
    one_vector = search(store.db, store.semantic, QUESTION, statuses=["any"],
                        options=RankingOptions(mode="semantic", passages=False)).hits
    assert (one_vector[0].semantic or 0.0) < (out.hits[0].semantic or 0.0) - 0.03  # measured 0.29 vs 0.35


def test_warming_then_passages_and_another_process_saves(db_path: Path,
                                                         embedder: SentenceTransformerEmbedder) -> None:  # noqa: F811
    """While the model loads, search is lexical; once ready, the worker embeds the queued long checkpoint's
    passages, and a long checkpoint another process saved (lexical-only there) is embedded here too."""
    gate = threading.Event()

    def loader() -> SentenceTransformerEmbedder:
        gate.wait(60)
        return embedder

    store = SQLiteCheckpointStore(open_database(db_path))
    store.semantic = SemanticIndex(store.db, loader)
    store.semantic.start()
    try:
        mine = store.save(long_checkpoint("Tuesday session")).id
        warming = store.search_with_state(QUESTION, statuses=["any"])
        assert warming.semantic == "warming" and warming.hits == []

        env = {k: v for k, v in os.environ.items() if not k.startswith("CHECKPOINTS_")} | {"CHECKPOINTS_SEMANTIC": "false"}
        params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_server_checkpoints", "--db", str(db_path)],
                                       env=env)

        async def other_process_saves() -> str:
            async with Client(params) as other:
                res = await other.call_tool("save_checkpoint", {"title": "Wednesday session", "goal": "Ops work",
                                                                 "summary": session_text(), "project": "other"})
                assert not res.is_error and res.structured_content is not None
                return str(res.structured_content["id"])

        theirs = anyio.run(other_process_saves)
        gate.set()
        assert store.semantic.wait_ready(60)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            store.search("anything")  # a search notices the other process's row and wakes the worker
            with store.db.read() as c:
                have = {r[0].split("#")[0] for r in c.execute("SELECT ref FROM vectors WHERE kind = 'passage'")}
            if {mine, theirs} <= have and store.semantic.embedded >= 2:
                break
            time.sleep(0.2)
        for cid, project in ((mine, None), (theirs, "other")):
            hits = store.search_with_state(QUESTION, statuses=["any"], project=project)
            assert hits.semantic == "ready" and hits.hits[0].id == cid
            assert hits.hits[0].matched is not None and "bucket prefix" in hits.hits[0].matched
    finally:
        store.semantic.stop()
        store.db.close()
