"""`ckpt stats` says which embedding backend a server would run with these settings, or why none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcp_server_checkpoints.cli import main
from mcp_server_checkpoints.search.backends import choose_backend


def _stats(capsys: pytest.CaptureFixture[str], db: Path, *flags: str) -> tuple[dict[str, object], str]:
    assert main(["stats", "--db", str(db), "--json", *flags]) == 0
    report = json.loads(capsys.readouterr().out)["semantic"]
    assert main(["stats", "--db", str(db), *flags]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("semantic"))
    return report, line


def test_stats_names_the_backend_auto_resolves_to(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHECKPOINTS_EMBEDDING_BACKEND", raising=False)
    monkeypatch.setenv("CHECKPOINTS_EMBEDDING_THREADS", "2")
    want = choose_backend("auto", None)
    report, line = _stats(capsys, tmp_path / "c.db")
    assert report == {"setting": "auto", "threads": 2, "backend": want.backend, "problem": want.problem or None}
    if want.backend is None:
        assert line == f"semantic      off: {want.problem}"
    else:
        assert line == f"semantic      {want.backend} backend (embedding_backend = auto, 2 threads per query)"


def test_stats_says_why_there_is_no_backend(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHECKPOINTS_EMBEDDING_BACKEND", "onnx")
    monkeypatch.setenv("CHECKPOINTS_EMBEDDING_MODEL", str(tmp_path))  # a directory with no weights
    report, line = _stats(capsys, tmp_path / "c.db")
    assert report["backend"] is None and line.startswith("semantic      off: embedding_backend = \"onnx\"")
    monkeypatch.setenv("CHECKPOINTS_SEMANTIC", "false")
    report, line = _stats(capsys, tmp_path / "c.db")
    assert line == "semantic      off: switched off (semantic = false)"
