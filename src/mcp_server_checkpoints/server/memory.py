"""Wire the memory-server tools and the `memory://knowledge-graph` resource, exactly as the official server shows them.

The schemas, titles, descriptions and annotations below are those `tools/list` returns from
`@modelcontextprotocol/server-memory@2026.8.31` (tests/data/ holds that dump; tests compare
against it). Deliberate differences, each listed in tests/test_memory_differential.py with its
reason: input objects are closed (`additionalProperties: false`, unknown fields are an error);
read_graph takes optional paging filters; read_graph's and search_nodes' descriptions say what
they add. Results carry the same structured content and the same text (the official server's
`JSON.stringify(value, null, 2)`); a missing entity is the same error text.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pydantic_core
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel

from mcp_server_checkpoints.errors import CheckpointsError
from mcp_server_checkpoints.server.prepared import PreparedResults, prepared_result
from mcp_server_checkpoints.server.strict import strict_tool
from mcp_server_checkpoints.storage.sqlite.graph import GraphStore
from mcp_server_checkpoints.tools import graph as graph_tools

OFFICIAL_PACKAGE = "@modelcontextprotocol/server-memory"
OFFICIAL_VERSION = "2026.8.31"
RESOURCE_URI = "memory://knowledge-graph"
DRAFT_07 = "http://json-schema.org/draft-07/schema#"


# -- the official JSON schemas -------------------------------------------------------------
def _string(description: str | None = None) -> dict[str, Any]:
    return {"type": "string", **({"description": description} if description else {})}


def _strings(description: str | None = None) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, **({"description": description} if description else {})}


def _object(properties: dict[str, Any], *, closed: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": list(properties)}
    if closed:
        schema["additionalProperties"] = False
    return schema


def _entity() -> dict[str, Any]:
    return _object({
        "name": _string("The name of the entity"),
        "entityType": _string("The type of the entity"),
        "observations": _strings("An array of observation contents associated with the entity"),
    })


def _relation() -> dict[str, Any]:
    return _object({
        "from": _string("The name of the entity where the relation starts"),
        "to": _string("The name of the entity where the relation ends"),
        "relationType": _string("The type of the relation"),
    })


def _top(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"$schema": DRAFT_07, "type": "object", "properties": properties, "required": required,
            "additionalProperties": False}


def _array(items: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    return {"type": "array", "items": items, **({"description": description} if description else {})}


def _graph_output() -> dict[str, Any]:
    return _top({"entities": _array(_entity()), "relations": _array(_relation())}, ["entities", "relations"])


def _delete_output() -> dict[str, Any]:
    return _top({"success": {"type": "boolean"}, "message": {"type": "string"}}, ["success", "message"])


INPUT_SCHEMAS: dict[str, dict[str, Any]] = {
    "create_entities": _top({"entities": _array(_entity())}, ["entities"]),
    "create_relations": _top({"relations": _array(_relation())}, ["relations"]),
    "add_observations": _top({"observations": _array(_object({
        "entityName": _string("The name of the entity to add the observations to"),
        "contents": _strings("An array of observation contents to add"),
    }))}, ["observations"]),
    "delete_entities": _top({"entityNames": _strings("An array of entity names to delete")}, ["entityNames"]),
    "delete_observations": _top({"deletions": _array(_object({
        "entityName": _string("The name of the entity containing the observations"),
        "observations": _strings("An array of observations to delete"),
    }))}, ["deletions"]),
    "delete_relations": _top({"relations": _array(_relation(), "An array of relations to delete")}, ["relations"]),
    # Not in the official schema (it takes no argument): optional paging, so a large graph fits a client.
    "read_graph": _top({
        "entityTypes": _strings("Only entities of these types (e.g. [\"session-snapshot\"])"),
        "limit": {"type": "integer", "minimum": 1, "maximum": graph_tools.MAX_PAGE,
                  "description": "At most this many entities: one page"},
        "offset": {"type": "integer", "minimum": 0, "description": "Skip this many entities first (default 0)"},
    }, []),
    "search_nodes": _top({"query": _string("The search query to match against entity names, types, and observation content")},
                         ["query"]),
    "open_nodes": _top({"names": _strings("An array of entity names to retrieve")}, ["names"]),
}

OUTPUT_SCHEMAS: dict[str, dict[str, Any]] = {
    "create_entities": _top({"entities": _array(_entity())}, ["entities"]),
    "create_relations": _top({"relations": _array(_relation())}, ["relations"]),
    "add_observations": _top({"results": _array(_object({
        "entityName": {"type": "string"}, "addedObservations": {"type": "array", "items": {"type": "string"}},
    }))}, ["results"]),
    "delete_entities": _delete_output(),
    "delete_observations": _delete_output(),
    "delete_relations": _delete_output(),
    "read_graph": _graph_output(),
    "search_nodes": _graph_output(),
    "open_nodes": _graph_output(),
}

DESCRIPTIONS = {
    "read_graph": (
        "Read the entire knowledge graph. On a large graph, read it in pages instead (limit, offset, "
        "entityTypes): clients cut long results (Claude Code at 25k tokens). A page holds the relations "
        "touching its entities; fewer entities than limit means it is the last page."
    ),
    "search_nodes": (
        "Search for nodes in the knowledge graph based on a query. Matches the whole query as a "
        "case-insensitive substring of names, types and observations; when nothing matches, returns the "
        "best ranked matches for its words instead."
    ),
}


def _json(value: Any) -> str:
    """`JSON.stringify(value, null, 2)`: the official server's text content.

    pydantic_core's encoder writes the same bytes as `json.dumps(value, indent=2, ensure_ascii=False)`
    (checked by the tests) about ten times faster, which matters for a whole-graph read.
    """
    return pydantic_core.to_json(value, indent=2).decode()


@dataclass(frozen=True)
class Spec:
    name: str
    title: str
    fn: Callable[..., BaseModel | Mapping[str, Any]]
    text: Callable[[dict[str, Any]], str]
    read_only: bool = False
    destructive: bool = False


SPECS = [
    Spec("create_entities", "Create Entities", graph_tools.create_entities, lambda d: _json(d["entities"])),
    Spec("create_relations", "Create Relations", graph_tools.create_relations, lambda d: _json(d["relations"])),
    Spec("add_observations", "Add Observations", graph_tools.add_observations, lambda d: _json(d["results"])),
    Spec("delete_entities", "Delete Entities", graph_tools.delete_entities, lambda d: str(d["message"]), destructive=True),
    Spec("delete_observations", "Delete Observations", graph_tools.delete_observations, lambda d: str(d["message"]),
         destructive=True),
    Spec("delete_relations", "Delete Relations", graph_tools.delete_relations, lambda d: str(d["message"]),
         destructive=True),
    Spec("read_graph", "Read Graph", graph_tools.read_graph, _json, read_only=True),
    Spec("search_nodes", "Search Nodes", graph_tools.search_nodes, _json, read_only=True),
    Spec("open_nodes", "Open Nodes", graph_tools.open_nodes, _json, read_only=True),
]


def _error(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def _bound(spec: Spec, graph: GraphStore) -> Callable[..., CallToolResult]:
    """The tool function bound to the graph, answering the official result shape (and error text)."""
    sig = inspect.signature(spec.fn, eval_str=True)

    def call(**kwargs: Any) -> CallToolResult:
        try:
            result = spec.fn(graph, **kwargs)
        except CheckpointsError as exc:
            # The official server answers errors as an is_error result with the bare message.
            return _error(str(exc))
        data = dict(result) if isinstance(result, Mapping) else result.model_dump(mode="json", by_alias=True)
        # Plain JSON values: the SDK's own dumps of a large graph are skipped (server/prepared.py).
        return prepared_result(spec.text(data), data)

    call.__name__ = spec.name
    call.__doc__ = spec.fn.__doc__
    call.__signature__ = sig.replace(  # type: ignore[attr-defined]
        parameters=list(sig.parameters.values())[1:], return_annotation=CallToolResult)
    return call


def memory_tools(graph: GraphStore) -> list[Tool]:
    tools = []
    for spec in SPECS:
        annotations = ToolAnnotations(read_only_hint=spec.read_only, destructive_hint=spec.destructive,
                                      idempotent_hint=spec.read_only or spec.destructive, open_world_hint=False)
        tool = strict_tool(_bound(spec, graph), name=spec.name, title=spec.title, annotations=annotations)
        tool.description = DESCRIPTIONS.get(spec.name, spec.fn.__doc__ or "")
        tool.parameters = INPUT_SCHEMAS[spec.name]
        tool.fn_metadata.output_schema = OUTPUT_SCHEMAS[spec.name]  # advertised; results are built to match
        tools.append(tool)
    return tools


def memory_results() -> PreparedResults:
    """The middleware that sends these tools' results without the SDK's dumps (server/prepared.py)."""
    return PreparedResults([spec.name for spec in SPECS])


def add_memory_resource(server: MCPServer, graph: GraphStore) -> None:
    """`memory://knowledge-graph`: the whole graph as JSON, as the official server serves it."""

    @server.resource(RESOURCE_URI, name="knowledge-graph", title="Knowledge Graph",
                     description="The full knowledge graph with all entities and relations", mime_type="application/json")
    def knowledge_graph() -> str:
        return _json(graph.read_graph_wire())
