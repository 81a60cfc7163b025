"""Long checkpoints are searchable by any of their passages, and a hit says which passage matched.

Uses the deterministic concept embedder of tests/storage/test_fusion.py (a unit-test double for the
ranking logic; the real model: tests/search/test_passages_model.py).
"""

from __future__ import annotations

from pathlib import Path

from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.search.fusion import RankingOptions
from mcp_server_checkpoints.search.passages import Passages
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database
from mcp_server_checkpoints.storage.sqlite.db import Database
from mcp_server_checkpoints.storage.sqlite.migrations import MIGRATIONS
from mcp_server_checkpoints.storage.sqlite.search import search
from mcp_server_checkpoints.storage.sqlite.semantic import SemanticIndex
from tests.storage.test_fusion import FakeEmbedder

FILLER = "routine " * 1_000  # 8,000 characters about nothing in particular


def long_checkpoint(detail: str) -> CheckpointFields:
    return CheckpointFields(title="Weekly maintenance", goal="Routine upkeep of the build",
                            summary=f"{FILLER}\nLate in the session: {detail}.\n{FILLER}")


def passages(store: SQLiteCheckpointStore, cid: str) -> list[str]:
    with store.db.read() as c:
        return [r[0] for r in c.execute("SELECT ref FROM vectors WHERE kind = 'passage' AND ref LIKE ? ORDER BY ref",
                                        (cid + "#%",))]


def test_a_detail_deep_in_a_long_summary_is_found_by_its_passage(store: SQLiteCheckpointStore) -> None:
    store.semantic = SemanticIndex.ready_with(store.db, FakeEmbedder(), Passages(words=30, overlap=5))
    target = store.save(long_checkpoint("the invoice totals were rounded twice")).id
    other = store.save(long_checkpoint("the jwt login page was restyled")).id
    while store.semantic.embed_pending():
        pass
    assert len(passages(store, target)) > 10
    # "payment" is in no checkpoint (no bm25 match) and past what the checkpoint's own vector reads:
    # only a passage can find it (the fake embeds payment and invoice as one concept).
    out = search(store.db, store.semantic, "payment", statuses=["any"])
    assert out.hits[0].id == target and out.hits[0].lexical is None
    assert out.hits[0].matched is not None and "invoice totals were rounded twice" in out.hits[0].matched
    one_vector = search(store.db, store.semantic, "payment", statuses=["any"], options=RankingOptions(passages=False))
    assert max(h.semantic or 0.0 for h in one_vector.hits) < 0.01 < (out.hits[0].semantic or 0.0)  # one vector: blind
    # A lexical hit says which words matched.
    hit = search(store.db, store.semantic, "restyled", statuses=["any"]).hits[0]
    assert hit.id == other and hit.matched is not None and "restyled" in hit.matched


def test_short_checkpoints_have_no_passages_and_deleting_drops_them(store: SQLiteCheckpointStore) -> None:
    store.semantic = SemanticIndex.ready_with(store.db, FakeEmbedder())
    short = store.save(CheckpointFields(title="JWT refresh", goal="rotate tokens")).id
    long = store.save(long_checkpoint("invoice rounding")).id
    while store.semantic.embed_pending():
        pass
    assert passages(store, short) == [] and passages(store, long)
    store.delete(long)
    assert passages(store, long) == []


def test_migration_6_re_embeds_long_checkpoints_only(db_path: Path) -> None:
    """A database from before passages: its long checkpoints lose their one vector (the worker embeds
    them again, with passages); short ones keep theirs."""
    old = Database(db_path, [m for m in MIGRATIONS if m.version != 6])  # today's store writes the later columns
    old.migrate()
    store = SQLiteCheckpointStore(old)
    short = store.save(CheckpointFields(title="JWT refresh", goal="rotate tokens")).id
    long = store.save(long_checkpoint("invoice rounding")).id
    with old.write() as c:
        c.executemany("INSERT INTO vectors (kind, ref, model, dim, vector) VALUES ('checkpoint', ?, 'fake-concepts', 64, ?)",
                      [(short, bytes(256)), (long, bytes(256))])
    old.close()
    db = open_database(db_path)
    db.migrate()
    with db.read() as c:
        assert [r[0] for r in c.execute("SELECT ref FROM vectors WHERE kind = 'checkpoint'")] == [short]
    upgraded = SQLiteCheckpointStore(db)
    upgraded.semantic = SemanticIndex.ready_with(db, FakeEmbedder())
    assert upgraded.semantic.embed_pending() == 1
    assert passages(upgraded, long)
    db.close()
