from __future__ import annotations

import dataclasses
import sqlite3
from datetime import timedelta

import pytest

from mcp_server_checkpoints.domain.time import utcnow
from mcp_server_checkpoints.errors import ContextIntegrityError, InvalidInputError, NotFoundError, PayloadTooLargeError
from mcp_server_checkpoints.schemas.checkpoints import Checkpoint, CheckpointFields
from mcp_server_checkpoints.schemas.export import export_line, parse_export_line
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore
from tests.conftest import FULL, fields


def count(store: SQLiteCheckpointStore) -> int:
    return store.count()


def test_save_keeps_every_field(store: SQLiteCheckpointStore) -> None:
    res = store.save(CheckpointFields.model_validate(FULL))
    assert res.id.startswith(f"checkpoint-{utcnow():%Y-%m-%d}-jwt-refresh-endpoint-")
    assert res.raw_bytes > res.stored_bytes > 0
    cp = store.get(res.id)
    dumped = {k: v for k, v in dataclasses.asdict(cp).items()
              if k not in {"id", "created_at", "updated_at", "history", "redactions"}}
    expected = CheckpointFields.model_validate(FULL).model_dump()
    assert dumped == expected
    assert [h.status for h in cp.history] == ["paused"]


def test_default_project_applies(db_path: object) -> None:
    from mcp_server_checkpoints.storage.sqlite.checkpoints import open_database

    s = SQLiteCheckpointStore(open_database(str(db_path)), default_project="/repo/x")
    assert s.save(fields()).project == "/repo/x"
    assert s.save(fields(project="other")).project == "other"


def test_unknown_parent_rejected_and_nothing_written(store: SQLiteCheckpointStore) -> None:
    with pytest.raises(InvalidInputError, match="parent_id"):
        store.save(fields(parent_id="checkpoint-nope"))
    assert count(store) == 0


def test_payload_limit_no_half_write(store: SQLiteCheckpointStore) -> None:
    with pytest.raises(PayloadTooLargeError, match="limit"):
        store.save(fields(payload={"transcript": "x" * (2 * 1024 * 1024)}))
    assert count(store) == 0


def test_lone_surrogate_rejected_without_echo(store: SQLiteCheckpointStore) -> None:
    with pytest.raises(ValueError):  # pydantic rejects it first ...
        fields(completed=["ok", "bad\ud800"])
    # ... and storage rejects it again for callers that build models without validation
    unchecked = CheckpointFields.model_construct(title="t", goal="g", completed=["ok", "bad\ud800"])
    with pytest.raises(InvalidInputError) as exc:
        store.save(unchecked)
    assert "completed[1]" in str(exc.value) and "bad" not in str(exc.value)
    assert count(store) == 0


def test_lineage_and_differential_payload(store: SQLiteCheckpointStore) -> None:
    transcript = "".join(f"line {i}: some conversation text about tokens\n" for i in range(3000))
    a = store.save(fields(payload={"transcript": transcript}))
    b = store.save(fields(parent_id=a.id, payload={"transcript": transcript + "one more line\n"}))
    assert b.stored_bytes < a.stored_bytes / 5  # compressed against the parent
    assert store.get(b.id).payload.transcript.endswith("one more line\n")  # type: ignore[union-attr]
    row = store.db.conn().execute("SELECT lineage_id, payload_codec, payload_depth FROM checkpoints WHERE id=?",
                                  (b.id,)).fetchone()
    assert tuple(row) == (a.id, "zstd-prefix", 1)


def test_diff_chain_is_bounded(db_path: object) -> None:
    from mcp_server_checkpoints.storage.sqlite.checkpoints import open_database

    s = SQLiteCheckpointStore(open_database(str(db_path)), diff_chain_max=3)
    parent = None
    text = "abc " * 5000
    for i in range(7):
        parent = s.save(fields(parent_id=parent, payload={"transcript": text + str(i)})).id
    depths = [r[0] for r in s.db.conn().execute("SELECT payload_depth FROM checkpoints ORDER BY rowid")]
    assert depths == [0, 1, 2, 0, 1, 2, 0]
    assert s.get(parent).payload.transcript == text + "6"  # type: ignore[union-attr]


def test_tampered_payload_raises_integrity_error_naming_checkpoint(store: SQLiteCheckpointStore) -> None:
    res = store.save(fields(payload={"transcript": "secret conversation " * 100}))
    c = sqlite3.connect(store.db.path)
    c.execute("UPDATE checkpoints SET payload_sha256 = ? WHERE id = ?", ("0" * 64, res.id))
    c.commit()
    with pytest.raises(ContextIntegrityError, match=res.id):
        store.get(res.id)
    report = store.verify()
    assert not report.ok and res.id in report.problems[0]


def test_status_history(store: SQLiteCheckpointStore) -> None:
    res = store.save(fields())
    store.set_status(res.id, "on-hold")
    out = store.set_status(res.id, "completed", "shipped")
    assert [h.status for h in out.history] == ["in-progress", "on-hold", "completed"]
    assert out.history[-1].note == "shipped" and out.status == "completed"
    with pytest.raises(NotFoundError):
        store.set_status("checkpoint-missing", "completed")
    with pytest.raises(InvalidInputError, match="unknown status"):
        store.set_status(res.id, "finished")


def test_not_found_does_not_echo_weird_ids(store: SQLiteCheckpointStore) -> None:
    with pytest.raises(NotFoundError) as exc:
        store.get("sk-ant-api03-SECRET VALUE")
    assert "SECRET" not in str(exc.value)


class TestSearch:
    def test_bm25_finds_by_topic(self, store: SQLiteCheckpointStore) -> None:
        a = store.save(fields(title="JWT refresh endpoint", goal="authentication tokens"))
        store.save(fields(title="Database migration", goal="move users table to postgres"))
        hits = store.search("refresh tokens")
        assert hits[0].id == a.id and hits[0].lexical is not None

    def test_porter_stemming(self, store: SQLiteCheckpointStore) -> None:
        a = store.save(fields(title="Authenticate users", goal="auth"))
        assert [h.id for h in store.search("authentication")] == [a.id]

    def test_empty_query_is_recency(self, store: SQLiteCheckpointStore) -> None:
        now = utcnow()
        old = store.save(fields(title="old"), now=now - timedelta(hours=5))
        new = store.save(fields(title="new"), now=now)
        assert [h.id for h in store.search("")] == [new.id, old.id]

    def test_fts_syntax_is_not_interpreted(self, store: SQLiteCheckpointStore) -> None:
        store.save(fields(title="quotes"))
        for q in ['"unbalanced', "a AND OR NOT", "col:title", "*", "NEAR(a b)", "'; DROP TABLE checkpoints; --"]:
            store.search(q)
        assert count(store) == 1

    def test_filters(self, store: SQLiteCheckpointStore) -> None:
        now = utcnow()
        a = store.save(fields(project="p1"), now=now - timedelta(hours=30))
        b = store.save(fields(project="p2"), now=now)
        done = store.save(fields(project="p1"), now=now)
        store.set_status(done.id, "completed")
        assert {h.id for h in store.search("jwt", project="p1")} == {a.id}
        assert {h.id for h in store.search("jwt", since_hours=24)} == {b.id}
        assert {h.id for h in store.search("jwt", statuses=["any"])} == {a.id, b.id, done.id}
        assert {h.id for h in store.search("jwt", statuses=["completed"])} == {done.id}
        with pytest.raises(InvalidInputError):
            store.search("jwt", statuses=["bogus"])

    def test_one_hit_per_lineage_newest(self, store: SQLiteCheckpointStore) -> None:
        a = store.save(fields(title="Auth work", goal="refresh tokens"))
        b = store.save(fields(title="Auth work", goal="something else entirely", parent_id=a.id))
        hits = store.search("refresh")
        assert [h.id for h in hits] == [b.id]  # the lineage matched through a; its newest is shown
        assert {h.id for h in store.search("refresh", all_versions=True)} == {a.id}
        assert len(store.search("", all_versions=True)) == 2

    def test_lineage_finished_later_is_not_open(self, store: SQLiteCheckpointStore) -> None:
        a = store.save(fields(title="Auth work"))
        b = store.save(fields(title="Auth work", parent_id=a.id))
        store.set_status(b.id, "completed")
        assert store.search("auth") == []  # the work's newest state is completed
        assert [h.id for h in store.search("auth", statuses=["any"])] == [b.id]

    def test_limit(self, store: SQLiteCheckpointStore) -> None:
        for i in range(8):
            store.save(fields(title=f"jwt work {i}"))
        assert len(store.search("jwt", limit=3)) == 3


def test_export_import_roundtrip(store: SQLiteCheckpointStore, tmp_path: object) -> None:
    from mcp_server_checkpoints.storage.sqlite.checkpoints import open_database

    a = store.save(CheckpointFields.model_validate(FULL))
    b = store.save(fields(parent_id=a.id, payload={"transcript": "more " * 300}))
    store.set_status(a.id, "resumed", "Resumed at: now")
    first = [export_line(cp) for cp in store.iter_all()]
    other = SQLiteCheckpointStore(open_database(f"{tmp_path}/other.db"))
    # children before parents in the input: import orders them
    rep = other.import_checkpoints([parse_export_line(x) for x in reversed(first)])
    assert rep.imported == 2 and not rep.errors
    assert [export_line(cp) for cp in other.iter_all()] == first
    again = other.import_checkpoints([parse_export_line(x) for x in first])
    assert again.imported == 0 and again.skipped_existing == 2
    assert other.search("")[0].id == b.id


def test_import_reports_bad_records(store: SQLiteCheckpointStore) -> None:
    with pytest.raises(InvalidInputError):
        parse_export_line('{"id": "x"}')
    orphan = Checkpoint(id="c-1", title="t", goal="g", status="paused", parent_id="c-missing",
                        created_at="2026-01-01T00:00:00Z", updated_at="2026-01-01T00:00:00Z")
    bad_time = Checkpoint(id="c-2", title="t", goal="g", status="paused",
                          created_at="yesterday", updated_at="2026-01-01T00:00:00Z")
    ok = Checkpoint(id="c-3", title="t", goal="g", status="paused",
                    created_at="2026-01-01T00:00:00Z", updated_at="2026-01-01T00:00:00Z")
    rep = store.import_checkpoints([orphan, bad_time, ok])
    assert rep.imported == 1 and len(rep.errors) == 2
    assert store.get("c-3").history[0].status == "paused"


def test_stats_and_verify_ok(store: SQLiteCheckpointStore) -> None:
    store.save(CheckpointFields.model_validate(FULL))
    stats = store.stats()
    assert stats["checkpoints"] == 1 and stats["payloads"] == 1 and stats["compression_ratio"] > 1
    rep = store.verify()
    assert rep.ok and rep.checked == 1 and rep.payloads == 1


def test_import_report_never_repeats_a_foreign_id_or_a_stored_value(store: SQLiteCheckpointStore) -> None:
    """An imported id may be a pasted secret and a bad timestamp is a stored value: neither is echoed."""
    key_like = "AKIA" + "IMPORTEDIDVALUE1"
    bad_time = Checkpoint(id=key_like, title="t", goal="g", status="paused",
                          created_at="2026-13-45T99:00:00Z-secretish", updated_at="2026-01-01T00:00:00Z")
    orphan = Checkpoint(id="checkpoint-2026-01-01-orphan-abcdef", title="t", goal="g", status="paused",
                        parent_id="c-missing", created_at="2026-01-01T00:00:00Z", updated_at="2026-01-01T00:00:00Z")
    rep = store.import_checkpoints([bad_time, orphan])
    text = " | ".join(rep.errors)
    assert rep.imported == 0 and len(rep.errors) == 2
    assert key_like not in text and "secretish" not in text and "ISO 8601" in text
    assert "checkpoint-2026-01-01-orphan-abcdef" in text  # ids of our own shape are named
