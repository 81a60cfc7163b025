"""The DB-API module under the SQLite backend: the standard library's `sqlite3`, or SQLCipher for an
encrypted store (the optional extra `encryption`, package `sqlcipher3-binary`).

The two modules have their own exception classes, so the backend catches the tuples below, which
hold the classes of every driver this process has loaded (SQLCipher's join them when it is first
used): `except driver.Error:` is right whichever file raised.
"""

from __future__ import annotations

import sqlite3
from types import ModuleType

from mcp_server_checkpoints.errors import InvalidInputError

Error: tuple[type[Exception], ...] = (sqlite3.Error,)
DatabaseError: tuple[type[Exception], ...] = (sqlite3.DatabaseError,)
IntegrityError: tuple[type[Exception], ...] = (sqlite3.IntegrityError,)
OperationalError: tuple[type[Exception], ...] = (sqlite3.OperationalError,)

# A plain SQLite file starts with these 16 bytes; an SQLCipher file starts with random salt instead.
PLAIN_HEADER = b"SQLite format 3\x00"


def plain() -> ModuleType:
    return sqlite3


def cipher() -> ModuleType:
    """SQLCipher's DB-API module; a clear error when the extra is not installed."""
    global Error, DatabaseError, IntegrityError, OperationalError
    try:
        from sqlcipher3 import dbapi2
    except ImportError:
        raise InvalidInputError(
            "encryption at rest needs the optional extra: pip install 'mcp-server-checkpoints[encryption]'"
            " (SQLCipher); or unset encryption_key_file / CHECKPOINTS_KEY_FILE"
        ) from None
    if dbapi2.Error not in Error:
        Error = (*Error, dbapi2.Error)
        DatabaseError = (*DatabaseError, dbapi2.DatabaseError)
        IntegrityError = (*IntegrityError, dbapi2.IntegrityError)
        OperationalError = (*OperationalError, dbapi2.OperationalError)
    module: ModuleType = dbapi2
    return module


def file_state(path: str | object) -> str:
    """"missing" (or empty), "plain" (a SQLite file) or "other" (encrypted, or not a database at all)."""
    try:
        with open(str(path), "rb") as fh:
            head = fh.read(16)
    except FileNotFoundError:
        return "missing"
    if not head:
        return "missing"
    return "plain" if head == PLAIN_HEADER else "other"
