"""`AzureBlobStorage`: a `ClosableStorage` in one Azure Blob container, shared by bot replicas."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, HttpResponseError
from azure.storage.blob import ContentSettings  # type: ignore[import-untyped]
from azure.storage.blob.aio import (  # type: ignore[import-untyped]
    BlobClient,
    BlobServiceClient,
    ContainerClient,
    LinearRetry,
)

from bot.storage.base import ClosableStorage
from bot.storage.errors import ConflictError, StorageError
from bot.storage.items import (
    ANY_ETAG,
    check_precondition,
    decode,
    encode,
    requested_etag,
    stamp_etag,
    validate_key,
)

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

# The Azure SDK logs every request and response, headers included, at INFO.
_AZURE_HTTP_LOG = logging.getLogger("azure.core.pipeline.policies.http_logging_policy")

# Keys that are already safe blob names are used as they are, exactly as botbuilder-azure's
# BlobStorage names its blobs, so both can share a container. Everything else (empty, too
# long, control or non-ASCII characters, "\" which Azure turns into "/", "." or ".." path
# segments that URLs collapse, a trailing "." that Azure drops) is stored under a hash; plain
# names never start with "~", so the two kinds of name cannot collide.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9\-._~:@;=!$&'()*+,/]{1,1024}")
_HASHED_PREFIX = "~sha256/"
_MAX_PATH_SEGMENTS = 254
_CONTAINER_NAME = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")

# Set on every conditional write: if the service applied a write whose answer was lost and
# the SDK's retry then fails its precondition, this tells that the current version is ours.
_WRITE_ID = "meetbotwriteid"
_JSON = ContentSettings(content_type="application/json; charset=utf-8")
# The SDK's default retry backs off 15 s and more: far beyond a turn's 15 s budget.
_RETRY_TOTAL = 2
_RETRY_BACKOFF_S = 0.5
_CONNECTION_TIMEOUT_S = 5
_READ_TIMEOUT_S = 10
_MAX_CONCURRENT_REQUESTS = 16


def blob_name(key: str) -> str:
    """The name of the blob that holds `key`: the key itself when Azure can keep it verbatim."""
    if _is_plain_name(key):
        return key
    return _HASHED_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()


def valid_container_name(name: str) -> bool:
    """Whether Azure accepts `name` for a container."""
    return _CONTAINER_NAME.fullmatch(name) is not None


def _is_plain_name(key: str) -> bool:
    if not _PLAIN_NAME.fullmatch(key) or key.startswith("~") or key.endswith("."):
        return False
    segments = key.split("/")
    # Only the last segment may be empty, as in a key ending with "/".
    return (
        len(segments) <= _MAX_PATH_SEGMENTS
        and all(segment not in ("", ".", "..") for segment in segments[:-1])
        and segments[-1] not in (".", "..")
    )


class BlobStorageError(StorageError):
    """Azure Blob Storage refused a request or could not be reached; never holds a secret."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.request_id = request_id


@dataclass(frozen=True, slots=True)
class _Change:
    key: str
    blob: str
    etag: str | None  # None: unconditional
    document: bytes


@dataclass(frozen=True, slots=True)
class _Version:
    etag: str
    document: bytes


class _Refused(Exception):
    """The service answered with an error code the caller handles (a precondition, a 404)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class AzureBlobStorage(ClosableStorage):
    """A `ClosableStorage` with one JSON blob per key in an Azure Blob Storage container.

    Blobs hold the same jsonpickle JSON as botbuilder-azure's `BlobStorage`, under the same
    names for ordinary keys, and eTags are the service's, unquoted as there; so either can
    read and update what the other wrote. `BlobStorage` itself is not used: it sends a
    caller's eTag as If-Match even when the blob does not exist (Azure answers 412, so the
    SSO middleware's first write and `Records.create` fail), its conflicts lack the
    "Etag conflict" text botbuilder looks for, it never sets the new eTag on the written
    value, it reads any error other than 404 as a missing key, it writes several keys one
    by one, and it decodes with jsonpickle's unsafe mode (which evaluates `py/repr`).

    A write conditional on an eTag is a Put Blob with If-Match; if no version has that eTag
    it is tried again as a create (If-None-Match: *). That keeps botbuilder's rule that a
    missing key accepts any eTag, and exactly one of several racing creators wins.
    Blob Storage has no transaction across blobs: a write of several keys checks every
    precondition before writing anything and writes the conditional keys first; if one of
    them loses a race after that check, the ones already written are put back. A service
    failure (not a conflict) part way may leave some of the unconditional keys written.
    """

    def __init__(self, connection_string: str, container: str) -> None:
        if not connection_string.strip():
            raise ValueError("AzureBlobStorage needs a storage account connection string")
        if not valid_container_name(container):
            raise ValueError(
                f"{container!r} is not a valid Azure container name: 3-63 lowercase letters, "
                "digits and single hyphens, starting and ending with a letter or digit"
            )
        try:
            self._service = BlobServiceClient.from_connection_string(
                connection_string,
                retry_policy=LinearRetry(
                    backoff=_RETRY_BACKOFF_S,
                    retry_total=_RETRY_TOTAL,
                    random_jitter_range=_RETRY_BACKOFF_S / 2,
                ),
                connection_timeout=_CONNECTION_TIMEOUT_S,
                read_timeout=_READ_TIMEOUT_S,
            )
        except ValueError:
            # The SDK's message may quote the connection string, which holds the account key.
            raise ValueError("the storage account connection string is malformed") from None
        if _AZURE_HTTP_LOG.level == logging.NOTSET:  # unless someone chose a level for it
            _AZURE_HTTP_LOG.setLevel(logging.WARNING)
        self._account = str(self._service.account_name)
        self._container_name = container
        self._container: ContainerClient = self._service.get_container_client(container)
        self._ready = False
        self._ready_lock = asyncio.Lock()
        self._requests = asyncio.Semaphore(_MAX_CONCURRENT_REQUESTS)
        self._closed = False

    def __repr__(self) -> str:
        return f"AzureBlobStorage(account={self._account!r}, container={self._container_name!r})"

    @property
    def container(self) -> str:
        return self._container_name

    async def open(self) -> None:
        """Check that the container can be used, creating it if it does not exist yet.

        Raises `BlobStorageError` with one line: the account and container, the cause and
        what to check (the start-up check).
        """
        self._ensure_open()
        async with self._ready_lock:
            if self._ready:
                return
            try:
                await self._open_container()
            except BlobStorageError as error:
                raise BlobStorageError(
                    f"{error}; check that the storage account is reachable from here and "
                    "that AZURE_STORAGE_CONNECTION_STRING and AZURE_STORAGE_CONTAINER are right",
                    status=error.status,
                    code=error.code,
                    request_id=error.request_id,
                ) from error
            self._ready = True

    async def _open_container(self) -> None:
        try:
            await self._request(
                "cannot use the container",
                self._container.get_container_properties,
                handled={"ContainerNotFound"},
            )
        except _Refused:
            with suppress(_Refused):  # another replica created it just now
                await self._request(
                    "cannot create the container",
                    self._container.create_container,
                    handled={"ContainerAlreadyExists"},
                )

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._service.close()

    async def read(self, keys: Iterable[str] | None) -> dict[str, Any]:
        self._ensure_open()
        wanted = list(dict.fromkeys(validate_key(key) for key in keys or ()))
        if not wanted:
            return {}
        if not self._ready:
            await self.open()
        versions = await asyncio.gather(*(self._download(blob_name(key)) for key in wanted))
        return {
            key: decode(version.document.decode("utf-8"), version.etag)
            for key, version in zip(wanted, versions, strict=True)
            if version is not None
        }

    async def write(self, changes: Mapping[str, object] | None) -> None:
        self._ensure_open()
        if changes is None:
            raise ValueError("Changes are required when writing")
        prepared = [_prepare(key, value) for key, value in changes.items()]
        if not prepared:
            return
        if not self._ready:
            await self.open()
        conditional = [change for change in prepared if change.etag is not None]
        unconditional = [change for change in prepared if change.etag is None]
        written: dict[str, str] = {}
        # Conditional keys first: when one of them conflicts, nothing else has been written.
        if len(conditional) == 1:
            written[conditional[0].key] = await self._put_conditional(conditional[0])
        elif conditional:
            written.update(await self._put_all_or_none(conditional))
        etags = await asyncio.gather(*(self._put(change) for change in unconditional))
        written.update(zip((change.key for change in unconditional), etags, strict=True))
        for key, value in changes.items():
            stamp_etag(value, written[key])

    async def delete(self, keys: Iterable[str] | None) -> None:
        self._ensure_open()
        doomed = list(dict.fromkeys(validate_key(key) for key in keys or ()))
        if not doomed:
            return
        if not self._ready:
            await self.open()
        await asyncio.gather(*(self._delete(blob_name(key)) for key in doomed))

    async def keys(self, prefix: str) -> list[str]:
        self._ensure_open()
        if not self._ready:
            await self.open()

        async def names() -> list[str]:
            listed = self._container.list_blobs(name_starts_with=prefix)
            return [str(blob.name) async for blob in listed]

        found = await self._request("list keys", names)
        return sorted(name for name in found if not name.startswith(_HASHED_PREFIX))

    def _blob(self, name: str) -> BlobClient:
        return self._container.get_blob_client(name)

    async def _request(
        self,
        what: str,
        request: Callable[[], Awaitable[_T]],
        *,
        handled: Collection[str] = (),
    ) -> _T:
        """One call to the service: codes in `handled` raise `_Refused`, others a typed error."""
        async with self._requests:
            try:
                return await request()
            except HttpResponseError as error:
                code = _error_code(error)
                if code is not None and code in handled:
                    raise _Refused(code) from error
                raise self._error(what, error) from error
            except AzureError as error:
                raise self._error(what, error) from error

    async def _download(self, name: str) -> _Version | None:
        async def download() -> _Version:
            stream = await self._blob(name).download_blob()
            document: bytes = await stream.readall()
            return _Version(_unquote(stream.properties.etag), document)

        try:
            return await self._request("cannot read a blob", download, handled={"BlobNotFound"})
        except _Refused:
            return None

    async def _put(self, change: _Change) -> str:
        """Write unconditionally; the new version's eTag."""
        result = await self._request(
            "cannot write a blob",
            lambda: self._blob(change.blob).upload_blob(
                change.document, overwrite=True, content_settings=_JSON
            ),
        )
        return _unquote(result["etag"])

    async def _put_conditional(self, change: _Change) -> str:
        """Write if the stored version has the change's eTag or there is none; else conflict."""
        blob, write_id = self._blob(change.blob), uuid.uuid4().hex
        metadata = {_WRITE_ID: write_id}
        try:
            result = await self._request(
                "cannot write a blob",
                lambda: blob.upload_blob(
                    change.document,
                    etag=_quote(change.etag),
                    match_condition=MatchConditions.IfNotModified,
                    metadata=metadata,
                    content_settings=_JSON,
                ),
                handled=_NO_SUCH_VERSION,
            )
            return _unquote(result["etag"])
        except _Refused:
            pass
        # No version has that eTag: another one is stored (a conflict), or none is.
        try:
            result = await self._request(
                "cannot create a blob",
                lambda: blob.upload_blob(
                    change.document,
                    match_condition=MatchConditions.IfMissing,
                    metadata=metadata,
                    content_settings=_JSON,
                ),
                handled=_ALREADY_EXISTS,
            )
            return _unquote(result["etag"])
        except _Refused:
            pass
        try:
            properties = await self._request(
                "cannot read a blob's properties",
                blob.get_blob_properties,
                handled={"BlobNotFound"},
            )
        except _Refused:
            raise ConflictError(change.key, change.etag, None) from None
        current = _unquote(properties.etag)
        if (properties.metadata or {}).get(_WRITE_ID) == write_id:
            return current
        raise ConflictError(change.key, change.etag, current)

    async def _put_all_or_none(self, changes: Sequence[_Change]) -> dict[str, str]:
        before = await asyncio.gather(*(self._download(change.blob) for change in changes))
        for change, version in zip(changes, before, strict=True):
            check_precondition(change.key, change.etag, None if version is None else version.etag)
        written: list[tuple[_Change, _Version | None, str]] = []
        try:
            for change, version in zip(changes, before, strict=True):
                written.append((change, version, await self._put_conditional(change)))
        except BaseException:
            # Shielded: a cancelled write still puts back what it had written.
            await asyncio.shield(self._undo(written))
            raise
        return {change.key: etag for change, _version, etag in written}

    async def _undo(self, written: Sequence[tuple[_Change, _Version | None, str]]) -> None:
        """Put back the versions a failed write replaced, unless someone changed them since."""
        for change, previous, etag in reversed(written):
            try:
                await self._request(
                    "cannot put back a blob",
                    partial(self._restore, self._blob(change.blob), previous, etag),
                    handled=_NO_SUCH_VERSION,
                )
            except (StorageError, _Refused):
                _log.warning(
                    "a failed write could not put back %r; it keeps its new value", change.key
                )

    @staticmethod
    async def _restore(blob: BlobClient, previous: _Version | None, written_etag: str) -> None:
        if previous is None:
            await blob.delete_blob(etag=_quote(written_etag), match_condition=_UNCHANGED)
        else:
            await blob.upload_blob(
                previous.document,
                etag=_quote(written_etag),
                match_condition=_UNCHANGED,
                content_settings=_JSON,
            )

    async def _delete(self, name: str) -> None:
        with suppress(_Refused):  # deleting a missing key is not an error
            await self._request(
                "cannot delete a blob", self._blob(name).delete_blob, handled={"BlobNotFound"}
            )

    def _ensure_open(self) -> None:
        if self._closed:
            raise StorageError(f"{self!r} is closed")

    def _error(self, what: str, error: AzureError) -> BlobStorageError:
        where = (
            f"Azure Blob Storage (account {self._account!r}, container {self._container_name!r})"
        )
        if not isinstance(error, HttpResponseError):
            # A transport error: its class says enough, and its text may hold a SAS URL.
            return BlobStorageError(f"{where} {what}: {type(error).__name__}")
        status, code = error.status_code, _error_code(error)
        request_id = _header(error, "x-ms-request-id")
        return BlobStorageError(
            f"{where} {what}: HTTP {status} {code or 'without an error code'} "
            f"(request id {request_id})",
            status=status,
            code=code,
            request_id=request_id,
        )


_UNCHANGED = MatchConditions.IfNotModified
# If-Match with an eTag no version has: 412 ConditionNotMet, also for a missing blob (Azure
# and Azurite); 404 BlobNotFound is accepted too, in case a service answers that instead.
_NO_SUCH_VERSION = frozenset({"ConditionNotMet", "BlobNotFound"})
# If-None-Match: * on an existing blob: 409 BlobAlreadyExists (or 412 ConditionNotMet).
_ALREADY_EXISTS = frozenset({"BlobAlreadyExists", "ConditionNotMet"})


def _prepare(key: str, value: object) -> _Change:
    key = validate_key(key)
    etag = requested_etag(value)
    return _Change(
        key=key,
        blob=blob_name(key),
        etag=None if etag == ANY_ETAG else etag,
        document=encode(value).encode("utf-8"),
    )


def _header(error: HttpResponseError, name: str) -> str | None:
    headers: Any = getattr(error.response, "headers", None)
    value = headers.get(name) if headers is not None else None
    return str(value) if value else None


def _error_code(error: HttpResponseError) -> str | None:
    return _header(error, "x-ms-error-code")


def _quote(etag: str | None) -> str:
    if etag is None:
        raise ValueError("a conditional request needs an eTag")
    return etag if etag.startswith('"') else f'"{etag}"'


def _unquote(etag: object) -> str:
    # botbuilder-azure hands out eTags without their quotes; so do we, so the two interoperate.
    return str(etag).replace('"', "")
