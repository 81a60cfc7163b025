"""The stdio front end: the wire claimed at once, and the handshake answered before the SDK is imported.

Importing the MCP SDK takes over a second; a client spawning this server waits for `initialize` and
`tools/list` before anything else. So the process starts here, importing neither `mcp` nor pydantic:
a thread reads stdin from the first instant, and while the SDK and the real server are built on the
main thread it answers `initialize`, `tools/list` and `ping` from `handshake.json`, the SDK's own
answers recorded from the real server (`python -m mcp_server_checkpoints.server.describe` writes
it; tests/server/test_handshake_description.py fails when it is stale). Every line read, answered
or not, is queued for the real session: when the server is ready it reads them in order, so the SDK
sees the whole conversation (its session holds the client's info, capabilities and the negotiated
version), and the replies it writes to requests answered here are dropped (`take_sent`), each
checked equal to what was sent (a difference is logged: the description is stale).

Only what is certainly answered the same is answered here: the first request must be an `initialize`
whose parameters the SDK is sure to accept (anything unusual — `_meta`, icons, odd types, surrogate
escapes, a modern-era envelope — and the front end stays silent for the whole session), `tools/list`
and `ping` without parameters after it, ids that are plain numbers or plain strings, each id once.

At stdin EOF (or SIGTERM) before the real server is up, a session whose every request was answered
here has nothing left to do: the process exits at once instead of finishing the SDK's import.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import sys
import threading
from contextlib import contextmanager, suppress

TYPE_CHECKING = False  # typing's own flag, without importing typing on the way to the first answer
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any, BinaryIO

DESCRIPTION_FILE = os.path.join(os.path.dirname(__file__), "handshake.json")
# "0" switches the answers here off (the SDK answers every line): to compare the two, or to rule this out.
FAST_ENV = "CHECKPOINTS_FAST_HANDSHAKE"
FAST_METHODS = ("initialize", "tools/list", "ping")

_PLAIN_STRING_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")
_MAX_INT_ID = 2**53  # beyond it a JSON number may not survive every parser unchanged
_DICT_CAPABILITIES = ("sampling", "elicitation", "tasks", "experimental", "extensions")


class Description:
    """The SDK's answers, per protocol version, as the text that follows the id in its response line."""

    def __init__(self, latest: str, answers: dict[str, dict[str, str]], sdk_version: str = "") -> None:
        self.latest = latest  # the SDK's answer to a version it does not support
        self.answers = answers  # version → method → `,"result":{…}}`
        self.sdk_version = sdk_version

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Description) and self.to_json() == other.to_json()

    def __repr__(self) -> str:
        return f"Description(latest={self.latest!r}, versions={sorted(self.answers)}, sdk={self.sdk_version!r})"

    @classmethod
    def load(cls, path: str = DESCRIPTION_FILE) -> Description:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        texts = data["texts"]
        answers = {v: {m: texts[i] for m, i in by_method.items()} for v, by_method in data["answers"].items()}
        return cls(latest=data["latest"], answers=answers, sdk_version=data.get("sdk", ""))

    def to_json(self) -> str:
        """The file: each distinct answer once (most versions list the same tools)."""
        index: dict[str, int] = {}
        answers = {v: {m: index.setdefault(t, len(index)) for m, t in sorted(by_method.items())}
                   for v, by_method in sorted(self.answers.items())}
        texts = sorted(index, key=index.__getitem__)
        return json.dumps({"sdk": self.sdk_version, "latest": self.latest, "answers": answers, "texts": texts},
                          indent=1, ensure_ascii=False) + "\n"

    def line(self, version: str, method: str, rid: int | str) -> bytes:
        """The SDK's response line to `method` with id `rid` on a connection at `version`."""
        shown = str(rid) if isinstance(rid, int) else f'"{rid}"'
        return f'{{"jsonrpc":"2.0","id":{shown}{self.answers[version][method]}\n'.encode()

    def negotiate(self, requested: str) -> str:
        """The SDK's rule: a version it supports is echoed, any other gets its latest."""
        return requested if requested in self.answers else self.latest


def _plain_id(rid: Any) -> bool:
    if isinstance(rid, bool):
        return False
    if isinstance(rid, int):
        return -_MAX_INT_ID < rid < _MAX_INT_ID
    return isinstance(rid, str) and _PLAIN_STRING_ID.fullmatch(rid) is not None


def _dict_tree(value: Any, depth: int = 0) -> bool:
    """Only objects all the way down: what every dict-typed capability field accepts."""
    return isinstance(value, dict) and depth < 6 and all(_dict_tree(v, depth + 1) for v in value.values())


def _plain_initialize(params: Any) -> str | None:
    """The requested protocol version when the SDK certainly accepts these `initialize` params, else None."""
    if not isinstance(params, dict) or "_meta" in params:
        return None
    version, caps, info = params.get("protocolVersion"), params.get("capabilities"), params.get("clientInfo")
    if not isinstance(version, str) or not isinstance(caps, dict) or not isinstance(info, dict):
        return None
    if not isinstance(info.get("name"), str) or not isinstance(info.get("version"), str) or "icons" in info:
        return None
    if any(k in info and not isinstance(info[k], str) for k in ("title", "description", "websiteUrl")):
        return None
    if "roots" in caps:
        roots = caps["roots"]
        if not isinstance(roots, dict) or not isinstance(roots.get("listChanged", False), bool):
            return None
    if any(k in caps and not _dict_tree(caps[k]) for k in _DICT_CAPABILITIES):
        return None
    return version


class _Wire:
    """The process's stdin and stdout, on private descriptors; fd 0 reads the null device and fd 1 is
    stderr meanwhile, so a stray print or a child process never touches the protocol (as the SDK does)."""

    def __init__(self, stdin: BinaryIO, stdout_fd: int | None) -> None:
        self.stdin = stdin
        self.stdout_fd = stdout_fd  # None: fd 1 is left to the SDK's own claim
        self._restore: list[tuple[int, int]] = []

    @classmethod
    def claim(cls) -> _Wire:
        try:
            private_in = _private_dup(0)
        except OSError:  # no fd 0 at all: read what sys.stdin has
            return cls(sys.stdin.buffer, None)
        wire = cls(os.fdopen(private_in, "rb", closefd=False), None)  # a blocked reader may outlive us
        if sys.platform == "win32":  # the std handles would need rebinding too (the SDK uses win32 calls)
            return wire
        with suppress(OSError):
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.close(null)
            wire._restore.append((private_in, 0))
        with suppress(OSError):
            private_out = _private_dup(1)
            try:
                os.dup2(2, 1)
            except OSError:
                os.close(private_out)
            else:
                wire.stdout_fd = private_out
                wire._restore.append((private_out, 1))
        return wire

    def write(self, data: bytes) -> None:
        assert self.stdout_fd is not None
        view = memoryview(data)
        while view:
            view = view[os.write(self.stdout_fd, view):]

    def release(self) -> None:
        """Point fd 0 and fd 1 back at the wire (the private descriptors stay open for a late reader)."""
        for private, fd in reversed(self._restore):
            with suppress(OSError):
                os.dup2(private, fd)
        self._restore.clear()


def _private_dup(fd: int) -> int:
    if sys.platform == "win32":
        dup = os.dup(fd)
        os.set_inheritable(dup, False)
        return dup
    import fcntl

    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)


class FrontEnd:
    """The wire's reader: every stdin line, in order, for the real session; the handshake answered early.

    `description=None`: a plain reader (the fast answers off, or a server run in-process).
    `exits`: whether the end of stdin before the hand-over may end the process (only a process that is
    nothing but this server: never one that runs the server in-process).
    """

    handshake_wait_s = 1.0  # the longest the real server's build waits for the handshake to be answered

    def __init__(self, description: Description | None, wire: _Wire, *, exits: bool = False,
                 queue_size: int = 256) -> None:
        self.description = description if wire.stdout_fd is not None else None
        self.wire = wire
        self.exits = exits
        self.lines: queue.Queue[str | None] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._critical = threading.Lock()
        self._sent: dict[int | str, bytes] = {}
        self._version: str | None = None  # negotiated by the initialize answered here
        self._quiet = self.description is None  # answering nothing more: the SDK decides everything
        self._handed_over = False
        self._unanswered = 0  # lines read that only the real server can answer
        self._ended = False
        self.closed = False
        self._settled = threading.Event()  # the handshake is answered, or something needs the real server

    # -- the reader thread ---------------------------------------------------------------
    def start(self) -> FrontEnd:
        threading.Thread(target=self._pump, name="stdin-reader", daemon=True).start()
        return self

    def _pump(self) -> None:
        try:
            for raw in iter(self.wire.stdin.readline, b""):
                line = raw.decode("utf-8", errors="replace")
                with self._lock:  # written under the lock: the hand-over never cuts an answer in two
                    if self._ended:
                        return
                    reply = self.feed(line)
                    if reply is not None:
                        self.wire.write(reply)
                self.lines.put(line)
        except (OSError, ValueError):
            sys.stderr.write("mcp-server-checkpoints: stdin could not be read; ending the session\n")
        finally:
            if self.end():
                self.lines.put(None)  # this thread may wait for room; the session reads on

    def feed(self, line: str) -> bytes | None:
        """Take one stdin line before the hand-over: the response line to write for it, if answered here."""
        if self._handed_over:
            return None
        reply = None if self._quiet else self._answer(line)
        if reply is None:
            if _needs_answer(line):
                self._unanswered += 1
                self._settled.set()
            return None
        rid, data = reply
        self._sent[rid] = data
        if b'"tools"' in data[:40]:  # tools/list: the last step of the handshake
            self._settled.set()
        return data

    def _answer(self, line: str) -> tuple[int | str, bytes] | None:
        """(id, response line) for a request answered here; None leaves it to the SDK."""
        assert self.description is not None
        msg = _request(line)
        if msg is None:
            return None
        method, rid, params = msg
        if self._version is None:  # the opening request decides the session (and its protocol era)
            version = _plain_initialize(params) if method == "initialize" and _plain_id(rid) else None
            if version is None:
                self._quiet = True
                return None
            self._version = self.description.negotiate(version)
            return rid, self.description.line(self._version, method, rid)
        if method in ("tools/list", "ping") and params in (None, {}) and _plain_id(rid) and rid not in self._sent:
            return rid, self.description.line(self._version, method, rid)
        return None

    def end(self) -> bool:
        """stdin's end (EOF, or SIGTERM): with nothing left for the real server, the process is done.

        True when the session still has lines to read up to the end (the caller queues the end mark).
        """
        self._settled.set()
        with self._lock:
            if self._ended:
                return False
            self._ended = True
            exit_now = self.exits and not self._handed_over and self._unanswered == 0
        if exit_now:
            with self._critical:  # never in the middle of opening the database
                sys.stderr.flush()
                os._exit(0)
        return True

    def sigterm(self) -> None:
        if self.end():
            with suppress(queue.Full):
                self.lines.put_nowait(None)

    # -- the real server's side ----------------------------------------------------------
    def wait_for_handshake(self, timeout_s: float | None = None) -> bool:
        """Wait until the handshake is answered (or a request needs the real server, or stdin ended).

        Building the real server is CPU- and GIL-bound: started meanwhile, it makes the answers here
        wait their turn on a busy machine. A client sends `initialize` the moment it spawns the server,
        so the wait is short; `timeout_s` (default `handshake_wait_s`) bounds it for a client that says nothing.
        """
        return self._quiet or self._settled.wait(self.handshake_wait_s if timeout_s is None else timeout_s)

    @contextmanager
    def critical(self) -> Iterator[None]:
        """A step an early exit must not cut short (opening the database, its migrations)."""
        with self._critical:
            yield

    def hand_over(self) -> None:
        """From now on the SDK answers everything (its replies to lines answered here are dropped)."""
        with self._lock:
            self._handed_over = True

    def answered_early(self, rid: Any) -> bool:
        """Whether request `rid` was answered here (and the SDK's reply to it is still to come)."""
        with self._lock:
            return isinstance(rid, int | str) and rid in self._sent

    def take_sent(self, rid: Any) -> bytes | None:
        """The line sent here for request `rid`, once: the SDK's own reply to it is not sent again."""
        with self._lock:
            return self._sent.pop(rid, None) if isinstance(rid, int | str) else None

    def close(self) -> None:
        """End the lines now, as if stdin had closed (lines still queued are not read)."""
        with self._lock:
            self._ended = self._handed_over = self.closed = True
        with suppress(queue.Full):
            self.lines.put_nowait(None)


def _request(line: str) -> tuple[str, Any, Any] | None:
    """(method, id, params) of a plain JSON-RPC request line; None for anything else."""
    if _SURROGATE_ESCAPE.search(line):
        return None  # the stdio guard has a say on those
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("jsonrpc") != "2.0" or not set(data) <= {"jsonrpc", "id", "method",
                                                                                         "params"}:
        return None
    method, rid = data.get("method"), data.get("id")
    if method not in FAST_METHODS or "id" not in data:
        return None
    return method, rid, data.get("params")


def _needs_answer(line: str) -> bool:
    """Whether the line is something the real server must answer (anything but a notification or a blank)."""
    if not line.strip():
        return False
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        return True
    return not (isinstance(data, dict) and "method" in data and "id" not in data)


def fast_enabled(environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    return environ.get(FAST_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def start_front_end(*, fast: bool | None = None, process: bool = True,
                    description: Callable[[], Description] = Description.load) -> FrontEnd:
    """Claim the wire and start reading it.

    `process`: this process is the server and nothing else (the CLI): the end of stdin (or SIGTERM)
    before the real server is up, with nothing left to answer, exits it at once.
    """
    desc = None
    if fast_enabled() if fast is None else fast:
        try:
            desc = description()
        except (OSError, ValueError, KeyError):
            sys.stderr.write("mcp-server-checkpoints: handshake.json is unreadable; the SDK answers the handshake\n")
    front = FrontEnd(desc, _Wire.claim(), exits=process)
    if process and threading.current_thread() is threading.main_thread() and sys.platform != "win32":
        # The real server's own SIGTERM handling replaces this once it runs.
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=front.sigterm, daemon=True).start())
    return front.start()
