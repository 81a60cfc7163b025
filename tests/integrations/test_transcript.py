from __future__ import annotations

from mcp_server_checkpoints.integrations.claude_code import transcript as tr
from tests.integrations.transcript_fixtures import CWD, FIRST_REQUEST, SESSION, session


def test_parse_realistic_session() -> None:
    t = tr.parse(session().text())
    assert t.first_request == FIRST_REQUEST  # not the /clear command, caveat, reminder or compaction summary
    assert t.last_request == "Use RS256 please, the gateway verifies tokens too"
    assert [x["status"] for x in t.todos] == ["completed", "in_progress", "pending"]  # the latest, not the sidechain's
    assert set(t.files) == {"/home/dev/shop-api/src/auth.js", "/home/dev/shop-api/src/middleware.js"}
    assert t.files["/home/dev/shop-api/src/auth.js"].created and t.files["/home/dev/shop-api/src/auth.js"].edits == 2
    assert t.last_assistant is not None and t.last_assistant.startswith("Switched signing to RS256")
    assert t.git_branch == "feature/jwt" and t.cwd == CWD and t.session_id == SESSION
    assert t.compact_summary is not None and "Primary Request" in t.compact_summary and t.compactions == 1
    assert t.bad_lines == 3  # two malformed lines and the cut-off last turn
    assert "Sidechain request from a subagent" not in (t.first_request, t.last_request)


def test_to_checkpoint() -> None:
    text = session().text()
    fields = tr.to_checkpoint(tr.parse(text), transcript_text=text, session_id=SESSION, project=CWD, trigger="auto",
                              parent_id=None)
    assert len(fields.title) <= 80 and fields.title.endswith("…") and FIRST_REQUEST.startswith(fields.title[:-1])
    assert fields.goal.startswith(FIRST_REQUEST) and "Latest request: Use RS256" in fields.goal
    assert fields.completed == ["Login endpoint issuing tokens"]
    assert fields.next_step == "Auth middleware" and fields.remaining == ["Auth middleware", "Refresh endpoint with rotation"]
    assert fields.progress == 33
    assert fields.current_work and fields.current_work.startswith("Switched signing to RS256")
    changes = {f.path: f.change for f in fields.files}
    assert "verifyBearer" in changes["/home/dev/shop-api/src/middleware.js"]
    assert changes["/home/dev/shop-api/src/auth.js"].startswith("created; 2×")
    assert fields.summary and "Pending Tasks" in fields.summary
    assert fields.payload and fields.payload.transcript == text
    assert fields.payload.project_state == {"cwd": CWD, "git_branch": "feature/jwt", "lines": 27, "bad_lines": 3,
                                            "compactions": 1}
    assert "auto" in fields.tags and fields.session_id == SESSION and fields.agent_id == "claude-code"


def test_empty_and_garbage_transcripts() -> None:
    assert tr.parse(b"").first_request is None
    t = tr.parse(b"\xff\xfe garbage\n[1,2]\n{}\n")
    assert t.bad_lines == 2 and t.first_request is None
    fields = tr.to_checkpoint(t, transcript_text="", session_id=None, project=None, trigger=None, parent_id=None)
    assert fields.title == "Claude Code session" and fields.goal.startswith("(no user request")
