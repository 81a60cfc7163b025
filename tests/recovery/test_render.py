from __future__ import annotations

import re
from datetime import timedelta

from mcp_server_checkpoints.domain.records import Checkpoint, checkpoint_from_data
from mcp_server_checkpoints.domain.time import iso, utcnow
from mcp_server_checkpoints.recovery.render import DEFAULT_LIMIT, render_summary

NOW = utcnow()


def cp(**kw: object) -> Checkpoint:
    base: dict[str, object] = dict(
        id="checkpoint-2026-11-22-jwt-auth-7f3a9c", title="JWT auth", goal="Add JWT authentication", status="in-progress",
        progress=60, created_at=iso(NOW - timedelta(hours=3)), updated_at=iso(NOW - timedelta(hours=3)),
        completed=["login endpoint", "token signing"], files=[{"path": "auth.js", "change": "login"}],
        decisions=[{"decision": "RS256", "reasoning": "key rotation"}], next_step="Implement token refresh endpoint",
        remaining=["logout", "expiry tests"], blockers=["staging keys"], user_input_needed=["token lifetime?"],
        approaches=[{"approach": "HS256", "outcome": "failed", "note": "shared secret"}], preferences=["tabs"],
        discoveries=["express-jwt unmaintained"], resume_instructions="Run npm test first")
    base.update(kw)
    return checkpoint_from_data(base)


def test_layout_of_the_specification() -> None:
    text = render_summary(cp(), now=NOW)
    order = ["CONTEXT RECOVERED FROM CHECKPOINT", "Saved: 3 hours ago", "Original progress: 60%", "GOAL",
             "COMPLETED", "Decisions made:", "PENDING", "Next immediate step: Implement token refresh endpoint",
             "Remaining tasks:", "KEY CONTEXT", "RESUMING FROM: Implement token refresh endpoint"]
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions)


def test_faithful_every_item_appears() -> None:
    c = cp()
    text = render_summary(c, now=NOW)
    items = (c.completed + c.remaining + c.blockers + c.user_input_needed + c.preferences + c.discoveries
             + [d.decision for d in c.decisions] + [d.reasoning for d in c.decisions] + [f.path for f in c.files]
             + [a.approach for a in c.approaches] + [c.resume_instructions or ""])
    for item in items:
        assert item in text


def test_readable_without_emoji() -> None:
    plain = render_summary(cp(), now=NOW, emoji=False)
    assert not re.search(r"[\U0001F300-\U0001FAFF\u2600-\u27BF]", plain)
    assert "GOAL" in plain and "PENDING" in plain and "RESUMING FROM:" in plain


def test_truncation_keeps_goal_and_next_step_drops_oldest_least_important_first() -> None:
    big = cp(completed=[f"completed item number {i} " + "x" * 80 for i in range(200)],
             discoveries=[f"discovery {i} " + "y" * 80 for i in range(100)], summary="s" * 30_000)
    text = render_summary(big, now=NOW)
    assert len(text) <= DEFAULT_LIMIT
    assert "Add JWT authentication" in text and "Next immediate step: Implement token refresh endpoint" in text
    assert "discovery 0 " not in text  # discoveries (and the summary) go before completed items
    assert "completed item number 199" in text and "completed item number 0 " not in text  # oldest first
    assert "RS256" in text and "expiry tests" in text  # decisions and pending survive
    assert re.search(r"\[\d+ older or less important items left out", text)


def test_giant_single_field_is_cut_hard() -> None:
    text = render_summary(cp(goal="g" * 50_000), now=NOW, limit=5_000)
    assert len(text) <= 5_000 and text.endswith("[… cut to the size limit]")
