"""One redaction gate that every write passes: each write path of the store contracts, each CLI command
that writes, and the tools, fed the planted secrets in every text they take; no secret may reach any file
of the store (the database and its WAL, read raw) or an export.

The write paths are enumerated, not listed by hand: a new write method on `CheckpointStore` or
`GraphStore`, or a new CLI command, fails `test_every_write_path_has_a_case` until a case below plants
secrets through it.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mcp_server_checkpoints.cli import COMMANDS, main
from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.domain.records import Checkpoint, StatusChange
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.schemas.export import export_line
from mcp_server_checkpoints.schemas.graph import Entity, ObservationAddition, ObservationDeletion, Relation
from mcp_server_checkpoints.storage.protocols import CheckpointStore, GraphStore
from mcp_server_checkpoints.wiring import Services, open_services
from tests.storage.secret_corpus import SECRETS

# Every planted secret, after the separators real text puts before them (a JSON-escaped newline in a
# transcript decodes to a newline here).
TEXT = "\n".join(text for _, text, _ in SECRETS) + "\t" + " \"".join(text for _, text, _ in SECRETS[:5])
SECRET_PARTS = [secret for _, _, secret in SECRETS]
WRITE = object()

# The read-only members of the contracts; everything else a contract declares is a write path.
READS = {
    "exists", "get", "history", "status_of", "verify_payload", "lineage", "latest_in_session", "latest", "count",
    "iter_all", "search", "search_with_state", "semantic_state", "list_recent", "stats", "verify",
    "read_graph", "search_nodes", "open_nodes", "ranked", "counts",
}
# CLI commands that never write stored text (serve writes through the tools, tested by their cases).
CLI_NO_TEXT = {"serve", "list", "search", "show", "export", "stats", "verify", "demo", "setup", "uninstall", "init",
               "export-memory", "backup", "reindex", "delete", "key", "encrypt", "decrypt"}


def contract_methods(proto: type) -> set[str]:
    return {n for n, v in vars(proto).items() if callable(v) and not n.startswith("_")}


def raw_store(s: Settings) -> bytes:
    return b"".join(p.read_bytes() for p in s.db.parent.glob(f"{s.db.name}*") if p.is_file())


def assert_no_secret(s: Settings, sv: Services, where: str) -> None:
    raw = raw_store(s)
    exported = "".join(export_line(cp) for cp in sv.store.iter_all()) + json.dumps(sv.graph.read_graph().wire())
    for secret in SECRET_PARTS:
        assert secret.encode() not in raw, f"{where}: {secret[:12]}… reached the database file"
        assert secret not in exported, f"{where}: {secret[:12]}… is in an export"


def saved(sv: Services) -> str:
    return sv.store.save(CheckpointFields(title="gate", goal="gate")).id


def one(i: int, limit: int) -> str:
    """The i-th planted secret's text (whole), for a field too short for all of them."""
    fitting = [text for _, text, _ in SECRETS if len(text) <= limit]
    return fitting[i % len(fitting)]


def everything(**extra: Any) -> CheckpointFields:
    long_fields = ("goal", "current_work", "next_step", "resume_instructions", "summary")
    return CheckpointFields.model_validate({
        "title": one(0, 300), "project": one(1, 500), "phase": one(2, 200), "session_id": one(3, 200),
        "agent_id": one(4, 200), **{f: TEXT for f in long_fields},
        "completed": [TEXT], "remaining": [TEXT], "blockers": [TEXT], "user_input_needed": [TEXT],
        "preferences": [TEXT], "discoveries": [TEXT], "tags": [one(5, 100), one(6, 100)],
        "files": [{"path": one(7, 300), "change": TEXT}], "decisions": [{"decision": TEXT, "reasoning": TEXT}],
        "approaches": [{"approach": TEXT, "outcome": "failed", "note": TEXT}],
        "payload": {"transcript": json.dumps({"type": "user", "message": {"content": TEXT}}) + "\n" + TEXT,
                    "tool_history": [{"input": TEXT, "output": {"stdout": TEXT}}], "project_state": {"env": TEXT}},
        **extra})


def entity(name: str = "gate") -> Entity:
    return Entity(name=name, entityType=SECRETS[0][1], observations=[TEXT, *(t for _, t, _ in SECRETS)])


# -- one case per write path: (sv, settings, tmp) -> None --------------------------------------------------
StoreCase = Callable[[Services, Settings, Path], object]

STORE_CASES: dict[str, StoreCase] = {
    "save": lambda sv, s, tmp: sv.store.save(everything()),
    "save_data": lambda sv, s, tmp: sv.store.save_data(everything().model_dump(exclude_defaults=True)),
    "set_status": lambda sv, s, tmp: sv.store.set_status(saved(sv), "abandoned", TEXT),
    "delete": lambda sv, s, tmp: sv.store.delete(sv.store.save(everything(parent_id=saved(sv))).id),
    "import_checkpoints": lambda sv, s, tmp: sv.store.import_checkpoints([Checkpoint(
        id="checkpoint-2026-01-01-gate-abcdef", title=one(0, 300), goal=TEXT, summary=TEXT, status="paused",
        remaining=[TEXT], created_at="2026-01-01T00:00:00Z", updated_at="2026-01-01T00:00:00Z",
        history=[StatusChange(status="paused", at="2026-01-01T00:00:00Z", note=TEXT)])]),
    "reindex_lexical": lambda sv, s, tmp: (sv.store.save(everything()), sv.store.reindex_lexical()),
    "backup": lambda sv, s, tmp: (sv.store.save(everything()), sv.store.backup(s.db.parent / "checkpoints.db.bak")),
    "create_entities": lambda sv, s, tmp: sv.graph.create_entities([entity(), entity(SECRETS[2][1])]),
    "create_relations": lambda sv, s, tmp: sv.graph.create_relations([Relation.of(SECRETS[0][1], SECRETS[2][1], TEXT)]),
    "add_observations": lambda sv, s, tmp: (sv.graph.create_entities([Entity(name="n", entityType="t", observations=[])]),
                                            sv.graph.add_observations([ObservationAddition(entityName="n", contents=[TEXT])])),
    "delete_entities": lambda sv, s, tmp: (sv.graph.create_entities([entity()]), sv.graph.delete_entities([SECRETS[2][1]])),
    "delete_observations": lambda sv, s, tmp: (sv.graph.create_entities([entity()]), sv.graph.delete_observations(
        [ObservationDeletion(entityName="gate", observations=[SECRETS[1][1]])])),
    "delete_relations": lambda sv, s, tmp: sv.graph.delete_relations([Relation.of(TEXT, TEXT, TEXT)]),
}


def cli_import(s: Settings, tmp: Path) -> None:
    line = {"id": "checkpoint-2026-01-02-cli-abcdef", "title": "t", "goal": TEXT, "status": "paused",
            "summary": TEXT, "created_at": "2026-01-02T00:00:00Z", "updated_at": "2026-01-02T00:00:00Z",
            "payload": {"transcript": TEXT, "tool_history": None, "project_state": None}}
    (tmp / "in.jsonl").write_text(json.dumps(line) + "\n")
    assert main(["import", str(tmp / "in.jsonl"), "--db", str(s.db)]) == 0


def cli_import_memory(s: Settings, tmp: Path) -> None:
    lines = [{"type": "entity", "name": SECRETS[2][1], "entityType": SECRETS[0][1], "observations": [TEXT]},
             {"type": "relation", "from": SECRETS[2][1], "to": "x", "relationType": TEXT}]
    (tmp / "memory.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    assert main(["import-memory", str(tmp / "memory.jsonl"), "--db", str(s.db)]) == 0


def cli_status(s: Settings, tmp: Path) -> None:
    with contextlib.closing(open_services(s)) as sv:
        cid = saved(sv)
    assert main(["status", cid, "completed", "--note", TEXT, "--db", str(s.db)]) == 0


def cli_hook(s: Settings, tmp: Path) -> None:
    """Every hook event that stores something, with the transcript holding the secrets as Claude Code writes them."""
    from tests.integrations.transcript_fixtures import Builder

    b = Builder().user(f"please deploy; {TEXT}").say(TEXT)
    b.tool("Bash", {"command": f"echo {SECRETS[0][1]}"}, result=TEXT)
    transcript = b.write(tmp / "session.jsonl")
    from mcp_server_checkpoints.cli.parser import build_parser

    events = build_parser().parse_args(["hook", "pre-compact"])  # the parser lists every hook event
    choices = next(a for a in build_parser(only="hook")._subparsers._group_actions[0].choices["hook"]._actions  # type: ignore[union-attr]
                   if a.dest == "event").choices
    assert events.event in choices
    for event in choices:
        hook = {"session_id": "s1", "transcript_path": str(transcript), "cwd": "/repo", "hook_event_name": event,
                "trigger": "auto", "source": "compact", "reason": "exit", "compact_summary": TEXT}
        stdin = io.StringIO(json.dumps(hook))
        with contextlib.redirect_stdout(io.StringIO()), _stdin(stdin):
            assert main(["hook", event, "--db", str(s.db)]) == 0


@contextlib.contextmanager
def _stdin(stream: io.StringIO) -> Any:
    import sys

    old = sys.stdin
    sys.stdin = stream
    try:
        yield
    finally:
        sys.stdin = old


CLI_CASES: dict[str, Callable[[Settings, Path], None]] = {
    "import": cli_import, "import-memory": cli_import_memory, "status": cli_status, "hook": cli_hook,
}


def test_every_write_path_has_a_case() -> None:
    writes = (contract_methods(CheckpointStore) | contract_methods(GraphStore)) - READS
    assert writes == set(STORE_CASES), f"write paths without a case: {writes - set(STORE_CASES)}"
    unclassified = set(COMMANDS) - CLI_NO_TEXT - set(CLI_CASES)
    assert not unclassified, f"CLI commands neither classified as writing no text nor given a case: {unclassified}"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    (tmp_path / "store").mkdir()
    return Settings(db=tmp_path / "store" / "gate.db", semantic=False, hook_log=tmp_path / "hooks.log")


@pytest.mark.parametrize("name", sorted(STORE_CASES))
def test_store_write_paths_pass_the_gate(name: str, settings: Settings, tmp_path: Path) -> None:
    with contextlib.closing(open_services(settings)) as sv:
        STORE_CASES[name](sv, settings, tmp_path)
        assert_no_secret(settings, sv, name)


@pytest.mark.parametrize("name", sorted(CLI_CASES))
def test_cli_write_paths_pass_the_gate(name: str, settings: Settings, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHECKPOINTS_HOOK_LOG", str(settings.hook_log))
    monkeypatch.setenv("CHECKPOINTS_SEMANTIC", "false")
    CLI_CASES[name](settings, tmp_path)
    with contextlib.closing(open_services(settings)) as sv:
        assert sv.store.count() + sv.graph.counts()["entities"] > 0  # the case really wrote something
        assert_no_secret(settings, sv, f"ckpt {name}")
    if settings.hook_log.exists():
        log = settings.hook_log.read_text()
        assert not any(secret in log for secret in SECRET_PARTS)


@pytest.mark.anyio
async def test_the_tools_pass_the_gate(settings: Settings) -> None:
    from mcp import Client

    from mcp_server_checkpoints.server.app import build_server

    async with Client(build_server(settings)) as c:
        res = await c.call_tool("save_checkpoint", everything().model_dump(exclude_none=True))
        assert not res.is_error
        cid = (res.structured_content or {})["id"]
        for name, args in (("mark_status", {"id": cid, "status": "paused", "note": TEXT}),
                           ("recover", {"message": TEXT}),
                           ("create_entities", {"entities": [json.loads(entity().model_dump_json())]}),
                           ("add_observations", {"observations": [{"entityName": "gate", "contents": [TEXT]}]}),
                           ("create_relations", {"relations": [{"from": SECRETS[0][1], "to": "b", "relationType": TEXT}]})):
            out = await c.call_tool(name, args)
            assert not out.is_error, (name, out.content)
    with contextlib.closing(open_services(settings)) as sv:
        assert_no_secret(settings, sv, "tools")
