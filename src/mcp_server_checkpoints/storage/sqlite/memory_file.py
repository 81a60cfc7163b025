"""The official memory server's file format (JSONL) in and out: `ckpt import-memory` / `ckpt export-memory`.

One JSON object a line: `{"type":"entity","name":…,"entityType":…,"observations":[…]}` or
`{"type":"relation","from":…,"to":…,"relationType":…}`. Import tolerates bad lines (reported by
number, skipped) where the official server fails on the whole file; export → import → export is
lossless.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from pydantic import ValidationError

from mcp_server_checkpoints.domain.text import check_strings
from mcp_server_checkpoints.errors import InvalidInputError
from mcp_server_checkpoints.schemas.graph import Entity, Relation
from mcp_server_checkpoints.storage.sqlite.graph import GraphStore
from mcp_server_checkpoints.storage.sqlite.graph_rows import (
    insert_entity,
    insert_observations,
    insert_relation,
    reindex,
)


@dataclass
class MemoryImportReport:
    entities: int = 0
    relations: int = 0
    skipped_existing: int = 0
    errors: list[str] = field(default_factory=list)


def export_lines(graph: GraphStore) -> Iterator[str]:
    """The graph in the official server's file format: one JSON object a line, entities first."""
    whole = graph.read_graph()
    for e in whole.entities:
        yield json.dumps({"type": "entity", "name": e.name, "entityType": e.entityType,
                          "observations": e.observations}, ensure_ascii=False, separators=(",", ":"))
    for r in whole.relations:
        yield json.dumps({"type": "relation", **r.wire()}, ensure_ascii=False, separators=(",", ":"))


def import_lines(graph: GraphStore, lines: Iterable[str | bytes]) -> MemoryImportReport:
    """Read the official JSONL format in one transaction; bad lines are reported and skipped.

    Entities whose name exists are skipped (observations are not merged), as create_entities does.
    """
    report = MemoryImportReport()
    entities: list[tuple[int, Entity]] = []
    relations: list[tuple[int, Relation]] = []
    for n, raw in enumerate(lines, 1):
        try:
            line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            line = line.lstrip("\ufeff")
            if not line.strip():
                continue
            item = parse_memory_line(line)
        except UnicodeDecodeError:
            report.errors.append(f"line {n}: not UTF-8 text")
            continue
        except InvalidInputError as exc:
            report.errors.append(f"line {n}: {exc}")
            continue
        if isinstance(item, Entity):
            entities.append((n, item))
        else:
            relations.append((n, item))
    # Through the graph's redaction gate, as its tools are: names, types, observations and relations.
    entities = [(n, graph.redacted_entity(e)) for n, e in entities]
    relations = [(n, graph.redacted_relation(r)) for n, r in relations]
    touched: list[int] = []
    with graph.db.write() as c:
        for n, e in entities:
            if c.execute("SELECT 1 FROM graph_entities WHERE name = ?", (e.name,)).fetchone():
                report.skipped_existing += 1
                continue
            eid = insert_entity(c, e.name, e.entityType)
            insert_observations(c, eid, e.observations)
            touched.append(eid)
            report.entities += 1
        for n, r in relations:
            if insert_relation(c, r.key()):
                report.relations += 1
            else:
                report.skipped_existing += 1
        reindex(c, touched)
    return report


def parse_memory_line(line: str) -> Entity | Relation:
    """One line of the official memory file; InvalidInputError says what is wrong (never the value)."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise InvalidInputError("not a JSON object")
    kind = data.pop("type", None)
    if kind not in ("entity", "relation"):
        raise InvalidInputError('"type" must be "entity" or "relation"')
    try:
        item: Entity | Relation = Entity.model_validate(data) if kind == "entity" else Relation.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'line'}: {e['msg']}"
                             for e in exc.errors(include_input=False, include_url=False)[:5])
        raise InvalidInputError(problems) from None
    values = [item.name, item.entityType, *item.observations] if isinstance(item, Entity) else list(item.key())
    check_strings(values, "the line")
    return item
