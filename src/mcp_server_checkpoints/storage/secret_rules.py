"""The secret patterns the redactor knows: which kinds, what each looks like, and what is not a secret.

Every pattern is a bytes regex matched on the *raw* text, the way a transcript line arrives: JSON-escaped
(`\\n`, `\\t`, `\\"`, `\\uXXXX`, `\\/`), URL-encoded (`%3D`, `%0A`) or plain. Instead of decoding first
(which would cost a pass over 10 MB and lose the byte offsets), escape sequences count as separators: a
token may start right after `\\n` or `%3D`, and a value stops at `\\n`, `\\"` or `%22`. A redacted span
never ends inside an escape sequence (see `redact._escape_safe`), so JSON stays valid JSON.

Kind names follow gitleaks' rule ids where one exists (`github-pat`, `slack-bot-token`), so a report
reads the same as a scanner's.

Placeholders: a value in the format of a real key is redacted even when it is a documentation example
(`AKIAIOSFODNN7EXAMPLE`): nothing tells it from a live key, and removing it loses nothing. What cannot be
a key is left alone: template variables (`${TOKEN}`, `{{ secrets.X }}`, `<your-key>`), runs of one
character (`ghp_xxxx…`, `********`), type names and code (`password: str`, `api_key=api_key`,
`token = os.environ["TOKEN"]`), paths (`pwd: /home/dev`), and words such as `changeme` or `redacted`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

# A token starts at a boundary: not right after a letter, digit or `_` — unless that character ends an
# escape sequence that stands for a separator (`\n`, `\t`, `\u00a0`, `%3D`, `%0A`).
L = r"(?:(?<![A-Za-z0-9_])|(?<=\\[nrtbf])|(?<=\\u[0-9a-fA-F]{4})|(?<=%[0-9A-Fa-f]{2}))"
R = r"(?![A-Za-z0-9_])"
# One character of a value: anything but a separator, quote or the start of an escape sequence that
# means one (`\n`, `\"`, `%22`, `%0A`); `\uXXXX` and other backslashes stay inside the value. An escaped
# backslash stays too, unless an escape follows it: in JSON inside JSON, `\\\"` is the inner text's `\"`.
_U = (r"""(?:[^\s"'`,;}&\\%<>]|&(?![A-Za-z_][A-Za-z0-9_]*=)|\\u[0-9a-fA-F]{4}|\\\\(?![nrtbfu"'\\/])|\\(?![nrtbfu"'\\/])"""
      r"""|%(?!20|22|26|27|2[Cc]|0[9AaDd]|3[Bb]|7[Dd])[0-9A-Fa-f]{2}|%(?![0-9A-Fa-f]{2}))""")
QUOTE = r"""(?:\\*["'`]|%2[27])"""
QUOTES = QUOTE + "{0,5}"  # shell quoting nests them: `'"'"'value'"'"'`
SPACE = r"""(?:[ \t]|\\t|%20|%09)"""
# Between a key and its value: `=`, `:`, `=>`, `:=`, optionally quoted or URL-encoded (`%3D`, `%3A`).
# `KEY=value` has no space after `=` (`PASSWORD= next line` is an empty value); `key = value` and
# `key: value` may have them.
OPERATOR = (rf"""{QUOTES}(?:(?:=>|=|%3[Dd])(?![ \t])|{SPACE}+(?:=>|=|%3[Dd]){SPACE}*"""
            rf"""|{SPACE}*(?::=|:(?!:)|%3[Aa]){SPACE}*)""")  # not Rust's `Pubkey::find(…)`
# The bytes that are a value's unit on their own: most values are made of nothing else.
_PLAIN = r"""[^\s"'`,;}&\\%<>]"""


# The bytes any unit is made of: a value of n units starts with n of them at least.
_UNIT_BYTES = r"""[^\s"'`,;}<>]"""


def value_pattern(least: int) -> str:
    """A value of `least` to 300 units after its quotes. A value of one-byte units only is matched by one
    character-class repeat (a C loop; unit by unit, the regex engine took 0.1 µs a byte), the others unit by
    unit. No two units start alike, so a value has one reading: where the first branch matches, it ends where
    the second would — before the first byte that starts no unit, or at the 300th unit. Too short a value
    (`key=lambda r: …`) fails at the look-ahead, before either branch."""
    return (rf"""(?P<q>{QUOTES})(?P<v>(?={_UNIT_BYTES}{{{least}}})"""
            rf"""(?:{_PLAIN}{{{least},300}}+(?!{_U})|{_U}{{{least},300}}))""")


VALUE = value_pattern(4)
# Words a key may go on with after naming a secret: `SECRET_KEY_BASE`, `client_secret_value`.
KEY_SUFFIXES = ("", "_key_base", "_key", "key", "_value")
SUFFIXED = ("secret", "password", "token")  # the key words that may go on (`SECRET_KEY_BASE`, `password_value`)
KEY_SUFFIX = r"(?P<sfx>(?i:_?(?:key_base|key|value))?)"
# What may follow a key's name when a value is assigned to it: the first character of OPERATOR, and after
# a quote, a backslash, a `%`, two spaces or a tab, the one character OPERATOR can go on with there
# (`token'` + `;` is prose: `from 'jsonwebtoken';`; `token\\` + `n` ends a line). A space only with what
# follows it (`token = x`, aligned `token    = x`): "the token is" is prose.
_AFTER_QUOTE = ("\\", '"', "'", "`", "%", "=", " ", "\t", ":")  # another quote, or an operator's first character
_AFTER_SPACE = (" ", "\t", "\\", "%", "=", ":")  # more space (`\\t`, `%20`, `%09`), `=`, `:`, `%3D`, `%3A`
ASSIGNMENT_STARTS = ("=", ":", " =", " :",
                     *(q + c for q in "\"'`" for c in _AFTER_QUOTE),
                     *("\\" + c for c in ("\\", '"', "'", "`", "t")),  # an escaped quote, or `\\t`
                     *("%" + c for c in "230"),  # `%22`, `%27`, `%3D`, `%3A`, `%20`, `%09`
                     *(s + c for s in ("  ", "\t") for c in _AFTER_SPACE))

# Values that are placeholders or code, not secrets.
_PLACEHOLDER = re.compile(
    rb"""^(?:\$|<|\[REDACTED|\*|%\(|\{|#\{|\.\.\.|\xe2\x80\xa6"""
    rb"""|(?:null|none|nil|true|false|undefined|changeme|changeit|redacted|masked|hidden|placeholder|dummy"""
    rb"""|str|string|bool|int|number|any|required|optional|secret|password|passwd|pass|pwd|pw|token|example|sample"""
    rb"""|your[-_\w]*|my[-_]?(?:secret|password|token|api[-_]?key)[-_\w]*|[-\w]*_here|env|environ"""
    rb"""|await|new|yield|lambda|function|async|self|this|typeof|require|import|input|getpass)$)""",
    re.IGNORECASE)
# The whole words among `_PLACEHOLDER`'s alternatives (the others: `your…`, `my…`, `…_here`, the marks).
_PLACEHOLDER_WORDS = frozenset(
    b"null none nil true false undefined changeme changeit redacted masked hidden placeholder dummy str string bool "
    b"int number any required optional secret password passwd pass pwd pw token example sample env environ await "
    b"new yield lambda function async self this typeof require import input getpass".split())
_ONE_CHAR_RUN = re.compile(rb"^(.)\1+$")
_PATH = re.compile(rb"^(?:~?/|\./|\.\./|[A-Za-z]:\\\\?)[^/\\]*[/\\]")
# Unquoted code, not a literal: `os.environ[...]`, `settings.API_KEY`, `getpass()`, `api_key`, `userPassword`.
_CODE = re.compile(rb"^(?:[A-Za-z_$]+(?:\??\.[A-Za-z_$]+)+[(\[]?|[A-Za-z_$][\w$.]*[(\[].*"
                   rb")$")
_PARTS = re.compile(rb"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+|[-_.]|.", re.DOTALL)
# What no name holds: a character that is neither a letter, a digit nor `_-.`, or a second number.
_NO_NAME = re.compile(rb"[^A-Za-z0-9_.\-]|[0-9][^0-9]+[0-9]")


def is_name(value: bytes) -> bool:
    """Words joined into a name (`test_api_key_12345`, `_profilesNavigatorKey`, `Uint8Array`, `isValid`), not
    random characters: every word has three letters or more (acronyms two or more; the first word may be a
    two-letter one such as `is` or `db`), one number at most."""
    value = value.strip(b"_$")
    if _NO_NAME.search(value):  # the common answer for random characters, in C
        return False
    words = numbers = 0
    after_number = False
    for part in _PARTS.findall(value):
        if part.isdigit():
            numbers += 1
        elif after_number and part[:1].islower():  # `abcd1234xyz`: a number inside a word is no name's
            return False
        elif part.isalpha():
            if len(part) < 3 and not (part.isupper() and len(part) > 1) and not (words == 0 and len(part) == 2
                                                                                 and part.islower()):
                return False
            if part.isupper() and len(part) > 4:  # acronyms are short (URL, JSON, HTTP); `CRMZNG` is noise
                return False
            words += 1
        elif part not in (b"_", b"-", b"."):
            return False
        after_number = part.isdigit()
    return words > 0 and numbers <= 1


_DIGIT, _UPPER, _LOWER = re.compile(rb"[0-9]"), re.compile(rb"[A-Z]"), re.compile(rb"[a-z]")
_UUID = re.compile(rb"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_placeholder(value: bytes, quoted: bool, code_ok: bool) -> bool:
    """A value that is not worth redacting: a template, a run of one character, a path, or (unquoted) code."""
    value = value.rstrip(b")]")  # `password: str)` is the end of a signature
    if not quoted and code_ok and (_CODE.match(value) or is_name(value)):  # first: most values in source code
        return True
    # The cheap tests first; the placeholder pattern only where its quick test says it may match.
    return bool(value.isdigit() or b"..." in value or b"\xe2\x80\xa6" in value or _ONE_CHAR_RUN.match(value)
                or (_may_be_placeholder(value) and _PLACEHOLDER.match(value)) or _is_path(value))


def _may_be_placeholder(value: bytes) -> bool:
    """Whether `_PLACEHOLDER` can match: the value starts with one of its marks, or is one word (with the
    newline `$` allows after it). Answered with bytes methods, faster than the pattern's alternatives."""
    if value[:1] in b"$<[*%{#.\xe2":
        return True
    word = (value[:-1] if value.endswith(b"\n") else value).lower()
    return word.replace(b"-", b"").replace(b"_", b"").isalnum() and (
        word in _PLACEHOLDER_WORDS or word.startswith((b"your", b"my")) or word.endswith(b"_here"))


def _is_path(value: bytes) -> bool:
    """`/home/dev/app`, `./data/x.db` — but not base64 that happens to start with a slash."""
    return bool(_PATH.match(value)) and (b"." in value or not looks_random(value))


def entropy(value: bytes) -> float:
    """Shannon entropy in bits per character: -Σ p·log2(p) = log2(n) - Σ k·log2(k) / n, the k·log2(k)
    looked up (a secret-like value has dozens of distinct characters, each a log2 call otherwise)."""
    n = len(value)
    counts = Counter(value).values()  # counted in C
    if n < len(_K_LOG2_K):
        return math.log2(n) - sum(map(_K_LOG2_K.__getitem__, counts)) / n
    return math.log2(n) - sum(k * math.log2(k) for k in counts) / n


_K_LOG2_K = [0.0] + [k * math.log2(k) for k in range(1, 2049)]


def looks_random(value: bytes, min_len: int = 16) -> bool:
    """A machine-made value: long enough, two of digits/upper/lower case, varied characters, not a UUID
    and not words joined into a name."""
    if len(value) < min_len or _UUID.match(value):
        return False
    classes = (_DIGIT.search(value) is not None) + (_UPPER.search(value) is not None) + (
        _LOWER.search(value) is not None)
    return classes >= 2 and entropy(value) >= 3.2 and not is_name(value)


# -- what the key of an assignment says the value is ---------------------------------------------------


_KEY_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"
KEY_BYTE_SET = frozenset(_KEY_BYTES)


_SCHEME_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+.-"
_LETTER = re.compile(rb"[A-Za-z]")


def scheme_start(data: bytes, i: int) -> int:
    """Where the URL scheme that ends at `i` (`postgres` before `://`) starts: back over the scheme's
    characters (21 at most), then on to the first letter (`%20https`: a scheme starts with one), in C."""
    lo = i - 21 if i > 21 else 0
    before = data[lo:i]
    letter = _LETTER.search(before, len(before.rstrip(_SCHEME_BYTES)))
    return i if letter is None else lo + letter.start()


def key_before(data: bytes, i: int) -> bytes:
    """The identifier that ends at `i` (`DB_` before the anchor `PASSWORD`)."""
    if i == 0 or data[i - 1] not in KEY_BYTE_SET:  # `    token = …`: none, the common case
        return b""
    lo = max(0, i - 64)
    s = lo + len(data[lo:i].rstrip(_KEY_BYTES))  # back over the key's characters, in C
    if s > 0 and data[s - 1] == 0x5C:  # `\nDB_PASSWORD`, `\u00a0token`: the escape is no part of the key
        s += 5 if _UESC.match(data, s) else 1
    elif s > 0 and data[s - 1] == 0x25 and _HEX2.match(data, s):  # `%0Atoken`
        s += 2
    return data[s:i] if s < i else b""


_UESC = re.compile(rb"u[0-9a-fA-F]{4}")
_HEX2 = re.compile(rb"[0-9a-fA-F]{2}")


@functools.lru_cache(maxsize=4096)  # a transcript names the same few keys over and over
def key_kind(key: bytes) -> tuple[str, bool] | None:
    """(kind, needs a random-looking value) for a key naming a secret, or None. `key` is lower-case and
    ends where the value's operator starts."""
    k = key.strip(b"\"'`").replace(b"-", b"_")
    if b"aws" in k and b"secret" in k:
        return "aws-secret-access-key", False
    if k.endswith((b"password", b"passwd", b"passphrase", b"pwd", b"_pass")):  # not "tests pass: `cargo …`"
        return "password", False
    if b"secret" in k:
        return "secret", False
    if k.endswith(b"token"):
        return "token", False
    if k.endswith((b"apikey", b"api_key", b"access_key", b"accesskey", b"auth_key", b"private_key",
                   b"privatekey", b"credential", b"credentials")):
        return "api-key", False
    if k.endswith(b"key"):
        return "high-entropy-key", True
    return None


def assignment_kind(data: bytes, m: re.Match[bytes], anchor_start: int,
                    verdicts: dict[tuple[bytes, bytes, bool], str | None] | None = None) -> str | None:
    """The kind of `KEY<op>value` — from the key's name — or None when the value is no secret.
    `verdicts`: the answers for the (key, value, quoted) already seen, kept by the caller for one text (a
    transcript repeats its lines; `API_KEY=` is both an `api_key` and a `key` assignment)."""
    end = m.end("sfx") if "sfx" in m.re.groupindex else m.start()
    key = key_before(data, anchor_start) + data[anchor_start:end]
    value = m.group("v")
    quoted = m.start("v") > m.start("q")
    if verdicts is None:
        return assignment_verdict(key, value, quoted)
    seen = (key, value, quoted)
    if seen in verdicts:  # (not try/except: most answers are seen once, and a KeyError costs ~1 µs)
        return verdicts[seen]
    verdicts[seen] = kind = assignment_verdict(key, value, quoted)
    return kind


def assignment_verdict(key: bytes, value: bytes, quoted: bool) -> str | None:
    """The kind of an assignment of `value` (`quoted` or not) to `key`, or None when it is no secret."""
    found = key_kind(key.lower())
    if found is None:
        return None
    kind, needs_random = found
    if needs_random and not looks_random(value):
        return None
    # An upper-case key (`DB_PASSWORD=`) is a .env line or a shell variable: its unquoted value is a literal.
    code_ok = key.upper() != key or b"." in key
    return None if is_placeholder(value, quoted, code_ok) else kind


def assignment_check(data: bytes, m: re.Match[bytes], at: int) -> str | bool:
    """The check of the assignment rules (the redactor calls `assignment_kind` with its `verdicts`)."""
    return assignment_kind(data, m, at) or False


def value_is_secret(key: str, value: str) -> str | None:
    """For a JSON object's entry: the kind when `key` names a secret and `value` is one, else None."""
    found = key_kind(key.lower().encode("utf-8", "surrogatepass"))
    raw = value.encode("utf-8", "surrogatepass")
    if found is None or not 4 <= len(raw) <= 300 or any(c in b" \n\t" for c in raw):
        return None
    kind, needs_random = found
    if is_placeholder(raw, True, False) or (needs_random and not looks_random(raw)):
        return None
    return kind


# -- checks on a whole match --------------------------------------------------------------------------
def _random_token(min_len: int) -> Callable[[bytes, re.Match[bytes], int], str | bool]:
    def check(data: bytes, m: re.Match[bytes], at: int) -> bool:
        return looks_random(m.group("v") if "v" in m.re.groupindex else m.group(), min_len)
    return check


def _mixed_case(data: bytes, m: re.Match[bytes], at: int) -> bool:
    """40 random base64 characters hold both cases; a hex digest beside a key id does not."""
    v = m.group()
    return _UPPER.search(v) is not None and _LOWER.search(v) is not None and looks_random(v, 40)


def _basic_credentials(data: bytes, m: re.Match[bytes], at: int) -> bool:
    """`Authorization: Basic <b64>` hides `user:password`: only a value that decodes to one is redacted."""
    if m.group("v").islower():  # "basic validation": a word, not base64
        return False
    try:
        return b":" in base64.b64decode(urllib.parse.unquote_to_bytes(m.group("v")) + b"==", validate=False)
    except (binascii.Error, ValueError):
        return False


def _not_one_char(data: bytes, m: re.Match[bytes], at: int) -> bool:
    """A documentation placeholder in a token's format (`ghp_xxxx…`, `sk_test_0000…`) has few distinct
    characters at its end; a random token has a dozen."""
    v = m.group("v") if "v" in m.re.groupindex else m.group()
    return len(set(v[-16:])) >= 4


def _not_port(data: bytes, m: re.Match[bytes], at: int) -> bool:
    v = m.group("v")
    return not v.isdigit() and not is_placeholder(v, True, False)


@dataclass(frozen=True)
class Rule:
    """One kind of secret. `mode`: "at" — the match starts at the anchor (+`offset`); "tail" — right after
    it (the key of an assignment); "scheme" — where the URL scheme that ends at the anchor starts;
    "window" — anywhere from `back` before to `fwd` after the anchor, overlapping it; "near" — anywhere
    in that window (a companion of the anchor's secret)."""

    kind: str
    pattern: str
    anchors: tuple[str, ...]  # literals every match contains (or, for "near", every window)
    mode: str = "at"
    offset: int = 0
    ci: bool = False  # the anchors are found case-insensitively
    back: int = 0
    fwd: int = 0
    # Given the text, the match and where the anchor starts: False to drop the match, True to keep it
    # as `kind`, or the kind to report instead.
    check: Callable[[bytes, re.Match[bytes], int], str | bool] | None = None
    # Where matches overlap, the kind with the lowest priority names the merged span: a token's own kind
    # (0) over a catch-all format (1), over where it sits — a URL, a header, a flag (2) — over the name
    # of the key it is assigned to (3). `GITHUB_TOKEN=ghp_…` is a `github-pat`, not a `token`.
    priority: int = 0
    # For a window rule: (the characters every match is made of, as a regex class body; how many of them
    # a match holds in a row at least). A window without such a run is not searched, and the search
    # starts at the first run: the pattern's look-behind at every position is what costs.
    run: tuple[str, int] | None = None


_SEP = r"(?: |%20|\+)"
_CLI = r"""(?:[^\s"'\\%]|%(?!20|22|27)[0-9A-Fa-f]{2})"""  # a flag's value, plain or URL-encoded
_PEM_LINE = r"(?:\s|\\+[nrt]|%0[AaDd]|%20|%5[Cc][nr])"
# A key block's body, unit by unit: header lines (`Proc-Type: 4,ENCRYPTED`) first, then runs of base64 and
# line breaks in any encoding. No unit holds a `-`, so the body stops at `-----END`; every group is atomic
# (`(?>…)`, `*+`), so a block cut short fails in linear time instead of trying every split.
_PEM_BODY = (r"(?>(?:Proc-Type|DEK-Info|Comment|Version|Hash|Charset)(?::|%3[Aa])"
             r"(?:[^\n\\\"'%]|%(?!0[AaDd]|22|27|5[Cc])[0-9A-Fa-f]{2})*+"
             rf"|[A-Za-z0-9+/=]++|{_PEM_LINE}|\\+/|%2[BbFf]|%3[Dd])*+")
_PEM_LABEL = rf"-----BEGIN{_SEP}(?:[A-Z0-9]+{_SEP})*PRIVATE{_SEP}KEY(?:{_SEP}BLOCK)?-----"
_PEM_END = rf"-----END{_SEP}(?:[A-Z0-9]+{_SEP})*PRIVATE{_SEP}KEY(?:{_SEP}BLOCK)?-----"
_B64 = r"[A-Za-z0-9+/]"

RULES: list[Rule] = [
    Rule("private-key", rf"{_PEM_LABEL}{_PEM_BODY}(?:{_PEM_END})?",
         ("PRIVATE KEY", "PRIVATE%20KEY", "PRIVATE+KEY"), mode="window", back=48, fwd=40_000),
    Rule("aws-access-key-id", rf"{L}(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{{16}}{R}",
         ("AKIA", "ASIA", "ABIA", "ACCA", "A3T")),
    # The 40-character secret printed next to its key id (CSV from the console, `aws configure list`).
    Rule("aws-secret-access-key", rf"(?:(?<![A-Za-z0-9/+])|(?<=%[0-9A-Fa-f]{{2}})|(?<=\\[nrt]))"
         rf"(?:{_B64}|%2[BbFf]){{40}}(?![A-Za-z0-9/+=])",
         ("AKIA", "ASIA"), mode="near", back=160, fwd=200, check=_mixed_case, run=("A-Za-z0-9+/%", 40)),
    Rule("github-pat", rf"{L}ghp_[A-Za-z0-9]{{36,255}}{R}", ("ghp_",), check=_not_one_char),
    Rule("github-oauth", rf"{L}gho_[A-Za-z0-9]{{36,255}}{R}", ("gho_",), check=_not_one_char),
    Rule("github-app-token", rf"{L}(?:ghu|ghs)_[A-Za-z0-9]{{36,255}}{R}", ("ghu_", "ghs_"), check=_not_one_char),
    Rule("github-refresh-token", rf"{L}ghr_[A-Za-z0-9]{{36,255}}{R}", ("ghr_",), check=_not_one_char),
    Rule("github-fine-grained-pat", rf"{L}github_pat_[A-Za-z0-9_]{{22,255}}{R}", ("github_pat_",),
         check=_not_one_char),
    Rule("gitlab-pat", rf"{L}glpat-[A-Za-z0-9_\-]{{20,}}", ("glpat-",), check=_not_one_char),
    Rule("gitlab-token", rf"{L}(?:gldt|glrt|glptt|glcbt|glsoat|gloas|glimt|glft|glagent)-[A-Za-z0-9_\-]{{20,}}"
         rf"|{L}GR1348941[A-Za-z0-9_\-]{{20}}",
         ("gldt-", "glrt-", "glptt-", "glcbt-", "glsoat-", "gloas-", "glimt-", "glft-", "glagent-", "GR1348941"),
         check=_not_one_char),
    Rule("anthropic-admin-key", rf"{L}sk-ant-admin\d\d-[A-Za-z0-9_\-]{{20,}}", ("sk-ant-admin",)),
    Rule("anthropic-api-key", rf"{L}sk-ant-(?!admin)[A-Za-z0-9_\-]{{20,}}", ("sk-ant-",), check=_not_one_char),
    Rule("openai-api-key", rf"{L}sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_\-]{{20,}}",
         ("sk-proj-", "sk-svcacct-", "sk-admin-", "sk-None-"), check=_not_one_char),
    # The legacy form: `sk-`, 20 characters, `T3BlbkFJ` (base64 of "OpenAI"), 20 characters.
    Rule("openai-api-key", rf"{L}sk-[A-Za-z0-9]{{20}}T3BlbkFJ[A-Za-z0-9]{{20}}{R}", ("T3BlbkFJ",), mode="window",
         back=23, fwd=21),
    # `sk-` + 32 or more letters and digits: DeepSeek, Moonshot and other OpenAI-compatible APIs.
    Rule("sk-api-key", rf"{L}sk-[A-Za-z0-9]{{32,}}{R}", ("sk-",), check=_random_token(32), priority=1),
    Rule("stripe-secret-key", rf"{L}sk_(?:live|test)_[A-Za-z0-9]{{16,}}", ("sk_live_", "sk_test_"),
         check=_not_one_char),
    Rule("stripe-restricted-key", rf"{L}rk_(?:live|test)_[A-Za-z0-9]{{16,}}", ("rk_live_", "rk_test_"),
         check=_not_one_char),
    Rule("stripe-webhook-secret", rf"{L}whsec_[A-Za-z0-9+/=]{{24,}}", ("whsec_",), check=_not_one_char),
    Rule("slack-bot-token", rf"{L}xoxb-[0-9]{{8,14}}-[A-Za-z0-9\-]{{8,}}", ("xoxb-",)),
    Rule("slack-user-token", rf"{L}xox[pe]-[0-9]{{8,14}}-[A-Za-z0-9\-]{{8,}}", ("xoxp-", "xoxe-")),
    Rule("slack-token", rf"{L}xox[aors]-[A-Za-z0-9\-]{{10,}}|{L}xoxe\.xox[bp]-\d-[A-Za-z0-9]{{20,}}",
         ("xoxa-", "xoxo-", "xoxr-", "xoxs-", "xoxe.")),
    Rule("slack-app-token", rf"{L}xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]{{20,}}", ("xapp-",)),
    Rule("slack-webhook-url", r"hooks\.slack\.com(?:\\?/|%2[Ff])+(?:services|workflows|triggers)(?:\\?/|%2[Ff])+"
         r"(?:[A-Za-z0-9+]|\\?/|%2[Ff]){20,}", ("hooks.slack.com",)),
    Rule("google-api-key", rf"{L}AIza[0-9A-Za-z_\-]{{35}}{R}", ("AIza",)),
    Rule("google-oauth-client-secret", rf"{L}GOCSPX-[A-Za-z0-9_\-]{{28}}{R}", ("GOCSPX-",)),
    Rule("google-oauth-token", rf"{L}ya29\.[0-9A-Za-z_\-]{{20,}}", ("ya29.",)),
    Rule("azure-storage-key", rf"(?i:AccountKey|SharedAccessKey)(?:=|%3[Dd])(?P<v>(?:{_B64}|%2[BbFf]){{40,120}}"
         r"(?:=|%3[Dd]){0,2})", ("accountkey", "sharedaccesskey"), ci=True),
    Rule("azure-ad-client-secret", rf"{L}[A-Za-z0-9_~.]{{3}}\dQ~[A-Za-z0-9_~.\-]{{31,34}}{R}",
         ("Q~",), mode="window", back=4, fwd=36),
    Rule("azure-sas-token", r"(?:[?&]|\\u0026|%26)sig=(?P<v>(?:[A-Za-z0-9+/=]|%2[BbFf]|%3[Dd]){30,})", ("sig=",),
         mode="window", back=6, fwd=400),
    Rule("twilio-api-key", rf"{L}SK[0-9a-f]{{32}}{R}", ("SK",)),
    Rule("sendgrid-api-key", rf"{L}SG\.[A-Za-z0-9_\-]{{22}}\.[A-Za-z0-9_\-]{{43}}{R}", ("SG.",)),
    Rule("npm-token", rf"{L}npm_[A-Za-z0-9]{{36}}{R}", ("npm_",), check=_not_one_char),
    Rule("pypi-token", rf"{L}pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_\-]{{32,}}",
         ("pypi-AgEIcHlwaS5vcmc", "pypi-AgENdGVzdC5weXBpLm9yZw")),
    Rule("huggingface-token", rf"{L}(?:hf_|api_org_)[A-Za-z]{{34}}{R}", ("hf_", "api_org_"), check=_not_one_char),
    Rule("databricks-token", rf"{L}dapi[a-f0-9]{{32}}(?:-\d)?{R}", ("dapi",)),
    Rule("digitalocean-token", rf"{L}do[por]_v1_[a-f0-9]{{64}}{R}", ("dop_v1_", "doo_v1_", "dor_v1_")),
    Rule("shopify-token", rf"{L}shp(?:at|ca|pa|ss)_[a-fA-F0-9]{{32}}{R}", ("shpat_", "shpca_", "shppa_", "shpss_")),
    Rule("docker-hub-pat", rf"{L}dckr_pat_[A-Za-z0-9_\-]{{27,}}", ("dckr_pat_",)),
    Rule("vault-token", rf"{L}hv[sb]\.[A-Za-z0-9_\-]{{24,}}", ("hvs.", "hvb.")),
    Rule("linear-api-key", rf"{L}lin_api_[A-Za-z0-9]{{40}}{R}", ("lin_api_",)),
    # Adopted from detect-secrets' plugins, which the benchmark compares against.
    Rule("mailchimp-api-key", rf"{L}[0-9a-f]{{32}}-us\d{{1,2}}{R}", ("-us",), mode="window", back=33, fwd=3),
    # After `bot` in its API URL (`/bot123456789:AA…/getMe`): no boundary but "not after a digit".
    Rule("telegram-bot-token", r"(?:(?<![0-9])|(?<=%[0-9A-Fa-f]{2})|(?<=\\u[0-9a-fA-F]{4}))"
         rf"\d{{8,10}}(?::|%3[Aa])AA[0-9A-Za-z_\-]{{33}}{R}", (":AA", "%3AAA"),
         mode="window", back=11, fwd=34),
    Rule("square-token", rf"{L}sq0(?:atp-[0-9A-Za-z_\-]{{22}}|csp-[0-9A-Za-z_\-]{{43}}){R}", ("sq0atp-", "sq0csp-")),
    Rule("artifactory-api-key", rf"{L}AKCp[A-Za-z0-9]{{69}}{R}", ("AKCp",)),
    Rule("jwt", rf"{L}eyJ[A-Za-z0-9_\-]{{8,}}\.ey[A-Za-z0-9_\-]{{8,}}\.[A-Za-z0-9_\-]{{8,}}", ("eyJ",)),
    Rule("bearer-token", r"(?i:bearer)" + SPACE + r"+(?P<v>[A-Za-z0-9._~+/\-]{12,}=*)", ("bearer",), ci=True,
         check=lambda data, m, at: any(48 <= c <= 57 for c in m.group("v")) and _not_one_char(data, m, at),
         priority=2),
    # A word after it ("basic validation": lower-case letters, then no base64) fails in the pattern: the check
    # would reject it (`_basic_credentials`), and a match costs a call more.
    Rule("basic-auth", r"(?i:basic)" + SPACE + r"+(?![a-z]{8,}+(?![A-Za-z0-9+/=%]))"
         r"(?P<v>(?:[A-Za-z0-9+/]|%2[BbFf]){8,}(?:=|%3[Dd]){0,2})(?![A-Za-z0-9+/=])",
         ("basic",), ci=True, check=_basic_credentials, priority=2),
    Rule("url-password", r"[a-zA-Z][a-zA-Z0-9+.\-]{0,20}(?::\\?/\\?/)[^\s:/@'\"\\]{0,100}:"
         r"(?P<v>(?:[^\s@/'\"\\]|\\u[0-9a-fA-F]{4}|\\\\){1,200})@",
         ("://", ":\\/\\/"), mode="scheme", check=_not_port, priority=2),
    Rule("url-password", r"[a-zA-Z][a-zA-Z0-9+.\-]{0,20}%3[Aa]%2[Ff]%2[Ff](?:[A-Za-z0-9._~\-]|%(?!3[Aa])"
         r"[0-9A-Fa-f]{2}){0,100}%3[Aa](?P<v>(?:[A-Za-z0-9._~!$*+\-]|%(?!40)[0-9A-Fa-f]{2}){1,200})%40",
         ("%3a%2f%2f",), ci=True, mode="scheme", check=_not_port, priority=2),
    # `KEY=value`, `key: value`, `"key": "value"`, `key => value` where the key's name says it is a secret.
    Rule("assignment", KEY_SUFFIX + OPERATOR + VALUE,
         ("password", "passwd", "passphrase", "pwd", "pass", "secret", "token", "apikey", "api_key", "api-key",
          "accesskey", "access_key", "auth_key", "private_key", "privatekey", "credential", "credentials"),
         mode="tail", ci=True, priority=3, check=assignment_check),
    # Any other `…key` (`SIGNING_KEY`, `hmacKey`) holds a secret only when its value looks machine-made: the
    # pattern wants 16 characters at least, so `key=lambda r: …` and `cache_key = f"…"` fail in the regex.
    Rule("high-entropy-key", OPERATOR + value_pattern(16),
         ("key",), mode="tail", ci=True, priority=4, check=assignment_check),
    Rule("cli-password", r"--(?:password|passwd|token|api-key|secret)(?:=|\s+|%3[Dd]|%20)(?:['\"]|%2[27])?"
         r"(?P<v>(?:[^\s\"'\\%]|%(?!20|22|27)[0-9A-Fa-f]{2}){4,})",
         ("--password", "--passwd", "--token", "--api-key", "--secret"), ci=True, check=_not_port, priority=2),
    Rule("cli-password", rf"{L}(?:mysql|mysqldump|mysqladmin|mariadb){R}[^\n|;&\\]{{0,200}}?(?:\s|%20)-p"
         rf"(?P<v>(?![-\s]){_CLI}{{4,}})", ("mysql", "mariadb"), ci=True,
         check=_not_port, priority=2),
    Rule("cli-password", rf"{L}(?:sshpass(?:\s|%20)+-p|curl{R}[^\n|;&\\]{{0,200}}?(?:\s|%20)(?:-u|--user))"
         rf"(?:\s|%20)+(?:['\"]|%2[27])?(?:[^\s:'\"\\%]+(?::|%3[Aa]))?(?P<v>{_CLI}{{4,}})",
         ("sshpass", "curl"), ci=True, check=_not_port, priority=2),
]
