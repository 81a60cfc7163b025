"""recover with the real model when two work-streams fit a request about equally: it asks, it does not guess.

A held-out scenario: two open auth work-streams ("JWT refresh tokens for the API", "OAuth login for
the web app") and a request naming only what they share ("the auth work"). Offering one of them to
confirm (as recover once did, at 0.85) hides the other; the specification's "several close
matches" row asks the user to choose. A request naming one of them still gets that one.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from mcp_server_checkpoints.domain.time import utcnow
from mcp_server_checkpoints.recovery.service import recover
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore
from mcp_server_checkpoints.storage.sqlite.semantic import SemanticIndex

pytest.importorskip("sentence_transformers", reason="needs the `semantic` extra")
pytestmark = pytest.mark.slow

from tests.storage.test_semantic_model import embedder  # noqa: E402,F401  (the session-scoped model)

WORK = [
    ("JWT refresh tokens for the API", "Add refresh-token rotation to the REST API's JWT authentication",
     "Write the tests for the /auth/refresh endpoint"),
    ("OAuth login for the web app", "Let users sign in to the web app with Google OAuth",
     "Handle the OAuth callback and store the session"),
    ("Invoice PDF export", "Let accountants download monthly invoices as PDF", "Paginate long invoices"),
    ("Dark mode for the dashboard", "Add a dark colour scheme toggle to the web dashboard", "Persist the choice"),
]


@pytest.fixture
def streams(store: SQLiteCheckpointStore, embedder) -> list[str]:  # type: ignore[no-untyped-def]  # noqa: F811
    now = utcnow()
    ids = [store.save(CheckpointFields(title=t, goal=g, next_step=n, status="paused"), now=now - timedelta(hours=2)).id
           for t, g, n in WORK]
    store.semantic = SemanticIndex.ready_with(store.db, embedder)
    while store.semantic.embed_pending():
        pass
    return ids


@pytest.mark.parametrize("message", ["let's continue the auth work", "can we get back to the authentication stuff?",
                                     "where were we with the login and tokens?"])
def test_two_close_auth_streams_give_choose(store: SQLiteCheckpointStore, streams: list[str], message: str) -> None:
    r = recover(store, message)
    assert r.action == "choose", (r.confidence, r.reasons, [(c.title, c.score) for c in r.candidates])
    assert {c.id for c in r.candidates[:2]} == set(streams[:2])


@pytest.mark.parametrize(("message", "want"), [("let's continue the JWT refresh token work", 0),
                                               ("let's get back to the Google OAuth sign-in", 1)])
def test_naming_one_stream_still_confirms_it(store: SQLiteCheckpointStore, streams: list[str], message: str,
                                             want: int) -> None:
    r = recover(store, message)
    assert r.action == "confirm" and r.candidates[0].id == streams[want], (r.reasons, r.candidates)
