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


def test_shared_prefix() -> None:
    assert codec.shared_prefix(b"", b"abc") == 0
    assert codec.shared_prefix(b"abcdef", b"abcxyz") == 3
    assert codec.shared_prefix(b"abc", b"abcdef") == 3
    big = bytes(range(256)) * 40_000
    assert codec.shared_prefix(big, big[:5_000_001] + b"!") == 5_000_001


def test_shared_prefix_at_every_block_boundary() -> None:
    """The first difference just before, at and after each block size the scan narrows through."""
    base = bytes(range(256)) * (3 * 4096 + 7)
    for edge in (0, 1, 255, 256, 257, 16_383, 16_384, 16_385, 1_048_575, 1_048_576, 1_048_577, len(base) - 1):
        other = base[:edge] + bytes([base[edge] ^ 1]) + base[edge + 1:]
        assert codec.shared_prefix(base, other) == edge == codec.shared_prefix(other, base)
    assert codec.shared_prefix(base, base) == len(base)
    assert codec.shared_prefix(base, base[:1_048_577]) == 1_048_577


def test_prefix_diff_of_a_growing_transcript_is_tiny() -> None:
    import os

    base = codec.payload_bytes({"transcript": os.urandom(200_000).hex(), "project_state": {"lines": 1}})
    grown = codec.payload_bytes({"transcript": os.urandom(200_000).hex()[:0] + base.decode()[15:-23] + "more",
                                 "project_state": {"lines": 2}})
    enc = codec.encode(grown, base)
    assert enc.codec == codec.CODEC_DIFF and len(enc.blob) < 200
    assert codec.decode(enc.blob, codec=enc.codec, expected_sha256=enc.sha256, raw_bytes=enc.raw_bytes, base=base,
                        label="c") == grown


def test_damaged_prefix_length_is_an_integrity_error() -> None:
    base = b"x" * 10_000
    enc = codec.encode(base + b"tail", base)
    bad = (10**9).to_bytes(8, "big") + enc.blob[8:]
    with pytest.raises(ContextIntegrityError, match="c9"):
        codec.decode(bad, codec=enc.codec, expected_sha256=enc.sha256, raw_bytes=enc.raw_bytes, base=base, label="c9")


def test_transcript_comes_first_in_payload_bytes() -> None:
    assert codec.payload_bytes({"project_state": {"b": 1, "a": 2}, "transcript": "t"}) == \
        b'{"transcript":"t","project_state":{"a":2,"b":1}}'
