from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from mcp import Client

from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.server import build_server
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "checkpoints.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SQLiteCheckpointStore]:
    s = SQLiteCheckpointStore(open_database(db_path), max_payload_bytes=1024 * 1024)
    try:
        yield s
    finally:
        s.db.close()


@pytest.fixture
def settings(db_path: Path) -> Settings:
    # semantic=False: only the tests about semantic search load the model (tests/storage/test_semantic*.py).
    return Settings(db=db_path, max_payload_bytes=1024 * 1024, semantic=False)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Client]:
    async with Client(build_server(settings)) as c:
        yield c


def fields(**kw: object) -> CheckpointFields:
    base: dict[str, object] = {"title": "JWT refresh endpoint", "goal": "Add JWT authentication to the API"}
    base.update(kw)
    return CheckpointFields.model_validate(base)


FULL = {
    "title": "JWT refresh endpoint",
    "goal": "Add JWT authentication with refresh tokens",
    "project": "api",
    "status": "paused",
    "progress": 60,
    "phase": "implementation",
    "current_work": "Writing the refresh handler",
    "completed": ["login endpoint", "token signing"],
    "files": [{"path": "src/auth.js", "change": "login"}, {"path": "src/mw.js", "change": ""}],
    "decisions": [{"decision": "RS256", "reasoning": "key rotation"}],
    "next_step": "Implement POST /auth/refresh",
    "remaining": ["logout revocation", "expiry tests"],
    "blockers": ["staging keys missing"],
    "user_input_needed": ["token lifetime?"],
    "approaches": [{"approach": "HS256", "outcome": "failed", "note": "shared secret"}],
    "preferences": ["tests beside code"],
    "discoveries": ["express-jwt is unmaintained"],
    "resume_instructions": "Run npm test first",
    "summary": "A long compaction summary ...",
    "tags": ["auth", "jwt"],
    "session_id": "sess-1",
    "agent_id": "claude",
    "payload": {"transcript": "user: hi\nassistant: hello\n" * 50, "tool_history": [{"tool": "Edit"}],
                "project_state": {"branch": "main"}},
}
