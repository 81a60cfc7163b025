"""`ckpt` / `mcp-server-checkpoints`: serve MCP (the default) and manage the checkpoint database.

Exit codes: 0 success; 1 a command failed (not found, integrity problems, bad import lines);
2 the command line or a setting is wrong.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from typing import IO, TYPE_CHECKING, Any

from mcp_server_checkpoints import __version__
from mcp_server_checkpoints.config import Settings, load_settings
from mcp_server_checkpoints.errors import CheckpointsError, InvalidInputError, NotFoundError
from mcp_server_checkpoints.integrations.names import AGENT_FILES, CLIENTS, DEFAULT_NAME
from mcp_server_checkpoints.records import COMPONENTS, STATUSES, Checkpoint
from mcp_server_checkpoints.progress import Progress

if TYPE_CHECKING:
    from mcp_server_checkpoints.storage import CheckpointStore

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
    "hook": "Claude Code hooks: pre-compact (save from the transcript) and session-start (recover), JSON on stdin",
    "setup": "register the server (and Claude Code's hooks) in Claude Code, Claude Desktop, Cursor, Codex",
    "uninstall": "remove exactly what `ckpt setup` added to the clients' configurations",
    "init": "add a short checkpoint section to a project's CLAUDE.md or AGENTS.md",
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
    cmd["hook"].add_argument("event", choices=["pre-compact", "session-start"])
    for name in ("setup", "uninstall"):
        cmd[name].add_argument("--client", action="append", choices=[*CLIENTS, "all"], default=None,
                               help="a client (repeatable) or all (default: every client installed here)")
        cmd[name].add_argument("--name", default=DEFAULT_NAME, type=_server_name,
                               help=f"server entry name (default {DEFAULT_NAME}; `memory` replaces the official one)")
        cmd[name].add_argument("--dry-run", action="store_true", help="show the changes as diffs, write nothing")
    cmd["init"].add_argument("--dir", default=".", metavar="PATH", help="project directory (default: here)")
    cmd["init"].add_argument("--file", choices=AGENT_FILES, default=None,
                             help="default: CLAUDE.md if it exists, else AGENTS.md if it exists, else CLAUDE.md")
    cmd["init"].add_argument("--dry-run", action="store_true", help="show the change as a diff, write nothing")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {"db": getattr(args, "db", None), "log_level": getattr(args, "log_level", None),
                 "project": getattr(args, "project", None) if args.command == "serve" else None}
    return load_settings(overrides, config_file=getattr(args, "config", None))


def _store(settings: Settings) -> CheckpointStore:
    from mcp_server_checkpoints.server.app import open_state

    return open_state(settings).store


def _emit(args: argparse.Namespace, data: Any, text: Callable[[], str]) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(text())


def _table(hits: list[Any]) -> str:
    if not hits:
        return "no checkpoints"
    rows = [("ID", "STATUS", "PROG", "AGE", "TITLE")]
    for h in hits:
        age = f"{h.age_hours:.1f}h" if h.age_hours < 48 else f"{h.age_hours / 24:.0f}d"
        rows.append((h.id, h.status, "" if h.progress is None else f"{h.progress}%", age, h.title[:60]))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4] for r in rows)


# -- commands ------------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from mcp_server_checkpoints.server.app import build_server

    server = build_server(settings)
    if args.transport == "http":
        server.run("streamable-http", host=args.host, port=args.port, stateless_http=True, json_response=True)
    else:
        import anyio

        from mcp_server_checkpoints.server.stdio import run_stdio

        anyio.run(run_stdio, server)  # answers undecodable lines; SIGTERM and stdin EOF both exit 0
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    hits = _store(settings).list_recent(project=args.project, statuses=args.status, limit=args.limit)
    _emit(args, [asdict(h) for h in hits], lambda: _table(hits))
    return 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(settings)
    if args.semantic:
        from mcp_server_checkpoints.storage.semantic_setup import ready_index

        store.semantic = ready_index(store.db, settings)  # CLI: load now, and embed what no server has embedded
        while store.semantic.embed_pending(limit=64, entities_too=False):
            pass
    else:
        store.semantic = None  # lexical: a CLI call does not wait seconds for the model
    out = store.search_with_state(args.query, project=args.project, statuses=args.status, limit=args.limit,
                                  since_hours=args.since_hours, all_versions=args.all_versions)
    _emit(args, {"results": [asdict(h) for h in out.hits], "semantic": out.semantic}, lambda: _table(out.hits))
    return 0


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    from mcp_server_checkpoints.storage.semantic_setup import ready_index

    store = _store(settings)
    store.rebuild_fts()
    done, model = 0, None
    if not args.lexical_only:
        index = ready_index(store.db, settings, bulk=True)
        model = index.model_name
        with Progress(store.count() + index.entity_count(), "reindex", enabled=args.progress) as bar:
            done = index.reindex(progress=bar.advance)
    data = {"fts": "rebuilt", "embedded": done, "model": model}
    _emit(args, data, lambda: f"full-text index rebuilt; {done} checkpoints and graph entities embedded"
          + (f" with {model}" if model else " (semantic search skipped)"))
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from mcp_server_checkpoints.recovery.render import render_summary
    from mcp_server_checkpoints.tools.checkpoints import open_checkpoint

    store = _store(settings)
    if getattr(args, "json", False):
        print(open_checkpoint(store, args.id, args.components).model_dump_json(indent=2))
    else:
        store.verify_payload(args.id)
        print(render_summary(store.get(args.id, with_payload=False), emoji=not args.no_emoji))
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    res = _store(settings).set_status(args.id, args.status, args.note)
    _emit(args, asdict(res), lambda: f"{res.id}: {res.status}" + (f" ({args.note})" if args.note else ""))
    return 0


def cmd_delete(args: argparse.Namespace, settings: Settings) -> int:
    restored = _store(settings).delete(args.id)
    note = f" ({restored} child payload{'s' if restored != 1 else ''} re-stored as full copies)" if restored else ""
    _emit(args, {"deleted": args.id, "children_restored": restored}, lambda: f"deleted {args.id}{note}")
    return 0


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    dest = Path(args.dest).expanduser()
    if dest.exists() and not args.force:
        raise InvalidInputError(f"{dest} exists; give another path or --force to overwrite it")
    if dest.resolve() == settings.db.resolve():
        raise InvalidInputError("the backup path is the database itself; give another path")
    store = _store(settings)
    store.db.backup(dest)
    count = _store(settings.replace(db=dest)).count()
    _emit(args, {"backup": str(dest), "checkpoints": count, "bytes": dest.stat().st_size},
          lambda: f"backed up {count} checkpoint{'s' if count != 1 else ''} to {dest} ({dest.stat().st_size:,} bytes)")
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from mcp_server_checkpoints.storage.checkpoints import export_line

    store = _store(settings)
    total = store.count()
    out: IO[str] = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    try:
        with Progress(total, "export", enabled=args.progress) as bar:
            for cp in store.iter_all():
                out.write(export_line(cp) + "\n")
                bar.advance()
    finally:
        if args.out:
            out.close()
    if args.out:
        print(f"exported {total} checkpoint{'s' if total != 1 else ''} to {args.out}", file=sys.stderr)
    return 0


def _read_lines(path: str) -> Iterator[str]:
    """Lines of a `ckpt export` file (or stdin), which must be UTF-8 throughout."""
    for raw in _read_raw_lines(path, "a JSONL file written by `ckpt export`"):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInputError(f"{path} is not UTF-8 text; give a JSONL file written by `ckpt export`") from None


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(settings)
    items: list[Checkpoint] = []
    bad: list[str] = []
    lines = list(_read_lines(args.file))
    with Progress(len(lines), "import", enabled=args.progress) as bar:
        for n, line in enumerate(lines, 1):
            bar.advance()
            if not line.strip():
                continue
            try:
                items.append(store.parse_export_line(line))
            except InvalidInputError as exc:
                bad.append(f"line {n}: {exc}")
    report = store.import_checkpoints(items, replace=args.replace)
    problems = bad + report.errors
    data = {"imported": report.imported, "skipped_existing": report.skipped_existing, "errors": problems}

    def text() -> str:
        lines_out = [f"imported {report.imported}, skipped {report.skipped_existing} already present"
                     + (f", {len(problems)} not imported:" if problems else "")]
        return "\n".join(lines_out + [f"  {p}" for p in problems[:50]]
                         + ([f"  … and {len(problems) - 50} more"] if len(problems) > 50 else []))

    _emit(args, data, text)
    return 1 if problems else 0


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    stats = _store(settings).stats()

    def text() -> str:
        by = ", ".join(f"{k} {v}" for k, v in stats["by_status"].items()) or "none"
        ratio = f"{stats['compression_ratio']}×" if stats["compression_ratio"] else "n/a"
        return "\n".join([
            f"database      {stats['database']} ({stats['file_bytes']:,} bytes, schema v{stats['schema_version']})",
            f"checkpoints   {stats['checkpoints']} in {stats['lineages']} lineages, {stats['projects']} projects",
            f"by status     {by}",
            f"payloads      {stats['payloads']}: {stats['payload_raw_bytes']:,} bytes raw,"
            f" {stats['payload_stored_bytes']:,} stored ({ratio})",
            f"oldest/newest {stats['oldest'] or '-'} / {stats['newest'] or '-'}",
        ])

    _emit(args, stats, text)
    return 0


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    report = _store(settings).verify()
    data = {"ok": report.ok, "integrity_check": report.integrity_check, "checkpoints": report.checked,
            "payloads": report.payloads, "problems": report.problems}

    def text() -> str:
        head = "ok" if report.ok else "PROBLEMS FOUND"
        lines = [f"{head}: integrity_check {', '.join(report.integrity_check[:5])}; {report.checked} checkpoints,"
                 f" {report.payloads} payloads checked"]
        return "\n".join(lines + [f"  {p}" for p in report.problems])

    _emit(args, data, text)
    return 0 if report.ok else 1


def cmd_hook(args: argparse.Namespace, settings: Settings) -> int:
    from mcp_server_checkpoints.integrations.hooks import run

    out = run(args.event, sys.stdin.read() if not sys.stdin.isatty() else "", settings)
    if out:
        print(out)
    return 0  # always: a failing hook would block compaction or the session start


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from mcp_server_checkpoints.demo import run_demo

    return run_demo(keep=args.keep)


def cmd_setup(args: argparse.Namespace, settings: Settings) -> int:
    from mcp_server_checkpoints.integrations import commands

    return commands.setup_or_uninstall(args, settings)


def cmd_init(args: argparse.Namespace, settings: Settings) -> int:
    from mcp_server_checkpoints.integrations import commands

    return commands.init(args)
def _graph(settings: Settings) -> Any:
    from mcp_server_checkpoints.storage.graph import GraphStore

    store = _store(settings)
    return GraphStore(store.db, redactor=store.redactor)


def _read_raw_lines(path: str, what: str) -> Iterator[bytes]:
    """Lines as bytes (`-` for stdin); `what` says which file to give when `path` is a folder."""
    if path == "-":
        yield from sys.stdin.buffer
        return
    try:
        with open(path, "rb") as fh:
            yield from fh
    except FileNotFoundError:
        raise InvalidInputError(f"no file {path}") from None
    except IsADirectoryError:
        raise InvalidInputError(f"{path} is a folder; give {what}") from None


def cmd_import_memory(args: argparse.Namespace, settings: Settings) -> int:
    from mcp_server_checkpoints.storage.memory_file import import_lines

    # bytes: a line that is not UTF-8 is reported by the importer, not fatal to the whole file
    report = import_lines(_graph(settings), _read_raw_lines(args.file, "the memory server's JSONL file"))
    data = {"entities": report.entities, "relations": report.relations, "skipped_existing": report.skipped_existing,
            "errors": report.errors}

    def text() -> str:
        head = (f"imported {report.entities} entities and {report.relations} relations, skipped "
                f"{report.skipped_existing} already present" + (f", {len(report.errors)} bad lines:" if report.errors else ""))
        return "\n".join([head] + [f"  {e}" for e in report.errors[:50]]
                         + ([f"  … and {len(report.errors) - 50} more"] if len(report.errors) > 50 else []))

    _emit(args, data, text)
    return 1 if report.errors else 0


def cmd_export_memory(args: argparse.Namespace, settings: Settings) -> int:
    from mcp_server_checkpoints.storage.memory_file import export_lines

    out: IO[str] = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    n = 0
    try:
        for line in export_lines(_graph(settings)):
            out.write(line + "\n")
            n += 1
    finally:
        if args.out:
            out.close()
    if args.out:
        print(f"exported {n} lines to {args.out}", file=sys.stderr)
    return 0


HANDLERS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "serve": cmd_serve, "list": cmd_list, "search": cmd_search, "show": cmd_show, "status": cmd_status,
    "delete": cmd_delete, "backup": cmd_backup,
    "export": cmd_export, "import": cmd_import, "stats": cmd_stats, "verify": cmd_verify, "demo": cmd_demo,
    "hook": cmd_hook,
    "setup": cmd_setup, "uninstall": cmd_setup, "init": cmd_init,
    "import-memory": cmd_import_memory, "export-memory": cmd_export_memory,
    "reindex": cmd_reindex,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if _command_of(argv) == "hook":
        # A hook is a new process on every compaction and session start: it builds only its own command
        # line, and pydantic does not scan every installed package's metadata for plugins (~40 ms).
        os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
        # Exit 2 from a PreCompact hook blocks compaction: a hook exits 0 whatever went wrong.
        try:
            return _main(argv, only="hook")
        except SystemExit:
            return 0
    return _main(argv)


def _command_of(argv: list[str]) -> str | None:
    """The command word: the first argument that is neither an option nor an option's value."""
    args = iter(argv)
    for arg in args:
        if arg in ("--db", "--config", "--log-level"):
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def _main(argv: list[str], only: str | None = None) -> int:
    parser = build_parser(only)
    args = parser.parse_args(argv)
    if args.command is None:
        args.command = "serve"
        args.transport, args.host, args.port, args.project = "stdio", "127.0.0.1", 8765, None
    try:
        settings = _settings(args)
    except InvalidInputError as exc:
        print(f"ckpt: {exc}", file=sys.stderr)
        return 0 if args.command == "hook" else 2
    # Logs go to stderr: stdout belongs to the MCP protocol when serving over stdio.
    logging.basicConfig(level=settings.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return HANDLERS[args.command](args, settings)
    except NotFoundError as exc:
        print(f"ckpt: {exc}", file=sys.stderr)
        return 1
    except InvalidInputError as exc:
        print(f"ckpt: {exc}", file=sys.stderr)
        return 2
    except CheckpointsError as exc:
        print(f"ckpt: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `ckpt export | head`
        return 0
    except KeyboardInterrupt:
        return 130

