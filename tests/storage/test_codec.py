from __future__ import annotations

import pytest

from mcp_server_checkpoints.errors import ContextIntegrityError
from mcp_server_checkpoints.storage import codec


def test_roundtrip_full() -> None:
    plain = b"hello world " * 1000
    enc = codec.encode(plain)
    assert enc.codec == codec.CODEC_FULL and enc.raw_bytes == len(plain) and len(enc.blob) < len(plain)
    assert codec.decode(enc.blob, codec=enc.codec, expected_sha256=enc.sha256, raw_bytes=enc.raw_bytes,
                        base=None, label="c1") == plain


def test_differential_against_base_is_smaller() -> None:
    import os

    base = os.urandom(50_000)
    plain = base + b"a little more"
    full, diff = codec.encode(plain), codec.encode(plain, base)
    assert diff.codec == codec.CODEC_DIFF and len(diff.blob) < len(full.blob) / 10
    assert codec.decode(diff.blob, codec=diff.codec, expected_sha256=diff.sha256, raw_bytes=diff.raw_bytes,
                        base=base, label="c2") == plain


def test_tampered_blob_names_checkpoint() -> None:
    enc = codec.encode(b"x" * 100)
    with pytest.raises(ContextIntegrityError, match="ckpt-7"):
        codec.decode(enc.blob, codec=enc.codec, expected_sha256="0" * 64, raw_bytes=enc.raw_bytes, base=None,
                     label="ckpt-7")
    with pytest.raises(ContextIntegrityError, match="ckpt-8"):
        codec.decode(b"garbage", codec=enc.codec, expected_sha256=enc.sha256, raw_bytes=enc.raw_bytes, base=None,
                     label="ckpt-8")


def test_canonical_json_is_stable() -> None:
    assert codec.dumps({"b": 1, "a": "é"}) == codec.dumps({"a": "é", "b": 1}) == '{"a":"é","b":1}'.encode()
