"""Checkpoint ids: `checkpoint-2026-11-22-jwt-auth-7f3a9c` (date, slug of the title, random suffix)."""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import datetime

# What an imported id may be.
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")
# Only ids of our own shape are repeated back in messages: anything else may be a pasted secret.
OWN_ID = re.compile(r"^checkpoint-\d{4}-\d{2}-\d{2}-[a-z0-9-]{1,60}$")


def new_id(title: str, now: datetime) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", ascii_title)[:5]
    slug = "-".join(words)[:40].strip("-") or "session"
    return f"checkpoint-{now:%Y-%m-%d}-{slug}-{secrets.token_hex(3)}"


def shown_id(cid: str) -> str:
    """How an id is named in a message: itself when it is ours, else a neutral phrase."""
    return cid if OWN_ID.match(cid) else "with the given id"
