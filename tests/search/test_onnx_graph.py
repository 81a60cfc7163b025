"""The onnx backend writes its encoder graph's protobuf by hand (no `onnx` package at run time): the
bytes are a valid ONNX model by onnx's own checker, every field decodes to what was written, and
onnxruntime runs the graph to the numpy backend's numbers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from mcp_server_checkpoints.search import onnx_proto as pb
from mcp_server_checkpoints.search.backends import choose_backend

has_onnx = importlib.util.find_spec("onnx") is not None
has_ort = importlib.util.find_spec("onnxruntime") is not None
needs_onnx = pytest.mark.skipif(not has_onnx, reason="the checker is in the `onnx` package (test extra)")
needs_ort = pytest.mark.skipif(not has_ort, reason="needs onnxruntime (the semantic extra)")


@pytest.mark.parametrize("value, encoded", [(0, b"\x00"), (1, b"\x01"), (127, b"\x7f"), (128, b"\x80\x01"),
                                            (300, b"\xac\x02"), (2**63 - 1, b"\xff" * 8 + b"\x7f"),
                                            (-1, b"\xff" * 9 + b"\x01")])
def test_varints_are_protobufs(value: int, encoded: bytes) -> None:
    assert pb.Message().put_int(1, value).serialise() == b"\x08" + encoded


def test_nested_lengths_count_every_chunk() -> None:
    inner = pb.Message().put_str(1, "ab").put_bytes(2, memoryview(b"\x00" * 200))
    outer = pb.Message().put_message(3, inner).serialise()
    assert outer[:3] == b"\x1a\xcf\x01"  # field 3, wire type 2; length 207 as a varint
    assert len(outer) == 3 + 207


def test_unsupported_values_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="tensor w: dtype float64"):
        pb.tensor("w", np.zeros(2))
    with pytest.raises(TypeError, match="attribute flag: bool"):
        pb.attribute("flag", True)


def _tiny_model() -> tuple[bytes, np.ndarray]:
    """y = LayerNorm(x @ w + b): int, float and ints attributes, a dynamic batch dimension."""
    w = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
    nodes = [pb.node("MatMul", ["x", "w"], ["xw"], "mm"),
             pb.node("Add", ["xw", "b"], ["z"], "add"),
             pb.node("Transpose", ["z"], ["zt"], "tr", perm=[0, 1]),
             pb.node("LayerNormalization", ["zt", "g", "b"], ["y"], "ln", axis=-1, epsilon=1e-5)]
    model = pb.model(graph_name="tiny", nodes=nodes,
                     initializers=[pb.tensor("w", w), pb.tensor("b", np.full(4, 0.5, np.float32)),
                                   pb.tensor("g", np.ones(4, np.float32))],
                     inputs=[pb.value_info("x", pb.FLOAT, ["batch", 3])],
                     outputs=[pb.value_info("y", pb.FLOAT, ["batch", 4])], opset=18, ir_version=9, producer="test")
    return model, w


@needs_onnx
def test_a_tiny_model_decodes_field_by_field() -> None:
    import onnx
    from onnx import numpy_helper

    raw, w = _tiny_model()
    model = onnx.load_from_string(raw)
    onnx.checker.check_model(model, full_check=True)
    assert model.ir_version == 9 and model.producer_name == "test"
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 18)]
    assert [n.op_type for n in model.graph.node] == ["MatMul", "Add", "Transpose", "LayerNormalization"]
    assert np.array_equal(numpy_helper.to_array(model.graph.initializer[0]), w)
    attrs = {a.name: onnx.helper.get_attribute_value(a) for n in model.graph.node for a in n.attribute}
    assert attrs["perm"] == [0, 1] and attrs["axis"] == -1 and attrs["epsilon"] == pytest.approx(1e-5)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert (dims[0].dim_param, dims[1].dim_value) == ("batch", 3)


@needs_onnx
@pytest.mark.parametrize("array", [np.array(2, dtype=np.int64), np.array([], dtype=np.float32),
                                   np.arange(24, dtype=">f4").reshape(2, 3, 4).transpose(2, 0, 1)],
                         ids=["scalar", "empty", "big-endian-strided"])
def test_tensors_keep_shape_dtype_and_values(array: np.ndarray) -> None:
    import onnx
    from onnx import numpy_helper

    proto = onnx.TensorProto()
    proto.ParseFromString(pb.tensor("t", array).serialise())
    got = numpy_helper.to_array(proto)
    assert got.shape == array.shape and got.dtype == array.dtype.newbyteorder("=") and np.array_equal(got, array)


@needs_ort
def test_onnxruntime_runs_a_tiny_model() -> None:
    import onnxruntime as ort

    raw, w = _tiny_model()
    x = np.array([[1, 2, 3], [-1, 0, 4]], dtype=np.float32)
    got = ort.InferenceSession(raw, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    z = x @ w + 0.5
    want = (z - z.mean(-1, keepdims=True)) / np.sqrt(z.var(-1, keepdims=True) + 1e-5) + 0.5
    assert np.allclose(got, want, atol=1e-5)


packaged = choose_backend("onnx", None).backend == "onnx"
needs_model = pytest.mark.skipif(not packaged, reason="needs onnxruntime and the packaged weights")


@pytest.fixture(scope="module")
def model_dir() -> Path:
    from mcp_server_checkpoints.search.sentence_embedder import resolve_model

    return Path(resolve_model(None).location)


@pytest.mark.slow
@needs_model
@needs_onnx
def test_the_encoder_graph_passes_the_checker(model_dir: Path) -> None:
    import onnx

    from mcp_server_checkpoints.search.bert import BertWeights
    from mcp_server_checkpoints.search.onnx_embedder import build_encoder_graph

    model = onnx.load_from_string(build_encoder_graph(BertWeights(model_dir, "onnx")))
    onnx.checker.check_model(model, full_check=True)  # full_check: shape inference runs too
    graph = model.graph
    assert [i.name for i in graph.input] == ["x", "key_bias"] and [o.name for o in graph.output] == ["hidden"]
    # 6 layers of 4 matmuls (query/key/value fused) with a bias and 2 LayerNorms each.
    names = {t.name for t in graph.initializer}
    assert sum(n.endswith(("qkv.weight", "dense.weight")) for n in names) == 6 * 4
    assert sum(n.op_type == "LayerNormalization" for n in graph.node) == 12
    assert len({n.name for n in graph.node}) == len(graph.node)


@pytest.mark.slow
@needs_model
def test_onnx_and_numpy_give_the_same_vectors(model_dir: Path) -> None:
    """Without torch: the two torch-free backends run the same arithmetic on the same weights."""
    from mcp_server_checkpoints.search.numpy_embedder import load_numpy_embedder
    from mcp_server_checkpoints.search.onnx_embedder import load_onnx_embedder

    texts = ["night theme", "", "continue the CipherBox PR #125 review", "token refresh " * 200, "x" * 300]
    onnx_vectors = load_onnx_embedder(model_dir, "m").embed_array(texts)
    numpy_vectors = load_numpy_embedder(model_dir, "m").embed_array(texts)
    assert onnx_vectors.dtype == np.float32 and onnx_vectors.shape == (5, 384)
    assert float((onnx_vectors * numpy_vectors).sum(axis=1).min()) >= 0.99999
