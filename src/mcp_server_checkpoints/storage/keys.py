"""Key files for encryption at rest: 32 random bytes, written as 64 hex digits, readable by the user alone.

`ckpt key create` writes one; the setting `encryption_key_file` (env `CHECKPOINTS_KEY_FILE`) names it.
The key is used as a raw key (no passphrase, so no key-derivation cost on every process start). Nothing
here ever prints or logs the key.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path

from mcp_server_checkpoints.errors import InvalidInputError

KEY_BYTES = 32
_HEX = re.compile(r"^[0-9a-f]{64}$")


def create_key_file(path: Path, *, force: bool = False) -> Path:
    """Write a new random key to `path` with mode 0600 (created that way: never readable by others)."""
    path = path.expanduser()
    if path.exists() and not force:
        raise InvalidInputError(f"{path} exists; give another path (a key file is never overwritten without --force)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(KEY_BYTES) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_key(path: Path) -> bytes:
    """The key in `path`; InvalidInputError says what is wrong with the file (never its content)."""
    path = path.expanduser()
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii").strip().lower()
    except FileNotFoundError:
        raise InvalidInputError(f"the key file {path} does not exist; create one with `ckpt key create --out {path}`"
                                " or fix encryption_key_file / CHECKPOINTS_KEY_FILE") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"the key file {path} cannot be read ({type(exc).__name__})") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InvalidInputError(f"the key file {path} can be read by other users; run `chmod 600 {path}`")
    if not _HEX.match(text):
        raise InvalidInputError(f"the key file {path} does not hold a key (64 hex digits, as `ckpt key create` writes)")
    return bytes.fromhex(text)
