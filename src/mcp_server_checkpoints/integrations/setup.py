"""`ckpt setup` / `ckpt uninstall`: register the server (and Claude Code's hooks) in each client.

Plan first, write second: every file of a client is parsed and changed in memory, and only when
all of them can be changed is anything written (backup, then atomic replace). A file we cannot
change safely fails that client alone; the others are still configured.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import tomlkit
from tomlkit.toml_document import TOMLDocument

from mcp_server_checkpoints.integrations.clients import (
    CLIENTS, DEFAULT_NAME, HOOKS, MEMORY_PACKAGE, Home, hook_subcommand, is_official_memory, join_command, runs_us,
)
from mcp_server_checkpoints.integrations.configfiles import (
    ConfigFileError, FileChange, apply_change, dump_toml, edit_json, expect_object, load_json, load_toml, read_text,
)

Action = Literal["setup", "uninstall"]
LABELS = {"claude-code": "Claude Code", "claude-desktop": "Claude Desktop", "cursor": "Cursor", "codex": "Codex"}


@dataclass(frozen=True)
class Options:
    """What to register: the command that starts us, the entry's name, an optional database."""

    command: list[str]
    name: str = DEFAULT_NAME
    db: Path | None = None

    @property
    def global_args(self) -> list[str]:
        return ["--db", str(self.db)] if self.db else []

    @property
    def server_argv(self) -> list[str]:
        return [*self.command, *self.global_args]

    def hook_command(self, sub: str, platform: str) -> str:
        return join_command([*self.command, *self.global_args, "hook", sub], platform)


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

    @property
    def ok(self) -> bool:
        return not any(c.failed for c in self.clients)

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "dry_run": self.dry_run, "ok": self.ok, "name": self.options.name,
                "command": self.options.server_argv, "clients": [c.to_json(self.dry_run) for c in self.clients]}


# -- JSON clients (Claude Code, Claude Desktop, Cursor) -------------------------------------
def _server_entry(opts: Options, claude_code: bool) -> dict[str, Any]:
    argv = opts.server_argv
    if claude_code:  # the shape `claude mcp add --scope user` writes
        return {"type": "stdio", "command": argv[0], "args": argv[1:], "env": {}}
    return {"command": argv[0], "args": argv[1:]}


def _set_json_server(path: Path, data: dict[str, Any], opts: Options, claude_code: bool,
                     replaced: list[Mapping[str, Any]]) -> list[str]:
    servers = expect_object(path, data, "mcpServers")
    new = _server_entry(opts, claude_code)
    old = servers.get(opts.name)
    if old is None:
        servers[opts.name] = new
        return [f"added MCP server `{opts.name}`"]
    if is_official_memory(old):
        replaced.append(old)
        servers[opts.name] = new
        return [f"replaced the official memory server `{opts.name}` with this server"]
    if isinstance(old, dict) and runs_us(old.get("command"), old.get("args")):
        # Ours already: refresh command and args, keep what the user added (env, timeouts, …).
        merged = {**old, "command": new["command"], "args": new["args"]}
        if claude_code:
            merged.setdefault("type", "stdio")
        if merged == old:
            return []
        servers[opts.name] = merged
        return [f"updated MCP server `{opts.name}`"]
    raise ConfigFileError(f"{path}: an MCP server named `{opts.name}` already exists and runs another program;"
                          " left untouched (choose another --name, or remove that entry first)")


def _remove_json_server(data: dict[str, Any], name: str, messages: list[str], path: Path) -> list[str]:
    servers = data.get("mcpServers")
    if not isinstance(servers, dict) or name not in servers:
        return []
    old = servers[name]
    if not (isinstance(old, dict) and runs_us(old.get("command"), old.get("args"))):
        messages.append(f"{path}: the MCP server `{name}` runs another program; left alone")
        return []
    del servers[name]
    if not servers:
        del data["mcpServers"]
    return _removal_notes(path, name, False, messages)


def _hook_groups(path: Path, hooks: dict[str, Any], event: str) -> list[Any]:
    groups = hooks.setdefault(event, [])
    if not isinstance(groups, list):
        raise ConfigFileError(f"{path}: `hooks.{event}` is a {type(groups).__name__}, not a list; left untouched")
    return groups


def _ours_in(group: Any, sub: str) -> list[int]:
    """Indexes of our `sub` handlers inside one matcher group."""
    if not isinstance(group, dict) or not isinstance(group.get("hooks"), list):
        return []
    return [i for i, h in enumerate(group["hooks"]) if isinstance(h, dict) and hook_subcommand(h.get("command")) == sub]


def _set_hooks(path: Path, data: dict[str, Any], opts: Options, platform: str) -> list[str]:
    hooks = expect_object(path, data, "hooks")
    notes: list[str] = []
    for event, (matcher, sub) in HOOKS.items():
        groups = _hook_groups(path, hooks, event)
        before = copy.deepcopy(groups)
        command = opts.hook_command(sub, platform)
        placed = False
        kept: list[Any] = []
        for group in groups:
            ours = _ours_in(group, sub)
            if not ours:
                kept.append(group)
            elif not placed and len(ours) == len(group["hooks"]):
                # Our own group: bring it up to date in place (keeping e.g. a timeout the user set).
                handler = {**group["hooks"][ours[0]], "type": "command", "command": command}
                kept.append({**group, "matcher": matcher, "hooks": [handler]})
                placed = True
            else:  # a stray copy, or ours inside someone else's group: take ours out
                rest = [h for i, h in enumerate(group["hooks"]) if i not in ours]
                if rest:
                    kept.append({**group, "hooks": rest})
        if not placed:
            kept.append({"matcher": matcher, "hooks": [{"type": "command", "command": command}]})
        groups[:] = kept
        if groups != before:
            notes.append(f"{'updated' if any(_ours_in(g, sub) for g in before) else 'added'} hook {event}")
    return notes


def _remove_hooks(data: dict[str, Any]) -> list[str]:
    hooks = data.get("hooks")
    if not isinstance(hooks, dict):
        return []
    notes: list[str] = []
    for event, groups in list(hooks.items()):
        if not isinstance(groups, list):
            continue
        kept: list[Any] = []
        removed = False
        for group in groups:
            ours = [i for sub in ("pre-compact", "session-start") for i in _ours_in(group, sub)]
            if not ours:
                kept.append(group)
                continue
            removed = True
            rest = [h for i, h in enumerate(group["hooks"]) if i not in ours]
            if rest:
                kept.append({**group, "hooks": rest})
        if removed:
            notes.append(f"removed hook {event}")
            if kept:
                hooks[event] = kept
            else:
                del hooks[event]
    if notes and not hooks:
        del data["hooks"]
    return notes


def _backup_with_memory(path: Path, name: str, toml: bool) -> Path | None:
    """The newest backup of `path` in which `name` was still the official memory server."""
    backups = sorted(path.parent.glob(f"{path.name}.bak-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for backup in backups[:20]:
        try:
            text = read_text(backup)
            data = load_toml(backup, text).unwrap() if toml else load_json(backup, text)
        except ConfigFileError:
            continue
        servers = data.get("mcp_servers" if toml else "mcpServers")
        if isinstance(servers, dict) and is_official_memory(servers.get(name)):
            return backup
    return None


def _removal_notes(path: Path, name: str, toml: bool, messages: list[str]) -> list[str]:
    backup = _backup_with_memory(path, name, toml)
    if backup:
        messages.append(f"the official memory server's entry `{name}` is in the backup {backup}; copy it back"
                        " to restore it")
    return [f"removed MCP server `{name}`"]


def _plan_json(path: Path, edit: Any) -> FileChange | None:
    """Apply `edit(data) -> notes` to the JSON file at `path`; None when the file is absent and stays so."""
    before = read_text(path)
    data = load_json(path, before)
    new = load_json(path, before)  # a second parse: much faster than deepcopy on a multi-MB ~/.claude.json
    notes: list[str] = edit(new)
    if new == data:
        return FileChange(path, before, before, []) if before is not None else None
    return FileChange(path, before, edit_json(before, new, data), notes)


# -- Codex (TOML) --------------------------------------------------------------------------
def _plain(item: Any) -> Any:
    """A tomlkit item as plain Python values (dicts, lists, str)."""
    return item.unwrap() if hasattr(item, "unwrap") else item


def _set_toml_server(path: Path, doc: TOMLDocument, opts: Options, replaced: list[Mapping[str, Any]]) -> list[str]:
    servers = doc.get("mcp_servers")
    if servers is None:
        servers = tomlkit.table(is_super_table=True)
        doc["mcp_servers"] = servers
    if not isinstance(servers, dict):
        raise ConfigFileError(f"{path}: `mcp_servers` is not a table; left untouched")
    argv = opts.server_argv
    old: Any = servers.get(opts.name)
    plain: Any = _plain(old)
    if isinstance(plain, dict) and runs_us(plain.get("command"), plain.get("args")):
        notes: list[str] = []
        if plain.get("command") != argv[0] or plain.get("args") != argv[1:]:
            old["command"], old["args"] = argv[0], argv[1:]
            notes.append(f"updated MCP server `{opts.name}`")
        return notes
    note = f"added MCP server `{opts.name}`"
    if old is not None:
        if not is_official_memory(plain):
            raise ConfigFileError(f"{path}: an MCP server named `{opts.name}` already exists and runs another"
                                  " program; left untouched (choose another --name, or remove that entry first)")
        replaced.append(plain)
        note = f"replaced the official memory server `{opts.name}` with this server"
        if isinstance(old, dict):  # in place: the entry keeps its position and surrounding comments
            for key in list(old):
                del old[key]
            old["command"], old["args"] = argv[0], argv[1:]
            return [note]
    table = tomlkit.table()
    table["command"] = argv[0]
    table["args"] = argv[1:]
    table.add(tomlkit.nl())
    servers[opts.name] = table
    return [note]


def _remove_toml_server(doc: TOMLDocument, name: str, messages: list[str], path: Path) -> list[str]:
    servers = doc.get("mcp_servers")
    if not isinstance(servers, dict) or name not in servers:
        return []
    plain = _plain(servers[name])
    if not (isinstance(plain, dict) and runs_us(plain.get("command"), plain.get("args"))):
        messages.append(f"{path}: the MCP server `{name}` runs another program; left alone")
        return []
    del servers[name]
    if not servers:
        del doc["mcp_servers"]
    return _removal_notes(path, name, True, messages)


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
            plans.append(_plan_toml(path, lambda d: _set_toml_server(path, d, opts, replaced)))
        else:
            plans.append(_plan_toml(path, lambda d: _remove_toml_server(d, opts.name, messages, path)))
        return [p for p in plans if p]
    claude_code = client == "claude-code"
    if action == "setup":
        plans.append(_plan_json(path, lambda d: _set_json_server(path, d, opts, claude_code, replaced)))
    else:
        plans.append(_plan_json(path, lambda d: _remove_json_server(d, opts.name, messages, path)))
    if claude_code:
        settings = home.claude_settings
        if action == "setup":
            plans.append(_plan_json(settings, lambda d: _set_hooks(settings, d, opts, home.platform)))
        elif others := _our_other_servers(plans[0], opts.name):
            # The hooks serve every entry of ours: keep them while another one stays registered.
            messages.append(f"hooks kept: this server is still registered as {', '.join(f'`{n}`' for n in others)}")
        else:
            plans.append(_plan_json(settings, _remove_hooks))
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
    lines = [f"prompts and tools that use `mcp__{opts.name}__*` keep working: this server now answers under the"
             f" name `{opts.name}`"]
    files: list[Path] = []
    for entry in replaced:
        files.extend(p for p in memory_files(entry, home) if p not in files)
    if files:
        lines += [f"bring its data over: {join_command([*ckpt, *opts.global_args, 'import-memory', str(p)], home.platform)}"
                  for p in files]
    else:
        lines.append("its data file was not found (it is MEMORY_FILE_PATH, or memory.jsonl inside the npx copy of"
                     f" {MEMORY_PACKAGE}); bring it over with:"
                     f" {join_command([*ckpt, *opts.global_args, 'import-memory', 'PATH'], home.platform)}")
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
    return Report(action, dry_run, opts, reports)


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
            except OSError as exc:
                return ClientReport(client, "failed", f"{change.path} could not be written ({exc.strerror})"
                                    + (f"; already written: {', '.join(written)}" if written else ""),
                                    changes, messages)
            written.append(str(change.path))
    status = "configured" if action == "setup" else "removed"
    return ClientReport(client, f"would be {status}" if dry_run else status, changes=changes, messages=messages)


# -- text output ---------------------------------------------------------------------------
def render(report: Report, home: Home) -> str:
    lines: list[str] = []
    if report.dry_run:
        lines.append("dry run: nothing is written")
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
    if any(c.status in {"configured", "removed"} for c in report.clients):
        lines.append("Restart the clients (or start a new session) to load the change.")
    return "\n".join(lines)
