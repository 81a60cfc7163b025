"""`ckpt setup` / `ckpt uninstall`: register the server (and Claude Code's hooks) in each client.

Plan first, write second: every file of a client is parsed and changed in memory, and only when
all of them can be changed is anything written (backup, then atomic replace). A file we cannot
change safely fails that client alone; the others are still configured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mcp_server_checkpoints.integrations.clients.catalog import (
    CLIENTS,
    MEMORY_PACKAGE,
    Home,
    is_official_memory,
    join_command,
    runs_us,
)
from mcp_server_checkpoints.integrations.clients.configfiles import (
    ConfigFileError,
    FileChange,
    apply_change,
    dump_toml,
    edit_json,
    load_json,
    load_toml,
    read_text,
)
from mcp_server_checkpoints.integrations.clients.entries import (
    Options,
    remove_hooks,
    remove_json_server,
    remove_toml_server,
    set_hooks,
    set_json_server,
    set_toml_server,
)

__all__ = ["Action", "ClientReport", "Options", "Report", "plan_client", "render", "run"]

Action = Literal["setup", "uninstall"]
LABELS = {"claude-code": "Claude Code", "claude-desktop": "Claude Desktop", "cursor": "Cursor", "codex": "Codex"}


@dataclass
class ClientReport:
    client: str
    status: str  # configured, already configured, removed, not configured, skipped, failed (+ "would …")
    reason: str = ""
    changes: list[FileChange] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def to_json(self, dry_run: bool) -> dict[str, Any]:
        return {
            "client": self.client, "status": self.status, "reason": self.reason, "messages": self.messages,
            "files": [{"path": str(c.path), "changed": c.changed, "notes": c.notes,
                       "backup": str(c.backup) if c.backup else None,
                       **({"diff": c.diff()} if dry_run and c.changed else {})} for c in self.changes],
        }


@dataclass
class Report:
    action: Action
    dry_run: bool
    options: Options
    clients: list[ClientReport]
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(c.failed for c in self.clients)

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "dry_run": self.dry_run, "ok": self.ok, "name": self.options.name,
                "command": self.options.server_argv, "warnings": self.warnings,
                "clients": [c.to_json(self.dry_run) for c in self.clients]}


def _ephemeral(command: list[str]) -> list[str]:
    """A warning when the command lives in a throw-away environment (`uvx`, `pipx run`)."""
    parts = Path(command[0]).parts
    if any(p.startswith("archive-v") for p in parts) or ("pipx" in parts and ".cache" in parts):
        return [f"{command[0]} is in a temporary environment (uvx / pipx run) that may be deleted: install the"
                " package with `uv tool install` or `pipx install`, then run `ckpt setup` again"]
    return []


def _plan_json(path: Path, edit: Any) -> FileChange | None:
    """Apply `edit(data) -> notes` to the JSON file at `path`; None when the file is absent and stays so."""
    before = read_text(path)
    data = load_json(path, before)
    new = load_json(path, before)  # a second parse: much faster than deepcopy on a multi-MB ~/.claude.json
    notes: list[str] = edit(new)
    if new == data:
        return FileChange(path, before, before, []) if before is not None else None
    return FileChange(path, before, edit_json(before, new, data), notes)


def _plan_toml(path: Path, edit: Any) -> FileChange | None:
    before = read_text(path)
    doc = load_toml(path, before)
    notes: list[str] = edit(doc)
    if not notes:
        return FileChange(path, before, before, []) if before is not None else None
    return FileChange(path, before, dump_toml(doc, before), notes)


# -- per client ----------------------------------------------------------------------------
def plan_client(action: Action, client: str, home: Home, opts: Options,
                messages: list[str], replaced: list[Mapping[str, Any]]) -> list[FileChange]:
    """Every file change `action` needs for `client`; raises ConfigFileError before anything is written."""
    path = home.server_file(client)
    plans: list[FileChange | None] = []
    if client == "codex":
        if action == "setup":
            plans.append(_plan_toml(path, lambda d: set_toml_server(path, d, opts, replaced)))
        else:
            plans.append(_plan_toml(path, lambda d: remove_toml_server(d, opts.name, messages, path)))
        return [p for p in plans if p]
    claude_code = client == "claude-code"
    if action == "setup":
        plans.append(_plan_json(path, lambda d: set_json_server(path, d, opts, claude_code, replaced)))
    else:
        plans.append(_plan_json(path, lambda d: remove_json_server(d, opts.name, messages, path)))
    if claude_code:
        settings = home.claude_settings
        if action == "setup":
            plans.append(_plan_json(settings, lambda d: set_hooks(settings, d, opts, home.platform)))
        elif others := _our_other_servers(plans[0], opts.name):
            # The hooks serve every entry of ours: keep them while another one stays registered.
            messages.append(f"hooks kept: this server is still registered as {', '.join(f'`{n}`' for n in others)}")
        else:
            plans.append(_plan_json(settings, remove_hooks))
    return [p for p in plans if p]


def _our_other_servers(change: FileChange | None, name: str) -> list[str]:
    """Names of other entries that run this program in the (planned) Claude Code server file."""
    if change is None:
        return []
    servers = load_json(change.path, change.after).get("mcpServers")
    if not isinstance(servers, dict):
        return []
    return [n for n, e in servers.items()
            if n != name and isinstance(e, dict) and runs_us(e.get("command"), e.get("args"))]


def _other_hints(action: Action, client: str, home: Home, opts: Options) -> list[str]:
    """Point at an official memory server still registered beside ours."""
    if action != "setup" or opts.name == "memory":
        return []
    path = home.server_file(client)
    try:
        text = read_text(path)
        servers = (load_toml(path, text).unwrap() if client == "codex" else load_json(path, text)).get(
            "mcp_servers" if client == "codex" else "mcpServers")
    except ConfigFileError:
        return []
    if isinstance(servers, dict) and is_official_memory(servers.get("memory")):
        return ["the official memory server is registered as `memory`: `ckpt setup --name memory` replaces it"
                " (its prompts and `mcp__memory__*` tool names keep working)"]
    return []


def memory_files(entry: Mapping[str, Any], home: Home) -> list[Path]:
    """Where the replaced official memory server kept its graph (MEMORY_FILE_PATH, else its npx copy)."""
    env = entry.get("env")
    configured = env.get("MEMORY_FILE_PATH") if isinstance(env, Mapping) else None
    if isinstance(configured, str) and configured.strip():
        path = Path(configured).expanduser()
        if path.is_absolute():
            return [path]
        names = [configured]  # relative paths are resolved against the package's own directory
    else:
        names = ["memory.jsonl", "memory.json"]  # the package's default, and its older name
    found: list[Path] = []
    for cache in home.npx_caches():
        if cache.is_dir():
            for name in names:
                found.extend(cache.glob(f"*/node_modules/@modelcontextprotocol/server-memory/dist/{name}"))
    return sorted((p for p in found if p.is_file()), key=lambda p: p.stat().st_mtime, reverse=True)


def _memory_messages(replaced: list[Mapping[str, Any]], home: Home, opts: Options) -> list[str]:
    if not replaced:
        return []
    ckpt = ["ckpt"] if len(opts.command) == 1 else opts.command

    def import_command(path: str) -> str:
        return join_command([*ckpt, *opts.global_args, "import-memory", path], home.platform)

    lines = [f"prompts and tools that use `mcp__{opts.name}__*` keep working: this server now answers under the"
             f" name `{opts.name}`, with the same knowledge-graph tools"]
    files: list[Path] = []
    for entry in replaced:
        files.extend(p for p in memory_files(entry, home) if p not in files)
    if files:
        lines += [f"bring its data over: {import_command(str(p))}" for p in files]
    else:
        lines.append("its data file was not found (it is MEMORY_FILE_PATH, or memory.jsonl inside the npx copy of"
                     f" {MEMORY_PACKAGE}); bring it over with: {import_command('PATH')}")
    return lines


def run(action: Action, home: Home, opts: Options, clients: list[str] | None = None,
        dry_run: bool = False) -> Report:
    """Set up or uninstall `clients` (None: every installed one; `all`: all four)."""
    if clients is None:
        selected = [c for c in CLIENTS if home.is_installed(c)]
    elif "all" in clients:
        selected = list(CLIENTS)
    else:
        selected = [c for c in CLIENTS if c in clients]
    reports: list[ClientReport] = []
    for client in CLIENTS:
        if client not in selected:
            if clients is None:
                reports.append(ClientReport(client, "skipped", f"{home.display(home.client_dir(client))} not found"
                                            f" ({LABELS[client]} not installed?); --client {client} configures it"
                                            " anyway"))
            continue
        reports.append(_run_client(action, client, home, opts, dry_run))
    return Report(action, dry_run, opts, reports, _ephemeral(opts.command) if action == "setup" else [])


def _run_client(action: Action, client: str, home: Home, opts: Options, dry_run: bool) -> ClientReport:
    messages: list[str] = []
    replaced: list[Mapping[str, Any]] = []
    try:
        changes = plan_client(action, client, home, opts, messages, replaced)
    except ConfigFileError as exc:
        return ClientReport(client, "failed", str(exc))
    changed = [c for c in changes if c.changed]
    messages += _memory_messages(replaced, home, opts) + _other_hints(action, client, home, opts)
    if not changed:
        status = "already configured" if action == "setup" else "not configured"
        return ClientReport(client, status, changes=changes, messages=messages)
    if not dry_run:
        written: list[str] = []
        for change in changed:
            try:
                apply_change(change)
            except (OSError, ConfigFileError) as exc:
                why = f"{change.path} could not be written ({exc.strerror})" if isinstance(exc, OSError) else str(exc)
                return ClientReport(client, "failed", why + (f"; already written: {', '.join(written)}"
                                                             if written else ""), changes, messages)
            written.append(str(change.path))
    status = "configured" if action == "setup" else "removed"
    return ClientReport(client, f"would be {status}" if dry_run else status, changes=changes, messages=messages)


# -- text output ---------------------------------------------------------------------------
def render(report: Report, home: Home) -> str:
    lines: list[str] = []
    if report.dry_run:
        lines.append("dry run: nothing is written")
    lines += [f"warning: {w}" for w in report.warnings]
    for c in report.clients:
        head = f"{c.client:<15} {c.status.upper() if c.failed else c.status}"
        lines.append(head + (f": {c.reason}" if c.reason else ""))
        for change in c.changes:
            if change.changed:
                lines.append(f"  {home.display(change.path)}: {', '.join(change.notes)}")
                if change.backup:
                    lines.append(f"    backup: {home.display(change.backup)}")
        lines += [f"  note: {m}" for m in c.messages]
        if report.dry_run:
            for change in c.changes:
                if change.changed:
                    lines += ["    " + ln for ln in change.diff(home.display(change.path)).splitlines()]
    if report.clients and all(c.status == "skipped" for c in report.clients):
        lines.append("No client found here: name one with --client (or --client all).")
    if any(c.status in {"configured", "removed"} for c in report.clients):
        lines.append("Restart the clients (or start a new session) to load the change.")
    return "\n".join(lines)
