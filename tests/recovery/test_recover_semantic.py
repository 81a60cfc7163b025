"""recover with the real packaged model: paraphrased resume requests find their work (slow: loads the model)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mcp_server_checkpoints.domain.time import utcnow
from mcp_server_checkpoints.recovery.service import recover, semantic_match
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore
from mcp_server_checkpoints.storage.sqlite.semantic import SemanticIndex

pytest.importorskip("sentence_transformers", reason="needs the `semantic` extra")
pytestmark = pytest.mark.slow

from tests.storage.test_semantic_model import FIXTURES, embedder  # noqa: E402,F401  (the session-scoped model)

REQUESTS = {
    "let's get back to the login token work": 0,
    "where were we with the billing documents customers download?": 1,
    "let's continue fixing the intermittently failing browser check": 2,
    "resume switching our database engine": 3,
}


def test_paraphrased_requests_confirm_the_right_work(store: SQLiteCheckpointStore, embedder) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    now = utcnow()
    ids = [store.save(CheckpointFields(title=t, goal=g, next_step=f"continue: {hint}"), now=now - timedelta(hours=2)).id
           for t, g, hint in FIXTURES]
    store.semantic = SemanticIndex.ready_with(store.db, embedder)
    while store.semantic.embed_pending():
        pass
    for message, want in REQUESTS.items():
        r = recover(store, message, now=now)
        assert r.action == "confirm" and r.candidates[0].id == ids[want], (message, r.reasons)
    assert recover(store, "let's continue the kubernetes helm chart", now=now).action == "none"


def test_semantic_match_scale() -> None:
    assert semantic_match(None) == 0.0 and semantic_match(0.1) == 0.0
    assert semantic_match(0.40) == 1.0 and 0.5 < semantic_match(0.30) < 0.7
