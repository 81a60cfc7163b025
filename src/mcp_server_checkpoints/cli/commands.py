"""The CLI's commands: one function each, given the parsed arguments and a `Context`.

Only `serve` (and `demo`, which drives a real server) imports mcp.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.domain.records import Checkpoint
from mcp_server_checkpoints.domain.time import short_age
from mcp_server_checkpoints.errors import InvalidInputError
from mcp_server_checkpoints.progress import Progress
from mcp_server_checkpoints.wiring import SemanticMode, Services, open_services

if TYPE_CHECKING:
    from mcp_server_checkpoints.storage.protocols import CheckpointStore


@dataclass
class Context:
    """The settings, and the services opened on first use (closed by `close`, whatever happened)."""

    settings: Settings
    _services: Services | None = field(default=None, repr=False)

    def services(self, semantic: SemanticMode = "off", *, bulk: bool = False) -> Services:
        if self._services is None:
            self._services = open_services(self.settings, semantic=semantic, bulk=bulk)
        return self._services

    @property
    def store(self) -> CheckpointStore:
        return self.services().store

    def close(self) -> None:
        if self._services is not None:
            self._services.close()
            self._services = None


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
        rows.append((h.id, h.status, "" if h.progress is None else f"{h.progress}%", short_age(h.age_hours), h.title[:60]))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4] for r in rows)


# -- commands ------------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace, ctx: Context) -> int:
    from mcp_server_checkpoints.server.app import build_server, open_state

    front = getattr(args, "front_end", None)  # the stdio front end, reading the wire since the process started
    if args.transport == "http":
        if front is not None:
            front.close()
            front.wire.release()
        build_server(ctx.settings).run("streamable-http", host=args.host, port=args.port, stateless_http=True,
                                       json_response=True)
        return 0
    import anyio

    from mcp_server_checkpoints.server.stdio import run_stdio

    if front is None:
        server = build_server(ctx.settings)
    else:
        with front.critical():  # an early exit (stdin closed, nothing to answer) waits for the database to open
            state = open_state(ctx.settings)
        server = build_server(ctx.settings, state)
    anyio.run(run_stdio, server, front)  # answers undecodable lines; SIGTERM and stdin EOF both exit 0
    if front is not None and front.exits:
        # The session is over: every answer written, the database closed by the lifespan. Tearing the
        # interpreter down (the SDK's and pydantic's object graphs, torch once loaded) takes longer than the
        # whole shut-down before it, and a client closing the server waits for exactly that.
        import logging
        import os

        ctx.close()
        logging.shutdown()
        sys.stderr.flush()
        os._exit(0)
    return 0


def cmd_list(args: argparse.Namespace, ctx: Context) -> int:
    hits = ctx.store.list_recent(project=args.project, statuses=args.status, limit=args.limit)
    _emit(args, [asdict(h) for h in hits], lambda: _table(hits))
    return 0


def cmd_search(args: argparse.Namespace, ctx: Context) -> int:
    # Lexical unless asked: a CLI call does not wait seconds for the model.
    s = ctx.services(semantic="now" if args.semantic else "off")
    if s.semantic is not None:  # embed what no server has embedded yet
        while s.semantic.embed_pending(limit=64, entities_too=False):
            pass
    out = s.store.search_with_state(args.query, project=args.project, statuses=args.status, limit=args.limit,
                                  since_hours=args.since_hours, all_versions=args.all_versions)
    _emit(args, {"results": [asdict(h) for h in out.hits], "semantic": out.semantic}, lambda: _table(out.hits))
    return 0


def cmd_reindex(args: argparse.Namespace, ctx: Context) -> int:
    s = ctx.services(semantic="off" if args.lexical_only else "now", bulk=True)
    store = s.store
    with Progress(store.stats()["payloads"] if s.settings.index_transcripts else 0, "transcripts",
                  enabled=args.progress) as bar:
        transcripts = store.reindex_lexical(progress=bar.advance)
    done, model = 0, None
    if s.semantic is not None:
        index = s.semantic
        model = index.model_name
        with Progress(store.count() + index.entity_count(), "reindex", enabled=args.progress) as bar:
            done = index.reindex(progress=bar.advance)
    data = {"fts": "rebuilt", "transcripts": transcripts, "embedded": done, "model": model}
    _emit(args, data, lambda: f"full-text index rebuilt ({transcripts} transcripts); {done} checkpoints and graph"
          " entities embedded"
          + (f" with {model}" if model else " (semantic search skipped)"))
    return 0


def cmd_show(args: argparse.Namespace, ctx: Context) -> int:
    from mcp_server_checkpoints.recovery.render import render_summary
    from mcp_server_checkpoints.tools.checkpoints import open_checkpoint

    store = ctx.store
    if getattr(args, "json", False):
        print(open_checkpoint(store, args.id, args.components).model_dump_json(indent=2))
    else:
        store.verify_payload(args.id)
        cp = store.get(args.id, with_payload=False)
        print(render_summary(cp, emoji=not args.no_emoji))
        if cp.redactions:
            kinds = ", ".join(f"{n} {kind}" for kind, n in cp.redactions.items())
            print(f"\nRedacted before it was stored: {kinds}.")
    return 0


def cmd_status(args: argparse.Namespace, ctx: Context) -> int:
    res = ctx.store.set_status(args.id, args.status, args.note)
    _emit(args, asdict(res), lambda: f"{res.id}: {res.status}" + (f" ({args.note})" if args.note else ""))
    return 0


def cmd_delete(args: argparse.Namespace, ctx: Context) -> int:
    restored = ctx.store.delete(args.id)
    note = f" ({restored} child payload{'s' if restored != 1 else ''} re-stored as full copies)" if restored else ""
    _emit(args, {"deleted": args.id, "children_restored": restored}, lambda: f"deleted {args.id}{note}")
    return 0


def cmd_backup(args: argparse.Namespace, ctx: Context) -> int:
    dest = Path(args.dest).expanduser()
    if dest.exists() and not args.force:
        raise InvalidInputError(f"{dest} exists; give another path or --force to overwrite it")
    if dest.resolve() == ctx.settings.db.resolve():
        raise InvalidInputError("the backup path is the database itself; give another path")
    count = ctx.store.backup(dest).checkpoints
    _emit(args, {"backup": str(dest), "checkpoints": count, "bytes": dest.stat().st_size},
          lambda: f"backed up {count} checkpoint{'s' if count != 1 else ''} to {dest} ({dest.stat().st_size:,} bytes)")
    return 0


def cmd_export(args: argparse.Namespace, ctx: Context) -> int:
    from mcp_server_checkpoints.schemas.export import export_line

    store = ctx.store
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


def cmd_import(args: argparse.Namespace, ctx: Context) -> int:
    from mcp_server_checkpoints.schemas.export import parse_export_line

    store = ctx.store
    items: list[Checkpoint] = []
    bad: list[str] = []
    lines = list(_read_lines(args.file))
    with Progress(len(lines), "import", enabled=args.progress) as bar:
        for n, line in enumerate(lines, 1):
            bar.advance()
            if not line.strip():
                continue
            try:
                items.append(parse_export_line(line))
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


def _semantic_report(settings: Settings) -> dict[str, Any]:
    """Which embedding backend a server started with these settings would run, or why none (no heavy import)."""
    from mcp_server_checkpoints.search.backends import choose_backend

    report: dict[str, Any] = {"setting": settings.embedding_backend, "threads": settings.embedding_threads}
    if not settings.semantic:
        return report | {"backend": None, "problem": "switched off (semantic = false)"}
    choice = choose_backend(settings.embedding_backend, settings.embedding_model)
    return report | {"backend": choice.backend, "problem": choice.problem or None}


def cmd_stats(args: argparse.Namespace, ctx: Context) -> int:
    stats = ctx.store.stats() | {"semantic": _semantic_report(ctx.settings)}

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
            f"semantic      {_semantic_line(stats['semantic'])}",
        ])

    _emit(args, stats, text)
    return 0


def _semantic_line(report: dict[str, Any]) -> str:
    if report["backend"] is None:
        return f"off: {report['problem']}"
    threads = report["threads"]
    return (f"{report['backend']} backend (embedding_backend = {report['setting']}, "
            f"{threads} thread{'s' if threads != 1 else ''} per query)")


def cmd_verify(args: argparse.Namespace, ctx: Context) -> int:
    report = ctx.store.verify()
    data = {"ok": report.ok, "integrity_check": report.integrity_check, "checkpoints": report.checked,
            "payloads": report.payloads, "problems": report.problems}

    def text() -> str:
        head = "ok" if report.ok else "PROBLEMS FOUND"
        lines = [f"{head}: integrity_check {', '.join(report.integrity_check[:5])}; {report.checked} checkpoints,"
                 f" {report.payloads} payloads checked"]
        return "\n".join(lines + [f"  {p}" for p in report.problems])

    _emit(args, data, text)
    return 0 if report.ok else 1


def cmd_demo(args: argparse.Namespace, ctx: Context) -> int:
    from mcp_server_checkpoints.demo import run_demo

    return run_demo(keep=args.keep)


def cmd_setup(args: argparse.Namespace, ctx: Context) -> int:
    from mcp_server_checkpoints.integrations.clients import commands

    return commands.setup_or_uninstall(args, ctx.settings)


def cmd_init(args: argparse.Namespace, ctx: Context) -> int:
    from mcp_server_checkpoints.integrations.clients import commands

    return commands.init(args)


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


def cmd_import_memory(args: argparse.Namespace, ctx: Context) -> int:
    from mcp_server_checkpoints.storage.sqlite.memory_file import import_lines

    # bytes: a line that is not UTF-8 is reported by the importer, not fatal to the whole file
    report = import_lines(ctx.services().graph, _read_raw_lines(args.file, "the memory server's JSONL file"))
    data = {"entities": report.entities, "relations": report.relations, "skipped_existing": report.skipped_existing,
            "errors": report.errors}

    def text() -> str:
        head = (f"imported {report.entities} entities and {report.relations} relations, skipped "
                f"{report.skipped_existing} already present" + (f", {len(report.errors)} bad lines:" if report.errors else ""))
        return "\n".join([head] + [f"  {e}" for e in report.errors[:50]]
                         + ([f"  … and {len(report.errors) - 50} more"] if len(report.errors) > 50 else []))

    _emit(args, data, text)
    return 1 if report.errors else 0


def cmd_export_memory(args: argparse.Namespace, ctx: Context) -> int:
    from mcp_server_checkpoints.storage.sqlite.memory_file import export_lines

    out: IO[str] = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    n = 0
    try:
        for line in export_lines(ctx.services().graph):
            out.write(line + "\n")
            n += 1
    finally:
        if args.out:
            out.close()
    if args.out:
        print(f"exported {n} lines to {args.out}", file=sys.stderr)
    return 0


def cmd_key(args: argparse.Namespace, ctx: Context) -> int:
    from mcp_server_checkpoints.config import default_config_path
    from mcp_server_checkpoints.storage.keys import create_key_file, read_key
    from mcp_server_checkpoints.storage.sqlite.crypto import convert

    if args.action == "create":
        path = Path(args.out).expanduser() if args.out else default_config_path().with_name("store.key")
        create_key_file(path, force=args.force)
        _emit(args, {"key_file": str(path)}, lambda: (
            f"wrote a new key to {path} (mode 0600). Keep a copy somewhere safe: without it the store cannot be read.\n"
            f"Encrypt the existing database with `ckpt encrypt --key {path}`, then set encryption_key_file = \"{path}\""
            " in the config file (or CHECKPOINTS_KEY_FILE) for every process using it."))
        return 0
    if not args.new:
        raise InvalidInputError("rotate needs --new FILE: a key file from `ckpt key create --out FILE`")
    old = ctx.settings.encryption_key_file
    if old is None:
        raise InvalidInputError("the database is not encrypted (no encryption_key_file set); use `ckpt encrypt --key FILE`")
    new_path = Path(args.new).expanduser()
    counts = convert(ctx.settings.db, read_key(old), read_key(new_path))
    _emit(args, {"database": str(ctx.settings.db), "key_file": str(new_path), "rows": counts}, lambda: (
        f"re-encrypted {ctx.settings.db} ({counts.get('checkpoints', 0)} checkpoints) under {new_path};"
        f" set encryption_key_file = \"{new_path}\" now (the old key no longer opens it)"))
    return 0


def cmd_encrypt(args: argparse.Namespace, ctx: Context) -> int:
    from mcp_server_checkpoints.storage.keys import read_key
    from mcp_server_checkpoints.storage.sqlite.crypto import convert

    key_path = Path(args.key).expanduser()
    counts = convert(ctx.settings.db, None, read_key(key_path))
    _emit(args, {"database": str(ctx.settings.db), "key_file": str(key_path), "rows": counts}, lambda: (
        f"encrypted {ctx.settings.db} ({counts.get('checkpoints', 0)} checkpoints); set encryption_key_file ="
        f" \"{key_path}\" in the config file (or CHECKPOINTS_KEY_FILE) for every process using it"))
    return 0


def cmd_decrypt(args: argparse.Namespace, ctx: Context) -> int:
    from mcp_server_checkpoints.storage.keys import read_key
    from mcp_server_checkpoints.storage.sqlite.crypto import convert

    if ctx.settings.encryption_key_file is None:
        raise InvalidInputError("the database is not encrypted (no encryption_key_file set)")
    counts = convert(ctx.settings.db, read_key(ctx.settings.encryption_key_file), None)
    _emit(args, {"database": str(ctx.settings.db), "rows": counts}, lambda: (
        f"decrypted {ctx.settings.db} ({counts.get('checkpoints', 0)} checkpoints): it is a plain SQLite file now;"
        " unset encryption_key_file / CHECKPOINTS_KEY_FILE"))
    return 0


HANDLERS: dict[str, Callable[[argparse.Namespace, Context], int]] = {
    "serve": cmd_serve, "list": cmd_list, "search": cmd_search, "show": cmd_show, "status": cmd_status,
    "delete": cmd_delete, "backup": cmd_backup,
    "export": cmd_export, "import": cmd_import, "stats": cmd_stats, "verify": cmd_verify, "demo": cmd_demo,
    "setup": cmd_setup, "uninstall": cmd_setup, "init": cmd_init,
    "import-memory": cmd_import_memory, "export-memory": cmd_export_memory,
    "reindex": cmd_reindex,
    "key": cmd_key, "encrypt": cmd_encrypt, "decrypt": cmd_decrypt,
}


