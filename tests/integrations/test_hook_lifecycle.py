"""session-end and the compaction path (pre-compact → post-compact → session-start) as real subprocesses."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mcp_server_checkpoints.domain.time import iso, utcnow
from tests.integrations.test_hooks import Env, compact_input, start_input
from tests.integrations.transcript_fixtures import (
    MODERN_CWD,
    MODERN_SESSION,
    Builder,
    compact_summary_text,
    modern_session,
)

pytestmark = pytest.mark.slow


def end_input(transcript: Path, reason: str = "prompt_input_exit") -> dict[str, object]:
    return {"session_id": MODERN_SESSION, "transcript_path": str(transcript), "cwd": MODERN_CWD,
            "hook_event_name": "SessionEnd", "reason": reason}


def wait_for(log: Path, text: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = log.read_text() if log.exists() else ""
        if text in found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not in the hook log")


def test_session_end_saves_a_session_that_never_compacted(tmp_path: Path) -> None:
    env = Env(tmp_path)
    transcript = modern_session().write(tmp_path / "t.jsonl")
    res = env.hook("session-end", end_input(transcript))
    assert res.returncode == 0 and res.stdout == "" and res.stderr == ""
    cp = env.store().latest_in_session(MODERN_SESSION)
    assert cp is not None and cp.tags == ["auto", "session-end", "prompt_input_exit"]
    assert cp.next_step == "Switch to banker's rounding" and cp.project == MODERN_CWD
    again = env.hook("session-end", end_input(transcript, "exit"))  # nothing new since: no second checkpoint
    assert again.returncode == 0 and env.store().count() == 1
    assert "session-end saved nothing" in env.log.read_text()


def test_session_end_skips_trivial_sessions(tmp_path: Path) -> None:
    env = Env(tmp_path)
    for i, b in enumerate((Builder(session=MODERN_SESSION).say("Hi!"),
                           Builder(session=MODERN_SESSION).user("hello").say("Hello! What shall we do?"))):
        assert env.hook("session-end", end_input(b.write(tmp_path / f"{i}.jsonl"))).returncode == 0
    assert not env.db.exists() or env.store().count() == 0


def test_compaction_path_stores_the_summary_and_injects_only_what_it_lacks(tmp_path: Path) -> None:
    env = Env(tmp_path)
    b = modern_session()
    transcript = b.write(tmp_path / "t.jsonl")
    assert env.hook("pre-compact", {**compact_input(transcript), "session_id": MODERN_SESSION,
                                    "cwd": MODERN_CWD}).returncode == 0
    pre = env.store().latest_in_session(MODERN_SESSION)
    assert pre is not None
    # Claude Code compacts: the boundary and the summary line are appended, then the hooks run.
    b.system("compact_boundary", parentUuid=None, compactMetadata={"trigger": "auto", "preTokens": 160000},
             timestamp=iso(utcnow()))
    b.user(compact_summary_text(), isCompactSummary=True, timestamp=iso(utcnow()))
    b.write(transcript)
    post = env.hook("post-compact", {"session_id": MODERN_SESSION, "transcript_path": str(transcript),
                                     "cwd": MODERN_CWD, "hook_event_name": "PostCompact", "trigger": "auto",
                                     "compact_summary": compact_summary_text()})
    assert post.returncode == 0 and post.stdout == ""
    out = env.hook("session-start", {**start_input("compact", MODERN_SESSION), "transcript_path": str(transcript),
                                     "cwd": MODERN_CWD})
    ctx = json.loads(out.stdout)["hookSpecificOutput"]["additionalContext"]
    assert "adds only what it knows beyond that summary" in ctx and len(ctx) <= 8000
    assert "billing/rates.py" in ctx  # a file the summary does not name
    assert "- billing/totals.py" not in ctx  # one it does
    wait_for(env.log, "store-summary saved")
    time.sleep(0.5)  # the second hand-off, if any, finishes meanwhile
    log = env.log.read_text()
    assert log.count("store-summary saved checkpoint-") == 1  # post-compact and session-start: one version, not two
    lineage = env.store().lineage(pre.id)
    assert [c.id for c in lineage][0] == pre.id and len(lineage) == 2 and "compact-summary" in lineage[1].tags


def test_without_post_compact_session_start_stores_each_new_summary(tmp_path: Path) -> None:
    """Older Claude Code runs no PostCompact hook: session-start finds each compaction's summary itself."""
    env = Env(tmp_path)
    b = modern_session()
    transcript = b.write(tmp_path / "t.jsonl")
    start = {**start_input("compact", MODERN_SESSION), "transcript_path": str(transcript), "cwd": MODERN_CWD}
    for n, text in enumerate((compact_summary_text(), compact_summary_text().replace("Update the changelog",
                                                                                    "Tag release 2.1")), 1):
        env.hook("pre-compact", {**compact_input(transcript), "session_id": MODERN_SESSION, "cwd": MODERN_CWD})
        b.system("compact_boundary", compactMetadata={"trigger": "manual"}, timestamp=iso(utcnow()))
        b.user(text, isCompactSummary=True, timestamp=iso(utcnow()))
        b.write(transcript)
        assert "beyond that summary" in env.hook("session-start", start).stdout
        deadline = time.monotonic() + 60
        while env.log.read_text().count("store-summary saved") < n and time.monotonic() < deadline:
            time.sleep(0.2)
    latest = env.store().latest_in_session(MODERN_SESSION)
    assert latest is not None and latest.summary is not None and "Tag release 2.1" in latest.summary
    assert "manual" in latest.tags and len(env.store().lineage(latest.id)) == 4  # capture, summary, capture, summary
