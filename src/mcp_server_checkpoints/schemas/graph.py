"""The knowledge-graph contract of the official MCP memory server (`@modelcontextprotocol/server-memory`).

Field names are the official ones (camelCase on the wire, `from` for a relation's start), so these
models validate the same arguments and produce the same structured results as that server.
"""

from __future__ import annotations

from typing import TypedDict

from pydantic import ConfigDict, Field

from mcp_server_checkpoints.schemas.checkpoints import LazyModel


class EntityWire(TypedDict):
    """An entity as the official server sends it (the keys in this order): what the store's reads build."""

    name: str
    entityType: str
    observations: list[str]


# `from` is a keyword: the functional form.
RelationWire = TypedDict("RelationWire", {"from": str, "to": str, "relationType": str})


class GraphWire(TypedDict):
    entities: list[EntityWire]
    relations: list[RelationWire]


class _Wire(LazyModel):
    # Unknown fields are rejected (the official server drops them silently; see the differential test).
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, populate_by_name=False)


class Entity(_Wire):
    name: str = Field(description="The name of the entity")
    entityType: str = Field(description="The type of the entity")
    observations: list[str] = Field(description="An array of observation contents associated with the entity")


class Relation(_Wire):
    from_: str = Field(alias="from", description="The name of the entity where the relation starts")
    to: str = Field(description="The name of the entity where the relation ends")
    relationType: str = Field(description="The type of the relation")

    @classmethod
    def of(cls, from_: str, to: str, relation_type: str) -> Relation:
        return cls.model_validate({"from": from_, "to": to, "relationType": relation_type})

    def key(self) -> tuple[str, str, str]:
        return (self.from_, self.to, self.relationType)

    def wire(self) -> dict[str, str]:
        return {"from": self.from_, "to": self.to, "relationType": self.relationType}


class ObservationAddition(_Wire):
    entityName: str = Field(description="The name of the entity to add the observations to")
    contents: list[str] = Field(description="An array of observation contents to add")


class ObservationDeletion(_Wire):
    entityName: str = Field(description="The name of the entity containing the observations")
    observations: list[str] = Field(description="An array of observations to delete")


class AddedObservations(LazyModel):
    entityName: str
    addedObservations: list[str]


class KnowledgeGraph(LazyModel):
    entities: list[Entity]
    relations: list[Relation]

    def wire(self) -> dict[str, object]:
        """The graph as the official server sends it (relations with `from`)."""
        return {"entities": [e.model_dump() for e in self.entities], "relations": [r.wire() for r in self.relations]}


class CreatedEntities(LazyModel):
    entities: list[Entity]


class CreatedRelations(LazyModel):
    relations: list[Relation]


class AddObservationsResult(LazyModel):
    results: list[AddedObservations]


class DeleteResult(LazyModel):
    success: bool
    message: str
