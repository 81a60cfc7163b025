"""The vector index past COMPACT_ROWS: int8 codes with sign-bit shortlists (search/vectors.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from mcp_server_checkpoints.search import vectors as V
from mcp_server_checkpoints.search.vectors import VectorIndex, to_blob


def unit(rng: np.random.Generator, n: int, dim: int = 384, *, shared: float = 0.0) -> np.ndarray:
    """n random unit vectors; `shared` adds a common direction (as sentence encoders' vectors have)."""
    v = rng.normal(size=(n, dim)).astype(np.float32) + shared * np.ones(dim, np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def filled(vecs: np.ndarray, compact_rows: int) -> VectorIndex:
    idx = VectorIndex(kind="checkpoint", model="m", dim=vecs.shape[1], capacity=8, compact_rows=compact_rows)
    for i, v in enumerate(vecs):
        idx.put(f"r{i}", v)
    return idx


def test_index_turns_compact_past_the_threshold_and_keeps_every_vector() -> None:
    rng = np.random.default_rng(1)
    vecs = unit(rng, 300, shared=0.5)
    idx = filled(vecs[:200], compact_rows=200)
    assert not idx.compact
    assert idx.nbytes == 200 * 384 * 4  # float32, its room capped at the threshold
    idx.put("r200", vecs[200])  # the 201st vector: past the threshold
    assert idx.compact
    for i, v in enumerate(vecs[201:], start=201):
        idx.put(f"r{i}", v)
    assert len(idx) == 300
    per_row = idx.nbytes / idx._capacity()  # noqa: SLF001
    assert per_row == 384 + 4 + 48  # int8 codes, a float32 scale, 384 sign bits: 3.5x less than float32
    for i in (0, 150, 299):  # rows from before, at and after the conversion are all found
        assert idx.top_k(vecs[i], 1)[0][0] == f"r{i}"


def test_compact_scores_are_within_int8_error_of_float32() -> None:
    rng = np.random.default_rng(2)
    vecs = unit(rng, 2_000, shared=0.3)
    exact, compact = filled(vecs, compact_rows=10**6), filled(vecs, compact_rows=0)
    assert compact.compact and not exact.compact
    q = unit(rng, 1, shared=0.3)[0]
    ref = vecs.astype(np.float64) @ q.astype(np.float64)
    for ref_id, score in compact.top_k(q, 50):
        assert abs(score - ref[int(ref_id[1:])]) < 0.01
    got = compact.scores_for(q, ["r5", "r77", "missing"])
    assert set(got) == {"r5", "r77"} and all(abs(s - ref[int(r[1:])]) < 0.01 for r, s in got.items())


def test_compact_top_k_finds_the_near_neighbours_through_the_shortlist(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a shortlist of 1 % of the rows, a query near a stored vector (and its planted near
    copies) still returns them first, on one thread or two."""
    monkeypatch.setattr(V, "MIN_SHORTLIST", 0)
    monkeypatch.setattr(V, "SPLIT_ROWS", 1_000)
    rng = np.random.default_rng(3)
    vecs = unit(rng, 20_000, shared=0.5)
    target = vecs[1234]
    for j in range(5):  # five close variants of the target, spread over the index
        noisy = target + rng.normal(0, 0.02, target.shape).astype(np.float32)
        vecs[j * 3_000 + 7] = noisy / np.linalg.norm(noisy)
    idx = filled(vecs, compact_rows=0)
    q = target + rng.normal(0, 0.02, target.shape).astype(np.float32)
    q /= np.linalg.norm(q)
    want = {"r1234", *(f"r{j * 3_000 + 7}" for j in range(5))}
    got = idx.top_k(q, 20)  # shortlist: 200 of 20,000 rows
    assert {r for r, _ in got[:6]} == want
    assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert idx.top_k(q, 20, pool=pool) == got


def test_compact_replace_updates_the_row() -> None:
    rng = np.random.default_rng(4)
    vecs = unit(rng, 500)
    idx = filled(vecs, compact_rows=0)
    idx.put("r3", vecs[400])
    assert len(idx) == 500
    top = [r for r, _ in idx.top_k(vecs[400], 2)]
    assert set(top) == {"r3", "r400"}
    assert idx.top_k(vecs[3], 1)[0][0] != "r3"


def test_large_backlog_loads_straight_into_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A backlog past the threshold is never held as a float32 matrix: the index is compact from the
    first chunk (its centre from that chunk), and every vector is found."""
    from mcp_server_checkpoints.storage.sqlite.checkpoints import open_database

    monkeypatch.setattr(V, "REFRESH_CHUNK", 64)
    db = open_database(tmp_path / "v.db")
    rng = np.random.default_rng(5)
    vecs = unit(rng, 1_000, dim=16, shared=1.0)
    with db.write() as c:
        c.executemany("INSERT INTO vectors (kind, ref, model, dim, vector) VALUES ('checkpoint', ?, 'm', 16, ?)",
                      [(f"r{i}", to_blob(v)) for i, v in enumerate(vecs)])
    idx = VectorIndex(kind="checkpoint", model="m", dim=16, capacity=16, compact_rows=500)
    with db.read() as c:
        assert idx.refresh(c) == 1_000
    assert idx.compact and len(idx) == 1_000
    assert idx._matrix.shape[0] == 0  # noqa: SLF001 (no float32 copy is kept)
    centre = idx._codes.centre  # noqa: SLF001
    assert np.allclose(centre, vecs[:64].mean(axis=0), atol=1e-6)
    assert all(idx.top_k(vecs[i], 1)[0][0] == f"r{i}" for i in range(0, 1_000, 97))
    db.close()


def test_sign_bit_distances_and_shortlist_match_a_plain_computation() -> None:
    """The word-major Hamming distance equals counting differing signs one by one, and the
    shortlist is every row within the distance where `size` rows are reached."""
    rng = np.random.default_rng(6)
    vecs = unit(rng, 3_000, dim=200, shared=0.4)  # 200 dims: the last word is partly padding
    idx = filled(vecs, compact_rows=0)
    codes = idx._codes  # noqa: SLF001
    assert codes is not None
    q = unit(rng, 1, dim=200, shared=0.4)[0]
    plain = ((vecs > codes.centre) != (q > codes.centre)).sum(axis=1)
    got = codes.distances(codes.signs(q[None, :])[0], len(vecs))
    assert got.tolist() == plain.tolist()
    short = codes.shortlist(q, len(vecs), 100)
    cut = np.sort(plain)[99]
    assert sorted(short.tolist()) == np.flatnonzero(plain <= cut).tolist()
