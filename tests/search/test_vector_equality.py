"""The torch-free backends (onnx, the default, and numpy, its fallback) give the reference's vectors:
sentence-transformers with the same packaged all-MiniLM-L6-v2 weights. That is what lets all three
store vectors under one model name."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from mcp_server_checkpoints.search.backends import choose_backend
from mcp_server_checkpoints.search.backends import load_embedder as load_backend
from mcp_server_checkpoints.search.bert import BertSentenceEncoder
from mcp_server_checkpoints.search.sentence_embedder import SentenceTransformerEmbedder, load_embedder

pytest.importorskip("sentence_transformers", reason="the reference needs the `semantic-torch` extra")
pytestmark = pytest.mark.slow

MIN_COSINE = 0.999


def _long_text() -> str:
    rng = random.Random(13)
    words = ("login token refresh cache migration schema vector embedding checkpoint recover ranking passage "
             "summary transcript deploy rollback kubernetes webhook invoice").split()
    return " ".join(rng.choice(words) for _ in range(700))


TEXTS = [
    "let's get back to the login token work",  # short queries
    "auth",
    "CipherBox PR #125",
    "",  # empty-ish
    "   ",
    "?!",
    "\t\n\r\n",
    "Café naïve résumé — Zürich Straße ÆØÅ ñ",  # Unicode: accents, ligatures
    "日本語のテキストと中文字符 mixed with English",  # CJK characters are split one by one
    "emoji 🚀🔥 and maths ∑∫√ ≠ ≤ and a zero-width\u200bjoiner",
    "def embed(self, texts: list[str]) -> list[list[float]]:\n    return [list(map(float, v)) for v in self.embed_array(texts)]",
    "SELECT id, title FROM checkpoints WHERE project = ? ORDER BY created_at DESC LIMIT 10;",
    "Traceback (most recent call last):\n  File \"app.py\", line 3, in <module>\nKeyError: 'user_id'",
    _long_text(),  # far past 256 word pieces: both must truncate at the same place
    "The session moved the payment service's webhook retries to a queue. " * 30,
    "x" * 5000,  # one enormous word: [UNK] after wordpiece gives up
    "Moved the task tracker from SQLite to Postgres using the Ent ORM; next: backfill the audit log.",
]


@pytest.fixture(scope="module")
def reference() -> SentenceTransformerEmbedder:
    return load_embedder()


@pytest.fixture(scope="module", params=["onnx", "numpy"])
def default(request: pytest.FixtureRequest) -> BertSentenceEncoder:
    choice = choose_backend(request.param, None)
    if choice.backend is None:
        pytest.skip(choice.problem)
    embedder = load_backend(choice.backend, None)
    assert isinstance(embedder, BertSentenceEncoder) and embedder.backend == request.param
    return embedder


def _cosines(a: Any, b: Any) -> Any:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_the_long_texts_really_are_truncated(default: BertSentenceEncoder) -> None:
    """Otherwise the test set would not check truncation at all."""
    tokenizer: Any = default._tokenizer
    assert len(tokenizer.encode(_long_text()).ids) == 256
    tokenizer.no_truncation()
    try:
        assert len(tokenizer.encode(_long_text()).ids) > 600
    finally:
        tokenizer.enable_truncation(max_length=default.max_tokens)


def test_batch_vectors_match_the_reference(reference: SentenceTransformerEmbedder, default: BertSentenceEncoder) -> None:
    want = reference.embed_array(TEXTS)
    got = default.embed_array(TEXTS)
    assert got.shape == want.shape == (len(TEXTS), 384) and got.dtype == np.float32
    cos = _cosines(got, want)
    worst = int(cos.argmin())
    assert cos.min() >= MIN_COSINE, f"text {worst} ({TEXTS[worst][:40]!r}): cosine {cos[worst]:.6f}"
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_single_queries_match_the_reference(reference: SentenceTransformerEmbedder, default: BertSentenceEncoder) -> None:
    """One text at a time is the query path (no padding; the reference takes its own fast path there)."""
    want = np.stack([reference.embed_array([t])[0] for t in TEXTS])
    got = np.stack([default.embed_array([t])[0] for t in TEXTS])
    assert _cosines(got, want).min() >= MIN_COSINE


def test_a_long_batch_with_padding_matches_the_reference(reference: SentenceTransformerEmbedder,
                                                         default: BertSentenceEncoder) -> None:
    """Texts of every length from a few tokens to past the 256-token cap, in batches of 8 sorted by
    length: most rows carry padding, and the long ones run the encoder at its full width."""
    rng = random.Random(7)
    words = _long_text().split()
    texts = [" ".join(rng.choice(words) for _ in range(n)) for n in (2, 9, 30, 60, 90, 120, 150, 170, 185, 200,
                                                                        230, 260, 300, 400)]
    texts += [TEXTS[i] for i in (0, 8, 10, 12)]
    kept, default.batch_size = default.batch_size, 8
    try:
        got = default.embed_array(texts)
    finally:
        default.batch_size = kept
    cos = _cosines(got, reference.embed_array(texts))
    assert cos.min() >= MIN_COSINE, f"text {int(cos.argmin())}: cosine {cos.min():.6f}"


def test_padding_does_not_change_a_vector(default: BertSentenceEncoder) -> None:
    """In a batch a short text is padded to the longest one's length; its vector must not move."""
    alone = default.embed_array(["night theme"])[0]
    kept, default.batch_size = default.batch_size, 4
    try:
        batched = default.embed_array(["night theme", _long_text(), "a", "x" * 300])[0]
    finally:
        default.batch_size = kept
    assert float(alone @ batched) >= 0.99999


def test_same_model_name_as_the_reference(reference: SentenceTransformerEmbedder, default: BertSentenceEncoder) -> None:
    assert default.model_name == reference.model_name == "all-MiniLM-L6-v2"
    assert default.dim == reference.dim == 384
    assert default.embed([]) == [] and len(default.embed(["a"])[0]) == 384
