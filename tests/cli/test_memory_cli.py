"""`ckpt import-memory` and `ckpt export-memory`: the official memory file in and out, losslessly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcp_server_checkpoints.cli import main
from tests.cli.test_cli import run

OFFICIAL_FILE = "\n".join([
    '{"type":"entity","name":"Alice","entityType":"person","observations":["likes tea","works on JWT"]}',
    '{"type":"entity","name":"日本","entityType":"城市","observations":[]}',
    '{"type":"relation","from":"Alice","to":"日本","relationType":"visits"}',
    '{"type":"relation","from":"Alice","to":"ghost","relationType":"knows"}',
]) + "\n"


def test_import_then_export_is_lossless(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "memory.jsonl"
    src.write_text(OFFICIAL_FILE, encoding="utf-8")
    db = str(tmp_path / "c.db")
    code, out, _ = run(capsys, "import-memory", str(src), "--db", db)
    assert code == 0 and "imported 2 entities and 2 relations" in out
    code, out, _ = run(capsys, "export-memory", "--db", db)
    assert code == 0 and out == OFFICIAL_FILE
    dest = tmp_path / "out.jsonl"
    code, _, err = run(capsys, "export-memory", "--db", db, "--out", str(dest))
    assert code == 0 and dest.read_text(encoding="utf-8") == OFFICIAL_FILE and "4 lines" in err
    code, out, _ = run(capsys, "import-memory", str(dest), "--db", db, "--json")
    assert code == 0 and json.loads(out) == {"entities": 0, "relations": 0, "skipped_existing": 4, "errors": []}


def test_bad_lines_are_reported_not_fatal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "memory.jsonl"
    src.write_bytes(OFFICIAL_FILE.encode() + b'{"type":"entity","name":"x"\n' + b"\xff\xfe\n"
                    + b'{"type":"entity","name":"Bob","entityType":"person","observations":["ok"]}\n')
    db = str(tmp_path / "c.db")
    code, out, _ = run(capsys, "import-memory", str(src), "--db", db)
    assert code == 1
    assert "imported 3 entities and 2 relations" in out and "2 bad lines" in out
    assert "line 5: not JSON" in out and "line 6: not UTF-8 text" in out
    code, out, _ = run(capsys, "export-memory", "--db", db)
    assert '"name":"Bob"' in out


def test_missing_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import-memory", str(tmp_path / "nope.jsonl"), "--db", str(tmp_path / "c.db")]) == 2
    assert "no file" in capsys.readouterr().err


def test_imported_memory_file_is_redacted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A secret in an imported observation is stored and exported redacted, like one sent to the graph tools."""
    aws, gh = "AKIA" + "Q3EXAMPLEKEY7XYZ", "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5"
    src = tmp_path / "memory.jsonl"
    src.write_text(json.dumps({"type": "entity", "name": "deploy", "entityType": "runbook",
                               "observations": [f"aws key {aws}", f"token {gh}"]}) + "\n")
    db = tmp_path / "m.db"
    assert main(["import-memory", str(src), "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["export-memory", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "deploy" in out and aws not in out and gh not in out
    assert aws.encode() not in db.read_bytes() + (Path(f"{db}-wal").read_bytes() if Path(f"{db}-wal").exists() else b"")
