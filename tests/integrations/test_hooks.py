"""The two Claude Code hooks run as real subprocesses with JSON on stdin, as Claude Code runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mcp_server_checkpoints.domain.time import utcnow
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.schemas.export import export_line
from mcp_server_checkpoints.storage import codec
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database
from tests.integrations.transcript_fixtures import CWD, FIRST_REQUEST, SESSION, Builder, large_session, session

pytestmark = pytest.mark.slow


class Env:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.db = tmp / "hooks.db"
        self.log = tmp / "state" / "mcp-server-checkpoints" / "hooks.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("CHECKPOINTS_", "CLAUDE_"))}
        self.env.update(XDG_STATE_HOME=str(tmp / "state"), XDG_CONFIG_HOME=str(tmp / "config"))

    def hook(self, event: str, payload: Any) -> subprocess.CompletedProcess[str]:
        stdin = payload if isinstance(payload, str) else json.dumps(payload)
        return subprocess.run([sys.executable, "-m", "mcp_server_checkpoints", "hook", event, "--db", str(self.db)],
                              input=stdin, capture_output=True, text=True, timeout=60, env=self.env)

    def store(self) -> SQLiteCheckpointStore:
        return SQLiteCheckpointStore(open_database(self.db))


def compact_input(transcript: Path, trigger: str = "auto") -> dict[str, Any]:
    return {"session_id": SESSION, "transcript_path": str(transcript), "cwd": CWD, "permission_mode": "default",
            "hook_event_name": "PreCompact", "trigger": trigger, "custom_instructions": ""}


def start_input(source: str, session_id: str = SESSION) -> dict[str, Any]:
    return {"session_id": session_id, "transcript_path": "/nowhere.jsonl", "cwd": CWD,
            "hook_event_name": "SessionStart", "source": source}


def test_pre_compact_then_session_start_compact_recovers_the_same_work(tmp_path: Path) -> None:
    env = Env(tmp_path)
    transcript = session().write(tmp_path / f"{SESSION}.jsonl")
    res = env.hook("pre-compact", compact_input(transcript))
    assert res.returncode == 0 and res.stdout == "" and res.stderr == ""
    saved = env.store().latest_in_session(SESSION)
    assert saved is not None and saved.project == CWD and saved.next_step == "Auth middleware"
    full = env.store().get(saved.id)
    assert full.payload and full.payload.transcript == transcript.read_text()

    out = env.hook("session-start", start_input("compact"))
    assert out.returncode == 0
    msg = json.loads(out.stdout)["hookSpecificOutput"]
    assert msg["hookEventName"] == "SessionStart" and len(msg["additionalContext"]) <= 10_000
    ctx = msg["additionalContext"]
    for part in (FIRST_REQUEST, "Login endpoint issuing tokens", "Next immediate step: Auth middleware",
                 "Refresh endpoint with rotation", "src/middleware.js", saved.id):
        assert part in ctx
    assert env.store().get(saved.id).status == "resumed"


def test_second_compaction_links_parent_and_stores_a_small_difference(tmp_path: Path) -> None:
    env = Env(tmp_path)
    b = large_session(400_000)
    transcript = b.write(tmp_path / "t.jsonl")
    env.hook("pre-compact", compact_input(transcript))
    first = env.store().latest_in_session(SESSION)
    b.user("Now the refresh endpoint").say("Implemented POST /auth/refresh with rotation.")
    b.write(transcript)
    env.hook("pre-compact", compact_input(transcript, "manual"))
    second = env.store().latest_in_session(SESSION)
    assert first and second and second.parent_id == first.id and "manual" in second.tags
    sizes = {r["id"]: (r["codec"], r["stored"]) for r in env.store().db.conn().execute(
        "SELECT id, payload_codec AS codec, LENGTH(payload_blob) AS stored FROM checkpoints")}
    payload = env.store().get(second.id).payload
    assert payload is not None and payload.transcript == transcript.read_text()
    alone = codec.encode(codec.payload_bytes({k: v for k, v in asdict(payload).items() if v is not None}))  # what a full copy would take
    assert sizes[second.id][0] == "zstd-prefix" and sizes[second.id][1] < len(alone.blob) / 5


def test_session_start_startup_offers_recent_work_and_is_silent_otherwise(tmp_path: Path) -> None:
    env = Env(tmp_path)
    silent = env.hook("session-start", start_input("startup", "another-session"))
    assert silent.returncode == 0 and silent.stdout == ""
    env.store().save(CheckpointFields(title="Database migration", goal="Move users to Postgres", project=CWD,
                                      progress=75, next_step="Test rollback procedure"),
                     now=utcnow() - timedelta(hours=2))
    out = env.hook("session-start", start_input("startup", "another-session"))
    ctx = json.loads(out.stdout)["hookSpecificOutput"]["additionalContext"]
    assert "Found incomplete work from 2 hours ago" in ctx and "offer to resume" in ctx
    other_project = env.hook("session-start", {**start_input("clear", "x"), "cwd": "/somewhere/else"})
    assert other_project.stdout == ""


@pytest.mark.parametrize("stdin", ["", "not json", "[1, 2]", json.dumps({"transcript_path": "/no/such/file.jsonl"})])
def test_bad_input_never_fails_the_client(tmp_path: Path, stdin: str) -> None:
    env = Env(tmp_path)
    for event in ("pre-compact", "session-start"):
        res = env.hook(event, stdin)
        assert res.returncode == 0 and res.stderr == ""
    if stdin.strip():
        assert env.log.exists() and "pre-compact failed" in env.log.read_text()


def test_bad_settings_or_arguments_still_exit_zero(tmp_path: Path) -> None:
    env = Env(tmp_path)
    env.env["CHECKPOINTS_MAX_PAYLOAD_BYTES"] = "not a number"
    assert env.hook("pre-compact", compact_input(tmp_path / "t.jsonl")).returncode == 0
    res = subprocess.run([sys.executable, "-m", "mcp_server_checkpoints", "hook", "no-such-event"],
                         input="{}", capture_output=True, text=True, timeout=60, env=env.env)
    assert res.returncode == 0


def test_transcript_larger_than_the_payload_limit_keeps_its_newest_part(tmp_path: Path) -> None:
    env = Env(tmp_path)
    env.env["CHECKPOINTS_MAX_PAYLOAD_BYTES"] = str(2 * 1024 * 1024)
    b = session(big_result_bytes=3 * 1024 * 1024)
    transcript = b.write(tmp_path / "big.jsonl")
    assert env.hook("pre-compact", compact_input(transcript)).returncode == 0
    saved = env.store().latest_in_session(SESSION)
    assert saved is not None and saved.goal.startswith(FIRST_REQUEST)  # parsed from the whole file
    payload = env.store().get(saved.id).payload
    assert payload and payload.transcript and transcript.read_text().endswith(payload.transcript)
    assert isinstance(payload.project_state, dict) and payload.project_state["transcript_bytes_left_out"] > 0


def test_secrets_in_the_transcript_are_redacted(tmp_path: Path) -> None:
    env = Env(tmp_path)
    b = Builder().user("deploy it; the key is AKIAIOSFODNN7EXAMPLQ").say("ok")
    b.tool("Bash", {"command": "psql postgres://admin:S3cr3tPa55@db/app"}, result="DB_PASSWORD=hunter2-correct-horse")
    transcript = b.write(tmp_path / "s.jsonl")
    env.hook("pre-compact", compact_input(transcript))
    saved = env.store().latest_in_session(SESSION)
    assert saved is not None and sum(saved.redactions.values()) >= 3
    dumped = export_line(env.store().get(saved.id))
    for secret in ("AKIAIOSFODNN7EXAMPLQ", "S3cr3tPa55", "hunter2-correct-horse"):
        assert secret not in dumped


def test_only_the_hook_command_takes_the_hook_path(tmp_path: Path) -> None:
    """The hook builds just its own command line and exits 0 on anything; other commands that merely
    contain the word (a search for "hook") keep the whole CLI and its exit codes."""
    env = Env(tmp_path)
    store = env.store()
    store.save(CheckpointFields(title="PreCompact hook timing", goal="make the hook fast", next_step="profile it",
                                project=CWD))
    store.db.close()
    cli = [sys.executable, "-m", "mcp_server_checkpoints", "--db", str(env.db)]
    found = subprocess.run([*cli, "search", "hook", "--json"], capture_output=True, text=True, timeout=60, env=env.env)
    assert found.returncode == 0, found.stderr
    assert [h["title"] for h in json.loads(found.stdout)["results"]] == ["PreCompact hook timing"]
    wrong = subprocess.run([*cli, "search", "hook", "--no-such-flag"], capture_output=True, text=True, timeout=60,
                           env=env.env)
    assert wrong.returncode == 2 and "unrecognized arguments" in wrong.stderr
    res = subprocess.run([*cli, "hook", "session-start"], input=json.dumps(start_input("startup")),
                         capture_output=True, text=True, timeout=60, env=env.env)
    assert res.returncode == 0 and "PreCompact hook timing" in res.stdout


def test_the_hook_log_never_repeats_what_the_hook_was_given(tmp_path: Path) -> None:
    """A failure is logged by type and place: an OS or parser message would quote the input (here a key)."""
    env = Env(tmp_path)
    secret = "AKIA" + "HOOKLOGLEAK12345"
    res = env.hook("pre-compact", {**compact_input(tmp_path / "t.jsonl"), "transcript_path": f"/no/{secret}.jsonl"})
    assert res.returncode == 0
    log = env.log.read_text()
    assert "pre-compact failed: FileNotFoundError at " in log and secret not in log
