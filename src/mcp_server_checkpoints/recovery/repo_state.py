"""The git repository's state: recorded at every capture, compared at resume (what drifted since).

Each call is one `git` process with a short timeout; anything that goes wrong (no git, not a
repository, a slow disk, a commit that is gone) gives None or a partial answer, never an error: a
checkpoint without a repository state is still a checkpoint.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import Any

from mcp_server_checkpoints.domain.records import Checkpoint
from mcp_server_checkpoints.recovery.drift import Drift, drift_of, state_from_text

MAX_PATHS = 200


@dataclass
class Git:
    """How git is run: the program and the timeout of each call (seconds)."""

    program: str = "git"
    timeout: float = 1.0

    def run(self, cwd: str, *args: str) -> str | None:
        """The output of `git args` in `cwd`, or None when it fails, times out or cwd is no repository."""
        if not cwd or not os.path.isdir(cwd):
            return None
        try:
            res = subprocess.run([self.program, "-C", cwd, *args], capture_output=True, timeout=self.timeout,
                                 stdin=subprocess.DEVNULL, env={**os.environ, "GIT_OPTIONAL_LOCKS": "0",
                                                                 "LC_ALL": "C"})
        except (OSError, subprocess.SubprocessError):
            return None
        return res.stdout.decode("utf-8", errors="replace") if res.returncode == 0 else None

    def state(self, cwd: str) -> dict[str, Any] | None:
        """{head, branch, changed: [paths changed but not committed]} of the repository at `cwd`, or None."""
        # GIT_OPTIONAL_LOCKS=0: status must not take the index lock from under the user's own git commands.
        out = self.run(cwd, "status", "--porcelain=v2", "--branch", "-z", "--untracked-files=normal")
        if out is None:
            return None
        head: str | None = None
        branch: str | None = None
        changed: list[str] = []
        fields_ = iter(out.split("\0"))
        for entry in fields_:
            if entry.startswith("# branch.oid "):
                oid = entry.split(" ", 2)[2]
                head = None if oid == "(initial)" else oid
            elif entry.startswith("# branch.head "):
                name = entry.split(" ", 2)[2]
                branch = None if name == "(detached)" else name
            elif entry[:2] in ("1 ", "u "):
                changed.append(entry.split(" ", 8 if entry[0] == "1" else 10)[-1])
            elif entry.startswith("2 "):
                changed.append(entry.split(" ", 9)[-1])
                next(fields_, None)  # a rename's original path follows as its own field
            elif entry.startswith("? "):
                changed.append(entry[2:])
        return {"head": head, "branch": branch, "changed": changed[:MAX_PATHS],
                "changed_total": len(changed)}

    def since(self, cwd: str, commit: str, limit: int = MAX_PATHS) -> tuple[int, list[str]] | None:
        """(commits made after `commit` up to HEAD, files they changed), or None when `commit` is unknown here."""
        out = self.run(cwd, "log", f"-{limit}", "--format=%x00%H", "--name-only", f"{commit}..HEAD", "--")
        if out is None:
            return None
        commits = out.count("\0")
        files = list(dict.fromkeys(ln for ln in out.split("\n") if ln and not ln.startswith("\0")))
        return commits, files[:MAX_PATHS]


def check(git: Git, cwd: str, then: dict[str, Any], checkpoint_files: list[str]) -> Drift | None:
    """What drifted in the repository at `cwd` since the state `then` was recorded; None when git cannot say."""
    now = git.state(cwd)
    if now is None:
        return None
    commits: int | None = 0
    committed: list[str] = []
    head = then.get("head")
    if isinstance(head, str) and head and head != now.get("head"):
        found = git.since(cwd, head)
        commits, committed = found if found is not None else (None, [])
    return drift_of(then, now, commits=commits, committed_files=committed, checkpoint_files=checkpoint_files,
                    root=cwd, cap=MAX_PATHS)


def drift_since(cp: Checkpoint, cwd: str | None, git: Git) -> Drift | None:
    """What changed in the repository at `cwd` since `cp` recorded its state (None: nothing recorded, no git)."""
    then = state_from_text(cp.resume_instructions)
    return check(git, cwd, then, [f.path for f in cp.files]) if cwd and then is not None else None
