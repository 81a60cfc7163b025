"""Encryption at rest (SQLCipher): no clear text in any file of the store, clear key errors that change
nothing, and key rotation / encrypt / decrypt that keep the old key working until they are done."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_server_checkpoints.cli import main
from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.errors import DatabaseBusyError, EncryptionKeyError, InvalidInputError
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.schemas.graph import Entity
from mcp_server_checkpoints.storage.keys import create_key_file, read_key
from mcp_server_checkpoints.storage.sqlite import crypto
from mcp_server_checkpoints.wiring import open_services, services

pytest.importorskip("sqlcipher3", reason="the `encryption` extra (sqlcipher3-binary) is part of the test setup")

MARKERS = ["Zanzibar-title-7731", "Quokka-goal-9942", "Marmalade-summary-1187", "Ocelot-decision-5520",
           "Tapir-transcript-3319", "Narwhal-observation-6604", "Pangolin-note-4408"]


def settings(tmp_path: Path, key: Path | None) -> Settings:
    return Settings(db=tmp_path / "store" / "checkpoints.db", semantic=False, encryption_key_file=key)


def fill(s: Settings) -> str:
    with services(s) as sv:
        cid = sv.store.save(CheckpointFields.model_validate({
            "title": f"{MARKERS[0]} work", "goal": MARKERS[1], "summary": MARKERS[2] * 30,
            "decisions": [{"decision": MARKERS[3], "reasoning": "because"}],
            "payload": {"transcript": f"user: {MARKERS[4]}\n" * 200}})).id
        sv.store.set_status(cid, "paused", MARKERS[6])
        sv.graph.create_entities([Entity(name="notes", entityType="memo", observations=[MARKERS[5]])])
        assert sv.store.search(MARKERS[0].split("-")[0])[0].id == cid  # full-text search still works
        return cid


def store_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())


def fingerprint(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def key(tmp_path: Path) -> Path:
    return create_key_file(tmp_path / "keys" / "store.key")


def test_no_clear_text_in_any_file_of_the_store(tmp_path: Path, key: Path) -> None:
    s = settings(tmp_path, key)
    fill(s)
    with services(s) as sv:  # a second process's view, and a backup beside the store
        sv.store.backup(tmp_path / "store" / "backup.db")
        raw = store_bytes(tmp_path / "store")
    names = {p.name for p in (tmp_path / "store").iterdir()}
    assert {"checkpoints.db", "backup.db"} <= names
    for marker in MARKERS:
        assert marker.encode() not in raw, f"{marker} is stored in clear"
    # The same fill without a key does leave them in clear: the check above can fail.
    plain = settings(tmp_path / "plain", None)
    fill(plain)
    assert all(m.encode() in store_bytes(plain.db.parent) for m in MARKERS[:3])


def test_wrong_or_missing_key_is_a_clear_error_and_changes_nothing(tmp_path: Path, key: Path) -> None:
    s = settings(tmp_path, key)
    fill(s)
    folder = tmp_path / "store"
    before = fingerprint(folder)
    other = create_key_file(tmp_path / "keys" / "other.key")
    with pytest.raises(EncryptionKeyError, match="does not open"):
        open_services(settings(tmp_path, other)).store.count()
    with pytest.raises(EncryptionKeyError, match="encryption_key_file"):
        open_services(settings(tmp_path, None)).store.count()
    assert fingerprint(folder) == before


def test_a_key_for_a_plain_store_says_how_to_encrypt_it(tmp_path: Path, key: Path) -> None:
    fill(settings(tmp_path, None))
    before = fingerprint(tmp_path / "store")
    with pytest.raises(EncryptionKeyError, match="ckpt encrypt"):
        open_services(settings(tmp_path, key)).store.count()
    assert fingerprint(tmp_path / "store") == before


def test_key_files(tmp_path: Path) -> None:
    path = create_key_file(tmp_path / "k")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(read_key(path)) == 32
    with pytest.raises(InvalidInputError, match="exists"):
        create_key_file(path)
    path.chmod(0o644)
    with pytest.raises(InvalidInputError, match="chmod 600"):
        read_key(path)
    path.chmod(0o600)
    path.write_text("not a key\n")
    with pytest.raises(InvalidInputError, match="64 hex digits") as err:
        read_key(path)
    assert "not a key" not in str(err.value)
    with pytest.raises(InvalidInputError, match="ckpt key create"):
        read_key(tmp_path / "missing")


def test_encrypt_rotate_decrypt_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    s = settings(tmp_path, None)
    cid = fill(s)
    db = str(s.db)
    k1, k2 = tmp_path / "k1.key", tmp_path / "k2.key"
    assert main(["key", "create", "--out", str(k1)]) == 0
    assert main(["key", "create", "--out", str(k2)]) == 0
    assert main(["encrypt", "--key", str(k1), "--db", db]) == 0
    assert all(m.encode() not in store_bytes(s.db.parent) for m in MARKERS)
    monkeypatch.setenv("CHECKPOINTS_KEY_FILE", str(k1))
    capsys.readouterr()
    assert main(["show", cid, "--db", db]) == 0 and MARKERS[1] in capsys.readouterr().out
    assert main(["key", "rotate", "--new", str(k2), "--db", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"]["checkpoints"] == 1
    assert main(["list", "--db", db]) == 1  # the old key no longer opens it
    assert "does not open" in capsys.readouterr().err
    monkeypatch.setenv("CHECKPOINTS_KEY_FILE", str(k2))
    assert main(["verify", "--db", db]) == 0
    assert main(["decrypt", "--db", db]) == 0
    monkeypatch.delenv("CHECKPOINTS_KEY_FILE")
    capsys.readouterr()
    assert main(["show", cid, "--db", db]) == 0 and MARKERS[1] in capsys.readouterr().out
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0] == 1  # plain SQLite again


def test_interrupted_rotation_leaves_the_old_key_working(tmp_path: Path, key: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(tmp_path, key)
    cid = fill(s)
    new = create_key_file(tmp_path / "keys" / "new.key")

    def cut_power(*_: object) -> None:
        raise OSError("interrupted before the rename")

    monkeypatch.setattr(crypto.os, "replace", cut_power)
    with pytest.raises(OSError):
        crypto.convert(s.db, read_key(key), read_key(new))
    monkeypatch.undo()
    assert sorted(p.name for p in s.db.parent.iterdir() if "converting" in p.name) == []
    with services(s) as sv:
        assert sv.store.get(cid).title.startswith(MARKERS[0]) and sv.store.verify().ok


def test_conversion_refuses_while_another_process_has_the_store_open(tmp_path: Path, key: Path) -> None:
    s = settings(tmp_path, key)
    fill(s)
    new = create_key_file(tmp_path / "keys" / "new.key")
    with services(s) as server:  # a running server holds the file open
        server.store.count()
        with pytest.raises(DatabaseBusyError, match="another process"):
            crypto.convert(s.db, read_key(key), read_key(new))
        assert server.store.count() == 1
    with services(s) as sv:
        assert sv.store.verify().ok


def test_without_the_extra_the_error_says_what_to_install(tmp_path: Path, key: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sqlcipher3", None)
    with pytest.raises(InvalidInputError, match=r"\[encryption\]"):
        open_services(settings(tmp_path, key)).store.count()


@pytest.fixture
def hook_env(tmp_path: Path, key: Path) -> Iterator[dict[str, str]]:
    yield {**os.environ, "CHECKPOINTS_DB": str(tmp_path / "store" / "checkpoints.db"), "CHECKPOINTS_KEY_FILE": str(key),
           "CHECKPOINTS_SEMANTIC": "false", "CHECKPOINTS_HOOK_LOG": str(tmp_path / "hooks.log")}


@pytest.mark.slow
def test_pre_compact_hook_writes_an_encrypted_store(tmp_path: Path, hook_env: dict[str, str]) -> None:
    transcript = tmp_path / "session.jsonl"
    lines = [{"type": "user", "sessionId": "s1", "cwd": "/repo", "message": {"role": "user", "content":
              f"Please build the {MARKERS[0]} importer"}},
             {"type": "assistant", "sessionId": "s1", "message": {"id": "m1", "role": "assistant", "content": [
                 {"type": "text", "text": f"Working on {MARKERS[4]} now"}]}}]
    transcript.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    hook = json.dumps({"session_id": "s1", "transcript_path": str(transcript), "cwd": "/repo", "trigger": "auto"})
    res = subprocess.run([sys.executable, "-m", "mcp_server_checkpoints", "hook", "pre-compact"], input=hook,
                         capture_output=True, text=True, env=hook_env, timeout=60)
    assert res.returncode == 0
    log = (tmp_path / "hooks.log").read_text()
    assert "saved checkpoint-" in log, log
    raw = store_bytes(tmp_path / "store")
    assert MARKERS[0].encode() not in raw and MARKERS[4].encode() not in raw
