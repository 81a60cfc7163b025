"""Build the MCP server: tools, instructions, lifespan. Wiring only; the logic lives below."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.types import ToolAnnotations

from mcp_server_checkpoints import __version__
from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.models import CheckpointFields, SemanticState
from mcp_server_checkpoints.server.strict import StrictArguments, bind, strict_tool
from mcp_server_checkpoints.storage import CheckpointStore, open_database
from mcp_server_checkpoints.storage.semantic_setup import semantic_index
from mcp_server_checkpoints.tools import checkpoints as ckpt_tools

log = logging.getLogger("mcp_server_checkpoints")
STARTUP_DELAY_S = 0.5  # before the model starts loading (bench/scale.py measures the handshake)

INSTRUCTIONS = """\
This server keeps checkpoints of your working sessions so work survives context compaction and new conversations.
- At the start of every conversation, before anything else, call search_checkpoints with the user's first message as the query (status default: open work). If a recent in-progress or paused checkpoint matches, offer to resume it: open_checkpoint gives the full recovered summary; then continue from its next step without asking the user to re-explain.
- Before long work may be cut off (long tasks, a large context, before compaction) and at milestones, call save_checkpoint with the goal, what is done, decisions and their reasons, the exact next step and what remains. Pass parent_id to save a later state of the same work.
- When work ends, call mark_status: completed with the outcome, or abandoned with the reason. If the user declines to resume, mark it on-hold.
"""


@dataclass
class AppState:
    settings: Settings
    store: CheckpointStore

    def semantic_state(self) -> SemanticState:
        return self.store.semantic_state()

    def start(self) -> None:
        """Start loading the embedding model in the background (the handshake never waits for it)."""
        if self.store.semantic is not None:
            # Clients send `initialize` as soon as the process starts: let it be answered first.
            self.store.semantic.start(delay=STARTUP_DELAY_S)

    def close(self) -> None:
        if self.store.semantic is not None:
            self.store.semantic.stop()
        self.store.db.close()


def open_state(settings: Settings) -> AppState:
    db = open_database(settings.db)
    store = CheckpointStore(db, default_project=settings.project, max_payload_bytes=settings.max_payload_bytes,
                            diff_chain_max=settings.diff_chain_max, semantic=semantic_index(db, settings))
    return AppState(settings=settings, store=store)


def _tools(state: AppState) -> list[Tool]:
    store = state.store

    def search(**kwargs: object) -> object:  # the semantic state is read at call time
        return ckpt_tools.search_checkpoints(store, state.semantic_state(), **kwargs)  # type: ignore[arg-type]

    search.__signature__ = bind(ckpt_tools.search_checkpoints, store, "off").__signature__  # type: ignore[attr-defined]
    search.__doc__ = ckpt_tools.search_checkpoints.__doc__
    read_only = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
    return [
        strict_tool(bind(ckpt_tools.save_checkpoint, store, model=CheckpointFields, name="save_checkpoint"),
                    name="save_checkpoint", title="Save a checkpoint",
                    annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                                                open_world_hint=False)),
        strict_tool(bind(search), name="search_checkpoints", title="Search checkpoints", annotations=read_only),
        strict_tool(bind(ckpt_tools.open_checkpoint, store), name="open_checkpoint", title="Open a checkpoint",
                    annotations=read_only),
        strict_tool(bind(ckpt_tools.mark_status, store), name="mark_status", title="Mark a checkpoint's status",
                    annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                                                open_world_hint=False)),
    ]


def build_server(settings: Settings, state: AppState | None = None) -> MCPServer:
    """The MCP server over one database. Opening the database waits for the first call."""
    state = state or open_state(settings)

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[AppState]:
        state.start()
        try:
            yield state
        finally:
            state.close()

    tools = _tools(state)
    return MCPServer(
        "checkpoints",
        title="Session checkpoints",
        version=__version__,
        instructions=INSTRUCTIONS,
        tools=tools,
        lifespan=lifespan,
        middleware=[StrictArguments(tools)],
        log_level=settings.log_level,
    )
