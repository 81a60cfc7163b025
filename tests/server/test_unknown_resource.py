"""An unknown `checkpoint://<id>` is invalid params naming the URI (SEP-2164), never an internal error."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS

pytestmark = pytest.mark.anyio


async def test_unknown_checkpoint_is_invalid_params_with_its_uri(client: Client) -> None:
    uri = "checkpoint://checkpoint-2026-01-01-missing-000000"
    with pytest.raises(MCPError) as caught:
        await client.read_resource(uri)
    assert caught.value.code == INVALID_PARAMS
    assert caught.value.data == {"uri": uri}
    assert "no checkpoint" in caught.value.message


async def test_an_id_not_of_our_shape_is_not_repeated(client: Client) -> None:
    with pytest.raises(MCPError) as caught:
        await client.read_resource("checkpoint://sk-live-abcdef0123456789")
    assert caught.value.code == INVALID_PARAMS
    assert caught.value.data == {"uri": "checkpoint://{id}"}
    assert "sk-live" not in str(caught.value.error.model_dump())
