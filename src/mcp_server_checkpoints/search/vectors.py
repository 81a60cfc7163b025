"""The in-memory vector index: one float32 row per checkpoint, exact cosine top-k with numpy.

Vectors live in the `vectors` table (migration 2); every process keeps its own copy as a numpy
matrix, refreshed incrementally by `seq` (which grows with every write, whichever process made
it). Vectors are L2-normalised, so cosine similarity is a dot product.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from concurrent.futures import Executor

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]


def to_blob(vector: npt.NDArray[np.floating]) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_blob(blob: bytes, dim: int) -> Matrix:
    v = np.frombuffer(blob, dtype="<f4")
    if v.shape != (dim,):
        raise ValueError("stored vector has the wrong length")
    return v.astype(np.float32, copy=False)


REFRESH_CHUNK = 4_096  # vectors read from SQLite at a time when the index is refreshed
SPLIT_ROWS = 20_000  # top_k scans at least this many rows on two threads when it is given a pool


def _dot_rows(matrix: Matrix, vector: Matrix, out: Matrix | None = None) -> Matrix:
    """matrix @ vector (float32), on the calling thread only.

    Not `@`: for a (100k, 384) matrix times a vector, OpenBLAS's sgemv splits the work over every
    core, and its worker threads then spin for a while after each call. On 2 cores the query
    embedding of the next search (torch, on the other thread) ran 2-10x slower because of it
    (p50 11 -> 26 ms, p95 13 -> 112+ ms, measured); numpy's own einsum loop is single-threaded and,
    memory-bound either way, as fast as the two-thread sgemv (7 ms at 100k, against 13 ms for a
    one-thread sgemv).
    """
    scores: Matrix = np.einsum("ij,j->i", matrix, vector, out=out)
    return scores


class VectorIndex:
    """Vectors of one kind and one model, by ref; `top_k` is brute-force exact cosine."""

    def __init__(self, *, kind: str, model: str, dim: int, capacity: int = 1024) -> None:
        self.kind = kind
        self.model = model
        self.dim = dim
        self._matrix: Matrix = np.zeros((capacity, dim), dtype=np.float32)
        self._refs: list[str] = []
        self._row: dict[str, int] = {}
        self.last_seq = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._refs)

    def __contains__(self, ref: object) -> bool:
        return ref in self._row

    @property
    def nbytes(self) -> int:
        """Memory held by the matrix (its spare capacity included)."""
        return int(self._matrix.nbytes)

    def put(self, ref: str, vector: npt.NDArray[np.floating]) -> None:
        with self._lock:
            self._put(ref, np.asarray(vector, dtype=np.float32))

    def _put(self, ref: str, vector: Matrix) -> None:
        row = self._row.get(ref)
        if row is None:
            row = len(self._refs)
            if row >= self._matrix.shape[0]:  # grow by doubling: amortised O(1) appends
                self._reserve(max(1024, self._matrix.shape[0] * 2))
            self._refs.append(ref)
            self._row[ref] = row
        self._matrix[row] = vector

    def _reserve(self, rows: int) -> None:
        """Room for `rows` vectors (the matrix is copied once into the larger one)."""
        if rows > self._matrix.shape[0]:
            bigger = np.zeros((rows, self.dim), dtype=np.float32)
            bigger[:len(self._refs)] = self._matrix[:len(self._refs)]
            self._matrix = bigger

    def refresh(self, c: sqlite3.Connection) -> int:
        """Load vectors written since the last refresh (by any process); returns how many.

        Read in chunks into a matrix sized once from a count (plus an eighth for later saves): loading
        100k vectors held every blob and the doubling matrix's old and new copies at the same time.
        """
        where = "FROM vectors WHERE model = ? AND kind = ? AND seq > ?"
        args = (self.model, self.kind, self.last_seq)
        loaded = 0
        with self._lock:  # a search sees the index before or after a refresh, never half of one
            cur = c.execute(f"SELECT seq, ref, dim, vector {where} ORDER BY seq", args)
            rows = cur.fetchmany(REFRESH_CHUNK)
            if not rows:
                return 0
            if len(rows) == REFRESH_CHUNK:  # a large backlog (a server starting): size the matrix for it
                pending = int(c.execute(f"SELECT COUNT(*) {where}", args).fetchone()[0])
                self._reserve(len(self._refs) + pending + pending // 8)
            while rows:
                for seq, ref, dim, blob in rows:
                    if dim == self.dim:
                        self._put(ref, from_blob(blob, dim))
                    self.last_seq = max(self.last_seq, seq)
                loaded += len(rows)
                rows = cur.fetchmany(REFRESH_CHUNK)
        return loaded

    def top_k(self, query: npt.NDArray[np.floating], k: int, *, pool: Executor | None = None) -> list[tuple[str, float]]:
        """The k refs most similar to `query` (cosine, best first); all of them when k >= len.

        `pool`: a large matrix is scanned in two halves, one on the pool and one here (memory-bound:
        7.7 -> 5.9 ms at 100k rows on 2 idle cores, measured). The lock is held while the pool's
        half runs; that task takes no lock, so it cannot wait for this one.
        """
        q = np.asarray(query, dtype=np.float32)
        with self._lock:
            n = len(self._refs)
            if n == 0 or k <= 0:
                return []
            if pool is None or n < SPLIT_ROWS:
                scores = _dot_rows(self._matrix[:n], q)
            else:
                half = n // 2
                scores = np.empty(n, dtype=np.float32)
                first = pool.submit(_dot_rows, self._matrix[:half], q, scores[:half])
                _dot_rows(self._matrix[half:n], q, scores[half:])
                first.result()
            refs = self._refs
        if k < n:
            part = np.argpartition(scores, n - k)[n - k:]
            order = part[np.argsort(-scores[part], kind="stable")]
        else:
            order = np.argsort(-scores, kind="stable")
        return [(refs[i], float(scores[i])) for i in order]

    def scores_for(self, query: npt.NDArray[np.floating], refs: Sequence[str]) -> dict[str, float]:
        """Cosine of `query` with each of `refs` that has a vector."""
        with self._lock:
            rows = [(r, self._row[r]) for r in refs if r in self._row]
            if not rows:
                return {}
            sub = self._matrix[[i for _, i in rows]]
        scores = sub @ np.asarray(query, dtype=np.float32)
        return {r: float(s) for (r, _), s in zip(rows, scores, strict=True)}
