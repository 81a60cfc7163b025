"""How long `ckpt setup` / `uninstall` take on a large ~/.claude.json (Claude Code keeps project
history there; multi-megabyte files are common). Prints a table; asserts nothing.

    .venv/bin/python bench/setup_large_config.py [--projects 2000 4000 8000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from mcp_server_checkpoints.integrations.clients.catalog import Home
from mcp_server_checkpoints.integrations.clients.setup import Options, render, run


def make_home(root: Path, projects: int) -> Home:
    home = Home(home=root)
    home.claude_dir.mkdir(parents=True)
    data = {"numStartups": 1, "mcpServers": {"github": {"type": "stdio", "command": "npx", "args": []}},
            "projects": {f"/work/project-{i}": {"allowedTools": [], "history": [
                {"display": f"prompt {j} " * 20, "pastedContents": {}} for j in range(10)]}
                for i in range(projects)}}
    home.claude_json.write_text(json.dumps(data, indent=2) + "\n")
    return home


def timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, nargs="+", default=[500, 2000, 8000])
    args = parser.parse_args()
    opts = Options(command=["/opt/bin/ckpt"])
    print(f"{'projects':>8} {'file MB':>8} {'dry-run + diff ms':>17} {'setup ms':>9} {'again ms':>9} {'uninstall ms':>13}")
    for n in args.projects:
        with tempfile.TemporaryDirectory() as tmp:
            home = make_home(Path(tmp), n)
            mb = home.claude_json.stat().st_size / 1e6
            dry = timed(lambda: render(run("setup", home, opts, ["claude-code"], dry_run=True), home))
            setup = timed(lambda: run("setup", home, opts, ["claude-code"]))
            again = timed(lambda: run("setup", home, opts, ["claude-code"]))
            gone = timed(lambda: run("uninstall", home, opts, ["claude-code"]))
            print(f"{n:>8} {mb:>8.1f} {dry:>17.0f} {setup:>9.0f} {again:>9.0f} {gone:>13.0f}")


if __name__ == "__main__":
    main()
