"""The CheckpointStore contract (storage/protocols.py), on every backend of conftest.BACKENDS."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mcp_server_checkpoints.domain.time import utcnow
from mcp_server_checkpoints.errors import (
    ContextIntegrityError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
)
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.schemas.export import export_line, parse_export_line
from mcp_server_checkpoints.storage.protocols import CheckpointStore, GraphStore
from mcp_server_checkpoints.wiring import open_services
from tests.storage.conformance.conftest import Opened

FULL: dict[str, Any] = {
    "title": "JWT refresh endpoint", "goal": "Add JWT authentication with refresh tokens", "project": "api",
    "status": "paused", "progress": 60, "phase": "implementation", "current_work": "Writing the refresh handler",
    "completed": ["login endpoint"], "files": [{"path": "src/auth.js", "change": "login"}],
    "decisions": [{"decision": "RS256", "reasoning": "key rotation"}], "next_step": "Implement POST /auth/refresh",
    "remaining": ["logout revocation"], "blockers": ["staging keys"], "user_input_needed": ["token lifetime?"],
    "approaches": [{"approach": "HS256", "outcome": "failed", "note": "shared secret"}],
    "preferences": ["tests beside code"], "discoveries": ["express-jwt is unmaintained"],
    "resume_instructions": "Run npm test first", "summary": "A long compaction summary", "tags": ["auth"],
    "session_id": "sess-1", "agent_id": "claude",
    "payload": {"transcript": "user: hi\nassistant: hello\n" * 40, "tool_history": [{"tool": "Edit"}],
                "project_state": {"branch": "main"}},
}


def fields(**kw: Any) -> CheckpointFields:
    return CheckpointFields.model_validate({"title": "Work", "goal": "Do the work", **kw})


def store_of(opened: Opened) -> CheckpointStore:
    return opened.services.store


def test_implements_the_protocols(opened: Opened) -> None:
    assert isinstance(opened.services.store, CheckpointStore)
    assert isinstance(opened.services.graph, GraphStore)


# -- save and read ---------------------------------------------------------------------------------
def test_save_then_get_returns_every_field(opened: Opened) -> None:
    store = store_of(opened)
    saved = store.save(CheckpointFields.model_validate(FULL))
    assert saved.id.startswith("checkpoint-") and saved.raw_bytes > 0 and saved.stored_bytes > 0
    cp = store.get(saved.id)
    plain = dataclasses.asdict(cp)
    for key, value in FULL.items():
        if key == "payload":
            assert {k: v for k, v in plain["payload"].items() if v is not None} == value
        else:
            assert plain[key] == value, key
    assert cp.status == "paused" and [h.status for h in cp.history] == ["paused"]
    assert store.exists(saved.id) and not store.exists("checkpoint-2026-01-01-none-000000")
    assert store.get(saved.id, with_payload=False).payload is None
    assert store.verify_payload(saved.id)[0] is True


def test_damaged_payload_is_detected_on_read(opened: Opened) -> None:
    store = store_of(opened)
    cid = store.save(fields(payload={"transcript": "x" * 5000})).id
    opened.backend.damage_payload(opened.settings, cid)
    with pytest.raises(ContextIntegrityError):
        store.get(cid)
    with pytest.raises(ContextIntegrityError):
        store.verify_payload(cid)
    assert store.get(cid, with_payload=False).title == "Work"  # the header stays readable
    assert not store.verify().ok


def test_unknown_ids_raise_not_found_without_echoing_foreign_ids(opened: Opened) -> None:
    store = store_of(opened)
    for call in (lambda i: store.get(i), lambda i: store.set_status(i, "paused"), lambda i: store.delete(i),
                 lambda i: store.status_of(i), lambda i: store.lineage(i), lambda i: store.verify_payload(i)):
        with pytest.raises(NotFoundError) as err:
            call("sk-live-not-an-id")
        assert "sk-live" not in str(err.value)
        with pytest.raises(NotFoundError, match="checkpoint-2026-01-01-ours-abcdef"):
            call("checkpoint-2026-01-01-ours-abcdef")


def test_bad_input_stores_nothing(opened: Opened) -> None:
    store = store_of(opened)
    with pytest.raises(PayloadTooLargeError):
        store.save(fields(payload={"transcript": "y" * (opened.settings.max_payload_bytes + 10)}))
    with pytest.raises(InvalidInputError, match="surrogate"):
        # model_construct: the tool boundary refuses it earlier; the store must refuse it on its own too
        store.save(CheckpointFields.model_construct(**{**fields().model_dump(), "goal": "bad \ud800 text"}))
    with pytest.raises(InvalidInputError, match="parent_id"):
        store.save(fields(parent_id="checkpoint-2026-01-01-missing-000000"))
    with pytest.raises(InvalidInputError, match="status"):
        store.set_status(store.save(fields()).id, "finished")
    assert store.count() == 1  # only the one saved for the status check
    assert [e for e in opened.services.graph.read_graph().entities if e.entityType == "session-snapshot"].__len__() == 1


def test_secrets_are_redacted_before_storage(opened: Opened) -> None:
    store = store_of(opened)
    secret = "ghp_" + "a1B2c3D4e5" * 4
    saved = store.save(fields(goal=f"use token {secret}", payload={"transcript": f"export GH={secret}\n"}))
    cp = store.get(saved.id)
    assert secret not in export_line(cp) and sum(saved.redactions.values()) >= 2
    assert cp.redactions == saved.redactions and all(n > 0 for n in cp.redactions.values())
    assert secret not in str(opened.services.graph.read_graph().wire())


# -- status and lineage ---------------------------------------------------------------------------
def test_status_changes_are_recorded_in_order(opened: Opened) -> None:
    store = store_of(opened)
    cid = store.save(fields()).id
    store.set_status(cid, "on-hold", "waiting for keys")
    res = store.set_status(cid, "completed", "shipped")
    assert res.status == "completed"
    assert [(h.status, h.note) for h in store.history(cid)] == [
        ("in-progress", None), ("on-hold", "waiting for keys"), ("completed", "shipped")]
    assert store.latest() is None  # closed work is not open
    assert store.latest(statuses=["completed"]) is not None


def test_lineage_and_newest_version_per_lineage(opened: Opened) -> None:
    store = store_of(opened)
    first = store.save(fields(title="Payments refactor", goal="Split the payments module")).id
    second = store.save(fields(title="Payments refactor", goal="Split the payments module", parent_id=first)).id
    third = store.save(fields(title="Payments refactor", goal="Split the payments module", parent_id=second)).id
    assert [c.id for c in store.lineage(first)] == [first, second, third]
    assert [c.id for c in store.lineage(third)] == [first, second, third]
    hits = store.search("payments")
    assert [h.id for h in hits] == [third]
    assert {h.id for h in store.search("payments", all_versions=True)} == {first, second, third}
    store.set_status(third, "completed")
    assert store.search("payments") == []  # the work's newest state is closed: so is the lineage


def test_delete_keeps_children_readable(opened: Opened) -> None:
    store = store_of(opened)
    parent = store.save(fields(payload={"transcript": "shared text " * 500})).id
    child = store.save(fields(parent_id=parent, payload={"transcript": "shared text " * 500 + "more"})).id
    store.delete(parent)
    assert not store.exists(parent)
    cp = store.get(child)
    assert cp.parent_id is None and cp.payload is not None and cp.payload.transcript.endswith("more")
    assert store.verify().ok


# -- search -----------------------------------------------------------------------------------------
def test_search_filters_and_recency(opened: Opened) -> None:
    store = store_of(opened)
    now = utcnow()
    old = store.save(fields(title="Kafka consumer lag", goal="Fix lag", project="ingest"), now=now - timedelta(hours=50)).id
    new = store.save(fields(title="Kafka producer retries", goal="Retries", project="ingest"), now=now).id
    other = store.save(fields(title="Kafka docs", goal="Write docs", project="docs"), now=now).id
    assert {h.id for h in store.search("kafka", limit=10)} == {old, new, other}
    assert {h.id for h in store.search("kafka", project="ingest", limit=10)} == {old, new}
    assert {h.id for h in store.search("kafka", since_hours=24, limit=10)} == {new, other}
    assert store.search("kafka consumer lag", limit=1)[0].id == old
    recent = store.search("", limit=10)
    assert recent[-1].id == old and recent[0].age_hours <= recent[-1].age_hours
    with pytest.raises(InvalidInputError, match="status"):
        store.search("kafka", statuses=["finished"])
    out = store.search_with_state("kafka")
    assert out.semantic == store.semantic_state()
    assert store.latest_in_session("nope") is None


def test_latest_in_session(opened: Opened) -> None:
    store = store_of(opened)
    store.save(fields(session_id="s-1", title="one"))
    second = store.save(fields(session_id="s-1", title="two")).id
    found = store.latest_in_session("s-1")
    assert found is not None and found.id == second


# -- export / import ---------------------------------------------------------------------------------
def test_export_import_export_is_lossless(opened: Opened, tmp_path: Path) -> None:
    store = store_of(opened)
    a = store.save(CheckpointFields.model_validate(FULL)).id
    store.save(CheckpointFields.model_validate({**FULL, "parent_id": a, "title": "JWT refresh, later"}))
    store.set_status(a, "on-hold", "parked")
    lines = [export_line(cp) for cp in store.iter_all()]
    other_settings = opened.backend.location(tmp_path / "other")
    (tmp_path / "other").mkdir()
    with_other = open_services(other_settings)
    try:
        report = with_other.store.import_checkpoints([parse_export_line(x) for x in reversed(lines)])
        assert (report.imported, report.errors) == (2, [])
        assert [export_line(cp) for cp in with_other.store.iter_all()] == lines
        again = with_other.store.import_checkpoints([parse_export_line(x) for x in lines])
        assert (again.imported, again.skipped_existing) == (0, 2)
    finally:
        with_other.close()


# -- concurrency --------------------------------------------------------------------------------------
def test_a_second_handle_sees_committed_writes(opened: Opened) -> None:
    other = opened.another()
    try:
        cid = opened.services.store.save(fields(title="Seen elsewhere")).id
        assert other.store.get(cid).title == "Seen elsewhere"
        other.store.set_status(cid, "paused")
        assert opened.services.store.status_of(cid).status == "paused"
        assert other.store.search("elsewhere")[0].id == cid
    finally:
        other.close()


def test_concurrent_saves_from_threads_all_land(opened: Opened) -> None:
    store = store_of(opened)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(10):
                cid = store.save(fields(title=f"thread {n} save {i}")).id
                store.set_status(cid, "paused")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.count() == 40
    assert all(len(store.history(h.id)) == 2 for h in store.list_recent(limit=50))


# -- operations ---------------------------------------------------------------------------------------
def test_stats_verify_reindex_and_backup(opened: Opened, tmp_path: Path) -> None:
    store = store_of(opened)
    for i in range(3):
        store.save(fields(title=f"ops {i}", payload={"transcript": "t" * 3000}))
    stats = store.stats()
    assert stats["checkpoints"] == 3 and stats["payloads"] == 3
    assert store.verify().ok
    store.reindex_lexical()
    assert len(store.search("ops", limit=10)) == 3
    result = store.backup(tmp_path / "copy")
    assert result.checkpoints == 3 and result.path.exists()
