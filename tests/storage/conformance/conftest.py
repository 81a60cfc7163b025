"""The storage conformance suite: the whole `CheckpointStore` / `GraphStore` contract, run on every backend.

A backend joins by adding a `Backend` to `BACKENDS`: how to open a store on a fresh location, how to
open a second handle on the same location (another connection, as another process would have), and
how to damage a stored payload in place (to check that reads verify it). The Postgres backend for
teams will be the second entry; nothing in the tests below may know which backend runs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.wiring import Services, open_services


@dataclass
class Backend:
    name: str
    location: Callable[[Path], Settings]  # settings of a fresh store under a temporary folder
    damage_payload: Callable[[Settings, str], None]  # flip bytes of one checkpoint's stored payload


def _sqlite_settings(tmp: Path) -> Settings:
    return Settings(db=tmp / "conformance.db", semantic=False, max_payload_bytes=256 * 1024)


def _sqlite_damage(settings: Settings, cid: str) -> None:
    raw = sqlite3.connect(settings.db)
    blob = raw.execute("SELECT payload_blob FROM checkpoints WHERE id = ?", (cid,)).fetchone()[0]
    raw.execute("UPDATE checkpoints SET payload_blob = ? WHERE id = ?",
                (blob[:-4] + bytes(b ^ 0xFF for b in blob[-4:]), cid))
    raw.commit()
    raw.close()


BACKENDS = [Backend("sqlite", _sqlite_settings, _sqlite_damage)]


@dataclass
class Opened:
    backend: Backend
    settings: Settings
    services: Services

    def another(self) -> Services:
        """A second, independent handle on the same store (as a second server process would open it)."""
        return open_services(self.settings)


@pytest.fixture(params=BACKENDS, ids=lambda b: b.name)
def opened(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opened]:
    backend: Backend = request.param
    settings = backend.location(tmp_path)
    s = open_services(settings)
    try:
        yield Opened(backend, settings, s)
    finally:
        s.close()
