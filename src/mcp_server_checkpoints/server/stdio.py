"""Serve MCP over stdio, answering every line the SDK's transport would silently drop.

The SDK's `stdio_server` decodes each stdin line with pydantic; a line it cannot decode
(malformed JSON, a request holding a lone surrogate escape such as "\\ud800", a well-formed
JSON value that is not a JSON-RPC message) is handed to the session as an exception and
dropped, so the client waits forever for that request id. Here each line is checked first:
a good line goes on unchanged, a bad one is answered at once (-32700 for non-JSON with id
null; for a request with an id, an error response with that id, or a tool error result for a
`tools/call` naming the argument that holds invalid Unicode). Nothing of the line's content is
echoed: it may be a secret.

The wire is claimed by `server.handshake` when the process starts, as `stdio_server` would claim it:
fd 0 reads the null device and fd 1 is stderr, so handlers and children read EOF and a stray print
misses the protocol; the SDK writes to the private duplicate of fd 1. That front end may have
answered the handshake already: its lines are replayed here, and the SDK's replies to them dropped.
At stdin EOF the requests already passed on are answered first (up to 1.5 s), and SIGTERM ends
the session the same way (anything still running after 3 s more is cancelled): the lifespan
closes the database and the process exits 0. stdin is read by a daemon thread, so a read that
never returns cannot hold the process open.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from io import TextIOWrapper
from typing import Any

import anyio
import mcp_types as types
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage

from mcp_server_checkpoints.domain.text import surrogate_path
from mcp_server_checkpoints.server.handshake import FrontEnd, start_front_end

log = logging.getLogger("mcp_server_checkpoints.stdio")

_MAX_DEPTH = 200  # pydantic's JSON parser refuses deeper input (the envelope takes 2 levels)
_DEEP = "a value is nested too deeply (about 200 levels at most); flatten it"


def _bad_text_path(value: Any) -> list[str] | None:
    """Path (keys/indexes, as text) of the first string holding a lone surrogate, or None."""
    found = surrogate_path(value, max_depth=_MAX_DEPTH)
    return None if found is None else [str(p) for p in found]


def _request_id(data: Any) -> int | str | None:
    """The id to answer with: only a valid JSON-RPC id (int or str without lone surrogates)."""
    if not isinstance(data, dict):
        return None
    rid = data.get("id")
    if isinstance(rid, bool):
        return None
    if isinstance(rid, int):
        return rid
    if isinstance(rid, str) and _bad_text_path(rid) is None:
        return rid
    return None


def _error(rid: int | str | None, code: int, message: str) -> types.JSONRPCMessage:
    return types.JSONRPCError(jsonrpc="2.0", id=rid, error=types.ErrorData(code=code, message=message))


def _tool_error(rid: int | str, text: str) -> types.JSONRPCMessage:
    # The fields every handshake-era version has: `resultType` belongs to 2026-era connections only.
    result = types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)
    return types.JSONRPCResponse(jsonrpc="2.0", id=rid, result=result.model_dump(
        by_alias=True, mode="json", exclude_none=True, exclude={"result_type"}))


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict | list):
            deepest = max(deepest, d)
            stack.extend((child, d + 1) for child in (v.values() if isinstance(v, dict) else v))
    return deepest


# The request's own id and method sit before its first nested value in every real client's output.
_HEAD_ID = re.compile(r'"id"\s*:\s*(-?\d{1,15}|"[A-Za-z0-9._:-]{1,100}")\s*[,}]')
_HEAD_TOOLS_CALL = re.compile(r'"method"\s*:\s*"tools/call"')


def _too_deep(line: str) -> types.JSONRPCMessage:
    """Answer a line nested too deeply to parse; its id is read from the line's head when it can be."""
    first = line.find("{")
    cut = min((i for i in (line.find("["), line.find("{", first + 1)) if i >= 0), default=len(line))
    head = line[:cut]
    found = _HEAD_ID.search(head)
    if found is None:
        return _error(None, types.PARSE_ERROR, f"Parse error: {_DEEP}")
    raw = found.group(1)
    rid: int | str = raw.strip('"') if raw.startswith('"') else int(raw)
    if _HEAD_TOOLS_CALL.search(head):
        return _tool_error(rid, f"Invalid arguments: {_DEEP}.")
    return _error(rid, types.INVALID_PARAMS, f"Invalid params: {_DEEP}")


def answer_for(line: str, tool_args: Callable[[str], set[str] | None]) -> types.JSONRPCMessage | None:
    """The reply to a line the SDK cannot decode, or None when the line is fine (or needs no reply).

    `tool_args(name)` gives the argument names of a known tool (None for an unknown tool): only
    names we defined ourselves are repeated back in messages.
    """
    return _classify(line, tool_args)[0]


def _classify(line: str, tool_args: Callable[[str], set[str] | None]) -> tuple[types.JSONRPCMessage | None, Any]:
    """(our reply to a bad line, or None; the message the SDK will decode from a good line, or None)."""
    if not line.strip():
        return None, None
    try:
        message = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
    except Exception:  # pydantic's ValidationError, or RecursionError on absurd nesting
        pass
    else:
        if not isinstance(message, types.JSONRPCNotification):
            return None, message
        return _check_notification(line), message
    return _answer_bad(line, tool_args), None


def _check_notification(line: str) -> types.JSONRPCMessage | None:
    # A request whose id is neither a number nor a string validates as a notification (the id is
    # ignored as an extra field) and would never be answered: JSON-RPC says answer with id null.
    with suppress(ValueError, RecursionError):
        data = json.loads(line)
        if isinstance(data, dict) and "id" in data and data["id"] is not None:
            return _error(None, types.INVALID_REQUEST, "Invalid Request: the id must be a number or a string")
    return None


def _answer_bad(line: str, tool_args: Callable[[str], set[str] | None]) -> types.JSONRPCMessage | None:
    try:
        data = json.loads(line)  # Python's parser accepts lone surrogate escapes; pydantic's does not
    except RecursionError:
        return _too_deep(line)
    except ValueError:
        return _error(None, types.PARSE_ERROR, "Parse error: the line is not valid JSON")
    rid = _request_id(data)
    is_request = isinstance(data, dict) and "id" in data and "method" in data
    if not is_request:
        if isinstance(data, dict) and "method" in data and "id" not in data:
            log.warning("dropped an invalid notification (it has no id to answer)")
            return None
        return _error(rid, types.INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 request or notification")
    if rid is None:  # the id itself is unusable: JSON-RPC says answer with id null
        return _error(None, types.INVALID_REQUEST, "Invalid Request: the id must be a number or a string")
    if _depth(data) >= _MAX_DEPTH - 1:
        if data.get("method") == "tools/call":
            return _tool_error(rid, f"Invalid arguments: {_DEEP}.")
        return _error(rid, types.INVALID_PARAMS, f"Invalid params: {_DEEP}")
    bad = _bad_text_path(data)
    if bad is None:
        return _error(rid, types.INVALID_REQUEST, "Invalid Request: the JSON-RPC envelope is malformed")
    if data.get("method") == "tools/call" and bad[:2] == ["params", "arguments"] and len(bad) >= 3:
        params = data.get("params") or {}
        name = params.get("name") if isinstance(params, dict) else None
        known = tool_args(name) if isinstance(name, str) else None
        arg = bad[2] if known is not None and bad[2] in known else None
        where = f"argument {arg!r}" if arg else "an argument"
        return _tool_error(rid, f"Invalid arguments for {name if known is not None else 'this tool'}: {where} holds"
                                " invalid Unicode (an unpaired UTF-16 surrogate); send valid Unicode text.")
    return _error(rid, types.INVALID_PARAMS, "Invalid params: a value holds invalid Unicode (an unpaired UTF-16 surrogate)")


class _GuardedLines:
    """stdin as an async iterator of the lines the SDK can decode; the other lines are answered here.

    At EOF it waits (up to `drain_s`) for the requests already passed on to be answered, so a client
    that sends its last request and closes stdin still gets the answer.
    """

    def __init__(self, front: FrontEnd, tool_args: Callable[[str], set[str] | None], drain_s: float = 1.5) -> None:
        self._front = front
        self._tool_args = tool_args
        self._drain_s = drain_s
        self._write: Any = None
        self._attached = anyio.Event()
        self._pending: set[Any] = set()
        self._idle = anyio.Event()
        self._idle.set()

    def attach(self, write_stream: Any) -> None:
        self._write = write_stream
        self._attached.set()

    def answered(self, rid: Any) -> None:
        self._pending.discard(rid)
        if not self._pending:
            self._idle.set()

    def __aiter__(self) -> AsyncIterator[str]:
        return self._lines()

    async def _stdin(self) -> AsyncIterator[str]:
        lines = self._front.lines
        while True:
            try:  # lines queued while the server was built are read without a thread hop
                line = lines.get_nowait()
            except queue.Empty:
                line = await anyio.to_thread.run_sync(lines.get, abandon_on_cancel=True)
            if line is None or self._front.closed:
                return
            yield line

    async def _lines(self) -> AsyncIterator[str]:
        async for line in self._stdin():
            try:
                reply, message = _classify(line, self._tool_args)
            except Exception:  # a guard must never kill the transport: let the SDK see the line
                log.exception("could not check an input line")
                reply, message = None, None
            if reply is None:
                if isinstance(message, types.JSONRPCRequest):
                    self._pending.add(message.id)
                    self._idle = anyio.Event()
                elif isinstance(message, types.JSONRPCNotification) and message.method == "notifications/cancelled":
                    self.answered((message.params or {}).get("requestId"))
                yield line
                continue
            log.warning("answered an undecodable input line with an error")
            await self._attached.wait()
            with suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
                await self._write.send(SessionMessage(reply))
        with anyio.move_on_after(self._drain_s):
            await self._idle.wait()


class _TrackAnswers:
    """The session's write stream: tells the guard which requests are answered, and drops the SDK's
    replies to the requests the front end answered already (checking they are the same bytes)."""

    def __init__(self, inner: Any, guard: _GuardedLines, front: FrontEnd) -> None:
        self._inner = inner
        self._guard = guard
        self._front = front
        self.mismatches = 0

    async def send(self, item: SessionMessage, /) -> None:
        message = item.message
        if not isinstance(message, types.JSONRPCResponse | types.JSONRPCError):
            await self._inner.send(item)
            return
        sent = self._front.take_sent(message.id)
        if sent is None:
            await self._inner.send(item)
        elif (message.model_dump_json(by_alias=True, exclude_unset=True) + "\n").encode() != sent:
            # stdio_server's own serialisation (above) is what the client would have read.
            self.mismatches += 1
            log.warning("the early answer to request %s differs from the SDK's: handshake.json is stale "
                        "(python -m mcp_server_checkpoints.server.describe rewrites it)", message.id)
        self._guard.answered(message.id)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _TrackAnswers:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


async def _stop_on_sigterm(front: FrontEnd, scope: anyio.CancelScope, grace_s: float = 3.0) -> None:
    """SIGTERM ends the session as stdin EOF does; a session still busy after `grace_s` is cancelled."""
    with anyio.open_signal_receiver(signal.SIGTERM) as signals:
        async for _ in signals:
            log.info("SIGTERM: shutting down")
            front.close()
            await anyio.sleep(grace_s)
            scope.cancel()
            return


async def _tool_arguments(server: MCPServer) -> dict[str, set[str]]:
    return {t.name: set((t.input_schema or {}).get("properties", {})) for t in await server.list_tools()}


class _UnownedText(TextIOWrapper):
    """Text over a descriptor this layer does not own: closing it leaves the descriptor open (as the SDK's)."""

    def close(self) -> None:
        with suppress(ValueError):
            self.detach()


def _stdout(front: FrontEnd) -> anyio.AsyncFile[str] | None:
    """The wire's stdout as stdio_server writes it (UTF-8 text over the private descriptor)."""
    if front.wire.stdout_fd is None:
        return None  # stdio_server claims fd 1 itself
    return anyio.wrap_file(_UnownedText(os.fdopen(front.wire.stdout_fd, "wb", closefd=False),
                                               encoding="utf-8"))


async def run_stdio(server: MCPServer, front: FrontEnd | None = None) -> None:
    """Serve one client over stdin/stdout until stdin closes or SIGTERM arrives.

    `front`: the reader started when the process did (it may have answered the handshake already);
    without it the wire is claimed now and the SDK answers everything.
    """
    front = front or start_front_end(fast=False, process=False)
    known = await _tool_arguments(server)
    lowlevel = server._lowlevel_server  # MCPServer.run_stdio_async's own path, with our stdin in front
    try:
        async with anyio.create_task_group() as tg:
            if sys.platform != "win32":  # asyncio has no signal handlers on Windows
                tg.start_soon(_stop_on_sigterm, front, tg.cancel_scope)
            guard = _GuardedLines(front, known.get)
            front.hand_over()
            async with stdio_server(stdin=guard, stdout=_stdout(front)) as (read_stream,  # type: ignore[arg-type]
                                                                              write_stream):
                guard.attach(write_stream)
                tracked = _TrackAnswers(write_stream, guard, front)
                await lowlevel.run(read_stream, tracked, lowlevel.create_initialization_options())
            tg.cancel_scope.cancel()
    finally:
        front.close()
        with suppress(OSError, ValueError):
            sys.stdout.flush()  # a stray print still goes where fd 1 pointed meanwhile (stderr), not the wire
        front.wire.release()
