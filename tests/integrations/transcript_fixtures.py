"""Realistic Claude Code transcripts, built line by line in the format of ~/.claude/projects/*/<session>.jsonl."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

SESSION = "6f1c2d3e-0000-4a5b-8c9d-112233445566"
CWD = "/home/dev/shop-api"
FIRST_REQUEST = "Add JWT authentication with refresh tokens to the Express API, keep tests next to the code"


class Builder:
    def __init__(self, session: str = SESSION, cwd: str = CWD, branch: str = "feature/jwt") -> None:
        self.session, self.cwd, self.branch = session, cwd, branch
        self.lines: list[str] = []
        self.parent: str | None = None
        self.n = 0

    def _add(self, obj: dict[str, Any]) -> None:
        self.n += 1
        uid = str(uuid.UUID(int=self.n))
        base = {"uuid": uid, "parentUuid": self.parent, "sessionId": self.session, "cwd": self.cwd,
                "gitBranch": self.branch, "timestamp": f"2026-11-22T10:{self.n // 60 % 60:02d}:{self.n % 60:02d}.000Z",
                "isSidechain": False, "version": "2.1.0"}
        base.update(obj)
        self.parent = uid
        self.lines.append(json.dumps(base, ensure_ascii=False))

    def user(self, text: str | list[Any], **kw: Any) -> Builder:
        self._add({"type": "user", "message": {"role": "user", "content": text}, **kw})
        return self

    def assistant(self, blocks: list[dict[str, Any]], **kw: Any) -> Builder:
        self._add({"type": "assistant", "message": {"role": "assistant", "model": "claude", "content": blocks}, **kw})
        return self

    def say(self, text: str, **kw: Any) -> Builder:
        return self.assistant([{"type": "text", "text": text}], **kw)

    def tool(self, name: str, inp: dict[str, Any], result: str = "ok", **kw: Any) -> Builder:
        tid = f"toolu_{self.n:06d}"
        self.assistant([{"type": "tool_use", "id": tid, "name": name, "input": inp}], **kw)
        self.user([{"type": "tool_result", "tool_use_id": tid, "content": result}], **kw)
        return self

    def todos(self, items: list[tuple[str, str]]) -> Builder:
        return self.tool("TodoWrite", {"todos": [{"content": c, "status": s, "activeForm": f"Working on {c}"}
                                                 for c, s in items]})

    def reply(self, blocks: list[dict[str, Any]], **kw: Any) -> Builder:
        """One assistant reply as Claude Code writes it: each content block its own line, one message.id."""
        mid = f"msg_{self.n:08d}"
        for block in blocks:
            self._add({"type": "assistant", "message": {"id": mid, "role": "assistant", "model": "claude",
                                                        "content": [block]}, **kw})
        return self

    def call(self, name: str, inp: dict[str, Any], result: str | list[dict[str, Any]] = "ok", thinking: bool = True, **kw: Any) -> Builder:
        """A newer-version tool call: an empty thinking block, a text block and the tool_use, each its own line."""
        tid = f"toolu_{self.n:06d}"
        blocks: list[dict[str, Any]] = [{"type": "thinking", "thinking": "", "signature": "sig"}] if thinking else []
        self.reply(blocks + [{"type": "tool_use", "id": tid, "name": name, "input": inp}], **kw)
        self.user([{"type": "tool_result", "tool_use_id": tid, "content": result}], **kw)
        return self

    def task_create(self, subject: str, result_id: str | None = None) -> Builder:
        result = f"Task #{result_id} created successfully: {subject}" if result_id else "Task created"
        return self.call("TaskCreate", {"subject": subject, "description": f"Do: {subject}",
                                        "activeForm": f"Working on {subject}"}, result=result)

    def task_update(self, task_id: str, status: str) -> Builder:
        return self.call("TaskUpdate", {"taskId": task_id, "status": status}, result=f"Updated task #{task_id}")

    def meta(self, kind: str, **fields: Any) -> Builder:
        """A line that is not a message (ai-title, custom-title, pr-link, …): no uuid chain, as written."""
        self.lines.append(json.dumps({"type": kind, "sessionId": self.session, **fields}, ensure_ascii=False))
        return self

    def system(self, subtype: str, **fields: Any) -> Builder:
        self._add({"type": "system", "subtype": subtype, "level": "info", **fields})
        return self

    def raw(self, line: str) -> Builder:
        self.lines.append(line)
        return self

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"

    def write(self, path: Path) -> Path:
        path.write_text(self.text(), encoding="utf-8")
        return path


def session(big_result_bytes: int = 1024 * 1024) -> Builder:
    """One realistic session: noise before the first request, todos, edits, a sidechain, a huge tool
    result, a previous compaction, malformed lines and a last turn cut off mid-write."""
    b = Builder()
    b.user("<command-name>/clear</command-name>\n<command-message>clear</command-message>", isMeta=False)
    b.user("Caveat: The messages below were generated by the user while running local commands.", isMeta=True)
    b.user("<system-reminder>SessionStart hook additional context: …</system-reminder>", isMeta=True)
    b.user(FIRST_REQUEST)
    b.say("I'll plan this first.")
    b.todos([("Login endpoint issuing tokens", "in_progress"), ("Auth middleware", "pending"),
             ("Refresh endpoint with rotation", "pending")])
    b.tool("Write", {"file_path": "/home/dev/shop-api/src/auth.js", "content": "export function login() {}\n" * 40})
    b.tool("Bash", {"command": "npm test -- auth"}, result="x" * big_result_bytes)  # a 1 MB tool result
    b.user("Sidechain request from a subagent", isSidechain=True)
    b.tool("TodoWrite", {"todos": [{"content": "subagent todo", "status": "pending"}]}, isSidechain=True)
    b.raw('{"type": "assistant", "message": {"content": [')  # a malformed line
    b.raw("not json at all")
    b._add({"type": "system", "subtype": "compact_boundary", "compactMetadata": {"trigger": "auto", "preTokens": 160000}})
    b.user("This session is being continued from a previous conversation that ran out of context. Summary:\n"
           "1. Primary Request and Intent: JWT auth with refresh tokens.\n2. Pending Tasks: middleware, refresh.",
           isCompactSummary=True)
    b.todos([("Login endpoint issuing tokens", "completed"), ("Auth middleware", "in_progress"),
             ("Refresh endpoint with rotation", "pending")])
    b.tool("Edit", {"file_path": "/home/dev/shop-api/src/middleware.js", "old_string": "next()",
                    "new_string": "verifyBearer(req); next()"})
    b.tool("MultiEdit", {"file_path": "/home/dev/shop-api/src/auth.js",
                         "edits": [{"old_string": "login() {}", "new_string": "login(req, res) { sign(); }"}]})
    b.user("Use RS256 please, the gateway verifies tokens too")
    b.say("Switched signing to RS256 so the gateway can verify with the public key. Next I'll finish the middleware.")
    b.raw('{"type": "assistant", "uuid": "cut-off", "message": {"role": "assistant", "content": [{"type": "te')
    return b


def large_session(target_bytes: int, seed: int = 7) -> Builder:
    """A long session of realistic turns (code, tool output, todos) until the file reaches target_bytes."""
    rnd = random.Random(seed)
    b = session(big_result_bytes=256 * 1024)
    files = [f"/home/dev/shop-api/src/{n}.js" for n in ("auth", "middleware", "routes", "db", "tokens", "users")]
    size = len(b.text())
    i = 0
    while size < target_bytes:
        i += 1
        f = rnd.choice(files)
        code = "\n".join(f"  const v{j} = await db.query('SELECT * FROM users WHERE id = $1', [id{j}]);"
                         for j in range(rnd.randint(5, 40)))
        before = len(b.lines)
        b.user(f"Step {i}: also handle case {rnd.randint(1, 999)} in {f.rsplit('/', 1)[1]}")
        b.tool("Read", {"file_path": f}, result=code)
        b.tool("Edit", {"file_path": f, "old_string": f"v{i}", "new_string": f"value{i}"})
        b.tool("Bash", {"command": "npm test"}, result=f"PASS src/{i}.test.js\n" * rnd.randint(10, 200))
        b.say(f"Done with step {i}; tests pass. Token refresh handled for case {i}.")
        if i % 25 == 0:
            b.todos([(f"Step {k}", "completed" if k < i else "in_progress") for k in range(max(1, i - 5), i + 2)])
        size += sum(len(x) + 1 for x in b.lines[before:])
    return b


MODERN_SESSION = "0a9b8c7d-2222-4e5f-9a0b-665544332211"
MODERN_CWD = "/home/dev/billing"


def modern_session() -> Builder:
    """A 2.1.x session: a line from the previous session first, task tools, titles, a PR link, file
    snapshots, attachments, an away recap, a sub-agent, shell commands naming files, unknown types."""
    b = Builder(session=MODERN_SESSION, cwd=MODERN_CWD, branch="fix/invoice-rounding")
    prev = Builder(session="previous-session", cwd=MODERN_CWD)
    prev.user("Implement the following plan: an old plan from yesterday's session")
    b.raw(prev.lines[0])
    b.meta("permission-mode", permissionMode="default")
    b.user("Fix the rounding of invoice totals: use banker's rounding and add tests")
    b.meta("ai-title", aiTitle="Fix invoice rounding")
    b.call("TaskCreate", {"subject": "Reproduce the rounding bug", "description": "write a failing test",
                          "activeForm": "Reproducing"}, result="Task #1 created successfully: Reproduce the rounding bug")
    b.task_create("Switch to banker's rounding", result_id="2")
    b.task_create("Update the changelog")  # the result names no id: ids follow the order of creation
    b.task_update("1", "in_progress")
    b.call("Read", {"file_path": f"{MODERN_CWD}/billing/totals.py"}, result="def total(): ...")
    b.call("Bash", {"command": "cat billing/rates.py && sed -i 's/round(/bankers_round(/' billing/totals.py"})
    b.meta("file-history-snapshot", messageId="m1", isSnapshotUpdate=False,
           snapshot={"messageId": "m1", "timestamp": "2026-11-22T10:00:00Z",
                     "trackedFileBackups": {"billing/totals.py": {"backupFileName": "a@v1", "version": 1},
                                            "tests/test_totals.py": {"backupFileName": "b@v1", "version": 1}}})
    b.call("Edit", {"file_path": f"{MODERN_CWD}/tests/test_totals.py", "old_string": "assert 1",
                    "new_string": "assert total([0.125]) == 0.12"})
    b.task_update("1", "completed")
    b.task_update("2", "in_progress")
    b.call("Agent", {"description": "Find other rounding call sites", "subagent_type": "Explore",
                     "prompt": "grep for round("},
           result=[{"type": "text", "text": "Found round( in billing/tax.py:41 and billing/fx.py:12."}])
    b.user("Subagent line", isSidechain=True)
    b._add({"type": "attachment", "attachment": {"type": "task_reminder", "content": [], "itemCount": 3}})
    b._add({"type": "attachment", "attachment": {"type": "hook_success", "hookName": "SessionStart", "content": ""}})
    b.system("away_summary", content="Reproduced the bug with a failing test and started switching to banker's rounding.")
    b.system("turn_duration", durationMs=5400)
    b.meta("pr-link", prNumber=214, prUrl="https://github.com/acme/billing/pull/214", prRepository="acme/billing")
    b.meta("custom-title", customTitle="Invoice rounding (banker's)")
    b.meta("last-prompt", lastPrompt="Also keep the public API unchanged")
    b.user("Also keep the public API unchanged")
    b.call("PowerShell", {"command": "Set-Content -Path billing\\fx.py -Value 'x'"})
    b._add({"type": "brand-new-line-type", "data": 1})
    b.raw("{not json")
    b.reply([{"type": "text", "text": "The tests pass. Next I'll update the rounding in billing/tax.py."}])
    return b


def compact_summary_text(analysis: bool = True) -> str:
    """A compaction summary in Claude Code's layout (written for these tests, about modern_session())."""
    pre = ("This session is being continued from a previous conversation that ran out of context. The conversation"
           " is summarized below:\n")
    analysis_part = ("Analysis:\nLet me go through the conversation chronologically. The user asked to fix rounding."
                     "\n\nSummary:\n") if analysis else "Summary:\n"
    return pre + analysis_part + """1. Primary Request and Intent:
   The user asked to fix the rounding of invoice totals using banker's rounding, with tests, keeping the public API unchanged.

2. Key Technical Concepts:
   - Banker's rounding (round half to even) via `decimal.ROUND_HALF_EVEN`
   - Invoice totals are computed in `billing/totals.py`

3. Files and Code Sections:
   - `billing/totals.py`
      - Switched `round(` to `bankers_round(`
      ```python
      def total(xs): return bankers_round(sum(xs), 2)
      ```
   - **tests/test_totals.py** (Modified)
      - Added a failing test for 0.125

4. Errors and fixes:
   - **Float representation error**: 0.125 rounded to 0.13
      - Fix: use Decimal with ROUND_HALF_EVEN
      - User feedback: "don't use floats for money"

5. Problem Solving:
   - Found two more call sites through a sub-agent: billing/tax.py and billing/fx.py

6. All user messages:
   - "Fix the rounding of invoice totals: use banker's rounding and add tests"
   - "Also keep the public API unchanged"
   - "Never use floats for money, always Decimal"

7. Pending Tasks:
   - Switch billing/tax.py to banker's rounding
   - Update the changelog

8. Current Work:
   Replacing round( with bankers_round( in billing/tax.py.

9. Optional Next Step:
   Update billing/tax.py line 41 to use bankers_round, then run the tests.

If you need specific details from before compaction (like exact code snippets, error messages, or content you generated), read the full transcript at: /home/dev/.claude/projects/-home-dev-billing/0a9b8c7d.jsonl"""
