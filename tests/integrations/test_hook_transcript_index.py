"""A captured transcript is searchable: the hook's reader hands the store what it read, which indexes
exactly what it would have read itself, redacted."""

from __future__ import annotations

from pathlib import Path

from mcp_server_checkpoints.integrations.claude_code import hooks
from mcp_server_checkpoints.search.transcript_text import TranscriptIndexing
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database
from mcp_server_checkpoints.storage.sqlite.search import search
from tests.integrations.transcript_fixtures import CWD, SESSION, Builder, large_session

TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


def test_pre_compact_indexes_what_the_session_said(tmp_path: Path) -> None:
    b = large_session(300_000)
    b.user("the grafana panel for the ingest lag shows nothing since tuesday")
    b.say(f"The datasource token was rotated:\n{TOKEN} is stale, so the panel queries fail.")
    b.tool("Bash", {"command": "cat .env", "description": "Show the env"}, result=f"GRAFANA_TOKEN={TOKEN}")
    transcript = b.write(tmp_path / "t.jsonl")
    store = SQLiteCheckpointStore(open_database(tmp_path / "s.db"))
    hook = {"session_id": SESSION, "transcript_path": str(transcript), "cwd": CWD, "hook_event_name": "PreCompact",
            "trigger": "auto"}
    saved = hooks.capture(hook, store, source="pre-compact", trigger="auto")
    assert saved is not None
    with store.db.read() as c:
        (body,) = [r[0] for r in c.execute("SELECT body FROM checkpoint_transcripts WHERE checkpoint_id = ?",
                                           (saved.id,))]
    stored = store.get(saved.id).payload
    assert stored is not None and stored.transcript is not None
    assert body == TranscriptIndexing().text_of(stored.transcript)  # the store's own reading, to the byte
    assert TOKEN not in body and "[REDACTED:" in body
    hit = search(store.db, None, "grafana ingest lag panel", statuses=["any"]).hits[0]
    assert hit.id == saved.id and hit.matched is not None and "grafana" in hit.matched.lower()
    store.db.close()


def test_a_transcript_that_is_not_json_lines_is_indexed_by_the_store(tmp_path: Path) -> None:
    transcript = tmp_path / "t.jsonl"
    transcript.write_text(Builder().user("rename the billing tables").text() + "\nnot json at all\n")
    store = SQLiteCheckpointStore(open_database(tmp_path / "s.db"))
    hook = {"session_id": SESSION, "transcript_path": str(transcript), "cwd": CWD, "trigger": "auto"}
    saved = hooks.capture(hook, store, source="pre-compact", trigger="auto")
    assert saved is not None
    assert search(store.db, None, "billing tables", statuses=["any"]).hits[0].id == saved.id
    store.db.close()
