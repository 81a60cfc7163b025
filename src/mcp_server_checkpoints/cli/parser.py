"""The command line: every command, its options and its help."""

from __future__ import annotations

import argparse
from collections import defaultdict

from mcp_server_checkpoints import __version__
from mcp_server_checkpoints.domain.records import COMPONENTS
from mcp_server_checkpoints.domain.statuses import STATUSES
from mcp_server_checkpoints.integrations.claude_code import HOOK_EVENTS
from mcp_server_checkpoints.integrations.clients.names import AGENT_FILES, CLIENTS, DEFAULT_NAME

COMMANDS: dict[str, str] = {
    "serve": "serve MCP over stdio (the default with no command) or streamable HTTP",
    "list": "list checkpoints, newest first",
    "search": "search checkpoints by topic",
    "show": "show one checkpoint as its recovered summary",
    "status": "set a checkpoint's status (completed, abandoned, on-hold, …)",
    "export": "write every checkpoint as JSONL (one per line, lossless)",
    "import": "read checkpoints from a JSONL export",
    "stats": "counts, sizes and compression of the database",
    "verify": "check the database file and every payload checksum",
    "delete": "delete one checkpoint and its status history (children are kept)",
    "backup": "copy the database to a file with SQLite's online backup (safe while servers write)",
    "reindex": "rebuild the full-text index and re-embed every checkpoint with the current model",
    "demo": "drive the real server through the real MCP client on a throw-away database",
    "hook": "Claude Code hooks, JSON on stdin: pre-compact and session-end (save from the transcript), post-compact"
            " (store Claude Code's summary), session-start (recover)",
    "setup": "register the server (and Claude Code's hooks) in Claude Code, Claude Desktop, Cursor, Codex",
    "uninstall": "remove exactly what `ckpt setup` added to the clients' configurations",
    "init": "add a short checkpoint section to a project's CLAUDE.md or AGENTS.md",
    "key": "encryption at rest: `key create` writes a key file, `key rotate --new FILE` re-encrypts under another",
    "encrypt": "encrypt an existing plain database with a key file (then set encryption_key_file)",
    "decrypt": "turn an encrypted database back into a plain SQLite file",
    "import-memory": "read an official memory server file (JSONL) into the knowledge graph; bad lines are reported",
    "export-memory": "write the knowledge graph in the official memory server's JSONL format",
}


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a flag given before or after the command both count, and neither resets the other.
    p.add_argument("--db", default=argparse.SUPPRESS, metavar="PATH",
                   help="database file (env CHECKPOINTS_DB; default $XDG_DATA_HOME/mcp-server-checkpoints/checkpoints.db)")
    p.add_argument("--config", default=argparse.SUPPRESS, metavar="FILE", help="TOML settings file (env CHECKPOINTS_CONFIG)")
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output")
    p.add_argument("--log-level", default=argparse.SUPPRESS, choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                   help="log level; logs go to stderr")
    return p


def _server_name(value: str) -> str:
    # Letters, digits, - and _: what every client accepts, and no dot (a dot nests TOML tables).
    if not value or len(value) > 64 or not all(c.isascii() and (c.isalnum() or c in "-_") for c in value):
        raise argparse.ArgumentTypeError("use 1-64 letters, digits, - or _")
    return value


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or (`only`) just one command's: a hook builds its own alone."""
    common = _common()
    parser = argparse.ArgumentParser(
        prog="ckpt", parents=[common],
        description="Save and recover checkpoints of AI coding sessions. With no command: serve MCP over stdio.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    cmd: dict[str, argparse.ArgumentParser] = {
        name: sub.add_parser(name, parents=[common], help=text, description=text) for name, text in COMMANDS.items()
        if only is None or name == only
    }
    if only is not None:
        cmd = defaultdict(lambda: argparse.ArgumentParser(add_help=False), cmd)  # the others' options: discarded
    cmd["serve"].add_argument("--transport", choices=["stdio", "http"], default="stdio")
    cmd["serve"].add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    cmd["serve"].add_argument("--port", type=int, default=8765, help="HTTP port (default 8765)")
    cmd["serve"].add_argument("--project", default=None, help="default project for saved checkpoints")
    for name in ("list", "search"):
        cmd[name].add_argument("--project", default=None)
        cmd[name].add_argument("--status", nargs="+", choices=[*STATUSES, "any"], default=None,
                               help="statuses to include (default: open ones for search, any for list)")
        cmd[name].add_argument("--limit", type=int, default=20 if name == "list" else 5)
    cmd["search"].add_argument("query", help="what the work was about")
    cmd["search"].add_argument("--since-hours", type=float, default=None)
    cmd["search"].add_argument("--all-versions", action="store_true")
    cmd["search"].add_argument("--semantic", action="store_true",
                               help="hybrid search: load the embedding model first (seconds) and embed what is missing")
    cmd["reindex"].add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                                help="progress bar on stderr (default: when stderr is a terminal)")
    cmd["reindex"].add_argument("--lexical-only", action="store_true", help="rebuild the full-text index only")
    cmd["show"].add_argument("id")
    cmd["show"].add_argument("--components", nargs="+", choices=COMPONENTS, default=None,
                             help="with --json: only these parts")
    cmd["show"].add_argument("--no-emoji", action="store_true", help="plain headings")
    cmd["status"].add_argument("id")
    cmd["status"].add_argument("status", choices=STATUSES)
    cmd["status"].add_argument("--note", default=None, help="outcome (completed) or reason (abandoned)")
    cmd["export"].add_argument("--out", default=None, metavar="FILE", help="write here instead of stdout")
    cmd["import"].add_argument("file", help="JSONL file from `ckpt export`, or - for stdin")
    cmd["import"].add_argument("--replace", action="store_true", help="replace checkpoints whose id already exists")
    for name in ("export", "import"):
        cmd[name].add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                               help="progress bar on stderr (default: when stderr is a terminal)")
    cmd["import-memory"].add_argument("file", help="the memory server's file (MEMORY_FILE_PATH, memory.jsonl), or - for stdin")
    cmd["export-memory"].add_argument("--out", default=None, metavar="FILE", help="write here instead of stdout")
    cmd["delete"].add_argument("id")
    cmd["backup"].add_argument("dest", help="the backup file to write")
    cmd["backup"].add_argument("--force", action="store_true", help="overwrite DEST if it exists")
    cmd["demo"].add_argument("--keep", metavar="PATH", default=None, help="keep the demo database at PATH")
    cmd["hook"].add_argument("event", choices=HOOK_EVENTS)
    for name in ("setup", "uninstall"):
        cmd[name].add_argument("--client", action="append", choices=[*CLIENTS, "all"], default=None,
                               help="a client (repeatable) or all (default: every client installed here)")
        cmd[name].add_argument("--name", default=DEFAULT_NAME, type=_server_name,
                               help=f"server entry name (default {DEFAULT_NAME}; `memory` replaces the official one)")
        cmd[name].add_argument("--dry-run", action="store_true", help="show the changes as diffs, write nothing")
    cmd["key"].add_argument("action", choices=["create", "rotate"])
    cmd["key"].add_argument("--out", default=None, metavar="FILE",
                            help="create: where to write the key (default $XDG_CONFIG_HOME/mcp-server-checkpoints/store.key)")
    cmd["key"].add_argument("--force", action="store_true", help="create: overwrite an existing key file")
    cmd["key"].add_argument("--new", default=None, metavar="FILE", help="rotate: the new key file (from `ckpt key create`)")
    cmd["encrypt"].add_argument("--key", required=True, metavar="FILE", help="the key file (from `ckpt key create`)")
    cmd["init"].add_argument("--dir", default=".", metavar="PATH", help="project directory (default: here)")
    cmd["init"].add_argument("--file", choices=AGENT_FILES, default=None,
                             help="default: CLAUDE.md if it exists, else AGENTS.md if it exists, else CLAUDE.md")
    cmd["init"].add_argument("--dry-run", action="store_true", help="show the change as a diff, write nothing")
    return parser
