"""The mechanical capture: a read transcript turned into checkpoint fields."""

from __future__ import annotations

from mcp_server_checkpoints.integrations.claude_code import capture
from mcp_server_checkpoints.integrations.claude_code import transcript as tr
from tests.integrations.transcript_fixtures import (
    CWD,
    FIRST_REQUEST,
    MODERN_CWD,
    SESSION,
    Builder,
    modern_session,
    session,
)


def test_todowrite_session() -> None:
    text = session().text()
    fields = capture.to_checkpoint(tr.parse(text), transcript_text=text, session_id=SESSION, project=CWD,
                                   trigger="auto", parent_id=None)
    assert len(fields.title) <= 80 and fields.title.endswith("…") and FIRST_REQUEST.startswith(fields.title[:-1])
    assert fields.goal.startswith(FIRST_REQUEST) and "Latest request: Use RS256" in fields.goal
    assert fields.completed == ["Login endpoint issuing tokens"]
    assert fields.next_step == "Auth middleware" and fields.remaining == ["Auth middleware", "Refresh endpoint with rotation"]
    assert fields.progress == 33
    assert fields.current_work and fields.current_work.startswith("Switched signing to RS256")
    changes = {f.path: f.change for f in fields.files}
    assert "verifyBearer" in changes["src/middleware.js"]  # relative to the project
    assert changes["src/auth.js"].startswith("created; 2×")
    assert fields.summary and "Pending Tasks" in fields.summary
    assert fields.payload and fields.payload.transcript == text
    assert fields.payload.project_state == {"cwd": CWD, "git_branch": "feature/jwt", "lines": 27, "bad_lines": 3,
                                            "compactions": 1, "claude_code_version": "2.1.0"}
    assert "auto" in fields.tags and "pre-compact" in fields.tags and fields.session_id == SESSION
    assert fields.agent_id == "claude-code"


def test_task_tool_session() -> None:
    t = tr.parse(modern_session().text())
    fields = capture.to_checkpoint(t, transcript_text=None, session_id=None, project=MODERN_CWD, trigger="exit",
                                   parent_id=None, source="session-end")
    assert fields.title == "Invoice rounding (banker's)"
    assert fields.completed == ["Reproduce the rounding bug"] and fields.next_step == "Switch to banker's rounding"
    assert fields.remaining == ["Switch to banker's rounding", "Update the changelog"] and fields.progress == 33
    paths = [f.path for f in fields.files]
    # edited first; then written by the shell, tracked, read, named by a sub-agent
    assert paths[0] == "tests/test_totals.py"
    assert set(paths[1:3]) == {"billing\\fx.py", "billing/totals.py"} and paths[3] == "billing/rates.py"
    assert paths[4:] == ["billing/fx.py", "billing/tax.py"]  # the sub-agent's findings (newest first, as every kind)
    assert {f.path: f.change for f in fields.files}["billing/tax.py"] == "named by a sub-agent"
    assert fields.discoveries and fields.discoveries[0].startswith("Sub-agent Find other rounding call sites:")
    assert fields.summary and fields.summary.startswith("Recap: Reproduced the bug")  # no compaction summary yet
    assert fields.resume_instructions and "PR https://github.com/acme/billing/pull/214" in fields.resume_instructions
    assert fields.tags == ["auto", "session-end", "exit"]
    assert fields.payload and isinstance(fields.payload.project_state, dict)
    assert fields.payload.project_state["pr"] == {"url": "https://github.com/acme/billing/pull/214", "number": 214}
    assert fields.payload.project_state["unknown_line_types"] == {"brand-new-line-type": 1}


def test_without_a_task_list_the_last_stated_plan_is_the_next_step() -> None:
    b = Builder().user("speed up the importer").tool("Read", {"file_path": f"{CWD}/src/import.js"})
    b.say("The bottleneck is the per-row INSERT.\nNext I'll batch the inserts in src/import.js.\nThat should help.")
    fields = capture.to_checkpoint(tr.parse(b.text()), transcript_text=None, session_id=None, project=CWD,
                                   trigger=None, parent_id=None)
    assert fields.next_step == "Next I'll batch the inserts in src/import.js." and fields.remaining == []


def test_trivial_sessions() -> None:
    assert capture.is_trivial(tr.parse(Builder().say("hello").text()))  # no request
    assert capture.is_trivial(tr.parse(Builder().user("hi").say("Hello! How can I help?").text()))  # nothing done
    assert not capture.is_trivial(tr.parse(Builder().user("fix it").tool("Read", {"file_path": "a.py"}).text()))


def test_empty_transcript() -> None:
    t = tr.parse(b"\xff\xfe garbage\n[1,2]\n{}\n")
    fields = capture.to_checkpoint(t, transcript_text="", session_id=None, project=None, trigger=None, parent_id=None)
    assert fields.title == "Claude Code session" and fields.goal.startswith("(no user request")
