"""The recover tool: the recovery agent's whole workflow in one call."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from mcp_server_checkpoints.recovery.service import recover as recover_work
from mcp_server_checkpoints.schemas.checkpoints import RecoverResult
from mcp_server_checkpoints.storage.protocols import CheckpointStore


def recover(
    store: CheckpointStore,
    default_project: str | None,
    message: Annotated[str | None, Field(max_length=100_000, description="The user's first message, verbatim (may be empty or just 'Hello')")] = None,
    project: Annotated[str | None, Field(max_length=500, description="Only this project (default: the server's project)")] = None,
    checkpoint_id: Annotated[str | None, Field(max_length=200, description="Resume exactly this checkpoint (the user chose or confirmed it)")] = None,
) -> RecoverResult:
    """Call at the start of every conversation with the user's first message: finds work to resume.

    action: apply → the checkpoint is resumed; `text` is the full recovered summary: apply it and continue
    from its next step without asking the user to re-explain. confirm → show `text` and ask; on yes call
    recover(checkpoint_id=…); on no call mark_status(id, "on-hold"). choose → show the options in `text`;
    call recover(checkpoint_id=…) with the one picked. none → nothing to resume; carry on.
    """
    return recover_work(store, message, project or default_project, checkpoint_id)
