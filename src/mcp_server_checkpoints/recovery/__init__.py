"""Recovery decisions and rendering: detection, confidence, templates, lifecycle. Never imports mcp."""

from mcp_server_checkpoints.recovery.render import render_summary

__all__ = ["render_summary"]
