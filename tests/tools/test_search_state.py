"""search_checkpoints reports the semantic state its search ran with, not one read before it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pytest
from mcp import Client

from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.domain.records import SemanticState
from mcp_server_checkpoints.server.app import AppState, build_server
from mcp_server_checkpoints.storage.protocols import SearchOutcome
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database
from mcp_server_checkpoints.wiring import Services

pytestmark = pytest.mark.anyio


class ModelReadyDuringSearch(SQLiteCheckpointStore):
    """A test double: the model is still warming when asked before the search, ready by the time it runs."""

    def semantic_state(self) -> SemanticState:
        return "warming"

    def search_with_state(self, query: str = "", *, project: str | None = None, statuses: Sequence[str] | None = None,
                          since_hours: float | None = None, limit: int = 5, all_versions: bool = False,
                          now: datetime | None = None) -> SearchOutcome:
        out = super().search_with_state(query, project=project, statuses=statuses, since_hours=since_hours,
                                        limit=limit, all_versions=all_versions, now=now)
        return SearchOutcome(hits=out.hits, semantic="ready")


async def test_reported_state_is_the_one_used(tmp_path: Path) -> None:
    settings = Settings(db=tmp_path / "s.db", semantic=False)
    db = open_database(settings.db)
    store = ModelReadyDuringSearch(db)
    state = AppState(Services(settings=settings, db=db, store=store))
    async with Client(build_server(settings, state)) as client:
        res = await client.call_tool("search_checkpoints", {"query": "anything"})
    assert res.structured_content is not None
    assert res.structured_content["semantic"] == "ready"
