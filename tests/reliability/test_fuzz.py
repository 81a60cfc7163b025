"""mcp-fuzzer (PyPI) against the real server over stdio, in tools and protocol modes, with a fixed seed.

Pass criterion: the fuzzer completes; `findings.json` holds no crash, hang, transport anomaly or
oversized response; every error the server returned has a standard JSON-RPC code (never an
internal error or the SDK's code 0) and a message holding none of the fuzz input; and every
"accepted_malformed" finding is an input the contract actually allows (the fuzzer flags any
non-error answer in its aggressive phases), checked here one by one: tool arguments valid
against the tool's input schema, a tool-error result, or a message type whose extra params the
MCP spec lets a server ignore.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp import Client

from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.server import build_server

pytestmark = [pytest.mark.slow, pytest.mark.reliability, pytest.mark.anyio]

SEED = 20261122
TOOL_RUNS = int(os.environ.get("CKPT_FUZZ_TOOL_RUNS", "100"))
PROTOCOL_RUNS = int(os.environ.get("CKPT_FUZZ_PROTOCOL_RUNS", "20"))
# Message types whose params objects are open in the MCP schema (or which get no response at all):
# a server answering them normally is conforming, whatever extra fields the fuzzer added.
OPEN_PARAMS = {"InitializeRequest", "InitializedNotification", "ProgressNotification", "CancelledNotification",
               "PingRequest", "ListToolsRequest", "ListResourcesRequest", "ListResourceTemplatesRequest",
               "ListPromptsRequest", "GenericJSONRPCRequest"}
BAD_OUTCOMES = ("crashed", "anomaly", "exceptions", "timeout", "transport_error", "oversized_response")
FUZZ_MARKERS = ("<script", "../", "_A_A", "passwd", "\x00", "DROP TABLE", "{{", "${", "AAAAAAAA")
STANDARD_CODES = {-32700, -32600, -32601, -32602}


def fuzzer() -> str:
    exe = shutil.which("mcp-fuzzer", path=str(Path(sys.executable).parent)) or shutil.which("mcp-fuzzer")
    if exe is None:
        pytest.fail("mcp-fuzzer is not installed: pip install -e '.[test]'")
    return exe


def run_fuzzer(tmp: Path, mode: str, *extra: str) -> tuple[Path, str]:
    out = tmp / f"reports-{mode}"
    server = shlex.join([sys.executable, "-m", "mcp_server_checkpoints", "--db", str(tmp / "fuzz.db")])
    # Everything the server writes is kept (tee) so the test can check every line itself: one file per
    # server process ($$, the shell's pid). The fuzzer starts a new server for many of its runs, and an
    # old one may still be writing: tees sharing one file interleaved long lines (seen in CI).
    endpoint = shlex.join(["sh", "-c", f"{server} | tee {shlex.quote(str(tmp))}/stdout-$$.jsonl"])
    cmd = [fuzzer(), "--mode", mode, "--protocol", "stdio", "--endpoint", endpoint, "--seed", str(SEED),
           "--output-dir", str(out), "--fs-root", str(tmp / "sandbox"), "--no-network", "--timeout", "20",
           "--log-level", "WARNING", *extra]
    # Its corpus and caches stay in tmp. Semantic search off: the embedding model loading in the
    # background (~0.5 GB) would read as memory growth of whichever tool runs meanwhile.
    env = {**os.environ, "HOME": str(tmp), "NO_COLOR": "1", "COLUMNS": "200", "CHECKPOINTS_SEMANTIC": "false"}
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=420, env=env, cwd=tmp)
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-4000:]
    assert (out / "findings.json").exists(), log[-4000:]
    return out, log


def returned_errors(log: str) -> list[dict[str, Any]]:
    errors = []
    for m in re.finditer(r"Server returned error: (\{.*\})\s*$", log, re.MULTILINE):
        errors.append(ast.literal_eval(m.group(1)))
    return errors


def check_errors_leak_nothing(log: str) -> int:
    errors = returned_errors(log)
    for err in errors:
        assert err["code"] in STANDARD_CODES, err
        assert not any(marker in str(err) for marker in FUZZ_MARKERS), err
    assert "Traceback" not in log
    return len(errors)


@dataclass
class Surface:
    """What the server offers: tool schemas, resource URIs (and templates as patterns), prompt names."""

    tools: dict[str, dict[str, Any]]
    resources: list[re.Pattern[str]]
    prompts: set[str]


async def surface(tmp: Path) -> Surface:
    async with Client(build_server(Settings(db=tmp / "schemas.db"))) as client:
        tools = {t.name: t.input_schema for t in (await client.list_tools()).tools}
        uris = [re.escape(str(r.uri)) for r in (await client.list_resources()).resources]
        templates = [re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(str(t.uri_template)))
                     for t in (await client.list_resource_templates()).resource_templates]
        prompts = {p.name for p in (await client.list_prompts()).prompts}
    return Surface(tools, [re.compile(f"^{u}$") for u in uris + templates], prompts)


def _numeric_types(prop: dict[str, Any]) -> set[str]:
    types = {prop.get("type")} | {alt.get("type") for alt in prop.get("anyOf", [])}
    return {t for t in types if t in ("number", "integer")}


def _lax(schema: dict[str, Any], arguments: Any) -> Any:
    """The one leniency the contract has on purpose: pydantic's lax mode takes "997" for a number
    (its bounds still apply). Such top-level arguments become numbers before the schema check."""
    if not isinstance(arguments, dict):
        return arguments
    out = dict(arguments)
    for key, value in arguments.items():
        prop = schema.get("properties", {}).get(key, {})
        if isinstance(value, str) and _numeric_types(prop):
            try:
                number = float(value)
            except ValueError:
                continue
            out[key] = int(number) if number.is_integer() and "integer" in _numeric_types(prop) else number
    return out


def allowed_input(schemas: dict[str, dict[str, Any]], name: str, arguments: Any) -> bool:
    """Everything else the fuzzer saw accepted must be valid against the tool's input schema."""
    if name not in schemas:
        return False
    try:
        jsonschema.validate(_lax(schemas[name], arguments), schemas[name])
    except jsonschema.ValidationError:
        return False
    return True


# Tools whose successful results return what the caller stored, by contract: the memory tools return
# entities and observations (and name a missing entity, as the official server does); save_checkpoint
# returns the stored `project`; search/open/mark_status/recover return stored titles, goals and notes.
# mcp-fuzzer's findings carry only the marker, not the response, so its "injection_reflection" cannot
# tell a stored value from an echoing error message here. Error messages are held to "no echo" by
# tests/reliability/test_hostile_input.py (40 hostile requests) and by check_errors_leak_nothing below.
ECHOES_BY_CONTRACT = {"create_entities", "create_relations", "add_observations", "search_nodes", "open_nodes",
                      "read_graph", "save_checkpoint", "search_checkpoints", "open_checkpoint", "mark_status",
                      "recover"}


def is_tool_error(result: Any) -> bool:
    if isinstance(result, str):
        return '"isError": true' in result
    response = (result or {}).get("response") if isinstance(result, dict) else None
    return isinstance(response, dict) and response.get("isError") is True


def stored_text_matches(db: Path, pattern: str) -> bool:
    """Whether the fuzzer's leak pattern matches a graph entity's name, type or observation it stored."""
    rx = re.compile(pattern, re.IGNORECASE)
    c = sqlite3.connect(db)
    try:
        rows = c.execute("SELECT name, entity_type FROM graph_entities UNION ALL"
                         " SELECT content, '' FROM graph_observations").fetchall()
    finally:
        c.close()
    return any(rx.search(text or "") for row in rows for text in row)


def check_findings(out: Path, offered: Surface) -> dict[str, int]:
    schemas = offered.tools
    findings = json.loads((out / "findings.json").read_text())["findings"]
    kinds: dict[str, int] = {}
    for f in findings:
        kinds[f["category"]] = kinds.get(f["category"], 0) + 1
        evidence = f["evidence"]
        if f["category"] == "injection_reflection":
            # See ECHOES_BY_CONTRACT: stored values come back by contract. In protocol mode (and for any
            # other tool) reflection is still a failure.
            assert f["kind"] == "tool" and f["target"] in ECHOES_BY_CONTRACT, f
            continue
        if f["category"] == "error_leakage":
            # The fuzzer's leak patterns (e.g. \bnzec\b) also match its own random strings, which tools
            # that return stored values give back (a stored observation "…!NzEc#…" was reported). Such a
            # finding is accepted only when the pattern matches data the fuzzer stored itself, and only
            # for those tools; a real traceback would not be in the graph, and any other leak fails.
            assert f["kind"] == "tool" and f["target"] in ECHOES_BY_CONTRACT, f
            assert stored_text_matches(out.parent / "fuzz.db", evidence["evidence"]), f
            continue
        if f["category"] == "non_determinism":
            # read_graph and search_nodes return stored graph content, which the other fuzzed calls keep
            # changing and growing, so the same arguments can meet a different (larger) answer; once one
            # is over the fuzzer's 64 KiB line limit its reader fails (see unreadable_answers) and the
            # outcomes it records around that read are shifted. Checked by hand: their only rejections
            # are deterministic argument checks, and hostile stored entities never make a later read
            # fail. open_nodes joins them since names pass the redaction gate: fuzzed names that hold
            # secret-like text are stored as the same redacted name, so the relations touching one keep
            # growing the same way. Any other tool must be deterministic.
            assert f["kind"] == "tool" and f["target"] in ("read_graph", "search_nodes", "open_nodes"), f
            continue
        assert f["category"] == "accepted_malformed", f
        params = evidence["input"].get("params") or {} if isinstance(evidence["input"], dict) else {}
        if f["kind"] == "tool":
            assert allowed_input(schemas, f["target"], evidence["input"]), f
        elif f["target"] == "CallToolRequest":
            assert is_tool_error(evidence.get("result")) or allowed_input(
                schemas, params.get("name", ""), params.get("arguments", {})), f
        elif f["target"] == "ReadResourceRequest":  # a resource the server lists: reading it is correct
            assert any(p.match(str(params.get("uri", ""))) for p in offered.resources), f
        elif f["target"] == "GetPromptRequest":
            assert params.get("name") in offered.prompts, f
        else:
            assert f["target"] in OPEN_PARAMS, f
    summary = json.loads((out / "run_summary.json").read_text())
    unread = unreadable_answers(out)
    for name, stats in summary["tools"]["by_name"].items():
        for outcome in BAD_OUTCOMES:
            allowed = unread.get(name, 0) if outcome == "exceptions" else 0
            assert stats["outcomes"].get(outcome, 0) <= allowed, (name, stats)
    return kinds


FUZZER_LINE_LIMIT = 64 * 1024


def unreadable_answers(out: Path) -> dict[str, int]:
    """Per tool, the exceptions that are mcp-fuzzer's own client failing to read a long answer.

    Its stdio reader fails ("Failed to receive message from stdio transport") on lines over 64 KiB,
    which whole-graph reads and searches over the fuzzed graph reach. Proven here each run: every line
    the servers wrote (tee'd to stdout-<pid>.jsonl) is valid JSON, and there are at least as many lines over
    64 KiB as such exceptions. Any other exception still fails the test.
    """
    files = sorted(out.parent.glob("stdout-*.jsonl"))
    assert files, "the servers' output was not captured"
    lines, cut_long = [], 0
    for f in files:
        data = f.read_bytes()
        # A message is written with its newline. A file that does not end in one is a server the fuzzer
        # stopped while it was still writing a long answer (seen in CI: 333 KB cut at a pipe-buffer
        # boundary); that last fragment is not parsed, every whole line is. It counts as a long answer
        # whatever its length: the cut can fall at exactly one 64 KiB pipe buffer, and the fuzzer
        # cannot have read an answer its server never finished writing.
        whole, _, cut = data.rpartition(b"\n")
        lines += whole.splitlines()
        cut_long += bool(cut)
    for line in lines:
        json.loads(line)  # the server never writes anything but whole JSON-RPC messages
    long_lines = cut_long + sum(1 for line in lines if len(line) > FUZZER_LINE_LIMIT)
    counts: dict[str, int] = {}
    for session in out.glob("sessions/*/*.json"):
        for tool in json.loads(session.read_text())["data"].get("tools_tested", []):
            details = tool.get("exception_details") or []
            if details and all(d.get("message") == "Failed to receive message from stdio transport" for d in details):
                counts[tool["name"]] = counts.get(tool["name"], 0) + len(details)
    assert sum(counts.values()) <= long_lines, (counts, long_lines)
    return counts


async def test_fuzz_tools_mode(tmp_path: Path) -> None:
    offered = await surface(tmp_path)
    schemas = offered.tools
    out, log = run_fuzzer(tmp_path, "tools", "--phase", "both", "--runs", str(TOOL_RUNS))
    kinds = check_findings(out, offered)
    summary = json.loads((out / "run_summary.json").read_text())
    runs = sum(s["total_runs"] for s in summary["tools"]["by_name"].values())
    assert set(summary["tools"]["by_name"]) == set(schemas) and runs >= len(schemas) * TOOL_RUNS
    errors = check_errors_leak_nothing(log)
    print(f"\nmcp-fuzzer tools mode: {runs} runs over {len(schemas)} tools, seed {SEED};"
          f" findings by category {kinds} (each checked to be a valid input); {errors} JSON-RPC errors, none leaking")


async def test_fuzz_protocol_mode(tmp_path: Path) -> None:
    out, log = run_fuzzer(tmp_path, "protocol", "--protocol-phase", "aggressive", "--runs-per-type", str(PROTOCOL_RUNS))
    kinds = check_findings(out, await surface(tmp_path))
    summary = json.loads((out / "run_summary.json").read_text())
    runs = summary["protocols"]["total_runs"]
    assert runs >= 20 * PROTOCOL_RUNS
    errors = check_errors_leak_nothing(log)
    print(f"\nmcp-fuzzer protocol mode: {runs} runs over {summary['protocols']['total']} message types, seed {SEED};"
          f" findings by category {kinds} (each checked against the spec); {errors} JSON-RPC errors, none leaking")
