"""Skimming tool-result lines (not decoding them) reads every transcript exactly as decoding every line does."""

from __future__ import annotations

import json

import pytest

from mcp_server_checkpoints.integrations.claude_code import transcript as tr
from tests.integrations.transcript_fixtures import Builder, large_session, modern_session, session


def _tail_cases() -> dict[str, str]:
    """Shapes where a skimmed line carries what the transcript ends with, or must not be skimmed."""
    moved = Builder()
    moved.user("Fix the flaky test")
    moved.tool("Read", {"file_path": "/home/dev/shop-api/test/a.js"}, result="x")
    moved.branch, moved.cwd, moved.session = "other-branch", "/home/dev/elsewhere", "later-session"
    # the last lines: a tool call (decoded) and its result (skimmed), which alone names the new branch's version
    moved.tool("Bash", {"command": "npm test"}, result="PASS")
    moved.lines[-1] = moved.lines[-1].replace('"version": "2.1.0"', '"version": "2.1.9"')

    cut = Builder().user("Run the tests").tool("Bash", {"command": "npm test"}, result="PASS " * 50)
    cut.lines[-1] = cut.lines[-1][:-40]  # the write was cut short: a malformed line, as decoding counts it

    tasks = Builder().user("Plan it")
    tasks.call("TaskCreate", {"subject": "Write the fix", "activeForm": "Writing"}, result="Task #7 created successfully")
    tasks.call("Agent", {"description": "Find call sites"}, result="Found it in src/pay/fx.py and src/pay/tax.py.")

    with_text = Builder().user("Go")
    with_text.call("Read", {"file_path": "/a/b.py"})
    tid = json.loads(with_text.lines[-1])["message"]["content"][0]["tool_use_id"]
    with_text.user([{"type": "tool_result", "tool_use_id": tid, "content": "ok"},
                    {"type": "text", "text": "and also check the docs"}])

    odd = Builder().user("Go").tool("Read", {"file_path": "/a/c.py"}, result="ok")
    odd.lines[-1] = odd.lines[-1].replace('"type": "user"', '"type": "brand-new-kind"')  # unknown, at the end
    no_git = Builder(branch="").user("Not a repository").tool("Read", {"file_path": "/tmp/x.py"}, result="ok")
    return {"moved": moved.text(), "cut": cut.text(), "tasks": tasks.text(), "with_text": with_text.text(),
            "odd": odd.text(), "no_git": no_git.text()}


CASES = {"session": session(big_result_bytes=64 * 1024).text(), "modern": modern_session().text(),
         "large": large_session(400_000).text(), **_tail_cases()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_skimming_reads_the_same_as_decoding_every_line(name: str) -> None:
    text = CASES[name]
    assert tr.parse(text) == tr.parse(text, skim=False)


def test_the_cases_reach_what_they_are_about() -> None:
    moved = tr.parse(CASES["moved"])
    assert (moved.git_branch, moved.cwd, moved.version) == ("other-branch", "/home/dev/elsewhere", "2.1.9")
    assert tr.parse(CASES["cut"]).bad_lines == 1
    tasks = tr.parse(CASES["tasks"])
    assert [t["content"] for t in tasks.todos] == ["Write the fix"] and tasks.agent_results
    assert "src/pay/fx.py" in tasks.files
    assert tr.parse(CASES["with_text"]).requests == ["Go", "and also check the docs"]
    assert tr.parse(CASES["odd"]).unknown_types == {"brand-new-kind": 1}


def test_a_result_of_a_call_the_reader_needs_nothing_from_is_skimmed() -> None:
    b = Builder().user("Go").tool("Read", {"file_path": "/a/b.py"}, result="contents " * 100)
    b.task_create("Write the fix", result_id="3")
    reader = tr._Reader()
    read_call, read_result, *task_lines = b.lines[1:]
    reader.line(json.loads(read_call))
    assert reader.skim(read_result)  # a Read's output: only the call it answers counts
    for line in task_lines[:-1]:
        reader.line(json.loads(line))
    assert not reader.skim(task_lines[-1])  # a TaskCreate's result names the task's id: decoded
    assert not reader.skim(b.lines[0])  # the user's request
