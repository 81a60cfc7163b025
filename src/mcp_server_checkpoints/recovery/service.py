"""`recover`: detect what the first message asks, find candidates, score them, render the answer, keep the lifecycle."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime

from mcp_server_checkpoints.domain.records import Candidate, Checkpoint, RecoverResult, SearchHit
from mcp_server_checkpoints.domain.statuses import CLOSED_STATUSES, OPEN_STATUSES
from mcp_server_checkpoints.domain.time import age_hours, iso, utcnow
from mcp_server_checkpoints.errors import NotFoundError
from mcp_server_checkpoints.recovery import confidence, templates
from mcp_server_checkpoints.recovery.detect import Detection, detect, key_terms, topic_words
from mcp_server_checkpoints.recovery.render import render_summary
from mcp_server_checkpoints.recovery.repo_state import Git, drift_since
from mcp_server_checkpoints.search.lexical import STOPWORDS
from mcp_server_checkpoints.storage.protocols import CheckpointStore

PROACTIVE_STATUSES = ["in-progress", "paused"]
PROACTIVE_HOURS = 24.0
RECENT_POOL_HOURS = 24.0 * 7
MAX_CANDIDATES = 5

# Field groups weighted by how much a word there says "this is the work": what it is > what was done > talk.
_STRONG_FIELDS = ("title", "goal", "tags", "next_step", "phase")
_MEDIUM_FIELDS = ("current_work", "completed", "remaining", "decisions", "files", "blockers", "user_input_needed")
_WEAK_FIELDS = ("summary", "discoveries", "preferences", "resume_instructions", "approaches", "project")


def _stem(word: str) -> str:
    """A crude stem, good enough to match authenticate/authentication or token/tokens."""
    w = word.lower()
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    return w[:6]


def _words(value: object) -> set[str]:
    text = value if isinstance(value, str) else repr(value)
    return {_stem(w) for w in re.findall(r"\w+", text.lower())}


LONG_TOPIC = 12  # words; a pasted summary, not a request


def topic_match(topic: str, cp: Checkpoint) -> float:
    """How well the checkpoint matches the topic, in [0, 1].

    A short request is matched by how much of it the checkpoint covers (title and goal counting
    most). A long pasted text (a continuation or compaction summary) mentions far more than any
    checkpoint's headline, so it is also matched the other way round — how much of the checkpoint's
    title, goal and next step the text contains — and the two are averaged (the average, not the
    better one, so that two checkpoints the text fits equally well stay close: ambiguous).
    """
    all_terms = [t for t in dict.fromkeys(_stem(w) for w in topic_words(topic) if w not in STOPWORDS)]
    if not all_terms:
        return 0.0
    forward = _coverage(list(dict.fromkeys(_stem(w) for w in key_terms(topic))), cp)
    if len(all_terms) < LONG_TOPIC:
        return forward
    message = set(all_terms)
    headline = [t for t in dict.fromkeys(
        _stem(w) for f in (cp.title, cp.goal, cp.next_step or "") for w in topic_words(f) if w not in STOPWORDS)]
    reverse = sum(1 for t in headline if t in message) / len(headline) if headline else 0.0
    return round((forward + reverse) / 2, 3)


def _coverage(terms: list[str], cp: Checkpoint) -> float:
    data = dataclasses.asdict(cp)
    groups = [(1.0, set().union(*(_words(data.get(f) or "") for f in _STRONG_FIELDS))),
              (0.75, set().union(*(_words(data.get(f) or "") for f in _MEDIUM_FIELDS))),
              (0.5, set().union(*(_words(data.get(f) or "") for f in _WEAK_FIELDS)))]
    total = 0.0
    for t in terms:
        total += next((w for w, words in groups if t in words), 0.0)
    return round(total / len(terms), 3)


# Cosine similarity (all-MiniLM-L6-v2) onto the topic-match scale: measured, a paraphrased resume
# request scores 0.29–0.42 against its checkpoint and unrelated work at most 0.15.
COSINE_FLOOR, COSINE_FULL = 0.15, 0.40


def semantic_match(cosine: float | None) -> float:
    if cosine is None:
        return 0.0
    return round(min(max((cosine - COSINE_FLOOR) / (COSINE_FULL - COSINE_FLOOR), 0.0), 1.0), 3)


def is_trivial(cp: Checkpoint) -> bool:
    """Finished or empty work is not presented (the specification's "trivial/completed work")."""
    if cp.progress is not None and cp.progress >= 100:
        return True
    return not (cp.next_step or cp.remaining or cp.current_work or cp.completed or cp.resume_instructions
                or cp.summary)


@dataclass
class _Scored:
    cp: Checkpoint
    age: float
    score: float
    lexical: float = 0.0  # the topic's words found in the checkpoint (topic_match)
    semantic: float = 0.0  # its meaning near the checkpoint's (semantic_match of the search's cosine)


def _candidates(scored: list[_Scored]) -> list[Candidate]:
    return [Candidate(id=s.cp.id, title=s.cp.title, status=s.cp.status, age_hours=s.age, score=round(s.score, 3))
            for s in scored[:MAX_CANDIDATES]]


def _load(store: CheckpointStore, hits: list[SearchHit]) -> list[Checkpoint]:
    cps = [store.get(h.id, with_payload=False) for h in hits]
    return [cp for cp in cps if cp.status not in CLOSED_STATUSES and not is_trivial(cp)]


def _search_topic(store: CheckpointStore, det: Detection, project: str | None, now: datetime) -> list[_Scored]:
    query = " ".join(key_terms(det.topic))
    hits = store.search(query, project=project, statuses=list(OPEN_STATUSES), limit=MAX_CANDIDATES * 2, now=now)
    # The search's cosine: present when it was hybrid (the model is ready); the best of the checkpoint's
    # own vector and its passages.
    cosine = {h.id: h.semantic for h in hits}
    scored = []
    for cp in _load(store, hits):
        lexical, semantic = topic_match(det.topic, cp), semantic_match(cosine.get(cp.id))
        scored.append(_Scored(cp, age_hours(cp.created_at, now), max(lexical, semantic), lexical, semantic))
    scored.sort(key=lambda s: (-s.score, s.age))
    return scored


def disputed(scored: list[_Scored]) -> bool:
    """Whether the topic's words and its meaning each fit a different candidate well (STRONG_MATCH):
    "the auth work" has its word in "JWT refresh tokens for the API" (…/auth/refresh) while meaning
    "OAuth login for the web app" as much. Either could be meant: the user should choose."""
    if len(scored) < 2:
        return False
    by_words = max(scored, key=lambda s: s.lexical)
    by_meaning = max(scored, key=lambda s: s.semantic)
    return (by_words is not by_meaning and by_words.lexical >= confidence.STRONG_MATCH
            and by_meaning.semantic >= confidence.STRONG_MATCH)


def _recent(store: CheckpointStore, project: str | None, statuses: list[str], hours: float,
            now: datetime) -> list[_Scored]:
    hits = store.search("", project=project, statuses=statuses, since_hours=hours, limit=MAX_CANDIDATES * 2, now=now)
    return [_Scored(cp, age_hours(cp.created_at, now), 1.0 / (1.0 + age_hours(cp.created_at, now) / 24))
            for cp in _load(store, hits)]


def recover(
    store: CheckpointStore,
    message: str | None = None,
    project: str | None = None,
    checkpoint_id: str | None = None,
    *,
    now: datetime | None = None,
    emoji: bool = True,
) -> RecoverResult:
    """Decide apply / confirm / choose / none for a conversation's first message, and say it with the spec's template.

    Applying marks the checkpoint `resumed` with "Resumed at: …" in its status history.
    """
    now = now or utcnow()
    det = detect(message)
    explicit = checkpoint_id or (det.checkpoint_id if det.kind == "id" else None)
    if explicit is not None:
        try:
            cp = store.get(explicit, with_payload=False)
        except NotFoundError:
            if checkpoint_id is not None:
                raise
            return RecoverResult(action="none", confidence=0.0, reasons=["explicit checkpoint id", "not found"],
                                 candidates=[], text=templates.not_found(explicit, emoji=emoji))
        scored = [_Scored(cp, age_hours(cp.created_at, now), 1.0)]
        verdict = confidence.for_explicit_id(scored[0].age, cp.status, chosen=checkpoint_id is not None)
        asked = True
    elif det.kind in ("formatted", "natural") and det.has_topic:
        scored = _search_topic(store, det, project, now)
        verdict = confidence.for_topic(det.kind, [s.score for s in scored], scored[0].age if scored else 0.0,
                                       disputed=disputed(scored))
        if verdict.action == "none":
            scored = []
        asked = True
    else:
        asked = det.kind != "none"
        statuses = list(OPEN_STATUSES) if asked else PROACTIVE_STATUSES
        scored = _recent(store, project, statuses, RECENT_POOL_HOURS if asked else PROACTIVE_HOURS, now)
        verdict = confidence.for_recent(len(scored), scored[0].age if scored else 0.0, asked=asked)

    if verdict.action == "apply":
        chosen = scored[0].cp
        store.set_status(chosen.id, "resumed", f"Resumed at: {iso(now)} (in a new conversation)", now=now)
        full = store.get(chosen.id, with_payload=False)
        # What changed in the repository since (verified resume): the agent must not act on a stale picture.
        text = render_summary(full, now=now, emoji=emoji, drift=drift_since(full, full.project, Git()))
    elif verdict.action == "confirm":
        text = templates.offer(scored[0].cp, now, emoji=emoji)
    elif verdict.action == "choose":
        text = templates.options([s.cp for s in scored[:MAX_CANDIDATES]], now, emoji=emoji)
    else:
        text = templates.not_found(" ".join(topic_words(det.topic)) or det.topic, emoji=emoji) if asked \
            else templates.NOTHING_RECENT
    return RecoverResult(action=verdict.action, confidence=verdict.confidence, reasons=verdict.reasons,
                         candidates=_candidates(scored), text=text)
