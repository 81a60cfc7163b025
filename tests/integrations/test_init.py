"""`ckpt init`: the checkpoint section in CLAUDE.md / AGENTS.md, added once and updated in place."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_server_checkpoints.integrations.clients.agent_docs import END, SECTION, START, apply_init, plan_init
from mcp_server_checkpoints.integrations.clients.configfiles import ConfigFileError


def init(directory: Path, name: str | None = None) -> str:
    result = plan_init(directory, name)
    apply_init(result)
    return result.status


def test_creates_claude_md_when_no_agent_file_exists(tmp_path: Path) -> None:
    assert init(tmp_path) == "created"
    text = (tmp_path / "CLAUDE.md").read_text()
    assert text == SECTION and text.startswith(START) and text.rstrip().endswith(END)
    for tool in ("`recover`", "`save_checkpoint`", "`mark_status`"):
        assert tool in text
    assert 8 <= len(text.splitlines()) <= 14
    assert init(tmp_path) == "already up to date"
    assert not (tmp_path / "AGENTS.md").exists()


def test_appends_to_the_existing_file_and_updates_in_place(tmp_path: Path) -> None:
    agents = tmp_path / "AGENTS.md"
    agents.write_text("# Project rules\n\nUse tabs.")
    assert init(tmp_path) == "added"  # AGENTS.md is the one that exists
    assert agents.read_text() == "# Project rules\n\nUse tabs.\n\n" + SECTION
    # an older version of the section, with text after it, is replaced and nothing else moves
    agents.write_text(f"# Project rules\n\n{START}\nold advice\n{END}\n\n## Later section\nkeep\n")
    assert init(tmp_path) == "updated"
    assert agents.read_text() == f"# Project rules\n\n{SECTION}\n## Later section\nkeep\n"
    before = agents.read_bytes()
    assert init(tmp_path) == "already up to date" and agents.read_bytes() == before


def test_prefers_claude_md_and_honours_file(tmp_path: Path) -> None:
    (tmp_path / "CLAUDE.md").write_text("claude\n")
    (tmp_path / "AGENTS.md").write_text("agents\n")
    init(tmp_path)
    assert START in (tmp_path / "CLAUDE.md").read_text() and START not in (tmp_path / "AGENTS.md").read_text()
    init(tmp_path, "AGENTS.md")
    assert (tmp_path / "AGENTS.md").read_text() == "agents\n\n" + SECTION


def test_windows_line_endings_are_kept(tmp_path: Path) -> None:
    (tmp_path / "CLAUDE.md").write_bytes(b"# Rules\r\n")
    init(tmp_path)
    raw = (tmp_path / "CLAUDE.md").read_bytes()
    assert raw.startswith(b"# Rules\r\n\r\n<!--") and b"\n" not in raw.replace(b"\r\n", b"")
    assert init(tmp_path) == "already up to date"


def test_unbalanced_markers_are_reported_and_the_file_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "CLAUDE.md"
    path.write_text(f"intro\n{START}\nno end marker\n")
    with pytest.raises(ConfigFileError, match="unbalanced mcp-server-checkpoints markers"):
        plan_init(tmp_path)
    assert path.read_text() == f"intro\n{START}\nno end marker\n"
