"""Confidence and action: the recovery specification's table, as a pure function.

| evidence                                                    | confidence  | action  |
|-------------------------------------------------------------|-------------|---------|
| exact id chosen by the agent (`checkpoint_id`)              | 0.98        | apply   |
| exact id in the message, ≤ 7 days, open                     | 0.95        | apply   |
| exact id in the message, > 7 days or completed/abandoned    | 0.85        | confirm |
| formatted continuation, clear unique match, < 6 h           | 0.90–0.97   | apply   |
| formatted, clear unique match, 6–24 h                       | 0.70–0.85   | confirm |
| natural-language request, clear unique match, ≤ 24 h        | 0.70–0.85   | confirm |
| proactive check (no resume request), one recent candidate   | 0.60        | confirm |
| ambiguous topic, > 24 h, or several close matches           | 0.30–0.65   | choose  |
| words and meaning fit two different candidates (disputed)   | 0.30–0.58   | choose  |
| nothing matching                                            | 0.0         | none    |

Over 7 days nothing is applied without confirmation; completed and abandoned work is never offered
(the caller filters it out before asking this module).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mcp_server_checkpoints.domain.statuses import CLOSED_STATUSES
from mcp_server_checkpoints.domain.time import short_age

Action = Literal["apply", "confirm", "choose", "none"]

STRONG_MATCH = 0.5  # a topic this well covered is "a match"
WEAK_MATCH = 0.25  # below this a candidate is not about the topic at all
CLOSE = 0.1  # a second candidate within this of the best makes the match ambiguous
FRESH_HOURS = 6.0
DAY_HOURS = 24.0
WEEK_HOURS = 24.0 * 7


@dataclass(frozen=True)
class Verdict:
    action: Action
    confidence: float
    reasons: list[str]


def for_explicit_id(age_hours: float, status: str, *, chosen: bool) -> Verdict:
    reasons = ["explicit checkpoint id", f"age {short_age(age_hours)}"]
    if chosen:
        return Verdict("apply", 0.98, reasons + ["chosen by the caller"])
    if status in CLOSED_STATUSES:
        return Verdict("confirm", 0.85, reasons + [f"marked {status}"])
    if age_hours > WEEK_HOURS:
        return Verdict("confirm", 0.85, reasons + ["older than 7 days: confirm before applying"])
    return Verdict("apply", 0.95, reasons)


def for_topic(kind: Literal["formatted", "natural"], matches: list[float], best_age_hours: float,
              *, disputed: bool = False) -> Verdict:
    """`matches`: topic scores of the candidates, best first (already without completed/abandoned work).

    `disputed`: the words (bm25) and the meaning (embeddings) each fit a different candidate well; the
    request fits both about equally, so the user is asked, as for close matches.
    """
    reasons = ["formatted continuation" if kind == "formatted" else "natural-language resume request"]
    if not matches or matches[0] < WEAK_MATCH:
        return Verdict("none", 0.0, reasons + ["no checkpoint matches the topic"])
    best = matches[0]
    reasons += [f"topic match {best:.2f}", f"age {short_age(best_age_hours)}"]
    close = [m for m in matches[1:] if m >= WEAK_MATCH and best - m <= CLOSE]
    if close:
        return Verdict("choose", round(0.3 + 0.35 * best * 0.8, 2), reasons + [f"{len(close) + 1} close matches"])
    if disputed:
        return Verdict("choose", round(0.3 + 0.35 * best * 0.8, 2),
                       reasons + ["the words fit one checkpoint, the meaning another"])
    if best < STRONG_MATCH:
        return Verdict("choose", round(0.3 + 0.35 * best, 2), reasons + ["ambiguous topic"])
    if best_age_hours > DAY_HOURS:
        why = "older than 7 days" if best_age_hours > WEEK_HOURS else "older than 24 h"
        return Verdict("choose", round(0.3 + 0.35 * best, 2), reasons + [why])
    if kind == "formatted" and best_age_hours < FRESH_HOURS:
        return Verdict("apply", round(min(0.9 + 0.07 * best, 0.97), 2), reasons)
    return Verdict("confirm", round(0.7 + 0.15 * best, 2), reasons)


def for_recent(count: int, newest_age_hours: float, *, asked: bool) -> Verdict:
    """No topic to match: the most recent open work. `asked` when the user asked to resume, else proactive."""
    reasons = ["resume request without a topic" if asked else "proactive check at conversation start"]
    if count == 0:
        return Verdict("none", 0.0, reasons + ["no recent unfinished work"])
    reasons.append(f"age {short_age(newest_age_hours)}")
    if count > 1:
        return Verdict("choose", 0.5 if asked else 0.45, reasons + [f"{count} unfinished checkpoints"])
    if newest_age_hours > DAY_HOURS:
        return Verdict("choose", 0.45, reasons + ["older than 24 h"])
    return Verdict("confirm", 0.75 if asked else 0.6, reasons)
