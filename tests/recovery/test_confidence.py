"""Every row of the recovery specification's confidence table."""

from __future__ import annotations

import pytest

from mcp_server_checkpoints.recovery.confidence import for_explicit_id, for_recent, for_topic


@pytest.mark.parametrize(
    ("age", "status", "chosen", "action", "low", "high"),
    [
        (2, "in-progress", False, "apply", 0.9, 1.0),  # exact id → high
        (400, "paused", True, "apply", 0.9, 1.0),  # chosen by the caller: applies whatever its age
        (24 * 8, "in-progress", False, "confirm", 0.7, 0.9),  # > 7 days never applies unconfirmed
        (1, "completed", False, "confirm", 0.7, 0.9),  # finished work is not applied unasked
    ],
)
def test_explicit_id(age: float, status: str, chosen: bool, action: str, low: float, high: float) -> None:
    v = for_explicit_id(age, status, chosen=chosen)
    assert v.action == action and low <= v.confidence <= high and "explicit checkpoint id" in v.reasons


@pytest.mark.parametrize(
    ("kind", "matches", "age", "action", "low", "high", "reason"),
    [
        ("formatted", [0.9], 3, "apply", 0.9, 1.0, "formatted continuation"),  # formatted and < 6 h → high
        ("formatted", [0.9], 10, "confirm", 0.7, 0.9, "topic match 0.90"),  # 6–24 h → medium
        ("natural", [0.9], 3, "confirm", 0.7, 0.9, "natural-language resume request"),  # natural → medium
        ("natural", [0.8], 20, "confirm", 0.7, 0.9, "age 20 h"),
        ("formatted", [0.9], 30, "choose", 0.0, 0.7, "older than 24 h"),  # > 24 h → low
        ("natural", [0.9], 24 * 9, "choose", 0.0, 0.7, "older than 7 days"),  # > 7 days never applies
        ("formatted", [0.9, 0.85], 2, "choose", 0.0, 0.7, "2 close matches"),  # several matches → low
        ("natural", [0.4], 2, "choose", 0.0, 0.7, "ambiguous topic"),  # ambiguous topic → low
        ("natural", [0.1], 2, "none", 0.0, 0.0, "no checkpoint matches the topic"),
        ("formatted", [], 0, "none", 0.0, 0.0, "no checkpoint matches the topic"),
    ],
)
def test_topic(kind: str, matches: list[float], age: float, action: str, low: float, high: float, reason: str) -> None:
    v = for_topic(kind, matches, age)  # type: ignore[arg-type]
    assert v.action == action and low <= v.confidence <= high and reason in v.reasons


@pytest.mark.parametrize(
    ("count", "age", "asked", "action"),
    [
        (1, 2, False, "confirm"),  # proactive: offer, never apply
        (3, 2, False, "choose"),
        (0, 0, False, "none"),
        (1, 5, True, "confirm"),
        (1, 40, True, "choose"),
        (2, 1, True, "choose"),
    ],
)
def test_recent(count: int, age: float, asked: bool, action: str) -> None:
    v = for_recent(count, age, asked=asked)
    assert v.action == action
    assert v.action != "apply"
