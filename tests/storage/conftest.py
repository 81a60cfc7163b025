from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_server_checkpoints.storage.sqlite.checkpoints import open_database
from mcp_server_checkpoints.storage.sqlite.graph import GraphStore


@pytest.fixture
def graph(db_path: Path) -> Iterator[GraphStore]:
    """A knowledge graph over a fresh SQLite file (the memory-server operations, no semantic ranker)."""
    g = GraphStore(open_database(db_path))
    try:
        yield g
    finally:
        g.db.close()
