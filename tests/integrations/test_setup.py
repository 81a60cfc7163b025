"""`ckpt setup` / `ckpt uninstall` against a temporary home holding existing client configurations."""

from __future__ import annotations

import copy
import json
import os
import stat
from pathlib import Path

import pytest

from mcp_server_checkpoints.integrations.clients.catalog import Home
from mcp_server_checkpoints.integrations.clients.setup import Options, render, run
from tests.integrations.conftest import (
    CKPT,
    CLAUDE_JSON,
    CODEX_TEXT,
    CURSOR_TEXT,
    DESKTOP_JSON,
    DESKTOP_TEXT,
    SETTINGS_JSON,
    load,
    snapshot,
)

HOOK_PRE = f"{CKPT} hook pre-compact"
HOOK_START = f"{CKPT} hook session-start"
HOOK_POST = f"{CKPT} hook post-compact"
HOOK_END = f"{CKPT} hook session-end"


def backups(home: Home) -> list[str]:
    return sorted(k for k in snapshot(home.home) if ".bak-" in k)


def statuses(report: object) -> dict[str, str]:
    return {c.client: c.status for c in report.clients}  # type: ignore[attr-defined]


def test_setup_registers_every_client_and_keeps_the_rest(home: Home, opts: Options) -> None:
    report = run("setup", home, opts)
    assert report.ok and set(statuses(report).values()) == {"configured"}

    claude = load(home.claude_json)
    expected = copy.deepcopy(CLAUDE_JSON)
    expected["mcpServers"]["checkpoints"] = {"type": "stdio", "command": CKPT, "args": [], "env": {}}  # type: ignore[index]
    assert claude == expected

    settings = load(home.claude_settings)
    hooks = settings["hooks"]
    assert settings["permissions"] == SETTINGS_JSON["permissions"]
    assert hooks == {  # the other tool's PreCompact hook and the PreToolUse hook are untouched
        "PreCompact": [SETTINGS_JSON["hooks"]["PreCompact"][0],  # type: ignore[index]
                       {"matcher": "", "hooks": [{"type": "command", "command": HOOK_PRE}]}],
        "PostCompact": [{"matcher": "", "hooks": [{"type": "command", "command": HOOK_POST}]}],
        "PreToolUse": SETTINGS_JSON["hooks"]["PreToolUse"],  # type: ignore[index]
        "SessionStart": [{"matcher": "startup|resume|clear|compact",
                          "hooks": [{"type": "command", "command": HOOK_START}]}],
        "SessionEnd": [{"matcher": "", "hooks": [{"type": "command", "command": HOOK_END}]}],
    }

    desktop = load(home.server_file("claude-desktop"))
    assert desktop == {**DESKTOP_JSON, "mcpServers": {**DESKTOP_JSON["mcpServers"],  # type: ignore[dict-item]
                                                       "checkpoints": {"command": CKPT, "args": []}}}
    assert home.server_file("claude-desktop").read_text() == DESKTOP_TEXT.replace(  # a minimal edit
        '"/tmp"] }\n', f'"/tmp"] }},\n        "checkpoints": {{\n            "command": "{CKPT}",\n'
                       '            "args": []\n        }\n')

    cursor = home.server_file("cursor").read_text()
    assert cursor.startswith('{\n\t"mcpServers": {\n\t\t"docs": {')  # tabs kept
    assert json.loads(cursor)["mcpServers"]["checkpoints"] == {"command": CKPT, "args": []}

    codex = home.server_file("codex").read_text()
    assert codex == CODEX_TEXT.replace(
        "\n[profiles.fast]", f'\n[mcp_servers.checkpoints]\ncommand = "{CKPT}"\nargs = []\n\n[profiles.fast]')


def test_dry_run_writes_nothing_and_shows_diffs(home: Home, opts: Options) -> None:
    before = snapshot(home.home)
    report = run("setup", home, opts, dry_run=True)
    assert snapshot(home.home) == before
    assert set(statuses(report).values()) == {"would be configured"}
    text = render(report, home)
    assert "dry run: nothing is written" in text
    assert '+[mcp_servers.checkpoints]' in text and f'+command = "{CKPT}"' in text
    assert f'"command": "{HOOK_PRE}"' in text and "--- ~/.claude/settings.json" in text
    data = report.to_json()
    assert all(f["diff"].startswith("--- ") for c in data["clients"] for f in c["files"])


def test_setup_twice_changes_nothing(home: Home, opts: Options) -> None:
    run("setup", home, opts)
    after_first = snapshot(home.home)
    report = run("setup", home, opts)
    assert set(statuses(report).values()) == {"already configured"}
    assert snapshot(home.home) == after_first  # no rewrite, no new backup
    assert "Restart" not in render(report, home)


def test_backups_hold_the_previous_bytes(home: Home, opts: Options) -> None:
    before = snapshot(home.home)
    report = run("setup", home, opts)
    written = [c for r in report.clients for c in r.changes if c.changed]
    assert len(written) == 5 and all(c.backup is not None for c in written)
    for change in written:
        assert change.backup is not None and change.backup.name.startswith(change.path.name + ".bak-2")
        assert change.backup.read_bytes() == before[str(change.path.relative_to(home.home))]


def test_new_files_need_no_backup(tmp_path: Path, opts: Options) -> None:
    home = Home(home=tmp_path)
    report = run("setup", home, opts, clients=["all"])
    assert report.ok and backups(home) == []
    assert load(home.server_file("cursor")) == {"mcpServers": {"checkpoints": {"command": CKPT, "args": []}}}
    assert home.server_file("codex").read_text() == f'[mcp_servers.checkpoints]\ncommand = "{CKPT}"\nargs = []\n'
    assert stat.S_IMODE(home.claude_settings.stat().st_mode) == 0o600


def test_uninstall_restores_the_other_entries_exactly(home: Home, opts: Options) -> None:
    original = snapshot(home.home)
    run("setup", home, opts)
    report = run("uninstall", home, opts)
    assert report.ok and set(statuses(report).values()) == {"removed"}
    # Only the members that differ are edited, so every file comes back byte for byte.
    restored = snapshot(home.home)
    assert {k: v for k, v in restored.items() if ".bak-" not in k} == original
    assert len(backups(home)) == 10  # one per file and per run that changed it
    again = run("uninstall", home, opts)
    assert set(statuses(again).values()) == {"not configured"} and len(backups(home)) == 10


def test_uninstall_tidies_containers_it_emptied(tmp_path: Path, opts: Options) -> None:
    home = Home(home=tmp_path)
    run("setup", home, opts, clients=["claude-code", "codex"])
    run("uninstall", home, opts, clients=["claude-code", "codex"])
    assert load(home.claude_settings) == {} and load(home.claude_json) == {}
    assert home.server_file("codex").read_text() == ""


@pytest.mark.parametrize(("client", "text", "expected"), [
    ("cursor", '{\n  "mcpServers": {\n    "docs": {"url": "x"},\n  }\n}\n', "is not valid JSON (line 4, column 3"),
    ("claude-desktop", '["not", "an", "object"]', "holds a JSON list, not an object"),
    ("claude-desktop", '{"mcpServers": "none"}', "`mcpServers` is a str, not an object"),
    ("codex", '[mcp_servers.docs]\ncommand = "npx\n', "is not valid TOML (line 2"),
    ("codex", "mcp_servers = 3\n", "`mcp_servers` is not a table"),
])
def test_malformed_files_are_reported_and_left_untouched(home: Home, opts: Options, client: str, text: str,
                                                         expected: str) -> None:
    home.server_file(client).write_text(text)
    before = snapshot(home.home)
    report = run("setup", home, opts)
    result = {c.client: c for c in report.clients}
    assert not report.ok and result[client].status == "failed"
    assert str(home.server_file(client)) in result[client].reason and expected in result[client].reason
    assert "left untouched" in result[client].reason
    assert home.server_file(client).read_bytes() == before[str(home.server_file(client).relative_to(home.home))]
    assert not any(k.startswith(str(home.server_file(client).relative_to(home.home)) + ".bak") for k in backups(home))
    assert all(c.status == "configured" for c in report.clients if c.client != client)  # the others still are
    assert f"{client:<15} FAILED: " in render(report, home)


def test_malformed_hooks_fail_claude_code_as_a_whole(home: Home, opts: Options) -> None:
    home.claude_settings.write_text(json.dumps({"hooks": {"PreCompact": {"matcher": ""}}}))
    claude_json = home.claude_json.read_bytes()
    report = run("setup", home, opts, clients=["claude-code"])
    assert statuses(report) == {"claude-code": "failed"} and "`hooks.PreCompact` is a dict" in report.clients[0].reason
    assert home.claude_json.read_bytes() == claude_json  # nothing half-done: the server entry was not written either


def test_an_unrelated_entry_under_our_name_is_not_overwritten(home: Home, opts: Options) -> None:
    home.server_file("cursor").write_text(json.dumps({"mcpServers": {"checkpoints": {"command": "other-tool"}}}))
    report = run("setup", home, opts, clients=["cursor"])
    assert statuses(report) == {"cursor": "failed"} and "runs another program" in report.clients[0].reason
    assert load(home.server_file("cursor")) == {"mcpServers": {"checkpoints": {"command": "other-tool"}}}
    # uninstall leaves it alone too, and says so
    report = run("uninstall", home, opts, clients=["cursor"])
    assert report.ok and "runs another program; left alone" in report.clients[0].messages[0]


def test_a_new_location_updates_in_place_without_duplicates(home: Home, opts: Options) -> None:
    run("setup", home, opts)
    claude = load(home.claude_json)
    claude["mcpServers"]["checkpoints"]["env"] = {"CHECKPOINTS_LOG_LEVEL": "INFO"}  # type: ignore[index]
    home.claude_json.write_text(json.dumps(claude, indent=2))
    settings = load(home.claude_settings)
    settings["hooks"]["PreCompact"][1]["hooks"][0]["timeout"] = 30  # type: ignore[index]
    home.claude_settings.write_text(json.dumps(settings, indent=2))

    moved = Options(command=["/new/venv/bin/ckpt"], db=Path("/data/ckpt.db"))
    report = run("setup", home, moved)
    assert set(statuses(report).values()) == {"configured"}
    notes = [n for c in report.clients for ch in c.changes for n in ch.notes]
    assert "updated MCP server `checkpoints`" in notes and "updated hook PreCompact" in notes
    entry = load(home.claude_json)["mcpServers"]["checkpoints"]  # type: ignore[index]
    assert entry == {"type": "stdio", "command": "/new/venv/bin/ckpt", "args": ["--db", "/data/ckpt.db"],
                     "env": {"CHECKPOINTS_LOG_LEVEL": "INFO"}}  # what the user added is kept
    hooks = load(home.claude_settings)["hooks"]
    assert hooks["PreCompact"] == [  # type: ignore[index]
        SETTINGS_JSON["hooks"]["PreCompact"][0],  # type: ignore[index]
        {"matcher": "", "hooks": [{"type": "command", "timeout": 30,
                                   "command": "/new/venv/bin/ckpt --db /data/ckpt.db hook pre-compact"}]}]
    assert len(hooks["SessionStart"]) == 1  # type: ignore[index]
    codex = home.server_file("codex").read_text()
    assert codex.count("[mcp_servers.checkpoints]") == 1 and 'args = ["--db", "/data/ckpt.db"]' in codex


def test_our_hook_inside_someone_elses_group_is_moved_out(home: Home, opts: Options) -> None:
    settings = {"hooks": {"SessionStart": [{"matcher": "startup", "hooks": [
        {"type": "command", "command": "echo hi"}, {"type": "command", "command": "ckpt hook session-start"}]}]}}
    home.claude_settings.write_text(json.dumps(settings))
    run("setup", home, opts, clients=["claude-code"])
    assert load(home.claude_settings)["hooks"]["SessionStart"] == [  # type: ignore[index]
        {"matcher": "startup", "hooks": [{"type": "command", "command": "echo hi"}]},
        {"matcher": "startup|resume|clear|compact", "hooks": [{"type": "command", "command": HOOK_START}]}]
    run("uninstall", home, opts, clients=["claude-code"])
    assert load(home.claude_settings) == {"hooks": {"SessionStart": [
        {"matcher": "startup", "hooks": [{"type": "command", "command": "echo hi"}]}]}}


def test_name_memory_replaces_the_official_server_and_offers_the_import(home: Home) -> None:
    memory_file = home.home / "notes" / "memory.jsonl"
    claude = copy.deepcopy(CLAUDE_JSON)
    claude["mcpServers"]["memory"] = {  # type: ignore[index]
        "type": "stdio", "command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"],
        "env": {"MEMORY_FILE_PATH": str(memory_file)}}
    home.claude_json.write_text(json.dumps(claude, indent=2))
    # Codex runs it with the package's default file, which lives in the npx cache.
    npx_copy = home.home / ".npm/_npx/5f1e/node_modules/@modelcontextprotocol/server-memory/dist/memory.jsonl"
    npx_copy.parent.mkdir(parents=True)
    npx_copy.write_text('{"type":"entity","name":"a","entityType":"t","observations":[]}\n')
    home.server_file("codex").write_text(
        CODEX_TEXT + '\n[mcp_servers.memory]\ncommand = "npx"\nargs = ["-y", "@modelcontextprotocol/server-memory"]\n')

    hint = run("setup", home, Options(command=[CKPT]), clients=["claude-code"], dry_run=True)
    assert any("`ckpt setup --name memory` replaces it" in m for m in hint.clients[0].messages)

    opts = Options(command=[CKPT], name="memory", db=Path("/data/ckpt.db"))
    report = run("setup", home, opts, clients=["claude-code", "codex", "cursor"])
    by = {c.client: c for c in report.clients}
    assert report.ok
    servers = load(home.claude_json)["mcpServers"]
    assert servers["memory"] == {"type": "stdio", "command": CKPT, "args": ["--db", "/data/ckpt.db"],  # type: ignore[index]
                                 "env": {}}
    assert servers["github"] == CLAUDE_JSON["mcpServers"]["github"]  # type: ignore[index]
    assert by["claude-code"].changes[0].notes == ["replaced the official memory server `memory` with this server"]
    assert f"bring its data over: ckpt --db /data/ckpt.db import-memory {memory_file}" in by["claude-code"].messages
    assert any("`mcp__memory__*` keep working" in m for m in by["claude-code"].messages)
    assert f"bring its data over: ckpt --db /data/ckpt.db import-memory {npx_copy}" in by["codex"].messages
    codex = home.server_file("codex").read_text()
    assert "server-memory" not in codex and f'[mcp_servers.memory]\ncommand = "{CKPT}"' in codex
    assert codex.startswith(CODEX_TEXT)
    # uninstall points at the backup that still holds the official entry
    gone = run("uninstall", home, opts, clients=["claude-code", "codex"])
    backup_notes = [m for c in gone.clients for m in c.messages if "is in the backup" in m]
    assert len(backup_notes) == 2 and all(".bak-" in m for m in backup_notes)
    assert "[mcp_servers.memory]" not in home.server_file("codex").read_text()
    # cursor had no memory entry: ours is simply added under that name, with no import hint
    assert load(home.server_file("cursor"))["mcpServers"]["memory"] == {  # type: ignore[index]
        "command": CKPT, "args": ["--db", "/data/ckpt.db"]}
    assert by["cursor"].messages == []


def test_memory_without_a_known_file_still_prints_the_command(home: Home) -> None:
    home.server_file("cursor").write_text(json.dumps(
        {"mcpServers": {"memory": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory@2026.8.31"]}}}))
    report = run("setup", home, Options(command=[CKPT], name="memory"), clients=["cursor"])
    assert any(m.endswith("bring it over with: ckpt import-memory PATH") for m in report.clients[0].messages)


def test_uninstall_keeps_hooks_while_another_entry_of_ours_remains(home: Home, opts: Options) -> None:
    run("setup", home, opts, clients=["claude-code"])
    run("setup", home, Options(command=[CKPT], name="memory"), clients=["claude-code"])
    report = run("uninstall", home, Options(command=[CKPT], name="memory"), clients=["claude-code"])
    assert report.clients[0].messages == ["hooks kept: this server is still registered as `checkpoints`"]
    assert HOOK_PRE in home.claude_settings.read_text()
    run("uninstall", home, opts, clients=["claude-code"])
    assert load(home.claude_settings) == SETTINGS_JSON and load(home.claude_json) == CLAUDE_JSON


def test_clients_not_installed_are_skipped_with_the_reason(tmp_path: Path, opts: Options) -> None:
    home = Home(home=tmp_path)
    (tmp_path / ".codex").mkdir()
    report = run("setup", home, opts)
    assert statuses(report) == {"claude-code": "skipped", "claude-desktop": "skipped", "cursor": "skipped",
                                "codex": "configured"}
    assert report.clients[2].reason == "~/.cursor not found (Cursor not installed?); --client cursor configures it anyway"
    assert not (tmp_path / ".cursor").exists()
    nothing = run("setup", Home(home=tmp_path / "empty"), opts)
    assert render(nothing, home).endswith("No client found here: name one with --client (or --client all).")
    only = run("setup", home, opts, clients=["cursor"])
    assert statuses(only) == {"cursor": "configured"} and (tmp_path / ".cursor" / "mcp.json").is_file()


def test_file_permissions_and_symlinks_survive(home: Home, opts: Options, tmp_path: Path) -> None:
    os.chmod(home.claude_json, 0o600)
    dotfiles = tmp_path / "dotfiles" / "mcp.json"
    dotfiles.parent.mkdir()
    dotfiles.write_text(CURSOR_TEXT)
    home.server_file("cursor").unlink()
    home.server_file("cursor").symlink_to(dotfiles)
    report = run("setup", home, opts, clients=["claude-code", "cursor"])
    assert stat.S_IMODE(home.claude_json.stat().st_mode) == 0o600
    backup = report.clients[0].changes[0].backup
    assert backup is not None and stat.S_IMODE(backup.stat().st_mode) == 0o600  # it may hold tokens too
    assert home.server_file("cursor").is_symlink() and "checkpoints" in dotfiles.read_text()


def test_crlf_and_a_byte_order_mark_are_kept(home: Home, opts: Options) -> None:
    path = home.server_file("claude-desktop")
    path.write_bytes(b'\xef\xbb\xbf{\r\n  "mcpServers": {}\r\n}\r\n')
    run("setup", home, opts, clients=["claude-desktop"])
    raw = path.read_bytes()
    assert raw.startswith(b'\xef\xbb\xbf{\r\n  "mcpServers"') and b"\n" not in raw.replace(b"\r\n", b"")


def test_json_report(home: Home, opts: Options) -> None:
    data = run("setup", home, opts, clients=["cursor"]).to_json()
    assert data["ok"] and data["command"] == [CKPT] and data["name"] == "checkpoints"
    (cursor,) = data["clients"]
    assert cursor["status"] == "configured" and cursor["files"][0]["notes"] == ["added MCP server `checkpoints`"]
    assert cursor["files"][0]["backup"].startswith(str(home.server_file("cursor")) + ".bak-")


def test_a_file_changed_by_the_client_meanwhile_is_not_overwritten(home: Home, opts: Options,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import mcp_server_checkpoints.integrations.clients.setup as setup_module

    real_plan = setup_module.plan_client

    def plan_then_client_writes(*args: object, **kwargs: object) -> object:
        changes = real_plan(*args, **kwargs)  # type: ignore[arg-type]
        home.server_file("cursor").write_text('{"mcpServers": {"written-by-cursor": {"command": "x"}}}')
        return changes

    monkeypatch.setattr(setup_module, "plan_client", plan_then_client_writes)
    report = run("setup", home, opts, clients=["cursor"])
    assert statuses(report) == {"cursor": "failed"} and "changed while it was being edited" in report.clients[0].reason
    assert load(home.server_file("cursor")) == {"mcpServers": {"written-by-cursor": {"command": "x"}}}
    assert backups(home) == []


def test_a_command_in_a_throwaway_environment_is_warned_about(home: Home) -> None:
    uvx = Options(command=[str(home.home / ".cache/uv/archive-v0/Xk3/bin/ckpt")])
    report = run("setup", home, uvx, clients=["cursor"], dry_run=True)
    assert report.warnings and "uv tool install" in report.warnings[0]
    assert render(report, home).splitlines()[1].startswith("warning: ")
    assert run("setup", home, Options(command=[CKPT]), clients=["cursor"], dry_run=True).warnings == []
