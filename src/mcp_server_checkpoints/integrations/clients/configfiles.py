"""Reading and writing other programs' configuration files without damaging them.

Parse, change only our keys, keep the file's indentation and line endings, write a backup before
the first change, and replace the file atomically (temp file + rename) so a crash or a client
reading at the same moment never sees half a file.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions
from tomlkit.toml_document import TOMLDocument

from mcp_server_checkpoints.errors import CheckpointsError


class ConfigFileError(CheckpointsError):
    """A client's configuration file cannot be changed safely (malformed, unreadable, or a clash)."""


@dataclass
class FileChange:
    """One file's planned change: its text before (None when absent) and after."""

    path: Path
    before: str | None
    after: str
    notes: list[str] = field(default_factory=list)
    backup: Path | None = None

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self, label: str | None = None) -> str:
        name = label or str(self.path)
        return "".join(difflib.unified_diff(
            (self.before or "").splitlines(keepends=True), self.after.splitlines(keepends=True),
            fromfile=name if self.before is not None else "/dev/null", tofile=name))


def read_text(path: Path) -> str | None:
    """The file's text, or None when it does not exist."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigFileError(f"{path} cannot be read ({exc.strerror}); left untouched") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigFileError(f"{path} is not UTF-8 text (byte {exc.start}); left untouched") from None


# -- JSON ----------------------------------------------------------------------------------
def load_json(path: Path, text: str | None) -> dict[str, Any]:
    """The top-level object of a JSON config (an absent or blank file is `{}`)."""
    body = (text or "").lstrip("\ufeff")
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ConfigFileError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); left untouched") from None
    if not isinstance(data, dict):
        raise ConfigFileError(f"{path} holds a JSON {type(data).__name__}, not an object; left untouched")
    return data


def _indent_of(text: str | None) -> str | int:
    """The indentation unit the file already uses (2 spaces for a new file)."""
    for line in (text or "").splitlines()[1:]:
        stripped = line.lstrip(" \t")
        if stripped and len(stripped) < len(line):
            lead = line[: len(line) - len(stripped)]
            return "\t" if lead.startswith("\t") else len(lead)
    return 2


def _newline_of(text: str | None) -> str:
    return "\r\n" if text and "\r\n" in text else "\n"


def dump_json(data: dict[str, Any], like: str | None) -> str:
    """`data` as JSON in the style of the file's current text `like`."""
    indent = _indent_of(like)
    out = json.dumps(data, indent=indent, ensure_ascii=False) + "\n"
    if like and like.startswith("\ufeff"):
        out = "\ufeff" + out
    return out.replace("\n", _newline_of(like))


_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class _Member:
    key_start: int
    value_start: int
    value_end: int


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _scan_object(text: str, start: int) -> tuple[dict[str, _Member], list[_Member], int]:
    """The members of the (valid) JSON object whose `{` is at `start`, and the index of its `}`."""
    by_key: dict[str, _Member] = {}
    order: list[_Member] = []
    i = _skip_ws(text, start + 1)
    while text[i] != "}":
        key, after_key = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
        value_start = _skip_ws(text, _skip_ws(text, after_key) + 1)  # past the colon
        _, value_end = _DECODER.raw_decode(text, value_start)
        member = _Member(i, value_start, value_end)
        by_key[key] = member
        order.append(member)
        i = _skip_ws(text, value_end)
        if text[i] == ",":
            i = _skip_ws(text, i + 1)
    return by_key, order, i


def _line_indent(text: str, i: int) -> str:
    line_start = text.rfind("\n", 0, i) + 1
    line = text[line_start:i]
    return line[: len(line) - len(line.lstrip(" \t"))]


def _render(value: Any, base: str, unit: str | int, newline: str, compact: bool) -> str:
    if compact:
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, indent=unit, ensure_ascii=False).replace("\n", newline + base)


def _one_edit(text: str, start: int, old: dict[str, Any], new: dict[str, Any],
              unit: str | int, newline: str) -> tuple[int, int, str] | None:
    """The first (start, end, replacement) that brings the object at `start` closer to `new`."""
    members, order, close = _scan_object(text, start)
    step = unit if isinstance(unit, str) else " " * unit
    for key in old:
        if key not in new:
            m = members[key]
            at = order.index(m)
            if len(order) == 1:
                return start + 1, close, ""
            if at > 0:  # from the end of the previous value: takes the comma with it
                return order[at - 1].value_end, m.value_end, ""
            return m.key_start, order[1].key_start, ""
    for key in new:
        if key not in old:
            member = json.dumps(key, ensure_ascii=False) + ": "
            if not order:
                outer = _line_indent(text, start)
                inner = outer + step
                return start + 1, close, (newline + inner + member
                                          + _render(new[key], inner, unit, newline, False) + newline + outer)
            last = order[-1]
            if text.find("\n", start, last.key_start) == -1:  # a one-line object stays on one line
                return last.value_end, last.value_end, ", " + member + _render(new[key], "", unit, newline, True)
            indent = _line_indent(text, last.key_start)
            return last.value_end, last.value_end, ("," + newline + indent + member
                                                    + _render(new[key], indent, unit, newline, False))
    for key in new:
        if old[key] != new[key]:
            m = members[key]
            if isinstance(old[key], dict) and isinstance(new[key], dict) and text[m.value_start] == "{":
                return _one_edit(text, m.value_start, old[key], new[key], unit, newline)
            compact = text.find("\n", m.value_start, m.value_end) == -1
            return m.value_start, m.value_end, _render(new[key], _line_indent(text, m.key_start), unit, newline,
                                                       compact)
    return None


def minimal_json_edit(before: str, new: dict[str, Any], old: dict[str, Any] | None = None) -> str | None:
    """`before` changed into `new` by editing only the members that differ; None if that fails.

    Other entries keep their exact bytes: a hand-formatted file stays as it was written.
    """
    text = before
    unit, newline = _indent_of(before), _newline_of(before)
    start = _skip_ws(text, 1 if text.startswith("\ufeff") else 0)
    try:
        current = load_json(Path("-"), text) if old is None else old
        for _ in range(64):
            if current == new:
                return text
            edit = _one_edit(text, start, current, new, unit, newline)
            if edit is None:
                return None
            text = text[: edit[0]] + edit[2] + text[edit[1]:]
            current = load_json(Path("-"), text)  # re-read what was written: the loop ends only on equality
    except (ConfigFileError, ValueError, IndexError):
        return None
    return None


def edit_json(before: str | None, new: dict[str, Any], old: dict[str, Any] | None = None) -> str:
    """The new text of a JSON config: a minimal edit of `before`, else the whole file re-serialised."""
    if before and before.strip():
        edited = minimal_json_edit(before, new, old)
        if edited is not None:
            return edited
    return dump_json(new, before)


def expect_object(path: Path, data: dict[str, Any], key: str) -> dict[str, Any]:
    """`data[key]` as an object, created when absent; a value of another type is an error."""
    value = data.setdefault(key, {})
    if not isinstance(value, dict):
        raise ConfigFileError(f"{path}: `{key}` is a {type(value).__name__}, not an object; left untouched")
    return value


# -- TOML ----------------------------------------------------------------------------------
def load_toml(path: Path, text: str | None) -> TOMLDocument:
    try:
        return tomlkit.parse(text or "")
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigFileError(
            f"{path} is not valid TOML (line {exc.line}, column {exc.col}); left untouched") from None


def dump_toml(doc: TOMLDocument, like: str | None) -> str:
    out = tomlkit.dumps(doc)
    if out.endswith("\n\n") and not (like or "").endswith("\n\n"):
        out = out.rstrip("\n") + "\n"  # a table we appended at the end brings its own blank line
    return out


# -- writing -------------------------------------------------------------------------------
def _target(path: Path) -> Path:
    # Write through a symlink (dotfile managers link these files): replacing the link itself
    # would silently detach the file from the user's dotfiles repository.
    return path.resolve() if path.is_symlink() else path


def backup_path(path: Path, now: datetime | None = None) -> Path:
    """`<file>.bak-<UTC timestamp>`, with `.1`, `.2` … when that name is already taken."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    candidate = path.with_name(f"{path.name}.bak-{stamp}")
    n = 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.bak-{stamp}.{n}")
    return candidate


def write_backup(path: Path) -> Path | None:
    """Copy the current file beside itself; None when there is nothing to back up."""
    target = _target(path)
    if not target.exists():
        return None
    dest = backup_path(path)
    shutil.copy2(target, dest)
    return dest


def atomic_write(path: Path, text: str, *, new_mode: int = 0o600) -> None:
    """Replace `path` with `text` in one rename; an existing file keeps its permissions."""
    target = _target(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if target.exists():
            shutil.copymode(target, tmp)
        else:
            os.chmod(tmp, new_mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def apply_change(change: FileChange, *, backup: bool = True, new_mode: int = 0o600) -> None:
    """Back the file up (when it exists) and write the new text; nothing happens when unchanged."""
    if not change.changed:
        return
    if read_text(change.path) != change.before:
        # A running client may rewrite its file at any moment (Claude Code does, often): never
        # replace a version we did not read.
        raise ConfigFileError(f"{change.path} changed while it was being edited (is the client writing it?);"
                              " nothing was written to it: run the command again")
    if backup and change.before is not None:
        change.backup = write_backup(change.path)
    atomic_write(change.path, change.after, new_mode=new_mode)
