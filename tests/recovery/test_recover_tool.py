"""The recover tool through the in-memory MCP client: the specification's examples and rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.domain.time import utcnow
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.server import AppState, build_server, open_state

pytestmark = pytest.mark.anyio

JWT = dict(title="JWT authentication", goal="Add JWT authentication to the API", progress=60,
           next_step="Implement token refresh endpoint", files=[{"path": "auth.js", "change": "login"}],
           completed=["login endpoint"])
MIGRATION = dict(title="Database migration implementation", goal="Migrate the users table to Postgres",
                 progress=75, next_step="Test rollback procedure", completed=["schema converted"])
BILLING = dict(title="Stripe billing webhooks", goal="Handle invoice.paid webhooks", progress=30,
               next_step="Verify webhook signatures")


@pytest.fixture
def state(tmp_path: Path) -> AppState:
    return open_state(Settings(db=tmp_path / "r.db"))


@pytest.fixture
async def rclient(state: AppState) -> AsyncIterator[Client]:
    async with Client(build_server(state.settings, state)) as c:
        yield c


def put(state: AppState, hours: float, status: str | None = None, **fields: Any) -> str:
    cid = state.store.save(CheckpointFields.model_validate(fields), now=utcnow() - timedelta(hours=hours)).id
    if status:
        state.store.set_status(cid, status)
    return cid


async def recover(c: Client, **args: Any) -> dict[str, Any]:
    res = await c.call_tool("recover", args)
    assert not res.is_error, res.content
    assert res.structured_content is not None
    return dict(res.structured_content)


async def test_example1_formatted_jwt_continuation_applies(state: AppState, rclient: Client) -> None:
    jwt = put(state, 1, **JWT)
    put(state, 2, **MIGRATION)
    r = await recover(rclient, message="Continue work on: JWT authentication\n\nProgress: 60% complete\n"
                                       "Next: Implement token refresh endpoint\nFiles: auth.js, middleware.js")
    assert r["action"] == "apply" and r["confidence"] >= 0.9
    assert r["candidates"][0]["id"] == jwt and "formatted continuation" in r["reasons"]
    assert "CONTEXT RECOVERED" in r["text"] and "Implement token refresh endpoint" in r["text"]
    cp = state.store.get(jwt)
    assert cp.status == "resumed" and (cp.history[-1].note or "").startswith("Resumed at: ")


async def test_example2_natural_request_confirms_then_applies(state: AppState, rclient: Client) -> None:
    jwt = put(state, 3, **JWT)
    put(state, 5, **BILLING)
    r = await recover(rclient, message="Let's continue the API authentication we were building")
    assert r["action"] == "confirm" and 0.7 <= r["confidence"] < 0.9
    assert r["candidates"][0]["id"] == jwt and "age 3 h" in r["reasons"]
    assert "Found incomplete work from 3 hours ago" in r["text"] and "60% complete" in r["text"]
    assert state.store.get(jwt).status == "in-progress"  # nothing applied before the user says yes
    yes = await recover(rclient, checkpoint_id=jwt)
    assert yes["action"] == "apply" and state.store.get(jwt).status == "resumed"


async def test_example3_proactive_hello_offers_recent_migration(state: AppState, rclient: Client) -> None:
    mig = put(state, 2, **MIGRATION)
    r = await recover(rclient, message="Hello")
    assert r["action"] == "confirm" and r["candidates"][0]["id"] == mig
    assert "proactive check at conversation start" in r["reasons"]
    for part in ("Found incomplete work from 2 hours ago", "Database migration implementation", "75% complete",
                 "Next: Test rollback procedure", "Continue where we left off?"):
        assert part in r["text"]


async def test_unrelated_message_without_recent_work_is_none(state: AppState, rclient: Client) -> None:
    put(state, 30, **MIGRATION)  # older than the proactive window
    r = await recover(rclient, message="write a haiku about autumn")
    assert r["action"] == "none" and r["candidates"] == []


async def test_unrelated_message_with_recent_work_is_only_an_offer(state: AppState, rclient: Client) -> None:
    put(state, 1, **MIGRATION)
    r = await recover(rclient, message="write a haiku about autumn")
    assert r["action"] == "confirm" and r["confidence"] < 0.7


async def test_not_found_template(state: AppState, rclient: Client) -> None:
    put(state, 1, **JWT)
    r = await recover(rclient, message="let's continue the kubernetes helm chart work")
    assert r["action"] == "none"
    assert r["text"].startswith('🔍 Searched memory but no recent checkpoint found for "kubernetes helm chart"')


async def test_several_close_matches_choose(state: AppState, rclient: Client) -> None:
    a = put(state, 2, **JWT)
    b = put(state, 3, **{**JWT, "title": "JWT authentication for admin API"})
    r = await recover(rclient, message="Let's continue the JWT authentication")
    assert r["action"] == "choose" and {c["id"] for c in r["candidates"]} == {a, b}
    assert "1. " in r["text"] and "2. " in r["text"] and a in r["text"]


async def test_staleness(state: AppState, rclient: Client) -> None:
    old = put(state, 24 * 9, **JWT)
    r = await recover(rclient, message="Continue work on: JWT authentication\nNext: Implement token refresh endpoint")
    assert r["action"] == "choose" and "older than 7 days" in r["reasons"]
    r = await recover(rclient, message=f"resume {old}")
    assert r["action"] == "confirm" and "older than 7 days: confirm before applying" in r["reasons"]
    assert state.store.get(old).status == "in-progress"


async def test_medium_age_formatted_confirms(state: AppState, rclient: Client) -> None:
    put(state, 10, **JWT)
    r = await recover(rclient, message="Continue work on: JWT authentication\nNext: Implement token refresh endpoint")
    assert r["action"] == "confirm"


@pytest.mark.parametrize("status", ["completed", "abandoned"])
async def test_finished_work_never_offered(state: AppState, rclient: Client, status: str) -> None:
    put(state, 1, status=status, **JWT)
    for message in ("Hello", "Continue work on: JWT authentication", "let's continue the JWT authentication"):
        r = await recover(rclient, message=message)
        assert r["action"] == "none" and r["candidates"] == []


async def test_trivial_work_not_presented(state: AppState, rclient: Client) -> None:
    put(state, 1, **{**JWT, "progress": 100})
    put(state, 1, title="Scratch", goal="nothing really")  # nothing done, nothing pending
    assert (await recover(rclient, message="Hello"))["action"] == "none"


async def test_on_hold_not_offered_proactively_but_found_by_topic(state: AppState, rclient: Client) -> None:
    held = put(state, 1, status="on-hold", **JWT)
    assert (await recover(rclient, message="Hello"))["action"] == "none"
    r = await recover(rclient, message="let's continue the JWT authentication")
    assert r["candidates"][0]["id"] == held


async def test_decline_resume_complete_transitions(state: AppState, rclient: Client) -> None:
    mig = put(state, 2, **MIGRATION)
    r = await recover(rclient, message="Hello")
    assert r["action"] == "confirm"
    declined = await rclient.call_tool("mark_status", {"id": mig, "status": "on-hold", "note": "user declined"})
    assert declined.structured_content and declined.structured_content["status"] == "on-hold"
    assert (await recover(rclient, message="Hello"))["action"] == "none"  # declined work is not offered again

    applied = await recover(rclient, checkpoint_id=mig)
    assert applied["action"] == "apply"
    later = await rclient.call_tool("save_checkpoint", {**MIGRATION, "progress": 90, "next_step": "Ship it"})
    assert later.structured_content and later.structured_content["parent_id"] == mig  # linked forward
    child = later.structured_content["id"]
    again = await rclient.call_tool("save_checkpoint", {**MIGRATION, "progress": 95})
    assert again.structured_content and again.structured_content["parent_id"] == child  # the chain follows

    done = await rclient.call_tool("mark_status", {"id": again.structured_content["id"], "status": "completed",
                                                   "note": "migration shipped"})
    assert done.structured_content
    history = [(h["status"], h["note"]) for h in done.structured_content["history"]]
    assert history == [("in-progress", None), ("completed", "migration shipped")]
    full = [(h.status, h.note) for h in state.store.history(mig)]
    assert [s for s, _ in full] == ["in-progress", "on-hold", "resumed"] and full[1][1] == "user declined"
    assert (await recover(rclient, message="let's continue the database migration"))["action"] == "none"


async def test_unknown_explicit_id(state: AppState, rclient: Client) -> None:
    r = await recover(rclient, message="resume checkpoint-2026-01-01-nothing-abc123")
    assert r["action"] == "none"
    res = await rclient.call_tool("recover", {"checkpoint_id": "checkpoint-2026-01-01-nothing-abc123"})
    assert res.is_error and "no checkpoint" in res.content[0].text  # type: ignore[union-attr]


async def test_project_scoping(tmp_path: Path) -> None:
    state = open_state(Settings(db=tmp_path / "p.db", project="/repo/a"))
    put(state, 1, project="/repo/b", **MIGRATION)
    async with Client(build_server(state.settings, state)) as c:
        assert (await recover(c, message="Hello"))["action"] == "none"
        assert (await recover(c, message="Hello", project="/repo/b"))["action"] == "confirm"


SUMMARY = """This session is being continued from a previous conversation that ran out of context. The conversation is
summarized below:
Analysis:
Let me go through the conversation chronologically.

Summary:
1. Primary Request and Intent:
   The user asked to add rate limiting to the public GraphQL gateway using a Redis token bucket, per API key.
2. Key Technical Concepts:
   - Token bucket algorithm, Redis Lua scripts, GraphQL middleware
3. Files and Code Sections:
   - gateway/ratelimit.lua: the atomic bucket refill script
   - gateway/middleware.ts: calls the script before resolving
4. Pending Tasks:
   - Return Retry-After headers
5. Current Work:
   Writing integration tests for burst traffic.
6. Optional Next Step:
   Add the Retry-After header to 429 responses."""


async def test_pasted_compaction_summary_applies_its_checkpoint(state: AppState, rclient: Client) -> None:
    mine = put(state, 1, title="GraphQL gateway rate limiting", goal="Rate limit the public GraphQL gateway per API key",
               summary=SUMMARY)  # summary only: still real work, not trivial
    put(state, 2, **JWT)
    put(state, 3, **MIGRATION)
    r = await recover(rclient, message=SUMMARY)
    assert r["action"] == "apply" and r["candidates"][0]["id"] == mine


async def test_pasted_summary_fitting_two_checkpoints_equally_asks(state: AppState, rclient: Client) -> None:
    a = put(state, 1, title="Gateway rate limiting for GraphQL", goal="Redis token bucket rate limiting per API key",
            next_step="Add Retry-After header")
    b = put(state, 2, title="Gateway rate limiting for REST", goal="Redis token bucket rate limiting per API key",
            next_step="Add Retry-After header")
    r = await recover(rclient, message=SUMMARY)
    assert r["action"] == "choose" and {c["id"] for c in r["candidates"][:2]} == {a, b}
