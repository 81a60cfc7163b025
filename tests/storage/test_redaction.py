"""Secrets are redacted before anything is written: from tools, hooks and imports alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.schemas.checkpoints import Checkpoint, CheckpointFields
from mcp_server_checkpoints.schemas.export import export_line
from mcp_server_checkpoints.server import build_server, open_state
from mcp_server_checkpoints.storage.redact import Redactor
from tests.storage.secret_corpus import HARMLESS, SECRETS

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(("what", "text", "secret"), SECRETS, ids=[s[0] for s in SECRETS])
def test_each_secret_is_redacted(what: str, text: str, secret: str) -> None:
    out, n = Redactor.build().redact(text)
    assert secret not in out and n >= 1 and "[REDACTED:" in out


@pytest.mark.parametrize("text", HARMLESS)
def test_lookalikes_are_left_alone(text: str) -> None:
    assert Redactor.build().redact(text) == (text, 0)


@pytest.mark.parametrize(("what", "text", "secret"), SECRETS, ids=[s[0] for s in SECRETS])
def test_secret_found_in_a_large_text_with_characters_that_lower_case_to_two(what: str, text: str, secret: str) -> None:
    """Case-insensitive anchors are found in a lower-cased copy; 'İ' lower-cases to two characters, which
    would shift every offset after it. Padding makes it a large text, the hook's case (10 MB transcripts)."""
    padded = "İstanbul " * 300 + text.upper() + " " + text + " xoxox ghp " * 300
    out, n = Redactor.build().redact(padded)
    assert secret not in out and n >= 1


def test_multibyte_text_around_a_secret_stays_valid_text() -> None:
    """Patterns run on UTF-8 bytes: a replaced span never splits a character, and other text is kept."""
    out, n = Redactor.build().redact("日本語 DB_PASSWORD=hunter2-correct-horse → İstanbul ✓")
    assert (out, n) == ("日本語 DB_PASSWORD=[REDACTED:password] → İstanbul ✓", 1)
    # A value cut by its 300-byte bound in the middle of 'é' is widened to the end of that character.
    out, n = Redactor.build().redact("password=" + "a" * 299 + "é tail")
    assert (out, n) == ("password=[REDACTED:password] tail", 1)
    out, n = Redactor.build().redact("\ud800 token=abcd1234xyz")  # a lone surrogate does not break redaction
    assert (out, n) == ("\ud800 token=[REDACTED:token]", 1)


def test_case_sensitive_literals_are_not_found_in_other_cases() -> None:
    """Anchors are looked up in lower-cased bytes; an AWS key id must still start with upper-case AKIA."""
    assert Redactor.build().redact("akiaiosfodnn7examplq") == ("akiaiosfodnn7examplq", 0)
    assert Redactor.build().redact("AKIAIOSFODNN7EXAMPLQ")[1] == 1


def test_custom_patterns() -> None:
    r = Redactor.build([r"ACME-\d{6}"])
    assert r.redact("badge ACME-123456 ok") == ("badge [REDACTED:custom-1] ok", 1)
    with pytest.raises(ValueError, match="pattern 1"):
        Redactor.build(["("])


async def test_nothing_secret_reaches_the_database_file_or_wal(tmp_path: Path) -> None:
    db = tmp_path / "secrets.db"
    state = open_state(Settings(db=db))
    everything = "\n".join(t for _, t, _ in SECRETS)
    harmless = "\n".join(HARMLESS)
    async with Client(build_server(state.settings, state)) as c:
        res = await c.call_tool("save_checkpoint", {
            "title": "Deploy with AKIAIOSFODNN7EXAMPLQ", "goal": everything, "current_work": everything,
            "completed": [t for _, t, _ in SECRETS], "decisions": [{"decision": everything, "reasoning": harmless}],
            "files": [{"path": ".env", "change": "DB_PASSWORD=hunter2-correct-horse"}], "summary": everything,
            "payload": {"transcript": everything + "\n" + harmless, "tool_history": [{"cmd": t} for _, t, _ in SECRETS],
                        "project_state": {"env": {"DATABASE_URL": "postgres://admin:S3cr3tPa55@db:5432/app"}}}})
        assert not res.is_error and res.structured_content
        cid = res.structured_content["id"]
        assert sum(res.structured_content["redactions"].values()) >= len(SECRETS) * 6
        note = await c.call_tool("mark_status", {"id": cid, "status": "paused", "note": "rotated ghp_1234567890abcdefghijklmnopqrstuvwxYZ"})
        assert not note.is_error
        # While the server holds the database open, the WAL still has the pages: read both files raw.
        raw = db.read_bytes() + (Path(f"{db}-wal").read_bytes() if Path(f"{db}-wal").exists() else b"")
        for what, _, secret in SECRETS:
            assert secret.encode() not in raw, f"{what} reached the database file"
        cp = state.store.get(cid)
        assert cp.payload is not None and cp.payload.transcript is not None
        for what, _, secret in SECRETS:
            assert secret not in export_line(cp), f"{what} survived in the stored checkpoint"
        for text in HARMLESS:
            assert text in cp.payload.transcript
        # The report: every kind found, and the note's token joins it (one more github token than the save found).
        saved_kinds = res.structured_content["redactions"]
        assert set(saved_kinds) >= {"aws-access-token", "github-pat"} or len(saved_kinds) >= 5, saved_kinds
        assert sum(cp.redactions.values()) == sum(saved_kinds.values()) + 1


def test_import_redacts_and_is_idempotent(tmp_path: Path) -> None:
    state = open_state(Settings(db=tmp_path / "i.db"))
    leaked = Checkpoint(id="c-1", title="t", goal="DB_PASSWORD=hunter2-correct-horse", status="paused",
                        created_at="2026-01-01T00:00:00Z", updated_at="2026-01-01T00:00:00Z")
    assert state.store.import_checkpoints([leaked]).imported == 1
    stored = state.store.get("c-1")
    assert "hunter2" not in stored.goal and sum(stored.redactions.values()) == 1
    other = open_state(Settings(db=tmp_path / "j.db"))
    other.store.import_checkpoints([stored])
    assert other.store.get("c-1") == stored  # redacted text is not redacted again


def test_the_redaction_report_counts_each_kind_and_survives_export(tmp_path: Path) -> None:
    """open_checkpoint and `ckpt show` say what was removed, per kind; export → import keeps the report, and an
    export from before the per-kind report (a plain count) still imports."""
    from mcp_server_checkpoints.cli import main
    from mcp_server_checkpoints.schemas.export import parse_export_line
    from mcp_server_checkpoints.tools.checkpoints import open_checkpoint

    state = open_state(Settings(db=tmp_path / "r.db", semantic=False))
    saved = state.store.save(CheckpointFields(
        title="keys", goal="use ghp_1234567890abcdefghijklmnopqrstuvwxYZ and ghp_abcdefghijklmnopqrstuvwxyz1234567890",
        current_work="the AWS id AKIAIOSFODNN7EXAMPLQ"))
    assert len(saved.redactions) == 2 and sorted(saved.redactions.values()) == [1, 2]
    opened = open_checkpoint(state.store, saved.id)
    assert opened.redactions == saved.redactions
    line = export_line(state.store.get(saved.id))
    assert parse_export_line(line).redactions == saved.redactions
    legacy = json.loads(line)
    legacy["redactions"] = 3
    assert parse_export_line(json.dumps(legacy)).redactions == {"secret": 3}
    state.close()
    import contextlib
    import io
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["show", saved.id, "--db", str(tmp_path / "r.db")]) == 0
    assert "Redacted before it was stored: " in out.getvalue()
    assert all(kind in out.getvalue() for kind in saved.redactions)
