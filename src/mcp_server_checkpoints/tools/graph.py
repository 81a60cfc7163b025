"""The official memory server's nine knowledge-graph tools, over this server's database.

Names, arguments, results and error texts are those of `@modelcontextprotocol/server-memory`, so
agents and prompts written for it work unchanged. Each is a short typed function: validate, call
one GraphStore method, return a model (the reads: the graph as wire dicts, which large results send
without building a model per entity). server/memory.py registers them with the official schemas.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from mcp_server_checkpoints.errors import InvalidInputError
from mcp_server_checkpoints.schemas.graph import (
    AddObservationsResult,
    CreatedEntities,
    CreatedRelations,
    DeleteResult,
    Entity,
    GraphWire,
    ObservationAddition,
    ObservationDeletion,
    Relation,
)
from mcp_server_checkpoints.storage.sqlite.graph import GraphStore

MAX_PAGE = 10_000


def create_entities(graph: GraphStore, entities: list[Entity]) -> CreatedEntities:
    """Create multiple new entities in the knowledge graph"""
    return CreatedEntities(entities=graph.create_entities(entities))


def create_relations(graph: GraphStore, relations: list[Relation]) -> CreatedRelations:
    """Create multiple new relations between entities in the knowledge graph. Relations should be in active voice"""
    return CreatedRelations(relations=graph.create_relations(relations))


def add_observations(graph: GraphStore, observations: list[ObservationAddition]) -> AddObservationsResult:
    """Add new observations to existing entities in the knowledge graph"""
    return AddObservationsResult(results=graph.add_observations(observations))


def delete_entities(graph: GraphStore, entityNames: list[str]) -> DeleteResult:  # noqa: N803 (the wire name)
    """Delete multiple entities and their associated relations from the knowledge graph"""
    graph.delete_entities(entityNames)
    return DeleteResult(success=True, message="Entities deleted successfully")


def delete_observations(graph: GraphStore, deletions: list[ObservationDeletion]) -> DeleteResult:
    """Delete specific observations from entities in the knowledge graph"""
    graph.delete_observations(deletions)
    return DeleteResult(success=True, message="Observations deleted successfully")


def delete_relations(graph: GraphStore, relations: list[Relation]) -> DeleteResult:
    """Delete multiple relations from the knowledge graph"""
    graph.delete_relations(relations)
    return DeleteResult(success=True, message="Relations deleted successfully")


def read_graph(
    graph: GraphStore,
    entityTypes: Annotated[list[str] | None, Field(description="Only entities of these types")] = None,  # noqa: N803
    limit: Annotated[int | None, Field(description="At most this many entities (a page)")] = None,
    offset: Annotated[int, Field(description="Skip this many entities first")] = 0,
) -> GraphWire:
    """Read the entire knowledge graph"""
    if limit is not None and not 1 <= limit <= MAX_PAGE:
        raise InvalidInputError(f"limit must be between 1 and {MAX_PAGE}")
    if offset < 0:
        raise InvalidInputError("offset must be 0 or more")
    return graph.read_graph_wire(entity_types=entityTypes, limit=limit, offset=offset)


def search_nodes(graph: GraphStore, query: str) -> GraphWire:
    """Search for nodes in the knowledge graph based on a query"""
    return graph.search_nodes_wire(query)


def open_nodes(graph: GraphStore, names: list[str]) -> GraphWire:
    """Open specific nodes in the knowledge graph by their names"""
    return graph.open_nodes_wire(names)
