"""The default embedder: all-MiniLM-L6-v2 run with numpy and `tokenizers`, no torch.

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
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy.typing as npt

log = logging.getLogger(__name__)

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model (sentence_bert_config.json)


class ModelFilesError(ValueError):
    """A model directory this backend cannot run; the message says what is missing."""


def numpy_backend_installed() -> bool:
    """Whether this backend's packages are installed (without importing them)."""
    return all(importlib.util.find_spec(m) is not None for m in ("numpy", "tokenizers"))


@dataclass(frozen=True)
class BertConfig:
    """The parts of a BERT `config.json` the encoder needs."""

    hidden: int
    heads: int
    layers: int
    eps: float

    @classmethod
    def read(cls, path: Path) -> BertConfig:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("model_type") != "bert" or raw.get("hidden_act", "gelu") != "gelu":
            raise ModelFilesError(f"{path}: the numpy backend runs BERT models with gelu only "
                                  f"(found model_type={raw.get('model_type')!r}, hidden_act={raw.get('hidden_act')!r}); "
                                  "use embedding_backend = \"sentence-transformers\" for this model")
        if raw.get("position_embedding_type", "absolute") != "absolute":
            raise ModelFilesError(f"{path}: only absolute position embeddings are supported")
        return cls(hidden=int(raw["hidden_size"]), heads=int(raw["num_attention_heads"]),
                   layers=int(raw["num_hidden_layers"]), eps=float(raw.get("layer_norm_eps", 1e-12)))


_DTYPES = {"F32": "<f4", "F16": "<f2", "I64": "<i8"}


def read_safetensors(path: Path) -> dict[str, Any]:
    """Every tensor of a .safetensors file as a read-only numpy view of one memory map.

    The format is an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
    shape and byte range, then the raw little-endian data; reading it takes no `safetensors` package.
    """
    import numpy as np

    with path.open("rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise ModelFilesError(f"{path}: not a safetensors file (shorter than its header)")
        size = int.from_bytes(head, "little")
        if size > 100_000_000:
            raise ModelFilesError(f"{path}: not a safetensors file (header length {size})")
        try:
            header = json.loads(f.read(size))
        except ValueError as e:
            raise ModelFilesError(f"{path}: not a safetensors file ({e})") from None
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    tensors: dict[str, Any] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise ModelFilesError(f"{path}: tensor {name} has dtype {info['dtype']}, which this backend cannot read")
        start, end = info["data_offsets"]
        tensors[name] = data[start:end].view(dtype).reshape(info["shape"])
    return tensors


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


class NumpyEmbedder:
    """An `Embedder` running a BERT sentence encoder with numpy; calls are serialised.

    `batch_size`: texts run through the encoder together, sorted by length so a batch pads little.
    """

    def __init__(self, model_dir: Path, name: str, *, max_tokens: int = MAX_TOKENS, batch_size: int = 16) -> None:
        import numpy as np
        from tokenizers import Tokenizer

        for needed in ("config.json", "model.safetensors", "tokenizer.json"):
            if not (model_dir / needed).is_file():
                raise ModelFilesError(f"{model_dir}: no {needed}; the numpy backend needs config.json, "
                                      "model.safetensors and tokenizer.json")
        self._name = name
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self._cfg = BertConfig.read(model_dir / "config.json")
        try:
            self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        except Exception as e:  # the Rust side raises a bare Exception for a malformed file
            raise ModelFilesError(f"{model_dir / 'tokenizer.json'}: not a tokenizers file ({e})") from None
        w = read_safetensors(model_dir / "model.safetensors")
        w = {k.removeprefix("bert."): v for k, v in w.items()}

        def get(key: str, *, transpose: bool = False) -> Any:
            """An aligned float32 copy: the file's tensors need not be 4-byte aligned, and numpy's
            matmul on an unaligned view skips BLAS (query p50 118 against 84 ms at load ~7, measured)."""
            if key not in w:
                raise ModelFilesError(f"{model_dir / 'model.safetensors'}: no tensor {key}")
            tensor = w[key].T if transpose else w[key]
            return np.array(tensor, dtype=np.float32, order="C", copy=True)

        if "embeddings.word_embeddings.weight" not in w:
            raise ModelFilesError(f"{model_dir / 'model.safetensors'}: no tensor embeddings.word_embeddings.weight")
        self._pos = get("embeddings.position_embeddings.weight")
        self._type0 = get("embeddings.token_type_embeddings.weight")[0]
        # No longer than the position table (a config may ask for more than the model was trained on).
        self.max_tokens = min(max_tokens, int(self._pos.shape[0]))
        # tokenizer.json carries its own truncation (128) and fixed padding: sentence-transformers
        # overrides both per call, and so does this.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=self.max_tokens)
        self._emb_ln = (get("embeddings.LayerNorm.weight"), get("embeddings.LayerNorm.bias"))
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
        # The copies above read their pages through a memory map; dropping it unmaps them, so they
        # do not stay in this process's RSS twice. The word table (47 MB) is a view of a fresh map
        # instead: a row gather needs no alignment, and only the rows of words actually seen are
        # ever read (each server process then holds a few MB of it, from the shared page cache).
        w.clear()
        word = read_safetensors(model_dir / "model.safetensors")
        word = {k.removeprefix("bert."): v for k, v in word.items()}["embeddings.word_embeddings.weight"]
        self._word = word if word.dtype == np.float32 else word.astype(np.float32)
        self._dim = self._cfg.hidden
        self._lock = threading.Lock()

    @property
    def model_name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in self.embed_array(texts)]

    def embed_array(self, texts: list[str]) -> npt.NDArray[Any]:
        """float32 array (len(texts), dim), L2-normalised."""
        import numpy as np

        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        if not texts:
            return out
        with self._lock:
            # sentence-transformers strips each text before tokenising; so does this.
            encodings = self._tokenizer.encode_batch([str(t).strip() for t in texts])
            order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
            for start in range(0, len(order), self.batch_size):
                rows = order[start:start + self.batch_size]
                out[rows] = self._encode([encodings[i].ids for i in rows])
        return out

    def _encode(self, batch: list[list[int]]) -> npt.NDArray[Any]:
        import numpy as np

        n, length = len(batch), max(len(ids) for ids in batch)
        ids = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for r, seq in enumerate(batch):
            ids[r, :len(seq)] = seq
            mask[r, :len(seq)] = 1.0
        cfg = self._cfg
        heads, head_dim = cfg.heads, cfg.hidden // cfg.heads
        x = self._word[ids] + self._pos[:length] + self._type0
        x = _layer_norm(x, *self._emb_ln, cfg.eps)
        # Padded keys get a large negative score, so softmax gives them ~0 weight (as transformers does).
        key_bias = ((1.0 - mask) * np.float32(-1e30))[:, None, None, :]
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
            x = _layer_norm(context @ o_w + o_b + x, ln1_g, ln1_b, cfg.eps)
            h = x @ i_w
            h += i_b
            _gelu_(h)
            x = _layer_norm(h @ f_w + f_b + x, ln2_g, ln2_b, cfg.eps)
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        result: npt.NDArray[Any] = (pooled / norms).astype(np.float32)
        return result


def _layer_norm(x: npt.NDArray[Any], gain: npt.NDArray[Any], bias: npt.NDArray[Any], eps: float) -> npt.NDArray[Any]:
    import numpy as np

    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    out: npt.NDArray[Any] = centred / np.sqrt(var + np.float32(eps)) * gain + bias
    return out


def _max_tokens(model_dir: Path) -> int:
    """sentence-transformers' max_seq_length for the model (its sentence_bert_config.json), else 256."""
    path = model_dir / "sentence_bert_config.json"
    if path.is_file():
        value = json.loads(path.read_text(encoding="utf-8")).get("max_seq_length")
        if isinstance(value, int) and value > 0:
            return value
    return MAX_TOKENS


def _check_mean_pooling(model_dir: Path) -> None:
    path = model_dir / "1_Pooling" / "config.json"
    if path.is_file():
        modes = {k: v for k, v in json.loads(path.read_text(encoding="utf-8")).items() if k.startswith("pooling_mode")}
        if modes and [k for k, v in modes.items() if v] != ["pooling_mode_mean_tokens"]:
            raise ModelFilesError(f"{path}: the numpy backend does mean pooling only; "
                                  "use embedding_backend = \"sentence-transformers\" for this model")


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
    _check_mean_pooling(model_dir)
    log.info("loading embedding model %s from %s (numpy backend)", name, model_dir)
    embedder = NumpyEmbedder(model_dir, name, max_tokens=_max_tokens(model_dir))
    embedder.embed_array(["warm up"])  # the first call pages in the weights the query path reads
    return embedder
