"""`SqliteStorage`: a `ClosableStorage` in one SQLite file, safe across threads and processes."""

from __future__ import annotations

import asyncio
import errno
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from bot.core.oserrors import os_error_cause
from bot.storage.base import ClosableStorage
from bot.storage.errors import ConflictError, StorageError
from bot.storage.items import (
    ANY_ETAG,
    check_precondition,
    decode,
    encode,
    new_etag,
    requested_etag,
    stamp_etag,
    validate_key,
)

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS store_items (
    key   TEXT PRIMARY KEY NOT NULL,
    etag  TEXT NOT NULL,
    value TEXT NOT NULL
)
"""
# Well under SQLite's limit on bound parameters per statement.
_KEYS_PER_STATEMENT = 500
# Primary result codes (the low byte of extended ones such as SQLITE_BUSY_SNAPSHOT).
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})

_PreparedWrite = tuple[str, str | None, str]
# An operation, whether it writes, and its caller's future.
_Queued = tuple[Callable[[sqlite3.Connection], Any], bool, "asyncio.Future[Any]"]


@dataclass(frozen=True)
class _Failed:
    """One operation of a group commit that failed on its own (an eTag conflict, a change
    that raised): the others in its transaction still commit."""

    error: Exception


class SqliteStorage(ClosableStorage):
    """A `ClosableStorage` in one SQLite database file (WAL journal, `synchronous=NORMAL`).

    Every write's eTag check and update run in one write transaction (`BEGIN IMMEDIATE`),
    so of several writers (tasks, threads or processes) holding the same eTag exactly one
    wins; a write of several keys is all or nothing.

    Every statement runs on one worker thread that owns the store's only connection, so the
    event loop never waits for the disk or for another process's lock. Operations are
    committed in groups: those asked for while a group is on the worker go in the next, its
    reads in one read transaction and its writes in one write transaction, so a busy bot
    makes one thread hand-off for several turns' operations, not one per operation. An
    operation that fails (an eTag conflict) fails alone; a SQLite error fails its group's
    reads or writes. Reads are never blocked by another process's writer (WAL); writes wait
    up to `busy_timeout` seconds for its lock, then fail with `StorageError`.

    Values are encoded on the caller's thread before the hand-off (a value changed after
    `write` was called is stored as it was) and decoded there after it. SQLite checkpoints
    the WAL itself (every 1000 pages, on a commit). With `synchronous=NORMAL` a committed
    write survives a crash of the process, but the last few may be lost if the machine
    loses power.
    """

    def __init__(self, path: str | Path, *, busy_timeout: float = 10.0) -> None:
        if not str(path).strip():
            raise ValueError("SqliteStorage needs a database file path, got an empty one")
        if busy_timeout <= 0:
            raise ValueError(f"busy_timeout must be positive, got {busy_timeout}")
        self._path = Path(path)
        self._busy_timeout = busy_timeout
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-storage")
        self._connection: sqlite3.Connection | None = None  # touched only on the worker thread
        self._closed = False
        # Operations waiting for the next group commit, and whether one is under way.
        self._queue: list[_Queued] = []
        self._committer: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"SqliteStorage({str(self._path)!r})"

    @property
    def path(self) -> Path:
        return self._path

    async def open(self) -> None:
        """Check at start-up that the store can be used: its directory and file are writable,
        the file is a SQLite database, and `PRAGMA quick_check` passes.

        Raises `StorageError` with one line naming the path, the cause and the fix.
        """
        if self._closed:
            raise StorageError(f"{self!r} is closed")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._open_checked)

    def _open_checked(self) -> None:
        path = self._path
        _check_writable(path)
        try:
            if self._connection is None:
                self._connection = _connect(path, self._busy_timeout)
            problems = [row[0] for row in self._connection.execute("PRAGMA quick_check(5)")]
        except sqlite3.Error as error:
            raise StorageError(_explain_sqlite(path, error)) from error
        if problems != ["ok"]:
            raise StorageError(_damaged(path, str(problems[0])))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        try:
            if self._committer is not None:
                # Operations already asked for are committed first (the committer never raises).
                await self._committer
            await loop.run_in_executor(self._executor, self._close_connection)
        finally:
            self._executor.shutdown(wait=False)

    async def read(self, keys: Iterable[str] | None) -> dict[str, Any]:
        wanted = list(dict.fromkeys(validate_key(key) for key in keys or ()))
        if not wanted:
            return {}
        rows = await self._queued(partial(_read_rows, keys=wanted), writes=False)
        return {key: decode(document, etag) for key, etag, document in rows}

    async def write(self, changes: Mapping[str, object] | None) -> None:
        if changes is None:
            raise ValueError("Changes are required when writing")
        if not changes:
            return
        prepared = [
            (validate_key(key), requested_etag(value), encode(value))
            for key, value in changes.items()
        ]
        new_etags = await self._queued(partial(_write_rows, rows=prepared), writes=True)
        for key, value in changes.items():
            stamp_etag(value, new_etags[key])

    async def update(self, key: str, change: Callable[[Any | None], dict[str, Any]]) -> None:
        """Read, change and write in a transaction on the worker thread (no eTag round trip)."""
        await self._queued(partial(_update_row, key=validate_key(key), change=change), writes=True)

    async def delete(self, keys: Iterable[str] | None) -> None:
        doomed = list(dict.fromkeys(validate_key(key) for key in keys or ()))
        if doomed:
            await self._queued(partial(_delete_rows, keys=doomed), writes=True)

    async def keys(self, prefix: str) -> list[str]:
        return await self._queued(partial(_keys_with_prefix, prefix=prefix), writes=False)

    async def _queued(self, work: Callable[[sqlite3.Connection], _T], *, writes: bool) -> _T:
        """Run `work` in the next group commit: every operation that arrives while one
        transaction is on the worker goes in the next, so a busy bot hands the worker one
        transaction (one thread hand-off) for the reads and writes of several turns."""
        if self._closed:
            raise StorageError(f"{self!r} is closed")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[_T] = loop.create_future()
        self._queue.append((work, writes, done))
        if self._committer is None:
            self._committer = loop.create_task(self._commit())
        return await done

    async def _commit(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    outcomes = await self._run(partial(_in_transactions, works=batch))
                except Exception as error:  # e.g. the database cannot be opened
                    outcomes = [_Failed(error)] * len(batch)
                for (_work, _writes, done), outcome in zip(batch, outcomes, strict=True):
                    if done.done():
                        continue
                    if isinstance(outcome, _Failed):
                        done.set_exception(self._explained(outcome.error))
                    else:
                        done.set_result(outcome)
        finally:
            self._committer = None

    async def _run(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run `work` on the worker thread, with the connection (opened on first use)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._on_worker, work)

    def _on_worker(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        try:
            if self._connection is None:
                self._connection = _connect(self._path, self._busy_timeout)
            return work(self._connection)
        except sqlite3.Error as error:
            raise self._explained(error) from error

    def _explained(self, error: Exception) -> Exception:
        """A SQLite error as `StorageError` ("database is locked" after busy_timeout, a file
        that is not a database); any other error as it is."""
        if not isinstance(error, sqlite3.Error):
            return error
        explained = StorageError(f"SQLite database {str(self._path)!r}: {error}")
        explained.__cause__ = error
        return explained

    def _close_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


_ELSEWHERE = "or set SQLITE_PATH to a file on another disk"


def _check_writable(path: Path) -> None:
    """Create the directory if needed, write a scratch file in it, and open the database file
    (if there is one) for writing: SQLite needs all three (its -wal and -shm files live beside
    it), and as root only a real write tells (`os.access` says yes to an immutable file)."""
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        in_the_way = next((p for p in (directory, *directory.parents) if p.is_file()), None)
        if in_the_way is not None:
            raise StorageError(
                f"SQLite store {str(path)!r}: {str(in_the_way)!r} is a file, not a directory; "
                "set SQLITE_PATH to a file in a directory, or move that file aside"
            ) from None
        raise StorageError(
            f"SQLite store {str(path)!r}: cannot create its directory {str(directory)!r} "
            f"({os_error_cause(error)}); {_fix(error, 'create it writable for this user')}"
        ) from None
    scratch = directory / f".{path.name}.startup-{os.getpid()}"
    try:
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"MeetBot start-up check\n")
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as error:
        raise StorageError(
            f"SQLite store {str(path)!r}: cannot write in its directory {str(directory)!r} "
            f"({os_error_cause(error)}); {_fix(error, 'make the directory writable for this user')}"
        ) from None
    finally:
        with suppress(OSError):
            scratch.unlink()
    try:
        with path.open("r+b") as handle:
            header = handle.read(16)
    except FileNotFoundError:
        return  # SQLite creates it
    except OSError as error:
        raise StorageError(
            f"SQLite store {str(path)!r}: cannot open the file for writing "
            f"({os_error_cause(error)}); {_fix(error, 'make the file writable for this user')}"
        ) from None
    if header and header != b"SQLite format 3\x00":
        raise StorageError(_not_a_database(path))


def _fix(error: OSError, writable: str) -> str:
    if error.errno == errno.ENOSPC:
        return f"free space on that disk, {_ELSEWHERE}"
    if error.errno == errno.EROFS:
        return f"mount it read-write, {_ELSEWHERE}"
    return f"{writable}, {_ELSEWHERE}"


def _not_a_database(path: Path) -> str:
    return (
        f"SQLite store {str(path)!r}: the file is not a SQLite database; set SQLITE_PATH "
        "to another file name, or move this file aside if it is not needed"
    )


def _damaged(path: Path, detail: str) -> str:
    return (
        f"SQLite store {str(path)!r}: the database is damaged "
        f"(quick_check: {' '.join(detail.split())[:100]}); "
        "restore it from a backup, or move it aside with its -wal and -shm files to start "
        "with an empty store (pending sign-ins and the meeting ledger are then lost)"
    )


def _explain_sqlite(path: Path, error: sqlite3.Error) -> str:
    code = getattr(error, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF
    if primary == sqlite3.SQLITE_NOTADB:
        return _not_a_database(path)
    if primary == sqlite3.SQLITE_CORRUPT:
        return _damaged(path, str(error))
    if primary == sqlite3.SQLITE_FULL:
        return f"SQLite store {str(path)!r}: the disk is full; free space on it, {_ELSEWHERE}"
    if primary in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        return (
            f"SQLite store {str(path)!r}: cannot write the database ({error}); make the file "
            f"and its directory writable for this user, {_ELSEWHERE}"
        )
    if primary in _BUSY_CODES:
        return (
            f"SQLite store {str(path)!r}: the database stayed locked ({error}); stop the "
            "process that holds it (another program or a stuck MeetBot) and start again"
        )
    return f"SQLite store {str(path)!r}: cannot be used ({error}); {_ELSEWHERE.removeprefix('or ')}"


def _is_busy(error: sqlite3.Error) -> bool:
    """Whether another connection's lock stopped the statement (so nothing was written)."""
    code = getattr(error, "sqlite_errorcode", None)  # absent on the module's own errors
    return code is not None and code & 0xFF in _BUSY_CODES


def _connect(path: Path, busy_timeout: float) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: transactions are only the ones begun explicitly below.
    connection = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
    try:
        connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        journal_mode = _enable_wal(connection, busy_timeout)
        if str(journal_mode).lower() != "wal":
            raise StorageError(
                f"SQLite database {str(path)!r} cannot use WAL journal mode "
                f"(got {journal_mode!r}); put it on a local file system"
            )
        connection.execute("PRAGMA synchronous = NORMAL")
        with _transaction(connection, "BEGIN IMMEDIATE"):
            connection.execute(_SCHEMA)
    except BaseException:
        connection.close()
        raise
    return connection


def _enable_wal(connection: sqlite3.Connection, busy_timeout: float) -> Any:
    """Switch a new file to WAL. SQLite answers BUSY at once, without waiting, when another
    process is creating or switching the same file, so wait for it here (within the timeout)."""
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            return connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError as error:
            if not _is_busy(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


@contextmanager
def _transaction(connection: sqlite3.Connection, begin: str) -> Iterator[None]:
    connection.execute(begin)
    try:
        yield
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _chunks(keys: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(keys), _KEYS_PER_STATEMENT):
        yield keys[start : start + _KEYS_PER_STATEMENT]


def _placeholders(count: int) -> str:
    return ",".join("?" * count)


_SELECT = "SELECT key, etag, value FROM store_items WHERE key IN ({})"
# One statement is one transaction: the eTag compared and the row replaced under one lock.
_UPSERT = (
    "INSERT INTO store_items (key, etag, value) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (key) DO UPDATE SET etag = excluded.etag, value = excluded.value "
    "WHERE ?4 IS NULL OR store_items.etag = ?4"
)


def _in_transactions(connection: sqlite3.Connection, works: Sequence[_Queued]) -> list[Any]:
    """Run a group commit: its reads in one read transaction (never blocked by another
    process's writer, in WAL mode), then its writes in order in one write transaction. What
    each operation returned, or `_Failed`: an operation that raises fails alone, a SQLite
    error fails its whole transaction (and nothing of it is committed)."""
    outcomes: list[Any] = [None] * len(works)
    # IMMEDIATE: the write lock is held from the first read to the commit, so no other
    # connection commits between an eTag check (or an update's read) and its write.
    for writes, begin in ((False, "BEGIN"), (True, "BEGIN IMMEDIATE")):
        todo = [i for i, (_work, w, _done) in enumerate(works) if w is writes]
        if not todo:
            continue
        try:
            with _transaction(connection, begin):
                for i in todo:
                    try:
                        outcomes[i] = works[i][0](connection)
                    except sqlite3.Error:
                        raise
                    except Exception as error:
                        outcomes[i] = _Failed(error)
        except sqlite3.Error as error:
            for i in todo:
                outcomes[i] = _Failed(error)
    return outcomes


def _read_rows(connection: sqlite3.Connection, keys: Sequence[str]) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    for chunk in _chunks(keys):
        rows.extend(connection.execute(_SELECT.format(_placeholders(len(chunk))), tuple(chunk)))
    return rows


def _write_rows(connection: sqlite3.Connection, rows: Sequence[_PreparedWrite]) -> dict[str, str]:
    if len(rows) == 1:
        return _write_row(connection, *rows[0])
    written: dict[str, str] = {}
    # All or none: a conflict on one row undoes the rows written before it.
    connection.execute("SAVEPOINT write_rows")
    try:
        for key, requested, document in rows:
            current = connection.execute(
                "SELECT etag FROM store_items WHERE key = ?", (key,)
            ).fetchone()
            check_precondition(key, requested, None if current is None else current[0])
            etag = new_etag()
            connection.execute(_UPSERT, (key, etag, document, None))
            written[key] = etag
    except BaseException:
        connection.execute("ROLLBACK TO write_rows")
        raise
    finally:
        connection.execute("RELEASE write_rows")
    return written


def _write_row(
    connection: sqlite3.Connection, key: str, requested: str | None, document: str
) -> dict[str, str]:
    """`_write_rows` for one row, in one statement (the common case: a third of the cost)."""
    etag = new_etag()
    condition = None if requested == ANY_ETAG else requested
    if connection.execute(_UPSERT, (key, etag, document, condition)).rowcount == 0:
        current = connection.execute(
            "SELECT etag FROM store_items WHERE key = ?", (key,)
        ).fetchone()
        raise ConflictError(key, requested, None if current is None else current[0])
    return {key: etag}


def _update_row(
    connection: sqlite3.Connection, key: str, change: Callable[[Any | None], dict[str, Any]]
) -> None:
    """Read, change and write one row (inside the group commit's transaction); a change that
    raises writes nothing."""
    row = connection.execute("SELECT etag, value FROM store_items WHERE key = ?", (key,)).fetchone()
    document = encode(change(None if row is None else decode(row[1], row[0])))
    connection.execute(_UPSERT, (key, new_etag(), document, None))


def _keys_with_prefix(connection: sqlite3.Connection, prefix: str) -> list[str]:
    # A range on the primary key (an index seek); LIKE would scan and treat _ and % specially.
    rows = connection.execute(
        "SELECT key FROM store_items WHERE key >= ? AND key < ? ORDER BY key",
        (prefix, prefix + "\U0010ffff"),
    ).fetchall()
    return [key for (key,) in rows]


def _delete_rows(connection: sqlite3.Connection, keys: Sequence[str]) -> None:
    for chunk in _chunks(keys):
        connection.execute(
            f"DELETE FROM store_items WHERE key IN ({_placeholders(len(chunk))})", tuple(chunk)
        )
