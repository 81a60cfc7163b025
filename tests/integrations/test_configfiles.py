"""Editing JSON configs member by member, backups and atomic writes."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_server_checkpoints.integrations.clients.configfiles import (
    FileChange,
    apply_change,
    backup_path,
    edit_json,
    minimal_json_edit,
)


def test_adding_keeps_every_other_byte() -> None:
    before = '{\n  "a": {"x": 1},\n  "mcpServers": {\n    "o": {"command": "x"}\n  }\n}\n'
    new = {"a": {"x": 1}, "mcpServers": {"o": {"command": "x"}, "c": {"command": "ckpt", "args": []}}}
    assert minimal_json_edit(before, new) == (
        '{\n  "a": {"x": 1},\n  "mcpServers": {\n    "o": {"command": "x"},\n'
        '    "c": {\n      "command": "ckpt",\n      "args": []\n    }\n  }\n}\n')


def test_adding_to_an_empty_or_missing_object() -> None:
    assert minimal_json_edit('{\n\t"mcpServers": {}\n}', {"mcpServers": {"c": {"command": "k"}}}) == (
        '{\n\t"mcpServers": {\n\t\t"c": {\n\t\t\t"command": "k"\n\t\t}\n\t}\n}')
    assert minimal_json_edit('{}', {"hooks": {"A": []}}) == '{\n  "hooks": {\n    "A": []\n  }\n}'
    assert minimal_json_edit('{"theme": "dark"}', {"theme": "dark", "s": {"c": 1}}) == (
        '{"theme": "dark", "s": {"c": 1}}')


def test_removing_first_middle_last_and_only_members() -> None:
    before = '{\n  "a": 1,\n  "b": 2,\n  "c": 3\n}\n'
    assert minimal_json_edit(before, {"b": 2, "c": 3}) == '{\n  "b": 2,\n  "c": 3\n}\n'
    assert minimal_json_edit(before, {"a": 1, "c": 3}) == '{\n  "a": 1,\n  "c": 3\n}\n'
    assert minimal_json_edit(before, {"a": 1, "b": 2}) == '{\n  "a": 1,\n  "b": 2\n}\n'
    assert minimal_json_edit('{\n  "a": 1\n}\n', {}) == '{}\n'


def test_replacing_a_value_keeps_its_style() -> None:
    before = '{\n  "one": {"command": "old", "args": []},\n  "multi": {\n    "command": "old"\n  }\n}'
    new = {"one": {"command": "new", "args": []}, "multi": {"command": "new"}}
    assert minimal_json_edit(before, new) == (
        '{\n  "one": {"command": "new", "args": []},\n  "multi": {\n    "command": "new"\n  }\n}')


def test_escaped_keys_and_strings_with_braces() -> None:
    before = '{"k\\u00e9y": "}{,\\"", "mcpServers": {}}'
    new = {"kéy": '}{,"', "mcpServers": {"c": {"command": "x"}}}
    edited = minimal_json_edit(before, new)
    assert edited is not None and json.loads(edited) == new and edited.startswith('{"k\\u00e9y": "}{,\\"", ')


def test_edit_json_falls_back_to_a_whole_file() -> None:
    assert edit_json(None, {"a": 1}) == '{\n  "a": 1\n}\n'
    assert edit_json("  \n", {"a": 1}) == '{\n  "a": 1\n}\n'


# Random JSON objects, written in random styles, changed the ways setup/uninstall change them:
# the member-by-member edit must reproduce the target exactly, without falling back.
keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(keys, inner, max_size=3)), max_leaves=8)
objects = st.dictionaries(keys, values, max_size=5)


@st.composite
def changed(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    old = draw(objects)
    new = copy.deepcopy(old)
    target = new
    for key in list(new):  # descend into a nested object now and then, as mcpServers / hooks are
        if isinstance(new[key], dict) and draw(st.booleans()):
            target = new[key]
            break
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["add", "remove", "replace"]))
        if op == "add" or not target:
            target[draw(keys)] = draw(values)
        elif op == "remove":
            del target[draw(st.sampled_from(sorted(target)))]
        else:
            target[draw(st.sampled_from(sorted(target)))] = draw(values)
    return old, new


@settings(max_examples=300, deadline=None)
@given(changed(), st.sampled_from([None, 2, 4, "\t"]), st.booleans())
def test_member_edits_reproduce_the_target(pair: tuple[dict[str, Any], dict[str, Any]], indent: int | str | None,
                                           ascii_only: bool) -> None:
    old, new = pair
    before = json.dumps(old, indent=indent, ensure_ascii=ascii_only) + "\n"
    edited = minimal_json_edit(before, new)
    assert edited is not None and json.loads(edited) == new
    if old == new:
        assert edited == before


def test_backup_names_never_collide(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    now = datetime(2026, 11, 22, 4, 31, 0, tzinfo=UTC)
    first = backup_path(path, now)
    assert first.name == "config.json.bak-20261122T043100Z"
    first.write_text("x")
    assert backup_path(path, now).name == "config.json.bak-20261122T043100Z.1"


def test_apply_change_backs_up_then_replaces(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text("old")
    change = FileChange(path, "old", "new")
    apply_change(change)
    assert path.read_text() == "new" and change.backup is not None and change.backup.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["c.json", change.backup.name])  # no temp file left
    unchanged = FileChange(path, "new", "new")
    apply_change(unchanged)
    assert unchanged.backup is None
