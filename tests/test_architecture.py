"""The layout is the architecture: no import cycles, and the layers below the server never import mcp.

The import graph is read from the source (ast), with every import counted wherever it stands
(module level or inside a function), except those under `if TYPE_CHECKING:` (never run).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = "mcp_server_checkpoints"
SRC = Path(__file__).resolve().parents[1] / "src" / PACKAGE
# DESIGN.md: nothing under these imports mcp (the SDK); the CLI imports it only to serve.
NO_MCP = ("domain", "storage", "search", "recovery", "integrations", "wiring", "config", "errors", "schemas", "tools")


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def imports_of(path: Path, me: str | None = None) -> set[str]:
    """Every module `path` (module `me`) imports at run time: absolute names, and for `from X import Y` both X
    and X.Y (Y may be a module)."""
    tree = ast.parse(path.read_text(), str(path))
    me = me or module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if _type_checking_only(child):
                for orelse in child.orelse:  # type: ignore[attr-defined]
                    visit(orelse)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found.add(base)
                found.update(f"{base}.{a.name}" for a in child.names)
            visit(child)

    visit(tree)
    return found


def project_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in SRC.rglob("*.py")}
    return {name: {m for m in imports_of(path) if m in files and m != name} for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_walker_sees_function_level_and_relative_imports_and_skips_type_checking(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import mcp_server_checkpoints.cli\n"
                     "def f():\n    from mcp_server_checkpoints.storage import redact\n    from . import ids\n")
    found = imports_of(probe, f"{PACKAGE}.domain.probe")
    assert {f"{PACKAGE}.storage.redact", f"{PACKAGE}.domain.ids"} <= found
    assert f"{PACKAGE}.cli" not in found
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_no_import_cycle_among_the_project_modules() -> None:
    found = cycles(project_graph())
    assert not found, f"import cycles: {found}"


def test_layers_below_the_server_never_import_mcp() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        name = module_name(path)
        layer = name.split(".")[1] if "." in name else ""
        if layer in NO_MCP or name.startswith(f"{PACKAGE}.cli.parser"):
            bad = sorted(m for m in imports_of(path) if m == "mcp" or m.startswith(("mcp.", "mcp_types")))
            if bad:
                offenders.append(f"{name}: {bad}")
    assert not offenders, offenders


@pytest.mark.slow
def test_cli_list_imports_neither_mcp_nor_pydantic(tmp_path: Path) -> None:
    """`ckpt list` (like every non-serving command) starts without the SDK; -X importtime lists what it loaded."""
    res = subprocess.run([sys.executable, "-X", "importtime", "-m", PACKAGE, "list", "--db", str(tmp_path / "l.db")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    loaded = {line.split("|")[-1].strip() for line in res.stderr.splitlines() if line.startswith("import time:")}
    assert f"{PACKAGE}.cli" in loaded  # the probe itself works
    heavy = sorted(m for m in loaded if m.split(".")[0] in ("mcp", "mcp_types", "pydantic", "numpy", "torch"))
    assert not heavy, heavy
