"""What the user's first message says about resuming: an id, a formatted continuation, a natural request, or nothing.

The three patterns of the recovery specification (seeds/context-recovery-agent.md):
- formatted continuation: "Continue work on:", "Resume:", "Progress:", "Next steps:", "Files modified:",
  or a pasted compaction summary ("This session is being continued from a previous conversation");
- natural language: "let's continue …", "where were we on …", "resume the … work", "what was I working on?";
- anything else: the proactive check at conversation start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["id", "formatted", "natural", "none"]

CHECKPOINT_ID = re.compile(r"\bcheckpoint-\d{4}-\d{2}-\d{2}-[a-z0-9-]*[a-z0-9]\b")

# "Label:" at the start of a line (optionally bulleted or bold), as agents and users paste them.
_LABEL = r"^[ \t>*_#-]*(?:\*\*)?\s*{}\s*(?:\*\*)?\s*:\s*(.*)$"
FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "topic": ("continue work on", "continue working on", "resume", "resuming", "task", "working on"),
    "progress": ("progress",),
    "next": ("next steps", "next step", "next"),
    "files": ("files modified", "files changed", "files"),
}
STRONG_LABELS = ("continue work on", "continue working on", "resume")
COMPACTION_MARKERS = (
    "this session is being continued from a previous conversation",
    "primary request and intent:",
)

NATURAL_PATTERNS = [
    r"\b(?:let'?s|lets|can we|could we|we should|i want to|i'd like to|please)\s+(?:continue|resume|pick up|get back to|go back to|carry on(?: with)?|keep going(?: with)?|finish)\b",
    r"^\s*(?:continue|resume|pick up|get back to|back to|carry on(?: with)?)\b",
    r"\bwhere (?:were we|we left off|did we leave off|was i)\b",
    r"\b(?:we|i) (?:were|was) (?:working on|building|doing|fixing|writing|implementing)\b",
    r"\bfrom (?:before|last time|the previous (?:conversation|session|chat)|our (?:last|previous) (?:conversation|session|chat))\b",
    r"\b(?:previous|last|earlier) (?:conversation|session|chat)\b",
    r"\bwhat (?:was|were) (?:i|we) (?:working on|doing)\b",
    r"\bload (?:the )?(?:previous|last) context\b",
    r"\bresume (?:the |my |our |last )?(?:\w+ )?(?:session|work|task)\b",
]
_NATURAL = [re.compile(p, re.IGNORECASE | re.MULTILINE) for p in NATURAL_PATTERNS]

# Words that say "resume" rather than what the work was: removed before searching by topic.
RESUME_WORDS = frozenset(
    """continue continuing resume resuming pick picking back carry keep going get go finish left off where were was
    working work worked building built doing done fixing writing implementing session sessions conversation chat
    previous last earlier before time from context load what our my the a an we i us let lets let's can could should
    want like to on with of and please ok okay again up it that this thing stuff task tasks""".split()
)


@dataclass
class Detection:
    kind: Kind
    checkpoint_id: str | None = None
    topic: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    compaction_summary: bool = False

    @property
    def has_topic(self) -> bool:
        return bool(topic_words(self.topic))


# The headings and stock sentences of a Claude Code compaction summary say nothing about the work.
SUMMARY_WORDS = frozenset(
    """session being continued ran out summarized below summary analysis primary request intent key technical concepts
    files code sections errors fixes problem solving all user messages pending current optional next step""".split()
)


def key_terms(text: str, limit: int = 32) -> list[str]:
    """At most `limit` distinct topic words, for a long text its most distinctive ones.

    A pasted summary is thousands of words; its first few are stock phrases. Longer words are
    rarer and say more, so the longest distinct words are kept (in the order they first appear).
    """
    words = list(dict.fromkeys(w for w in topic_words(text) if w not in _COMMON))
    if len(words) <= limit:
        return words
    keep = set(sorted(words, key=lambda w: (-len(w), words.index(w)))[:limit])
    return [w for w in words if w in keep]


_COMMON = frozenset("the and for with that this from have has was were are will would should could into".split())


def topic_words(text: str) -> list[str]:
    """The words of a message that can say what the work is (file names like auth.js kept whole)."""
    words = (w.strip(".-/+#") for w in re.findall(r"[\w][\w.+#/-]*", text.lower()))
    return [w for w in words
            if len(w) > 1 and not w.isdigit() and w not in RESUME_WORDS and w not in SUMMARY_WORDS]


def _labelled(message: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, labels in FIELD_LABELS.items():
        for label in labels:
            m = re.search(_LABEL.format(re.escape(label)), message, re.IGNORECASE | re.MULTILINE)
            if m:
                found.setdefault(key, m.group(1).strip())
                found.setdefault(f"label:{key}", label)
                break
    return found


def detect(message: str | None) -> Detection:
    text = (message or "").strip()
    if not text:
        return Detection("none")
    m = CHECKPOINT_ID.search(text)
    if m:
        return Detection("id", checkpoint_id=m.group(0), topic=text)

    lowered = text.lower()
    if any(marker in lowered for marker in COMPACTION_MARKERS):
        return Detection("formatted", topic=text, compaction_summary=True)
    fields = _labelled(text)
    labels = {k for k in fields if not k.startswith("label:")}
    strong = fields.get("label:topic") in STRONG_LABELS
    if strong or len(labels) >= 2:
        topic = " ".join(v for k, v in fields.items() if k in ("topic", "next") and v) or text
        return Detection("formatted", topic=topic, fields={k: v for k, v in fields.items() if not k.startswith("label:")})

    if any(p.search(text) for p in _NATURAL):
        return Detection("natural", topic=text)
    return Detection("none", topic=text)
