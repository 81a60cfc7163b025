"""Reading a transcript: requests, the TodoWrite list, edits, sidechains, malformed and cut-off lines."""

from __future__ import annotations

from mcp_server_checkpoints.integrations.claude_code import transcript as tr
from tests.integrations.transcript_fixtures import CWD, FIRST_REQUEST, SESSION, Builder, session


def test_parse_realistic_session() -> None:
    t = tr.parse(session().text())
    assert t.first_request == FIRST_REQUEST  # not the /clear command, caveat, reminder or compaction summary
    assert t.last_request == "Use RS256 please, the gateway verifies tokens too"
    assert [x["status"] for x in t.todos] == ["completed", "in_progress", "pending"]  # the latest, not the sidechain's
    assert t.task_tool == "TodoWrite"
    assert {p for p, f in t.files.items() if f.edits} == {"/home/dev/shop-api/src/auth.js",
                                                          "/home/dev/shop-api/src/middleware.js"}
    assert t.files["/home/dev/shop-api/src/auth.js"].created and t.files["/home/dev/shop-api/src/auth.js"].edits == 2
    assert t.last_assistant is not None and t.last_assistant.startswith("Switched signing to RS256")
    assert t.last_plan == t.last_assistant  # "Next I'll finish the middleware."
    assert t.git_branch == "feature/jwt" and t.cwd == CWD and t.session_id == SESSION
    assert t.compact_summary is not None and "Primary Request" in t.compact_summary and t.compactions == 1
    assert t.bad_lines == 3  # two malformed lines and the cut-off last turn
    assert "Sidechain request from a subagent" not in t.requests
    assert not t.unknown_types


def test_text_may_hold_unicode_line_separators() -> None:
    t = tr.parse(Builder().user("first part\u2028second part").say("ok").text())
    assert t.lines == 2 and t.bad_lines == 0 and t.first_request == "first part\u2028second part"


def test_empty_and_garbage_transcripts() -> None:
    assert tr.parse(b"").first_request is None
    t = tr.parse(b"\xff\xfe garbage\n[1,2]\n{}\n")
    assert t.bad_lines == 2 and t.first_request is None and t.unknown_types == {"None": 1}
