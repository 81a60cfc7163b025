"""Cutting long checkpoints into passages: windows, overlap, the per-checkpoint bound, short texts left whole."""

from __future__ import annotations

from mcp_server_checkpoints.search.passages import Passages, excerpt


def test_windows_overlap_and_keep_the_original_text() -> None:
    p = Passages(words=5, overlap=2, min_chars=0)
    assert p.split("a b c d e f g h i j k") == ["a b c d e", "d e f g h", "g h i j k"]
    assert p.split("one\ntwo,  three") == ["one\ntwo,  three"]  # a slice of the text: line breaks kept
    assert p.split("   ") == []


def test_every_word_is_in_some_passage() -> None:
    words = [f"w{i}" for i in range(1_003)]
    p = Passages(words=150, overlap=30, limit=100, min_chars=0)
    got = p.split(" ".join(words))
    assert set(" ".join(got).split()) == set(words)
    assert all(len(x.split()) <= 150 for x in got)


def test_short_checkpoints_have_none_and_long_ones_are_bounded() -> None:
    p = Passages(words=10, overlap=0, limit=3, min_chars=100)
    assert p.of("short text", ["short text"]) == []
    long = " ".join(f"w{i}" for i in range(100))
    assert len(p.of(long, [long])) == 3


def test_each_field_is_cut_on_its_own() -> None:
    """A change to one field (say a longer goal) leaves another field's passages as they were."""
    p = Passages(words=4, overlap=0, min_chars=0)
    summary = "s1 s2 s3 s4 s5 s6 s7 s8"
    a = p.of("x", ["goal one", summary])
    b = p.of("x", ["a much longer goal than before", summary])
    assert a[-2:] == b[-2:] == ["s1 s2 s3 s4", "s5 s6 s7 s8"]


def test_excerpt_is_one_line_of_whole_words() -> None:
    assert excerpt("a\n  b   c") == "a b c"
    long = "word " * 100
    got = excerpt(long, chars=50)
    assert got.endswith(" …") and len(got) <= 52 and "wor …" not in got


def test_excerpt_starts_near_the_first_query_word_it_holds() -> None:
    text = " ".join(["filler"] * 200 + ["the", "invoice", "totals"] + ["filler"] * 200)
    got = excerpt(text, chars=100, around=["zebra", "invoice"])
    assert got.startswith("… ") and "the invoice totals" in got and got.endswith(" …")


def test_excerpt_looks_for_the_start_of_a_word_not_any_substring() -> None:
    text = "the product catalog pages " + "filler " * 60 + "then the log rotation failed " + "filler " * 60
    got = excerpt(text, chars=100, around=["log"])
    assert "log rotation failed" in got and "catalog" not in got
