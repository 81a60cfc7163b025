"""The fallback embedder: all-MiniLM-L6-v2 run with numpy and `tokenizers` alone, no torch.

`auto` picks it where onnxruntime is not installed (`onnx_embedder.py` runs the same graph in
about half the CPU time: OpenBLAS is slow on a query's few-token matrices); `bert.py` holds what
the two share, this module the encoder layers in numpy.

The same weights as the sentence-transformers reference (`sentence_embedder.py`), read straight
from the `model.safetensors` file and run through the same BERT encoder, mean pooling and L2
normalisation: tests/search/test_vector_equality.py checks the two give the same vectors (cosine
>= 0.999 on varied texts), which is why both store their vectors under one model name.

Why numpy rather than torch: a server process with torch loaded held ~545 MB RSS and set-up
downloaded torch; this one needs numpy (already needed by the vector index) and `tokenizers`
(a few MB). The weights are memory-mapped, not copied: pages of the 90 MB file that a forward
pass never reads (most rows of the 30k-word embedding table) are never loaded, and the pages that
are read are the page cache's, shared by every server process on the machine.

Nothing heavy is imported at module level: `load_numpy_embedder` does, on the server's background
thread.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp_server_checkpoints.search.bert import (
    BertSentenceEncoder,
    BertWeights,
    check_mean_pooling,
    layer_norm,
    max_tokens_of,
)

if TYPE_CHECKING:
    import numpy.typing as npt

log = logging.getLogger(__name__)


def numpy_backend_installed() -> bool:
    """Whether this backend's packages are installed (without importing them)."""
    return all(importlib.util.find_spec(m) is not None for m in ("numpy", "tokenizers"))


_ERFC_FIT = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196,
             1.00002368)  # Numerical Recipes' erfc Chebyshev fit, highest power first


def _erf(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """erf to ~1.2e-7 absolute: numpy has no erf, and BERT's gelu is the exact erf form (the tanh
    approximation moves vectors by ~1e-3). In place on temporaries: on a long-text batch the
    activations are 4096 x 1536 floats, and every extra temporary is another pass over 25 MB."""
    import numpy as np

    t = np.abs(x)
    t *= 0.5
    t += 1.0
    np.reciprocal(t, out=t)
    poly = np.full_like(t, _ERFC_FIT[0])
    for c in _ERFC_FIT[1:]:
        poly *= t
        poly += c
    poly *= t
    poly -= 1.26551223
    poly -= x * x
    np.exp(poly, out=poly)
    poly *= t  # erfc(|x|)
    np.subtract(1.0, poly, out=poly)
    out: npt.NDArray[Any] = np.copysign(poly, x, out=poly)
    return out


def _gelu_(h: npt.NDArray[Any]) -> None:
    """h <- 0.5 * h * (1 + erf(h / sqrt 2)), in place."""
    import numpy as np

    e = _erf(h * np.float32(1.0 / np.sqrt(2.0)))
    e += 1.0
    e *= 0.5
    h *= e


class NumpyEmbedder(BertSentenceEncoder):
    """An `Embedder` running a BERT sentence encoder's layers with numpy (`bert.py` does the rest)."""

    backend = "numpy"

    def _load_encoder(self, weights: BertWeights) -> None:
        import numpy as np

        get = weights.tensor
        self._layers = []
        for i in range(self._cfg.layers):
            p = f"encoder.layer.{i}."
            # One (hidden, 3*hidden) matmul for query, key and value instead of three.
            qkv_w = np.concatenate([get(p + f"attention.self.{n}.weight", transpose=True)
                                    for n in ("query", "key", "value")], axis=1)
            qkv_b = np.concatenate([get(p + f"attention.self.{n}.bias") for n in ("query", "key", "value")])
            self._layers.append((
                qkv_w, qkv_b,
                get(p + "attention.output.dense.weight", transpose=True), get(p + "attention.output.dense.bias"),
                get(p + "attention.output.LayerNorm.weight"), get(p + "attention.output.LayerNorm.bias"),
                get(p + "intermediate.dense.weight", transpose=True), get(p + "intermediate.dense.bias"),
                get(p + "output.dense.weight", transpose=True), get(p + "output.dense.bias"),
                get(p + "output.LayerNorm.weight"), get(p + "output.LayerNorm.bias"),
            ))

    def _encoder(self, x: npt.NDArray[Any], key_bias: npt.NDArray[Any]) -> npt.NDArray[Any]:
        import numpy as np

        cfg = self._cfg
        n, length = x.shape[0], x.shape[1]
        heads, head_dim = cfg.heads, cfg.hidden // cfg.heads
        scale = np.float32(1.0 / np.sqrt(head_dim))
        for qkv_w, qkv_b, o_w, o_b, ln1_g, ln1_b, i_w, i_b, f_w, f_b, ln2_g, ln2_b in self._layers:
            qkv = x @ qkv_w + qkv_b  # (n, L, 3H)
            qkv = qkv.reshape(n, length, 3, heads, head_dim).transpose(2, 0, 3, 1, 4)  # (3, n, h, L, d)
            # Contiguous copies: numpy's stacked matmul on these strided views skipped BLAS (a long
            # batch's q @ k.T took ~5x longer, measured); the copies cost a fraction of that.
            q = np.ascontiguousarray(qkv[0])
            k_t = np.ascontiguousarray(qkv[1].transpose(0, 1, 3, 2))
            v = qkv[2]
            scores = q @ k_t
            scores *= scale
            scores += key_bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(n, length, cfg.hidden)
            x = layer_norm(context @ o_w + o_b + x, ln1_g, ln1_b, cfg.eps)
            h = x @ i_w
            h += i_b
            _gelu_(h)
            x = layer_norm(h @ f_w + f_b + x, ln2_g, ln2_b, cfg.eps)
        return x


def limit_blas_threads(threads: int | None) -> None:
    """Cap numpy's BLAS pool for this process (None: leave it at every core).

    A query is a handful of tokens: on a busy 2-core machine OpenBLAS's worker threads made a
    search through the server ~10x slower than one thread did (747 against 65 ms p50, measured
    under load 11). threadpoolctl finds the loaded OpenBLAS; the limit is set through its C API
    directly because threadpoolctl's own `threadpool_limits` lets only the first Python thread that
    ever called it change OpenBLAS, and silently does nothing on the others (this runs on the
    model-loading thread).
    """
    if threads is None:
        return
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        log.info("threadpoolctl is not installed; numpy's BLAS keeps its own thread count")
        return
    import ctypes

    import numpy  # noqa: F401  (OpenBLAS is found among the loaded libraries: load it first)

    for info in threadpool_info():
        if info.get("internal_api") != "openblas":
            continue
        lib = ctypes.CDLL(info["filepath"])
        for symbol in ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                       "openblas_set_num_threads64_", "openblas_set_num_threads"):
            setter = getattr(lib, symbol, None)
            if setter is not None:
                setter(ctypes.c_int(threads))
                break


def load_numpy_embedder(model_dir: Path, name: str, *, threads: int | None = 1) -> NumpyEmbedder:
    """Read the model's files and warm it up (about a second: call it off the handshake path)."""
    limit_blas_threads(threads)
    check_mean_pooling(model_dir, NumpyEmbedder.backend)
    log.info("loading embedding model %s from %s (numpy backend)", name, model_dir)
    embedder = NumpyEmbedder(model_dir, name, max_tokens=max_tokens_of(model_dir))
    embedder.embed_array(["warm up"])  # the first call pages in the weights the query path reads
    return embedder
