"""Finding this project's server processes on Linux, for tests and benchmarks that inspect them."""

from __future__ import annotations

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
