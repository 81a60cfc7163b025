"""Strict tool arguments: unknown fields rejected, and errors that say what to fix without echoing values.

The SDK builds each tool's argument model from its signature, ignores unknown fields, and puts the
offending value into validation messages. Values may be secrets, and a silently dropped field is a
caller's bug hidden, so every tool is registered through `strict_tool` and checked by
`StrictArguments` before the SDK sees the call.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.shared.exceptions import MCPError
from mcp.types import INTERNAL_ERROR, INVALID_PARAMS, METHOD_NOT_FOUND, CallToolResult, TextContent, ToolAnnotations
from mcp_types import SERVER_INFO_META_KEY
from mcp_types.methods import serialize_server_result
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticUndefined

from mcp_server_checkpoints.errors import CheckpointsError

log = logging.getLogger("mcp_server_checkpoints.server")

_FRIENDLY = {
    "missing": "is required",
    "extra_forbidden": "is not an argument of this tool; remove it",
    "string_too_short": "must not be empty",
    "string_unicode": "must be valid Unicode text (it holds an unpaired surrogate)",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "too_long": "has too many items",
}


def describe_errors(tool: str, exc: ValidationError) -> str:
    """`Invalid arguments for tool: field: what is wrong; …` — never the value itself."""
    problems = []
    for e in exc.errors(include_input=False, include_url=False)[:8]:
        where = ".".join(str(p) for p in e["loc"]) or "arguments"
        problems.append(f"{where}: {_FRIENDLY.get(e['type'], e['msg'])}")
    more = len(exc.errors()) - len(problems)
    tail = f" (and {more} more)" if more > 0 else ""
    return f"Invalid arguments for {tool}: {'; '.join(problems)}{tail}. Fix these and call again."


def signature_of_model(model: type[BaseModel]) -> list[inspect.Parameter]:
    """Keyword parameters mirroring a model's fields, so a tool's input schema is the model's."""
    params = []
    for name, fi in model.model_fields.items():
        default = inspect.Parameter.empty if fi.default is PydanticUndefined else fi.default
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                        annotation=Annotated[fi.annotation, fi]))
    return params


def bind(fn: Callable[..., Any], *bound: Any, name: str | None = None,
         model: type[BaseModel] | None = None) -> Callable[..., Any]:
    """`fn` with its first arguments bound, domain errors turned into tool errors.

    With `model`, the tool takes the model's fields as its arguments and `fn` receives one instance.
    """
    sig = inspect.signature(fn, eval_str=True)
    rest = list(sig.parameters.values())[len(bound):]
    if model is not None:
        rest = signature_of_model(model)

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> Any:
        try:
            if model is not None:
                try:
                    return fn(*bound, model(**kwargs))
                except ValidationError as exc:
                    raise ToolError(describe_errors(name or fn.__name__, exc)) from None
            return fn(*bound, **kwargs)
        except CheckpointsError as exc:
            raise ToolError(str(exc)) from None

    del wrapper.__wrapped__  # inspect must read __signature__, not the original function
    wrapper.__signature__ = sig.replace(parameters=rest)  # type: ignore[attr-defined]
    return wrapper


def strict_tool(fn: Callable[..., Any], *, name: str, title: str, annotations: ToolAnnotations) -> Tool:
    tool = Tool.from_function(fn, name=name, title=title, annotations=annotations)
    base = tool.fn_metadata.arg_model
    strict = type(base.__name__, (base,), {
        "model_config": ConfigDict(extra="forbid", hide_input_in_errors=True, arbitrary_types_allowed=True),
        "__module__": __name__,
    })
    tool.fn_metadata.arg_model = strict
    tool.parameters["additionalProperties"] = False
    return tool


class StrictArguments:
    """Middleware: validate `tools/call` arguments strictly and answer errors as tool errors.

    A middleware that answers without `call_next` owns the wire shape of its result (the SDK does not
    sieve it), so `server_info` is what a 2026-era result is stamped with, as the SDK stamps its own.
    """

    def __init__(self, tools: list[Tool], server_info: Callable[[], dict[str, Any]] | None = None) -> None:
        self._tools = {t.name: t for t in tools}
        self.server_info = server_info

    async def __call__(self, ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        if ctx.method == "tools/call" and isinstance(ctx.params, dict):
            name = ctx.params.get("name")
            tool = self._tools.get(name) if isinstance(name, str) else None
            if tool is None and isinstance(name, str) and name:
                # An unknown tool is a protocol error (MCP spec), and the SDK's "Unknown tool: <name>"
                # repeats what the caller sent, which may be a pasted secret.
                raise MCPError(code=INVALID_PARAMS, message="Unknown tool; call tools/list for the tools this server has")
            args = ctx.params.get("arguments") or {}
            if tool is not None and isinstance(args, dict):
                try:
                    tool.fn_metadata.validate_arguments(args)
                except ValidationError as exc:
                    return self._error_result(describe_errors(tool.name, exc), ctx.protocol_version)
                except RecursionError:
                    return self._error_result(f"Invalid arguments for {tool.name}: nested too deeply.",
                                              ctx.protocol_version)
        try:
            return await call_next(ctx)
        except MCPError as exc:
            # The SDK repeats what the caller sent (an unknown method in `data`, a resource URI in the
            # message): answer the same error without it.
            if exc.code == METHOD_NOT_FOUND and exc.data is not None:
                raise MCPError(code=METHOD_NOT_FOUND, message="Method not found") from None
            if exc.message.startswith("Unknown resource"):
                raise MCPError(code=exc.code, message="Unknown resource; list them with resources/list") from None
            raise
        except ValidationError:
            raise  # the SDK answers it as INVALID_PARAMS without pydantic's text
        except Exception as exc:
            # Anything else a handler raises would reach the wire as its text with code 0 (SDK compat).
            if str(exc).startswith("Unknown prompt"):
                raise MCPError(code=INVALID_PARAMS, message="Unknown prompt; list them with prompts/list") from None
            log.warning("%s failed with %s", ctx.method, type(exc).__name__, exc_info=log.isEnabledFor(logging.DEBUG))
            raise MCPError(code=INTERNAL_ERROR, message=f"Internal error in {ctx.method}; the server log has details") from None


    def _error_result(self, text: str, version: str) -> dict[str, Any]:
        """A tool error result shaped as the SDK shapes its own for `version` (only that version's fields)."""
        result = CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
        dumped = serialize_server_result("tools/call", version,
                                         result.model_dump(by_alias=True, mode="json", exclude_none=True))
        if version in MODERN_PROTOCOL_VERSIONS and self.server_info is not None:
            dumped["_meta"] = {SERVER_INFO_META_KEY: self.server_info()}
        return dumped
