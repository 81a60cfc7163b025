"""Files named by shell commands: what is read, what is written, and what is left out."""

from __future__ import annotations

import pytest

from mcp_server_checkpoints.integrations.claude_code.shell_files import files_in_command


@pytest.mark.parametrize(("command", "expected"), [
    ("cat src/app.py | grep foo", [("src/app.py", "read")]),
    ("sed -i 's/a/b/' src/app.py", [("src/app.py", "written")]),
    ("sed -n 1,20p src/app.py", [("src/app.py", "read")]),
    ("echo hi > notes.md && cat notes.md", [("notes.md", "written")]),
    ("cat > config.toml <<'EOF'\nkey = \"a.b\"\nEOF", [("config.toml", "written")]),
    ("git mv old.py new.py", [("old.py", "written"), ("new.py", "written")]),
    ("cp a.txt b.txt", [("a.txt", "read"), ("b.txt", "written")]),
    ("rm -f build/out.o tmp.log", [("build/out.o", "written"), ("tmp.log", "written")]),
    ("python3 scripts/gen.py --out x", [("scripts/gen.py", "read")]),
    ("npm test -- auth", []),
    ("curl https://example.com/a.json", []),
    ("cat $HOME/.bashrc *.py", []),
    ("cat 'unclosed", []),
])
def test_bash(command: str, expected: list[tuple[str, str]]) -> None:
    assert files_in_command(command) == expected


def test_powershell() -> None:
    assert files_in_command("Get-Content -Path src\\main.ps1", powershell=True) == [("src\\main.ps1", "read")]
    assert files_in_command("Remove-Item build.log", powershell=True) == [("build.log", "written")]
