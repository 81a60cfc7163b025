"""Session retrieval: long multi-topic sessions, one checkpoint each, and questions about one part of one session.

Built from the real compaction summaries (``../shared/corpus``, read at run time): the 84 summaries
are dealt (fixed seed) into sessions of ``--per-session`` (default 3) unrelated summaries, and each
session's text interleaves their sections — the first summary's request, the second's, the third's,
then their technical concepts, files, errors and so on — as a long working session that moved
between topics would read (~25-35k characters, 6-9k words: far past the 256 word pieces the model
reads at once). Each session is one checkpoint whose ``summary`` is that text; its title and goal
say nothing ("Session 7"), so only the long text can be found.

Questions, each about one of the summaries inside a session (the answer is that session):

* ``detail`` — ``bench/session_questions.jsonl``: a detail from one summary's errors-and-fixes
  section, asked in a user's words (written by hand after reading the sections);
* ``natural`` / ``paraphrase`` — ``bench/queries.jsonl`` and ``bench/queries_fresh.jsonl``, the
  resume requests of the retrieval benchmark, now aimed at the session holding their summary;
* a second table for ``bench/queries_fresh2.jsonl`` (``--fresh2``), the held-out requests written
  after the second round of tuning (see bench/retrieval.py).

Reported: session R@1, R@5, R@10 and MRR per question kind, for lexical only, semantic only and
hybrid (default; ``--variants`` adds the alternatives).

    .venv/bin/python bench/sessions.py
    .venv/bin/python bench/sessions.py --per-session 4 --variants
    .venv/bin/python bench/sessions.py --as-transcript   # the same text as a stored transcript, no summary
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import retrieval as R  # noqa: E402  (corpus mapping, evaluation, tables, the embedding cache)
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields  # noqa: E402
from mcp_server_checkpoints.search.sentence_embedder import load_embedder  # noqa: E402

ORDER = ("primary request and intent", "key technical concepts", "files and code sections", "errors and fixes",
         "problem solving", "all user messages", "pending tasks", "current work", "optional next step")


def sessions(docs: list[dict[str, Any]], per: int, seed: int) -> list[tuple[str, list[str], str]]:
    """(session key, its summary ids, its text) for the corpus dealt into sessions of `per` summaries."""
    ids = sorted(d["id"] for d in docs)
    random.Random(seed).shuffle(ids)
    by_id = {d["id"]: d for d in docs}
    out = []
    for n, start in enumerate(range(0, len(ids), per), start=1):
        group = ids[start:start + per]
        parts = [R.sections(by_id[i]["summary"]) for i in group]
        blocks: list[str] = []
        for name in ORDER:
            for part in parts:
                body = part.get(name)
                if body:
                    blocks.append(f"## {name.title()}\n{body}")
        for i, part in zip(group, parts, strict=True):
            if not part:  # no numbered sections: the whole text
                blocks.append(by_id[i]["summary"])
        out.append((f"session-{n:02d}", group, "\n\n".join(blocks)))
    return out


def as_transcript(text: str) -> str:
    """The session's text as the JSONL a Claude Code session writes: each section an assistant reply
    (its own line, as Claude Code writes each content block) to a short user turn, with a tool call and
    its output between them (the output is noise the index must skip)."""
    lines: list[str] = []
    for n, block in enumerate(text.split("\n\n")):
        lines.append(json.dumps({"type": "user", "message": {"role": "user", "content": "go on"}}))
        lines.append(json.dumps({"type": "assistant", "message": {"id": f"m{n}", "role": "assistant", "content": [
            {"type": "tool_use", "id": f"t{n}", "name": "Bash", "input": {"command": "git status --short"}}]}}))
        lines.append(json.dumps({"type": "user", "message": {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": f"t{n}", "content": " M src/app.py\n?? notes.txt"}]}}))
        lines.append(json.dumps({"type": "assistant", "message": {"id": f"m{n}", "role": "assistant", "content": [
            {"type": "text", "text": block}]}}))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--corpus", type=Path, default=R.DEFAULT_CORPUS)
    p.add_argument("--per-session", type=int, default=3)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--questions", type=Path, default=R.ROOT / "bench" / "session_questions.jsonl")
    p.add_argument("--model", default=None)
    p.add_argument("--variants", action="store_true")
    p.add_argument("--cache", type=Path, default=None, help="keep embeddings in this .npz between runs")
    p.add_argument("--show-misses", action="store_true")
    p.add_argument("--fresh2", type=Path, default=R.ROOT / "bench" / "queries_fresh2.jsonl")
    p.add_argument("--as-transcript", action="store_true",
                   help="store each session as a Claude Code transcript in the payload, not as its summary")
    args = p.parse_args(argv)
    if not args.corpus.is_file():
        print(f"sessions: corpus not found at {args.corpus}; pass --corpus", file=sys.stderr)
        return 2
    docs = R.read_jsonl(args.corpus)
    made = sessions(docs, args.per_session, args.seed)
    session_of = {sid: key for key, group, _ in made for sid in group}
    questions = R.read_jsonl(args.questions)
    for extra in (R.ROOT / "bench" / "queries.jsonl", R.ROOT / "bench" / "queries_fresh.jsonl"):
        if extra.is_file():
            questions += R.read_jsonl(extra)
    def aimed(qs: list[dict[str, Any]]) -> list[dict[str, Any]]:  # each at the session holding its summary
        return [{**q, "session": session_of[q["summary_id"]]} for q in qs if q["summary_id"] in session_of]

    questions = aimed(questions)
    held = aimed(R.read_jsonl(args.fresh2) if args.fresh2.is_file() else [])
    embedder = R.CachedEmbedder(load_embedder(args.model), args.cache)
    fields = [(key, CheckpointFields.model_validate({
        "title": f"Session {n}", "goal": f"Working session {n}", "status": "paused",
        **({"payload": {"transcript": as_transcript(text)}} if args.as_transcript else {"summary": text})}))
        for n, (key, _, text) in enumerate(made, start=1)]
    words = sorted(len(text.split()) for _, _, text in made)
    with tempfile.TemporaryDirectory() as tmp:
        print("sessions: embedding …", file=sys.stderr, flush=True)
        store, ids, embed_s = R.build_store(Path(tmp) / "sessions.db", fields, embedder)
        embedder.save()
        n_passages = len(store.semantic.passage_index or []) if store.semantic else 0
        rankers = R.RANKERS + (R.VARIANTS if args.variants else [])
        results = [(name, R.evaluate(store, questions, ids, opt, target="session")) for name, opt in rankers]
        held_results = [(name, R.evaluate(store, held, ids, opt, target="session")) for name, opt in rankers] if held else []
        store.db.close()
    embedder.save()
    kinds = sorted({q["kind"] for q in questions}) + ["all"]
    print(f"# Session retrieval: {len(made)} sessions of {args.per_session} summaries "
          f"({words[0]:,}-{words[-1]:,} words, median {words[len(words) // 2]:,}; {n_passages} passages, "
          f"embedded in {embed_s:.1f} s)\n")
    print(R.table(f"{len(questions)} questions, the session holding the answer", results, kinds,
                  metrics=("r1", "r5", "r10")))
    if held_results:
        print()
        print(R.table(f"{args.fresh2.name} (held out): {len(held)} requests, the session holding their summary",
                      held_results, sorted({q["kind"] for q in held}) + ["all"], metrics=("r1", "r5", "r10")))
    if args.show_misses:
        default = next(r for n, r in results if "default" in n)
        print("\nDefault hybrid, misses at rank 1:")
        for kind, q, rank, top in default["misses"]:
            print(f"- [{kind}] {rank}: {q[:110]!r} → {top!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
