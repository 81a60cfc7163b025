"""Files a `Bash` or `PowerShell` command reads or writes, as far as its words say so.

Claude Code often reads and changes files through the shell (`sed -i`, `cat > f <<EOF`, `git mv`,
`Set-Content`): without these the checkpoint misses files the session really touched. Only words that
look like a path (an extension, no glob, no variable, no URL) of a program known to take files are
kept; anything unclear is left out, since a wrong file in a checkpoint misleads more than a missing one.
"""

from __future__ import annotations

import re
import shlex

READERS = {"cat", "head", "tail", "less", "more", "wc", "diff", "grep", "rg", "sed", "awk", "jq", "python", "python3",
           "node", "bat", "nl", "sort", "uniq", "cut", "source", ".", "pytest", "get-content", "gc", "type",
           "select-string", "import-csv", "get-item"}
WRITERS = {"touch", "rm", "tee", "truncate", "chmod", "set-content", "add-content", "out-file", "new-item",
           "remove-item", "del", "ni", "sc", "ac", "patch"}
MOVERS = {"mv", "cp", "move-item", "copy-item", "rename-item", "git-mv"}
GIT_WRITERS = {"add", "rm", "mv", "checkout", "restore"}
SEPARATORS = re.compile(r"\s*(?:&&|\|\||;|\||\n)\s*")
REDIRECT = re.compile(r"(?:^|\s)\d?>>?\s*([^\s;&|<>]+)")
PATHLIKE = re.compile(r"^[\w.~/\\:@+-]*\.[A-Za-z][A-Za-z0-9]{0,7}$")


def _is_path(word: str) -> bool:
    return (bool(PATHLIKE.match(word)) and not word.startswith("-") and "://" not in word
            and not word.startswith(("/dev/", "$")) and word not in {".", ".."} and not word[0].isdigit())


def _words(part: str, powershell: bool) -> list[str]:
    try:  # PowerShell paths hold backslashes, which POSIX quoting would eat
        return [w.strip("'\"") for w in shlex.split(part, posix=not powershell)]
    except ValueError:  # an unclosed quote (a heredoc body, a cut command): fall back to plain words
        return part.split()


def files_in_command(command: str, *, powershell: bool = False) -> list[tuple[str, str]]:
    """(path, "read" | "written") for each file `command` names, in order, each path once (written wins)."""
    found: dict[str, str] = {}

    def note(path: str, how: str) -> None:
        path = path.strip("'\"")
        if _is_path(path) and found.get(path) != "written":
            found[path] = how

    first_line = command.split("<<", 1)[0] if "<<" in command else command  # a heredoc body is not words
    for target in REDIRECT.findall(first_line):
        note(target, "written")
    for part in SEPARATORS.split(first_line):
        words = [w for w in _words(REDIRECT.sub(" ", part), powershell) if w]
        if not words:
            continue
        prog = words[0].rsplit("/", 1)[-1].lower()
        args = [w for w in words[1:] if not w.startswith("-")]
        if prog == "git" and args and args[0] in GIT_WRITERS:
            prog, args = ("git-mv" if args[0] == "mv" else "touch"), args[1:]
        if prog == "sed" and any(w.startswith("-i") for w in words[1:]):
            prog = "touch"
        if prog in WRITERS:
            for a in args:
                note(a, "written")
        elif prog in MOVERS:
            paths = [a for a in args if _is_path(a.strip("'\""))]
            for a in paths[:-1]:
                note(a, "read" if prog in {"cp", "copy-item"} else "written")
            if paths:
                note(paths[-1], "written")
        elif prog in READERS:
            for a in args:
                note(a, "read")
    if powershell:
        for m in re.finditer(r"-(?:Path|LiteralPath|FilePath)\s+['\"]?([^'\"\s;|]+)", first_line, re.IGNORECASE):
            note(m.group(1), "written" if re.search(r"(?i)\b(set|add|out|new|remove)-", first_line) else "read")
    return list(found.items())
