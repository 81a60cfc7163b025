"""Persistence: the store contracts (`protocols`), the redaction gate, and the backends (`sqlite/`).

Importing this package imports no backend: callers get one from `wiring`. Never imports mcp.
"""
