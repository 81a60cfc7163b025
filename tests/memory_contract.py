"""The official memory server's contract as this project copies it, and every allowed difference with its reason.

Used by tests/tools/test_memory_schema.py (against the stored `tools/list` dump) and by
tests/test_memory_differential.py (against the live official server).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from mcp_server_checkpoints.server.memory import OFFICIAL_PACKAGE, OFFICIAL_VERSION

OFFICIAL = f"{OFFICIAL_PACKAGE}@{OFFICIAL_VERSION}"
DUMP = Path(__file__).parent / "data" / f"memory-server-{OFFICIAL_VERSION}.json"
MEMORY_TOOLS = ("create_entities", "create_relations", "add_observations", "delete_entities", "delete_observations",
                "delete_relations", "read_graph", "search_nodes", "open_nodes")

# Every difference the tests tolerate, and why. Anything else is a failure.
ALLOWED_DIFFERENCES = {
    "closed input objects": (
        "Our input schemas say additionalProperties: false (the official ones do not, and it drops unknown "
        "fields silently); this project's strict-argument layer rejects unknown fields because a dropped "
        "field hides a caller's bug. Calls with unknown fields fail here and succeed there."
    ),
    "validation error text": (
        "A call that breaks the input schema is an isError result on both servers; the official text is the "
        "zod message ('MCP error -32602: Input validation error: …'), ours says which field to fix "
        "(server/strict.py). Only isError is compared for such calls."
    ),
    "duplicates within one call": (
        "The official server creates two entities with one name (or two copies of one relation) when a "
        "single create call repeats it, which its own contract forbids (names unique, triples deduplicated); "
        "we apply the dedup within the call too. The random sequences never repeat a name or triple inside "
        "one call; test_duplicates_within_one_call pins both behaviours."
    ),
    "search fallback": (
        "When the substring match finds nothing, the official server returns an empty graph and we return "
        "the best ranked matches (issue #5, item 3). Checked: every entity returned is a real entity."
    ),
    "read_graph paging": (
        "read_graph takes optional entityTypes/limit/offset (issue #5, item 4); with none of them it is the "
        "official call. Its description (and search_nodes') starts with the official text and adds one note."
    ),
    "no execution field": (
        "The official tools/list carries execution.taskSupport = 'forbidden'; MCPServer 2.3 does not emit "
        "the field, and an absent field means the same (no task support)."
    ),
    "arguments sent as JSON text": (
        "The Python SDK parses a list argument sent as a JSON string (['a'] sent as the text '[\"a\"]', a habit "
        "of some clients) before validating; the official server rejects it. Not exercised by the sequences."
    ),
    "lone surrogates": (
        "JavaScript strings may hold unpaired UTF-16 surrogates; SQLite text cannot, so we answer an isError "
        "result saying so. The random sequences use valid Unicode only."
    ),
}


def load_dump() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DUMP.read_text(encoding="utf-8"))
    return data


def _strip_closed(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _strip_closed(v) for k, v in schema.items() if k != "additionalProperties"}
    if isinstance(schema, list):
        return [_strip_closed(v) for v in schema]
    return schema


def normalise_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """A tools/list entry with the allowed differences taken out (works on both sides)."""
    t = copy.deepcopy(tool)
    t.pop("execution", None)  # "no execution field"
    t.pop("_meta", None)
    t["inputSchema"] = _strip_closed(t["inputSchema"])  # "closed input objects"
    if t["name"] == "read_graph":  # "read_graph paging"
        t["inputSchema"]["properties"] = {}
        t["inputSchema"].pop("required", None)
    if t["name"] in ("read_graph", "search_nodes"):
        official = {"read_graph": "Read the entire knowledge graph",
                    "search_nodes": "Search for nodes in the knowledge graph based on a query"}[t["name"]]
        assert t["description"].startswith(official), t["description"]
        t["description"] = official
    return t
