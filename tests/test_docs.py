"""Every tool and every CLI command is documented in the README (a test, so it stays true)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from mcp_server_checkpoints.cli import COMMANDS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
pytestmark = pytest.mark.anyio


async def test_every_tool_documented(client: Client) -> None:
    for tool in (await client.list_tools()).tools:
        assert f"`{tool.name}`" in README, f"tool {tool.name} is missing from the README"


def test_every_cli_command_documented() -> None:
    for name in COMMANDS:
        assert f"`ckpt {name}" in README, f"`ckpt {name}` is missing from the README's command table"
