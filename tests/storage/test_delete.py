"""SQLiteCheckpointStore.delete: the row and its history go; children stay readable, lineage kept."""

from __future__ import annotations

import sqlite3

import pytest

from mcp_server_checkpoints.errors import NotFoundError
from mcp_server_checkpoints.storage.codec import CODEC_DIFF, CODEC_FULL
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore
from tests.conftest import fields

TALK = "user: please refactor the auth module\nassistant: done, next the tests\n" * 200


def codec_of(store: SQLiteCheckpointStore, cid: str) -> str:
    return str(store.db.conn().execute("SELECT payload_codec FROM checkpoints WHERE id = ?", (cid,)).fetchone()[0])


def test_delete_parent_restores_differential_children(store: SQLiteCheckpointStore) -> None:
    root = store.save(fields(payload={"transcript": TALK})).id
    child = store.save(fields(parent_id=root, payload={"transcript": TALK + "more"})).id
    grandchild = store.save(fields(parent_id=child, payload={"transcript": TALK + "more and more"})).id
    assert codec_of(store, child) == CODEC_DIFF and codec_of(store, grandchild) == CODEC_DIFF
    store.set_status(root, "paused")

    assert store.delete(root) == 1
    assert not store.exists(root) and store.history(root) == []
    assert codec_of(store, child) == CODEC_FULL and codec_of(store, grandchild) == CODEC_DIFF
    assert store.get(child).payload.transcript == TALK + "more"  # type: ignore[union-attr]
    assert store.get(grandchild).payload.transcript == TALK + "more and more"  # type: ignore[union-attr]
    row = store.db.conn().execute("SELECT parent_id, lineage_id FROM checkpoints WHERE id = ?", (child,)).fetchone()
    assert row["parent_id"] is None and row["lineage_id"] == root
    report = store.verify()
    assert report.ok, report.problems
    found = {h.id for h in store.search("JWT refresh", statuses=["any"], all_versions=True, limit=10)}
    assert found == {child, grandchild}  # the full-text index forgot the deleted row


def test_delete_middle_of_chain(store: SQLiteCheckpointStore) -> None:
    a = store.save(fields(payload={"transcript": TALK})).id
    b = store.save(fields(parent_id=a, payload={"transcript": TALK + "b"})).id
    c = store.save(fields(parent_id=b, payload={"transcript": TALK + "bc"})).id
    store.delete(b)
    assert store.get(a).payload.transcript == TALK  # type: ignore[union-attr]
    assert store.get(c).payload.transcript == TALK + "bc"  # type: ignore[union-attr]
    assert store.verify().ok


def test_delete_unknown_id_and_damaged_child_change_nothing(store: SQLiteCheckpointStore) -> None:
    with pytest.raises(NotFoundError):
        store.delete("checkpoint-2020-01-01-missing-000000")
    root = store.save(fields(payload={"transcript": TALK})).id
    child = store.save(fields(parent_id=root, payload={"transcript": TALK + "x"})).id
    raw = sqlite3.connect(store.db.path)
    raw.execute("UPDATE checkpoints SET payload_blob = ? WHERE id = ?", (b"garbage", child))
    raw.commit()
    raw.close()
    with pytest.raises(Exception, match="damaged"):  # ContextIntegrityError: the child cannot be re-stored
        store.delete(root)
    assert store.exists(root) and store.exists(child)  # the transaction rolled back whole
