"""Our entries inside a client's parsed configuration: the server entry and Claude Code's hooks.

Each function changes a parsed document in place and returns notes on what it changed; an entry
is recognised as ours by the program it runs, so other entries are never touched.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.toml_document import TOMLDocument

from mcp_server_checkpoints.integrations.clients.catalog import (
    DEFAULT_NAME,
    HOOK_SUBCOMMANDS,
    HOOKS,
    hook_subcommand,
    is_official_memory,
    join_command,
    runs_us,
)
from mcp_server_checkpoints.integrations.clients.configfiles import (
    ConfigFileError,
    expect_object,
    load_json,
    load_toml,
    read_text,
)

__all__ = ["Options", "remove_hooks", "remove_json_server", "remove_toml_server", "set_hooks", "set_json_server",
           "set_toml_server"]


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


# -- JSON clients (Claude Code, Claude Desktop, Cursor) -------------------------------------
def _server_entry(opts: Options, claude_code: bool) -> dict[str, Any]:
    argv = opts.server_argv
    if claude_code:  # the shape `claude mcp add --scope user` writes
        return {"type": "stdio", "command": argv[0], "args": argv[1:], "env": {}}
    return {"command": argv[0], "args": argv[1:]}


def set_json_server(path: Path, data: dict[str, Any], opts: Options, claude_code: bool,
                    replaced: list[Mapping[str, Any]]) -> list[str]:
    """Add or refresh our entry in `mcpServers`; an official memory entry under the name is replaced."""
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


def remove_json_server(data: dict[str, Any], name: str, messages: list[str], path: Path) -> list[str]:
    """Remove our entry `name` (an entry that runs another program is left alone, with a message)."""
    return _remove_server(data, "mcpServers", name, messages, path, toml=False)


def _remove_server(doc: Any, key: str, name: str, messages: list[str], path: Path, *, toml: bool) -> list[str]:
    """Remove our server entry `name` from `doc[key]` (JSON dict or TOML table); drop `key` if it empties."""
    servers = doc.get(key)
    if not isinstance(servers, dict) or name not in servers:
        return []
    old = _plain(servers[name])
    if not (isinstance(old, dict) and runs_us(old.get("command"), old.get("args"))):
        messages.append(f"{path}: the MCP server `{name}` runs another program; left alone")
        return []
    del servers[name]
    if not servers:
        del doc[key]
    return _removal_notes(path, name, toml, messages)


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


def set_hooks(path: Path, data: dict[str, Any], opts: Options, platform: str) -> list[str]:
    """Exactly one up-to-date handler of ours per event in `HOOKS`; everyone else's stay as they are."""
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


def remove_hooks(data: dict[str, Any]) -> list[str]:
    """Take out every handler of ours, then the groups, events and `hooks` object that became empty."""
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
            ours = [i for sub in sorted(HOOK_SUBCOMMANDS) for i in _ours_in(group, sub)]
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


# -- Codex (TOML) --------------------------------------------------------------------------
def _plain(item: Any) -> Any:
    """A tomlkit item as plain Python values (dicts, lists, str)."""
    return item.unwrap() if hasattr(item, "unwrap") else item


def set_toml_server(path: Path, doc: TOMLDocument, opts: Options, replaced: list[Mapping[str, Any]]) -> list[str]:
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


def remove_toml_server(doc: TOMLDocument, name: str, messages: list[str], path: Path) -> list[str]:
    return _remove_server(doc, "mcp_servers", name, messages, path, toml=True)
