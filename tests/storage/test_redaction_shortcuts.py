"""The redactor's shortcuts change no answer: case-sensitive literals found in one lower-cased pass,
ASCII text replaced without decoding, and the quick tests that skip a placeholder pattern."""

from __future__ import annotations

import dataclasses
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_server_checkpoints.storage import redact, secret_rules
from mcp_server_checkpoints.storage.redact import Redactor
from tests.storage.secret_corpus import SECRETS

AWS = "AKIAIOSFODNN7EXAMPLQ"
TWILIO = "SK" + "0123456789abcdef0123456789abcdef"


def test_a_case_sensitive_literal_counts_only_in_its_case() -> None:
    redactor = Redactor.build()
    for secret, kind in ((AWS, "aws-access-key-id"), (TWILIO, "twilio-api-key")):
        assert redactor.redact_kinds(f"id {secret} here")[1] == {kind: 1}
        # Found lower-cased by the one automaton pass, then compared with the text: no match.
        assert redactor.redact_kinds(f"id {secret.lower()} here")[1] == {}
        assert redactor.redact_kinds(f"id {secret[:2].swapcase()}{secret[2:]} here")[1] == {}


def test_a_non_ascii_text_is_redacted_as_its_ascii_part_is() -> None:
    """ASCII text is replaced in place; other text through its UTF-8 bytes: the same secrets, the same
    markers, whatever precedes them."""
    redactor = Redactor.build()
    for _, text, secret in SECRETS:
        out, kinds = redactor.redact_kinds(text)
        assert secret not in out
        for prefix in ("é ", "İ — ", "日本語\n", "\U0001f600 "):
            assert redactor.redact_kinds(prefix + text) == (prefix + out, kinds), (prefix, text)


_WORDS = sorted(w.decode() for w in secret_rules._PLACEHOLDER_WORDS)


@settings(max_examples=200, deadline=None)
@given(st.one_of(
    st.sampled_from(_WORDS).map(lambda w: w.upper() if len(w) % 2 else w.title()),
    st.sampled_from(["your", "YOUR_", "my-", "my_secret", "MyApiKey", "x_here", "_here"]).flatmap(
        lambda w: st.text("abcXYZ019_-", max_size=8).map(lambda t: w + t)),
    st.text(alphabet="$<[*%{#.…ab_-\n", max_size=12),
    st.text(max_size=20),
))
def test_the_quick_placeholder_test_never_skips_a_placeholder(value: str) -> None:
    raw = value.encode("utf-8", "surrogatepass")
    if secret_rules._PLACEHOLDER.match(raw):
        assert secret_rules._may_be_placeholder(raw), raw


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcXYZ_-.$09 !é", max_size=24))
def test_a_value_the_quick_name_test_rejects_is_no_name(value: str) -> None:
    raw = value.encode("utf-8")
    if secret_rules._NO_NAME.search(raw.strip(b"_$")):
        # A character no word holds, or a second number: the word-by-word reading says the same.
        parts = secret_rules._PARTS.findall(raw.strip(b"_$"))
        numbers = sum(p.isdigit() for p in parts)
        odd = [p for p in parts if not (p.isalnum() or p in (b"_", b"-", b"."))]
        assert odd or numbers >= 2
        assert not secret_rules.is_name(raw)


# The value pattern unit by unit, as it was before its one-byte fast branch and its length look-ahead.
_UNIT_BY_UNIT = {least: re.compile(rf"""(?P<q>{secret_rules.QUOTES})(?P<v>{secret_rules._U}{{{least},300}})""".encode())
                 for least in (4, 16)}
_VALUE_BITS = ["a", "B", "3", "x_", "key", "_value", "=", ":", ":=", "=>", " ", "\t", "\n", "\\", "\\\\", "\\n", "\\t",
               "\\u00e9", "\\u00", '"', "\\\"", "'", "`", "%", "%3D", "%20", "%41", "%4", "&", "&a=", "&1", ";", ",",
               "<", ">", "}", "é"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_VALUE_BITS), max_size=30), st.integers(0, 320), st.integers(0, 30))
def test_the_value_fast_branch_reads_a_value_as_the_unit_by_unit_pattern(bits: list[str], run: int, at: int) -> None:
    """Values of plain bytes only, with escapes, too short, and past the 300-unit cap: the same match and
    groups either way, for both lower bounds."""
    text = "".join(bits)
    at = min(at, len(text))
    data = (text[:at] + "x" * run + text[at:]).encode("utf-8")
    for least, old in _UNIT_BY_UNIT.items():
        new = re.compile(secret_rules.value_pattern(least).encode("ascii"))
        for pos in (0, 1, at):
            a, b = old.match(data, pos), new.match(data, pos)
            assert (a is None) == (b is None), (data, pos, least)
            if a is not None and b is not None:
                assert (a.span(), a.span("q"), a.span("v")) == (b.span(), b.span("q"), b.span("v")), (data, pos)


def _general_path() -> object:
    """The anchors with every assignment checked through its rule's `check`, one call per match, no answer kept
    (none goes through the redactor's own reading of assignments)."""
    owners = [tuple((literal, mode, dataclasses.replace(spec, assignment=False), offset)
                    for literal, mode, spec, offset in entry) for entry in redact._ANCHORS.owners]
    return dataclasses.replace(redact._ANCHORS, owners=owners, assignments=[None] * len(owners))


_KEYS = ["API_KEY", "api_key", "apiKey", "SECRET_KEY", "client_secret", "token", "GITHUB_TOKEN", "DB_PASSWORD",
         "password", "signing_key", "cache_key", "key", "pwd", "self.token", "\\n  api_key"]
_OPS = ["=", " = ", ": ", "\\\": \\\"", "='", "=\"", ":=", " => ", "%3D", "  :  "]
_VALUES = ["aB3dE5fG7hJ9kL1mN3pQ5rS7", "hunter2!", "os.environ[\\\"X\\\"]", "${SECRET}", "your-api-key-here",
           "xxxxxxxxxxxxxxxxxxxx", "lambda r: r.x", "await refresh()", "Zk9q\\u00e9Lm2Wx8Rt5Yp1Vb7N", "sk_test_abc",
           "b7f9a7041d289d1b9c3e5f7a", "str", "/home/dev/app", "ab%2Fcd%2Bef0123456789XYZ"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_KEYS), st.sampled_from(_OPS), st.sampled_from(_VALUES),
                          st.sampled_from(["\\n", "\n", " ", "; ", "\\\", \\\""])), min_size=1, max_size=12))
def test_the_kept_assignment_answers_change_no_answer(lines: list[tuple[str, str, str, str]]) -> None:
    """A text with the same assignments again and again (its answers looked up after the first) is
    redacted as when every match is checked on its own."""
    text = "".join(k + op + v + end for k, op, v, end in lines)
    text += text  # every assignment seen twice at least
    redactor = Redactor.build()
    fast = redactor.redact_kinds(text)
    saved = redact._ANCHORS
    redact._ANCHORS = _general_path()  # type: ignore[assignment]
    try:
        assert redactor.redact_kinds(text) == fast, text
    finally:
        redact._ANCHORS = saved


def _scheme_start_byte_by_byte(data: bytes, i: int) -> int:
    s, lo = i, max(0, i - 21)
    while s > lo and data[s - 1] in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+.-":
        s -= 1
    while s < i and not (65 <= data[s] <= 90 or 97 <= data[s] <= 122):
        s += 1
    return s


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="aZ09+.-%/:@ \\é", max_size=40), st.integers(0, 40))
def test_the_scheme_is_found_as_byte_by_byte(text: str, i: int) -> None:
    data = text.encode("utf-8")
    i = min(i, len(data))
    assert secret_rules.scheme_start(data, i) == _scheme_start_byte_by_byte(data, i), (data, i)


def _key_before_in_full(data: bytes, i: int) -> bytes:
    lo = max(0, i - 64)
    s = lo + len(data[lo:i].rstrip(secret_rules._KEY_BYTES))
    if s > 0 and data[s - 1] == 0x5C:
        s += 5 if re.match(rb"u[0-9a-fA-F]{4}", data[s:]) else 1
    elif s > 0 and data[s - 1] == 0x25 and re.match(rb"[0-9a-fA-F]{2}", data[s:]):
        s += 2
    return data[s:i] if s < i else b""


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="aZ9_.-\\u%0A \"é", max_size=80), st.integers(0, 80))
def test_the_key_before_an_anchor_is_read_as_in_full(text: str, i: int) -> None:
    """No key byte right before the anchor answers at once; the answer is the one the full reading gives."""
    data = text.encode("utf-8")
    i = min(i, len(data))
    assert secret_rules.key_before(data, i) == _key_before_in_full(data, i), (data, i)


def _anchors_with_one_start_character() -> object:
    """The anchors as they were: a key word with the first character of its operator only (`token'`)."""
    saved = redact.ASSIGNMENT_STARTS
    redact.ASSIGNMENT_STARTS = ("=", ":", '"', "'", "`", "\\", "%", " =", " :", "  ", "\t")  # type: ignore[assignment]
    try:
        return redact._Anchors.of(secret_rules.RULES)
    finally:
        redact.ASSIGNMENT_STARTS = saved  # type: ignore[assignment]


_ANCHORS_ONE_START = _anchors_with_one_start_character()
_AFTER = ["'", '"', "`", "\\", "\\\\", "\\\"", "\\'", "\\t", "\\T", "\\n", "%", "%22", "%27", "%3D", "%3a", "%20", "%09",
          "%0A", "%2", "  ", "\t", " ", "=", ":", ":=", "=>", ";", ",", "x", ")",
          # whole operators with a two-character start
          "  \\t= ", "\t\\t: ", "  %20=", "\t%09:", "'%3D'", "\"\\t: ", "`\\\"=", "\\\\\"=", "%22%3A%22", "  :", "\t=\t"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_KEYS + ["PASS", "Token", "password_value", "SECRET_KEY_BASE", "tokenkey"]),
                          st.lists(st.sampled_from(_AFTER), min_size=1, max_size=4).map("".join),
                          st.sampled_from(_VALUES + ["", "ab", "lambda r: r"]),
                          st.sampled_from(["\\n", "\n", " ", "; ", "\\\", \\\"", ""])), min_size=1, max_size=8))
def test_the_two_character_starts_find_every_assignment_the_first_character_finds(
        lines: list[tuple[str, str, str, str]]) -> None:
    """After a quote, a backslash, `%`, two spaces or a tab, the anchor holds the character the operator
    goes on with; a key word followed by anything else (`token';`, `token\\n`, `PASS  src`) starts no
    assignment, so no answer changes."""
    text = "".join(k + op + v + end for k, op, v, end in lines)
    redactor = Redactor.build()
    fast = redactor.redact_kinds(text)
    saved = redact._ANCHORS
    redact._ANCHORS = _ANCHORS_ONE_START  # type: ignore[assignment]
    try:
        assert redactor.redact_kinds(text) == fast, text
    finally:
        redact._ANCHORS = saved


_BASIC_BEFORE = re.compile((r"(?i:basic)" + secret_rules.SPACE + r"+(?P<v>(?:[A-Za-z0-9+/]|%2[BbFf]){8,}(?:=|%3[Dd]){0,2})"
                            r"(?![A-Za-z0-9+/=])").encode())
_BASIC_BITS = ["dXNlcjpwYXNz", "a", "word", "validation", "validation", "names", "Z", "9", "+", "/", "=", "%2B", "%2f", "%3D", "%3d", "%20", "%41", "%", " ", "\t",
               "\\t", "\\n", "-", ".", "é", ":"]


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(["basic", "Basic", "BASIC"]), st.lists(st.sampled_from([" ", "\t", "\\t", "%20", "%09"]), max_size=2),
       st.lists(st.sampled_from(_BASIC_BITS), max_size=10))
def test_a_word_after_basic_fails_in_the_pattern_as_the_check_rejects_it(word: str, space: list[str],
                                                                           bits: list[str]) -> None:
    """The basic-auth pattern fails on a lower-case word where the one before it matched and its check
    rejected the match; any other match is the same, and so is the check's answer."""
    spec = next(s for entry in redact._ANCHORS.owners for _, _, s, _ in entry if s.kind == "basic-auth")
    assert spec.check is not None
    data = (word + "".join(space + bits)).encode("utf-8")
    old, new = _BASIC_BEFORE.match(data), spec.rx.match(data)
    if new is None:
        # the check rejects a lower-case word at once
        assert old is None or (old.group("v").islower() and spec.check(data, old, 0) is False), data
    else:
        assert old is not None and old.span() == new.span() and old.span("v") == new.span("v"), data


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab \\\"é—日\U0001f600\ud800\udfff", max_size=60), st.lists(st.integers(0, 200), max_size=8),
       st.sampled_from(["github-pat", "password", "url-password"]))
def test_a_non_ascii_text_replaced_in_its_bytes_is_the_text_replaced_at_character_offsets(
        text: str, cuts: list[int], kind: str) -> None:
    """Spans on character boundaries, replaced in the UTF-8 bytes and decoded, give the text replaced at
    the same spans counted in characters (lone surrogates and four-byte characters included)."""
    data = text.encode("utf-8", "surrogatepass")
    bounds = sorted({len(text[:c].encode("utf-8", "surrogatepass")) for c in range(len(text) + 1)})
    points = sorted({bounds[c % len(bounds)] for c in cuts})
    spans = [(a, b, kind) for a, b in zip(points[::2], points[1::2])]
    chars = [(len(data[:a].decode("utf-8", "surrogatepass")), len(data[:b].decode("utf-8", "surrogatepass")), k)
             for a, b, k in spans]
    expected = redact._replace(text, chars) if chars else text
    assert redact._replace_bytes(data, spans) == expected, (text, spans)


_SPAN = st.tuples(st.integers(0, 12), st.integers(1, 8), st.sampled_from(["jwt", "token", "password"]), st.integers(0, 4))


@given(_SPAN, _SPAN)
def test_two_matches_merge_as_the_general_merge_merges_them(a: tuple[int, int, str, int],
                                                            b: tuple[int, int, str, int]) -> None:
    """Overlapping, touching, nested, equal or apart, in either order: the same spans and the same kind."""
    first, second = (a[0], a[0] + a[1], a[2], a[3]), (b[0], b[0] + b[1], b[2], b[3])
    assert redact._merge_two(first, second) == redact._merge([first, second])
