"""The repository state recorded at capture, and what drifted since, with a real git repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mcp_server_checkpoints.recovery.repo_state import Git, check


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    git(r, "config", "user.email", "t@example.com")
    git(r, "config", "user.name", "T")
    for name in ("app.py", "old.py", "docs.md"):
        (r / name).write_text(f"{name}\n")
    git(r, "add", ".")
    git(r, "commit", "-q", "-m", "first")
    return r


def test_state_of_a_repository(repo: Path) -> None:
    (repo / "app.py").write_text("changed\n")
    (repo / "new file.txt").write_text("untracked\n")
    git(repo, "mv", "docs.md", "guide.md")
    state = Git().state(str(repo))
    assert state is not None and state["branch"] == "main" and len(state["head"]) == 40
    assert sorted(state["changed"]) == ["app.py", "guide.md", "new file.txt"] and state["changed_total"] == 3


def test_no_repository_no_git_or_too_slow(tmp_path: Path) -> None:
    assert Git().state(str(tmp_path)) is None
    assert Git().state(str(tmp_path / "missing")) is None
    assert Git(program="/no/such/git").state(str(tmp_path)) is None


def test_drift_commits_files_branch_and_missing_files(repo: Path) -> None:
    (repo / "app.py").write_text("dirty at capture\n")
    then = Git().state(str(repo))
    assert then is not None
    assert check(Git(), str(repo), then, ["app.py", "old.py"]).any is False  # type: ignore[union-attr]
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "lib.py").write_text("x\n")
    git(repo, "add", "lib.py")
    git(repo, "commit", "-q", "-m", "lib")
    git(repo, "rm", "-q", "old.py")
    git(repo, "commit", "-q", "-m", "drop old")
    (repo / "notes.md").write_text("new\n")
    d = check(Git(), str(repo), then, ["app.py", "old.py", "/abs/elsewhere.py"])
    assert d is not None and d.commits == 2 and (d.branch_then, d.branch_now) == ("main", "feature")
    assert d.changed_files == ["old.py", "lib.py", "notes.md"]  # app.py was dirty already at capture
    assert d.missing_files == ["old.py", "/abs/elsewhere.py"]


def test_a_commit_this_repository_does_not_know(repo: Path) -> None:
    d = check(Git(), str(repo), {"head": "0" * 40, "branch": "main", "changed": []}, [])
    assert d is not None and d.commits is None and d.any
