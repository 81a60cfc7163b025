"""Finding this project's server processes on Linux, for tests and benchmarks that inspect them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def server_pid(marker: str) -> int:
    """The pid of the mcp_server_checkpoints process whose command line holds `marker` (e.g. its --db path)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if marker.encode() in cmd and b"mcp_server_checkpoints" in cmd:
                return int(entry.name)
    raise LookupError(f"no server process for {marker}")


ROOT = Path(__file__).resolve().parent.parent
PROJECT_NODE = ROOT / ".venv" / "node" / "bin"  # where scripts/install-node puts Node.js 22 when PATH has none


def node_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """`env` (default: os.environ) with the project's Node.js first on PATH, when set-up installed one.

    npx starts a package's `#!/usr/bin/env node` entry point by PATH, so the whole chain (npx, the
    official memory server) runs on the same Node.js as the launcher found by `node_tool`.
    """
    base = dict(os.environ if env is None else env)
    if PROJECT_NODE.is_dir():
        base["PATH"] = os.pathsep.join([str(PROJECT_NODE), base.get("PATH", "")])
    return base


def node_tool(name: str) -> str | None:
    """The path of `node`, `npm` or `npx`: the project's own (scripts/install-node) first, else PATH's."""
    return shutil.which(name, path=node_env()["PATH"])
