"""How the lexical and semantic rankings become one: the product's default, and the benchmark's variants.

The default adds the two sides' standard scores ("zscore"), the lexical side's with a share of 0.4: a
clear outlier on one side (a rare word matched exactly, a close paraphrase) carries the hit, and a
side whose candidates all score alike moves nobody much. The fusion was chosen between three on the
tuning half of bench/queries.jsonl (RRF and the weighted sum are the variants bench/retrieval.py
compares); the weighted sum of normalised bm25 and cosine tuned on hand-titled queries had lost to
bm25 alone on mechanically built checkpoints. The share was 0.5 until a second round of tuning (the
tuning half, bench/queries_fresh.jsonl and bench/sessions.py's requests): bm25 over the common words
of a paraphrase adds noise, and 0.4 was as good or better on every one of those sets; it was then
checked once on bench/queries_fresh2.jsonl, written afterwards by someone who had not seen the ranker.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from mcp_server_checkpoints.domain.ranking import rrf_scores
from mcp_server_checkpoints.domain.statuses import STATUS_ORDER

Fusion = Literal["rrf", "weighted", "zscore"]
Mode = Literal["hybrid", "lexical", "semantic"]


@dataclass(frozen=True)
class RankingOptions:
    """What `search` ranks with. Callers keep the defaults; bench/retrieval.py compares the variants.

    mode: both rankers, or one of them alone. fusion: "rrf" (rank fusion, `weight` is the lexical
    side's share) or "weighted" (weight × bm25 / best bm25 + (1 − weight) × cosine). passages: the
    semantic side also scores a checkpoint by its best passage (long fields cut into pieces the model
    reads whole), not only by the one vector of its headline. strip_filler: resume-request words
    ("let's continue", "where we left off") are taken out of the text that is embedded.
    """

    mode: Mode = "hybrid"
    fusion: Fusion = "zscore"
    weight: float = 0.4
    passages: bool = True
    strip_filler: bool = True


DEFAULT = RankingOptions()

Ranked = list[tuple[dict[str, Any], float]]


def fuse(lexical: Ranked, semantic: Ranked, options: RankingOptions = DEFAULT) -> list[dict[str, Any]]:
    """One ranked list of rows (each with `score`, `lexical`, `semantic`) from the two ranked lists
    (each best first, rows carrying at least id, status and created_at)."""
    rows: dict[str, dict[str, Any]] = {}
    for row, s in lexical:
        rows.setdefault(row["id"], {**row, "lexical": None, "semantic": None})["lexical"] = s
    for row, s in semantic:
        rows.setdefault(row["id"], {**row, "lexical": None, "semantic": None})["semantic"] = s
    if options.fusion == "rrf":  # the one RRF of domain.ranking, as search_nodes' ranked fallback uses it
        scores = rrf_scores([r["id"] for r, _ in lexical], [r["id"] for r, _ in semantic],
                            weights=(options.weight, 1.0 - options.weight))
        for key, score in scores.items():
            rows[key]["score"] = score
    elif options.fusion == "zscore":
        # Each side's scores as standard scores over its own candidates (a candidate the side did not
        # return gets its lowest): a clear outlier (a rare word matched exactly, a close paraphrase)
        # stands out on its side, and a side whose candidates all score alike (every checkpoint about
        # as near) moves nobody much.
        for side, ranked, w in (("lexical", lexical, options.weight), ("semantic", semantic, 1.0 - options.weight)):
            z = _standard([s for _, s in ranked])
            floor = min(z, default=0.0)
            got = {row["id"]: zi for (row, _), zi in zip(ranked, z, strict=True)}
            for key, r in rows.items():
                r["score"] = r.get("score", 0.0) + w * got.get(key, floor)
    else:
        best = max((s for _, s in lexical), default=0.0) or 1.0
        for r in rows.values():
            lex = (r["lexical"] or 0.0) / best
            r["score"] = options.weight * lex + (1.0 - options.weight) * max(r["semantic"] or 0.0, 0.0)
    for r in rows.values():
        r.setdefault("score", 0.0)
    return by_score(rows.values())


def _standard(scores: list[float]) -> list[float]:
    if len(scores) < 2:
        return [0.0] * len(scores)
    mean = sum(scores) / len(scores)
    sd = (sum((x - mean) ** 2 for x in scores) / len(scores)) ** 0.5
    return [(x - mean) / sd if sd > 0 else 0.0 for x in scores]


def by_score(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best score first; ties to live work, then to the newest (two stable sorts; ISO times sort as text)."""
    newest_first = sorted(rows, key=lambda r: r["created_at"], reverse=True)
    return sorted(newest_first, key=lambda r: (-r["score"], STATUS_ORDER.get(r["status"], 9)))


# search_nodes' ranked fallback fuses ranks only (its lexical side has no comparable scores): RRF with
# equal shares, as measured with bench/retrieval.py --memory-tools.
KEYS = RankingOptions(fusion="rrf", weight=0.5)


def fuse_keys(lexical: Sequence[str], semantic: Sequence[str], options: RankingOptions = KEYS) -> list[str]:
    """Rank fusion over two rankings of keys (search_nodes' ranked fallback: entity names), best
    first; equal scores in key order."""
    scores = rrf_scores(lexical, semantic, weights=(options.weight, 1.0 - options.weight))
    return sorted(scores, key=lambda k: (-scores[k], k))
