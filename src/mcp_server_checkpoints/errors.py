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
