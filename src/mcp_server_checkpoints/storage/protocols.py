"""The storage contracts: what every backend implements, and what the layers above may call.

`CheckpointStore` and `GraphStore` are what tools, recovery, the hooks and the CLI depend on; the
SQLite backend (`storage/sqlite/`) is the one implementation today, and the conformance suite in
`tests/storage/conformance/` runs the whole contract on every implementation it is given.

The contract, beyond the signatures:
- Every write is one transaction: it happens entirely or not at all, and raises a `CheckpointsError`
  (never a driver exception) when it cannot.
- Every text written passes the store's redaction gate before it reaches storage.
- Reads see committed state only, from any process or thread using the same store location; a store
  object may be used from several threads at once (a backend keeps a connection per thread, or a pool).
- Unknown ids raise `NotFoundError` whose message names the id only when it is one of ours.
- A payload is verified (sha256 of its plain bytes) on every read: `ContextIntegrityError` on a mismatch.

A backend for teams (Postgres) adds namespaces: every record will belong to one, and a store object
will be bound to the namespaces its caller may see. The methods below take no namespace argument on
purpose: a namespaced store is built per caller by the composition root (`wiring`), so nothing above
the storage layer can forget to pass one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from mcp_server_checkpoints.domain.records import (
    Checkpoint,
    Saved,
    SearchHit,
    SemanticState,
    StatusChange,
    StatusResult,
)
from mcp_server_checkpoints.domain.statuses import OPEN_STATUSES

if TYPE_CHECKING:  # pydantic models: the boundary types of save and of the graph operations
    from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields, SaveResult
    from mcp_server_checkpoints.schemas.graph import (
        AddedObservations,
        Entity,
        KnowledgeGraph,
        ObservationAddition,
        ObservationDeletion,
        Relation,
    )
    from mcp_server_checkpoints.storage.redact import Redactor


@dataclass
class SearchOutcome:
    hits: list[SearchHit]
    semantic: SemanticState  # the state the search ran with: "ready" means it was hybrid


@dataclass
class VerifyReport:
    integrity_check: list[str] = field(default_factory=list)
    checked: int = 0
    payloads: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.integrity_check == ["ok"] and not self.problems


@dataclass
class BackupResult:
    path: Path
    checkpoints: int
    bytes: int


@dataclass
class ImportReport:
    imported: int = 0
    skipped_existing: int = 0
    errors: list[str] = field(default_factory=list)


@runtime_checkable
class CheckpointStore(Protocol):
    """Checkpoints: save, read (payload verified), search, status, lineage, delete, export/import, maintenance."""

    default_project: str | None
    max_payload_bytes: int

    @property
    def redactor(self) -> Redactor: ...

    # -- writing
    def save(self, fields: CheckpointFields, *, now: datetime | None = None) -> SaveResult:
        """Store a new checkpoint (a new version of its lineage when `parent_id` is set)."""
        ...

    def save_data(self, data: dict[str, Any], *, now: datetime | None = None,
                  lap: Callable[[str], None] | None = None, conversation: str | None = None) -> Saved:
        """`save` of plain data of CheckpointFields' shape, its bounds checked without pydantic; `conversation`:
        the payload transcript's searchable text as the caller already read it (redacted by the store)."""
        ...

    def set_status(self, cid: str, status: str, note: str | None = None, *,
                   now: datetime | None = None) -> StatusResult: ...

    def delete(self, cid: str) -> int:
        """Delete one checkpoint and its history; children stay (re-stored if they depended on it)."""
        ...

    def import_checkpoints(self, items: list[Checkpoint], *, replace: bool = False) -> ImportReport:
        """Insert checkpoints as exported (ids, timestamps, history kept), all in one transaction."""
        ...

    # -- reading
    def exists(self, cid: str) -> bool: ...

    def get(self, cid: str, *, with_payload: bool = True) -> Checkpoint: ...

    def history(self, cid: str) -> list[StatusChange]: ...

    def status_of(self, cid: str) -> StatusResult: ...

    def verify_payload(self, cid: str) -> tuple[bool, str | None]: ...

    def lineage(self, cid: str) -> list[Checkpoint]:
        """Every version of the work `cid` belongs to, oldest first (without payloads)."""
        ...

    def latest_in_session(self, session_id: str) -> Checkpoint | None: ...

    def latest(self, *, project: str | None = None,
               statuses: Iterable[str] = OPEN_STATUSES) -> Checkpoint | None: ...

    def count(self) -> int: ...

    def iter_all(self) -> Iterator[Checkpoint]:
        """Every checkpoint with history and verified payload, parents before children."""
        ...

    # -- search
    def search(self, query: str = "", *, project: str | None = None, statuses: Sequence[str] | None = None,
               since_hours: float | None = None, limit: int = 5, all_versions: bool = False,
               now: datetime | None = None) -> list[SearchHit]: ...

    def search_with_state(self, query: str = "", *, project: str | None = None,
                          statuses: Sequence[str] | None = None, since_hours: float | None = None, limit: int = 5,
                          all_versions: bool = False, now: datetime | None = None) -> SearchOutcome: ...

    def semantic_state(self) -> SemanticState: ...

    def list_recent(self, *, project: str | None = None, statuses: list[str] | None = None,
                    limit: int = 20) -> list[SearchHit]: ...

    # -- operations
    def stats(self) -> dict[str, Any]: ...

    def verify(self) -> VerifyReport:
        """Check the store and every payload; problems are reported, never raised."""
        ...

    def reindex_lexical(self, progress: Callable[[int], None] | None = None) -> int:
        """Rebuild the full-text indexes from the stored checkpoints and their transcripts; returns how
        many transcripts are indexed (`progress(1)` per payload read)."""
        ...

    def backup(self, dest: Path) -> BackupResult:
        """A consistent, self-contained copy of the whole store at `dest` (written atomically)."""
        ...


@runtime_checkable
class GraphStore(Protocol):
    """The official memory server's nine operations (same semantics), plus paging and ranked search."""

    def create_entities(self, entities: Sequence[Entity]) -> list[Entity]: ...

    def create_relations(self, relations: Sequence[Relation]) -> list[Relation]: ...

    def add_observations(self, additions: Sequence[ObservationAddition]) -> list[AddedObservations]: ...

    def delete_entities(self, names: Sequence[str]) -> None: ...

    def delete_observations(self, deletions: Sequence[ObservationDeletion]) -> None: ...

    def delete_relations(self, relations: Sequence[Relation]) -> None: ...

    def read_graph(self, *, entity_types: Sequence[str] | None = None, limit: int | None = None,
                   offset: int = 0) -> KnowledgeGraph: ...

    def search_nodes(self, query: str) -> KnowledgeGraph: ...

    def open_nodes(self, names: Sequence[str]) -> KnowledgeGraph: ...

    def ranked(self, query: str, limit: int = 10) -> list[Entity]: ...

    def counts(self) -> dict[str, int]: ...
