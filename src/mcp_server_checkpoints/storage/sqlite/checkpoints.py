"""Checkpoints in SQLite: save, read (payload verified), search, status, export/import, verify."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp_server_checkpoints.domain.fields import check_fields
from mcp_server_checkpoints.domain.ids import ID_PATTERN, OWN_ID, new_id, shown_id
from mcp_server_checkpoints.domain.records import (
    Checkpoint,
    PayloadRecord,
    Saved,
    SearchHit,
    SemanticState,
    StatusChange,
    StatusResult,
    checkpoint_from_data,
)
from mcp_server_checkpoints.domain.statuses import OPEN_STATUSES, STATUSES
from mcp_server_checkpoints.domain.text import check_text, text_size
from mcp_server_checkpoints.domain.time import iso, parse_iso, utcnow
from mcp_server_checkpoints.errors import (
    ContextIntegrityError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    StorageError,
)
from mcp_server_checkpoints.search.transcript_text import DEFAULT_TRANSCRIPT_INDEXING, TranscriptIndexing
from mcp_server_checkpoints.storage import codec
from mcp_server_checkpoints.storage.protocols import BackupResult, ImportReport, SearchOutcome, VerifyReport
from mcp_server_checkpoints.storage.sqlite import driver
from mcp_server_checkpoints.storage.sqlite.db import Database, count_readonly
from mcp_server_checkpoints.storage.sqlite.migrations import MIGRATIONS
from mcp_server_checkpoints.storage.sqlite.search import search as hybrid_search
from mcp_server_checkpoints.storage.sqlite.snapshots import sync_snapshot
from mcp_server_checkpoints.storage.sqlite.status_rows import write_status

if TYPE_CHECKING:  # pydantic models: imported where they are built, so a hook that only reads never imports pydantic
    from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields, Payload, SaveResult
    from mcp_server_checkpoints.storage.redact import Redactor
    from mcp_server_checkpoints.storage.sqlite.semantic import SemanticIndex

JSON_LIST_FIELDS = (
    "completed", "files", "decisions", "remaining", "blockers", "user_input_needed",
    "approaches", "preferences", "discoveries", "tags",
)
TEXT_FIELDS = (
    "title", "goal", "project", "phase", "current_work", "next_step", "resume_instructions",
    "summary", "parent_id", "session_id", "agent_id",
)
# The full-text indexes whose text lives in another table (FTS5 external content): each can drift from
# its table only through a bug or a damaged file, so `verify` checks each and `reindex_lexical` rebuilds it.
EXTERNAL_INDEXES = (("checkpoints_fts", "the checkpoints"), ("transcripts_fts", "the stored transcripts"),
                    ("graph_trigrams", "the knowledge-graph entities"))


def open_database(path: str | Path, key: bytes | None = None) -> Database:
    """The store's SQLite file (encrypted with SQLCipher when `key` is given), migrated on first use."""
    return Database(path, MIGRATIONS, key=key)


def _plain(model: CheckpointFields | Checkpoint | Payload | PayloadRecord | dict[str, Any]) -> dict[str, Any]:
    """A model's or a record's fields as plain data."""
    if isinstance(model, dict):
        return model
    if isinstance(model, (Checkpoint, PayloadRecord)):
        return dataclasses.asdict(model)
    return model.model_dump()


def _report_columns(kinds: dict[str, int]) -> dict[str, Any]:
    """The redaction report as stored: the total, and the count per kind (JSON)."""
    return {"redactions": sum(kinds.values()), "redaction_kinds": json.dumps(kinds, sort_keys=True)}


def _label(cid: str, k: int | None = None) -> str:
    """How an import report names a checkpoint: ids of our own shape only (an imported id may be a secret)."""
    if OWN_ID.match(cid):
        return cid
    return f"checkpoint {k} of the file (its id is not shown)" if k else "a checkpoint whose id is not shown"


class SQLiteCheckpointStore:
    """Everything the tools and the CLI do with checkpoints. Plain Python: no MCP here."""

    def __init__(
        self,
        db: Database,
        *,
        default_project: str | None = None,
        max_payload_bytes: int = 16 * 1024 * 1024,
        diff_chain_max: int = 8,
        redactor: Redactor | None = None,
        redact_patterns: Iterable[str] = (),
        semantic: SemanticIndex | None = None,
        transcripts: TranscriptIndexing = DEFAULT_TRANSCRIPT_INDEXING,
    ) -> None:
        self.db = db
        self.transcripts = transcripts
        self._redactor = redactor
        self._redact_patterns = tuple(redact_patterns)  # custom ones, beside the built-in rules
        self.semantic = semantic  # None: lexical search only
        self.default_project = default_project
        self.max_payload_bytes = max_payload_bytes
        self.diff_chain_max = diff_chain_max

    @property
    def redactor(self) -> Redactor:
        """Built on first use: importing the redaction rules (compiling their patterns) was most of the start-up
        of a hook that only reads (session-start on a new session)."""
        if self._redactor is None:
            from mcp_server_checkpoints.storage.redact import Redactor

            self._redactor = Redactor.build(self._redact_patterns)
        return self._redactor

    # -- writing -----------------------------------------------------------------------
    def _redacted_data(self, data: dict[str, Any]) -> tuple[dict[str, Any], Any, Counter[str]]:
        """Fields (without payload) and payload with every secret replaced; and how many of each kind there were."""
        data = dict(data)
        payload = data.pop("payload", None)
        clean, kinds = self.redactor.redact_value_kinds(data)
        if payload is not None:
            payload, more = self.redactor.redact_value_kinds(payload)
            kinds.update(more)
        return clean, payload, kinds

    def _redacted(self, cp: Checkpoint) -> tuple[Checkpoint, Counter[str]]:
        """The same checkpoint with every secret in its text and payload replaced; and how many of each kind."""
        data = _plain(cp)
        kept = data.pop("redactions", None)  # an imported checkpoint's own report: counts, not text
        clean, payload, kinds = self._redacted_data(data)
        return checkpoint_from_data({**clean, "redactions": kept or {}, "payload": payload}), kinds

    def save(self, fields: CheckpointFields, *, now: datetime | None = None) -> SaveResult:
        from mcp_server_checkpoints.schemas.checkpoints import SaveResult

        saved = self._save(fields.model_dump(), now)  # validated by pydantic already
        return SaveResult(**dataclasses.asdict(saved))

    def save_data(self, data: dict[str, Any], *, now: datetime | None = None,
                  lap: Callable[[str], None] | None = None, conversation: str | None = None) -> Saved:
        """`save` of plain data of CheckpointFields' shape, bounds checked without pydantic (the hooks).
        `lap(phase)` is called as each phase ends (check, redact, encode, transcript-text, write): what a hook reports.
        `conversation`: the payload transcript's messages as the caller read them (search.transcript_text
        `message_texts` of each line, joined by line breaks), so that its text is not decoded twice; it is
        redacted here like everything else."""
        check_fields(data)
        return self._save(data, now, lap, conversation)

    def _save(self, data: dict[str, Any], now: datetime | None, lap: Callable[[str], None] | None = None,
              conversation: str | None = None) -> Saved:
        lap = lap or (lambda phase: None)
        now = now or utcnow()
        # The payload's strings are checked as _payload_bytes encodes them: encoding a transcript of 10 MB
        # twice (a non-ASCII one: most) cost a hook 50 ms.
        check_text({k: v for k, v in data.items() if k != "payload"})
        payload = data.get("payload")
        if payload is not None:
            self._check_size(text_size(payload))  # before the work of redacting it
        lap("check")
        # The redacted text goes to the row as it is: a marker may be longer than the secret it replaced.
        clean, payload, kinds = self._redacted_data(data)
        redactions = dict(sorted(kinds.items()))
        lap("redact")
        payload_plain = self._payload_bytes(payload)  # first: its errors (size, a lone surrogate) say what to fix
        lap("encode")
        # Read out of the transcript before the write lock is taken (a 10 MB one: ~120 ms, unless the caller
        # read it already).
        if conversation is not None:
            transcript = self.transcripts.text_from(conversation)
            transcript = self.redactor.redact_kinds(transcript)[0] if transcript else None
        else:
            transcript = self.transcripts.text_of(payload.get("transcript") if isinstance(payload, dict) else None)
        lap("transcript-text")
        ts = iso(now)
        cid = new_id(clean["title"], now)
        project = clean.get("project")
        project = project if project is not None else self.default_project
        status = clean.get("status") or "in-progress"
        with self.db.write() as c:
            row = self._row(clean, cid=cid, project=project, status=status, created_at=ts, updated_at=ts,
                            **_report_columns(redactions))
            stored = self._insert(c, row, payload_plain)
            self._index_transcript(c, cid, transcript)
            c.execute(
                "INSERT INTO checkpoint_status (checkpoint_id, status, at, note) VALUES (?, ?, ?, ?)",
                (cid, status, ts, None),
            )
            sync_snapshot(c, cid)  # the checkpoint as a session-snapshot entity (memory-server tools)
        lap("write")
        if self.semantic is not None:
            self.semantic.notify()  # embedded in the background: a save never waits for the model
        return Saved(id=cid, project=project, status=status, created_at=ts, parent_id=clean.get("parent_id"),
                     stored_bytes=stored, raw_bytes=len(payload_plain) if payload_plain else 0, redactions=redactions)

    def _payload_bytes(self, payload: Payload | PayloadRecord | dict[str, Any] | None) -> bytes | None:
        if payload is None:
            return None
        data = {k: v for k, v in _plain(payload).items() if v is not None}
        if not data:
            return None
        try:
            plain = codec.payload_bytes(data)
        except UnicodeEncodeError:  # a lone surrogate: say where (never the text), as check_text does
            check_text(data, "payload")
            raise
        self._check_size(len(plain))
        return plain

    def _check_size(self, size: int) -> None:
        if size > self.max_payload_bytes:
            raise PayloadTooLargeError(
                f"payload is {size:,} bytes, above the limit of {self.max_payload_bytes:,};"
                " send a shorter transcript or raise max_payload_bytes"
            )

    @staticmethod
    def _row(fields: Checkpoint | dict[str, Any], **extra: Any) -> dict[str, Any]:
        data = _plain(fields)
        row: dict[str, Any] = {k: data.get(k) for k in TEXT_FIELDS}
        row["progress"] = data.get("progress")
        for k in JSON_LIST_FIELDS:
            row[k] = json.dumps(data.get(k) or [], ensure_ascii=False)
        row.update(extra)
        row["id"] = extra["cid"]
        del row["cid"]
        return row

    def _insert(self, c: sqlite3.Connection, row: dict[str, Any], payload_plain: bytes | None) -> int:
        """Insert one row inside the caller's write transaction; returns the payload's stored size."""
        parent_id = row.get("parent_id")
        lineage_id = row["id"]
        base: bytes | None = None
        depth = 0
        if parent_id is not None:
            parent = c.execute(
                "SELECT id, lineage_id, payload_blob IS NOT NULL AS has_payload, payload_depth FROM checkpoints WHERE id = ?",
                (parent_id,),
            ).fetchone()
            if parent is None:
                raise InvalidInputError("parent_id names no stored checkpoint; give the id of an existing checkpoint or omit it")
            lineage_id = parent["lineage_id"]
            # Differential storage: compress against the parent's payload while the chain is short.
            if payload_plain is not None and parent["has_payload"] and parent["payload_depth"] + 1 < self.diff_chain_max:
                base = self._plain_payload(c, parent_id)
                depth = parent["payload_depth"] + 1
        row["lineage_id"] = lineage_id
        stored = 0
        if payload_plain is not None:
            enc = codec.encode(payload_plain, base)
            if enc.codec == codec.CODEC_FULL:
                depth = 0  # nothing shared with the parent: a full copy starts a new chain
            row.update(payload_codec=enc.codec, payload_blob=enc.blob, payload_sha256=enc.sha256,
                       payload_raw_bytes=enc.raw_bytes, payload_depth=depth)
            stored = len(enc.blob)
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        try:
            c.execute(f"INSERT INTO checkpoints ({cols}) VALUES ({marks})", tuple(row.values()))
        except driver.IntegrityError:
            raise InvalidInputError("a checkpoint with this id already exists") from None
        return stored

    @staticmethod
    def _index_transcript(c: sqlite3.Connection, cid: str, text: str | None) -> None:
        """A (redacted) transcript's searchable text (TranscriptIndexing.text_of), in the caller's write transaction."""
        if text:
            c.execute("INSERT INTO checkpoint_transcripts (checkpoint_id, body) VALUES (?, ?)", (cid, text))

    def set_status(self, cid: str, status: str, note: str | None = None, *, now: datetime | None = None) -> StatusResult:
        if status not in STATUSES:
            raise InvalidInputError(f"unknown status; use one of: {', '.join(STATUSES)}")
        found: Counter[str] = Counter()
        if note is not None:
            check_text(note, "note")
            note, found = self.redactor.redact_kinds(note)
        ts = iso(now or utcnow())
        with self.db.write() as c:
            row = c.execute("SELECT redaction_kinds FROM checkpoints WHERE id = ?", (cid,)).fetchone()
            if row is None:
                raise NotFoundError(self._not_found(cid))
            if found:  # the note's secrets join the checkpoint's redaction report
                kinds = dict(sorted((Counter(json.loads(row[0] or "{}")) + found).items()))
                c.execute("UPDATE checkpoints SET redactions = ?, redaction_kinds = ? WHERE id = ?",
                          (*_report_columns(kinds).values(), cid))
            write_status(c, cid, status, ts, note)
        return self.status_of(cid)

    def delete(self, cid: str) -> int:
        """Delete a checkpoint and its status history; returns how many children were re-stored.

        A child's payload may be compressed against this one's: such children are re-encoded as
        full copies first, in the same transaction, so no stored payload ever depends on a row
        that is gone. Children keep their lineage_id; their parent_id becomes NULL.
        """
        with self.db.write() as c:
            if c.execute("SELECT 1 FROM checkpoints WHERE id = ?", (cid,)).fetchone() is None:
                raise NotFoundError(self._not_found(cid))
            dependants = [r[0] for r in c.execute(
                "SELECT id FROM checkpoints WHERE parent_id = ? AND payload_codec = ?", (cid, codec.CODEC_DIFF))]
            for child in dependants:
                enc = codec.encode(self._plain_payload(c, child))  # raises ContextIntegrityError if damaged
                # The child's plain bytes (and so its sha256) are unchanged: grandchildren stored against
                # it stay valid. Their payload_depth may now overstate the chain, which only shortens it.
                c.execute("UPDATE checkpoints SET payload_codec = ?, payload_blob = ?, payload_depth = 0 WHERE id = ?",
                          (enc.codec, enc.blob, child))
            c.execute("UPDATE checkpoints SET parent_id = NULL WHERE parent_id = ?", (cid,))
            c.execute("DELETE FROM checkpoint_status WHERE checkpoint_id = ?", (cid,))
            c.execute("DELETE FROM checkpoints WHERE id = ?", (cid,))
        return len(dependants)

    # -- reading -----------------------------------------------------------------------
    @staticmethod
    def _not_found(cid: str) -> str:
        return f"no checkpoint {shown_id(cid)}; find ids with search_checkpoints (or `ckpt list`)"

    def exists(self, cid: str) -> bool:
        with self.db.errors():
            return self.db.conn().execute("SELECT 1 FROM checkpoints WHERE id = ?", (cid,)).fetchone() is not None

    def history(self, cid: str) -> list[StatusChange]:
        with self.db.errors():
            return self._history(self.db.conn(), cid)

    @staticmethod
    def _history(c: sqlite3.Connection, cid: str) -> list[StatusChange]:
        rows = c.execute("SELECT status, at, note FROM checkpoint_status WHERE checkpoint_id = ? ORDER BY seq",
                         (cid,)).fetchall()
        return [StatusChange(status=r["status"], at=r["at"], note=r["note"]) for r in rows]

    def status_of(self, cid: str) -> StatusResult:
        with self.db.read() as c:
            row = c.execute(
                "SELECT id, title, project, status, updated_at, parent_id FROM checkpoints WHERE id = ?", (cid,)
            ).fetchone()
            if row is None:
                raise NotFoundError(self._not_found(cid))
        return StatusResult(**dict(row), history=self.history(cid))

    def get(self, cid: str, *, with_payload: bool = True) -> Checkpoint:
        """The whole checkpoint; its payload (if any) is decompressed and verified."""
        with self.db.read() as c:
            row = c.execute("SELECT * FROM checkpoints WHERE id = ?", (cid,)).fetchone()
            if row is None:
                raise NotFoundError(self._not_found(cid))
            payload = None
            if with_payload and row["payload_blob"] is not None:
                stored = json.loads(self._plain_payload(c, cid))
                payload = PayloadRecord(**{k: stored.get(k) for k in ("transcript", "tool_history", "project_state")})
            history = self._history(c, cid)  # in the same snapshot as the row (a status change may land meanwhile)
        return self._checkpoint(row, history, payload)

    def verify_payload(self, cid: str) -> tuple[bool, str | None]:
        """(verified, sha256) of a checkpoint's payload; raises ContextIntegrityError on a mismatch."""
        with self.db.read() as c:
            row = c.execute("SELECT payload_sha256 FROM checkpoints WHERE id = ?", (cid,)).fetchone()
            if row is None:
                raise NotFoundError(self._not_found(cid))
            if row["payload_sha256"] is None:
                return True, None
            self._plain_payload(c, cid)
            return True, row["payload_sha256"]

    def _plain_payload(self, c: sqlite3.Connection, cid: str) -> bytes:
        """Decode a payload, first decoding the chain of parents it was compressed against."""
        chain: list[sqlite3.Row] = []
        current: str | None = cid
        while current is not None:
            r = c.execute(
                "SELECT id, parent_id, payload_codec, payload_blob, payload_sha256, payload_raw_bytes"
                " FROM checkpoints WHERE id = ?", (current,)
            ).fetchone()
            if r is None or r["payload_blob"] is None:
                raise ContextIntegrityError(f"payload of {cid} depends on a missing parent payload")
            chain.append(r)
            current = r["parent_id"] if r["payload_codec"] == codec.CODEC_DIFF else None
            if len(chain) > 1024:
                raise ContextIntegrityError(f"payload of {cid} has a broken parent chain")
        plain: bytes | None = None
        for r in reversed(chain):
            plain = codec.decode(
                r["payload_blob"], codec=r["payload_codec"], expected_sha256=r["payload_sha256"],
                raw_bytes=r["payload_raw_bytes"], base=plain, label=r["id"],
            )
        assert plain is not None
        return plain

    @staticmethod
    def _checkpoint(row: sqlite3.Row, history: list[StatusChange], payload: PayloadRecord | None) -> Checkpoint:
        data: dict[str, Any] = {k: row[k] for k in TEXT_FIELDS}
        data.update(id=row["id"], status=row["status"], progress=row["progress"],
                    created_at=row["created_at"], updated_at=row["updated_at"],
                    redactions=json.loads(row["redaction_kinds"] or "{}"))
        for k in JSON_LIST_FIELDS:
            data[k] = json.loads(row[k] or "[]")
        cp = checkpoint_from_data(data)
        cp.history, cp.payload = history, payload
        return cp

    def lineage(self, cid: str) -> list[Checkpoint]:
        """Every version of the work `cid` belongs to, oldest first (without payloads)."""
        with self.db.read() as c:
            row = c.execute("SELECT lineage_id FROM checkpoints WHERE id = ?", (cid,)).fetchone()
            if row is None:
                raise NotFoundError(self._not_found(cid))
            ids = [r[0] for r in c.execute(
                "SELECT id FROM checkpoints WHERE lineage_id = ? ORDER BY created_at, rowid", (row[0],))]
        return [self.get(i, with_payload=False) for i in ids]

    def latest_in_session(self, session_id: str) -> Checkpoint | None:
        """The newest checkpoint saved in one client session (any status)."""
        with self.db.errors():
            row = self.db.conn().execute(
                "SELECT id FROM checkpoints WHERE session_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1",
                (session_id,),
            ).fetchone()
        return self.get(row[0], with_payload=False) if row else None

    def latest(self, *, project: str | None = None, statuses: Iterable[str] = OPEN_STATUSES) -> Checkpoint | None:
        hits = self.search("", project=project, statuses=list(statuses), limit=1)
        return self.get(hits[0].id, with_payload=False) if hits else None

    # -- search ------------------------------------------------------------------------
    def search(
        self,
        query: str = "",
        *,
        project: str | None = None,
        statuses: Sequence[str] | None = None,
        since_hours: float | None = None,
        limit: int = 5,
        all_versions: bool = False,
        now: datetime | None = None,
    ) -> list[SearchHit]:
        """Hybrid search (bm25 fused with cosine once the model is ready) with filters; recency for an empty query.

        One hit per lineage (its newest version, if that passes the status filter) unless all_versions.
        """
        return self.search_with_state(query, project=project, statuses=statuses, since_hours=since_hours,
                                      limit=limit, all_versions=all_versions, now=now).hits

    def search_with_state(
        self,
        query: str = "",
        *,
        project: str | None = None,
        statuses: Sequence[str] | None = None,
        since_hours: float | None = None,
        limit: int = 5,
        all_versions: bool = False,
        now: datetime | None = None,
    ) -> SearchOutcome:
        """`search`, plus whether it was hybrid: `semantic` is "ready", "warming" (lexical for now) or "off"."""
        return hybrid_search(self.db, self.semantic, query, project=project, statuses=statuses,
                             since_hours=since_hours, limit=limit, all_versions=all_versions, now=now)

    def semantic_state(self) -> SemanticState:
        return self.semantic.state if self.semantic is not None else "off"

    def list_recent(self, *, project: str | None = None, statuses: list[str] | None = None, limit: int = 20) -> list[SearchHit]:
        return self.search("", project=project, statuses=statuses or ["any"], limit=limit, all_versions=True)

    # -- export / import ---------------------------------------------------------------
    def count(self) -> int:
        with self.db.errors():
            return int(self.db.conn().execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0])

    def iter_all(self) -> Iterator[Checkpoint]:
        """Every checkpoint with history and verified payload, oldest first (parents before children)."""
        with self.db.errors():
            ids = [r[0] for r in self.db.conn().execute("SELECT id FROM checkpoints ORDER BY created_at, rowid")]
        for cid in ids:
            yield self.get(cid)

    def import_checkpoints(self, items: list[Checkpoint], *, replace: bool = False) -> ImportReport:
        """Insert checkpoints as they were (ids, timestamps, history), parents before children, in one transaction."""
        report = ImportReport()
        by_id = {cp.id: cp for cp in items}
        ordered: list[Checkpoint] = []
        placed: set[str] = set()

        def place(cp: Checkpoint, depth: int = 0) -> None:
            if cp.id in placed or depth > 1000:
                return
            if cp.parent_id and cp.parent_id in by_id and cp.parent_id not in placed:
                place(by_id[cp.parent_id], depth + 1)
            placed.add(cp.id)
            ordered.append(cp)

        for cp in sorted(items, key=lambda x: x.created_at):
            place(cp)
        prepared: list[tuple[Checkpoint, bytes | None]] = []
        for k, cp in enumerate(ordered, 1):
            label = _label(cp.id, k)
            try:
                if not ID_PATTERN.match(cp.id):
                    raise InvalidInputError("id must be 1–200 letters, digits, '.', '_', ':' or '-'")
                check_text(dataclasses.asdict(cp), "checkpoint")
                clean, kinds = self._redacted(cp)
                cp = dataclasses.replace(clean, redactions=dict(sorted((Counter(cp.redactions) + kinds).items())))
                for ts in (cp.created_at, cp.updated_at, *(h.at for h in cp.history)):
                    try:
                        parse_iso(ts)
                    except ValueError:  # its message repeats the value
                        raise InvalidInputError("a timestamp (created_at, updated_at or history[].at) is not"
                                                " ISO 8601") from None
                prepared.append((cp, self._payload_bytes(cp.payload)))
            except InvalidInputError as exc:
                report.errors.append(f"{label}: {exc}")
        with self.db.write() as c:
            for cp, plain in prepared:
                if c.execute("SELECT 1 FROM checkpoints WHERE id = ?", (cp.id,)).fetchone():
                    if not replace:
                        report.skipped_existing += 1
                        continue
                    if c.execute("SELECT 1 FROM checkpoints WHERE parent_id = ?", (cp.id,)).fetchone():
                        report.errors.append(f"{_label(cp.id)}: has children in the database; cannot replace it")
                        continue
                    c.execute("DELETE FROM checkpoint_status WHERE checkpoint_id = ?", (cp.id,))
                    c.execute("DELETE FROM checkpoints WHERE id = ?", (cp.id,))
                if cp.parent_id and not c.execute("SELECT 1 FROM checkpoints WHERE id = ?", (cp.parent_id,)).fetchone():
                    report.errors.append(f"{_label(cp.id)}: its parent is neither in the file nor in the database")
                    continue
                created = iso(parse_iso(cp.created_at))
                updated = iso(parse_iso(cp.updated_at))
                row = self._row(cp, cid=cp.id, status=cp.status, created_at=created, updated_at=updated,
                                **_report_columns(cp.redactions))
                self._insert(c, row, plain)
                self._index_transcript(c, cp.id, self.transcripts.text_of(cp.payload.transcript if cp.payload else None))
                history = cp.history or [StatusChange(status=cp.status, at=created)]
                c.executemany(
                    "INSERT INTO checkpoint_status (checkpoint_id, status, at, note) VALUES (?, ?, ?, ?)",
                    [(cp.id, h.status, iso(parse_iso(h.at)), h.note) for h in history],
                )
                sync_snapshot(c, cp.id)
                report.imported += 1
        if self.semantic is not None and report.imported:
            self.semantic.notify()
        return report

    # -- operations --------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        with self.db.read() as c:
            by_status = {r["status"]: r["n"] for r in c.execute(
                "SELECT status, COUNT(*) AS n FROM checkpoints GROUP BY status ORDER BY status")}
            agg = c.execute(
                "SELECT COUNT(*) AS n, COUNT(DISTINCT project) AS projects, COUNT(DISTINCT lineage_id) AS lineages,"
                " COUNT(payload_blob) AS payloads, COALESCE(SUM(payload_raw_bytes), 0) AS raw,"
                " COALESCE(SUM(LENGTH(payload_blob)), 0) AS stored, MIN(created_at) AS oldest, MAX(updated_at) AS newest"
                " FROM checkpoints"
            ).fetchone()
        size = sum(p.stat().st_size for p in (self.db.path, Path(f"{self.db.path}-wal")) if p.exists())
        return {
            "database": str(self.db.path),
            "schema_version": self.db.schema_version(),
            "file_bytes": size,
            "checkpoints": agg["n"],
            "by_status": by_status,
            "projects": agg["projects"],
            "lineages": agg["lineages"],
            "payloads": agg["payloads"],
            "payload_raw_bytes": agg["raw"],
            "payload_stored_bytes": agg["stored"],
            "compression_ratio": round(agg["raw"] / agg["stored"], 2) if agg["stored"] else None,
            "oldest": agg["oldest"],
            "newest": agg["newest"],
        }

    def reindex_lexical(self, progress: Callable[[int], None] | None = None) -> int:
        """Rebuild the full-text indexes (`ckpt reindex`): the fields' from the checkpoints, the graph's
        substring index from its entities, and each stored
        transcript's conversation text from its payload (all of them again, or none when `index_transcripts`
        is off; `progress(1)` per payload read). Returns how many transcripts are indexed. One transaction:
        interrupted, nothing changes."""
        with self.db.write() as c:
            # The index first made to match its table (a drifted one would fail the delete trigger below),
            # then the rows replaced through the triggers, then the other indexes rebuilt.
            c.execute("INSERT INTO transcripts_fts(transcripts_fts) VALUES('rebuild')")
            c.execute("DELETE FROM checkpoint_transcripts")
            ids = [r[0] for r in c.execute("SELECT id FROM checkpoints WHERE payload_blob IS NOT NULL ORDER BY rowid")]
            done = 0
            if self.transcripts.enabled:
                for cid in ids:
                    if progress is not None:
                        progress(1)
                    try:
                        data = json.loads(self._plain_payload(c, cid))
                    except ContextIntegrityError:  # `ckpt verify` reports it; the others are still indexed
                        continue
                    transcript = data.get("transcript") if isinstance(data, dict) else None
                    if isinstance(transcript, str):
                        self._index_transcript(c, cid, self.transcripts.text_of(transcript))
                        done += 1
            for table, _ in EXTERNAL_INDEXES:
                if table != "transcripts_fts":  # rebuilt above; the triggers kept it in step since
                    c.execute(f"INSERT INTO {table}({table}) VALUES('rebuild')")
        return done

    def backup(self, dest: Path) -> BackupResult:
        """A consistent, self-contained copy (rollback journal, no -wal) written atomically at `dest`.

        The copy is counted through a read-only connection: opening it as a store would switch it to WAL.
        """
        path = self.db.backup(dest)
        return BackupResult(path=path, checkpoints=count_readonly(path, "checkpoints", self.db.key), bytes=path.stat().st_size)

    def verify(self) -> VerifyReport:
        """SQLite integrity_check, the FTS index check, and every payload's sha256.

        A damaged file is reported, never raised: the report says what could be checked.
        """
        report = VerifyReport()
        report.integrity_check = self.db.integrity_check()
        if report.integrity_check != ["ok"]:
            report.problems.append(
                "the database file is damaged (SQLite integrity_check failed); restore a backup made with"
                " `ckpt backup`, or salvage what is readable with `sqlite3 DB .recover`")
        try:
            with self.db.errors():
                c = self.db.conn()
                for table, of in EXTERNAL_INDEXES:
                    try:
                        # rank 1: also against the table the text lives in (0 checks the index on its own)
                        c.execute(f"INSERT INTO {table}({table}, rank) VALUES('integrity-check', 1)")
                    except driver.DatabaseError:
                        report.problems.append(f"the full-text index of {of} does not match them; run `ckpt reindex`")
                ids = [r[0] for r in c.execute("SELECT id FROM checkpoints ORDER BY rowid")]
        except StorageError:
            report.problems.append("the checkpoints could not be read, so no payload was checked")
            return report
        for cid in ids:
            report.checked += 1
            try:
                verified, digest = self.verify_payload(cid)
                if digest is not None:
                    report.payloads += 1
            except ContextIntegrityError as exc:
                report.payloads += 1
                report.problems.append(str(exc))
            except StorageError:
                report.problems.append(f"{cid}: its row could not be read (the file is damaged there)")
        return report
