"""MCP wiring: the server, its tools, instructions, resources and prompts."""

from mcp_server_checkpoints.server.app import AppState, build_server, open_state

__all__ = ["AppState", "build_server", "open_state"]
