"""Claude Code's summary stored as the next version of the session's lineage, once, from either hook."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.integrations.claude_code import hooks
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database
from tests.integrations.transcript_fixtures import MODERN_CWD, MODERN_SESSION, compact_summary_text, modern_session


@pytest.fixture
def store(tmp_path: Path) -> SQLiteCheckpointStore:
    return SQLiteCheckpointStore(open_database(tmp_path / "s.db"))


def summary_input(transcript: Path, text: str | None = None) -> dict[str, object]:
    return {"session_id": MODERN_SESSION, "transcript_path": str(transcript), "cwd": MODERN_CWD,
            "hook_event_name": "PostCompact", "trigger": "auto",
            "compact_summary": compact_summary_text() if text is None else text}


def test_the_summary_becomes_the_child_of_the_pre_compact_capture(tmp_path: Path, store: SQLiteCheckpointStore) -> None:
    transcript = modern_session().write(tmp_path / "t.jsonl")
    pre = hooks.capture(summary_input(transcript), store, source="pre-compact", trigger="auto")
    saved = hooks.store_summary(summary_input(transcript), store, lock_dir=tmp_path)
    assert pre and saved and saved.parent_id == pre.id
    cp = store.get(saved.id, with_payload=False)
    assert "compact-summary" in cp.tags and cp.summary == compact_summary_text()
    assert cp.title == "Invoice rounding (banker's)"  # the capture's title: the user's own
    assert cp.next_step == "Update billing/tax.py line 41 to use bankers_round, then run the tests."
    assert cp.completed == ["Reproduce the rounding bug"]  # only the task list knew it
    assert [f.path for f in cp.files][:2] == ["billing/totals.py", "tests/test_totals.py"]
    assert "billing/rates.py" in [f.path for f in cp.files]  # a file only the capture saw survives
    assert [c.id for c in store.lineage(saved.id)] == [pre.id, saved.id]
    assert store.latest_in_session(MODERN_SESSION).id == saved.id  # type: ignore[union-attr]


def test_the_same_summary_is_stored_once(tmp_path: Path, store: SQLiteCheckpointStore) -> None:
    transcript = modern_session().write(tmp_path / "t.jsonl")
    assert hooks.store_summary(summary_input(transcript), store, lock_dir=tmp_path) is not None
    assert hooks.store_summary(summary_input(transcript), store, lock_dir=tmp_path) is None
    later = compact_summary_text().replace("Update the changelog", "Release 2.0")  # the next compaction
    assert hooks.store_summary(summary_input(transcript, later), store, lock_dir=tmp_path) is not None
    assert store.count() == 2


def test_secrets_in_the_summary_are_redacted_and_it_is_still_stored_once(tmp_path: Path,
                                                                         store: SQLiteCheckpointStore) -> None:
    text = compact_summary_text().replace("keeping the public API", "with key AKIAIOSFODNN7EXAMPLQ, keeping the API")
    transcript = modern_session().write(tmp_path / "t.jsonl")
    saved = hooks.store_summary(summary_input(transcript, text), store, lock_dir=tmp_path)
    assert saved and sum(saved.redactions.values()) >= 1
    cp = store.get(saved.id, with_payload=False)
    assert cp.summary and "AKIAIOSFODNN7EXAMPLQ" not in cp.summary + cp.goal
    assert hooks.store_summary(summary_input(transcript, text), store, lock_dir=tmp_path) is None


def test_no_summary_is_an_error_for_the_log(tmp_path: Path, store: SQLiteCheckpointStore) -> None:
    with pytest.raises(ValueError, match="no compact_summary"):
        hooks.store_summary({"session_id": "x", "compact_summary": "  "}, store)


def test_session_start_finds_the_summary_at_the_transcripts_end(tmp_path: Path) -> None:
    b = modern_session()
    b.system("compact_boundary", parentUuid=None, compactMetadata={"trigger": "manual", "preTokens": 150000})
    b.user(compact_summary_text(), isCompactSummary=True, isVisibleInTranscriptOnly=True)
    transcript = b.write(tmp_path / "t.jsonl")
    hook = {"transcript_path": str(transcript)}
    assert hooks.summary_in_transcript(hook) == (compact_summary_text(), "manual")
    # written before the latest checkpoint: an earlier compaction's summary, not this one's
    assert hooks.summary_in_transcript(hook, since="2026-11-23T00:00:00Z") == (None, None)
    assert hooks.summary_in_transcript(hook, since="2026-11-21T00:00:00Z")[0] == compact_summary_text()
    assert hooks.summary_in_transcript({"transcript_path": str(tmp_path / "none.jsonl")}) == (None, None)
    assert hooks.summary_in_transcript({}) == (None, None)


@pytest.mark.slow
def test_post_compact_hands_the_summary_to_a_detached_process(tmp_path: Path) -> None:
    """The real path: post-compact returns at once, and `hook store-summary` saves the version."""
    import time

    settings = Settings(db=tmp_path / "real.db", hook_log=tmp_path / "hooks.log")
    transcript = modern_session().write(tmp_path / "t.jsonl")
    assert hooks.run("post-compact", __import__("json").dumps(summary_input(transcript)), settings) == ""
    store = SQLiteCheckpointStore(open_database(settings.db))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "store-summary" not in settings.hook_log.read_text():
        time.sleep(0.2)
    cp = store.latest_in_session(MODERN_SESSION)
    assert cp is not None and "compact-summary" in cp.tags
    assert "store-summary saved" in settings.hook_log.read_text()
