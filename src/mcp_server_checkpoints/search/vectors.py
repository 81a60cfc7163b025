"""The in-memory vector index: one row per vector, cosine top-k with numpy.

Vectors live in the `vectors` table (migration 2); every process keeps its own copy in memory,
refreshed incrementally by `seq` (which grows with every write, whichever process made it).
Vectors are L2-normalised, so cosine similarity is a dot product.

Up to COMPACT_ROWS vectors the copy is a float32 matrix and top-k is an exact scan. Past that
(100k checkpoints with their passages are ~500k vectors: 730 MiB of float32, and a scan that reads
all of it on every search) the index holds each vector as int8 codes with one scale (`_Codes`, a
quarter of the memory) plus 384 sign bits of the vector minus the index's mean; a search ranks
every row by the Hamming distance of those bits to the query's (a sixteenth of the bytes to read),
then scores the best OVERSAMPLE × k rows with the int8 codes (cosine within ~0.002 of float32) and
returns their top k. See bench/vectors.py for the recall and speed of that against the exact scan.
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
COMPACT_ROWS = 50_000  # past this many vectors, the index holds them as codes (see the module docstring)
OVERSAMPLE = 20  # a compact index scores this many rows per result with its int8 codes...
MIN_SHORTLIST = 1_000  # ...and never fewer than this many


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


class _Codes:
    """Vectors held compactly: int8 codes with a scale per row, and the signs of (vector - centre).

    Row i is codes[i] * scale[i] (to ~0.002 of each cosine); bits[:, i] packs the 384 signs of
    vector_i - centre into six 64-bit words, `centre` being the mean of the vectors the index held
    when it became compact (a sentence encoder's vectors share a large common direction; without
    it most sign bits are the same in every row and tell rows apart badly). The words are stored
    word-major (six arrays of one word per row): the Hamming distance is then six passes of xor
    and popcount over contiguous arrays, 3.6 ms for 500k rows against 17 ms row by row (measured).
    """

    def __init__(self, dim: int, capacity: int, centre: Matrix) -> None:
        self.dim = dim
        self.words = -(-dim // 64)
        self.centre = np.asarray(centre, dtype=np.float32)
        self.codes = np.zeros((capacity, dim), dtype=np.int8)
        self.scale = np.zeros(capacity, dtype=np.float32)
        self.bits = np.zeros((self.words, capacity), dtype=np.uint64)

    @property
    def capacity(self) -> int:
        return int(self.codes.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.codes.nbytes + self.scale.nbytes + self.bits.nbytes)

    def signs(self, vectors: Matrix) -> npt.NDArray[np.uint64]:
        """The packed signs of each row of `vectors` (2-D) minus the centre."""
        packed = np.packbits(vectors > self.centre, axis=1)
        width = self.words * 8
        if packed.shape[1] < width:
            packed = np.pad(packed, ((0, 0), (0, width - packed.shape[1])))
        return np.ascontiguousarray(packed).view(np.uint64)

    def put(self, rows: npt.NDArray[np.intp] | slice, vectors: Matrix) -> None:
        """Rows `rows` (indexes or a slice) set from float32 `vectors` (2-D, one per row)."""
        top = np.abs(vectors).max(axis=1)
        scale = np.where(top > 0, top / 127.0, 1.0).astype(np.float32)
        self.codes[rows] = np.rint(vectors / scale[:, None]).astype(np.int8)
        self.scale[rows] = scale
        self.bits[:, rows] = self.signs(vectors).T

    def reserve(self, rows: int, used: int) -> None:
        if rows > self.capacity:
            for name in ("codes", "scale"):
                old = getattr(self, name)
                new = np.zeros((rows, *old.shape[1:]), dtype=old.dtype)
                new[:used] = old[:used]
                setattr(self, name, new)
            bits = np.zeros((self.words, rows), dtype=np.uint64)
            bits[:, :used] = self.bits[:, :used]
            self.bits = bits

    def scores(self, rows: npt.NDArray[np.intp] | slice, query: Matrix) -> Matrix:
        """Cosine of `query` with each of `rows`, from their int8 codes."""
        sub = self.codes[rows].astype(np.float32)
        out: Matrix = _dot_rows(sub, query) * self.scale[rows]
        return out

    def distances(self, query_bits: npt.NDArray[np.uint64], n: int) -> npt.NDArray[np.uint16]:
        """Hamming distance of the first n rows' sign bits to the query's."""
        out = np.zeros(n, dtype=np.uint16)
        word = np.empty(n, dtype=np.uint64)
        count = np.empty(n, dtype=np.uint8)
        for w in range(self.words):
            np.bitwise_xor(self.bits[w, :n], query_bits[w], out=word)
            np.bitwise_count(word, out=count)
            np.add(out, count, out=out)
        return out

    def shortlist(self, query: Matrix, n: int, size: int) -> npt.NDArray[np.intp]:
        """About `size` of the first n rows (at least that many) nearest the query by sign bits.

        Every row at the distance where the count reaches `size` is kept (a threshold from a
        histogram of the distances: cheaper than a partial sort of n of them).
        """
        dist = self.distances(self.signs(query[None, :])[0], n)
        cumulative = np.cumsum(np.bincount(dist, minlength=self.words * 64 + 1))
        threshold = int(np.searchsorted(cumulative, size))
        return np.flatnonzero(dist <= threshold)


class VectorIndex:
    """Vectors of one kind and one model, by ref; `top_k` is brute-force cosine (see the module docstring)."""

    def __init__(self, *, kind: str, model: str, dim: int, capacity: int = 1024,
                 compact_rows: int = COMPACT_ROWS) -> None:
        self.kind = kind
        self.model = model
        self.dim = dim
        self.compact_rows = compact_rows
        self._matrix: Matrix = np.zeros((min(capacity, compact_rows), dim), dtype=np.float32)
        self._codes: _Codes | None = None
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
        """Memory held by the vectors (spare capacity included)."""
        return int(self._matrix.nbytes) + (self._codes.nbytes if self._codes is not None else 0)

    @property
    def splits(self) -> bool:
        """Whether top_k given a pool scans on two threads (a float32 matrix of SPLIT_ROWS or more)."""
        return self._codes is None and len(self._refs) >= SPLIT_ROWS

    @property
    def compact(self) -> bool:
        """Whether the vectors are held as codes (more than `compact_rows` of them)."""
        return self._codes is not None

    def put(self, ref: str, vector: npt.NDArray[np.floating]) -> None:
        with self._lock:
            self._put(ref, np.asarray(vector, dtype=np.float32))

    def _put(self, ref: str, vector: Matrix) -> None:
        self._put_many([ref], vector[None, :])

    def _put_many(self, refs: Sequence[str], vectors: Matrix) -> None:
        """Set the rows of `refs` (new refs are appended) to `vectors` (2-D float32)."""
        rows = np.empty(len(refs), dtype=np.intp)
        for i, ref in enumerate(refs):
            row = self._row.get(ref)
            if row is None:
                row = len(self._refs)
                if row >= self._capacity():  # grow by doubling: amortised O(1) appends
                    self._reserve(row + 1, max(1024, self._capacity()), sample=vectors)
                self._refs.append(ref)
                self._row[ref] = row
            rows[i] = row
        if self._codes is not None:
            self._codes.put(rows, vectors)
        else:
            self._matrix[rows] = vectors

    def _capacity(self) -> int:
        return self._codes.capacity if self._codes is not None else int(self._matrix.shape[0])

    def _reserve(self, need: int, spare: int = 0, sample: Matrix | None = None) -> None:
        """Room for `need` vectors and `spare` more (copied once into the larger arrays).

        Needing more than `compact_rows` makes the index compact first (so a large backlog is never
        held as float32 at all); its centre is the mean of the vectors held so far, else of `sample`
        (the first vectors about to be added). A float32 matrix's spare room stops at `compact_rows`.
        """
        n = len(self._refs)
        rows = need + spare
        if self._codes is None and need <= self.compact_rows:
            rows = min(rows, self.compact_rows)
        if self._codes is None and need > self.compact_rows:
            held = self._matrix[:n]
            basis = held if n else (sample if sample is not None and len(sample) else np.zeros((1, self.dim), np.float32))
            self._codes = _Codes(self.dim, max(rows, n), basis.mean(axis=0))
            if n:
                for start in range(0, n, REFRESH_CHUNK):
                    chunk = held[start:start + REFRESH_CHUNK]
                    self._codes.put(slice(start, start + len(chunk)), chunk)
            self._matrix = np.zeros((0, self.dim), dtype=np.float32)
            return
        if self._codes is not None:
            self._codes.reserve(rows, n)
        elif rows > self._matrix.shape[0]:
            bigger = np.zeros((rows, self.dim), dtype=np.float32)
            bigger[:n] = self._matrix[:n]
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
            refs, vectors = self._decoded(rows)
            if len(rows) == REFRESH_CHUNK:  # a large backlog (a server starting): size the matrix for it
                pending = int(c.execute(f"SELECT COUNT(*) {where}", args).fetchone()[0])
                self._reserve(len(self._refs) + pending, pending // 8, sample=vectors)
            while rows:
                if refs:
                    self._put_many(refs, vectors)
                self.last_seq = max(self.last_seq, max(r[0] for r in rows))
                loaded += len(rows)
                rows = cur.fetchmany(REFRESH_CHUNK)
                refs, vectors = self._decoded(rows)
        return loaded

    def _decoded(self, rows: list[tuple[int, str, int, bytes]]) -> tuple[list[str], Matrix]:
        """The refs and vectors of `rows` (seq, ref, dim, blob) that have this index's length."""
        good = [(ref, blob) for _, ref, dim, blob in rows if dim == self.dim]
        if not good:
            return [], np.zeros((0, self.dim), dtype=np.float32)
        return [ref for ref, _ in good], np.stack([from_blob(blob, self.dim) for _, blob in good])

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
            if self._codes is not None:  # one thread: the scan reads a sixteenth of the bytes
                rows, found = self._compact_top_k(self._codes, q, n, k)
                refs = self._refs
                return [(refs[i], float(s)) for i, s in zip(rows, found, strict=True)]
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

    @staticmethod
    def _compact_top_k(codes: _Codes, q: Matrix, n: int, k: int) -> tuple[npt.NDArray[np.intp], Matrix]:
        """Rows and cosines of the k best of n: a shortlist by sign bits, scored with the int8 codes."""
        short = max(k * OVERSAMPLE, MIN_SHORTLIST)
        rows: npt.NDArray[np.intp] = np.arange(n) if short >= n else codes.shortlist(q, n, short)
        scores = codes.scores(rows, q)
        if k < len(rows):
            part = np.argpartition(scores, len(rows) - k)[len(rows) - k:]
        else:
            part = np.arange(len(rows))
        order = part[np.argsort(-scores[part], kind="stable")]
        return rows[order], scores[order]

    def scores_for(self, query: npt.NDArray[np.floating], refs: Sequence[str]) -> dict[str, float]:
        """Cosine of `query` with each of `refs` that has a vector."""
        q = np.asarray(query, dtype=np.float32)
        with self._lock:
            rows = [(r, self._row[r]) for r in refs if r in self._row]
            if not rows:
                return {}
            at = np.array([i for _, i in rows], dtype=np.intp)
            scores = self._codes.scores(at, q) if self._codes is not None else _dot_rows(self._matrix[at], q)
        return {r: float(s) for (r, _), s in zip(rows, scores, strict=True)}
