"""Child process for the storage tests: races one conditional write, or holds the write lock."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import time

from botbuilder.core import StoreItem

from bot.storage import ConflictError, SqliteStorage


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def race(database: str, key: str, etag: str, shape: str) -> None:
    """Open the store, say "ready", wait for "go" on stdin, write once, say who won."""
    async with SqliteStorage(database) as storage:
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
        database, key, etag, shape = args
        asyncio.run(race(database, key, etag, shape))
    elif command == "hold":
        database, seconds = args
        hold_write_lock(database, float(seconds))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
