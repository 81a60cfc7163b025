"""A stored transcript's conversation is searchable: bm25 over its text, passages for the semantic side,
`matched` saying where; off with `index_transcripts = false`; kept in step by save, import, delete and
`reindex_lexical`; only ever its redacted text."""

from __future__ import annotations

import json
from pathlib import Path

from mcp_server_checkpoints.domain.records import Checkpoint
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields, Payload
from mcp_server_checkpoints.search.passages import Passages
from mcp_server_checkpoints.search.transcript_text import TranscriptIndexing
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database
from mcp_server_checkpoints.storage.sqlite.search import search
from mcp_server_checkpoints.storage.sqlite.semantic import SemanticIndex
from tests.storage.test_fusion import FakeEmbedder


def transcript(*said: str, noise: str = "") -> str:
    lines = []
    for i, text in enumerate(said):
        role = "user" if i % 2 == 0 else "assistant"
        content = text if role == "user" else [{"type": "text", "text": text}]
        lines.append(json.dumps({"type": role, "message": {"role": role, "content": content}}))
    if noise:
        lines.append(json.dumps({"type": "user", "message": {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": noise}]}}))
    return "\n".join(lines)


def session(title: str, *said: str, noise: str = "") -> CheckpointFields:
    return CheckpointFields(title=title, goal="Routine upkeep", payload=Payload(transcript=transcript(*said, noise=noise)))


def bodies(store: SQLiteCheckpointStore) -> dict[str, str]:
    with store.db.read() as c:
        return {r[0]: r[1] for r in c.execute("SELECT checkpoint_id, body FROM checkpoint_transcripts")}


def test_a_detail_said_only_in_the_transcript_finds_its_checkpoint(store: SQLiteCheckpointStore) -> None:
    target = store.save(session("Weekly maintenance", "the nightly job fails", "The kafka consumer group keeps"
                                " rebalancing because session.timeout.ms is too low.")).id
    store.save(session("Weekly maintenance", "tidy the readme", "Done."))
    store.save(CheckpointFields(title="Rebalance the budget spreadsheet", goal="finance"))
    hits = search(store.db, None, "kafka consumer group", statuses=["any"]).hits
    assert hits[0].id == target and hits[0].lexical is not None
    assert hits[0].matched is not None and "kafka consumer group" in hits[0].matched.lower()
    # A word in the fields still counts first: the transcript is weighted as a summary is.
    assert search(store.db, None, "rebalance budget", statuses=["any"]).hits[0].title.startswith("Rebalance")


def test_tool_output_is_not_searchable(store: SQLiteCheckpointStore) -> None:
    store.save(session("Dependency bump", "bump the deps", "Bumped.", noise="zyxwvut-lockfile-hash"))
    assert search(store.db, None, "zyxwvut", statuses=["any"]).hits == []


def test_switched_off_nothing_is_indexed_and_reindex_fills_it_in_when_on(db_path: Path) -> None:
    off = SQLiteCheckpointStore(open_database(db_path), transcripts=TranscriptIndexing(enabled=False))
    cid = off.save(session("Weekly maintenance", "why is the flamegraph flat", "Sampling was off.")).id
    assert bodies(off) == {} and search(off.db, None, "flamegraph", statuses=["any"]).hits == []
    assert off.reindex_lexical() == 0 and bodies(off) == {}
    off.db.close()
    on = SQLiteCheckpointStore(open_database(db_path))  # e.g. saved by an earlier release, then `ckpt reindex`
    ticks: list[int] = []
    assert on.reindex_lexical(progress=ticks.append) == 1 and ticks == [1]
    assert list(bodies(on)) == [cid] and search(on.db, None, "flamegraph", statuses=["any"]).hits[0].id == cid
    assert on.reindex_lexical() == 1 and len(bodies(on)) == 1  # again: rebuilt, not doubled
    on.db.close()


def test_delete_and_import_keep_the_text_in_step(store: SQLiteCheckpointStore, tmp_path: Path) -> None:
    cid = store.save(session("Weekly maintenance", "why is the flamegraph flat", "Sampling was off.")).id
    exported: Checkpoint = store.get(cid)
    store.delete(cid)
    assert bodies(store) == {} and search(store.db, None, "flamegraph", statuses=["any"]).hits == []
    report = store.import_checkpoints([exported])
    assert report.imported == 1 and list(bodies(store)) == [cid]
    assert store.import_checkpoints([exported], replace=True).imported == 1 and list(bodies(store)) == [cid]
    assert search(store.db, None, "flamegraph", statuses=["any"]).hits[0].id == cid


def test_only_the_redacted_text_is_indexed(store: SQLiteCheckpointStore) -> None:
    key = "AKIA" + "IOSFODNN7EXAMPLQ"
    store.save(session("Deploy", f"the key is\n{key}", "Noted."))
    (body,) = bodies(store).values()
    assert key not in body and "[REDACTED:aws-access-key" in body


def test_passages_of_the_transcript_reach_the_semantic_side(store: SQLiteCheckpointStore) -> None:
    store.semantic = SemanticIndex.ready_with(store.db, FakeEmbedder(), Passages(words=30, overlap=5))
    filler = "routine " * 400
    target = store.save(session("Weekly maintenance", filler, "The invoice totals were rounded twice.", filler)).id
    store.save(session("Weekly maintenance", filler, "The jwt login page was restyled.", filler))
    while store.semantic.embed_pending():
        pass
    # "payment" is in no text (no bm25 match); the fake embeds payment and invoice as one concept.
    hit = search(store.db, store.semantic, "payment", statuses=["any"]).hits[0]
    assert hit.id == target and hit.lexical is None
    assert hit.matched is not None and "invoice totals were rounded twice" in hit.matched


def test_verify_reports_a_drifted_index_and_reindex_repairs_it(store: SQLiteCheckpointStore) -> None:
    store.save(session("Weekly maintenance", "why is the flamegraph flat", "Sampling was off."))
    store.save(CheckpointFields(title="JWT refresh", goal="rotate tokens"))
    assert store.verify().ok
    with store.db.write() as c:  # each external-content index loses its rows behind its table's back
        for table in ("transcripts_fts", "checkpoints_fts"):
            c.execute(f"INSERT INTO {table}({table}) VALUES('delete-all')")
    problems = store.verify().problems
    assert any("stored transcripts" in p for p in problems) and any("the checkpoints" in p for p in problems)
    store.reindex_lexical()
    assert store.verify().ok
    assert search(store.db, None, "flamegraph", statuses=["any"]).hits
