"""Operations: `ckpt backup` while writers run, `ckpt verify` on a damaged payload and a damaged file, `ckpt delete`."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_server_checkpoints.cli import main
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database

pytestmark = pytest.mark.reliability


def seed(db: Path, n: int) -> list[str]:
    store = SQLiteCheckpointStore(open_database(db))
    try:
        return [store.save(CheckpointFields(title=f"seed {i}", goal="backup test",
                                            payload={"transcript": os.urandom(1500).hex()})).id for i in range(n)]
    finally:
        store.db.close()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_backup_is_consistent_while_writers_run(tmp_path: Path) -> None:
    """Pass: each backup taken during a write burst opens, passes verify, and holds a prefix of the saves."""
    db = tmp_path / "live.db"
    seed(db, 20)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(w)], stderr=subprocess.PIPE)
               for w in range(2)]
    backups = []
    try:
        for k in range(5):
            dest = tmp_path / f"backup-{k}.db"
            res = subprocess.run([sys.executable, "-m", "mcp_server_checkpoints", "backup", str(dest), "--db", str(db),
                                  "--json"], capture_output=True, text=True, timeout=60)
            assert res.returncode == 0, res.stderr
            backups.append((dest, json.loads(res.stdout)["checkpoints"]))
    finally:
        for w in writers:
            _, err = w.communicate(timeout=120)
            assert w.returncode == 0, err
    total = SQLiteCheckpointStore(open_database(db)).count()
    assert total == 20 + 2 * 60
    for dest, count in backups:
        assert not Path(f"{dest}-wal").exists()  # self-contained file
        store = SQLiteCheckpointStore(open_database(dest))
        report = store.verify()
        assert report.ok, report.problems
        assert store.count() == count and 20 <= count <= total
        store.db.close()
    print(f"\nbackups taken while 2 writers ran hold {[c for _, c in backups]} of {total} checkpoints")


WRITER = """
import sys
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database
store = SQLiteCheckpointStore(open_database(sys.argv[1]))
for i in range(60):
    cid = store.save(CheckpointFields(title=f"writer {sys.argv[2]} {i}", goal="g", payload={"transcript": "x" * 4000})).id
    if i % 3 == 0:
        store.set_status(cid, "paused")
"""


def test_backup_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "a.db"
    seed(db, 3)
    dest = tmp_path / "b.db"
    assert run(capsys, "backup", str(dest), "--db", str(db))[0] == 0
    code, _, err = run(capsys, "backup", str(dest), "--db", str(db))
    assert code == 2 and "--force" in err
    code, out, _ = run(capsys, "backup", str(dest), "--db", str(db), "--force")
    assert code == 0 and "backed up 3 checkpoints" in out
    code, _, err = run(capsys, "backup", str(db), "--db", str(db), "--force")
    assert code == 2 and "database itself" in err


def test_backup_copy_is_self_contained_and_verifiable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Pass: the copy stays a rollback-journal file after `ckpt backup` (not switched to WAL by counting it),
    has no -wal/-shm beside it, and `ckpt verify --db COPY` passes with every checkpoint."""
    db = tmp_path / "a.db"
    seed(db, 4)
    dest = tmp_path / "copy.db"
    code, out, _ = run(capsys, "backup", str(dest), "--db", str(db), "--json")
    assert code == 0 and json.loads(out)["checkpoints"] == 4
    raw = sqlite3.connect(f"{dest.resolve().as_uri()}?mode=ro", uri=True)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    raw.close()
    assert not Path(f"{dest}-wal").exists() and not Path(f"{dest}-shm").exists()
    code, out, _ = run(capsys, "verify", "--db", str(dest), "--json")
    assert code == 0 and json.loads(out)["ok"] and json.loads(out)["checkpoints"] == 4


def test_verify_reports_a_corrupted_payload(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Pass: exit 1, the damaged checkpoint named, the others still counted."""
    db = tmp_path / "p.db"
    ids = seed(db, 5)
    raw = sqlite3.connect(db)
    blob = raw.execute("SELECT payload_blob FROM checkpoints WHERE id = ?", (ids[2],)).fetchone()[0]
    flipped = blob[:-8] + bytes(b ^ 0xFF for b in blob[-8:])  # same length, last bytes changed
    raw.execute("UPDATE checkpoints SET payload_blob = ? WHERE id = ?", (flipped, ids[2]))
    raw.commit()
    raw.close()
    code, out, err = run(capsys, "verify", "--db", str(db), "--json")
    report = json.loads(out)
    assert code == 1 and not report["ok"] and report["integrity_check"] == ["ok"]
    assert report["checkpoints"] == 5 and len(report["problems"]) == 1 and ids[2] in report["problems"][0]
    assert "Traceback" not in err


def damage_middle_pages(db: Path, pages: int = 3) -> None:
    c = sqlite3.connect(db)
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = c.execute("PRAGMA page_size").fetchone()[0]
    c.close()
    size = db.stat().st_size
    with open(db, "r+b") as fh:
        fh.seek((size // page_size // 2) * page_size)
        fh.write(bytes([0xA5]) * page_size * pages)


@pytest.mark.parametrize("where", ["middle", "header"])
def test_verify_reports_a_damaged_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str) -> None:
    """Pass: exit 1 and a report that says the file is damaged and what to do; no traceback."""
    db = tmp_path / "f.db"
    seed(db, 150)
    if where == "middle":
        damage_middle_pages(db)
    else:
        with open(db, "r+b") as fh:
            fh.write(b"\x00" * 100)
    code, out, err = run(capsys, "verify", "--db", str(db))
    assert code == 1 and out.startswith("PROBLEMS FOUND") and "damaged" in out and "ckpt backup" in out
    assert "Traceback" not in out + err
    code, out, _ = run(capsys, "verify", "--db", str(db), "--json")
    assert code == 1 and json.loads(out)["ok"] is False


@pytest.mark.slow
def test_verify_damaged_file_as_a_real_process(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    seed(db, 150)
    damage_middle_pages(db)
    res = subprocess.run([sys.executable, "-m", "mcp_server_checkpoints", "verify", "--db", str(db)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1 and "damaged" in res.stdout and "Traceback" not in res.stderr


def test_delete_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "d.db"
    store = SQLiteCheckpointStore(open_database(db))
    root = store.save(CheckpointFields(title="a", goal="g", payload={"transcript": "talk " * 2000})).id
    child = store.save(CheckpointFields(title="a", goal="g", parent_id=root,
                                        payload={"transcript": "talk " * 2000 + "more"})).id
    store.db.close()
    code, out, _ = run(capsys, "delete", root, "--db", str(db))
    assert code == 0 and f"deleted {root}" in out and "1 child payload re-stored" in out
    code, _, err = run(capsys, "delete", root, "--db", str(db))
    assert code == 1 and "no checkpoint" in err
    code, out, _ = run(capsys, "show", child, "--db", str(db), "--json", "--components", "payload")
    assert code == 0 and json.loads(out)["integrity"]["verified"] and json.loads(out)["parent_id"] is None
    code, out, _ = run(capsys, "verify", "--db", str(db))
    assert code == 0
