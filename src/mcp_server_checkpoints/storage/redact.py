"""Secret redaction: applied to every text field and payload before anything is written.

Each match is replaced by `[REDACTED:<kind>]` (for assignments and URLs only the value part), and
the number of replacements is kept on the checkpoint. Git SHAs, UUIDs and plain hex digests are
left alone: no pattern matches bare hex.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, AnyStr

import ahocorasick_rs

# Values that are placeholders, not secrets (`${DB_PASSWORD}`, `<your key>`, `changeme`).
_PLACEHOLDER = re.compile(rb"^(?:\$\{?|<|\[REDACTED|\*{3}|%\(|\{\{|null$|none$|true$|false$|undefined$|changeme$|xxx+$)",
                          re.IGNORECASE)


@dataclass(frozen=True)
class _Spec:
    kind: str
    rx: re.Pattern[bytes]  # matched on the UTF-8 bytes of the text (every built-in pattern is ASCII)
    anchors: tuple[str, ...]  # literals every match contains
    mode: str = "at"  # "at": match starts at the anchor (+offset); "tail": match starts right after it;
    #                   "window": search around the anchor
    offset: int = 0
    ci: bool = False  # the anchors are found case-insensitively
    back: int = 0
    fwd: int = 0


def _spec(kind: str, pattern: str, anchors: tuple[str, ...], **kw: Any) -> _Spec:
    return _Spec(kind, re.compile(pattern.encode("ascii")), anchors, **kw)


_VALUE = r"""(?P<q>["']?)(?P<v>[^\s"',;}]{4,300})(?P=q)"""

# A group named "v" means only that part is redacted (the key or URL around it is kept).
_BUILTIN: list[_Spec] = [
    _spec("private-key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*"
          r"PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s\\n]*)", ("PRIVATE KEY",), mode="window", back=40, fwd=20_000),
    _spec("aws-access-key", r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b", ("AKIA", "ASIA", "ABIA", "ACCA")),
    _spec("github-token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b",
          ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    _spec("gitlab-token", r"\bglpat-[A-Za-z0-9_\-]{20,}", ("glpat-",)),
    _spec("anthropic-key", r"\bsk-ant-[A-Za-z0-9_\-]{20,}", ("sk-ant-",)),
    _spec("openai-key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}", ("sk-",)),
    _spec("stripe-key", r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}", ("_live_", "_test_"), offset=-2),
    _spec("slack-token", r"\bxox[abposr]-[A-Za-z0-9\-]{10,}", ("xox",)),
    _spec("google-api-key", r"\bAIza[0-9A-Za-z_\-]{35}\b", ("AIza",)),
    _spec("jwt", r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}", ("eyJ",)),
    _spec("bearer", r"(?i)\bbearer\s+(?P<v>[A-Za-z0-9._~+/\-]{12,}=*)", ("bearer",), ci=True),
    _spec("url-credentials", r"\b[a-zA-Z][a-zA-Z0-9+.\-]{1,20}://[^\s:/@'\"]{1,100}:(?P<v>[^\s@/'\"]{1,200})@",
          ("://",), mode="window", back=24, fwd=320),
    # KEY=value, key: value, "key": "value", key => value — where the key ends with a word naming a secret.
    _spec("assignment", r"""["']?\s*(?:[:=]|=>)\s*""" + _VALUE,
          ("password", "passwd", "pwd", "secret", "token", "apikey", "api_key", "api-key", "access_key",
           "accesskey", "private_key", "credentials", "credential"), mode="tail", ci=True),
    _spec("cli-password", r"(?i)--(?:password|token|api-key|secret)[= ](?P<v>[^\s\"']{4,})",
          ("--password", "--token", "--api-key", "--secret"), ci=True),
]


@dataclass(frozen=True)
class _Anchors:
    """Every built-in anchor in one Aho-Corasick automaton over lower-cased bytes: one pass finds them all."""

    automaton: ahocorasick_rs.BytesAhoCorasick
    # pattern index → (spec, the anchor as given: compared as is for case-sensitive specs)
    owners: list[list[tuple[_Spec, bytes]]]

    @classmethod
    def of(cls, specs: list[_Spec]) -> _Anchors:
        owners: dict[bytes, list[tuple[_Spec, bytes]]] = {}
        for spec in specs:
            for anchor in spec.anchors:
                owners.setdefault(anchor.lower().encode("ascii"), []).append((spec, anchor.encode("ascii")))
        return cls(ahocorasick_rs.BytesAhoCorasick(list(owners)), list(owners.values()))


_ANCHORS = _Anchors.of(_BUILTIN)


@dataclass
class Redactor:
    """Compiled patterns; `redact(text)` returns the redacted text and the number of secrets removed.

    Speed matters (a pre-compact hook redacts a 10 MB transcript). The built-in patterns are matched on
    the text's UTF-8 bytes: one Aho-Corasick pass over the lower-cased bytes finds every literal a match
    must contain (20 ms for 10 MB, where a regex or str.find pass per literal took 200-350 ms), and each
    pattern is tried only there — at the literal, right after it (assignments), or in a small window
    around it (URLs, key blocks). Lower-casing bytes keeps every offset, whatever the text's script.
    Custom patterns are Python regular expressions on the text itself.
    """

    custom: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)  # the built-in ones: _ANCHORS

    @classmethod
    def build(cls, extra: Iterable[str] = ()) -> Redactor:
        custom: list[tuple[str, re.Pattern[str]]] = []
        for i, p in enumerate(extra):
            try:
                custom.append((f"custom-{i + 1}", re.compile(p)))
            except re.error as exc:
                raise ValueError(f"redaction pattern {i + 1} is not a valid regular expression: {exc}") from None
        return cls(custom)

    def _spans(self, data: bytes) -> list[tuple[int, int, str]]:
        """(start, end, kind) of every part of `data` (UTF-8) to replace, on character boundaries."""
        found: dict[tuple[int, int], str] = {}

        def record(m: re.Match[bytes], kind: str) -> None:
            if "v" in m.re.groupindex:
                value = m.group("v")
                if value is None or _PLACEHOLDER.match(value) or value.isdigit():
                    return
                found.setdefault(m.span("v"), kind)
            elif m.end() > m.start():
                found.setdefault(m.span(), kind)

        for pattern, i, j in _ANCHORS.automaton.find_matches_as_indexes(data.lower(), overlapping=True):
            for spec, anchor in _ANCHORS.owners[pattern]:
                if not spec.ci and data[i:j] != anchor:
                    continue  # a case-sensitive literal (AKIA, eyJ) found only in the lower-cased copy
                if spec.mode == "window":
                    lo, hi = max(0, i - spec.back), min(len(data), j + spec.fwd)
                    for m in spec.rx.finditer(data, lo, hi):
                        if m.start() <= j and m.end() >= i:
                            record(m, spec.kind)
                else:
                    at = j if spec.mode == "tail" else i + spec.offset
                    hit = spec.rx.match(data, at) if at >= 0 else None
                    if hit is not None:
                        record(hit, spec.kind)
        return _resolve(((_char_start(data, a), _char_end(data, b), k) for (a, b), k in found.items()))

    def redact(self, text: str) -> tuple[str, int]:
        if not text:
            return text, 0
        data = text.encode("utf-8", "surrogatepass")
        spans = self._spans(data)
        if spans:
            text = _replace(data, spans).decode("utf-8", "surrogatepass")
        count = len(spans)
        for kind, rx in self.custom:
            spans = _resolve((m.start(), m.end(), kind) for m in rx.finditer(text) if m.end() > m.start())
            text, count = _replace(text, spans), count + len(spans)
        return text, count

    def redact_value(self, value: Any) -> tuple[Any, int]:
        """Redact every string inside a JSON-like value (dict keys are kept as they are)."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list):
            total, out = 0, []
            for v in value:
                nv, n = self.redact_value(v)
                out.append(nv)
                total += n
            return out, total
        if isinstance(value, dict):
            total, res = 0, {}
            for k, v in value.items():
                nv, n = self.redact_value(v)
                res[k] = nv
                total += n
            return res, total
        return value, 0


def _char_start(data: bytes, i: int) -> int:
    while 0 < i < len(data) and data[i] & 0xC0 == 0x80:  # inside a multi-byte character: from its start
        i -= 1
    return i


def _char_end(data: bytes, i: int) -> int:
    while i < len(data) and data[i] & 0xC0 == 0x80:  # up to the end of the character it stops in
        i += 1
    return i


def _resolve(spans: Iterable[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Overlapping matches: the earliest (then longest) wins."""
    out: list[tuple[int, int, str]] = []
    last_end = -1
    for start, end, kind in sorted(spans, key=lambda x: (x[0], -x[1])):
        if start >= last_end:
            out.append((start, end, kind))
            last_end = end
    return out


def _replace(text: AnyStr, spans: list[tuple[int, int, str]]) -> AnyStr:
    """`text` with each span replaced by its `[REDACTED:<kind>]` marker."""
    out: list[AnyStr] = []
    pos = 0
    for start, end, kind in spans:
        marker = f"[REDACTED:{kind}]"
        out += (text[pos:start], marker.encode("ascii") if isinstance(text, bytes) else marker)
        pos = end
    out.append(text[pos:])
    return text[:0].join(out)
