"""Large tool results that reach the wire without the SDK dumping them twice.

A tool's `CallToolResult` is dumped by the SDK (`model_dump(mode="json")`), then validated and dumped
again against the negotiated version's result schema, then serialised once more by the transport:
three walks over every entity of a whole-graph read, two of them copies of values that are already
plain JSON. Here the tool hands its text and structured content to this middleware instead, and the
SDK's pipeline carries an empty result of the same shape: it still validates the call, runs the
tool, applies every gate (initialisation, request state), shapes the envelope for the protocol
version and stamps it. The middleware then puts the real text and structured content where the
empty ones are. They are JSON values already (str, list, dict), which the SDK's dumps return
unchanged, so the wire bytes are the same (tests/server/test_prepared_results.py compares them).

A call that does not come through the middleware (`MCPServer.call_tool`, a server built without
it) finds no hand-off and gets the whole result as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from contextvars import ContextVar
from typing import Any

from mcp.types import CallToolResult, TextContent


class _HandOff:
    """What one call's tool leaves for the middleware: its text and structured content."""

    __slots__ = ("data", "text")

    def __init__(self) -> None:
        self.text: str | None = None
        self.data: dict[str, Any] | None = None


# Set by the middleware around one tools/call; the tool reads it on its worker thread (anyio copies
# the context there, and the hand-off object is shared, so what the tool leaves is seen here).
_HAND_OFF: ContextVar[_HandOff | None] = ContextVar("prepared_hand_off", default=None)


def prepared_result(text: str, data: dict[str, Any]) -> CallToolResult:
    """A successful result of one text block and structured content, as the tool would return it.

    Inside a call the middleware watches, the SDK gets the same shape with both parts empty and
    the middleware fills them in; elsewhere the whole result.
    """
    hand_off = _HAND_OFF.get()
    if hand_off is None or hand_off.data is not None:
        return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)
    hand_off.text, hand_off.data = text, data
    return CallToolResult(content=[TextContent(type="text", text="")], structured_content={})


class PreparedResults:
    """Middleware: fills in the results the named tools handed off (see the module docstring)."""

    def __init__(self, tools: Collection[str]) -> None:
        self._tools = frozenset(tools)

    async def __call__(self, ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        if ctx.method != "tools/call" or not isinstance(ctx.params, dict) or ctx.params.get("name") not in self._tools:
            return await call_next(ctx)
        hand_off = _HandOff()
        token = _HAND_OFF.set(hand_off)
        try:
            dumped = await call_next(ctx)
        finally:
            _HAND_OFF.reset(token)
        if hand_off.data is None:
            return dumped  # an error, or a result built without the hand-off
        return _filled(dumped, hand_off.text or "", hand_off.data)


def _filled(dumped: Any, text: str, data: dict[str, Any]) -> dict[str, Any]:
    """The wire result with the empty text and structured content replaced by the real ones."""
    content = dumped.get("content") if isinstance(dumped, dict) else None
    block = content[0] if isinstance(content, list) and len(content) == 1 else None
    if not (isinstance(block, dict) and block.get("text") == "" and dumped.get("structuredContent") == {}):
        # The SDK shaped the result in a way this module does not know: sending it would lose the
        # tool's answer. Fail the call loudly (an internal error) rather than answer an empty graph.
        raise RuntimeError("a prepared tool result came back from the SDK in an unexpected shape")
    return {**dumped, "content": [{**block, "text": text}], "structuredContent": data}
