"""`ckpt` / `mcp-server-checkpoints`: serve MCP (the default) and manage the checkpoint database.

Exit codes: 0 success; 1 a command failed (not found, integrity problems, bad import lines);
2 the command line or a setting is wrong.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing's own flag, without importing typing before the stdio front end answers
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from types import SimpleNamespace
    from typing import Any

    from mcp_server_checkpoints.config import Settings
    from mcp_server_checkpoints.server.handshake import FrontEnd

__all__ = ["COMMANDS", "build_parser", "main"]


def __getattr__(name: str) -> Any:
    # Imported on use: serving over stdio starts reading the wire before any of the CLI is imported.
    if name in ("COMMANDS", "build_parser"):
        from mcp_server_checkpoints.cli import parser

        return getattr(parser, name)
    raise AttributeError(name)


def _settings(args: argparse.Namespace | SimpleNamespace) -> Settings:
    from mcp_server_checkpoints.config import load_settings

    overrides = {"db": getattr(args, "db", None), "log_level": getattr(args, "log_level", None),
                 "project": getattr(args, "project", None) if args.command == "serve" else None}
    return load_settings(overrides, config_file=getattr(args, "config", None))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if _command_of(argv) == "hook":
        # A hook is a new process on every compaction and session start: it builds only its own command
        # line, and pydantic does not scan every installed package's metadata for plugins (~40 ms).
        os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
        # Exit 2 from a PreCompact hook blocks compaction: a hook exits 0 whatever went wrong.
        try:
            return _hook(argv)
        except SystemExit:
            return 0
    if _serves_stdio(argv):
        # The client is waiting for `initialize` from the moment it spawned us: claim the wire and let the
        # front end answer the handshake while the SDK and the server are imported and built below.
        from mcp_server_checkpoints.server.handshake import start_front_end

        front = start_front_end()
        front.wait_for_handshake()
        return _main(argv, front=front)
    return _main(argv)


def _serves_stdio(argv: list[str]) -> bool:
    """`ckpt` / `ckpt serve` over stdio (not HTTP, not a request for help or the version)."""
    if _command_of(argv) not in (None, "serve") or any(a in ("-h", "--help", "--version") for a in argv):
        return False
    # Any "http" counts (argparse also takes `--trans http`): wrongly seeing HTTP only costs the early answers.
    return not any(a == "http" or a.endswith("=http") for a in argv)


def _command_of(argv: list[str]) -> str | None:
    """The command word: the first argument that is neither an option nor an option's value."""
    args = iter(argv)
    for arg in args:
        if arg in ("--db", "--config", "--log-level"):
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def _hook_args(argv: list[str]) -> SimpleNamespace | None:
    """The plain shape Claude Code runs (`[--db P] [--config F] [--log-level L] hook EVENT`, in any order),
    read without argparse; None for anything else (help, a mistake), which argparse then explains."""
    from types import SimpleNamespace

    from mcp_server_checkpoints.integrations.claude_code import HOOK_EVENTS

    values: dict[str, str] = {}
    words: list[str] = []
    args = iter(argv)
    for arg in args:
        name, eq, value = arg.partition("=")
        if name in ("--db", "--config", "--log-level"):
            got = value if eq else next(args, None)
            if got is None or (name == "--log-level" and got not in ("DEBUG", "INFO", "WARNING", "ERROR")):
                return None
            values[name[2:].replace("-", "_")] = got
        elif arg.startswith("-"):
            return None
        else:
            words.append(arg)
    if len(words) != 2 or words[1] not in HOOK_EVENTS:
        return None
    return SimpleNamespace(command="hook", event=words[1], **values)


def _hook(argv: list[str]) -> int:
    """`ckpt hook EVENT`: its own command line, the settings and the hook; none of the other commands' imports
    and no argparse parser (building one took a hook more time than the rest of its start-up)."""
    from mcp_server_checkpoints.errors import InvalidInputError

    args: argparse.Namespace | SimpleNamespace | None = _hook_args(argv)
    if args is None:
        from mcp_server_checkpoints.cli.parser import build_parser

        args = build_parser("hook").parse_args(argv)
    try:
        settings = _settings(args)
    except InvalidInputError as exc:
        print(f"ckpt: {exc}", file=sys.stderr)
        return 0
    from mcp_server_checkpoints.integrations.claude_code.hooks import run

    out = run(args.event, sys.stdin.read() if not sys.stdin.isatty() else "", settings)
    if out:
        print(out)
    return 0  # always: a failing hook would block compaction or the session start


def _main(argv: list[str], front: FrontEnd | None = None) -> int:
    import logging

    from mcp_server_checkpoints.cli.commands import HANDLERS, Context
    from mcp_server_checkpoints.cli.parser import build_parser
    from mcp_server_checkpoints.errors import CheckpointsError, InvalidInputError, NotFoundError

    parser = build_parser()
    args = parser.parse_args(argv)
    args.front_end = front
    if args.command is None:
        args.command = "serve"
        args.transport, args.host, args.port, args.project = "stdio", "127.0.0.1", 8765, None
    try:
        settings = _settings(args)
    except InvalidInputError as exc:
        print(f"ckpt: {exc}", file=sys.stderr)
        return 2
    # Logs go to stderr: stdout belongs to the MCP protocol when serving over stdio.
    logging.basicConfig(level=settings.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx = Context(settings)
    try:
        return HANDLERS[args.command](args, ctx)
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
    finally:
        ctx.close()

