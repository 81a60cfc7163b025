"""Where each client's files are, which command we register, and how our entries are recognised."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_server_checkpoints.config import client_env
from mcp_server_checkpoints.integrations.clients.catalog import (
    Home,
    hook_subcommand,
    is_official_memory,
    join_command,
    resolve_command,
    runs_us,
)


def test_paths_per_platform() -> None:
    linux = Home.from_env(client_env({"HOME": "/h", "XDG_CONFIG_HOME": "/h/cfg", "PATH": "/bin"}), "linux")
    assert linux.claude_json == Path("/h/.claude.json") and linux.claude_settings == Path("/h/.claude/settings.json")
    assert linux.server_file("claude-desktop") == Path("/h/cfg/Claude/claude_desktop_config.json")
    assert linux.server_file("cursor") == Path("/h/.cursor/mcp.json")
    assert linux.server_file("codex") == Path("/h/.codex/config.toml")
    assert Home(Path("/h")).desktop_dir == Path("/h/.config/Claude")
    mac = Home.from_env({"HOME": "/Users/a"}, "darwin")
    assert mac.desktop_dir == Path("/Users/a/Library/Application Support/Claude")
    win = Home.from_env({"HOME": "/git-bash-home", "USERPROFILE": "/u", "APPDATA": "/u/AppData/Roaming"}, "win32")
    assert win.desktop_dir == Path("/u/AppData/Roaming/Claude") and win.cursor_dir == Path("/u/.cursor")
    moved = Home.from_env({"HOME": "/h", "CLAUDE_CONFIG_DIR": "/c", "CODEX_HOME": "/x"}, "linux")
    assert moved.claude_json == Path("/c/.claude.json") and moved.claude_settings == Path("/c/settings.json")
    assert moved.server_file("codex") == Path("/x/config.toml")


def test_client_env_reads_only_the_locating_variables() -> None:
    assert client_env({"HOME": "/h", "APPDATA": "", "SECRET_TOKEN": "x", "CODEX_HOME": "/c"}) == {
        "HOME": "/h", "CODEX_HOME": "/c"}


def test_resolve_command(tmp_path: Path) -> None:
    exe = tmp_path / "bin" / "ckpt"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n")
    never = lambda name: None  # noqa: E731
    assert resolve_command(str(exe), never, "/usr/bin/python3") == [str(exe)]
    # started as plain `ckpt` from PATH: the PATH lookup gives the absolute file
    assert resolve_command("ckpt", lambda n: str(exe) if n == "ckpt" else None, "/py") == [str(exe)]
    # started some other way (python -m, pytest): find `ckpt` on PATH, else run the module
    assert resolve_command("/x/pytest", lambda n: str(exe) if n == "ckpt" else None, "/py") == [str(exe)]
    assert resolve_command("-m", never, "/usr/bin/python3") == ["/usr/bin/python3", "-m", "mcp_server_checkpoints"]


@pytest.mark.parametrize(("command", "args", "ours"), [
    ("/home/a/.local/bin/ckpt", [], True),
    ("ckpt", ["--db", "/x.db"], True),
    ("C:\\Users\\a\\Scripts\\ckpt.exe", [], True),
    ("mcp-server-checkpoints", [], True),
    ("/usr/bin/python3", ["-m", "mcp_server_checkpoints"], True),
    ("uvx", ["mcp-server-checkpoints"], True),
    ("npx", ["-y", "@modelcontextprotocol/server-memory"], False),
    ("ckpt-other", [], False),
    (None, [], False),
])
def test_runs_us(command: str | None, args: list[str], ours: bool) -> None:
    assert runs_us(command, args) is ours


def test_hook_commands_are_recognised_by_their_command() -> None:
    assert hook_subcommand("/opt/bin/ckpt hook pre-compact") == "pre-compact"
    assert hook_subcommand("'/opt/my tools/ckpt' --db /x.db hook session-start") == "session-start"
    assert hook_subcommand("/usr/bin/python3 -m mcp_server_checkpoints hook pre-compact") == "pre-compact"
    assert hook_subcommand("C:\\Users\\a\\Scripts\\ckpt.exe hook session-start") == "session-start"
    assert hook_subcommand('"C:/Program Files/ckpt.exe" hook pre-compact') == "pre-compact"
    assert hook_subcommand("~/bin/backup-transcript.sh") is None
    assert hook_subcommand("other-tool hook pre-compact") is None
    assert hook_subcommand("ckpt hook pre-compact && rm -rf 'x") is None  # unbalanced quote: not ours
    assert hook_subcommand(["not", "a", "string"]) is None


def test_join_command_quotes_for_the_shell() -> None:
    assert join_command(["/opt/my tools/ckpt", "hook", "pre-compact"], "linux") == "'/opt/my tools/ckpt' hook pre-compact"
    assert join_command(["C:\\Program Files\\ckpt.exe", "hook", "x"], "win32") == '"C:/Program Files/ckpt.exe" hook x'
    assert join_command(["C:\\Users\\a\\ckpt.exe", "hook", "x"], "win32") == "C:/Users/a/ckpt.exe hook x"


def test_official_memory_is_recognised() -> None:
    assert is_official_memory({"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory@2026.8.31"]})
    assert is_official_memory({"command": "docker", "args": ["run", "-i", "--rm", "mcp/memory"]})
    assert not is_official_memory({"command": "npx", "args": ["-y", "some-other-memory"]})
    assert not is_official_memory("npx")
