"""Verified resume: each capture records the repository state; session-start reports what drifted since."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mcp_server_checkpoints.integrations.claude_code import hooks
from mcp_server_checkpoints.recovery.repo_state import Git
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database
from tests.integrations.transcript_fixtures import Builder


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def captured(tmp_path: Path, b: Builder, cwd: Path) -> tuple[SQLiteCheckpointStore, dict[str, str], str]:
    """The store, the hook input and the payload's project state after a pre-compact capture of `b`."""
    transcript = b.write(tmp_path / "t.jsonl")
    store = SQLiteCheckpointStore(open_database(tmp_path / "d.db"))
    hook = {"session_id": b.session, "transcript_path": str(transcript), "cwd": str(cwd)}
    saved = hooks.capture(hook, store, source="pre-compact", trigger="auto", git=Git())
    assert saved is not None
    payload = store.get(saved.id).payload
    assert payload is not None and isinstance(payload.project_state, dict)
    return store, hook, payload.project_state


def test_resume_reports_commits_and_missing_files(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "-c", "user.email=t@e", "-c", "user.name=T", "commit", "-q", "--allow-empty", "-m", "start")
    (repo / "api.py").write_text("x\n")
    b = Builder(session="s-drift", cwd=str(repo), branch="main").user("add the endpoint")
    b.tool("Write", {"file_path": str(repo / "api.py"), "content": "x\n"})
    store, hook, state = captured(tmp_path, b, repo)
    assert state["repo"]["branch"] == "main" and state["repo"]["changed"] == ["api.py"]  # type: ignore[index]

    (repo / "api.py").unlink()
    git(repo, "-c", "user.email=t@e", "-c", "user.name=T", "commit", "-q", "--allow-empty", "-m", "later")
    ctx = hooks.session_start({**hook, "source": "resume"}, store, git=Git())
    assert ctx is not None and "- 1 commit made since" in ctx
    assert "The checkpoint's files that no longer exist: api.py" in ctx
    assert ctx.index("CHANGED SINCE THE CHECKPOINT") < ctx.index("GOAL")


def test_no_repository_no_section(tmp_path: Path) -> None:
    b = Builder(session="s-plain", cwd=str(tmp_path)).user("write notes").tool("Read", {"file_path": "n.txt"})
    store, hook, state = captured(tmp_path, b, tmp_path)
    assert "repo" not in state
    ctx = hooks.session_start({**hook, "source": "resume"}, store, git=Git())
    assert ctx is not None and "CHANGED SINCE" not in ctx


def test_recover_and_open_checkpoint_report_the_drift_too(tmp_path: Path) -> None:
    """The recovered summary is the same wherever it is read: the recover tool and open_checkpoint say what
    changed in the checkpoint's repository since it was saved, as session-start does."""
    from mcp_server_checkpoints.recovery.service import recover
    from mcp_server_checkpoints.tools.checkpoints import open_checkpoint

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "-c", "user.email=t@e", "-c", "user.name=T", "commit", "-q", "--allow-empty", "-m", "start")
    b = Builder(session="s-tools", cwd=str(repo), branch="main").user("add the billing endpoint")
    b.tool("Write", {"file_path": str(repo / "billing.py"), "content": "x\n"})
    (repo / "billing.py").write_text("x\n")
    store, _, _ = captured(tmp_path, b, repo)
    git(repo, "-c", "user.email=t@e", "-c", "user.name=T", "commit", "-q", "--allow-empty", "-m", "later")
    git(repo, "checkout", "-q", "-b", "other")
    cp = store.latest_in_session("s-tools")
    assert cp is not None and cp.project == str(repo)
    opened = open_checkpoint(store, cp.id).summary_markdown
    assert "CHANGED SINCE THE CHECKPOINT" in opened and "- 1 commit made since" in opened
    result = recover(store, checkpoint_id=cp.id)
    assert result.action == "apply" and "CHANGED SINCE THE CHECKPOINT" in result.text and "other" in result.text
