"""Semantic search state for one process: the embedder (loaded in the background), the vector
index, and the worker that embeds checkpoints nobody has embedded yet.

States (`SemanticState`): "off" (the extra is not installed, semantic search is switched off, or the
model failed to load), "warming" (the model is loading: searches run lexically, saves are stored
and queued), "ready" (searches are hybrid).

The worker embeds every checkpoint that has no vector for the current model, whoever wrote it:
saves of this process, checkpoints written by another server process on the same database (found
by their rowid, checked on every search), and, after a change of model, everything (the stale
vectors carry the old model's name). Then the knowledge-graph entities (the memory-server tools)
the same way; a session-snapshot entity shares its checkpoint's vector instead of having its own.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal

from mcp_server_checkpoints.errors import DatabaseBusyError
from mcp_server_checkpoints.search.embedder import Embedder
from mcp_server_checkpoints.search.passages import DEFAULT_PASSAGES, Passages
from mcp_server_checkpoints.storage.sqlite.db import Database

if TYPE_CHECKING:  # numpy comes with the `semantic` extra; lexical-only servers never import it
    from mcp_server_checkpoints.search.vectors import Matrix, VectorIndex

log = logging.getLogger(__name__)

State = Literal["ready", "warming", "off"]
KIND = "checkpoint"
PASSAGE_KIND = "passage"  # ref: "<checkpoint id>#<n>", the n-th passage of a long checkpoint (search.passages)
ENTITY_KIND = "entity"
# search_nodes' ranked fallback offers an entity from this cosine up: with all-MiniLM-L6-v2,
# unrelated text scored <= 0.15 and paraphrases 0.29-0.42 (bench/retrieval.py's corpus).
ENTITY_FLOOR = 0.25
# all-MiniLM-L6-v2 reads 256 word pieces; more characters than this only cost tokenising time.
TEXT_CHARS = 2_000
BATCH = 8  # small: a query waiting for the embedder waits for at most one batch
# The background worker embeds this many at a time and steps aside whenever a query waits for the
# model (queries and the worker share one embedder, whose calls are serialised). Measured: with
# batches of 8, searches at 10k checkpoints took ~670 ms p50 while a database was first embedded;
# with batches of 2, 175 ms; one at a time, 94 ms.
BACKGROUND_BATCH = 1
WORKER_BUSY_MS = 2_000

EMBED_COLUMNS = ("c.rowid AS rowid, c.id, c.title, c.goal, c.current_work, c.next_step, c.remaining, c.tags, c.summary,"
                 " c.decisions, (SELECT t.body FROM checkpoint_transcripts t WHERE t.checkpoint_id = c.id) AS transcript")


def _items(value: object) -> str:
    try:
        items = json.loads(value or "[]") if isinstance(value, str | type(None)) else value
    except (TypeError, ValueError):
        items = []
    if not isinstance(items, list):
        return str(items)
    return "; ".join(" — ".join(str(v) for v in (i.get("decision"), i.get("reasoning")) if v) if isinstance(i, dict)
                     else str(i) for i in items if i)


def full_text(row: sqlite3.Row | dict[str, Any]) -> str:
    """A checkpoint's searchable text, what the work is first: its vector reads the start, its passages all of it."""
    keys = row.keys()
    parts = [row["title"], row["goal"], row["current_work"], row["next_step"], _items(row["remaining"]),
             _items(row["tags"]), row["summary"], _items(row["decisions"]) if "decisions" in keys else None]
    return "\n".join(p.strip() for p in parts if p and p.strip())


def checkpoint_passages(passages: Passages, row: sqlite3.Row | dict[str, Any]) -> list[str]:
    """A long checkpoint's passages: windows over its whole searchable text (headline first), then over
    its stored transcript's conversation (search.transcript_text), as far as the passage limit goes."""
    whole = full_text(row)
    transcript = row["transcript"] if "transcript" in row.keys() and row["transcript"] else ""
    parts = [whole, transcript] if transcript else [whole]
    return passages.of(whole + "\n" + transcript if transcript else whole, parts)


def embedding_text(row: sqlite3.Row | dict[str, Any]) -> str:
    """What is embedded as the checkpoint's own vector (the model reads ~200 words)."""
    return full_text(row)[:TEXT_CHARS]


def passage_ref(checkpoint_id: str, n: int) -> str:
    return f"{checkpoint_id}#{n}"


def passage_owner(ref: str) -> tuple[str, int]:
    cid, _, n = ref.rpartition("#")
    return cid, int(n)


def entity_text(name: str, entity_type: str, observations: list[str]) -> str:
    """What is embedded for a knowledge-graph entity: its name and type, then its observations."""
    return "\n".join([f"{name} ({entity_type})", *observations])[:TEXT_CHARS]


def as_matrix(embedder: Embedder, texts: list[str]) -> Matrix:
    import numpy as np

    fast = getattr(embedder, "embed_array", None)
    out = fast(texts) if fast is not None else embedder.embed(texts)
    return np.asarray(out, dtype=np.float32).reshape(len(texts), embedder.dim)


class SemanticIndex:
    """Embeds checkpoints in a background thread and answers cosine top-k for a query."""

    def __init__(self, db: Database, loader: Callable[[], Embedder] | None,
                 passages: Passages = DEFAULT_PASSAGES) -> None:
        self.db = db
        self._loader = loader
        self.passages = passages
        self._embedder: Embedder | None = None
        self._index: VectorIndex | None = None
        self._passage_index: VectorIndex | None = None
        self._entities: VectorIndex | None = None
        self._failed = loader is None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._delay = 0.0
        self._seen_rowid = 0  # checkpoints up to this rowid are known to this process
        self.embedded = 0  # checkpoints and entities this process embedded (for tests and stats)
        self._queries = 0  # searches waiting for (or using) the model right now
        self._queries_lock = threading.Lock()

    # -- life cycle --------------------------------------------------------------------
    @classmethod
    def ready_with(cls, db: Database, embedder: Embedder, passages: Passages = DEFAULT_PASSAGES) -> SemanticIndex:
        """An index whose model is already loaded (the CLI, tests, benchmarks); no thread is started."""
        idx = cls(db, lambda: embedder, passages)
        idx._become_ready(embedder)
        return idx

    def start(self, delay: float = 0.0) -> None:
        """Load the model and embed the backlog on a daemon thread; returns at once.

        `delay`: seconds to wait before importing torch, so that the import (CPU-bound, GIL-heavy)
        does not compete with the MCP handshake the server is answering at that moment.
        """
        if self._thread is not None or self._failed or self._ready.is_set():
            return
        self._delay = delay
        self._thread = threading.Thread(target=self._run, name="checkpoints-embedder", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Ask the worker to finish its batch. A model still loading is not waited for: the thread
        is a daemon, and a client closing the server must not wait seconds for an import."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread() and self._ready.is_set():
            self._thread.join(timeout)

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    @property
    def state(self) -> State:
        if self._failed:
            return "off"
        return "ready" if self._ready.is_set() else "warming"

    @property
    def model_name(self) -> str | None:
        return self._embedder.model_name if self._embedder is not None else None

    def _become_ready(self, embedder: Embedder) -> None:
        from mcp_server_checkpoints.search.vectors import VectorIndex

        self._embedder = embedder
        index = VectorIndex(kind=KIND, model=embedder.model_name, dim=embedder.dim)
        entities = VectorIndex(kind=ENTITY_KIND, model=embedder.model_name, dim=embedder.dim)
        passages = VectorIndex(kind=PASSAGE_KIND, model=embedder.model_name, dim=embedder.dim)
        with self.db.read() as c:
            index.refresh(c)
            entities.refresh(c)
            passages.refresh(c)
            stale = c.execute("SELECT COUNT(*) FROM vectors WHERE kind = ? AND model != ?",
                              (KIND, embedder.model_name)).fetchone()[0]
        if stale:
            log.warning("%d checkpoint vectors were made by another embedding model; re-embedding them", stale)
        self._index, self._entities, self._passage_index = index, entities, passages
        self._ready.set()

    def _run(self) -> None:
        if self._delay and self._stop.wait(self._delay):
            return
        try:
            assert self._loader is not None
            embedder = self._loader()
            if self._stop.is_set():
                return
            self._become_ready(embedder)
        except Exception:  # a missing or broken model must not take the server down: lexical search goes on
            log.exception("the embedding model could not be loaded; search stays lexical")
            self._failed = True
            return
        # Background writes give way: this thread waits at most WORKER_BUSY_MS for the write lock (tool
        # calls wait 15 s), so with many servers on one file the embedders do not crowd out the saves.
        with self.db.errors():
            self.db.conn().execute(f"PRAGMA busy_timeout={WORKER_BUSY_MS}")
        while not self._stop.is_set():
            try:
                while not self._stop.is_set() and self.embed_pending(limit=BACKGROUND_BATCH):
                    while self._queries and not self._stop.is_set():
                        time.sleep(0.002)  # a search is waiting for the model: let it go first
            except DatabaseBusyError:  # others are writing: nothing is lost, try again shortly
                log.info("database busy; embedding resumes in a moment")
                self._stop.wait(1.0)
                self._wake.set()
            except Exception:
                if self._stop.is_set():
                    return  # closing: the database may already be closed under us
                log.exception("embedding checkpoints or entities failed; will retry")
            self._wake.wait(timeout=30.0)
            self._wake.clear()

    def notify(self) -> None:
        """Something was saved (a checkpoint, a graph entity): embed it soon."""
        self._wake.set()

    # -- embedding ---------------------------------------------------------------------
    def _pending(self, c: sqlite3.Connection, model: str, limit: int) -> list[sqlite3.Row]:
        # Every vector of this kind belongs to a checkpoint (a trigger drops it with its checkpoint), so
        # equal counts mean none is missing: ~3 ms at 100k checkpoints, where the search below, finding
        # nothing, reads them all (185 ms) — and the worker asks after every save.
        have = c.execute("SELECT COUNT(*) FROM vectors WHERE kind = ? AND model = ?", (KIND, model)).fetchone()[0]
        if have >= c.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0]:
            return []
        return c.execute(
            f"SELECT {EMBED_COLUMNS} FROM checkpoints c"
            " LEFT JOIN vectors v ON v.kind = ? AND v.ref = c.id AND v.model = ?"
            " WHERE v.seq IS NULL ORDER BY c.rowid DESC LIMIT ?",  # newest first: most likely searched for
            (KIND, model, limit),
        ).fetchall()

    def embed_pending(self, limit: int = BATCH, *, entities_too: bool = True) -> int:
        """Embed up to `limit` checkpoints that lack a vector for the current model, or when none do (and
        `entities_too`), as many graph entities; returns how many."""
        embedder, index, entities = self._embedder, self._index, self._entities
        if embedder is None or index is None or entities is None:
            return 0
        pending: list[tuple[str, str]] = []
        with self.db.read() as c:
            rows = self._pending(c, embedder.model_name, limit)
            if not rows and entities_too:
                pending = self._pending_entities(c, embedder.model_name, limit)
        if rows:
            self._store(embedder, index, rows)
            return len(rows)
        if pending:
            self._store_entities(embedder, entities, pending)
        return len(pending)

    @staticmethod
    def _pending_entities(c: sqlite3.Connection, model: str, limit: int) -> list[tuple[str, str]]:
        """(name, text) of entities without a vector for `model`; session snapshots use their checkpoint's."""
        rows = c.execute(
            "SELECT e.id, e.name, e.entity_type FROM graph_entities e"
            " LEFT JOIN vectors v ON v.kind = ? AND v.ref = e.name AND v.model = ?"
            " WHERE e.checkpoint_id IS NULL AND v.seq IS NULL ORDER BY e.id DESC LIMIT ?",
            (ENTITY_KIND, model, limit),
        ).fetchall()
        return _entity_texts(c, rows)

    def _store_entities(self, embedder: Embedder, entities: VectorIndex, pending: list[tuple[str, str]]) -> None:
        from mcp_server_checkpoints.search.vectors import to_blob

        vectors = as_matrix(embedder, [text for _, text in pending])
        with self.db.write() as c:
            # Only entities unchanged meanwhile: a change rewrote the text we embedded (and is pending again).
            current = dict(_entity_texts(c, c.execute(
                "SELECT id, name, entity_type FROM graph_entities WHERE name IN (SELECT value FROM json_each(?))",
                (json.dumps([name for name, _ in pending]),)).fetchall()))
            c.executemany(
                "INSERT OR REPLACE INTO vectors (kind, ref, model, dim, vector) VALUES (?, ?, ?, ?, ?)",
                [(ENTITY_KIND, name, embedder.model_name, embedder.dim, to_blob(v))
                 for (name, text), v in zip(pending, vectors, strict=True) if current.get(name) == text],
            )
            entities.refresh(c)
        self.embedded += len(pending)

    def _store(self, embedder: Embedder, index: VectorIndex, rows: list[sqlite3.Row]) -> None:
        """Embed each checkpoint's own text and, for a long one, its passages; store them in one transaction."""
        from mcp_server_checkpoints.search.vectors import to_blob

        texts: list[str] = []
        owners: list[tuple[str, str]] = []  # (kind, ref) of each text
        for r in rows:
            texts.append(embedding_text(r))
            owners.append((KIND, r["id"]))
            for n, passage in enumerate(checkpoint_passages(self.passages, r)):
                texts.append(passage)
                owners.append((PASSAGE_KIND, passage_ref(r["id"], n)))
        vectors = self._embed_giving_way(embedder, texts)
        with self.db.write() as c:
            # Only checkpoints still there (one may have been replaced meanwhile: the trigger dropped its vector).
            present = {r[0] for r in c.execute(
                f"SELECT id FROM checkpoints WHERE id IN ({', '.join('?' for _ in rows)})", [r["id"] for r in rows])}
            for r in rows:  # a re-embedded checkpoint's passages are all new
                c.execute("DELETE FROM vectors WHERE kind = ? AND ref >= ? AND ref < ?",
                          (PASSAGE_KIND, r["id"] + "#", r["id"] + "$"))
            c.executemany(
                "INSERT OR REPLACE INTO vectors (kind, ref, model, dim, vector) VALUES (?, ?, ?, ?, ?)",
                [(kind, ref, embedder.model_name, embedder.dim, to_blob(v))
                 for (kind, ref), v in zip(owners, vectors, strict=True)
                 if (ref if kind == KIND else passage_owner(ref)[0]) in present],
            )
            index.refresh(c)
            if self._passage_index is not None:
                self._passage_index.refresh(c)
        self.embedded += len(rows)

    def _embed_giving_way(self, embedder: Embedder, texts: list[str]) -> Matrix:
        """`as_matrix` in batches of BATCH, letting a waiting search use the model between batches
        (a long checkpoint is dozens of passages: one call would hold the model for a second)."""
        import numpy as np

        parts = []
        for i in range(0, len(texts), BATCH):
            while i and self._queries and not self._stop.is_set():
                time.sleep(0.002)
            parts.append(as_matrix(embedder, texts[i:i + BATCH]))
        return np.concatenate(parts) if parts else np.zeros((0, embedder.dim), dtype=np.float32)

    def reindex(self, *, batch: int = 32, progress: Callable[[int], None] | None = None) -> int:
        """Re-embed every checkpoint with the current model (oldest first); returns how many."""
        embedder, index = self._embedder, self._index
        if embedder is None or index is None:
            raise RuntimeError("the embedding model is not loaded")
        done = 0
        for rows in self._all_rows(batch):
            self._store(embedder, index, rows)
            done += len(rows)
            if progress is not None:
                progress(len(rows))
        with self.db.write() as c:  # entities: drop this model's vectors, then embed them all again
            c.execute("DELETE FROM vectors WHERE kind = ? AND model = ?", (ENTITY_KIND, embedder.model_name))
        while n := self.embed_pending(limit=batch):
            done += n
            if progress is not None:
                progress(n)
        return done

    def entity_count(self) -> int:
        """Entities `reindex` embeds (session snapshots share their checkpoint's vector)."""
        with self.db.read() as c:
            return int(c.execute("SELECT COUNT(*) FROM graph_entities WHERE checkpoint_id IS NULL").fetchone()[0])

    def _all_rows(self, batch: int) -> Iterator[list[sqlite3.Row]]:
        last = 0
        while True:
            with self.db.read() as c:
                rows = c.execute(f"SELECT {EMBED_COLUMNS} FROM checkpoints c WHERE c.rowid > ? ORDER BY c.rowid LIMIT ?",
                                 (last, batch)).fetchall()
            if not rows:
                return
            last = rows[-1]["rowid"]
            yield rows

    # -- searching ---------------------------------------------------------------------
    def sync(self, c: sqlite3.Connection) -> None:
        """Cheap per-search catch-up: vectors other processes wrote, and their unembedded checkpoints."""
        index, entities = self._index, self._entities
        if index is None or entities is None:
            return
        index.refresh(c)
        entities.refresh(c)
        if self._passage_index is not None:
            self._passage_index.refresh(c)
        newest = c.execute("SELECT MAX(rowid) FROM checkpoints").fetchone()[0] or 0
        if newest > self._seen_rowid:
            self._seen_rowid = newest
            self._wake.set()  # new checkpoints (maybe another process's): the worker embeds what lacks a vector

    def query_vector(self, text: str) -> Matrix | None:
        """The query's embedding, or None when the model is not ready."""
        embedder = self._embedder if self._ready.is_set() else None
        if embedder is None:
            return None
        with self._queries_lock:
            self._queries += 1
        try:
            vector: Matrix = as_matrix(embedder, [text])[0]
        finally:
            with self._queries_lock:
                self._queries -= 1
        return vector

    def rank_entities(self, c: sqlite3.Connection, query: str, k: int) -> list[tuple[str, float]]:
        """The graph entities nearest to `query` (cosine >= ENTITY_FLOOR, best first), read through `c`
        (the caller's transaction): search_nodes' semantic ranker. A session snapshot is ranked by its
        checkpoint's vector."""
        index, entities = self._index, self._entities
        qvec = self.query_vector(query) if query.strip() else None
        if qvec is None or index is None or entities is None:
            return []
        self.sync(c)
        own = entities.top_k(qvec, k)
        checkpoints = dict(index.top_k(qvec, k))
        snapshots = c.execute(
            "SELECT name, checkpoint_id FROM graph_entities WHERE checkpoint_id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(checkpoints)),)).fetchall() if checkpoints else []
        best: dict[str, float] = {}
        for name, score in [*own, *((r[0], checkpoints[r[1]]) for r in snapshots)]:
            if score >= ENTITY_FLOOR and score > best.get(name, -1.0):
                best[name] = score
        return sorted(best.items(), key=lambda x: -x[1])[:k]

    @property
    def index(self) -> VectorIndex | None:
        return self._index

    @property
    def passage_index(self) -> VectorIndex | None:
        return self._passage_index


def _entity_texts(c: sqlite3.Connection, rows: list[sqlite3.Row] | list[tuple[Any, ...]]) -> list[tuple[str, str]]:
    """(name, embedding text) for entity rows (id, name, entity_type), observations in the graph's order."""
    if not rows:
        return []
    obs: dict[int, list[str]] = {int(r[0]): [] for r in rows}
    for eid, content in c.execute(
            "SELECT entity_id, content FROM graph_observations WHERE entity_id IN (SELECT value FROM json_each(?))"
            " ORDER BY entity_id, derived DESC, id", (json.dumps(list(obs)),)):
        obs[int(eid)].append(content)
    return [(r[1], entity_text(r[1], r[2], obs[int(r[0])])) for r in rows]
