"""The export format (`ckpt export` / `ckpt import`): one checkpoint a line, every field, validated on import."""

from __future__ import annotations

import functools

from pydantic import TypeAdapter, ValidationError

from mcp_server_checkpoints.domain.records import Checkpoint
from mcp_server_checkpoints.errors import InvalidInputError


@functools.cache
def _adapter() -> TypeAdapter[Checkpoint]:
    return TypeAdapter(Checkpoint)


def export_line(cp: Checkpoint) -> str:
    """One line of `ckpt export`: the checkpoint as JSON, every field."""
    return _adapter().dump_json(cp).decode("utf-8")


def parse_export_line(line: str) -> Checkpoint:
    """A checkpoint from one exported line; InvalidInputError says which fields are wrong (never their values)."""
    try:
        return _adapter().validate_json(line)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'line'}: {e['msg']}" for e in exc.errors()[:5])
        raise InvalidInputError(problems) from None
