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

OPSET = 18  # the default domain: MatMul and Identity only, any recent opset has them
IR_VERSION = 9
CONTRIB = "com.microsoft"  # onnxruntime's own operators: BERT's layers fused into a few kernels


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

    def op(self, op_type: str, *inputs: str, domain: str = "", **attributes: Any) -> str:
        name = f"{op_type.lower()}_{len(self.nodes)}"
        self.nodes.append(pb.node(op_type, inputs, [name], name, domain=domain, **attributes))
        return name


def build_encoder_graph(weights: BertWeights) -> bytes:
    """The encoder layers as a serialised ONNX model.

    Inputs: `x` (batch, tokens, hidden) float32, the LayerNormed input embeddings, and `mask`
    (batch, tokens) int32, 1 for a real token and 0 for padding. Output: `hidden` (batch, tokens,
    hidden), the last layer's hidden state.

    The arithmetic of NumpyEmbedder._encoder, written with onnxruntime's fused contrib operators,
    four kernels and three matmuls a layer instead of some twenty nodes:
    - `Attention`: the packed query/key/value matmul (one (hidden, 3*hidden) weight, prepacked
      by onnxruntime) and its bias, scaled dot-product attention per head with the padded keys
      masked (`mask_filter_value` added to their scores, as the numpy backend's key bias), the
      heads' contexts concatenated;
    - `SkipLayerNormalization`: LayerNorm(dense output + bias + residual), for both LayerNorms;
    - `BiasGelu`: gelu(h + bias) in the exact erf form.
    Its output is the numpy backend's to float32 rounding (tests/search/test_onnx_graph.py, at
    several lengths, paddings and batch sizes).
    """
    import numpy as np

    cfg = weights.config
    g = _Graph()
    x = "x"
    for i in range(cfg.layers):
        p = f"encoder.layer.{i}."

        def w(key: str, *, transpose: bool = False, p: str = p) -> str:
            return g.const(p + key, weights.tensor(p + key, transpose=transpose))

        qkv_w = np.concatenate([weights.tensor(p + f"attention.self.{n}.weight", transpose=True)
                                for n in ("query", "key", "value")], axis=1)
        qkv_b = np.concatenate([weights.tensor(p + f"attention.self.{n}.bias") for n in ("query", "key", "value")])
        context = g.op("Attention", x, g.const(p + "qkv.weight", qkv_w), g.const(p + "qkv.bias", qkv_b), "mask",
                       domain=CONTRIB, num_heads=cfg.heads, mask_filter_value=-1e30)
        attn = g.op("MatMul", context, w("attention.output.dense.weight", transpose=True))
        x = g.op("SkipLayerNormalization", attn, x, w("attention.output.LayerNorm.weight"),
                 w("attention.output.LayerNorm.bias"), w("attention.output.dense.bias"),
                 domain=CONTRIB, epsilon=cfg.eps)
        h = g.op("BiasGelu", g.op("MatMul", x, w("intermediate.dense.weight", transpose=True)),
                 w("intermediate.dense.bias"), domain=CONTRIB)
        out = g.op("MatMul", h, w("output.dense.weight", transpose=True))
        x = g.op("SkipLayerNormalization", out, x, w("output.LayerNorm.weight"), w("output.LayerNorm.bias"),
                 w("output.dense.bias"), domain=CONTRIB, epsilon=cfg.eps)
    g.nodes.append(pb.node("Identity", [x], ["hidden"], "output"))
    return pb.model(graph_name="bert_encoder", nodes=g.nodes, initializers=g.initializers,
                    inputs=[pb.value_info("x", pb.FLOAT, ["batch", "tokens", cfg.hidden]),
                            pb.value_info("mask", pb.INT32, ["batch", "tokens"])],
                    outputs=[pb.value_info("hidden", pb.FLOAT, ["batch", "tokens", cfg.hidden])],
                    opset=OPSET, ir_version=IR_VERSION, producer="mcp-server-checkpoints", domains={CONTRIB: 1})


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

    def _encoder(self, x: npt.NDArray[Any], mask: npt.NDArray[Any]) -> npt.NDArray[Any]:
        import numpy as np

        out: npt.NDArray[Any] = self._session.run(None, {"x": x, "mask": mask.astype(np.int32)})[0]
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
