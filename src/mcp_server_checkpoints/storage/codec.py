"""Payload codec: zstd compression with the sha256 of the plain bytes, optionally against a base.

A payload may be compressed with its parent's plain payload as a raw-content zstd dictionary
(differential storage: successive transcripts of one session share almost everything). The
sha256 is always of the plain bytes, so a payload is verified the same way however it was stored.
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
CODEC_DIFF = "zstd-dict"


@dataclass(frozen=True)
class Encoded:
    blob: bytes
    sha256: str
    raw_bytes: int
    codec: str


def dumps(value: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, no spaces): the same value always hashes the same."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _dict(base: bytes) -> zstandard.ZstdCompressionDict:
    return zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)


def encode(plain: bytes, base: bytes | None = None) -> Encoded:
    if base:
        blob = zstandard.ZstdCompressor(level=LEVEL, dict_data=_dict(base)).compress(plain)
        return Encoded(blob, sha256(plain), len(plain), CODEC_DIFF)
    blob = zstandard.ZstdCompressor(level=LEVEL).compress(plain)
    return Encoded(blob, sha256(plain), len(plain), CODEC_FULL)


def decode(blob: bytes, *, codec: str, expected_sha256: str, raw_bytes: int, base: bytes | None, label: str) -> bytes:
    """Decompress and verify; raise ContextIntegrityError naming `label` on any mismatch."""
    try:
        if codec == CODEC_DIFF:
            if base is None:
                raise ContextIntegrityError(f"payload of {label} is stored against its parent, whose payload is missing")
            d = zstandard.ZstdDecompressor(dict_data=_dict(base))
        elif codec == CODEC_FULL:
            d = zstandard.ZstdDecompressor()
        else:
            raise ContextIntegrityError(f"payload of {label} has an unknown codec {codec!r}")
        plain = d.decompress(blob, max_output_size=max(raw_bytes, 1))
    except zstandard.ZstdError:
        raise ContextIntegrityError(
            f"payload of {label} cannot be decompressed: the stored bytes are damaged; restore it from a backup"
        ) from None
    if len(plain) != raw_bytes or sha256(plain) != expected_sha256:
        raise ContextIntegrityError(
            f"payload of {label} failed its sha256 check: the stored bytes were changed or damaged; restore it from a backup"
        )
    return plain
