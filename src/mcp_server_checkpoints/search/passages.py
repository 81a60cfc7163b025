"""Long checkpoints cut into passages the embedding model reads whole.

all-MiniLM-L6-v2 reads 256 word pieces (~150-200 words of prose, fewer of code); a checkpoint's one
vector is made from its first TEXT_CHARS characters, so a detail in the middle of a long summary
never reached the semantic side. A checkpoint whose text is longer than that is also cut into
overlapping windows of words, each embedded on its own; search scores the checkpoint by its best
passage (max pooling), and the hit shows that passage (`matched`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice

_TOKEN = re.compile(r"\S+")


@dataclass(frozen=True)
class Passages:
    """How long texts are cut. Windows of `words` words, each starting `words - overlap` after the
    previous, at most `limit` per checkpoint (the rest of a giant text is left to bm25, which reads
    all of it); texts of at most `min_chars` characters are read whole by the checkpoint's own vector."""

    words: int = 150
    overlap: int = 30
    limit: int = 64
    min_chars: int = 2_000

    def split(self, text: str) -> list[str]:
        """The windows of `text`, each a slice of the original (line breaks and punctuation kept)."""
        step = max(self.words - self.overlap, 1)
        # Only the words the last window can reach: a transcript's text runs to 200,000 characters, and a
        # search hit's `matched` cuts its checkpoint again.
        spans = [m.span() for m in islice(_TOKEN.finditer(text), (self.limit - 1) * step + self.words)]
        if not spans:
            return []
        out: list[str] = []
        for start in range(0, len(spans), step):
            window = spans[start:start + self.words]
            out.append(text[window[0][0]:window[-1][1]])
            if start + self.words >= len(spans) or len(out) >= self.limit:
                break
        return out

    def of(self, whole: str, parts: list[str]) -> list[str]:
        """The passages of a checkpoint whose whole text is `whole`: none when its own vector reads all of
        it, else each of its long `parts` (fields) cut on its own, so that a change to one field (a new
        title) leaves the other fields' passages as they were."""
        if len(whole) <= self.min_chars:
            return []
        out: list[str] = []
        for part in parts:
            out += self.split(part)
            if len(out) >= self.limit:
                return out[:self.limit]
        return out


DEFAULT_PASSAGES = Passages()


def excerpt(passage: str, chars: int = 300, around: Iterable[str] = ()) -> str:
    """A passage shortened for a search hit, on one line, in whole words: from a little before the
    first of the query's words `around` that it contains (so the hit shows where), else from its start."""
    flat = " ".join(passage.split())
    if len(flat) <= chars:
        return flat
    found = [m.start() for m in (re.search(rf"(?<!\w){re.escape(w)}", flat, re.IGNORECASE) for w in around if w) if m]
    start = max(min(found) - chars // 4, 0) if found else 0
    if start:
        start = flat.find(" ", start) + 1 or start
    piece = flat[start:start + chars]
    if start + chars < len(flat):
        piece = piece.rsplit(" ", 1)[0] + " …"
    return ("… " if start else "") + piece
