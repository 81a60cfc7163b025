"""The `ckpt setup`, `ckpt uninstall` and `ckpt init` commands: arguments in, report out."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from mcp_server_checkpoints.config import Settings, client_env
from mcp_server_checkpoints.integrations.clients import agent_docs
from mcp_server_checkpoints.integrations.clients.catalog import Home, resolve_command
from mcp_server_checkpoints.integrations.clients.configfiles import ConfigFileError
from mcp_server_checkpoints.integrations.clients.setup import Options, render, run


def home_from_environment() -> Home:
    return Home.from_env(client_env(), sys.platform)


def setup_or_uninstall(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when every selected client is done, 1 when any failed."""
    db = getattr(args, "db", None)
    opts = Options(command=resolve_command(sys.argv[0], shutil.which, sys.executable), name=args.name,
                   db=Path(db).expanduser().absolute() if db else None)
    home = home_from_environment()
    report = run(args.command, home, opts, args.client, dry_run=args.dry_run)
    if getattr(args, "json", False):
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print(render(report, home))
    return 0 if report.ok else 1


def init(args: argparse.Namespace) -> int:
    directory = Path(args.dir).expanduser()
    if not directory.is_dir():
        print(f"ckpt: {directory} is not a directory", file=sys.stderr)
        return 2
    try:
        result = agent_docs.plan_init(directory, args.file)
        if not args.dry_run:
            agent_docs.apply_init(result)
    except ConfigFileError as exc:
        print(f"ckpt: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"ckpt: {directory} could not be written ({exc.strerror})", file=sys.stderr)
        return 1
    change = result.change
    if getattr(args, "json", False):
        print(json.dumps({"path": str(change.path), "status": result.status, "dry_run": args.dry_run,
                          **({"diff": change.diff()} if args.dry_run else {})}, indent=2))
    else:
        print(f"{change.path}: {'would be ' if args.dry_run and change.changed else ''}{result.status}")
        if args.dry_run and change.changed:
            print(change.diff(), end="")
    return 0
