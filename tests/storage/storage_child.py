"""Child process for the storage tests: races writes or creates, or holds SQLite's write lock."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import time

from botbuilder.core import StoreItem

from bot.storage import ClosableStorage, ConflictError, Records, SqliteStorage

_BLOB = "blob:"


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def open_store(target: str) -> ClosableStorage:
    """A SQLite file path, or `blob:<container>` at $AZURE_STORAGE_CONNECTION_STRING."""
    if target.startswith(_BLOB):
        from bot.storage.blob import AzureBlobStorage

        connection_string = os.environ["AZURE_STORAGE_CONNECTION_STRING"]
        return AzureBlobStorage(connection_string, target.removeprefix(_BLOB))
    return SqliteStorage(target)


async def race(target: str, key: str, etag: str, shape: str) -> None:
    """Open the store, say "ready", wait for "go" on stdin, write once, say who won."""
    async with open_store(target) as storage:
        say("ready")
        await asyncio.to_thread(sys.stdin.readline)
        writer = os.getpid()
        value: object = (
            StoreItem(e_tag=etag, writer=writer)
            if shape == "store-item"
            else {"e_tag": etag, "writer": writer}
        )
        try:
            await storage.write({key: value})
        except ConflictError:
            say("conflict")
        else:
            say(f"won {writer}")


async def create(target: str, key: str, tasks: int) -> None:
    """Say "ready", wait for "go", run `tasks` concurrent `Records.create`, say how many won."""
    async with open_store(target) as storage:
        records = Records(storage, namespace="race")
        say("ready")
        await asyncio.to_thread(sys.stdin.readline)
        writer = os.getpid()
        created = await asyncio.gather(
            *(records.create(key, {"writer": writer, "task": task}) for task in range(tasks))
        )
        say(f"created {created.count(True)} {writer}")


async def append(target: str, key: str, count: int) -> None:
    """Say "ready", wait for "go", append `count` numbers to a record by `Records.update`."""
    async with open_store(target) as storage:
        records = Records(storage, namespace="race")
        say("ready")
        await asyncio.to_thread(sys.stdin.readline)
        writer = os.getpid()
        for n in range(count):
            await records.update(
                key, lambda record, n=n: {"items": [*(record or {}).get("items", []), [writer, n]]}
            )
        say(f"appended {writer}")


def hold_write_lock(database: str, seconds: float) -> None:
    """Take the database's write lock, say "locked", keep it `seconds`, then commit."""
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    say("locked")
    time.sleep(seconds)
    connection.execute("COMMIT")
    connection.close()
    say("released")


def main(argv: list[str]) -> None:
    command, *args = argv
    if command == "race":
        target, key, etag, shape = args
        asyncio.run(race(target, key, etag, shape))
    elif command == "create":
        target, key, tasks = args
        asyncio.run(create(target, key, int(tasks)))
    elif command == "append":
        target, key, count = args
        asyncio.run(append(target, key, int(count)))
    elif command == "hold":
        database, seconds = args
        hold_write_lock(database, float(seconds))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
