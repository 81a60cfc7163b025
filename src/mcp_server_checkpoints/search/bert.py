"""What the two torch-free backends share: a BERT sentence encoder's files read by hand, and
everything around the encoder layers.

`numpy_embedder.py` runs the encoder layers with numpy, `onnx_embedder.py` with onnxruntime; both
subclass `BertSentenceEncoder`, which does the rest exactly as sentence-transformers does for
all-MiniLM-L6-v2: strip, tokenise (truncated to the model's max tokens), batches sorted by length,
word + position + token-type embeddings and their LayerNorm, padding as an additive key bias, mean
pooling over the real tokens, L2 normalisation. The input embeddings stay in numpy on purpose: the
47 MB word table is a view of a memory map, so only the rows of words actually seen are ever read
(from the page cache, shared by every server process); an encoder graph holding it would copy all
of it into every process.

Nothing heavy is imported at module level.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import numpy.typing as npt

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model (sentence_bert_config.json)


class ModelFilesError(ValueError):
    """A model directory this backend cannot run; the message says what is missing."""


@dataclass(frozen=True)
class BertConfig:
    """The parts of a BERT `config.json` the encoder needs."""

    hidden: int
    heads: int
    layers: int
    eps: float

    @classmethod
    def read(cls, path: Path, backend: str = "numpy") -> BertConfig:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("model_type") != "bert" or raw.get("hidden_act", "gelu") != "gelu":
            raise ModelFilesError(f"{path}: the {backend} backend runs BERT models with gelu only "
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


def max_tokens_of(model_dir: Path) -> int:
    """sentence-transformers' max_seq_length for the model (its sentence_bert_config.json), else 256."""
    path = model_dir / "sentence_bert_config.json"
    if path.is_file():
        value = json.loads(path.read_text(encoding="utf-8")).get("max_seq_length")
        if isinstance(value, int) and value > 0:
            return value
    return MAX_TOKENS


def check_mean_pooling(model_dir: Path, backend: str) -> None:
    path = model_dir / "1_Pooling" / "config.json"
    if path.is_file():
        modes = {k: v for k, v in json.loads(path.read_text(encoding="utf-8")).items() if k.startswith("pooling_mode")}
        if modes and [k for k, v in modes.items() if v] != ["pooling_mode_mean_tokens"]:
            raise ModelFilesError(f"{path}: the {backend} backend does mean pooling only; "
                                  "use embedding_backend = \"sentence-transformers\" for this model")


def layer_norm(x: npt.NDArray[Any], gain: npt.NDArray[Any], bias: npt.NDArray[Any], eps: float) -> npt.NDArray[Any]:
    import numpy as np

    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    out: npt.NDArray[Any] = centred / np.sqrt(var + np.float32(eps)) * gain + bias
    return out


class BertWeights:
    """A model directory opened: its config, tokenizer and a memory map of its tensors.

    `tensor()` gives aligned float32 copies for the encoder layers; `release()` drops the map they
    were read through (so their pages do not stay in the process twice) and keeps only the word
    table, as a view of a fresh map.
    """

    def __init__(self, model_dir: Path, backend: str) -> None:
        from tokenizers import Tokenizer

        for needed in ("config.json", "model.safetensors", "tokenizer.json"):
            if not (model_dir / needed).is_file():
                raise ModelFilesError(f"{model_dir}: no {needed}; the {backend} backend needs config.json, "
                                      "model.safetensors and tokenizer.json")
        self.model_dir = model_dir
        self.config = BertConfig.read(model_dir / "config.json", backend)
        try:
            self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        except Exception as e:  # the Rust side raises a bare Exception for a malformed file
            raise ModelFilesError(f"{model_dir / 'tokenizer.json'}: not a tokenizers file ({e})") from None
        self._tensors = self._read()
        if "embeddings.word_embeddings.weight" not in self._tensors:
            raise ModelFilesError(f"{model_dir / 'model.safetensors'}: no tensor embeddings.word_embeddings.weight")

    def _read(self) -> dict[str, Any]:
        return {k.removeprefix("bert."): v for k, v in read_safetensors(self.model_dir / "model.safetensors").items()}

    def tensor(self, key: str, *, transpose: bool = False) -> Any:
        """An aligned float32 copy: the file's tensors need not be 4-byte aligned, and numpy's
        matmul on an unaligned view skips BLAS (query p50 118 against 84 ms at load ~7, measured)."""
        import numpy as np

        if key not in self._tensors:
            raise ModelFilesError(f"{self.model_dir / 'model.safetensors'}: no tensor {key}")
        tensor = self._tensors[key].T if transpose else self._tensors[key]
        return np.array(tensor, dtype=np.float32, order="C", copy=True)

    def release(self) -> Any:
        """Drop the map the copies were read through; the word table, as a view of a fresh map.

        A row gather needs no alignment, and only the rows of words actually seen are ever read
        (each server process then holds a few MB of the 47 MB table, from the shared page cache).
        """
        import numpy as np

        self._tensors.clear()
        word = self._read()["embeddings.word_embeddings.weight"]
        return word if word.dtype == np.float32 else word.astype(np.float32)


class BertSentenceEncoder:
    """An `Embedder` for a BERT sentence encoder whose encoder layers a subclass runs; calls are serialised.

    `batch_size`: texts run through the encoder together, sorted by length so a batch pads little.
    """

    backend: ClassVar[str] = "numpy"

    def __init__(self, model_dir: Path, name: str, *, max_tokens: int = MAX_TOKENS, batch_size: int = 16) -> None:
        import numpy as np

        weights = BertWeights(model_dir, self.backend)
        self._name = name
        self.batch_size = batch_size
        self._cfg = weights.config
        self._tokenizer = weights.tokenizer
        self._pos = weights.tensor("embeddings.position_embeddings.weight")
        self._type0 = weights.tensor("embeddings.token_type_embeddings.weight")[0]
        # No longer than the position table (a config may ask for more than the model was trained on).
        self.max_tokens = min(max_tokens, int(self._pos.shape[0]))
        # tokenizer.json carries its own truncation (128) and fixed padding: sentence-transformers
        # overrides both per call, and so does this.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=self.max_tokens)
        self._emb_ln = (weights.tensor("embeddings.LayerNorm.weight"), weights.tensor("embeddings.LayerNorm.bias"))
        self._load_encoder(weights)
        self._word = weights.release()
        self._dim = self._cfg.hidden
        self._neg = np.float32(-1e30)
        self._lock = threading.Lock()

    def _load_encoder(self, weights: BertWeights) -> None:
        """Read the encoder layers' tensors (before `weights.release()`)."""
        raise NotImplementedError

    def _encoder(self, x: npt.NDArray[Any], key_bias: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """The encoder layers: (n, L, hidden) embeddings and an (n, 1, 1, L) additive key bias in,
        (n, L, hidden) last hidden state out."""
        raise NotImplementedError

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
        x = layer_norm(self._word[ids] + self._pos[:length] + self._type0, *self._emb_ln, self._cfg.eps)
        # Padded keys get a large negative score, so softmax gives them ~0 weight (as transformers does).
        key_bias = ((1.0 - mask) * self._neg)[:, None, None, :]
        x = self._encoder(np.ascontiguousarray(x, dtype=np.float32), key_bias)
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        result: npt.NDArray[Any] = (pooled / norms).astype(np.float32)
        return result
