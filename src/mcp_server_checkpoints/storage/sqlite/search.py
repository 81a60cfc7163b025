"""Checkpoint search: lexical (bm25), semantic (cosine) and their fusion, with filters and lineages.

Both rankers first pick a bounded number of candidates (`CANDIDATES`) without looking at the
filters: the FTS table alone with `ORDER BY rank LIMIT k` (joining every match to `checkpoints`
and sorting them all is what made search slow at scale), and the top-k of the in-memory vector
matrix. Only those candidates are joined to `checkpoints` and filtered; when the filters leave
too few, the ranker is asked again without the bound (slower, but only for selective filters).
The two ranked lists are then fused (see `fuse`), ties broken by status and recency, and each
lineage is shown once, as its newest version — or not at all when that newest version fails the
status filter (work completed in a later version is not open through an older one). Ages,
`since_hours` and recency are those of when a checkpoint was saved (`created_at`), not of its
last status change.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from mcp_server_checkpoints.domain.records import SearchHit, SemanticState
from mcp_server_checkpoints.domain.statuses import OPEN_STATUSES, STATUSES
from mcp_server_checkpoints.domain.text import check_text
from mcp_server_checkpoints.domain.time import age_hours, iso, utcnow
from mcp_server_checkpoints.errors import InvalidInputError
from mcp_server_checkpoints.search.fusion import DEFAULT, RankingOptions, by_score, fuse
from mcp_server_checkpoints.search.lexical import BM25_WEIGHTS, fts_query, strip_filler
from mcp_server_checkpoints.search.passages import excerpt
from mcp_server_checkpoints.storage.protocols import SearchOutcome
from mcp_server_checkpoints.storage.sqlite.db import Database
from mcp_server_checkpoints.storage.sqlite.semantic import EMBED_COLUMNS, checkpoint_passages, passage_owner

if TYPE_CHECKING:
    from mcp_server_checkpoints.search.vectors import Matrix
    from mcp_server_checkpoints.storage.sqlite.semantic import SemanticIndex

HEADER = ("id", "title", "goal", "project", "status", "progress", "next_step", "parent_id", "lineage_id",
          "created_at", "updated_at")
HEADER_SQL = ", ".join(f"c.{col}" for col in HEADER)
CANDIDATES = 100  # per ranker, before filters
# bm25 weight of a transcript's conversation text: as the summary's (search.lexical.BM25_WEIGHTS), a
# little less, since a conversation mentions far more than the work it was about.
TRANSCRIPT_WEIGHT = 0.5



@dataclass
class _Filter:
    sql: str
    params: list[Any]
    statuses: list[str]

    @property
    def sql_no_index(self) -> str:
        """The same filter with its columns' indexes disabled (unary +): for a short list of
        candidates looked up by key, SQLite otherwise picks the (status, updated_at) index and
        scans every open checkpoint (26 ms a search at 30k rows, measured)."""
        return self.sql.replace("c.", "+c.")


def _filter(statuses: Sequence[str] | None, project: str | None, since_hours: float | None, now: datetime) -> _Filter:
    if statuses is None:
        statuses = list(OPEN_STATUSES)
    if "any" in statuses:
        statuses = list(STATUSES)
    if [s for s in statuses if s not in STATUSES]:
        raise InvalidInputError(f"unknown status filter; use any of: {', '.join(STATUSES)}, or 'any'")
    where = [f"c.status IN ({', '.join('?' for _ in statuses)})"]
    params: list[Any] = list(statuses)
    if project:
        where.append("c.project = ?")
        params.append(project)
    if since_hours is not None:
        where.append("c.created_at >= ?")
        params.append(iso(now - timedelta(hours=since_hours)))
    return _Filter(" AND ".join(where), params, list(statuses))


# FTS5's bm25 gives a term found in more than half the rows an IDF of ~0 (it clamps log((N - n + 0.5) /
# (n + 0.5)) to 1e-6): such a term changes no score but makes FTS5 visit most of the table, so it is
# dropped. A term's share of rows is counted among the newest PROBE_ROWS (a count costs a tenth of
# ranking the same rows) and cached per database until a tenth as many rows again have been added;
# so is a rare term's count of matches in the whole table (see `_plan`).
PROBE_ROWS = 10_000
# Hybrid: bm25 ranks the newest rows that hold about this many matches (cosine still sees every row).
# bm25() costs ~2 µs a matched row: at 100k checkpoints, queries of common words ranking their newest
# ~4,000 matches took 7.4 ms (median); rare words are ranked over the whole table.
LEXICAL_BUDGET = 2_000
_SHARE_CACHE: dict[tuple[str, str], tuple[float, int]] = {}


def _count(c: sqlite3.Connection, match: str, floor: int, table: str = "checkpoints_fts") -> int:
    return int(c.execute(f"SELECT COUNT(*) FROM {table} WHERE {table} MATCH ? AND rowid > ?",
                         (match, floor)).fetchone()[0])


def _cached(key: str, what: str, total: int, count: Callable[[], float]) -> float:
    """`count()` for `what` (a term's share of the newest rows, or its matches in the whole table),
    remembered per database until a tenth of PROBE_ROWS rows have been added (`total`: the newest rowid)."""
    hit = _SHARE_CACHE.get((key, what))
    if hit is None or not 0 <= total - hit[1] <= PROBE_ROWS // 10:
        if len(_SHARE_CACHE) >= 50_000:
            _SHARE_CACHE.clear()
        hit = _SHARE_CACHE[(key, what)] = (count(), total)
    return hit[0]


def _plan(c: sqlite3.Connection, key: str, match: str, total: int, bounded: bool,
          table: str = "checkpoints_fts") -> tuple[str, int]:
    """The MATCH expression bm25 ranks (useless terms dropped) and the rowid it ranks above.

    `bounded` (hybrid search): only the newest rows holding about LEXICAL_BUDGET matches. `table`: the
    fields' index, or the transcripts' (its rowids are its own).
    """
    if table != "checkpoints_fts":
        key = f"{key} {table}"
    if total < 2_000:
        return match, 0
    probe_floor = max(total - PROBE_ROWS, 0)
    shares: list[tuple[float, str]] = []
    for term in match.split(" OR "):
        share = _cached(key, term, total,
                        lambda: _count(c, term, probe_floor, table) / (total - probe_floor))  # called at once
        shares.append((share, term))
    kept = [(s, t) for s, t in shares if s <= 0.5] or [min(shares)]
    match = " OR ".join(t for _, t in kept)
    if not bounded:
        return match, 0
    share = sum(s for s, _ in kept)  # of the newest rows, at most this share matches
    if share * total > LEXICAL_BUDGET:
        return match, max(total - int(LEXICAL_BUDGET / share), 0)
    # Rare among the newest rows: the whole table is cheap unless the words are common in older rows.
    # Counted per term (cached: terms recur, whole queries seldom do); the sum bounds the OR's matches.
    older = 0.0
    for _, term in kept:
        older += _cached(key, f"all {term}", total, lambda: _count(c, term, 0, table))  # called at once
    if older <= 2 * LEXICAL_BUDGET:
        return match, 0
    return match, max(total - int(LEXICAL_BUDGET * total / older), 0)


def _lexical(c: sqlite3.Connection, key: str, match: str, f: _Filter, need: int,
             bounded: bool) -> list[tuple[dict[str, Any], float]]:
    """(row, bm25 score: higher is better) for the best lexical matches passing the filters.

    `bounded`: only the newest rows are ranked (see `_plan`; the semantic side covers the rest).
    """
    weights = ", ".join(str(w) for w in BM25_WEIGHTS)
    total = int(c.execute("SELECT COALESCE(MAX(rowid), 0) FROM checkpoints").fetchone()[0])
    match, floor = _plan(c, key, match, total, bounded)
    top = c.execute(
        f"SELECT rowid, bm25(checkpoints_fts, {weights}) AS r FROM checkpoints_fts WHERE checkpoints_fts MATCH ?"
        " AND rowid > ? ORDER BY r LIMIT ?", (match, floor, CANDIDATES),
    ).fetchall()
    score = {r[0]: -float(r[1]) for r in top}
    rows = _rows_by(c, "rowid", list(score), f) if score else []
    out = [(dict(r), score[r["rowid"]]) for r in rows]
    if len(out) < need and len(top) == CANDIDATES:
        # The filters removed too many of the best matches: rank every match that passes them.
        full = c.execute(
            f"SELECT {HEADER_SQL}, c.rowid AS rowid, bm25(checkpoints_fts, {weights}) AS r"
            " FROM checkpoints_fts JOIN checkpoints c ON c.rowid = checkpoints_fts.rowid"
            f" WHERE checkpoints_fts MATCH ? AND checkpoints_fts.rowid > ? AND {f.sql} ORDER BY r LIMIT ?",
            (match, floor, *f.params, need),
        ).fetchall()
        out = [(dict(r), -float(r["r"])) for r in full]
    _merge_transcripts(c, key, match, f, bounded, out)
    out.sort(key=lambda x: -x[1])
    return out


def _merge_transcripts(c: sqlite3.Connection, key: str, match: str, f: _Filter, bounded: bool,
                       out: list[tuple[dict[str, Any], float]]) -> None:
    """Add bm25 over the stored transcripts' conversation text to the fields' matches, in place.

    A checkpoint's lexical score is the better of its fields' and its transcript's; the transcript's
    bm25 is weighted like the summary's words (TRANSCRIPT_WEIGHT), and a long conversation's length
    normalisation already keeps one passing mention below a field that names the topic. A row found
    through its transcript only carries `via_transcript` (its `matched` snippet comes from there).
    """
    total = int(c.execute("SELECT COALESCE(MAX(rowid), 0) FROM checkpoint_transcripts").fetchone()[0])
    if not total:
        return
    tmatch, floor = _plan(c, key, match, total, bounded, "transcripts_fts")
    top = c.execute(
        f"SELECT t.checkpoint_id, m.r FROM (SELECT rowid, bm25(transcripts_fts, {TRANSCRIPT_WEIGHT}) AS r"
        " FROM transcripts_fts WHERE transcripts_fts MATCH ? AND rowid > ? ORDER BY r LIMIT ?) m"
        " JOIN checkpoint_transcripts t ON t.rowid = m.rowid", (tmatch, floor, CANDIDATES),
    ).fetchall()
    score = {r[0]: -float(r[1]) for r in top}
    if not score:
        return
    have = {row["id"]: i for i, (row, _) in enumerate(out)}
    for cid in [k for k in score if k in have]:
        i = have[cid]
        if score[cid] > out[i][1]:
            out[i] = ({**out[i][0], "via_transcript": True}, score.pop(cid))
        else:
            score.pop(cid)
    if score:
        out += [({**dict(r), "via_transcript": True}, score[r["id"]]) for r in _rows_by(c, "id", list(score), f)]


def _rows_by(c: sqlite3.Connection, col: str, keys: list[Any], f: _Filter) -> list[sqlite3.Row]:
    rows: list[sqlite3.Row] = []
    for i in range(0, len(keys), 500):  # stay under SQLite's bound-parameter limit
        chunk = keys[i:i + 500]
        rows += c.execute(
            f"SELECT {HEADER_SQL}, c.rowid AS rowid FROM checkpoints c"
            f" WHERE c.{col} IN ({', '.join('?' for _ in chunk)}) AND {f.sql_no_index}", (*chunk, *f.params),
        ).fetchall()
    return rows


@dataclass
class _Scan:
    """What the vector indexes returned for a query: cosines by checkpoint id, and which of them
    were a passage's (checkpoint id -> (passage n, cosine)); `k`: how many each index was asked for."""

    qvec: Matrix
    cos: dict[str, float]
    best_passage: dict[str, tuple[int, float]]
    k: int
    exhausted: bool  # the checkpoint index has no more rows than it returned


def _scan(sem: SemanticIndex, qvec: Matrix, k: int, passages: bool, pool: ThreadPoolExecutor | None) -> _Scan | None:
    """The top k checkpoints by their own vector and the top 4k passages (no database access, so it
    runs on the embedding thread while bm25 runs on the caller's)."""
    index, pindex = sem.index, sem.passage_index if passages else None
    if index is None:
        return None
    top = index.top_k(qvec, k, pool=pool)
    cos = dict(top)
    best_passage: dict[str, tuple[int, float]] = {}
    if pindex is not None and len(pindex):
        for ref, score in pindex.top_k(qvec, 4 * k, pool=pool):
            cid, n = passage_owner(ref)
            if score > best_passage.get(cid, (0, -2.0))[1]:
                best_passage[cid] = (n, score)
        for cid, (_, score) in best_passage.items():
            if score > cos.get(cid, -2.0):
                cos[cid] = score
    return _Scan(qvec, cos, best_passage, k, exhausted=len(top) < k or k >= len(index))


def _embed_and_scan(sem: SemanticIndex, text: str, passages: bool) -> tuple[Matrix | None, _Scan | None]:
    """The query's vector and, on this (the embedding) thread, its scan; no scan when an index would
    rather be scanned on two threads (a large float32 matrix: the caller does it once bm25 is done)."""
    qvec = sem.query_vector(text)
    if qvec is None:
        return None, None
    pindex = sem.passage_index if passages else None
    if (sem.index is not None and sem.index.splits) or (pindex is not None and pindex.splits):
        return qvec, None
    return qvec, _scan(sem, qvec, CANDIDATES, passages, None)


def _semantic(c: sqlite3.Connection, sem: SemanticIndex, scan: _Scan, f: _Filter, need: int,
              passages: bool) -> list[tuple[dict[str, Any], float]]:
    """(row, cosine) for the checkpoints most similar to the query vector that pass the filters.

    A checkpoint's cosine is the best of its own vector's and (`passages`) its passages' (max
    pooling); a row whose best was a passage carries it as `passage` (checkpoint id, n). When the
    filters leave fewer than `need` of the scan's candidates, the indexes are asked for ten times more.
    """
    while True:
        rows = _rows_by(c, "id", list(scan.cos), f)
        index = sem.index
        if len(rows) >= need or scan.exhausted or index is None:
            break
        wider = _scan(sem, scan.qvec, min(scan.k * 10, len(index)), passages, _pool())  # selective filters
        if wider is None:
            break
        scan = wider
    out: list[tuple[dict[str, Any], float]] = []
    for r in rows:
        row = dict(r)
        n_score = scan.best_passage.get(row["id"])
        if n_score is not None and n_score[1] >= scan.cos[row["id"]]:
            row["passage"] = (row["id"], n_score[0])
        out.append((row, scan.cos[row["id"]]))
    out.sort(key=lambda x: -x[1])
    return out


def _matched(c: sqlite3.Connection, sem: SemanticIndex | None, r: dict[str, Any], match: str | None) -> str | None:
    """Why the hit was found: the passage that matched the query best, else bm25's best fragment."""
    passage = r.get("passage")
    if passage is not None and sem is not None:
        row = c.execute(f"SELECT {EMBED_COLUMNS} FROM checkpoints c WHERE c.id = ?", (passage[0],)).fetchone()
        pieces = checkpoint_passages(sem.passages, row) if row is not None else []
        if passage[1] < len(pieces):
            return excerpt(pieces[passage[1]], around=[t.strip('"') for t in (match or "").split(" OR ")])
    if match is not None and r.get("lexical") is not None:
        table, keyed = (("transcripts_fts", "SELECT rowid FROM checkpoint_transcripts WHERE checkpoint_id = ?")
                        if r.get("via_transcript") else ("checkpoints_fts", "SELECT rowid FROM checkpoints WHERE id = ?"))
        got = c.execute(
            f"SELECT snippet({table}, -1, '', '', ' … ', 24) FROM {table} WHERE {table} MATCH ? AND rowid = ({keyed})",
            (match, r.get("matched_id", r["id"]))).fetchone()
        if got is not None and got[0]:
            return excerpt(str(got[0]))
    return None


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="checkpoints-query-embed")
        return _POOL


def _newest_per_lineage(c: sqlite3.Connection, ranked: list[dict[str, Any]], f: _Filter,
                        limit: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for r in ranked:
        if len(out) >= limit:
            break
        if r["lineage_id"] in seen:
            continue
        seen.add(r["lineage_id"])
        newest = c.execute(
            f"SELECT {HEADER_SQL} FROM checkpoints c WHERE c.lineage_id = ?"
            " ORDER BY c.created_at DESC, c.rowid DESC LIMIT 1", (r["lineage_id"],),
        ).fetchone()
        if newest is None or newest["status"] not in f.statuses:
            continue  # the work's newest state is filtered out (e.g. completed later): so is the lineage
        out.append({**r, **dict(newest)})
    return out


def search(
    db: Database,
    semantic: SemanticIndex | None,
    query: str = "",
    *,
    project: str | None = None,
    statuses: Sequence[str] | None = None,
    since_hours: float | None = None,
    limit: int = 5,
    all_versions: bool = False,
    now: datetime | None = None,
    options: RankingOptions = DEFAULT,
) -> SearchOutcome:
    """Hybrid search when the model is ready, lexical otherwise; recency when the query is empty.

    `options`: how to rank (search.fusion; callers keep the default, the benchmark compares others).
    """

    now = now or utcnow()
    f = _filter(statuses, project, since_hours, now)
    check_text(query, "query")
    state: SemanticState = semantic.state if semantic is not None else "off"
    need = limit if all_versions else limit * 4 + 20
    match = fts_query(query)
    with db.read() as c:
        if semantic is not None and state == "ready":
            semantic.sync(c)
        use_semantic = state == "ready" and options.mode != "lexical" and bool(query.strip())
        if match is None and not use_semantic:
            rows = c.execute(
                f"SELECT {HEADER_SQL} FROM checkpoints c WHERE {f.sql} ORDER BY c.created_at DESC LIMIT ?",
                (*f.params, need),
            ).fetchall()
            ranked = [{**dict(r), "score": round(1.0 / (1.0 + age_hours(r["created_at"], now) / 24.0), 4),
                       "lexical": None, "semantic": None} for r in rows]
        else:
            # The query is embedded and the vector indexes scanned on another thread while bm25 runs
            # here (onnxruntime, numpy and SQLite release the GIL): a search costs the longer of the two.
            embed_text = strip_filler(query) if options.strip_filler else query
            pending = (_pool().submit(_embed_and_scan, semantic, embed_text, options.passages)
                       if use_semantic and semantic is not None else None)
            try:
                lex = (_lexical(c, str(db.path), match, f, need, bounded=use_semantic)
                       if match is not None and options.mode != "semantic" else [])
            finally:
                qvec, scan = pending.result() if pending is not None else (None, None)
            if scan is None and qvec is not None and semantic is not None:
                scan = _scan(semantic, qvec, CANDIDATES, options.passages, _pool())
            sem = (_semantic(c, semantic, scan, f, need, options.passages)
                   if semantic is not None and scan is not None else [])
            if sem:
                ranked = fuse(lex, sem, options)
            else:  # lexical only: the score stays bm25, as it always was
                ranked = by_score({**r, "score": s, "lexical": s, "semantic": None} for r, s in lex)
        for r in ranked[:limit if all_versions else need]:
            r["matched_id"] = r["id"]  # the version that matched; the hit shows its lineage's newest
        if not all_versions:
            ranked = _newest_per_lineage(c, ranked, f, limit)
        matched = [_matched(c, semantic, r, match) for r in ranked[:limit]]
    hits = [
        SearchHit(
            id=r["id"], title=r["title"], goal=r["goal"], project=r["project"], status=r["status"],
            progress=r["progress"], next_step=r["next_step"], updated_at=r["updated_at"],
            age_hours=age_hours(r["created_at"], now), score=round(r["score"], 6),
            lexical=None if r["lexical"] is None else round(r["lexical"], 4),
            semantic=None if r["semantic"] is None else round(r["semantic"], 4), matched=m,
        )
        for r, m in zip(ranked[:limit], matched, strict=True)
    ]
    return SearchOutcome(hits=hits, semantic=state)
