"""Secret redaction: applied to every text field and payload before anything is written.

Each secret is replaced by `[REDACTED:<kind>]` (for assignments and URLs only the value part), and the
redactor reports how many of each kind it removed (`redact_kinds`, `redact_value_kinds`) so a checkpoint
can say what was taken out. The kinds and their patterns are in `secret_rules`. Git SHAs, UUIDs and
plain hex digests are left alone: no pattern matches bare hex.

Text is scanned as it is stored, escapes and all: a transcript line is JSON whose strings hold `\\n`,
`\\t`, `\\"` and `\\uXXXX`, and the patterns treat those escapes as the separators they stand for. A
replaced span always covers whole escape sequences and never a JSON quote, so a JSON line comes out as
valid JSON with the same structure.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import ahocorasick_rs

from mcp_server_checkpoints.storage.secret_rules import (
    ASSIGNMENT_STARTS,
    KEY_BYTE_SET,
    KEY_SUFFIXES,
    RULES,
    SUFFIXED,
    Rule,
    assignment_check,
    assignment_verdict,
    key_before,
    scheme_start,
    value_is_secret,
)


@dataclass(frozen=True)
class _Spec:
    rule: Rule
    rx: re.Pattern[bytes]  # matched on the UTF-8 bytes of the text (every built-in pattern is ASCII)
    # The rule's fields the match loop reads, looked up once.
    kind: str
    check: Callable[[bytes, re.Match[bytes], int], str | bool] | None
    priority: int
    value_group: bool  # the secret is the pattern's group `v`, not the whole match
    exact: bool  # the rule's anchors are case-sensitive
    assignment: bool  # checked by `assignment_kind`, whose answers the redactor keeps for the text
    # The numbers of the groups `sfx` (the key's suffix: the key ends where it does), `q` and `v`, 0 for
    # none: an assignment's are read by number in the redactor's loop.
    sfx: int
    q: int
    v: int
    # `rule.run` as a byte table that maps its characters to 1 and the others to 0, and a run of 1s.
    run: tuple[bytes, bytes] | None

    @classmethod
    def of(cls, rule: Rule) -> _Spec:
        rx = re.compile(rule.pattern.encode("ascii"))
        run = None
        if rule.run is not None:
            chars, length = rule.run
            member = re.compile(f"[{chars}]".encode("ascii"))
            run = (bytes(member.fullmatch(bytes([c])) is not None for c in range(256)), b"\x01" * length)
        return cls(rule, rx, rule.kind, rule.check, rule.priority, "v" in rx.groupindex, not rule.ci,
                   rule.check is assignment_check, rx.groupindex.get("sfx", 0), rx.groupindex.get("q", 0),
                   rx.groupindex.get("v", 0), run)


def _record(data: bytes, m: re.Match[bytes], spec: _Spec, at: int, found: list[tuple[int, int, str, int]]) -> None:
    """Keep match `m` of `spec` (its anchor at `at`) when its check agrees: its span, widened to whole
    escape sequences, and its kind."""
    start, end = m.span("v") if spec.value_group else m.span()
    if end <= start:
        return
    kind: str | bool = spec.kind
    if spec.check is not None:
        kind = spec.check(data, m, at)
        if kind is False:
            return
        if kind is True:
            kind = spec.kind
    assert isinstance(kind, str)
    if data.find(b"\\", max(0, start - 5), end) >= 0:  # no backslash near the span: no escape to cut
        start, end = _escape_safe(data, start, end)
    found.append((start, end, kind, spec.priority))


_AT, _TAIL, _SCHEME, _WINDOW, _NEAR = range(5)
_MODES = {"at": _AT, "tail": _TAIL, "scheme": _SCHEME, "window": _WINDOW, "near": _NEAR}


@dataclass(frozen=True)
class _Anchors:
    """Every literal a match must contain, in one Aho-Corasick automaton that runs over the lower-cased
    bytes of the text: one pass finds them all. A case-sensitive literal (`AKIA`, `eyJ`, `SK`) is
    searched lower-cased and then compared with the text itself at the place found — a second pass over
    the original bytes cost as much as the first. A key word (`token`, `password`) counts only with the
    character that may start its assignment after it (`token=`, `token"`, `token:`): most of a
    transcript's `token`s are prose."""

    automaton: ahocorasick_rs.BytesAhoCorasick
    # pattern index → (the literal as the text must spell it, or None when any case will do; mode; spec;
    # where the match starts relative to the literal's start)
    owners: list[tuple[tuple[bytes | None, int, _Spec, int], ...]]
    # pattern index → (its pattern's `match`, offset, spec) when the literal's one owner is an assignment
    # rule, any case (the key words: most anchors of a transcript), else None
    assignments: list[tuple[Callable[[bytes, int], re.Match[bytes] | None], int, _Spec] | None]

    @classmethod
    def of(cls, rules: Iterable[Rule]) -> _Anchors:
        table: dict[bytes, list[tuple[bytes | None, int, _Spec, int]]] = {}
        for rule in rules:
            spec = _Spec.of(rule)
            mode = _MODES[rule.mode]
            for anchor in rule.anchors:
                word = anchor.lower() if rule.ci else anchor
                # A literal without letters reads the same in any case: no comparison needed.
                exact = None if rule.ci or word.lower() == word.upper() else word.encode("ascii")
                if rule.mode == "tail":
                    for suffix in KEY_SUFFIXES if word in SUFFIXED else ("",):
                        for c in ASSIGNMENT_STARTS:
                            literal = word + suffix + c
                            table.setdefault(literal.lower().encode("ascii"), []).append(
                                (None if exact is None else literal.encode("ascii"), mode, spec, len(word)))
                else:
                    table.setdefault(word.lower().encode("ascii"), []).append((exact, mode, spec, rule.offset))
        automaton = ahocorasick_rs.BytesAhoCorasick(list(table), implementation=ahocorasick_rs.Implementation.DFA)
        owners = [tuple(v) for v in table.values()]
        return cls(automaton, owners, [_assignment_of(entry) for entry in owners])


def _assignment_of(entry: tuple[tuple[bytes | None, int, _Spec, int], ...]) -> tuple[
        Callable[[bytes, int], re.Match[bytes] | None], int, _Spec] | None:
    if len(entry) != 1:
        return None
    literal, mode, spec, offset = entry[0]
    if literal is not None or mode != _TAIL or not spec.assignment:
        return None
    return spec.rx.match, offset, spec


_ANCHORS = _Anchors.of(RULES)


@dataclass
class Redactor:
    """Compiled patterns; `redact(text)` returns the redacted text and the number of secrets removed.

    Speed matters (a pre-compact hook redacts a 10 MB transcript, and every save redacts every field;
    bench/redaction.py measures both). The built-in patterns are matched on the text's UTF-8 bytes: one
    Aho-Corasick pass over a lower-cased copy finds every literal a match must contain (a regex or str.find
    pass per literal took 200-350 ms for 10 MB), and each pattern is tried only there: at the literal,
    right after it (assignments), from the URL scheme it ends, or in a small window around it (key
    blocks). Lower-casing bytes keeps every offset, whatever the text's script. A string without any
    literal costs one encode and that pass. An ASCII text is replaced as it is (its byte offsets are its
    character offsets); another text's UTF-8 bytes are replaced and decoded. An assignment's answer is
    kept for the rest of the text by key, value and quoting (a transcript repeats its lines). Custom
    patterns are Python regular expressions on the text itself.
    """

    custom: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)  # the built-in ones: _ANCHORS

    @classmethod
    def build(cls, extra: Iterable[str] = ()) -> Redactor:
        custom: list[tuple[str, re.Pattern[str]]] = []
        for i, p in enumerate(extra):
            try:
                custom.append((f"custom-{i + 1}", re.compile(p)))
            except re.error as exc:
                # exc names the problem and its position, never the pattern's text (which may hold a secret).
                raise ValueError(f"redaction pattern {i + 1} is not a valid regular expression: {exc.msg} "
                                 f"at position {exc.pos}") from None
        return cls(custom)

    def _spans(self, data: bytes) -> list[tuple[int, int, str]]:
        """(start, end, kind) of every part of `data` (UTF-8) to replace, on character boundaries."""
        matches = _ANCHORS.automaton.find_matches_as_indexes(data.lower(), overlapping=True)
        if not matches:  # most short strings: nothing more to do
            return []
        # Kept apart as the rules' two tables were (case-sensitive first), so that where two matches
        # cover the same span with the same priority the same kind names it.
        exact: list[tuple[int, int, str, int]] = []
        folded: list[tuple[int, int, str, int]] = []
        size = len(data)
        owners, assignments = _ANCHORS.owners, _ANCHORS.assignments
        verdicts: dict[tuple[bytes, bytes, bool], str | None] = {}  # assignment_kind's answers in this text
        for pattern, i, j in matches:
            if (assignment := assignments[pattern]) is not None:  # most anchors of a transcript: a key word
                match, offset, spec = assignment
                m = match(data, i + offset)
                if m is None:
                    continue
                # `assignment_kind(data, m, i, verdicts)`, inline: a call for each of a transcript's
                # thousands of assignments cost more than the answer kept for most of them.
                start, end = m.span(spec.v)
                key = data[i:m.end(spec.sfx) if spec.sfx else m.start()]
                if i and data[i - 1] in KEY_BYTE_SET:  # a key byte before the anchor (`DB_PASSWORD`)
                    key = key_before(data, i) + key
                seen = (key, data[start:end], start > m.start(spec.q))
                if seen in verdicts:
                    kind = verdicts[seen]
                else:
                    verdicts[seen] = kind = assignment_verdict(key, seen[1], seen[2])
                if kind is None:
                    continue
                if data.find(b"\\", start - 5 if start > 5 else 0, end) >= 0:
                    start, end = _escape_safe(data, start, end)
                (exact if spec.exact else folded).append((start, end, kind, spec.priority))
                continue
            for literal, mode, spec, offset in owners[pattern]:
                if literal is not None and not data.startswith(literal, i):
                    continue
                if mode <= _SCHEME:  # at the literal, right after it (an assignment), or from its URL scheme
                    at = scheme_start(data, i) if mode == _SCHEME else i + offset
                    m = spec.rx.match(data, at)
                    if m is not None:
                        _record(data, m, spec, i, exact if spec.exact else folded)
                    continue
                rule = spec.rule
                lo, hi = max(0, i - rule.back), min(size, j + rule.fwd)
                if spec.run is not None:
                    first = data[lo:hi].translate(spec.run[0]).find(spec.run[1])
                    if first < 0:
                        continue  # no match fits in the window
                    lo += first  # none starts before its first run
                for m in spec.rx.finditer(data, lo, hi):
                    if mode == _NEAR or m.end() >= i:
                        if m.start() > j and mode == _WINDOW:
                            break  # past the anchor: the rest of the window is another anchor's
                        _record(data, m, spec, i, exact if spec.exact else folded)
        exact += folded
        if not exact:
            return []
        if len(exact) == 1:
            spans = [exact[0][:3]]
        elif len(exact) == 2:  # a token and the assignment it is the value of, often
            spans = _merge_two(exact[0], exact[1])
        else:
            spans = _merge(exact)
        if data.isascii():  # every byte is a character
            return spans
        return [(_char_start(data, a), _char_end(data, b), k) for a, b, k in spans]

    def redact_kinds(self, text: str) -> tuple[str, Counter[str]]:
        """`text` with every secret replaced, and how many of each kind were replaced."""
        kinds: Counter[str] = Counter.__new__(Counter)  # without `Counter.__init__`, a Python call (~0.7 µs)
        if not text:
            return text, kinds
        data = text.encode("utf-8", "surrogatepass")
        spans = self._spans(data)
        if spans:
            # An ASCII text's byte offsets are its character offsets: replaced as it is. Another text is
            # replaced in its UTF-8 bytes, which are then decoded: one copy of the bytes (views of the
            # pieces joined) and one decode cost less than cutting the text into pieces and joining them,
            # which copies it twice at two or four bytes a character (10 MB: ~2 ms less in the bench's
            # process, ~10 ms less where the copies land on fresh pages).
            text = _replace(text, spans) if len(data) == len(text) else _replace_bytes(data, spans)
            for _, _, k in spans:
                kinds[k] = kinds.get(k, 0) + 1
        for kind, rx in self.custom:
            custom = _merge((m.start(), m.end(), kind, 0) for m in rx.finditer(text) if m.end() > m.start())
            if custom:
                text = _replace(text, custom)
                kinds.update(k for _, _, k in custom)
        return text, kinds

    def redact(self, text: str) -> tuple[str, int]:
        out, kinds = self.redact_kinds(text)
        return out, kinds.total()

    def redact_value_kinds(self, value: Any) -> tuple[Any, Counter[str]]:
        """Every string inside a JSON-like value redacted, and the count per kind. Dict keys are kept; a
        string under a key that names a secret (`{"DB_PASSWORD": "hunter2"}`) is replaced whole."""
        kinds: Counter[str] = Counter()

        def walk(v: Any, key: str | None) -> Any:
            if isinstance(v, str):
                out, found = self.redact_kinds(v)
                if not found and key is not None and (kind := value_is_secret(key, v)) is not None:
                    out, found = f"[REDACTED:{kind}]", Counter({kind: 1})
                kinds.update(found)
                return out
            if isinstance(v, list):
                return [walk(item, None) for item in v]
            if isinstance(v, dict):
                return {k: walk(item, k if isinstance(k, str) else None) for k, item in v.items()}
            return v

        return walk(value, None), kinds

    def redact_value(self, value: Any) -> tuple[Any, int]:
        """Redact every string inside a JSON-like value (dict keys are kept as they are)."""
        out, kinds = self.redact_value_kinds(value)
        return out, kinds.total()


def _escape_safe(data: bytes, start: int, end: int) -> tuple[int, int]:
    """The span widened to whole escape sequences: cutting `\\n`, `\\"` or `\\u00e9` in two would leave
    a lone backslash that escapes the marker's `[` or the string's closing quote."""
    if (around := _escape_around(data, start)) is not None:
        start = around[0]
    if (around := _escape_around(data, end)) is not None:
        end = around[1]
    return start, end


def _escape_around(data: bytes, i: int) -> tuple[int, int] | None:
    """(start, end) of the escape sequence that position `i` falls strictly inside, if any."""
    if data.find(b"\\", max(0, i - 5), i) < 0:  # the common case, answered in C
        return None
    for k in range(i - 1, max(-1, i - 6), -1):
        if data[k] == 0x5C and not _escaped_at(data, k):
            stop = k + (6 if data[k + 1:k + 2] == b"u" and _HEX4.fullmatch(data, k + 2, k + 6) else 2)
            return (k, min(stop, len(data))) if stop > i else None
    return None


_HEX4 = re.compile(rb"[0-9a-fA-F]{4}")


def _escaped_at(data: bytes, i: int) -> bool:
    """Whether the byte at `i` is the second half of an escape (an odd run of backslashes before it)."""
    n = 0
    while i - n - 1 >= 0 and data[i - n - 1] == 0x5C:
        n += 1
    return n % 2 == 1


def _char_start(data: bytes, i: int) -> int:
    while 0 < i < len(data) and data[i] & 0xC0 == 0x80:  # inside a multi-byte character: from its start
        i -= 1
    return i


def _char_end(data: bytes, i: int) -> int:
    while i < len(data) and data[i] & 0xC0 == 0x80:  # up to the end of the character it stops in
        i += 1
    return i


def _replace_bytes(data: bytes, spans: list[tuple[int, int, str]]) -> str:
    """The text that UTF-8 `data` encodes, with each span (byte offsets on character boundaries) replaced by
    its marker: the same text as replacing the decoded text at the spans' character offsets, since every
    span starts and ends between two characters and a marker is ASCII."""
    view = memoryview(data)
    out: list[bytes | memoryview] = []
    pos = 0
    for start, end, kind in spans:
        out += (view[pos:start], f"[REDACTED:{kind}]".encode("ascii"))
        pos = end
    out.append(view[pos:])
    return b"".join(out).decode("utf-8", "surrogatepass")


def _merge(spans: Iterable[tuple[int, int, str, int]]) -> list[tuple[int, int, str]]:
    """Overlapping matches become one span covering them all — no part of either secret is left — named
    by the kind of lowest priority among them (see `Rule.priority`)."""
    ordered = sorted(spans, key=_merge_order)
    if not ordered:
        return []
    out: list[tuple[int, int, str]] = []
    start, end, kind, priority = ordered[0]
    for s, e, k, p in ordered[1:]:
        if s < end:
            if e > end:
                end = e
            if p < priority:
                kind, priority = k, p
            continue
        out.append((start, end, kind))
        start, end, kind, priority = s, e, k, p
    out.append((start, end, kind))
    return out


def _merge_two(a: tuple[int, int, str, int], b: tuple[int, int, str, int]) -> list[tuple[int, int, str]]:
    """`_merge([a, b])` without its sort and loop (a short string's two matches)."""
    if _merge_order(b) < _merge_order(a):
        a, b = b, a
    if b[0] >= a[1]:
        return [a[:3], b[:3]]
    return [(a[0], b[1] if b[1] > a[1] else a[1], b[2] if b[3] < a[3] else a[2])]


def _merge_order(span: tuple[int, int, str, int]) -> tuple[int, int, int]:
    return span[0], -span[1], span[3]


def _replace(text: str, spans: list[tuple[int, int, str]]) -> str:
    """`text` with each span replaced by its `[REDACTED:<kind>]` marker."""
    if len(spans) == 1:  # the common case
        start, end, kind = spans[0]
        return f"{text[:start]}[REDACTED:{kind}]{text[end:]}"
    out: list[str] = []
    pos = 0
    for start, end, kind in spans:
        out += (text[pos:start], f"[REDACTED:{kind}]")
        pos = end
    out.append(text[pos:])
    return "".join(out)
