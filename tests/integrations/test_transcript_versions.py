"""The shapes of newer transcripts (2.1.x): task tools, titles, PR link, recaps, snapshots, sub-agents."""

from __future__ import annotations

from mcp_server_checkpoints.integrations.claude_code import transcript as tr
from tests.integrations.transcript_fixtures import MODERN_CWD, MODERN_SESSION, Builder, modern_session


def test_task_tools_replay_into_one_list() -> None:
    t = tr.parse(modern_session().text())
    assert t.task_tool == "TaskCreate"
    assert [(x["content"], x["status"]) for x in t.todos] == [
        ("Reproduce the rounding bug", "completed"), ("Switch to banker's rounding", "in_progress"),
        ("Update the changelog", "pending")]


def test_task_ids_follow_the_tool_result_and_deleted_tasks_drop_out() -> None:
    b = Builder().user("plan it")
    b.task_create("first", result_id="7").task_create("second").task_update("7", "completed")
    b.task_update("2", "deleted").task_update("99", "completed")  # an unknown id changes nothing
    t = tr.parse(b.text())
    assert [(x["content"], x["status"]) for x in t.todos] == [("first", "completed")]


def test_the_generation_used_last_wins() -> None:
    b = Builder().user("go").task_create("new-style task").todos([("old-style todo", "pending")])
    assert [x["content"] for x in tr.parse(b.text()).todos] == ["old-style todo"]
    b.task_update("1", "in_progress")
    t = tr.parse(b.text())
    assert t.task_tool == "TaskCreate" and [x["content"] for x in t.todos] == ["new-style task"]


def test_titles_pr_link_recaps_and_last_prompt() -> None:
    t = tr.parse(modern_session().text())
    assert t.custom_title == "Invoice rounding (banker's)" and t.ai_title == "Fix invoice rounding"
    assert t.title == "Invoice rounding (banker's)"  # the user's own title first
    assert t.pr_url == "https://github.com/acme/billing/pull/214" and t.pr_number == 214
    assert t.away_summaries == ["Reproduced the bug with a failing test and started switching to banker's rounding."]
    assert t.last_prompt == "Also keep the public API unchanged"
    older = tr.parse(Builder().meta("summary", summary="JWT auth work", leafUuid="x").user("do it").text())
    assert older.title == "JWT auth work"
    assert tr.parse(Builder().meta("ai-title", aiTitle="AI").meta("summary", summary="old").text()).title == "AI"


def test_a_line_from_the_previous_session_is_not_the_request() -> None:
    t = tr.parse(modern_session().text())
    assert t.session_id == MODERN_SESSION
    assert t.first_request == "Fix the rounding of invoice totals: use banker's rounding and add tests"
    assert t.last_request == "Also keep the public API unchanged"
    assert all("old plan" not in r for r in t.requests)


def test_files_from_edits_reads_snapshots_and_shell_commands() -> None:
    t = tr.parse(modern_session().text())
    files = t.files
    assert files[f"{MODERN_CWD}/tests/test_totals.py"].edits == 1
    assert files[f"{MODERN_CWD}/billing/totals.py"].reads == 1
    assert files["billing/totals.py"].tracked and files["billing/totals.py"].shell == "written"  # sed -i
    assert files["tests/test_totals.py"].tracked
    assert files["billing/rates.py"].shell == "read"  # cat
    assert files["billing\\fx.py"].shell == "written"  # PowerShell Set-Content


def test_sub_agent_results_unknown_types_and_empty_thinking() -> None:
    t = tr.parse(modern_session().text())
    assert t.agent_results == ["Find other rounding call sites: Found round( in billing/tax.py:41 and billing/fx.py:12."]
    assert t.files["billing/tax.py"].mentioned and t.files["billing/fx.py"].mentioned  # paths in its result
    assert t.unknown_types == {"brand-new-line-type": 1} and t.bad_lines == 1
    assert t.last_assistant == "The tests pass. Next I'll update the rounding in billing/tax.py."
    assert t.last_plan == t.last_assistant
    assert "Subagent line" not in t.requests
