"""Persistence: SQLite, payload codec, lexical and vector search. Plain Python: never imports mcp."""

from mcp_server_checkpoints.storage.checkpoints import CheckpointStore, ImportReport, VerifyReport, open_database
from mcp_server_checkpoints.storage.db import Database
from mcp_server_checkpoints.storage.embedder import Embedder
from mcp_server_checkpoints.storage.search import SearchOutcome

__all__ = ["CheckpointStore", "Database", "Embedder", "ImportReport", "SearchOutcome", "VerifyReport", "open_database"]
