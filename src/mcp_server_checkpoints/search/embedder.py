"""The seam for semantic search: anything that turns texts into unit vectors."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float vectors of a fixed dimension."""

    @property
    def model_name(self) -> str:
        """Identifies the model; a change of name means every stored vector must be recomputed."""
        ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, in order."""
        ...
