"""Whether two redactors give the same output: this tree's and another's (e.g. main's, extracted).

    git -C ../main archive HEAD src | tar x -C /tmp/main-src     # the other tree: its src/ is enough
    .venv/bin/python bench/redaction_same.py /tmp/main-src

Each tree is run in its own process (both import `mcp_server_checkpoints`) on the same inputs: the
benchmark's corpora (the two synthetic 10 MB transcripts, the real one when ../shared/corpus is there,
the planted secrets, the look-alikes, the short strings) and random strings built from the rules'
anchors in upper and lower case, assignment starts, operators, escapes, non-ASCII (lone surrogates and
four-byte characters too) and pieces of planted secrets. Every output and its kind counts are hashed;
the script prints how many inputs there were, how many the redactor changed and how many differ.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def hashes(src: Path, seed: int, count: int) -> tuple[list[str], int]:
    """The hash of each input's (output, kinds), and how many inputs were changed, for the tree at `src`."""
    sys.path.insert(0, str(src))  # first: the benchmark's modules put this tree's src/ on the path
    from mcp_server_checkpoints.storage.redact import Redactor
    from mcp_server_checkpoints.storage.secret_rules import ASSIGNMENT_STARTS, RULES

    sys.path.insert(0, str(BENCH))
    import redaction
    from secret_corpus import lookalikes, planted, transcript

    assert Path(sys.modules[Redactor.__module__].__file__ or "").is_relative_to(src), "the other tree was not imported"

    redactor = Redactor.build()
    out: list[str] = []
    changed = 0

    def add(text: str) -> None:
        nonlocal changed
        redacted, kinds = redactor.redact_kinds(text)
        changed += redacted != text
        digest = hashlib.sha1(redacted.encode("utf-8", "surrogatepass") + repr(sorted(kinds.items())).encode())
        out.append(digest.hexdigest()[:16])

    size = 10 * 1024 * 1024
    secrets = redaction.transcript_secrets(15)  # as bench/redaction.py's default --seed
    for share in (0.03, 0.3):
        add(transcript(size, 15, secrets, auth_share=share))
    if (real := redaction.real_transcript(size)) is not None:
        add(real)
    for item in planted(15) + planted(17):
        add(item.text)
    for _, text in lookalikes(15, 40) + lookalikes(17, 10):
        add(text)
    anchors = sorted({a for rule in RULES for a in rule.anchors})
    bits = anchors + [a.upper() for a in anchors] + list(ASSIGNMENT_STARTS) + [
        "=", ": ", " = ", "\\n", "\\t", '\\"', "\\u00e9", "\\\\", "%3D", "%22", "%0A", "%20", "\n", " ", "\t", '"', "'",
        "`", "é", "—", "日本", "\U0001f600", "\ud800", "İ", "…", "${X}", "lambda r: r", "os.environ", "_KEY", "DB_",
        "api_", "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5b", "hunter2!", "0123456789abcdef" * 2, "AKIAIOSFODNN7EXAMPLQ",
        "ghp_", "://user:", "@host/db", "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----",
        "MIIEpAIBAAKCAQEA", "Bearer ", "Basic dXNlcjpwYXNzd29yZA==", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.",
        "abc", "XYZ", "42", ";", ",", "}", "&", "&a=",
    ] + [item.text[:80] for item in planted(18)[:200]]
    rng = random.Random(seed)
    for _ in range(count):
        text = "".join(rng.choice(bits) for _ in range(rng.randint(1, 14)))
        if rng.random() < 0.3:
            text = rng.choice(["", "é ", "x—", "\\n"]) + text + rng.choice(["", " tail", "\\n", "—"])
        add(text)
    for _ in range(300):  # long strings with many spans, as they are and in ASCII only
        text = "".join(rng.choice(bits) for _ in range(rng.randint(50, 400)))
        add(text)
        add(text.encode("ascii", "ignore").decode("ascii"))
    return out, changed


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("other", type=Path, help="the other tree (its src/ holds mcp_server_checkpoints)")
    p.add_argument("--seed", type=int, default=93)
    p.add_argument("--count", type=int, default=93_000, help="random strings")
    p.add_argument("--worker", type=Path, help=argparse.SUPPRESS)  # a tree's src, hashed in this process
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker is not None:
        assert args.out is not None
        args.out.write_text(json.dumps(hashes(args.worker, args.seed, args.count)))
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, src in enumerate((BENCH.parent / "src", args.other.resolve() / "src")):
            out = Path(tmp) / f"{n}.json"
            subprocess.run([sys.executable, __file__, str(args.other), "--worker", str(src), "--out", str(out),
                            "--seed", str(args.seed), "--count", str(args.count)], check=True)
            results.append(json.loads(out.read_text()))
    (ours, changed), (theirs, _) = results
    differ = sum(a != b for a, b in zip(ours, theirs, strict=True))
    print(f"{len(ours)} inputs, {changed} changed by the redactor; outputs that differ from {args.other}: {differ}")
    if differ:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
