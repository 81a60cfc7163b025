"""Lifecycle across one conversation: after a recovery, later saves continue the recovered checkpoint.

The specification's "link forward": a checkpoint saved later for the same work names the
recovered one as its parent, so the lineage (and one-hit-per-lineage search) follows the work.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcp_server_checkpoints.domain.records import RecoverResult
    from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields, SaveResult


class ConversationLink:
    """The checkpoint this conversation continues; a server process serves one stdio conversation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: str | None = None
        self._project: str | None = None

    @property
    def current(self) -> str | None:
        return self._current

    def recovered(self, result: RecoverResult, project: str | None) -> None:
        if result.action == "apply" and result.candidates:
            with self._lock:
                self._current, self._project = result.candidates[0].id, project

    def link(self, fields: CheckpointFields, default_project: str | None) -> CheckpointFields:
        """Fill parent_id with the continued checkpoint when the caller gave none for the same project."""
        with self._lock:
            current, project = self._current, self._project
        saved_project = fields.project if fields.project is not None else default_project
        if fields.parent_id is None and current is not None and (project is None or saved_project == project):
            return fields.model_copy(update={"parent_id": current})
        return fields

    def saved(self, result: SaveResult) -> None:
        with self._lock:
            if self._current is not None and result.parent_id == self._current:
                self._current = result.id
