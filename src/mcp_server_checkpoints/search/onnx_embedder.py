"""The default embedder when onnxruntime is installed: all-MiniLM-L6-v2's encoder layers run by
onnxruntime, no torch, no `onnx` package, no model download.

The same weights as the numpy backend and the sentence-transformers reference, read from the
packaged `model.safetensors`; `bert.py` does everything around the encoder layers exactly as the
numpy backend does (tokenising, input embeddings from the memory-mapped word table, the key bias
for padding, mean pooling, L2 norm). tests/search/test_vector_equality.py checks the vectors
against the reference (cosine >= 0.999), which is why all three store vectors under one name.

Why: one query through the numpy backend cost 17-23 ms of CPU (OpenBLAS is slow on a 16-token
matrix); onnxruntime runs the same graph in about half the CPU (8.7 against 16.9 ms, bench/embedding.py).

The graph is built in memory at load time from the safetensors (`onnx_proto.py` writes the
protobuf), handed to `onnxruntime.InferenceSession` as bytes and dropped: nothing is written to
disk, and there is no exported .onnx file to keep in step with the weights.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp_server_checkpoints.search import onnx_proto as pb
from mcp_server_checkpoints.search.bert import BertSentenceEncoder, BertWeights, check_mean_pooling, max_tokens_of
from mcp_server_checkpoints.search.numpy_embedder import limit_blas_threads

if TYPE_CHECKING:
    import numpy.typing as npt

log = logging.getLogger(__name__)

OPSET = 18  # Split's num_outputs attribute and LayerNormalization need 18 / 17
IR_VERSION = 9


def onnx_backend_installed() -> bool:
    """Whether this backend's packages are installed (without importing them)."""
    return all(importlib.util.find_spec(m) is not None for m in ("numpy", "tokenizers", "onnxruntime"))


class _Graph:
    """Accumulates nodes and initializers; names every node and intermediate value uniquely."""

    def __init__(self) -> None:
        self.nodes: list[pb.Message] = []
        self.initializers: list[pb.Message] = []
        self._keep: list[Any] = []  # initializer arrays: raw_data is a view of them until serialised

    def const(self, name: str, array: Any) -> str:
        self._keep.append(array)
        self.initializers.append(pb.tensor(name, array))
        return name

    def op(self, op_type: str, *inputs: str, outputs: int = 1, **attributes: Any) -> str | list[str]:
        base = f"{op_type.lower()}_{len(self.nodes)}"
        names = [base] if outputs == 1 else [f"{base}_{i}" for i in range(outputs)]
        self.nodes.append(pb.node(op_type, inputs, names, base, **attributes))
        return names[0] if outputs == 1 else names

    def one(self, op_type: str, *inputs: str, **attributes: Any) -> str:
        out = self.op(op_type, *inputs, **attributes)
        assert isinstance(out, str)
        return out


def build_encoder_graph(weights: BertWeights) -> bytes:
    """The encoder layers as a serialised ONNX model.

    Inputs: `x` (batch, tokens, hidden) float32, the LayerNormed input embeddings, and `key_bias`
    (batch, 1, 1, tokens) float32, added to every attention score (0 for a real token, -1e30 for
    padding). Output: `hidden` (batch, tokens, hidden), the last layer's hidden state.
    The same arithmetic as NumpyEmbedder._encoder, op for op (gelu in its exact erf form).
    """
    import numpy as np

    cfg = weights.config
    heads, head_dim, hidden = cfg.heads, cfg.hidden // cfg.heads, cfg.hidden
    g = _Graph()
    f32 = np.float32
    qkv_shape = g.const("qkv_shape", np.array([0, -1, 3, heads, head_dim], dtype=np.int64))  # 0: keep batch
    context_shape = g.const("context_shape", np.array([0, -1, hidden], dtype=np.int64))
    axis0 = g.const("axis0", np.array([0], dtype=np.int64))
    scale = g.const("scale", np.array(1.0 / np.sqrt(head_dim), dtype=f32))
    sqrt2 = g.const("sqrt2", np.array(np.sqrt(2.0), dtype=f32))
    one = g.const("one", np.array(1.0, dtype=f32))
    half = g.const("half", np.array(0.5, dtype=f32))
    x = "x"
    for i in range(cfg.layers):
        p = f"encoder.layer.{i}."

        def w(key: str, *, transpose: bool = False, p: str = p) -> str:
            return g.const(p + key, weights.tensor(p + key, transpose=transpose))

        # One (hidden, 3*hidden) matmul for query, key and value instead of three.
        qkv_w = np.concatenate([weights.tensor(p + f"attention.self.{n}.weight", transpose=True)
                                for n in ("query", "key", "value")], axis=1)
        qkv_b = np.concatenate([weights.tensor(p + f"attention.self.{n}.bias") for n in ("query", "key", "value")])
        t = g.one("Add", g.one("MatMul", x, g.const(p + "qkv.weight", qkv_w)), g.const(p + "qkv.bias", qkv_b))
        t = g.one("Transpose", g.one("Reshape", t, qkv_shape), perm=[2, 0, 3, 1, 4])  # (3, n, h, L, d)
        q, k, v = (g.one("Squeeze", s, axis0) for s in g.op("Split", t, outputs=3, axis=0, num_outputs=3))
        scores = g.one("MatMul", q, g.one("Transpose", k, perm=[0, 1, 3, 2]))
        scores = g.one("Add", g.one("Mul", scores, scale), "key_bias")
        probs = g.one("Softmax", scores, axis=-1)
        context = g.one("Transpose", g.one("MatMul", probs, v), perm=[0, 2, 1, 3])
        context = g.one("Reshape", context, context_shape)
        attn = g.one("Add", g.one("MatMul", context, w("attention.output.dense.weight", transpose=True)),
                     w("attention.output.dense.bias"))
        x = g.one("LayerNormalization", g.one("Add", attn, x), w("attention.output.LayerNorm.weight"),
                  w("attention.output.LayerNorm.bias"), axis=-1, epsilon=cfg.eps)
        h = g.one("Add", g.one("MatMul", x, w("intermediate.dense.weight", transpose=True)),
                  w("intermediate.dense.bias"))
        # gelu as x * (1 + erf(x / sqrt 2)) * 0.5, in the order onnxruntime's fusion recognises: with
        # the bias add before it, it becomes one BiasGelu kernel (~10 % less CPU per query, measured).
        gate = g.one("Add", g.one("Erf", g.one("Div", h, sqrt2)), one)
        h = g.one("Mul", g.one("Mul", h, gate), half)
        out = g.one("Add", g.one("MatMul", h, w("output.dense.weight", transpose=True)), w("output.dense.bias"))
        x = g.one("LayerNormalization", g.one("Add", out, x), w("output.LayerNorm.weight"),
                  w("output.LayerNorm.bias"), axis=-1, epsilon=cfg.eps)
    g.nodes.append(pb.node("Identity", [x], ["hidden"], "output"))
    return pb.model(graph_name="bert_encoder", nodes=g.nodes, initializers=g.initializers,
                    inputs=[pb.value_info("x", pb.FLOAT, ["batch", "tokens", hidden]),
                            pb.value_info("key_bias", pb.FLOAT, ["batch", 1, 1, "tokens"])],
                    outputs=[pb.value_info("hidden", pb.FLOAT, ["batch", "tokens", hidden])],
                    opset=OPSET, ir_version=IR_VERSION, producer="mcp-server-checkpoints")


class OnnxEmbedder(BertSentenceEncoder):
    """An `Embedder` running a BERT sentence encoder's layers with onnxruntime (`bert.py` does the rest).

    `threads`: onnxruntime's intra-op threads (None: onnxruntime's default, every physical core).
    `spin`: whether those threads spin-wait for work between runs (onnxruntime's default) instead of
    blocking: off, because an idle server would burn CPU (each Claude Code session runs one), and
    spinning bought no measurable query time (bench/embedding.py, "idle CPU").
    """

    backend = "onnx"

    def __init__(self, model_dir: Path, name: str, *, threads: int | None = 1, spin: bool = False,
                 batch_size: int = 4, **kwargs: Any) -> None:
        # batch_size 4, not numpy's 16: onnxruntime's arena keeps the largest batch's activations
        # for the life of the process (16 full-width passages left the process 170 MB larger, 4
        # left it 44 MB larger, measured) and 4 was no slower per text.
        self.threads = threads
        self.spin = spin
        super().__init__(model_dir, name, batch_size=batch_size, **kwargs)

    def _load_encoder(self, weights: BertWeights) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads or 0
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if self.spin else "0")
        options.log_severity_level = 3  # warnings about unused initializers etc. are not the user's business
        self._session = ort.InferenceSession(build_encoder_graph(weights), options, providers=["CPUExecutionProvider"])
        # The Python wrapper keeps the model's bytes (42 MB) to rebuild the session on a provider
        # fallback, which a CPU-only session never does; the C++ session has its own copy.
        if getattr(self._session, "_model_bytes", None) is not None:
            self._session._model_bytes = None

    def _encoder(self, x: npt.NDArray[Any], key_bias: npt.NDArray[Any]) -> npt.NDArray[Any]:
        out: npt.NDArray[Any] = self._session.run(None, {"x": x, "key_bias": key_bias})[0]
        return out


def load_onnx_embedder(model_dir: Path, name: str, *, threads: int | None = 1, spin: bool = False) -> OnnxEmbedder:
    """Read the model's files, build the session and warm it up (call it off the handshake path)."""
    # numpy still gathers the input embeddings and pools; its BLAS pool gets the same cap.
    limit_blas_threads(threads)
    check_mean_pooling(model_dir, OnnxEmbedder.backend)
    log.info("loading embedding model %s from %s (onnx backend, %s intra-op threads)", name, model_dir,
             threads or "default")
    embedder = OnnxEmbedder(model_dir, name, threads=threads, spin=spin, max_tokens=max_tokens_of(model_dir))
    embedder.embed_array(["warm up"])  # the first run allocates onnxruntime's buffers
    _trim_heap()
    return embedder


def _trim_heap() -> None:
    """Hand the pages freed while loading back to the OS: glibc keeps freed heap memory for reuse,
    and building the graph freed ~40 MB of weight copies that nothing reuses (the server's VmRSS
    was ~20 MB lower with this, measured). Elsewhere than glibc, nothing to do."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass
