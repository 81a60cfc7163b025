"""The `ckpt` commands, called through main() and, for the console script, as a real subprocess."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_server_checkpoints.cli import main
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database
from tests.conftest import FULL, fields


@pytest.fixture
def seeded(db_path: Path) -> tuple[Path, list[str]]:
    store = SQLiteCheckpointStore(open_database(db_path))
    a = store.save(CheckpointFields.model_validate(FULL)).id
    b = store.save(fields(title="Database migration", goal="Move users to Postgres", parent_id=None)).id
    c = store.save(fields(title="Database migration", goal="Move users to Postgres", parent_id=b,
                          payload={"transcript": "more talk " * 400})).id
    store.set_status(b, "resumed", "Resumed at: now")
    store.db.close()
    return db_path, [a, b, c]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_and_json(seeded: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    db, ids = seeded
    code, out, _ = run(capsys, "list", "--db", str(db))
    assert code == 0 and all(i in out for i in ids) and "STATUS" in out
    code, out, _ = run(capsys, "--db", str(db), "list", "--json")
    assert code == 0 and {h["id"] for h in json.loads(out)} == set(ids)


def test_search(seeded: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    db, ids = seeded
    code, out, _ = run(capsys, "search", "postgres", "--db", str(db), "--json")
    data = json.loads(out)
    assert code == 0 and [h["id"] for h in data["results"]] == [ids[2]] and data["semantic"] == "off"
    code, out, _ = run(capsys, "search", "nothing-matches-this", "--db", str(db))
    assert code == 0 and "no checkpoints" in out


def test_show(seeded: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    db, ids = seeded
    code, out, _ = run(capsys, "show", ids[0], "--db", str(db), "--no-emoji")
    assert code == 0 and "GOAL" in out and "Implement POST /auth/refresh" in out and "🎯" not in out
    code, out, _ = run(capsys, "show", ids[2], "--db", str(db), "--json", "--components", "payload")
    data = json.loads(out)
    assert data["payload"]["transcript"].startswith("more talk") and data["integrity"]["verified"]
    code, _, err = run(capsys, "show", "checkpoint-2020-01-01-missing-000000", "--db", str(db))
    assert code == 1 and "no checkpoint" in err


def test_status(seeded: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    db, ids = seeded
    code, out, _ = run(capsys, "status", ids[0], "abandoned", "--note", "user chose another approach", "--db", str(db))
    assert code == 0 and "abandoned" in out
    code, out, _ = run(capsys, "show", ids[0], "--db", str(db), "--json")
    hist = json.loads(out)["history"]
    assert hist[-1] == {"status": "abandoned", "at": hist[-1]["at"], "note": "user chose another approach"}
    with pytest.raises(SystemExit):  # argparse rejects an unknown status
        main(["status", ids[0], "finished", "--db", str(db)])


def test_export_import_export_is_lossless(seeded: tuple[Path, list[str]], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    db, _ = seeded
    first = tmp_path / "one.jsonl"
    assert run(capsys, "export", "--out", str(first), "--db", str(db))[0] == 0
    lines = first.read_text().splitlines()
    assert len(lines) == 3
    rec = json.loads(lines[0])
    assert {"id", "status", "created_at", "updated_at", "history", "payload", "title", "goal"} <= set(rec)
    other = tmp_path / "other.db"
    code, out, _ = run(capsys, "import", str(first), "--db", str(other))
    assert code == 0 and "imported 3" in out
    second = tmp_path / "two.jsonl"
    run(capsys, "export", "--out", str(second), "--db", str(other))
    assert second.read_text() == first.read_text()
    code, out, _ = run(capsys, "import", str(first), "--db", str(other), "--json")
    assert json.loads(out) == {"imported": 0, "skipped_existing": 3, "errors": []}


def test_import_reports_bad_lines_and_keeps_good_ones(tmp_path: Path, seeded: tuple[Path, list[str]],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    db, _ = seeded
    good = tmp_path / "good.jsonl"
    run(capsys, "export", "--out", str(good), "--db", str(db))
    mixed = tmp_path / "mixed.jsonl"
    lines = good.read_text().splitlines()
    mixed.write_text("\n".join([lines[0], "{not json", '{"id": "x"}', lines[1], lines[2]]) + "\n")
    code, out, _ = run(capsys, "import", str(mixed), "--db", str(tmp_path / "fresh.db"))
    assert code == 1 and "imported 3" in out and "line 2" in out and "line 3" in out
    code, _, err = run(capsys, "import", str(tmp_path / "absent.jsonl"), "--db", str(tmp_path / "fresh.db"))
    assert code == 2 and "no file" in err


def test_progress_bar_when_asked(seeded: tuple[Path, list[str]], tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    db, _ = seeded
    code, _, err = run(capsys, "export", "--out", str(tmp_path / "x.jsonl"), "--progress", "--db", str(db))
    assert code == 0 and "export [" in err and "3/3" in err


def test_stats_and_verify(seeded: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    db, ids = seeded
    code, out, _ = run(capsys, "stats", "--db", str(db), "--json")
    stats = json.loads(out)
    assert code == 0 and stats["checkpoints"] == 3 and stats["by_status"]["resumed"] == 1
    assert run(capsys, "stats", "--db", str(db))[1].startswith("database")
    code, out, _ = run(capsys, "verify", "--db", str(db))
    assert code == 0 and out.startswith("ok")
    c = sqlite3.connect(db)
    c.execute("UPDATE checkpoints SET payload_blob = ? WHERE id = ?", (b"garbage", ids[2]))
    c.commit()
    c.close()
    code, out, _ = run(capsys, "verify", "--db", str(db), "--json")
    report = json.loads(out)
    assert code == 1 and not report["ok"] and ids[2] in report["problems"][0]


def test_bad_setting_exits_2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHECKPOINTS_MAX_PAYLOAD_BYTES", "-5")
    code, _, err = run(capsys, "stats")
    assert code == 2 and "max_payload_bytes" in err


@pytest.mark.slow
def test_demo_runs_the_real_server(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "mcp_server_checkpoints", "demo"], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    for step in ("save_checkpoint", "search_checkpoints", "open_checkpoint", "mark_status", "GOAL", "RESUMING FROM"):
        assert step in res.stdout


def test_import_of_a_folder_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "import", str(tmp_path), "--db", str(tmp_path / "x.db"))
    assert code == 2 and "is a folder; give a JSONL file written by `ckpt export`" in err


def test_import_of_non_utf8_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\xff\xfe not utf-8\n")
    code, _, err = run(capsys, "import", str(bad), "--db", str(tmp_path / "x.db"))
    assert code == 2 and "is not UTF-8 text" in err
