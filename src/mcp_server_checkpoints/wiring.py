"""The one composition root: `Settings` → the services (store, graph, search, redactor), closed in one place.

The server, the Claude Code hooks and the CLI all start here, so a setting means the same thing on
every path and a new service (a second backend, encryption at rest, metrics) is added once.

What each caller needs differs only in how the embedding model is had (`semantic`):
- "background" (the server): the model loads on a daemon thread once the handshake is answered;
  until then searches are lexical and say "warming".
- "now" (the CLI's `reindex`, `search --semantic`): loaded before returning; an error says why not.
- "off" (hooks, the CLI's other commands): no model, lexical search only.

Nothing here imports mcp, and with "off" nothing imports pydantic until the graph is asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.errors import InvalidInputError
from mcp_server_checkpoints.search.transcript_text import TranscriptIndexing
from mcp_server_checkpoints.storage.keys import read_key
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database
from mcp_server_checkpoints.storage.sqlite.db import Database

if TYPE_CHECKING:
    from mcp_server_checkpoints.storage.redact import Redactor
    from mcp_server_checkpoints.storage.sqlite.graph import GraphStore
    from mcp_server_checkpoints.storage.sqlite.semantic import SemanticIndex

SemanticMode = Literal["background", "now", "off"]

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What one process works with, over one database. Close it (or use `services()`) when done."""

    settings: Settings
    db: Database
    store: SQLiteCheckpointStore
    semantic: SemanticIndex | None = None
    _graph: GraphStore | None = field(default=None, repr=False)

    @property
    def redactor(self) -> Redactor:
        """The store's (built on first use: a hook that only reads never compiles the redaction rules)."""
        return self.store.redactor

    @property
    def graph(self) -> GraphStore:
        """The knowledge graph (the memory-server tools) over the same database, built on first use."""
        if self._graph is None:
            from mcp_server_checkpoints.storage.sqlite.graph import GraphStore  # imports pydantic

            sem = self.semantic  # search_nodes' ranked fallback is hybrid too, and edits are re-embedded
            self._graph = GraphStore(self.db, redactor=self.redactor,
                                     semantic=sem.rank_entities if sem is not None else None,
                                     on_change=sem.notify if sem is not None else None)
        return self._graph

    def start(self, delay: float = 0.0) -> None:
        """Start loading the embedding model in the background ("background" mode); returns at once."""
        if self.semantic is not None:
            self.semantic.start(delay=delay)

    def close(self) -> None:
        try:
            if self.semantic is not None:
                self.semantic.stop()
        finally:
            self.db.close()


def open_services(settings: Settings, *, semantic: SemanticMode = "off", bulk: bool = False) -> Services:
    """The services for `settings`. `bulk` ("now" only): let the model use every core (`ckpt reindex`)."""
    key = read_key(settings.encryption_key_file) if settings.encryption_key_file is not None else None
    db = open_database(settings.db, key)
    try:
        index = _semantic_index(db, settings, semantic, bulk)
        store = SQLiteCheckpointStore(db, default_project=settings.project, max_payload_bytes=settings.max_payload_bytes,
                                      diff_chain_max=settings.diff_chain_max, redact_patterns=settings.redact_patterns,
                                      semantic=index, transcripts=TranscriptIndexing(enabled=settings.index_transcripts))
    except BaseException:
        db.close()
        raise
    return Services(settings=settings, db=db, store=store, semantic=index)


@contextmanager
def services(settings: Settings, *, semantic: SemanticMode = "off", bulk: bool = False) -> Iterator[Services]:
    """`open_services`, closed on the way out whatever happened."""
    s = open_services(settings, semantic=semantic, bulk=bulk)
    try:
        yield s
    finally:
        s.close()


def _semantic_index(db: Database, settings: Settings, mode: SemanticMode, bulk: bool) -> SemanticIndex | None:
    if mode == "off":
        return None
    from mcp_server_checkpoints.search.backends import choose_backend
    from mcp_server_checkpoints.storage.sqlite.semantic import SemanticIndex

    if mode == "background":  # None means "off": switched off, or no backend can run the model
        if not settings.semantic:
            return None
        choice = choose_backend(settings.embedding_backend, settings.embedding_model)
        if choice.backend is None:
            log.warning("semantic search is off: %s", choice.problem)
            return None
        return SemanticIndex(db, choice.loader(settings.embedding_model, threads=settings.embedding_threads))
    if not settings.semantic:
        raise InvalidInputError("semantic search is switched off (semantic = false); switch it on or use --lexical-only")
    choice = choose_backend(settings.embedding_backend, settings.embedding_model)
    if choice.backend is None:
        raise InvalidInputError(f"{choice.problem}; or use --lexical-only")
    threads = None if bulk else settings.embedding_threads
    return SemanticIndex.ready_with(db, choice.loader(settings.embedding_model, threads=threads)())
