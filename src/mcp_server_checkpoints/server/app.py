"""Build the MCP server: tools, instructions, lifespan. Wiring only; the logic lives below."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.server.mcpserver.tools import Tool
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INVALID_PARAMS,
    Completion,
    CompletionArgument,
    CompletionContext,
    PromptReference,
    ResourceTemplateReference,
    ToolAnnotations,
)
from pydantic import Field

from mcp_server_checkpoints import __version__
from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.domain.ids import OWN_ID
from mcp_server_checkpoints.domain.statuses import OPEN_STATUSES
from mcp_server_checkpoints.errors import CheckpointsError, NotFoundError
from mcp_server_checkpoints.recovery.lifecycle import ConversationLink
from mcp_server_checkpoints.recovery.render import render_summary
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields, RecoverResult, SaveResult, SemanticState
from mcp_server_checkpoints.server.memory import add_memory_resource, memory_results, memory_tools
from mcp_server_checkpoints.server.strict import StrictArguments, bind, strict_tool
from mcp_server_checkpoints.storage.protocols import CheckpointStore
from mcp_server_checkpoints.tools import checkpoints as ckpt_tools
from mcp_server_checkpoints.tools import recovery as recovery_tools
from mcp_server_checkpoints.wiring import Services, open_services

log = logging.getLogger("mcp_server_checkpoints")
STARTUP_DELAY_S = 0.5  # before the model starts loading (bench/scale.py measures the handshake)

INSTRUCTIONS = """\
This server keeps checkpoints of your working sessions so work survives context compaction and new conversations.
- At the start of EVERY conversation, before anything else, call recover with the user's first message (even if it is just "Hello"). Follow its action: apply → the text is the recovered context: use it and continue from its next step without asking the user to re-explain anything; confirm → show the text and ask; if yes call recover(checkpoint_id=...), if no call mark_status(id, "on-hold"); choose → show the options and recover(checkpoint_id=...) the one picked; none → carry on.
- Before long work may be cut off (long tasks, a large context, before compaction) and at milestones, call save_checkpoint with the goal, what is done, decisions with their reasons, the exact next step and what remains. After a recovery, saves continue the recovered checkpoint automatically; otherwise pass parent_id to save a later state of the same work.
- When work ends, call mark_status: completed with the outcome, or abandoned with the reason.
"""


@dataclass
class AppState:
    """The services one server works with, and the conversation's link to the work it recovered."""

    services: Services
    link: ConversationLink = field(default_factory=ConversationLink)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def store(self) -> CheckpointStore:
        return self.services.store

    def semantic_state(self) -> SemanticState:
        return self.store.semantic_state()

    def start(self) -> None:
        """Start loading the embedding model in the background (the handshake never waits for it)."""
        # Clients send `initialize` as soon as the process starts: let it be answered first.
        self.services.start(delay=STARTUP_DELAY_S)

    def close(self) -> None:
        self.services.close()


def open_state(settings: Settings) -> AppState:
    return AppState(open_services(settings, semantic="background"))


def _tools(state: AppState) -> list[Tool]:
    store, project = state.store, state.settings.project

    def save(fields: CheckpointFields) -> SaveResult:
        result = ckpt_tools.save_checkpoint(store, state.link.link(fields, project))
        state.link.saved(result)
        return result

    save.__doc__ = ckpt_tools.save_checkpoint.__doc__

    def recover(**kwargs: object) -> RecoverResult:
        result = recovery_tools.recover(store, project, **kwargs)  # type: ignore[arg-type]
        state.link.recovered(result, kwargs.get("project") or project)  # type: ignore[arg-type]
        return result

    recover.__signature__ = bind(recovery_tools.recover, store, project).__signature__  # type: ignore[attr-defined]
    recover.__doc__ = recovery_tools.recover.__doc__

    read_only = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
    writes = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)
    return [
        strict_tool(bind(recover), name="recover", title="Recover previous work", annotations=writes),
        strict_tool(bind(save, model=CheckpointFields, name="save_checkpoint"), name="save_checkpoint",
                    title="Save a checkpoint", annotations=writes),
        strict_tool(bind(ckpt_tools.search_checkpoints, store), name="search_checkpoints", title="Search checkpoints", annotations=read_only),
        strict_tool(bind(ckpt_tools.open_checkpoint, store), name="open_checkpoint", title="Open a checkpoint",
                    annotations=read_only),
        strict_tool(bind(ckpt_tools.mark_status, store), name="mark_status", title="Mark a checkpoint's status",
                    annotations=writes),
    ]


TOPIC = "What the work was about, e.g. a checkpoint's title; without it the most recent unfinished work"
COMPLETION_LIMIT = 100  # the most values one completion/complete result may carry (MCP spec)


def _add_resources_and_prompts(server: MCPServer, state: AppState) -> None:
    store, project = state.store, state.settings.project

    @server.resource("checkpoint://latest", name="latest-checkpoint", title="Latest checkpoint",
                     mime_type="text/markdown",
                     description="The recovered summary of the most recent unfinished checkpoint (this project)")
    def latest() -> str:
        cp = store.latest(project=project)
        return render_summary(cp) if cp else "No unfinished checkpoint."

    @server.resource("checkpoint://{id}", name="checkpoint", title="Checkpoint", mime_type="text/markdown",
                     description="The recovered summary of one checkpoint")
    def one(id: str) -> str:
        try:
            store.verify_payload(id)
            return render_summary(store.get(id, with_payload=False))
        except NotFoundError as exc:
            # SEP-2164: a resource that does not exist is invalid params naming its URI. Only an id of our
            # own shape is repeated; anything else may be a pasted secret, so the template stands for it.
            uri = f"checkpoint://{id}" if OWN_ID.match(id) else "checkpoint://{id}"
            raise MCPError(code=INVALID_PARAMS, message=str(exc), data={"uri": uri}) from None
        except CheckpointsError as exc:
            raise ResourceError(str(exc)) from None

    @server.prompt(name="resume", title="Resume previous work",
                   description="Find the work to resume (optionally about a topic) and present it")
    def resume(topic: Annotated[str | None, Field(description=TOPIC)] = None) -> str:
        result = recovery_tools.recover(store, project, message=f"Let's continue {topic}" if topic else "continue")
        state.link.recovered(result, project)
        if result.action == "none" and not topic:
            # The search ran on the word "continue": saying it found nothing for "continue" reads as a bug.
            where = f" in project {project}" if project else ""
            return f"There is no unfinished work to resume{where}: no checkpoint has been saved yet, or all of " \
                   "it is completed or abandoned.\n\nNothing to resume; ask me what to work on."
        guide = {
            "apply": "Apply this recovered context and continue from its next step without asking me to re-explain.",
            "confirm": "Ask me whether to continue this work; on yes call recover with its checkpoint_id.",
            "choose": "Ask me which of these to continue; then call recover with its checkpoint_id.",
            "none": "Nothing to resume; ask me what to work on.",
        }[result.action]
        return f"{result.text}\n\n{guide}"

    @server.completion()  # type: ignore[no-untyped-call, untyped-decorator]  # (the SDK leaves it untyped)
    async def complete(ref: PromptReference | ResourceTemplateReference, argument: CompletionArgument,
                       context: CompletionContext | None) -> Completion:
        """`resume`'s topic: titles of recent unfinished work; `checkpoint://{id}`: their ids. Newest first.

        Anything else is invalid params (MCP spec), named without repeating what was sent.
        """
        if isinstance(ref, PromptReference):
            if ref.name != "resume":
                raise MCPError(code=INVALID_PARAMS, message="Unknown prompt; list them with prompts/list")
            if argument.name != "topic":
                raise MCPError(code=INVALID_PARAMS, message="The resume prompt has one argument: topic")
            pick = "title"
        else:
            if ref.uri != "checkpoint://{id}":
                raise MCPError(code=INVALID_PARAMS, message="No completion for this resource; the template "
                                                            "checkpoint://{id} has one (its id)")
            if argument.name != "id":
                raise MCPError(code=INVALID_PARAMS, message="The checkpoint://{id} template has one argument: id")
            pick = "id"
        typed = argument.value.casefold()
        hits = await anyio.to_thread.run_sync(
            lambda: store.list_recent(project=project, statuses=list(OPEN_STATUSES), limit=COMPLETION_LIMIT * 2))
        values = list(dict.fromkeys(v for h in hits if typed in (v := getattr(h, pick)).casefold()))
        return Completion(values=values[:COMPLETION_LIMIT], total=len(values),
                          has_more=len(values) > COMPLETION_LIMIT)


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

    graph = state.services.graph  # the official memory server's tools
    tools = _tools(state) + memory_tools(graph)
    strict = StrictArguments(tools)
    server = MCPServer(
        "checkpoints",
        title="Session checkpoints",
        version=__version__,
        instructions=INSTRUCTIONS,
        tools=tools,
        lifespan=lifespan,
        middleware=[strict, memory_results()],  # strict first: it turns a failure into an error reply
        log_level=settings.log_level,
    )
    strict.server_info = lambda: server._lowlevel_server.server_info_stamp
    _add_resources_and_prompts(server, state)
    add_memory_resource(server, graph)
    return server
