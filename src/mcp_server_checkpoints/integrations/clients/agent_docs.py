"""`ckpt init`: a short checkpoint section in a project's CLAUDE.md or AGENTS.md.

The section sits between marker comments, so running `init` again updates it in place and
leaves the rest of the file exactly as it was.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from mcp_server_checkpoints.integrations.clients.catalog import AGENT_FILES
from mcp_server_checkpoints.integrations.clients.configfiles import ConfigFileError, FileChange, apply_change, read_text

START = "<!-- mcp-server-checkpoints:start -->"
END = "<!-- mcp-server-checkpoints:end -->"

SECTION = f"""{START}
## Checkpoints (mcp-server-checkpoints)

- At the start of every conversation, call `recover` with the user's first message verbatim (even
  "Hello") and follow its `action`: `apply` → continue from the recovered next step; `confirm` →
  ask the user first; `choose` → show the list; `none` → carry on.
- Call `save_checkpoint` before long work that may be cut off (compaction, a new chat) and at each
  milestone: the goal, progress, decisions with their reasons, the exact next step, files changed.
- When the work ends, call `mark_status`: `completed` with the outcome, `abandoned` with the
  reason, `on-hold` when the user declines to resume.
{END}
"""

_BLOCK = re.compile(re.escape(START) + r".*?" + re.escape(END) + r"[ \t]*(\r?\n)?", re.DOTALL)


@dataclass
class InitResult:
    change: FileChange
    created: bool

    @property
    def status(self) -> str:
        if not self.change.changed:
            return "already up to date"
        return "created" if self.created else ("updated" if START in (self.change.before or "") else "added")


def choose_file(directory: Path, name: str | None) -> Path:
    """The file to edit: `name`, else CLAUDE.md if it exists, else AGENTS.md if it exists, else CLAUDE.md."""
    if name:
        return directory / name
    for candidate in AGENT_FILES:
        if (directory / candidate).is_file():
            return directory / candidate
    return directory / AGENT_FILES[0]


def with_section(text: str | None, path: Path) -> str:
    """`text` with our section added at the end, or replaced where the markers already are."""
    if not text:
        return SECTION
    newline = "\r\n" if "\r\n" in text else "\n"
    section = SECTION.replace("\n", newline)
    starts, ends = text.count(START), text.count(END)
    if starts == 0 and ends == 0:
        sep = "" if text.endswith(newline * 2) else (newline if text.endswith(newline) else newline * 2)
        return text + sep + section
    if starts != 1 or ends != 1 or text.index(START) > text.index(END):
        raise ConfigFileError(f"{path} has unbalanced mcp-server-checkpoints markers; fix or remove them, then"
                              " run `ckpt init` again (the file was left untouched)")
    return _BLOCK.sub(lambda _m: section, text, count=1)


def plan_init(directory: Path, name: str | None = None) -> InitResult:
    path = choose_file(directory, name)
    before = read_text(path)
    return InitResult(FileChange(path, before, with_section(before, path), ["checkpoint section"]), before is None)


def apply_init(result: InitResult) -> None:
    """Write the file (no backup: the change is small, marked, and these files live in version control)."""
    umask = os.umask(0)
    os.umask(umask)
    apply_change(result.change, backup=False, new_mode=0o666 & ~umask)
