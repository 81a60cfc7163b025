"""Every tool and every CLI command is documented in the README (a test, so it stays true)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mcp import Client

from mcp_server_checkpoints.cli import COMMANDS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
pytestmark = pytest.mark.anyio


async def test_every_tool_documented(client: Client) -> None:
    for tool in (await client.list_tools()).tools:
        assert f"`{tool.name}`" in README, f"tool {tool.name} is missing from the README"


def documented_commands(text: str) -> set[str]:
    """Whole command names written as `ckpt NAME…` (so `ckpt import-memory` does not document `ckpt import`)."""
    return set(re.findall(r"`ckpt ([a-z][a-z-]*[a-z])\b(?!-)", text))


def test_every_cli_command_documented() -> None:
    documented = documented_commands(README)
    for name in COMMANDS:
        assert name in documented, f"`ckpt {name}` is missing from the README's command table"


def test_documented_commands_are_whole_names() -> None:
    assert documented_commands("run `ckpt import-memory FILE`") == {"import-memory"}
    assert documented_commands("`ckpt import FILE` and `ckpt hook pre-compact`") == {"import", "hook"}
