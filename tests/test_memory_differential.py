"""Differential tests: the official memory server and ours, driven by the same calls, answer the same.

The official server runs for real: `npx -y @modelcontextprotocol/server-memory@<pinned>` with its
data file in a temporary folder (the first run downloads the package from the npm registry, a
few seconds; later runs use npm's cache). Ours runs in memory on a fresh database. Both are
driven through the official Python MCP client with seeded random sequences of calls (duplicates,
missing entities, Unicode, deletes, searches) and every response is compared: isError, the
structured content and the text. The only tolerated differences are ALLOWED_DIFFERENCES in
tests/memory_contract.py, each with its reason.
"""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.server import build_server
from tests.memory_contract import ALLOWED_DIFFERENCES, MEMORY_TOOLS, OFFICIAL, normalise_tool
from tests.processes import node_env, node_tool

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CALLS_PER_SEED = 150
SEEDS = (1, 2, 3)

NAMES = ["alice", "Alice", "bob", "Ωmega", "ΟΔΟΣ", "日本語のノード", "naïve café", "emoji 🚀 rocket", "İstanbul",
         "STRASSE", "straße", "", " spaced ", "line\nbreak", 'quote "q"', "back\\slash", "tab\there", "long " * 40]
TYPES = ["person", "Person", "project", "session-snapshot", "城市", "", "tool"]
OBSERVATIONS = ["likes tea", "Likes Tea", "works on JWT auth", "ΣΊΣΥΦΟΣ", "ünïcödé", "🚀 launched", "", "x", "X",
                "multi\nline", "  padded  ", "same", "same", "\u0000nul", "percent % and _ underscore"]
RELATION_TYPES = ["knows", "works_on", "depends on", "continues", "ΑΒΓ"]


def _npx() -> str:
    path = node_tool("npx")
    if path is None:
        pytest.fail(
            "npx is not installed, and the differential tests run the official memory server with it. Run "
            "`scripts/install-node` (what `make test` does: Node.js 22 from the npm registry into .venv/node), "
            "or install Node.js 22 or newer yourself (https://nodejs.org/en/download); then run the tests "
            f"again (the first run downloads {OFFICIAL} from the npm registry)."
        )
    node = node_tool("node")
    version = subprocess.run([node or "node", "--version"], capture_output=True, text=True, env=node_env()).stdout
    assert version.startswith("v") and int(version[1:].split(".")[0]) >= 22, (
        f"the official server runs on Node.js 22 or newer here, found {version.strip() or 'none'}: run scripts/install-node")
    return path


@asynccontextmanager
async def official_server(tmp: Path) -> AsyncIterator[Client]:
    env = {**node_env(), "MEMORY_FILE_PATH": str(tmp / "memory.jsonl")}
    params = StdioServerParameters(command=_npx(), args=["-y", OFFICIAL], env=env, cwd=str(tmp))
    async with Client(params) as client:
        yield client


@asynccontextmanager
async def our_server(tmp: Path) -> AsyncIterator[Client]:
    async with Client(build_server(Settings(db=tmp / "checkpoints.db"))) as client:
        yield client


def _text(result: Any) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


class Calls:
    """A seeded random sequence of memory-tool calls (no name or triple repeated inside one create call)."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def _names(self, k: int) -> list[str]:
        return self.r.sample(NAMES, k)

    def _obs(self) -> list[str]:
        return [self.r.choice(OBSERVATIONS) for _ in range(self.r.randint(0, 4))]

    def _relation(self) -> dict[str, str]:
        # Some endpoints are not entities: the official server does not check them, nor do we.
        return {"from": self.r.choice(NAMES + ["ghost"]), "to": self.r.choice(NAMES + ["ghost"]),
                "relationType": self.r.choice(RELATION_TYPES)}

    def _relations(self) -> list[dict[str, str]]:
        out: dict[tuple[str, str, str], dict[str, str]] = {}
        for _ in range(self.r.randint(1, 4)):
            rel = self._relation()
            out[(rel["from"], rel["to"], rel["relationType"])] = rel
        return list(out.values())

    def _query(self) -> str:
        kind = self.r.random()
        if kind < 0.5:  # a piece of something stored, case changed
            source = self.r.choice(NAMES + TYPES + OBSERVATIONS)
            if not source:
                return ""
            i = self.r.randrange(len(source))
            piece = source[i:i + self.r.randint(1, 6)]
            return piece.upper() if self.r.random() < 0.3 else piece
        if kind < 0.6:
            return ""
        return self.r.choice(["zzz-nothing", "tea JWT", "launched rocket", "ομαδα", "checkpoint"])

    def next(self) -> tuple[str, dict[str, Any]]:
        op = self.r.choices(MEMORY_TOOLS, weights=[25, 14, 16, 6, 8, 6, 3, 14, 8])[0]
        if op == "create_entities":
            return op, {"entities": [{"name": n, "entityType": self.r.choice(TYPES), "observations": self._obs()}
                                     for n in self._names(self.r.randint(1, 4))]}
        if op == "create_relations":
            return op, {"relations": self._relations()}
        if op == "add_observations":
            pool = NAMES + (["missing entity"] if self.r.random() < 0.2 else [])
            return op, {"observations": [{"entityName": self.r.choice(pool), "contents": self._obs()}
                                         for _ in range(self.r.randint(1, 3))]}
        if op == "delete_entities":
            return op, {"entityNames": self.r.sample(NAMES + ["ghost"], self.r.randint(0, 2))}
        if op == "delete_observations":
            return op, {"deletions": [{"entityName": self.r.choice(NAMES + ["ghost"]), "observations": self._obs()}
                                      for _ in range(self.r.randint(1, 2))]}
        if op == "delete_relations":
            return op, {"relations": self._relations()}
        if op == "read_graph":
            return op, {}
        if op == "search_nodes":
            return op, {"query": self._query()}
        return op, {"names": [self.r.choice(NAMES + ["ghost"]) for _ in range(self.r.randint(0, 3))]}


async def _compare(official: Client, ours: Client, op: str, args: dict[str, Any], step: str) -> str:
    theirs = await official.call_tool(op, args)
    mine = await ours.call_tool(op, args)
    assert mine.is_error == theirs.is_error, f"{step}: isError {mine.is_error} vs official {theirs.is_error}: {_text(mine)}"
    if op == "search_nodes" and not theirs.is_error and not theirs.structured_content["entities"]:
        # ALLOWED_DIFFERENCES["search fallback"]: ours may answer ranked matches; they must be real entities.
        graph = (await official.call_tool("read_graph", {})).structured_content
        for entity in mine.structured_content["entities"]:
            assert entity in graph["entities"], f"{step}: fallback returned an entity that does not exist"
        return "fallback" if mine.structured_content["entities"] else "same"
    assert mine.structured_content == theirs.structured_content, f"{step}: structured content differs"
    assert _text(mine) == _text(theirs), f"{step}: text differs"
    if theirs.is_error:
        return "same error"
    if op in ("search_nodes", "open_nodes", "read_graph") and theirs.structured_content["entities"]:
        return "same, non-empty read"
    return "same"


@pytest.mark.parametrize("seed", SEEDS)
async def test_random_sequences_answer_the_same(tmp_path: Path, seed: int) -> None:
    calls = Calls(seed)
    outcomes: dict[str, int] = {}
    async with official_server(tmp_path) as official, our_server(tmp_path) as ours:
        for i in range(CALLS_PER_SEED):
            op, args = calls.next()
            step = f"seed {seed} call {i} {op} {json.dumps(args, ensure_ascii=False)[:300]}"
            kind = await _compare(official, ours, op, args, step)
            outcomes[kind] = outcomes.get(kind, 0) + 1
        # The final state, through the tool and through the resource.
        await _compare(official, ours, "read_graph", {}, f"seed {seed} final read_graph")
        theirs = (await official.read_resource("memory://knowledge-graph")).contents[0]
        mine = (await ours.read_resource("memory://knowledge-graph")).contents[0]
        assert json.loads(mine.text) == json.loads(theirs.text)  # type: ignore[union-attr]
        assert mine.mime_type == theirs.mime_type == "application/json"
    print(f"seed {seed}: {outcomes}")
    assert outcomes.get("same", 0) + outcomes.get("same, non-empty read", 0) >= CALLS_PER_SEED * 0.7  # the sequences exercise the common path


async def test_tools_list_matches(tmp_path: Path) -> None:
    async with official_server(tmp_path) as official, our_server(tmp_path) as ours:
        theirs = {t.name: json.loads(t.model_dump_json(by_alias=True, exclude_none=True))
                  for t in (await official.list_tools()).tools}
        mine = {t.name: json.loads(t.model_dump_json(by_alias=True, exclude_none=True))
                for t in (await ours.list_tools()).tools}
        assert sorted(theirs) == sorted(MEMORY_TOOLS)
        for name in MEMORY_TOOLS:
            assert normalise_tool(mine[name]) == normalise_tool(theirs[name]), name
        their_resources = [r.model_dump(by_alias=True, exclude_none=True) for r in (await official.list_resources()).resources]
        my_resources = [r.model_dump(by_alias=True, exclude_none=True) for r in (await ours.list_resources()).resources
                        if str(r.uri).startswith("memory://")]
        assert my_resources == their_resources


async def test_invalid_arguments_fail_on_both(tmp_path: Path) -> None:
    """ALLOWED_DIFFERENCES["validation error text"] and ["closed input objects"], pinned."""
    bad_calls: list[tuple[str, dict[str, Any]]] = [
        ("search_nodes", {}), ("search_nodes", {"query": 5}), ("create_entities", {"entities": [{"name": "A"}]}),
        ("create_entities", {}), ("open_nodes", {"names": "A"}), ("delete_entities", {"entityNames": [1]}),
        ("create_relations", {"relations": [{"from": "a", "to": "b"}]}),
    ]
    async with official_server(tmp_path) as official, our_server(tmp_path) as ours:
        for op, args in bad_calls:
            theirs, mine = await official.call_tool(op, args), await ours.call_tool(op, args)
            assert theirs.is_error and mine.is_error, (op, args)
            assert _text(theirs).startswith("MCP error -32602: Input validation error")
            assert _text(mine).startswith(f"Invalid arguments for {op}:")
        extra = {"entities": [{"name": "C", "entityType": "t", "observations": [], "extra": 1}]}
        assert not (await official.call_tool("create_entities", extra)).is_error  # dropped silently there
        mine = await ours.call_tool("create_entities", extra)
        assert mine.is_error and "entities.0.extra: is not an argument" in _text(mine)


async def test_duplicates_within_one_call(tmp_path: Path) -> None:
    """ALLOWED_DIFFERENCES["duplicates within one call"], pinned: the official server stores both copies."""
    entities = {"entities": [{"name": "B", "entityType": "t", "observations": []},
                             {"name": "B", "entityType": "t2", "observations": []}]}
    relations = {"relations": [{"from": "B", "to": "C", "relationType": "r"}] * 2}
    async with official_server(tmp_path) as official, our_server(tmp_path) as ours:
        theirs = [(await official.call_tool(op, args)).structured_content
                  for op, args in (("create_entities", entities), ("create_relations", relations))]
        mine = [(await ours.call_tool(op, args)).structured_content
                for op, args in (("create_entities", entities), ("create_relations", relations))]
        assert theirs == [entities, relations]
        assert mine == [{"entities": entities["entities"][:1]}, {"relations": relations["relations"][:1]}]
        # Within one add_observations call repeats are kept on both (only existing ones are skipped).
        add = {"observations": [{"entityName": "B", "contents": ["n", "n"]}, {"entityName": "B", "contents": ["n", "m"]}]}
        assert (await ours.call_tool("add_observations", add)).structured_content == \
            (await official.call_tool("add_observations", add)).structured_content


def test_every_allowed_difference_has_a_reason() -> None:
    assert all(len(reason) > 40 for reason in ALLOWED_DIFFERENCES.values())


# Entities chosen so each search path of ours is taken: trigram candidates re-checked (3+ characters),
# the scan (1-2 characters), the field-by-field check (the separator, NUL); Unicode case on both sides.
SEARCH_ENTITIES = [
    {"name": "İstanbul office", "entityType": "Place", "observations": ["opened in 2019"]},
    {"name": "ΟΔΟΣ", "entityType": "δρόμος", "observations": ["ΣΊΣΥΦΟΣ pushes", "final σ and Σ"]},
    {"name": "Straße", "entityType": "STREET", "observations": ["STRASSE is not straße lowercased"]},
    {"name": "日本語のノード", "entityType": "ノード", "observations": ["東京 🚀 launch"]},
    {"name": "ab", "entityType": "cd", "observations": ["ef", "x\u001fy", "nul\u0000here", 'say "hi" AND NOT'],},
    {"name": "plain", "entityType": "service", "observations": ["only the observation mentions zebra-crossing"]},
    {"name": "typed", "entityType": "decision-record", "observations": []},
]
SEARCH_QUERIES = [
    # Unicode case
    "i̇stanbul", "İSTANBUL", "istanbul", "οδος", "ΟΔΟΣ", "οδοσ", "σίσυφος", "ΣΊΣΥΦΟΣ", "FINAL Σ", "strasse", "STRASSE",
    "STRAßE", "日本語", "🚀 LAUNCH",
    # one and two characters
    "a", "A", "b", "ß", "Σ", "ς", "日", "🚀", "ab", "AB", "bc", "Cd", "ef", "zz", " ", "  ",
    # the separator and NUL, inside one field and across two
    "x\u001fy", "X\u001f", "\u001f", "b\u001fc", "ab\u001fcd", "l\u0000h", "\u0000", "NUL\u0000HERE",
    # only an observation, only an entityType, FTS5 syntax as text
    "ZEBRA-cross", "crossing", "DECISION-REC", "-record", "service", '"hi" and', "and not", "AND NOT", '"',
    # nothing (the official server answers an empty graph; ours may rank)
    "zzz-nothing", "",
]


async def test_search_paths_answer_like_the_official_server(tmp_path: Path) -> None:
    async with official_server(tmp_path) as official, our_server(tmp_path) as ours:
        await _compare(official, ours, "create_entities", {"entities": SEARCH_ENTITIES}, "create")
        await _compare(official, ours, "create_relations", {"relations": [
            {"from": "ab", "to": "ΟΔΟΣ", "relationType": "knows"}, {"from": "ghost", "to": "typed", "relationType": "r"}]},
            "relations")
        kinds: dict[str, str] = {}
        for q in SEARCH_QUERIES:
            kinds[q] = await _compare(official, ours, "search_nodes", {"query": q}, f"search_nodes {q!r}")
        # Every group above compared real hits, not only empty answers.
        assert sum(k == "same, non-empty read" for k in kinds.values()) >= len(SEARCH_QUERIES) - 8, kinds
