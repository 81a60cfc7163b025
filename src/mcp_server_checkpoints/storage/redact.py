"""Secret redaction: applied to every text field and payload before anything is written.

Each match is replaced by `[REDACTED:<kind>]` (for assignments and URLs only the value part), and
the number of replacements is kept on the checkpoint. Git SHAs, UUIDs and plain hex digests are
left alone: no pattern matches bare hex.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_PLACEHOLDER = re.compile(r"^(?:\$\{?|<|\[REDACTED|\*{3}|%\(|\{\{|null$|none$|true$|false$|undefined$|changeme$|xxx+$)",
                          re.IGNORECASE)

@dataclass(frozen=True)
class _Spec:
    kind: str
    rx: re.Pattern[str]
    anchors: tuple[str, ...]  # literals every match contains; () = scan the whole text (custom patterns)
    mode: str = "at"  # "at": match starts at the anchor (+offset); "tail": match starts right after it;
    #                   "window": search around the anchor
    offset: int = 0
    ci: bool = False  # anchors are lower-case and found in the lower-cased text
    back: int = 0
    fwd: int = 0
    # The anchors as one pattern: one pass over a 10 MB transcript per spec instead of one per anchor
    # (re finds a set of literals with distinct first characters about as fast as str.find finds one).
    finder: re.Pattern[str] | None = None


def _spec(kind: str, pattern: str, anchors: tuple[str, ...], **kw: Any) -> _Spec:
    finder = re.compile("|".join(re.escape(a) for a in sorted(anchors, key=len, reverse=True)))
    return _Spec(kind, re.compile(pattern), anchors, finder=finder, **kw)


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


@dataclass
class Redactor:
    """Compiled patterns; `redact(text)` returns the redacted text and the number of secrets removed.

    Speed matters (a pre-compact hook redacts a 10 MB transcript): the literals every match must
    contain are found first (one pass per pattern), and each pattern is tried only there — at the literal, right
    after it (assignments), or in a small window around it (URLs, key blocks).
    """

    specs: list[_Spec]
    _builtin_only: bool = True

    @classmethod
    def build(cls, extra: Iterable[str] = ()) -> Redactor:
        specs = list(_BUILTIN)
        for i, p in enumerate(extra):
            try:
                specs.append(_Spec(f"custom-{i + 1}", re.compile(p), ()))
            except re.error as exc:
                raise ValueError(f"redaction pattern {i + 1} is not a valid regular expression: {exc}") from None
        return cls(specs, _builtin_only=len(specs) == len(_BUILTIN))

    def _spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, kind) of every part to replace."""
        if len(text) < 2048 and self._builtin_only and not _ANY_ANCHOR.search(text):
            return []  # most strings are short and innocent: one regex instead of one find per anchor
        lower: str | None = None
        found: dict[tuple[int, int], str] = {}

        def record(m: re.Match[str], kind: str) -> None:
            if "v" in m.re.groupindex:
                if m.group("v") is None:
                    return
                value = m.group("v")
                if _PLACEHOLDER.match(value) or value.isdigit():
                    return
                found.setdefault(m.span("v"), kind)
            elif m.end() > m.start():
                found.setdefault(m.span(), kind)

        for spec in self.specs:
            if spec.finder is None:
                for m in spec.rx.finditer(text):
                    record(m, spec.kind)
                continue
            finder, hay = spec.finder, text
            if spec.ci:
                if lower is None:
                    lower = text.lower()
                if len(lower) == len(text):
                    hay = lower
                else:  # a few characters lower-case to two ('İ'): offsets into `lower` would be wrong
                    finder = re.compile(finder.pattern, re.IGNORECASE)
            a = finder.search(hay)
            while a is not None:
                i, j = a.span()
                a = finder.search(hay, i + 1)  # from the next character: anchors may overlap ("xoxoxb-")
                if spec.mode == "window":
                    lo, hi = max(0, i - spec.back), min(len(text), j + spec.fwd)
                    for m in spec.rx.finditer(text, lo, hi):
                        if m.start() <= j and m.end() >= i:
                            record(m, spec.kind)
                else:
                    at = j if spec.mode == "tail" else i + spec.offset
                    hit = spec.rx.match(text, at) if at >= 0 else None
                    if hit is not None:
                        record(hit, spec.kind)
        spans: list[tuple[int, int, str]] = []
        last_end = -1
        for (start, end), kind in sorted(found.items(), key=lambda x: (x[0][0], -x[0][1])):
            if start >= last_end:  # overlapping matches: the earliest (then longest) wins
                spans.append((start, end, kind))
                last_end = end
        return spans

    def redact(self, text: str) -> tuple[str, int]:
        spans = self._spans(text)
        if not spans:
            return text, 0
        out: list[str] = []
        pos = 0
        for start, end, kind in spans:
            out.append(text[pos:start])
            out.append(f"[REDACTED:{kind}]")
            pos = end
        out.append(text[pos:])
        return "".join(out), len(spans)

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


# Every anchor of the built-in patterns, case-insensitively: a string with none of them holds no secret.
_ANY_ANCHOR = re.compile("|".join(sorted({re.escape(a) for spec in _BUILTIN for a in spec.anchors}, key=len, reverse=True)),
                         re.IGNORECASE)
