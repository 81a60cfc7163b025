"""Realistic Claude Code sessions for bench/capture.py: several hundred lines each, a compaction, its summary.

Each scenario is written by hand: the requests (with the user's corrections), the task list in the
tool generation of its Claude Code version, the files it reads, edits and runs, and the compaction
summary Claude Code would write after it, in its own words (the summary names files and tasks the
way a model paraphrases them, not copied from the task list, and names a file the session only talked
about). The generator adds the bulk a real session has around that core: repeated reads, greps and
test runs, attachments, file snapshots, turn durations, empty thinking blocks, a malformed line.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from typing import Any

from tests.integrations.transcript_fixtures import Builder


@dataclass
class Scenario:
    name: str
    version: str
    cwd: str
    branch: str
    requests: list[str]  # first request, then later ones (interleaved with the work)
    tasks: list[tuple[str, str]]  # (subject, status at the compaction); [] = no task list
    reads: list[str]
    edits: list[str]
    shell: list[tuple[str, str]]  # (command, output)
    agent: tuple[str, str] | None
    last_words: str  # the assistant's last text before the compaction
    summary: str
    title: str | None = None  # ai-title, newer versions only
    windows: bool = False


PRE = ("This session is being continued from a previous conversation that ran out of context. The conversation is"
       " summarized below:\n")

SCENARIOS = [
    Scenario(
        name="jwt-refresh (2.0.x, TodoWrite)", version="2.0.31", cwd="/home/ana/shop-api", branch="feature/refresh",
        requests=["Add refresh tokens to our Express auth: rotate on every use, revoke the family on reuse",
                  "keep the access token at 15 minutes, don't change the login response shape",
                  "use the existing redis client, no new dependency please"],
        tasks=[("Design the refresh token table", "completed"), ("POST /auth/refresh with rotation", "completed"),
               ("Reuse detection revokes the token family", "in_progress"), ("Integration tests for refresh", "pending"),
               ("Document the flow in docs/auth.md", "pending")],
        reads=["src/auth/login.js", "src/auth/tokens.js", "src/db/redis.js", "src/routes/index.js", "package.json",
               "test/auth.test.js"],
        edits=["src/auth/refresh.js", "src/auth/tokens.js", "src/routes/index.js", "migrations/004_refresh_tokens.sql"],
        shell=[("npm test -- test/auth.test.js", "PASS test/auth.test.js\n  login (42 ms)\n"),
               ("cat src/db/redis.js | head -40", "const client = createClient(...)"),
               ("git diff --stat", " src/auth/tokens.js | 34 +++++--")],
        agent=("Find where tokens are verified", "verifyAccess is used in src/middleware/auth.js and src/ws/socket.js"),
        last_words="Reuse detection now marks the family revoked in redis. Next I'll write the integration tests.",
        summary=PRE + """Analysis:
Looking at the conversation, the user wants refresh tokens with rotation in the Express API.

Summary:
1. Primary Request and Intent:
   The user asked to add refresh tokens to the Express authentication: every refresh rotates the token, and reusing an old token revokes the whole token family. Access tokens stay at 15 minutes and the login response shape must not change. The existing redis client must be used, with no new dependency.

2. Key Technical Concepts:
   - Refresh token rotation with token families
   - Reuse detection: a used token presented again revokes the family
   - Redis as the store of token families

3. Files and Code Sections:
   - `src/auth/refresh.js` (created)
      - The POST /auth/refresh handler: verifies, rotates and stores the new token
   - `src/auth/tokens.js`
      - Added `issueRefresh()` and `rotate()`; the access token TTL stays 15m
   - `src/routes/index.js`
      - Registered the refresh route
   - `migrations/004_refresh_tokens.sql`
      - The refresh_tokens table with family_id and used_at
   - `src/db/redis.js`
      - Read to reuse the existing client
   - `src/middleware/auth.js`
      - Verifies access tokens; found by the sub-agent, not changed

4. Errors and fixes:
   - **Rotation raced with parallel requests**: two refreshes with one token both succeeded
      - Fix: an atomic SET NX on the used marker in redis

5. Problem Solving:
   - Family revocation implemented as a redis set per family

6. All user messages:
   - "Add refresh tokens to our Express auth: rotate on every use, revoke the family on reuse"
   - "keep the access token at 15 minutes, don't change the login response shape"
   - "use the existing redis client, no new dependency please"

7. Pending Tasks:
   - Finish reuse detection so it revokes every token of the family
   - Write integration tests covering the refresh endpoint
   - Describe the refresh flow in the auth docs

8. Current Work:
   Reuse detection: marking a token family as revoked in redis when an old token comes back.

9. Optional Next Step:
   Write the integration tests for POST /auth/refresh, including the reuse case that must revoke the family.
"""),
    Scenario(
        name="invoice-rounding (2.1.x, TaskCreate)", version="2.1.90", cwd="/home/dev/billing", branch="fix/rounding",
        requests=["Invoice totals are off by a cent sometimes. Use banker's rounding everywhere money is rounded, with tests",
                  "never use floats for money, always Decimal",
                  "also the CSV export rounds on its own, check that too"],
        tasks=[("Reproduce the off-by-a-cent bug", "completed"), ("Central bankers_round helper", "completed"),
               ("Switch totals and tax to the helper", "in_progress"), ("Fix the CSV export rounding", "pending"),
               ("Changelog entry", "pending")],
        reads=["billing/totals.py", "billing/tax.py", "billing/money.py", "billing/export/csv.py", "tests/test_totals.py",
               "pyproject.toml"],
        edits=["billing/money.py", "billing/totals.py", "tests/test_totals.py", "tests/test_money.py"],
        shell=[("pytest tests/test_totals.py -q", "3 passed, 1 failed"),
               ("grep -rn 'round(' billing/", "billing/tax.py:41: round(x, 2)\nbilling/export/csv.py:88: round(v, 2)"),
               ("sed -i 's/round(/bankers_round(/' billing/tax.py", "")],
        agent=("Find every rounding call site", "round( appears in billing/tax.py:41, billing/export/csv.py:88 and billing/fx.py:12"),
        last_words="Totals use the helper now and the tests pass. Now I'll switch billing/tax.py over as well.",
        title="Banker's rounding for invoices",
        summary=PRE + """Summary:
1. Primary Request and Intent:
   Invoice totals were sometimes off by one cent. The user wants banker's rounding (half to even) wherever money is rounded, with tests, using Decimal and never floats. The CSV export rounds separately and must be checked too.

2. Key Technical Concepts:
   - Banker's rounding via decimal.ROUND_HALF_EVEN
   - Money as Decimal end to end

3. Files and Code Sections:
   - **billing/money.py**
      - New `bankers_round(value, places=2)` helper on Decimal
   - **billing/totals.py**
      - Totals call the helper
   - **billing/tax.py**
      - Rewritten by sed to use the helper; needs review
   - **billing/export/csv.py**
      - Still calls round( itself at line 88
   - **tests/test_totals.py** and **tests/test_money.py**
      - Cases for 0.125, 0.135 and negative amounts
   - **billing/fx.py**
      - Also rounds; mentioned by the sub-agent

4. Errors and fixes:
   - **0.125 rounded to 0.13**: float representation
      - Fix: Decimal with ROUND_HALF_EVEN
      - User feedback: "never use floats for money, always Decimal"

5. Problem Solving:
   - A sub-agent found the call sites in tax.py, csv export and fx.py

6. All user messages:
   - "Invoice totals are off by a cent sometimes. Use banker's rounding everywhere money is rounded, with tests"
   - "never use floats for money, always Decimal"
   - "also the CSV export rounds on its own, check that too"

7. Pending Tasks:
   - Move the tax computation to the bankers_round helper
   - Fix rounding in the CSV export
   - Add a changelog entry

8. Current Work:
   Switching billing/tax.py to the bankers_round helper after the totals.

9. Optional Next Step:
   Review the sed change in billing/tax.py, run the tax tests, then fix billing/export/csv.py line 88.
"""),
    Scenario(
        name="flaky-ci (2.1.x, no task list)", version="2.1.63", cwd="/srv/app", branch="main",
        requests=["CI fails randomly on test_upload_resume, find out why and fix it",
                  "don't just add retries, I want the real cause",
                  "ok, go with the fake clock"],
        tasks=[],
        reads=["tests/test_upload.py", "app/upload/resume.py", "app/clock.py", ".github/workflows/ci.yml", "conftest.py"],
        edits=["app/upload/resume.py", "tests/test_upload.py", "app/clock.py"],
        shell=[("pytest tests/test_upload.py -k resume --count 50 -x", "1 failed, 37 passed"),
               ("git log --oneline -5 -- app/upload/resume.py", "a1b2c3d resume: use wall clock"),
               ("cat .github/workflows/ci.yml", "runs-on: ubuntu-latest")],
        agent=None,
        last_words="The resume deadline compared wall-clock time, which jumps under load on CI. I replaced it with the"
                   " injected clock.\nNext I'll run the test 200 times to confirm the flake is gone, then remove the"
                   " sleep in conftest.py.",
        summary=PRE + """Analysis:
The user reported a flaky CI test and rejected retries as a fix.

Summary:
1. Primary Request and Intent:
   The user asked to find the real cause of the random CI failures of test_upload_resume and fix it, explicitly without adding retries. They agreed to use a fake clock.

2. Key Technical Concepts:
   - Wall-clock time versus an injected monotonic clock
   - Repeating a test many times to expose a flake

3. Files and Code Sections:
   - `app/upload/resume.py`
      - The deadline check used time.time(); now takes the injected clock
   - `app/clock.py`
      - Added a FakeClock for tests
   - `tests/test_upload.py`
      - test_upload_resume uses FakeClock
   - `conftest.py`
      - Has a sleep(0.5) that hides the race; to be removed

4. Errors and fixes:
   - **Deadline exceeded under load**: wall clock jumped on CI
      - Fix: injected clock

5. Problem Solving:
   - Reproduced with 50 repetitions: 1 failure

6. All user messages:
   - "CI fails randomly on test_upload_resume, find out why and fix it"
   - "don't just add retries, I want the real cause"
   - "ok, go with the fake clock"

7. Pending Tasks:
   - Confirm the flake is gone by running the test many times
   - Remove the sleep from conftest.py

8. Current Work:
   Replaced the wall-clock deadline in resume.py with the injected clock.

9. Optional Next Step:
   Run test_upload_resume 200 times to confirm the fix, then remove the sleep in conftest.py.
"""),
    Scenario(
        name="windows-installer (2.1.x, PowerShell)", version="2.1.140", cwd="C:\\Users\\kim\\tool", branch="installer",
        requests=["Build an MSI installer for the tool with WiX, per-user install, no admin rights",
                  "put it under installer/, and keep the version in one place",
                  "sign it later, not now"],
        tasks=[("WiX project skeleton", "completed"), ("Per-user install scope", "completed"),
               ("Read the version from version.txt", "in_progress"), ("Build script build-msi.ps1", "pending"),
               ("Smoke test the MSI on a clean VM", "pending")],
        reads=["version.txt", "README.md", "src\\main.rs", "Cargo.toml"],
        edits=["installer\\Product.wxs", "installer\\build-msi.ps1", "installer\\Variables.wxi"],
        shell=[("Get-Content -Path version.txt", "1.4.2"),
               ("Set-Content -Path installer\\Variables.wxi -Value '<Include/>'", ""),
               ("wix build installer\\Product.wxs -o out\\tool.msi", "error WIX0094: version")],
        agent=("How does WiX read a version from a file", "Use a preprocessor variable defined in an .wxi include"),
        last_words="The per-user scope works. I'm wiring the version from version.txt into Variables.wxi.",
        title="MSI installer with WiX",
        windows=True,
        summary=PRE + """Summary:
## 1. Primary Request and Intent
The user wants an MSI installer built with WiX for a per-user install without admin rights, kept under installer/, with the version defined in one place. Signing comes later.

## 2. Key Technical Concepts
- WiX v4 per-user install scope
- Preprocessor variables from an include file

## 3. Files and Code Sections
- `installer\\Product.wxs`: the package definition, Scope="perUser"
- `installer\\Variables.wxi`: will hold the version variable
- `installer\\build-msi.ps1`: build script, to be written
- `version.txt`: the single source of the version

## 4. Errors and fixes
- **WIX0094 on build**: the version was not defined
   - Fix: define it in Variables.wxi (in progress)

## 5. Problem Solving
- Per-user scope verified in the built package

## 6. All user messages
- "Build an MSI installer for the tool with WiX, per-user install, no admin rights"
- "put it under installer/, and keep the version in one place"
- "sign it later, not now"

## 7. Pending Tasks
- Take the version from version.txt into the WiX include
- Write build-msi.ps1
- Smoke-test the installer on a clean virtual machine

## 8. Current Work
Wiring version.txt into Variables.wxi so Product.wxs can use it.

## 9. Optional Next Step
Define the version variable in installer\\Variables.wxi from version.txt and rebuild the MSI.
"""),
]


def _path(s: Scenario, rel: str) -> str:
    sep = "\\" if s.windows else "/"
    return s.cwd + sep + rel


def build(s: Scenario, seed: int = 0, compact: bool = True) -> tuple[Builder, int]:
    """The session's transcript and the number of its lines before the compaction (what pre-compact sees)."""
    rnd = random.Random(f"{s.name}-{seed}")
    b = Builder(session=f"bench-{zlib.crc32(s.name.encode()):08x}-{seed}", cwd=s.cwd, branch=s.branch)
    shell = "PowerShell" if s.windows else "Bash"
    new = s.version >= "2.1"

    def call(name: str, inp: dict[str, Any], result: str | list[dict[str, Any]] = "ok") -> None:
        if new:
            b.call(name, inp, result=result)
        else:
            b.tool(name, inp, result=result if isinstance(result, str) else str(result))

    def tasks(upto: int, done: int) -> None:
        """The task list as it stood: the first `upto` tasks, the first `done` of them completed."""
        if new:
            return
        b.todos([(t, "completed" if i < done else "in_progress" if i == done else "pending")
                 for i, (t, _) in enumerate(s.tasks[:upto])])

    b.user("<command-name>/clear</command-name>\n<command-message>clear</command-message>")
    b.user(s.requests[0])
    if s.title and new:
        b.meta("ai-title", aiTitle=s.title)
    if s.tasks:
        if new:
            for i, (subject, _) in enumerate(s.tasks, 1):
                b.task_create(subject, result_id=str(i))
        else:
            tasks(len(s.tasks), 0)
    final_done = sum(1 for _, st in s.tasks if st == "completed")
    for r in s.reads:
        call("Read", {"file_path": _path(s, r)}, result="\n".join(f"line {i}" for i in range(rnd.randint(20, 80))))
    for step in range(60):  # the bulk: work cycles over the scenario's files
        f = rnd.choice(s.edits)
        if step % 7 == 0:
            call("Grep", {"pattern": rnd.choice(["TODO", "round(", "verify", "deadline", "version"]), "path": s.cwd},
                 result=f"{_path(s, rnd.choice(s.reads))}:12: match")
        if step % 3 == 0:
            call("Read", {"file_path": _path(s, f)}, result="code\n" * rnd.randint(10, 60))
        call("Edit", {"file_path": _path(s, f), "old_string": f"v{step}", "new_string": f"value{step}"})
        cmd, out = s.shell[step % len(s.shell)]
        call(shell, {"command": cmd, "description": "run"}, result=out * rnd.randint(1, 20))
        b.say(f"Step {step}: {f.replace(chr(92), '/').rsplit('/', 1)[-1]} updated; checking the tests next.")
        if new and step % 9 == 0:
            b._add({"type": "attachment", "attachment": {"type": "task_reminder", "content": [], "itemCount": 5}})
            b.system("turn_duration", durationMs=rnd.randint(2000, 90000))
        if step % 11 == 0:
            b.meta("file-history-snapshot", messageId=f"m{step}", isSnapshotUpdate=step > 0,
                   snapshot={"messageId": f"m{step}", "trackedFileBackups": {
                       e: {"backupFileName": f"h@v{step}", "version": step // 11 + 1} for e in s.edits}})
        if step == 20:
            b.user(s.requests[1])
        if step == 40:
            b.user(s.requests[2])
            if s.agent:
                call("Agent" if new else "Task", {"description": s.agent[0], "prompt": s.agent[0],
                                                  "subagent_type": "Explore"},
                     result=[{"type": "text", "text": s.agent[1]}])
        if s.tasks and step in (15, 30):
            done = 1 if step == 15 else final_done
            if new:
                for i in range(done):
                    b.task_update(str(i + 1), "completed")
                b.task_update(str(done + 1), "in_progress")
            else:
                tasks(len(s.tasks), done)
    b.raw('{"type": "assistant", "message": {"content": [')  # a line cut mid-write
    b.say(s.last_words)
    before = len(b.lines)
    if compact:
        b.system("compact_boundary", parentUuid=None, compactMetadata={"trigger": "auto", "preTokens": 167000})
        b.user(s.summary, isCompactSummary=True, isVisibleInTranscriptOnly=True)
        b.say("Continuing with the next step.")
    return b, before
