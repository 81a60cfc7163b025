"""`ckpt setup`, `ckpt uninstall` and `ckpt init` through the command line, and as the real console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from mcp_server_checkpoints.cli import main
from tests.integrations.transcript_fixtures import CWD, SESSION, session

LOCATING = ("HOME", "USERPROFILE", "XDG_CONFIG_HOME", "APPDATA", "LOCALAPPDATA", "CLAUDE_CONFIG_DIR", "CODEX_HOME")


@pytest.fixture
def fake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in LOCATING:
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_setup_dry_run_then_setup_then_uninstall(fake_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (fake_home / ".cursor").mkdir()
    code, out, _ = run(capsys, "setup", "--dry-run")
    assert code == 0 and "cursor          would be configured" in out and "+++ ~/.cursor/mcp.json" in out
    assert "claude-code     skipped: ~/.claude not found" in out
    assert not (fake_home / ".cursor" / "mcp.json").exists()

    code, out, _ = run(capsys, "setup", "--db", "rel/ckpt.db", "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] and [c["status"] for c in data["clients"]] == [
        "skipped", "skipped", "configured", "skipped"]
    entry = json.loads((fake_home / ".cursor" / "mcp.json").read_text())["mcpServers"]["checkpoints"]
    # under pytest, argv[0] is not `ckpt`: the entry runs `ckpt` from PATH, or this Python with `-m`
    assert Path(entry["command"]).is_absolute()
    assert entry["args"][-2:] == ["--db", str(Path("rel/ckpt.db").absolute())]

    code, out, _ = run(capsys, "setup", "--db", "rel/ckpt.db")
    assert code == 0 and "cursor          already configured" in out
    code, out, _ = run(capsys, "uninstall", "--client", "cursor")
    assert code == 0 and "cursor          removed" in out
    assert json.loads((fake_home / ".cursor" / "mcp.json").read_text()) == {}


def test_a_failed_client_exits_1(fake_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (fake_home / ".codex").mkdir()
    (fake_home / ".codex" / "config.toml").write_text("[mcp_servers\n")
    (fake_home / ".cursor").mkdir()
    code, out, _ = run(capsys, "setup")
    assert code == 1 and "codex           FAILED: " in out and "is not valid TOML (line 1" in out
    assert "cursor          configured" in out
    assert (fake_home / ".codex" / "config.toml").read_text() == "[mcp_servers\n"


@pytest.mark.parametrize("name", ["", "a.b", "my server", "x" * 65])
def test_a_bad_server_name_is_a_usage_error(fake_home: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["setup", "--name", name])
    assert exit_.value.code == 2 and "use 1-64 letters, digits, - or _" in capsys.readouterr().err


def test_init_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "init", "--dir", str(tmp_path), "--dry-run")
    assert code == 0 and "would be created" in out and "+<!-- mcp-server-checkpoints:start -->" in out
    assert not (tmp_path / "CLAUDE.md").exists()
    code, out, _ = run(capsys, "init", "--dir", str(tmp_path), "--file", "AGENTS.md", "--json")
    assert code == 0 and json.loads(out)["status"] == "created" and (tmp_path / "AGENTS.md").is_file()
    code, out, _ = run(capsys, "init", "--dir", str(tmp_path))
    assert code == 0 and out.strip().endswith("AGENTS.md: already up to date")
    code, _, err = run(capsys, "init", "--dir", str(tmp_path / "missing"))
    assert code == 2 and "is not a directory" in err


@pytest.mark.slow
@pytest.mark.anyio
async def test_console_script_in_a_temp_home_registers_a_server_that_starts(tmp_path: Path) -> None:
    """The installed `ckpt`, with HOME pointing at a temporary directory and a minimal PATH."""
    script = shutil.which("ckpt", path=str(Path(sys.executable).parent))
    assert script, "ckpt is not installed: run `pip install -e .`"
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude.json").write_text('{"numStartups": 1}\n')
    env = {k: v for k, v in os.environ.items() if k not in LOCATING} | {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    db = tmp_path / "data" / "ckpt.db"

    def ckpt(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([script, *argv], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)

    done = ckpt("setup", "--client", "all", "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert all(f"{c:<15} configured" in done.stdout for c in ("claude-code", "claude-desktop", "cursor", "codex"))

    claude = json.loads((home / ".claude.json").read_text())
    assert claude["numStartups"] == 1
    assert claude["mcpServers"]["checkpoints"] == {"type": "stdio", "command": script, "args": ["--db", str(db)],
                                                   "env": {}}
    hooks = json.loads((home / ".claude" / "settings.json").read_text())["hooks"]
    assert hooks["PreCompact"][0]["hooks"][0]["command"] == f"{script} --db {db} hook pre-compact"
    codex = tomllib.loads((home / ".codex" / "config.toml").read_text())
    assert codex["mcp_servers"]["checkpoints"] == {"command": script, "args": ["--db", str(db)]}
    desktop = json.loads((home / ".config" / "Claude" / "claude_desktop_config.json").read_text())
    entry = desktop["mcpServers"]["checkpoints"]

    # What a client would run, as written: a real server answers over stdio.
    async with Client(StdioServerParameters(command=entry["command"], args=entry["args"], env=env)) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"recover", "save_checkpoint", "mark_status"} <= names
        saved = await client.call_tool("save_checkpoint", {"title": "Setup test", "goal": "Prove the entry"})
        assert not saved.is_error
    assert db.is_file()  # the --db written into the entry is the database the server used

    # The hook commands exactly as registered, run through a shell with JSON on stdin as Claude Code runs them.
    transcript = session().write(tmp_path / f"{SESSION}.jsonl")
    settings = json.loads((home / ".claude" / "settings.json").read_text())["hooks"]
    pre = next(h["command"] for e in settings["PreCompact"] for h in e["hooks"] if "pre-compact" in h["command"])
    start = next(h["command"] for e in settings["SessionStart"] for h in e["hooks"] if "session-start" in h["command"])
    hooked = subprocess.run(pre, shell=True, env=env, capture_output=True, text=True, timeout=60, input=json.dumps(
        {"session_id": SESSION, "transcript_path": str(transcript), "cwd": CWD, "trigger": "auto"}))
    assert hooked.returncode == 0 and hooked.stdout == ""
    started = subprocess.run(start, shell=True, env=env, capture_output=True, text=True, timeout=60, input=json.dumps(
        {"session_id": SESSION, "cwd": CWD, "source": "compact"}))
    context = json.loads(started.stdout)["hookSpecificOutput"]["additionalContext"]
    assert "Next immediate step: Auth middleware" in context

    again = ckpt("setup", "--client", "all", "--db", str(db))
    assert again.returncode == 0 and again.stdout.count("already configured") == 4

    gone = ckpt("uninstall", "--client", "all", "--json")
    assert gone.returncode == 0 and [c["status"] for c in json.loads(gone.stdout)["clients"]] == ["removed"] * 4
    assert json.loads((home / ".claude.json").read_text()) == {"numStartups": 1}
