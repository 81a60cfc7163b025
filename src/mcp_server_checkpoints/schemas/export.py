"""The export format (`ckpt export` / `ckpt import`): one checkpoint a line, every field, validated on import."""

from __future__ import annotations

import functools
import json

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
    """A checkpoint from one exported line; InvalidInputError says which fields are wrong (never their values).

    Exports from before the per-kind report hold `redactions` as a count: it is read as {"secret": count}.
    """
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise InvalidInputError(f"not JSON ({type(exc).__name__})") from None
    if isinstance(data, dict) and isinstance(data.get("redactions"), int) and not isinstance(data["redactions"], bool):
        data["redactions"] = {"secret": data["redactions"]} if data["redactions"] > 0 else {}
    try:
        return _adapter().validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'line'}: {e['msg']}" for e in exc.errors()[:5])
        raise InvalidInputError(problems) from None
