"""Where each client keeps its MCP configuration, and what our entries in it look like.

All path logic lives in `Home`, built from a handful of environment variables, so tests point
every client at a temporary home directory.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from mcp_server_checkpoints.integrations.clients.names import AGENT_FILES, CLIENTS, DEFAULT_NAME

__all__ = ["AGENT_FILES", "CLIENTS", "DEFAULT_NAME", "HOOKS", "Home", "hook_subcommand", "is_official_memory",
           "join_command", "resolve_command", "runs_us"]

OUR_EXECUTABLES = frozenset({"ckpt", "mcp-server-checkpoints"})
OUR_MODULE = "mcp_server_checkpoints"
MEMORY_PACKAGE = "@modelcontextprotocol/server-memory"

# Claude Code hooks: event → (matcher, `ckpt hook` sub-command). An empty matcher matches every
# trigger (PreCompact fires with `manual` and `auto`; new triggers are covered too).
HOOKS: dict[str, tuple[str, str]] = {
    "PreCompact": ("", "pre-compact"),
    "PostCompact": ("", "post-compact"),
    "SessionStart": ("startup|resume|clear|compact", "session-start"),
    "SessionEnd": ("", "session-end"),
}
HOOK_SUBCOMMANDS = frozenset(sub for _, sub in HOOKS.values())


@dataclass(frozen=True)
class Home:
    """The directories that locate every client's configuration files."""

    home: Path
    platform: str = "linux"  # a `sys.platform` value: linux, darwin, win32
    xdg_config_home: Path | None = None
    appdata: Path | None = None
    localappdata: Path | None = None
    claude_config_dir: Path | None = None  # CLAUDE_CONFIG_DIR moves ~/.claude and ~/.claude.json
    codex_home: Path | None = None  # CODEX_HOME moves ~/.codex

    @classmethod
    def from_env(cls, env: Mapping[str, str], platform: str) -> Home:
        def path(var: str) -> Path | None:
            value = env.get(var)
            return Path(value).expanduser() if value else None

        # Windows programs (Node's os.homedir(), Python's Path.home()) use USERPROFILE even where
        # a shell such as Git Bash also sets HOME.
        order = ("USERPROFILE", "HOME") if platform == "win32" else ("HOME", "USERPROFILE")
        home = path(order[0]) or path(order[1]) or Path.home()
        return cls(home=home, platform=platform, xdg_config_home=path("XDG_CONFIG_HOME"),
                   appdata=path("APPDATA"), localappdata=path("LOCALAPPDATA"),
                   claude_config_dir=path("CLAUDE_CONFIG_DIR"), codex_home=path("CODEX_HOME"))

    # -- per client ------------------------------------------------------------------------
    @property
    def claude_dir(self) -> Path:
        return self.claude_config_dir or self.home / ".claude"

    @property
    def claude_json(self) -> Path:
        """Claude Code's user-scope `mcpServers` live at the top level of this file."""
        return (self.claude_config_dir / ".claude.json") if self.claude_config_dir else self.home / ".claude.json"

    @property
    def claude_settings(self) -> Path:
        return self.claude_dir / "settings.json"

    @property
    def desktop_dir(self) -> Path:
        if self.platform == "darwin":
            return self.home / "Library" / "Application Support" / "Claude"
        if self.platform == "win32":
            return (self.appdata or self.home / "AppData" / "Roaming") / "Claude"
        return (self.xdg_config_home or self.home / ".config") / "Claude"

    @property
    def cursor_dir(self) -> Path:
        return self.home / ".cursor"

    @property
    def codex_dir(self) -> Path:
        return self.codex_home or self.home / ".codex"

    def client_dir(self, client: str) -> Path:
        """The directory whose existence says the client is installed."""
        return {"claude-code": self.claude_dir, "claude-desktop": self.desktop_dir,
                "cursor": self.cursor_dir, "codex": self.codex_dir}[client]

    def server_file(self, client: str) -> Path:
        """The file holding the client's MCP server entries."""
        return {"claude-code": self.claude_json, "claude-desktop": self.desktop_dir / "claude_desktop_config.json",
                "cursor": self.cursor_dir / "mcp.json", "codex": self.codex_dir / "config.toml"}[client]

    def is_installed(self, client: str) -> bool:
        if client == "claude-code":
            return self.claude_dir.is_dir() or self.claude_json.is_file()
        return self.client_dir(client).is_dir()

    def npx_caches(self) -> list[Path]:
        """Where `npx` unpacks packages (the official memory server keeps its file beside its code)."""
        caches = [self.home / ".npm" / "_npx"]
        if self.localappdata:
            caches.append(self.localappdata / "npm-cache" / "_npx")
        return caches

    def display(self, path: Path) -> str:
        """`path` with the home directory shown as `~` (readable output; the JSON keeps full paths)."""
        try:
            return "~/" + path.relative_to(self.home).as_posix()
        except ValueError:
            return str(path)


# -- the command clients run ---------------------------------------------------------------
def _stem(token: str) -> str:
    name = PurePath(token.replace("\\", "/")).name.lower()
    return name[:-4] if name.endswith(".exe") else name


def resolve_command(argv0: str, which: Callable[[str], str | None], executable: str) -> list[str]:
    """The absolute command that starts this program, so GUI clients with a minimal PATH find it.

    The running `ckpt` (argv[0]) first, then `ckpt` on PATH, then `python -m mcp_server_checkpoints`.
    """
    if _stem(argv0) in OUR_EXECUTABLES:
        found = Path(argv0) if os.sep in argv0 or "/" in argv0 else None
        located = str(found) if found and found.is_file() else which(argv0)
        if located:
            return [str(Path(located).absolute())]
    for name in ("ckpt", "mcp-server-checkpoints"):
        located = which(name)
        if located:
            return [str(Path(located).absolute())]
    return [str(Path(executable).absolute()), "-m", OUR_MODULE]


def join_command(argv: list[str], platform: str) -> str:
    """One shell command line (hooks are a string, run by the shell).

    On Windows, Claude Code runs hook commands through Git Bash, where an unquoted backslash is an
    escape: paths get forward slashes, which bash, cmd and PowerShell all accept.
    """
    if platform == "win32":
        import subprocess  # only here: `ckpt` imports this module on every start, the server included

        return subprocess.list2cmdline([a.replace("\\", "/") for a in argv])
    return shlex.join(argv)


def split_command(command: str) -> list[str]:
    try:
        return shlex.split(command, posix=True)
    except ValueError:
        return command.split()


def runs_us(command: Any, args: Any = ()) -> bool:
    """Whether a server entry (command + args) starts this program, however it was installed."""
    if not isinstance(command, str):
        return False
    tokens = [command, *(a for a in (args if isinstance(args, list) else []) if isinstance(a, str))]
    if len(tokens) == 1 and " " in command:  # a whole command line in `command`
        tokens = split_command(command)
    stems = [_stem(t) for t in tokens]
    if stems[0] in OUR_EXECUTABLES:
        return True
    # `python -m mcp_server_checkpoints`, `uvx mcp-server-checkpoints`, `pipx run mcp-server-checkpoints`
    return OUR_MODULE in tokens or any(s in OUR_EXECUTABLES for s in stems[1:3])


def is_official_memory(entry: Any) -> bool:
    """Whether a server entry runs the official `@modelcontextprotocol/server-memory`."""
    if not isinstance(entry, Mapping):
        return False
    command, args = entry.get("command"), entry.get("args")
    tokens = [command] + (list(args) if isinstance(args, list) else [])
    text = " ".join(t for t in tokens if isinstance(t, str))
    return MEMORY_PACKAGE in text or "mcp-server-memory" in text or " mcp/memory" in f" {text}"


def hook_subcommand(command: Any) -> str | None:
    """The sub-command (`pre-compact`, `session-start`, …) when a hook command runs our `hook` command, else None."""
    if not isinstance(command, str):
        return None
    for tokens in (split_command(command), command.split()):  # the second keeps Windows backslashes
        if len(tokens) >= 3 and tokens[-2] == "hook" and tokens[-1] in HOOK_SUBCOMMANDS \
                and runs_us(tokens[0], tokens[1:]):
            return tokens[-1]
    return None
