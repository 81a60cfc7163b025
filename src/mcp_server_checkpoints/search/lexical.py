"""Lexical search: turning free text into a safe FTS5 query, and bm25 weights."""

from __future__ import annotations

import re

# bm25() weights, one per FTS column (migrations.FTS_COLUMNS): the title and goal say what the
# work is; the long summary says everything, so one of its words counts for less.
BM25_WEIGHTS = (6.0, 3.0, 0.6, 2.0, 2.0, 1.0, 1.0, 1.0, 3.0)

_WORD = re.compile(r"\w+", re.UNICODE)

STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have he her his how i if in into
    is it its let lets let's me my no not of on or our so that the their them then there these they this those to
    up us was we were what when where which who why will with would you your yes please just also get got
    continue continuing resume resuming back pick picking carry keep going work working worked task tasks
    fix session left off again last time thing things stuff earlier yesterday today now""".split()
)
# The second and third lines are resume-request words ("let's get back to the work we left off"):
# they name no topic, and as OR-ed terms they matched most rows, which made bm25 slow at scale.


def fts_query(text: str) -> str | None:
    """An FTS5 MATCH expression that ORs the query's words, each quoted (no FTS syntax gets through).

    Returns None when nothing searchable is left (empty, punctuation, only stop words).
    """
    words: list[str] = []
    seen: set[str] = set()
    for w in _WORD.findall(text.lower()):
        if w in STOPWORDS or w in seen or (len(w) < 2 and not w.isdigit()):
            continue
        seen.add(w)
        words.append(w)
        if len(words) >= 32:  # a pasted summary is not a query; its first words are enough
            break
    if not words:
        return None
    return " OR ".join(f'"{w}"' for w in words)


# Resume-request phrasing that says "resume", not what the work is. Embedded with the query, it pulls
# every checkpoint toward the same "continuing work" direction (hub checkpoints win); the words alone
# are already left out of the lexical query (STOPWORDS).
_FILLER = re.compile(
    r"\b(?:(?:let'?s|lets|can we|could we|we should|i want to|i'd like to|please)\s+)?"
    r"(?:continue(?: with| on)?|resume|pick(?:ing)? up(?: where (?:we|i) left off)?(?: with| on)?|get back to|go back to"
    r"|back to|carry on(?: with)?|keep going(?: with| on)?)\b"
    r"|\bwhere (?:were we|we left off|did we leave off|was i)(?: with| on)?\b"
    r"|\b(?:from )?(?:the |our )?(?:last|previous|earlier) (?:time|session|conversation|chat)\b"
    r"|\bwhat (?:was|were) (?:i|we) (?:working on|doing)\b",
    re.IGNORECASE,
)


def strip_filler(text: str) -> str:
    """The query without its resume-request phrasing, for embedding; the text itself if nothing else is left."""
    rest = re.sub(r"\s+", " ", _FILLER.sub(" ", text)).strip(" ,.;:!?-")
    return rest if _WORD.search(rest) else text
