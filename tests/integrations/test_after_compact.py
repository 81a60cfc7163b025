"""After a compaction, session-start injects only what the checkpoint knows beyond Claude Code's summary."""

from __future__ import annotations

from mcp_server_checkpoints.domain.records import Checkpoint, DecisionRecord, FileRecord
from mcp_server_checkpoints.integrations.claude_code import after_compact
from tests.integrations.transcript_fixtures import compact_summary_text


def checkpoint(**kw: object) -> Checkpoint:
    base: dict[str, object] = dict(
        id="ckpt_20261122_rounding_ab12", title="Invoice rounding", goal="fix rounding", status="in-progress",
        created_at="2026-11-22T10:00:00Z", updated_at="2026-11-22T10:00:00Z",
        next_step="Switch to banker's rounding", completed=["Reproduce the rounding bug"],
        remaining=["Switch billing/tax.py to banker's rounding", "Update the changelog", "Tell QA about the fix"],
        files=[FileRecord("billing/totals.py", "edited"), FileRecord("/home/dev/billing/tests/test_totals.py", "1×"),
               FileRecord("billing/rates.py", "read")],
        decisions=[DecisionRecord("Keep the float API and convert at the edge", "callers pass floats")],
        preferences=["Never use floats for money, always Decimal"])
    base.update(kw)
    return Checkpoint(**base)  # type: ignore[arg-type]


def test_only_what_the_summary_lacks() -> None:
    text = after_compact.render_delta(checkpoint(), compact_summary_text())
    assert "ckpt_20261122_rounding_ab12" in text and "only what it knows beyond that summary" in text
    assert "Next immediate step (exact): Switch to banker's rounding" in text
    assert "Tell QA about the fix" in text and "Update the changelog" not in text  # the summary lists that one
    assert "billing/rates.py: read" in text and "billing/totals.py" not in text and "test_totals.py" not in text
    assert "Keep the float API and convert at the edge" in text
    assert "Never use floats" not in text  # the summary quotes it
    assert "Reproduce the rounding bug" in text  # done, but the summary does not say so
    assert "(5 items the summary already covers left out; open_checkpoint" in text


def test_within_the_token_budget() -> None:
    cp = checkpoint(remaining=[f"Unrelated task number {i} about module m{i}" for i in range(400)])
    text = after_compact.render_delta(cp, compact_summary_text(), max_tokens=300)
    assert len(text) <= 1200 and "Next immediate step (exact)" in text and "cut to stay within 300 tokens" in text


def test_nothing_beyond_the_summary_is_said_so() -> None:
    cp = checkpoint(next_step=None, remaining=[], files=[], decisions=[], preferences=[], completed=[])
    text = after_compact.render_delta(cp, compact_summary_text())
    assert "holds nothing the summary lacks" in text


def test_message_text() -> None:
    assert after_compact.message_text({"message": {"content": "plain"}}) == "plain"
    assert after_compact.message_text({"message": {"content": [{"type": "text", "text": "a"},
                                                               {"type": "image"}]}}) == "a"
    assert after_compact.message_text({"message": None}) is None
