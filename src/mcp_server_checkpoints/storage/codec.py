"""Payload codec: zstd compression with the sha256 of the plain bytes, optionally against a base.

Differential storage: successive payloads of one session share almost everything, because a
transcript only grows. A payload whose bytes start with a long stretch of its parent's is stored as
the length of that shared prefix plus the zstd-compressed rest ("zstd-prefix"); the transcript is
serialised first (payload_bytes) so that what grows stays at the end. (A zstd raw-content dictionary
was measured first: at fast levels it cannot index a 10 MB parent, and saved only 15–45 %.)
The sha256 is always of the plain bytes, so a payload is verified the same way however it was stored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import zstandard

from mcp_server_checkpoints.errors import ContextIntegrityError

LEVEL = 3
CODEC_FULL = "zstd"
CODEC_DIFF = "zstd-prefix"
MIN_SHARED = 4096  # a shorter shared prefix is not worth a dependency on the parent
_LEN = 8  # bytes of the big-endian prefix length in front of a zstd-prefix blob


@dataclass(frozen=True)
class Encoded:
    blob: bytes
    sha256: str
    raw_bytes: int
    codec: str


def dumps(value: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, no spaces): the same value always hashes the same."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def payload_bytes(data: dict[str, Any]) -> bytes:
    """Canonical bytes of a payload: the transcript first (it grows at its end), then the rest, keys sorted."""
    first = [k for k in ("transcript", "tool_history", "project_state") if k in data]
    rest = sorted(k for k in data if k not in first)
    # Joined as bytes: a 10 MB transcript is encoded once, not decoded and encoded again.
    return b"{" + b",".join(dumps(k) + b":" + dumps(data[k]) for k in first + rest) + b"}"


def shared_prefix(a: bytes, b: bytes) -> int:
    """Length of the common prefix of a and b: equal 1 MB blocks skipped, then 16 KB, 256 B and single bytes
    within the first block that differs (each byte compared about once; a binary search over slices of
    the whole prefix copied and compared ~25 times 10 MB on a hook's later capture: 150 ms)."""
    n = min(len(a), len(b))
    i = 0
    for step in (1 << 20, 1 << 14, 1 << 8, 1):  # invariant: a[:i] == b[:i]
        while i < n:
            j = min(i + step, n)
            if a[i:j] != b[i:j]:
                break
            i = j
    return i


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def encode(plain: bytes, base: bytes | None = None) -> Encoded:
    """Compress `plain`; against `base` (the parent's plain bytes) when they share a long enough prefix."""
    if base:
        shared = shared_prefix(base, plain)
        if shared >= MIN_SHARED:
            blob = shared.to_bytes(_LEN, "big") + zstandard.ZstdCompressor(level=LEVEL).compress(plain[shared:])
            return Encoded(blob, sha256(plain), len(plain), CODEC_DIFF)
    blob = zstandard.ZstdCompressor(level=LEVEL).compress(plain)
    return Encoded(blob, sha256(plain), len(plain), CODEC_FULL)


def decode(blob: bytes, *, codec: str, expected_sha256: str, raw_bytes: int, base: bytes | None, label: str) -> bytes:
    """Decompress and verify; raise ContextIntegrityError naming `label` on any mismatch."""
    try:
        if codec == CODEC_DIFF:
            if base is None:
                raise ContextIntegrityError(f"payload of {label} is stored against its parent, whose payload is missing")
            shared = int.from_bytes(blob[:_LEN], "big")
            if shared > min(len(base), raw_bytes):
                raise ContextIntegrityError(f"payload of {label} does not fit its parent's: the stored bytes are damaged")
            rest = zstandard.ZstdDecompressor().decompress(blob[_LEN:], max_output_size=max(raw_bytes - shared, 1))
            plain = base[:shared] + rest
        elif codec == CODEC_FULL:
            plain = zstandard.ZstdDecompressor().decompress(blob, max_output_size=max(raw_bytes, 1))
        else:
            raise ContextIntegrityError(f"payload of {label} has an unknown codec {codec!r}")
    except zstandard.ZstdError:
        raise ContextIntegrityError(
            f"payload of {label} cannot be decompressed: the stored bytes are damaged; restore it from a backup"
        ) from None
    if len(plain) != raw_bytes or sha256(plain) != expected_sha256:
        raise ContextIntegrityError(
            f"payload of {label} failed its sha256 check: the stored bytes were changed or damaged; restore it from a backup"
        )
    return plain
