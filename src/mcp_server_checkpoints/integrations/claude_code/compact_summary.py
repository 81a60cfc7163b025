"""Claude Code's own compaction summary, split into its sections and mapped onto a checkpoint's fields.

The summary Claude Code writes at a compaction has nine numbered sections (Primary Request and Intent,
Key Technical Concepts, Files and Code Sections, Errors and fixes, Problem Solving, All user messages,
Pending Tasks, Current Work, Optional Next Step); up to 2.1.63 an `Analysis:` part comes first, and from
2.1.1 it ends by pointing to the full transcript. Headings come as `1. Name:`, `## 1. Name`, `**Name:**`,
`1. **Name**:`, …; sections may be missing, renumbered or in another language (a few headings of other
languages are known below). Plain Python, no pydantic: the session-start hook reads summaries too.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from mcp_server_checkpoints.domain.records import MAX_ITEM, MAX_ITEMS, MAX_SUMMARY, MAX_TEXT, MAX_TITLE, Checkpoint

SECTIONS = ("request", "concepts", "files", "errors", "problems", "messages", "pending", "current", "next")
# Heading words (normalised: lower case, no accents or punctuation) → section.
ALIASES: dict[str, str] = {
    "primary request and intent": "request", "primary request": "request", "request and intent": "request",
    "key technical concepts": "concepts", "technical concepts": "concepts",
    "files and code sections": "files", "files and code": "files", "files modified": "files",
    "errors and fixes": "errors", "errors and fixes encountered": "errors", "errors": "errors",
    "problem solving": "problems", "problems solved": "problems",
    "all user messages": "messages", "user messages": "messages",
    "pending tasks": "pending", "current work": "current", "optional next step": "next", "next step": "next",
    # Portuguese, Spanish, French, German, Japanese, Chinese
    "solicitacao principal e intencao": "request", "pedido principal e intencao": "request",
    "conceitos tecnicos chave": "concepts", "conceitos tecnicos principais": "concepts",
    "arquivos e secoes de codigo": "files", "erros e correcoes": "errors", "resolucao de problemas": "problems",
    "todas as mensagens do usuario": "messages", "tarefas pendentes": "pending", "trabalho atual": "current",
    "proximo passo opcional": "next", "proximo passo": "next",
    "solicitud principal e intencion": "request", "conceptos tecnicos clave": "concepts",
    "archivos y secciones de codigo": "files", "errores y correcciones": "errors",
    "resolucion de problemas": "problems", "todos los mensajes del usuario": "messages",
    "tareas pendientes": "pending", "trabajo actual": "current", "siguiente paso opcional": "next",
    "demande principale et intention": "request", "concepts techniques cles": "concepts",
    "fichiers et sections de code": "files", "erreurs et corrections": "errors",
    "resolution de problemes": "problems", "tous les messages de lutilisateur": "messages",
    "taches en attente": "pending", "travail en cours": "current", "prochaine etape optionnelle": "next",
    "hauptanfrage und absicht": "request", "wichtige technische konzepte": "concepts",
    "dateien und codeabschnitte": "files", "fehler und korrekturen": "errors", "problemlosung": "problems",
    "alle benutzernachrichten": "messages", "ausstehende aufgaben": "pending", "aktuelle arbeit": "current",
    "optionaler nachster schritt": "next",
    "主な要求と意図": "request", "主要なリクエストと意図": "request", "主要な技術概念": "concepts",
    "ファイルとコードセクション": "files", "エラーと修正": "errors", "問題解決": "problems",
    "すべてのユーザーメッセージ": "messages", "保留中のタスク": "pending", "現在の作業": "current",
    "次のステップ": "next", "主要请求和意图": "request", "关键技术概念": "concepts", "文件和代码部分": "files",
    "错误和修复": "errors", "问题解决": "problems", "所有用户消息": "messages", "待办任务": "pending",
    "当前工作": "current", "可选的下一步": "next",
}
HEADING_START = re.compile(r"^[ \t]*(#{1,4}[ \t]*)?(\*\*)?[ \t]*(?:(\d{1,2})[.)][ \t]*)?")
PREAMBLE = re.compile(r"(?s)^.*?\n[ \t]*(?:\*\*)?Summary(?:\*\*)?:[ \t]*(?:\*\*)?[ \t]*\n")
TRAILER = re.compile(r"(?s)\n+(?:If you need specific details from before compaction|Please continue the conversation"
                     r" from where we left).*$")
BULLET = re.compile(r"^([ \t]*)(?:[-*•]|\d{1,3}[.)])[ \t]+(.*)$")
# A file named at the start of an item: `path`, **path**, or a bare path with an extension.
FILE_ITEM = re.compile(r"^(?:\*\*)?`?(?:\*\*)?([\w.~/\\@+-]*[\w-]\.[A-Za-z0-9]{1,10}|[\w.~/\\@+-]+/[\w.@+-]+/?)"
                       r"`?(?:\*\*)?(.*)$")
FILE_LEAD = re.compile(r"^[ \t]*(?:[-*•][ \t]+|\d{1,3}[.)][ \t]+)?(?:#{1,4}[ \t]*)?(?:\*\*)?[ \t]*(?:[a-z][.)][ \t]+)?")
# A stated preference or a correction in the user's own words.
PREFERENCE = re.compile(r"(?i)\b(don'?t|do not|never|always|instead|prefer|please use|make sure|must|should not|"
                        r"shouldn'?t|stop|avoid|no,|not like that|keep|only use|use \w+ not)\b")


@dataclass
class CompactSummary:
    """The sections found, by key of SECTIONS (text as written, trimmed), and the whole text."""

    text: str
    sections: dict[str, str] = field(default_factory=dict)
    analysis: bool = False

    def items(self, key: str) -> list[str]:
        return top_items(self.sections.get(key, ""))


def _norm(heading: str) -> str:
    plain = unicodedata.normalize("NFKD", heading)
    plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    plain = re.sub(r"\([^)]*\)", "", plain.replace("&", "and"))  # "All user messages (teammate messages)"
    return " ".join(re.sub(r"[^\w\s]", "", plain).split())


def _heading(line: str) -> tuple[str, str] | None:
    """(section key, text after the heading on the same line) when `line` is a section heading."""
    if len(line) > 300 or not line.strip():
        return None
    m = HEADING_START.match(line)
    assert m is not None  # every part of it is optional
    marked = bool(m.group(1) or m.group(2) or m.group(3))  # `#`, `**` or a number before the name
    if not marked and line[:1].isspace():
        return None  # an indented line without a mark is a section's text
    rest = line[m.end():]
    cut = min((i for i in (rest.find(":"), rest.find("：")) if i >= 0), default=-1)
    name, after = (rest[:cut], rest[cut + 1:]) if cut >= 0 else (rest, "")
    key = ALIASES.get(_norm(name.replace("*", "")))
    if key is None or (cut < 0 and not marked):
        return None
    return key, after.strip().strip("*").strip()


def is_compact_summary(text: str) -> bool:
    return "Primary Request and Intent" in text or len(parse(text).sections) >= 3


def parse(text: str) -> CompactSummary:
    body = text.replace("\r\n", "\n")
    analysis = bool(re.search(r"(?m)^[ \t]*(?:\*\*)?Analysis(?:\*\*)?:", body))
    stripped = PREAMBLE.sub("", body, count=1) if re.search(r"(?m)^[ \t]*(?:\*\*)?Summary(?:\*\*)?:", body) else body
    stripped = TRAILER.sub("", stripped)
    result = CompactSummary(text=text, analysis=analysis)
    current: str | None = None
    lines: list[str] = []
    fence = False

    def close() -> None:
        if current is not None and current not in result.sections:
            result.sections[current] = textwrap.dedent("\n".join(lines)).strip()

    for line in stripped.split("\n"):
        if line.lstrip().startswith("```"):
            fence = not fence
        found = None if fence else _heading(line)
        if found is not None and found[0] not in result.sections and found[0] != current:
            close()
            current, lines = found[0], ([found[1]] if found[1] else [])
        elif current is not None:
            lines.append(line)
    close()
    return result


def _clean(text: str) -> str:
    return " ".join(text.replace("**", "").replace("`", "").split()).strip()


def top_items(section: str) -> list[str]:
    """The top-level items of a section (sub-items folded into their parent); plain text as one item."""
    return [t for t in (_clean(" — ".join([head, *subs])) for head, subs in _sub_items(section)) if t]


def _prose(section: str) -> Iterator[str]:
    """The non-empty lines of `section` outside code blocks."""
    fence = False
    for line in section.split("\n"):
        if line.lstrip().startswith("```"):
            fence = not fence
        elif not fence and line.strip():
            yield line


def _sub_items(section: str) -> list[tuple[str, list[str]]]:
    """(item head, its sub-items) for each top-level item of `section`, code blocks left out."""
    out: list[tuple[str, list[str]]] = []
    indent: int | None = None
    for line in _prose(section):
        m = BULLET.match(line)
        if m and (indent is None or len(m.group(1)) <= indent):
            indent = len(m.group(1))
            out.append((m.group(2).strip(), []))
        elif out:
            out[-1][1].append(_clean(m.group(2) if m else line))
        else:
            out.append((line.strip(), []))
    return out


def files(section: str) -> list[tuple[str, str]]:
    """(path, what the summary says of it) for each file the "Files and Code Sections" section names.

    A file item is a line (bullet, heading or bold line) that starts with a path; the lines after it,
    up to the next file item and without code blocks, say what changed.
    """
    found: list[tuple[str, list[str]]] = []
    for line in _prose(section):
        head = FILE_LEAD.sub("", line)
        m = FILE_ITEM.match(head)
        if m and " " not in m.group(1) and not m.group(1).startswith("http"):
            note = _clean(m.group(2)).strip(" -—:()")
            found.append((m.group(1).strip("`*"), [note] if note else []))
        elif found:
            found[-1][1].append(_clean(BULLET.sub(r"\2", line)))
    return [(path, "; ".join(n for n in notes if n)) for path, notes in found]


def errors(section: str) -> list[tuple[str, str]]:
    """(the fix, the error) for each item of "Errors and fixes"; the fix is empty when none is stated."""
    out: list[tuple[str, str]] = []
    for head, subs in _sub_items(section):
        fix = next((re.sub(r"(?i)^(fix(ed)?|solution|resolved|resolution)( attempted)?\s*:\s*", "", s) for s in subs
                    if re.match(r"(?i)(fix(ed)?|solution|resolved|resolution)\b", s)), "")
        out.append((fix, _clean(head)))
    return out


def preferences(section: str) -> list[str]:
    """The user's messages that state a preference or correct the agent (quotes removed)."""
    found = []
    for item in top_items(section):
        said = item.strip().strip('"“”').strip()
        if PREFERENCE.search(said):
            found.append(said)
    return found


def user_feedback(section: str) -> list[str]:
    """`User feedback: "…"` lines anywhere in a section (the errors section records corrections so)."""
    return [m.group(1).strip().strip('"“”') for m in re.finditer(r"(?i)user feedback:\s*(.+)", section)]


NOTHING = re.compile(r"(?i)^(none|no pending|nothing|n/a|all (tasks )?(are )?(completed|done))\b")


def _one_line_title(text: str) -> str:
    first = next((ln for ln in text.split("\n") if ln.strip()), text)
    first = _clean(BULLET.sub(r"\2", first))
    return first if len(first) <= 80 else first[:79].rstrip() + "…"


def same_file(a: str, b: str) -> bool:
    """Whether two names of a file are the same file: equal, or one ends with the other as a path."""
    a, b = a.replace("\\", "/").strip("./"), b.replace("\\", "/").strip("./")
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def to_fields(summary: CompactSummary, parent: Checkpoint | None, *, session_id: str | None, project: str | None,
              trigger: str | None) -> dict[str, Any]:
    """The checkpoint fields (as `CheckpointFields` takes them) of Claude Code's summary, the next version
    after `parent` (the capture before the compaction): what the summary says wins, and what only the
    parent knows (completed tasks, progress, files the summary does not name) is carried over."""
    sec = summary.sections
    request = _clean(sec.get("request", "")) or (parent.goal if parent else "")
    named = [{"path": p[:1000], "change": c[:MAX_ITEM]} for p, c in files(sec.get("files", ""))]
    if parent is not None:
        named += [{"path": f.path, "change": f.change} for f in parent.files
                  if not any(same_file(f.path, x["path"]) for x in named)]
    approaches = [{"approach": (fix or err)[:MAX_ITEM], "outcome": "worked" if fix else "failed",
                   "note": f"error: {err}"[:MAX_ITEM] if fix else ""} for fix, err in errors(sec.get("errors", "")) if err]
    prefs = list(dict.fromkeys(preferences(sec.get("messages", "")) + user_feedback(sec.get("errors", ""))))
    pending = [p for p in summary.items("pending") if not NOTHING.match(p)]
    next_step = _clean(sec.get("next", "")) or (parent.next_step if parent else None)
    title = parent.title if parent is not None else _one_line_title(request or "Claude Code session")
    where = f"; the capture before it is {parent.id}, with the transcript in its payload" if parent else ""
    return {
        "title": (title or "Claude Code session")[:MAX_TITLE],
        "goal": (request or "(the summary states no request)")[:MAX_TEXT],
        "project": project if project is not None else parent.project if parent else None,
        "progress": parent.progress if parent else None,
        "current_work": _clean(sec.get("current", ""))[:MAX_TEXT] or (parent.current_work if parent else None),
        "completed": (parent.completed if parent else [])[:MAX_ITEMS],
        "files": named[:MAX_ITEMS],
        "decisions": [{"decision": d[:MAX_ITEM]} for d in summary.items("problems")][:MAX_ITEMS],
        "next_step": next_step[:MAX_TEXT] if next_step else None,
        "remaining": [r[:MAX_ITEM] for r in (pending or (parent.remaining if parent else []))][:MAX_ITEMS],
        "approaches": approaches[:MAX_ITEMS],
        "preferences": [p[:MAX_ITEM] for p in prefs][:MAX_ITEMS],
        "discoveries": [c[:MAX_ITEM] for c in summary.items("concepts")][:MAX_ITEMS],
        "resume_instructions": (f"Claude Code's own compaction summary ({trigger or 'unknown'} compaction), parsed"
                                f" into these fields{where}. The whole summary is in `summary`."),
        "summary": summary.text[:MAX_SUMMARY],
        "tags": list(dict.fromkeys(["auto", "compact-summary"] + ([trigger] if trigger else []))),
        "parent_id": parent.id if parent else None,
        "session_id": session_id,
        "agent_id": "claude-code",
    }
