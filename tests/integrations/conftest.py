"""A temporary home directory holding every client's configuration, with other people's entries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcp_server_checkpoints.integrations.clients.catalog import Home
from mcp_server_checkpoints.integrations.clients.setup import Options

CKPT = "/opt/tools/bin/ckpt"

CLAUDE_JSON = {
    "numStartups": 42,
    "projects": {"/work/app": {"allowedTools": [], "mcpServers": {}}},
    "mcpServers": {"github": {"type": "stdio", "command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"],
                              "env": {"GITHUB_TOKEN": "secret"}}},
}
SETTINGS_JSON = {
    "permissions": {"allow": ["Bash(ls:*)"]},
    "hooks": {
        "PreCompact": [{"matcher": "auto", "hooks": [{"type": "command", "command": "~/bin/backup-transcript.sh"}]}],
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "audit-bash"}]}],
    },
}
DESKTOP_JSON = {"globalShortcut": "Ctrl+Space", "mcpServers": {"fs": {"command": "npx", "args": ["fs", "/tmp"]}}}
# Hand-formatted: 4 spaces, one entry on one line. Only the lines we change may change.
DESKTOP_TEXT = """{
    "globalShortcut": "Ctrl+Space",
    "mcpServers": {
        "fs": { "command": "npx", "args": ["fs", "/tmp"] }
    }
}
"""
# Cursor's file hand-written with tabs: the indentation style must survive.
CURSOR_TEXT = '{\n\t"mcpServers": {\n\t\t"docs": {\n\t\t\t"url": "http://localhost:3000/mcp"\n\t\t}\n\t}\n}\n'
CODEX_TEXT = """# Codex settings — hand-written, keep my comments
model = "o3"  # the default model
approval_policy = "on-request"

[mcp_servers.docs]
command = "npx"
args = ["-y", "docs-mcp"]  # pinned elsewhere

[profiles.fast]
model = "gpt-5-mini"
"""


@pytest.fixture
def home(tmp_path: Path) -> Home:
    root = tmp_path / "home"
    h = Home(home=root, platform="linux")
    h.claude_dir.mkdir(parents=True)
    h.claude_json.write_text(json.dumps(CLAUDE_JSON, indent=2) + "\n")
    h.claude_settings.write_text(json.dumps(SETTINGS_JSON, indent=2) + "\n")
    for client in ("claude-desktop", "cursor", "codex"):
        h.client_dir(client).mkdir(parents=True)
    h.server_file("claude-desktop").write_text(DESKTOP_TEXT)
    h.server_file("cursor").write_text(CURSOR_TEXT)
    h.server_file("codex").write_text(CODEX_TEXT)
    return h


@pytest.fixture
def opts() -> Options:
    return Options(command=[CKPT])


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its bytes (a change anywhere, or a new file, shows up)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def load(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data
