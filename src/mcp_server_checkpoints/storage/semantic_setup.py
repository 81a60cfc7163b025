"""Choosing the semantic index for a process from the settings (plain Python: the CLI uses it too)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from mcp_server_checkpoints.errors import InvalidInputError
from mcp_server_checkpoints.storage.db import Database
from mcp_server_checkpoints.storage.semantic import SemanticIndex
from mcp_server_checkpoints.storage.sentence_embedder import load_embedder, semantic_installed

if TYPE_CHECKING:
    from mcp_server_checkpoints.config import Settings


def semantic_index(db: Database, settings: Settings) -> SemanticIndex | None:
    """A not-yet-started index ("warming"), or None ("off") when switched off or the extra is missing."""
    if not settings.semantic or not semantic_installed():
        return None
    return SemanticIndex(db, functools.partial(load_embedder, settings.embedding_model))


def ready_index(db: Database, settings: Settings, *, bulk: bool = False) -> SemanticIndex:
    """An index with its model loaded now (the CLI: `reindex`, `search --semantic`); raises if it cannot be."""
    if not settings.semantic:
        raise InvalidInputError("semantic search is switched off (semantic = false); switch it on or use --lexical-only")
    if not semantic_installed():
        raise InvalidInputError(
            "semantic search needs the optional extra: pip install 'mcp-server-checkpoints[semantic]'"
            " (install torch's CPU build first); or use --lexical-only"
        )
    return SemanticIndex.ready_with(db, load_embedder(settings.embedding_model, threads=None if bulk else 1))
