"""The drift section: what changed in the repository since the checkpoint, short and first."""

from __future__ import annotations

from mcp_server_checkpoints.domain.records import Checkpoint
from mcp_server_checkpoints.recovery.drift import Drift, drift_lines, drift_of
from mcp_server_checkpoints.recovery.render import render_summary


def test_lines() -> None:
    assert drift_lines(Drift(commits=0, branch_then="main", branch_now="main")) == []
    lines = drift_lines(Drift(commits=3, branch_then="main", branch_now="fix", changed_files=[f"f{i}.py" for i in range(12)],
                              missing_files=["gone.py"]))
    assert lines == ["CHANGED SINCE THE CHECKPOINT (check before acting on it):", "- 3 commits made since",
                     "- Branch switched: main → fix",
                     "- Files changed since: f0.py, f1.py, f2.py, f3.py, f4.py, f5.py, f6.py, f7.py, f8.py, f9.py and 2 more",
                     "- The checkpoint's files that no longer exist: gone.py"]
    assert drift_lines(Drift(commits=None, branch_then="a", branch_now="a"))[1].startswith("- The checkpoint's commit is not")
    assert drift_lines(Drift(commits=200, commits_capped=True, branch_then="a", branch_now="a"))[1] == \
        "- 200+ commits made since"


def test_drift_of_leaves_out_what_was_dirty_already(tmp_path: object) -> None:
    d = drift_of({"branch": "main", "changed": ["a.py"]}, {"branch": "main", "changed": ["a.py", "b.py"]},
                 commits=1, committed_files=["c.py"], checkpoint_files=["x.py"], root=None)
    assert d.changed_files == ["c.py", "b.py"] and d.missing_files == [] and d.commits == 1


def test_rendered_first_and_kept_when_truncating() -> None:
    cp = Checkpoint(id="ckpt_1", title="t", goal="g", status="in-progress", created_at="2026-11-22T10:00:00Z",
                    updated_at="2026-11-22T10:00:00Z", discoveries=["x" * 3000] * 5, next_step="go on")
    text = render_summary(cp, limit=2000, drift=Drift(commits=2, branch_then="main", branch_now="main"))
    assert len(text) <= 2000 and "- 2 commits made since" in text
    assert text.index("CHANGED SINCE THE CHECKPOINT") < text.index("GOAL")
    assert "CHANGED SINCE" not in render_summary(cp, drift=Drift(commits=0))


def test_the_recorded_state_reads_back_from_the_resume_instructions() -> None:
    from mcp_server_checkpoints.recovery.drift import describe_state, state_from_text

    state = {"head": "a" * 40, "branch": "feature/x", "changed": ["src/a.py", "new file.md"], "changed_total": 2}
    text = f"Captured automatically. {describe_state(state)} More text."
    assert state_from_text(text) == {"head": "a" * 40, "branch": "feature/x", "changed": ["src/a.py", "new file.md"]}
    empty = describe_state({"head": None, "branch": None, "changed": []})
    assert empty == "Repository at capture: branch (detached) at commit (none); nothing uncommitted."
    assert state_from_text(empty) == {"head": None, "branch": None, "changed": []}
    many = describe_state({"head": "b" * 40, "branch": "main", "changed": [f"f{i}" for i in range(40)],
                           "changed_total": 45})
    back = state_from_text(many)
    assert back is not None and len(back["changed"]) == 30 and many.endswith("f29 and 15 more.")
    assert state_from_text("Captured automatically by the PreCompact hook.") is None and state_from_text(None) is None
