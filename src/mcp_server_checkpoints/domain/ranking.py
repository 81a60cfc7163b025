"""Reciprocal-rank fusion (Cormack, Clarke and Buettcher, 2009): one constant, one function."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

RRF_K = 60

K = TypeVar("K", bound=Hashable)


def rrf_scores(*rankings: Sequence[K], weights: Sequence[float] | None = None, k: int = RRF_K) -> dict[K, float]:
    """Sum over rankings of weight / (k + rank), ranks from 1; a key missing from a ranking adds nothing."""
    scores: dict[K, float] = {}
    for i, ranking in enumerate(rankings):
        w = 1.0 if weights is None else weights[i]
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + w / (k + rank)
    return scores


def rrf(*rankings: Sequence[str], k: int = RRF_K) -> list[str]:
    """Names fused best first; equal scores in name order."""
    scores = rrf_scores(*rankings, k=k)
    return sorted(scores, key=lambda n: (-scores[n], n))
