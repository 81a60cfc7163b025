"""Resume-request phrasing is taken out of the text a query is embedded from; the topic stays."""

from __future__ import annotations

import pytest

from mcp_server_checkpoints.search.lexical import strip_filler


@pytest.mark.parametrize(("query", "topic"), [
    ("let's continue the JWT refresh endpoint", "the JWT refresh endpoint"),
    ("pick up where we left off with the OAuth login", "the OAuth login"),
    ("where were we with the billing documents customers download?", "the billing documents customers download"),
    ("Can we get back to the invoice export from last time?", "the invoice export"),
    ("dark mode toggle", "dark mode toggle"),
])
def test_topic_is_kept(query: str, topic: str) -> None:
    assert strip_filler(query) == topic


def test_nothing_but_filler_is_left_as_it_was() -> None:
    assert strip_filler("let's continue") == "let's continue"
    assert strip_filler("") == ""
