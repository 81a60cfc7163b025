"""Every hook stays light, whatever it does (save a capture, inject a summary, hand one on): no pydantic, no
mcp, no numpy, no embedding model in the hook's process. A contract on what is imported, not a timing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_server_checkpoints.domain.time import iso, utcnow
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database
from tests.integrations.transcript_fixtures import MODERN_CWD, MODERN_SESSION, compact_summary_text, modern_session

pytestmark = pytest.mark.slow

PROBE = """
import io, sys
sys.stdin = io.StringIO(sys.argv[2])
from mcp_server_checkpoints.cli import main
main(["--db", sys.argv[3], "hook", sys.argv[1]])
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"pydantic", "pydantic_core", "mcp", "numpy", "torch",
                                                          "sentence_transformers", "onnxruntime", "tokenizers"})
print("HEAVY", heavy)
"""


@pytest.mark.parametrize(("event", "source"), [("session-start", "compact"), ("session-start", "startup"),
                                               ("post-compact", None), ("pre-compact", None), ("session-end", None)])
def test_no_heavy_imports(tmp_path: Path, event: str, source: str | None) -> None:
    db = tmp_path / "h.db"
    store = SQLiteCheckpointStore(open_database(db))
    store.save(CheckpointFields(title="Rounding", goal="fix rounding", session_id=MODERN_SESSION, project=MODERN_CWD,
                                next_step="Tell QA"))
    store.db.close()
    b = modern_session()
    b.system("compact_boundary", compactMetadata={"trigger": "auto"}, timestamp=iso(utcnow()))
    b.user(compact_summary_text(), isCompactSummary=True, timestamp=iso(utcnow()))
    transcript = b.write(tmp_path / "t.jsonl")
    hook = {"session_id": MODERN_SESSION if event != "session-end" else "another-session",
            "transcript_path": str(transcript), "cwd": MODERN_CWD, "source": source, "trigger": "auto",
            "reason": "exit", "compact_summary": compact_summary_text()}
    env = {"XDG_STATE_HOME": str(tmp_path / "state"), "PATH": "/usr/bin:/bin"}
    res = subprocess.run([sys.executable, "-c", PROBE, event, json.dumps(hook), str(db)],
                         capture_output=True, text=True, timeout=60, env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "HEAVY []"
    if source == "compact":  # the path that parses the summary and renders what it lacks
        assert "beyond that summary" in res.stdout and "Tell QA" in res.stdout
    elif source == "startup":
        assert "found unfinished work" in res.stdout
    elif event in ("pre-compact", "session-end"):  # the capture was saved, through the whole saving path
        store = SQLiteCheckpointStore(open_database(db))
        saved = store.latest_in_session(hook["session_id"])
        store.db.close()
        assert saved is not None and event in saved.tags
