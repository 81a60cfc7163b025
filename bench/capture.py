"""Capture-quality benchmark: the checkpoint saved before a compaction against the summary Claude Code wrote.

What is measured
----------------
For each session of bench/capture_sessions.py (hand-written scenarios in the real transcript format,
several hundred lines each, Claude Code 2.0.x to 2.1.x, TodoWrite and TaskCreate/TaskUpdate, one with no
task list, one on Windows), `ckpt hook pre-compact`'s capture (hooks.capture, real SQLite store) is made
from the lines before the compaction and compared with the compaction summary that follows:

* todos: the checkpoint's completed + remaining equal the session's last task list (n/a: no list);
* file recall: share of the files the summary names under "Files and Code Sections" that the checkpoint lists;
* pending similarity: cosine (all-MiniLM-L6-v2, the product's model) of the checkpoint's next step +
  remaining tasks to the summary's "Pending Tasks" + "Optional Next Step"; the same for unrelated pairs
  (a checkpoint against another session's summary) as the floor;
* goal similarity: the checkpoint's goal to "Primary Request and Intent"; title: the title to the same;
* summary kept: `store-summary` (what post-compact runs) stored the whole summary as the next version
  of the lineage (parent = the pre-compact capture);
* session-end: the same session without a compaction gets a checkpoint from `session-end`.

The "before" column is the capture of the transcript reader on `main` before issue #14 (read with
`git show`), when that is available. With `--corpus`, the summary parser is also run over real
summaries (read at run time, never stored): sections found and files extracted.

Run: `.venv/bin/python bench/capture.py [--corpus ../shared/corpus/summaries.jsonl] [--before REV]`.
Prints Markdown tables. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.capture_sessions import SCENARIOS, Scenario, build  # noqa: E402

from mcp_server_checkpoints.integrations.claude_code import compact_summary as cs  # noqa: E402
from mcp_server_checkpoints.integrations.claude_code import hooks  # noqa: E402
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database  # noqa: E402

TRANSCRIPT_MODULE = "src/mcp_server_checkpoints/integrations/claude_code/transcript.py"


def old_reader(rev: str) -> types.ModuleType | None:
    """The transcript reader as it was at `rev` (its parse + to_checkpoint), or None."""
    try:
        src = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{TRANSCRIPT_MODULE}"], capture_output=True,
                             text=True, check=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    mod = types.ModuleType("transcript_before")
    sys.modules[mod.__name__] = mod  # its dataclasses look their module up
    exec(compile(src, f"{rev}:{TRANSCRIPT_MODULE}", "exec"), mod.__dict__)  # noqa: S102 - our own history
    return mod if hasattr(mod, "to_checkpoint") else None


def recall(cp: Any, summary: cs.CompactSummary) -> tuple[int, int]:
    named = [p for p, _ in cs.files(summary.sections.get("files", ""))]
    have = [f.path for f in cp.files]
    return sum(1 for n in named if any(cs.same_file(n, h) for h in have)), len(named)


def todos_ok(cp: Any, s: Scenario) -> bool | None:
    if not s.tasks:
        return None
    done = [t for t, st in s.tasks if st == "completed"]
    rest = [t for t, st in s.tasks if st != "completed"]
    return list(cp.completed) == done and list(cp.remaining) == rest


def pending_text(cp: Any) -> str:
    return "\n".join([cp.next_step or ""] + list(cp.remaining))


def summary_pending(summary: cs.CompactSummary) -> str:
    return summary.sections.get("pending", "") + "\n" + summary.sections.get("next", "")


class Cosine:
    def __init__(self) -> None:
        from mcp_server_checkpoints.search.sentence_embedder import load_embedder

        self.embedder = load_embedder(None)

    def __call__(self, a: str, b: str) -> float:
        va, vb = self.embedder.embed_array([a or " ", b or " "])
        return float((va * vb).sum())


def measure(rev: str) -> None:
    cos = Cosine()
    before_mod = old_reader(rev)
    rows: list[str] = []
    totals: dict[str, dict[str, list[float]]] = {"after": {}, "before": {}}
    unrelated: list[float] = []
    kept = ended = 0
    captured: list[tuple[Scenario, Any, cs.CompactSummary]] = []
    with tempfile.TemporaryDirectory(prefix="bench-capture-") as tmp_s:
        tmp = Path(tmp_s)
        for i, s in enumerate(SCENARIOS):
            b, before_lines = build(s)
            pre_text = "\n".join(b.lines[:before_lines]) + "\n"
            t = tmp / f"{i}.jsonl"
            t.write_text(pre_text)
            store = SQLiteCheckpointStore(open_database(tmp / f"{i}.db"))
            hook = {"session_id": b.session, "transcript_path": str(t), "cwd": s.cwd, "trigger": "auto"}
            saved = hooks.capture(hook, store, source="pre-compact", trigger="auto")
            assert saved is not None
            cp = store.get(saved.id, with_payload=False)
            summary = cs.parse(s.summary)
            t.write_text(b.text())
            child = hooks.store_summary({**hook, "compact_summary": s.summary}, store)
            child_cp = store.get(child.id, with_payload=False) if child else None
            kept += bool(child_cp and child_cp.parent_id == cp.id and child_cp.summary == s.summary)
            ended_b, _ = build(s, seed=1, compact=False)
            t_end = ended_b.write(tmp / f"{i}-end.jsonl")
            ended += hooks.capture({"session_id": ended_b.session, "transcript_path": str(t_end), "cwd": s.cwd},
                                   store, source="session-end", trigger="exit") is not None
            store.db.close()
            variants = [("after", cp)]
            if before_mod is not None:
                parsed = before_mod.parse(pre_text)
                variants.append(("before", before_mod.to_checkpoint(parsed, transcript_text="", session_id=b.session,
                                                                    project=s.cwd, trigger="auto", parent_id=None)))
            for label, c in variants:
                got, named = recall(c, summary)
                m = totals[label]
                m.setdefault("recall", []).append(got / named if named else 1.0)
                m.setdefault("pending", []).append(cos(pending_text(c), summary_pending(summary)))
                m.setdefault("goal", []).append(cos(c.goal, summary.sections.get("request", "")))
                m.setdefault("title", []).append(cos(c.title, summary.sections.get("request", "")))
                ok = todos_ok(c, s)
                if ok is not None:
                    m.setdefault("todos", []).append(float(ok))
                rows.append(f"| {s.name} | {label} | {len(b.lines[:before_lines])} | "
                            f"{'n/a' if ok is None else '✓' if ok else '✗'} | {got}/{named} | {m['pending'][-1]:.2f} |"
                            f" {m['goal'][-1]:.2f} | {c.title[:40]} |")
            captured.append((s, cp, summary))
        for s, cp, _ in captured:
            for s2, _, summary2 in captured:
                if s2 is not s:
                    unrelated.append(cos(pending_text(cp), summary_pending(summary2)))
    n = len(SCENARIOS)
    print(f"## Capture quality ({n} sessions; model {cos.embedder.model_name}; load average"
          f" {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)\n")
    print("| session | capture | lines before compaction | todos | files named by the summary | pending cos |"
          " goal cos | title |\n|---|---|---:|:---:|---:|---:|---:|---|")
    print("\n".join(rows))
    print("\n| measure | before (#14) | after |\n|---|---:|---:|")

    def agg(label: str, key: str, fmt: str = "{:.2f}") -> str:
        v = totals[label].get(key)
        if not v:
            return "–"
        return f"{int(sum(v))}/{len(v)}" if key == "todos" else fmt.format(statistics.mean(v))

    for key, name in (("todos", "task lists captured"), ("recall", "file recall (mean)"),
                      ("pending", "pending / next-step cosine (mean)"), ("goal", "goal cosine (mean)"),
                      ("title", "title cosine to the request (mean)")):
        print(f"| {name} | {agg('before', key)} | {agg('after', key)} |")
    print(f"| unrelated pairs, pending cosine (mean) | | {statistics.mean(unrelated):.2f} |")
    print(f"| compaction summary stored in the lineage | | {kept}/{n} |")
    print(f"| session-end checkpoint (no compaction) | | {ended}/{n} |")


def corpus(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    found: dict[str, int] = {k: 0 for k in cs.SECTIONS}
    files: list[int] = []
    for r in rows:
        s = cs.parse(r["summary"])
        for k in s.sections:
            found[k] += 1
        files.append(len(cs.files(s.sections.get("files", ""))))
    print(f"\n## Summary parser on {len(rows)} real compaction summaries ({path.name}, read at run time)\n")
    print("| section | summaries where found |\n|---|---:|")
    for k, v in found.items():
        print(f"| {k} | {v}/{len(rows)} |")
    print(f"\nFiles extracted per summary: median {statistics.median(files):.0f}, min {min(files)}, max {max(files)};"
          f" summaries with none: {sum(1 for f in files if f == 0)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=None, help="a summaries.jsonl of real compaction summaries")
    ap.add_argument("--before", default="5031e42", help="git revision of the 'before' reader (default 5031e42)")
    args = ap.parse_args()
    measure(args.before)
    if args.corpus is not None:
        corpus(args.corpus)


if __name__ == "__main__":
    main()
