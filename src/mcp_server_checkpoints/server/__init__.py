"""MCP wiring: the server, its tools, instructions, resources and prompts.

Imported on use: the stdio front end (`server.handshake`) starts before the SDK is imported.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's own flag, without importing typing before the stdio front end answers
if TYPE_CHECKING:
    from typing import Any

    from mcp_server_checkpoints.server.app import AppState, build_server, open_state

__all__ = ["AppState", "build_server", "open_state"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from mcp_server_checkpoints.server import app

        return getattr(app, name)
    raise AttributeError(name)
