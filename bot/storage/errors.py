"""Typed errors raised by MeetBot's stores, and how to recognise a conflict from any Storage."""

from __future__ import annotations

from bot.core.ports import RecordConflict

HTTP_PRECONDITION_FAILED = 412


class StorageError(Exception):
    """The store cannot serve the request (closed, or the database cannot be used as configured)."""


class ConflictError(KeyError, RecordConflict):
    """A conditional write lost: the stored eTag is not the one the writer read.

    It is a `KeyError` whose message starts with "Etag conflict", exactly like botbuilder's
    `MemoryStorage`, because `TeamsSSOTokenExchangeMiddleware` recognises a duplicate
    token exchange only by that text; to the use cases it is the ports' `RecordConflict`.
    """

    def __init__(self, key: str, expected_etag: str | None, current_etag: str | None) -> None:
        super().__init__(
            f"Etag conflict. key={key!r} Original: {expected_etag} Current: {current_etag}"
        )
        self.key = key
        self.expected_etag = expected_etag
        self.current_etag = current_etag

    def __str__(self) -> str:
        # KeyError would show the repr of its argument; keep the message as written.
        return str(self.args[0])

    def __reduce__(self) -> tuple[type[ConflictError], tuple[str, str | None, str | None]]:
        return type(self), (self.key, self.expected_etag, self.current_etag)


def is_conflict(error: BaseException) -> bool:
    """Whether `error`, raised by some `Storage.write`, means an eTag precondition failed."""
    if isinstance(error, ConflictError):
        return True
    # botbuilder's MemoryStorage and CosmosDbPartitionedStorage say so only in the message
    # (the SSO middleware matches the same two texts); azure-core errors carry HTTP 412.
    message = str(error)
    if "Etag conflict" in message or "precondition is not met" in message:
        return True
    return getattr(error, "status_code", None) == HTTP_PRECONDITION_FAILED
