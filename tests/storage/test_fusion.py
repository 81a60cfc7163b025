"""Hybrid ranking logic (fusion, candidates, filters, lineages) with a deterministic fake embedder.

The fake is a unit-test double for the fusion logic only; the real model is exercised in
test_semantic_model.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import threading
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.schemas.graph import Entity, ObservationAddition
from mcp_server_checkpoints.search.fusion import RankingOptions, fuse
from mcp_server_checkpoints.search.vectors import VectorIndex
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore
from mcp_server_checkpoints.storage.sqlite.graph import GraphStore
from mcp_server_checkpoints.storage.sqlite.semantic import SemanticIndex

# Words the fake treats as one concept, so "login token" is near "JWT refresh" without sharing a word.
CONCEPTS = {"jwt": "auth", "login": "auth", "token": "auth", "tokens": "auth", "refresh": "auth",
            "auth": "auth", "credentials": "auth", "invoice": "billing", "billing": "billing", "payment": "billing"}


class FakeEmbedder:
    """Bag of concepts hashed into 64 dimensions, L2-normalised. Deterministic."""

    model_name = "fake-concepts"
    dim = 64

    def embed(self, texts: list[str]) -> list[list[float]]:
        out = []
        for text in texts:
            v = np.zeros(self.dim, dtype=np.float32)
            for w in re.findall(r"\w+", text.lower()):
                v[int(hashlib.sha256(CONCEPTS.get(w, w).encode()).hexdigest(), 16) % self.dim] += 1.0
            n = float(np.linalg.norm(v))
            out.append(list(map(float, v / n if n else v)))
        return out


def cp(**kw: object) -> CheckpointFields:
    return CheckpointFields.model_validate({"goal": "work", **kw})


@pytest.fixture
def hybrid(store: SQLiteCheckpointStore) -> SQLiteCheckpointStore:
    store.semantic = SemanticIndex.ready_with(store.db, FakeEmbedder())
    return store


def embed_all(store: SQLiteCheckpointStore) -> None:
    assert store.semantic is not None
    while store.semantic.embed_pending(limit=50):
        pass


def test_rrf_rewards_agreement_and_keeps_components() -> None:
    a = {"id": "a", "status": "paused", "created_at": "2026-01-01T00:00:00.000000Z", "updated_at": "2026-01-01T00:00:00.000000Z"}
    b = {"id": "b", "status": "paused", "created_at": "2026-01-02T00:00:00.000000Z", "updated_at": "2026-01-02T00:00:00.000000Z"}
    c = {"id": "c", "status": "paused", "created_at": "2026-01-03T00:00:00.000000Z", "updated_at": "2026-01-03T00:00:00.000000Z"}
    ranked = fuse([(a, 9.0), (b, 5.0)], [(c, 0.9), (b, 0.8)], RankingOptions(fusion="rrf"))
    assert [r["id"] for r in ranked] == ["b", "c", "a"]  # b is in both lists; a and c tie: the newer first
    assert ranked[0]["lexical"] == 5.0 and ranked[0]["semantic"] == 0.8
    assert ranked[1]["lexical"] is None and ranked[2]["semantic"] is None


def test_ties_go_to_live_work_then_recency() -> None:
    old = {"id": "old", "status": "paused", "created_at": "2026-01-01T00:00:00.000000Z", "updated_at": "2026-01-01T00:00:00.000000Z"}
    new = {"id": "new", "status": "paused", "created_at": "2026-01-05T00:00:00.000000Z", "updated_at": "2026-01-05T00:00:00.000000Z"}
    live = {"id": "live", "status": "in-progress", "created_at": "2025-01-01T00:00:00.000000Z", "updated_at": "2025-01-01T00:00:00.000000Z"}
    ranked = fuse([(old, 1.0)], [(new, 0.5)])  # same rank in one list each: a tie
    assert [r["id"] for r in ranked] == ["new", "old"]
    ranked = fuse([(old, 1.0)], [(live, 0.5)])
    assert [r["id"] for r in ranked] == ["live", "old"]


def test_weighted_fusion_normalises_bm25() -> None:
    a = {"id": "a", "status": "paused", "created_at": "2026-01-01T00:00:00.000000Z", "updated_at": "2026-01-01T00:00:00.000000Z"}
    b = {"id": "b", "status": "paused", "created_at": "2026-01-01T00:00:00.000000Z", "updated_at": "2026-01-01T00:00:00.000000Z"}
    ranked = fuse([(a, 20.0), (b, 10.0)], [(b, 0.9), (a, 0.1)], RankingOptions(fusion="weighted", weight=0.3))
    assert [r["id"] for r in ranked] == ["b", "a"]
    assert ranked[0]["score"] == pytest.approx(0.3 * 0.5 + 0.7 * 0.9)


def test_vector_index_top_k_exact_and_grows() -> None:
    idx = VectorIndex(kind="checkpoint", model="m", dim=3, capacity=2)
    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(50, 3)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    for i, v in enumerate(vecs):
        idx.put(f"r{i}", v)
    idx.put("r0", vecs[1])  # replacing keeps one row per ref
    assert len(idx) == 50
    q = vecs[7]
    expected = sorted(((f"r{i}", float(vecs[1] @ q if i == 0 else vecs[i] @ q)) for i in range(50)), key=lambda x: -x[1])
    got = idx.top_k(q, 5)
    assert [r for r, _ in got] == [r for r, _ in expected[:5]]
    assert len(idx.top_k(q, 500)) == 50


def test_refresh_reads_in_chunks_into_a_matrix_sized_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large backlog is read a chunk at a time into a matrix sized from a count (not doubled as it
    fills); vectors of another length are skipped; a later refresh loads only what is new."""
    from mcp_server_checkpoints.search import vectors as V
    from mcp_server_checkpoints.search.vectors import to_blob
    from mcp_server_checkpoints.storage.sqlite.checkpoints import open_database

    monkeypatch.setattr(V, "REFRESH_CHUNK", 64)
    db = open_database(tmp_path / "v.db")
    rng = np.random.default_rng(3)
    vecs = rng.normal(size=(1_000, 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    with db.write() as c:
        c.executemany("INSERT INTO vectors (kind, ref, model, dim, vector) VALUES ('checkpoint', ?, 'm', ?, ?)",
                      [(f"r{i}", 4 if i == 500 else 8, to_blob(v[:4] if i == 500 else v)) for i, v in enumerate(vecs)])
    idx = VectorIndex(kind="checkpoint", model="m", dim=8, capacity=16)
    with db.read() as c:
        assert idx.refresh(c) == 1_000
    assert len(idx) == 999 and "r500" not in idx
    assert idx.nbytes == (1_000 + 1_000 // 8) * 8 * 4  # sized once for the backlog and an eighth more
    assert [r for r, _ in idx.top_k(vecs[3], 1)] == ["r3"]
    with db.write() as c:
        c.execute("INSERT INTO vectors (kind, ref, model, dim, vector) VALUES ('checkpoint', 'new', 'm', 8, ?)",
                  (to_blob(vecs[0]),))
    with db.read() as c:
        assert idx.refresh(c) == 1 and idx.refresh(c) == 0
    assert len(idx) == 1_000
    db.close()


def test_vector_index_top_k_matches_a_float64_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    """top_k's own dot product (not BLAS's sgemv) is exact float32 cosine: same order as float64,
    whether the matrix is scanned on one thread or in two halves on two."""
    from mcp_server_checkpoints.search import vectors as V

    monkeypatch.setattr(V, "SPLIT_ROWS", 1_000)
    idx = VectorIndex(kind="checkpoint", model="m", dim=384)
    rng = np.random.default_rng(2)
    vecs = rng.normal(size=(3_000, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    for i, v in enumerate(vecs):
        idx.put(f"r{i}", v)
    q = vecs[11] + rng.normal(0, 0.5, 384).astype(np.float32)
    q /= np.linalg.norm(q)
    ref = vecs.astype(np.float64) @ q.astype(np.float64)
    got = idx.top_k(q, 100)
    assert [r for r, _ in got] == [f"r{i}" for i in np.argsort(-ref, kind="stable")[:100]]
    assert max(abs(s - ref[int(r[1:])]) for r, s in got) < 1e-6
    assert [r for r, _ in idx.top_k(q, 1)] == [got[0][0]]
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert idx.top_k(q, 100, pool=pool) == got
        assert idx.top_k(q, 5_000, pool=pool) == idx.top_k(q, 5_000)


def test_paraphrase_found_only_with_semantic(hybrid: SQLiteCheckpointStore) -> None:
    jwt = hybrid.save(cp(title="JWT refresh endpoint", goal="rotate credentials"))
    hybrid.save(cp(title="Invoice PDF export", goal="billing"))
    embed_all(hybrid)
    out = hybrid.search_with_state("login token work")
    assert out.semantic == "ready"
    assert out.hits[0].id == jwt.id
    assert out.hits[0].lexical is None and out.hits[0].semantic is not None and out.hits[0].semantic > 0.5
    hybrid.semantic = None
    lexical = hybrid.search_with_state("login token work")
    assert lexical.semantic == "off" and jwt.id not in [h.id for h in lexical.hits]


def test_filters_and_lineage_apply_to_semantic_hits(hybrid: SQLiteCheckpointStore) -> None:
    a = hybrid.save(cp(title="JWT refresh endpoint", project="api"))
    a2 = hybrid.save(cp(title="JWT refresh endpoint, tests", project="api", parent_id=a.id))
    b = hybrid.save(cp(title="JWT login page", project="web"))
    hybrid.set_status(b.id, "completed")
    embed_all(hybrid)
    hits = hybrid.search("login token")
    assert [h.id for h in hits] == [a2.id]  # one per lineage (newest); completed work excluded
    assert [h.id for h in hybrid.search("login token", statuses=["any"], project="web")] == [b.id]
    assert {h.id for h in hybrid.search("login token", all_versions=True)} == {a.id, a2.id}


def test_selective_filter_looks_past_the_candidate_bound(hybrid: SQLiteCheckpointStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from mcp_server_checkpoints.storage.sqlite import search as search_mod

    monkeypatch.setattr(search_mod, "CANDIDATES", 3)
    for i in range(12):
        hybrid.save(cp(title=f"JWT refresh endpoint {i}", project="busy"))
    rare = hybrid.save(cp(title="token rotation", project="rare"))
    embed_all(hybrid)
    assert [h.id for h in hybrid.search("jwt refresh", project="rare")] == [rare.id]  # lexical fallback
    assert [h.id for h in hybrid.search("credentials", project="rare")] == [rare.id]  # semantic widening


def test_vectors_follow_other_writers_and_replacement(hybrid: SQLiteCheckpointStore) -> None:
    """Checkpoints saved through another store object (another process's view) get embedded and found."""
    other = SQLiteCheckpointStore(hybrid.db)  # no semantic index: like a lexical-only server on the same file
    saved = other.save(cp(title="JWT refresh endpoint"))
    assert hybrid.semantic is not None
    embed_all(hybrid)
    assert hybrid.search("login token")[0].id == saved.id
    # Replacing a checkpoint (import --replace) drops its vector, so it is embedded again.
    exported = hybrid.get(saved.id)
    with hybrid.db.read() as c:
        assert c.execute("SELECT COUNT(*) FROM vectors WHERE ref = ?", (saved.id,)).fetchone()[0] == 1
    report = hybrid.import_checkpoints([dataclasses.replace(exported, title="Invoice export")], replace=True)
    assert report.imported == 1
    with hybrid.db.read() as c:
        assert c.execute("SELECT COUNT(*) FROM vectors WHERE ref = ?", (saved.id,)).fetchone()[0] == 0
    assert hybrid.semantic.embed_pending() == 1


def test_warming_searches_lexically(store: SQLiteCheckpointStore) -> None:
    gate = threading.Event()

    def slow_loader() -> FakeEmbedder:
        gate.wait(10)
        return FakeEmbedder()

    store.semantic = SemanticIndex(store.db, slow_loader)
    store.semantic.start()
    try:
        saved = store.save(cp(title="JWT refresh endpoint"))
        out = store.search_with_state("jwt")
        assert out.semantic == "warming" and [h.id for h in out.hits] == [saved.id]
        assert out.hits[0].semantic is None
        assert store.search_with_state("login token").hits == []  # no semantic side yet
        gate.set()
        assert store.semantic.wait_ready(10)
        for _ in range(100):  # the worker embeds the queued save
            if store.semantic.embedded:
                break
            threading.Event().wait(0.05)
        out = store.search_with_state("login token")
        assert out.semantic == "ready" and [h.id for h in out.hits] == [saved.id]
    finally:
        store.semantic.stop()


def test_loader_failure_means_off(store: SQLiteCheckpointStore) -> None:
    def broken() -> FakeEmbedder:
        raise OSError("no weights")

    store.semantic = SemanticIndex(store.db, broken)
    store.semantic.start()
    for _ in range(100):  # the loader fails on its thread
        if store.semantic.state == "off":
            break
        threading.Event().wait(0.05)
    assert store.semantic.state == "off"
    store.save(cp(title="JWT refresh endpoint"))
    assert store.search_with_state("jwt").semantic == "off"


def _fill(store: SQLiteCheckpointStore, titles: list[str]) -> None:
    """Many rows quickly (plain inserts; the FTS triggers index them), oldest first."""
    with store.db.write() as c:
        c.executemany(
            "INSERT INTO checkpoints (id, title, goal, status, lineage_id, created_at, updated_at)"
            " VALUES (?, ?, 'work', 'in-progress', ?, ?, ?)",
            [(f"cp-{i:05d}", t, f"cp-{i:05d}", f"2026-01-01T00:00:{i % 60:02d}.{i:06d}Z",
              f"2026-01-01T00:00:{i % 60:02d}.{i:06d}Z") for i, t in enumerate(titles)])


def test_lexical_plan_drops_common_terms_and_bounds_hybrid_ranking(store: SQLiteCheckpointStore,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """bm25 costs ~1 µs a matched row: a word in most rows is dropped (bm25 gives it no weight), and when
    hybrid, common words are ranked among the newest rows only; rare words over the whole table."""
    from mcp_server_checkpoints.storage.sqlite import search as S

    monkeypatch.setattr(S, "_SHARE_CACHE", {})
    monkeypatch.setattr(S, "LEXICAL_BUDGET", 300)
    titles = [f"deploy service {'api gateway' if i % 4 == 0 else 'worker'}" for i in range(3_000)]
    titles[10] = "deploy zanzibar migration"  # a rare word in an old row
    _fill(store, titles)
    with store.db.read() as c:
        total = 3_000
        match, floor = S._plan(c, "k", '"deploy" OR "gateway"', total, bounded=False)
        assert (match, floor) == ('"gateway"', 0)  # "deploy" is in every row
        match, floor = S._plan(c, "k", '"gateway"', total, bounded=True)
        assert floor == total - int(300 / 0.25)  # a quarter of the rows match: the newest 1,200 hold ~300
        match, floor = S._plan(c, "k", '"zanzibar"', total, bounded=True)
        assert floor == 0
    store.semantic = SemanticIndex.ready_with(store.db, FakeEmbedder())
    embed_all(store)
    hits = store.search("zanzibar", limit=1)
    assert hits[0].id == "cp-00010" and hits[0].lexical is not None


def _django_in_older_rows(store: SQLiteCheckpointStore, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """4,000 checkpoints, "django" in the oldest 2,000 only; a small budget and probe; an empty cache."""
    from mcp_server_checkpoints.storage.sqlite import search as S

    monkeypatch.setattr(S, "_SHARE_CACHE", {})
    monkeypatch.setattr(S, "LEXICAL_BUDGET", 300)
    monkeypatch.setattr(S, "PROBE_ROWS", 1_000)
    _fill(store, [f"legacy {'django' if i < 2_000 else 'rust'} port" for i in range(4_000)])
    return S


def test_words_common_only_in_older_rows_still_bound_the_ranking(store: SQLiteCheckpointStore,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    S = _django_in_older_rows(store, monkeypatch)
    with store.db.read() as c:
        match, floor = S._plan(c, "k", '"django"', 4_000, bounded=True)
    assert floor == 4_000 - int(300 * 4_000 / 2_000)  # none among the newest 1,000, 2,000 in all


def test_plan_counts_are_cached_until_a_tenth_of_the_probe_is_added(store: SQLiteCheckpointStore,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-term shares and a rare query's whole-table count are counted once, not on every search."""
    S = _django_in_older_rows(store, monkeypatch)
    counts: list[str] = []
    count = S._count
    monkeypatch.setattr(S, "_count", lambda c, match, floor, table="checkpoints_fts": counts.append(match)
                        or count(c, match, floor, table))
    with store.db.read() as c:
        first = S._plan(c, "k", '"django"', 4_000, bounded=True)
        assert counts == ['"django"', '"django"']  # its share of the newest rows, then the whole table
        assert S._plan(c, "k", '"django"', 4_000, bounded=True) == first
        assert S._plan(c, "k", '"django"', 4_100, bounded=True)[0] == first[0]
        assert len(counts) == 2  # cached: 100 new rows are not a tenth of the probe
        S._plan(c, "k", '"django"', 4_101, bounded=True)
        assert len(counts) == 4  # counted again

def _graph(store: SQLiteCheckpointStore) -> GraphStore:
    sem = store.semantic
    assert sem is not None
    return GraphStore(store.db, semantic=sem.rank_entities, on_change=sem.notify)


def test_graph_entities_are_embedded_and_rank_search_nodes_fallback(hybrid: SQLiteCheckpointStore) -> None:
    graph = _graph(hybrid)
    graph.create_entities([Entity(name="AuthService", entityType="service", observations=["handles JWT refresh"]),
                           Entity(name="Ledger", entityType="module", observations=["invoice totals"])])
    assert hybrid.semantic is not None
    assert hybrid.semantic.embed_pending() == 2
    assert hybrid.semantic.embed_pending() == 0
    # "login" is in no entity (no substring match, no bm25 match): the semantic ranker finds AuthService.
    assert [e.name for e in graph.search_nodes("login").entities] == ["AuthService"]
    assert graph.search_nodes("zebra").entities == []  # below the similarity floor: nothing, like the official server


def test_entity_vectors_follow_edits_and_deletes(hybrid: SQLiteCheckpointStore) -> None:
    graph = _graph(hybrid)
    sem = hybrid.semantic
    assert sem is not None
    graph.create_entities([Entity(name="A", entityType="t", observations=["invoice"])])
    assert sem.embed_pending() == 1

    def vectors() -> list[str]:
        with hybrid.db.read() as c:
            return [r[0] for r in c.execute("SELECT ref FROM vectors WHERE kind = 'entity'")]

    assert vectors() == ["A"]
    graph.add_observations([ObservationAddition(entityName="A", contents=["login token"])])
    assert vectors() == []  # its text changed: embedded again
    assert sem.embed_pending() == 1
    with hybrid.db.read() as c:
        assert [name for name, _ in sem.rank_entities(c, "jwt", 5)] == ["A"]
    graph.delete_entities(["A"])
    assert vectors() == []
    assert graph.search_nodes("jwt").entities == []  # a stale in-memory vector never returns a deleted entity


def test_session_snapshots_share_their_checkpoints_vector(hybrid: SQLiteCheckpointStore) -> None:
    cid = hybrid.save(cp(title="JWT refresh endpoint")).id
    hybrid.save(cp(title="Invoice export"))
    assert hybrid.semantic is not None
    embed_all(hybrid)
    with hybrid.db.read() as c:
        assert c.execute("SELECT COUNT(*) FROM vectors WHERE kind = 'entity'").fetchone()[0] == 0
        name = c.execute("SELECT name FROM graph_entities WHERE checkpoint_id = ?", (cid,)).fetchone()[0]
        assert hybrid.semantic.rank_entities(c, "login", 5)[0][0] == name


def test_worker_gives_way_to_a_busy_database_and_catches_up(store: SQLiteCheckpointStore, monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    """Another process holding the write lock makes the background embedder wait briefly, log no error,
    and embed once the lock is free (many servers share one file; their saves come first)."""
    import sqlite3

    from mcp_server_checkpoints.storage.sqlite import semantic as sem_module

    monkeypatch.setattr(sem_module, "WORKER_BUSY_MS", 200)
    store.save(cp(title="JWT refresh endpoint"))
    other = sqlite3.connect(store.db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process is writing, for longer than the worker will wait
    store.semantic = SemanticIndex(store.db, FakeEmbedder)
    try:
        with caplog.at_level("INFO", logger="mcp_server_checkpoints.storage.sqlite.semantic"):
            store.semantic.start()
            assert store.semantic.wait_ready(10)
            threading.Event().wait(1.0)
            assert store.semantic.embedded == 0
            other.execute("COMMIT")
            for _ in range(100):
                if store.semantic.embedded:
                    break
                threading.Event().wait(0.05)
        assert store.semantic.embedded == 1
        assert "database busy" in caplog.text
        assert not [r for r in caplog.records if r.levelname in ("ERROR", "WARNING")]
    finally:
        other.close()
        store.semantic.stop()


def test_zscore_fusion_lets_a_clear_outlier_win_and_a_flat_side_count_little() -> None:
    """Standard scores: bm25's clear winner (far above the rest) beats a checkpoint the embeddings put only
    slightly ahead; rank fusion, which sees ranks only, would tie them."""
    rows = [{"id": k, "status": "paused", "created_at": "2026-01-01T00:00:00.000000Z",
             "updated_at": "2026-01-01T00:00:00.000000Z"} for k in "abcd"]
    a, b, c, d = rows
    lexical = [(a, 30.0), (b, 5.0), (c, 4.0), (d, 3.0)]
    semantic = [(b, 0.52), (a, 0.50), (c, 0.49), (d, 0.48)]
    z = fuse(lexical, semantic, RankingOptions(fusion="zscore"))
    assert z[0]["id"] == "a" and z[0]["lexical"] == 30.0 and z[0]["semantic"] == 0.50
    r = fuse(lexical, semantic, RankingOptions(fusion="rrf", weight=0.5))
    assert r[0]["score"] == pytest.approx(r[1]["score"])  # equal shares: ranks 1+2 and 2+1
    # A candidate one side did not return counts as that side's lowest, not as zero.
    only_semantic = fuse([(a, 9.0), (b, 1.0)], [(c, 0.9), (a, 0.2), (b, 0.1)], RankingOptions(fusion="zscore", weight=0.5))
    assert [x["id"] for x in only_semantic][0] == "a"
