"""The vocabulary every layer shares, with no I/O: statuses, bounds, time, ids, text checks, records.

Nothing here imports another part of the package (or pydantic, or mcp): storage, search, recovery,
the hooks and the CLI all build on it.
"""
