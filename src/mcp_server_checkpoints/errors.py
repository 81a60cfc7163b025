"""Domain errors, raised by storage and recovery and turned into tool errors by the server.

    CheckpointsError
    ├── InvalidInputError        the caller sent something to fix (message says what)
    │   └── PayloadTooLargeError the payload is above the configured limit
    ├── NotFoundError            no checkpoint with that id
    ├── ContextIntegrityError    a stored payload failed its sha256 check
    └── StorageError             the database could not be used (busy, damaged, unwritable)

Messages never contain the offending value: a value may be a secret.
"""


class CheckpointsError(Exception):
    """Base of every error this package raises on purpose."""


class InvalidInputError(CheckpointsError):
    """The input cannot be stored or acted on as given."""


class PayloadTooLargeError(InvalidInputError):
    """The payload exceeds `max_payload_bytes`."""


class NotFoundError(CheckpointsError):
    """No checkpoint with the given id."""


class ContextIntegrityError(CheckpointsError):
    """A payload's bytes do not match the sha256 stored beside them."""


class StorageError(CheckpointsError):
    """The database could not be read or written."""


class DatabaseBusyError(StorageError):
    """Another process held the database's write lock for the whole busy timeout."""


class EncryptionKeyError(StorageError):
    """The store is encrypted and no key, or the wrong key, was given; or a key was given for a plain store."""


def describe(exc: BaseException) -> str:
    """A one-line account of `exc` safe to log: never the text of a foreign exception.

    Our own errors are written not to repeat what they were given, so their message is kept. Any
    other exception's message may quote its input — a transcript line, a stored value, a secret
    (pydantic's and json's errors do) — so only its type and where it was raised are kept.
    """
    if isinstance(exc, CheckpointsError):
        return f"{type(exc).__name__}: {exc}"
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f" at {tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}" if tb is not None else ""
    return f"{type(exc).__name__}{where} (details withheld: they may quote stored text)"
