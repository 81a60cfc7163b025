"""Two server processes write one database at once: every acknowledged checkpoint is there afterwards."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SAVES = 40


async def writer(db: Path, name: str, acked: list[str]) -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_server_checkpoints", "--db", str(db)])
    async with Client(params) as client:
        for i in range(SAVES):
            res = await client.call_tool("save_checkpoint", {
                "title": f"{name} work {i}", "goal": "concurrency", "payload": {"transcript": f"{name} {i} " * 500}})
            assert not res.is_error, res.content
            assert res.structured_content is not None
            acked.append(res.structured_content["id"])
            if i % 5 == 0:
                st = await client.call_tool("mark_status", {"id": acked[-1], "status": "paused"})
                assert not st.is_error, st.content


async def test_two_servers_write_concurrently(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    acked: list[str] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(writer, db, "alpha", acked)
        tg.start_soon(writer, db, "beta", acked)
    assert len(acked) == 2 * SAVES
    store = SQLiteCheckpointStore(open_database(db))
    assert store.count() == 2 * SAVES
    for cid in acked:
        assert store.get(cid).payload is not None  # payload present and its sha256 verified
    assert store.verify().ok
