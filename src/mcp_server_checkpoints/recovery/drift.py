"""What changed in the repository since a checkpoint was saved, in one short section of the summary.

The agent that resumes should not act on a stale picture: commits made since, files changed since
(committed or not), a switched branch, and the checkpoint's files that no longer exist. Built from
the repository state recorded at capture and the state now (however they were read); no I/O here
beyond checking that files exist.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_LISTED = 10
MAX_RECORDED = 30
# The state a capture records, as a sentence of its resume instructions: readable by the agent, and read
# back by the drift check without opening the payload (decoding a 10 MB transcript took ~370 ms).
STATE_LINE = re.compile(r"Repository at capture: branch (\S+) at commit ([0-9a-f]{7,64}|\(none\)); "
                        r"(?:nothing uncommitted|uncommitted: (.*?)(?: and (\d+) more)?)\.(?:\s|$)")


def describe_state(state: dict[str, Any]) -> str:
    """The sentence recording `state` ({head, branch, changed}) in a checkpoint's resume instructions."""
    changed = [str(p) for p in state.get("changed") or []]
    total = max(int(state.get("changed_total") or 0), len(changed))
    files = ", ".join(changed[:MAX_RECORDED]) + (f" and {total - MAX_RECORDED} more" if total > MAX_RECORDED else "")
    return (f"Repository at capture: branch {state.get('branch') or '(detached)'} at commit"
            f" {state.get('head') or '(none)'}; {'uncommitted: ' + files if changed else 'nothing uncommitted'}.")


def state_from_text(text: str | None) -> dict[str, Any] | None:
    """The state `describe_state` wrote into `text`, or None (a checkpoint saved outside a repository)."""
    m = STATE_LINE.search(text or "")
    if m is None:
        return None
    branch, head, files = m.group(1), m.group(2), m.group(3)
    return {"branch": None if branch == "(detached)" else branch, "head": None if head == "(none)" else head,
            "changed": files.split(", ") if files else []}


@dataclass
class Drift:
    commits: int | None = None  # None: the checkpoint's commit is unknown in this repository
    commits_capped: bool = False
    branch_then: str | None = None
    branch_now: str | None = None
    changed_files: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.commits or self.commits is None or self.branch_then != self.branch_now
                    or self.changed_files or self.missing_files)


def drift_of(then: dict[str, Any], now: dict[str, Any], *, commits: int | None, committed_files: Sequence[str],
             checkpoint_files: Sequence[str], root: str | None, cap: int = 200) -> Drift:
    """Compare the recorded state `then` with `now` ({head, branch, changed}); files relative to `root`."""
    dirty_then = set(then.get("changed") or [])
    dirty_now = [p for p in (now.get("changed") or []) if p not in dirty_then]
    changed = list(dict.fromkeys([*committed_files, *dirty_now]))
    missing = []
    for path in checkpoint_files[:cap]:
        full = path if os.path.isabs(path) or root is None else os.path.join(root, path)
        if root is not None and not os.path.exists(full):
            missing.append(path)
    return Drift(commits=commits, commits_capped=commits is not None and commits >= cap,
                 branch_then=then.get("branch"), branch_now=now.get("branch"), changed_files=changed,
                 missing_files=missing)


def _listed(paths: list[str]) -> str:
    more = len(paths) - MAX_LISTED
    return ", ".join(paths[:MAX_LISTED]) + (f" and {more} more" if more > 0 else "")


def drift_lines(d: Drift) -> list[str]:
    """The section's lines (empty when nothing drifted)."""
    if not d.any:
        return []
    out = ["CHANGED SINCE THE CHECKPOINT (check before acting on it):"]
    if d.commits is None:
        out.append("- The checkpoint's commit is not in this repository (history rewritten, or another clone)")
    elif d.commits:
        out.append(f"- {d.commits}{'+' if d.commits_capped else ''} commit{'s' if d.commits != 1 else ''} made since")
    if d.branch_then != d.branch_now:
        out.append(f"- Branch switched: {d.branch_then or '(detached)'} → {d.branch_now or '(detached)'}")
    if d.changed_files:
        out.append(f"- Files changed since: {_listed(d.changed_files)}")
    if d.missing_files:
        out.append(f"- The checkpoint's files that no longer exist: {_listed(d.missing_files)}")
    return out
