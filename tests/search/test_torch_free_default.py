"""The default backend (onnx; numpy where onnxruntime is missing) runs without torch and without the
network: a real server over stdio warms up to `semantic: ready`, finds a checkpoint by meaning, and
never maps libtorch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from mcp_server_checkpoints.search.backends import choose_backend
from tests.processes import server_pid

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

if choose_backend("onnx", None).backend is None or choose_backend("numpy", None).backend is None:
    pytest.skip("needs the semantic extra and the packaged weights", allow_module_level=True)

# No hub, and any other download would hit a closed local port.
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HTTP_PROXY": "http://127.0.0.1:9",
           "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHECKPOINTS_")}
    return env | OFFLINE | {"XDG_CONFIG_HOME": str(tmp_path / "config")}


@pytest.mark.skipif(not Path("/proc/self/maps").is_file(), reason="reads /proc")
async def test_server_warms_up_offline_without_torch(tmp_path: Path) -> None:
    db = str(tmp_path / "c.db")
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_server_checkpoints", "--db", db],
                                   env=_env(tmp_path))
    async with Client(params) as client:
        for title, goal in (("Dark mode for the dashboard", "a dark colour scheme toggle"),
                            ("Invoice PDF export", "monthly invoices as PDF")):
            assert not (await client.call_tool("save_checkpoint", {"title": title, "goal": goal})).is_error
        res: dict[str, object] = {}
        for _ in range(600):
            res = (await client.call_tool("search_checkpoints", {"query": "night theme"})).structured_content or {}
            # Ready is the model loaded; the worker may still be embedding the second checkpoint.
            if res.get("semantic") == "ready" and len(res.get("results") or []) == 2:
                break
            await anyio.sleep(0.1)
        assert res.get("semantic") == "ready"
        hits = res["results"]
        assert isinstance(hits, list) and hits[0]["title"] == "Dark mode for the dashboard"  # no shared word
        maps = Path(f"/proc/{server_pid(db)}/maps").read_text()
        assert "libtorch" not in maps and "onnxruntime" in maps  # auto picked onnx


PROBE = """
import json, sys
import mcp_server_checkpoints.search.backends as b
cheap = not any(m in sys.modules for m in ("numpy", "tokenizers", "onnxruntime", "torch"))
e = b.load_embedder(sys.argv[1], None, threads=1)
v = e.embed_array(["let's get back to the login token work"])
from threadpoolctl import threadpool_info
blas = [i["num_threads"] for i in threadpool_info() if i.get("internal_api") == "openblas"]
heavy = sorted({m.split(".")[0] for m in sys.modules}
               & {"torch", "transformers", "sentence_transformers", "safetensors", "onnx"})
session = getattr(e, "_session", None)
threads = session.get_session_options().intra_op_num_threads if session else None
print(json.dumps({"cheap": cheap, "heavy": heavy, "blas": blas, "ort_threads": threads,
                  "shape": list(v.shape), "name": e.model_name}))
"""


@pytest.mark.parametrize("backend", ["onnx", "numpy"])
def test_loading_imports_nothing_heavy_and_caps_threads(tmp_path: Path, backend: str) -> None:
    """A fresh process: importing the backends is cheap, loading brings in no torch (and no `onnx`
    package: the graph's protobuf is written by hand), and the query path runs on one thread (a
    busy BLAS pool made searches ~10x slower on 2 cores)."""
    out = subprocess.run([sys.executable, "-c", PROBE, backend], env=_env(tmp_path), capture_output=True, text=True,
                         timeout=300, check=True).stdout
    report = json.loads(out.strip().splitlines()[-1])
    assert report == {"cheap": True, "heavy": [], "blas": [1],
                      "ort_threads": 1 if backend == "onnx" else None, "shape": [1, 384], "name": "all-MiniLM-L6-v2"}
