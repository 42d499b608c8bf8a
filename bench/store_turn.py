"""The store work of a form turn alone, many conversations at once: CPU per turn, no network.

`python -m bench.store_turn [--store sqlite memory] [--conversations 16] [--turns 500]`

The HTTP benchmark (`bench.run`) measures whole turns, and on a shared VM its figures move by
10-20% between runs; this isolates the store, the part of a turn that depends on how
`SqliteStorage` commits, and repeats within a few percent. Each simulated turn makes the
operations a form turn makes, in the same order and with the same concurrency, on
`Records` over the real store:

1. the delivery marker taken (`Deliveries.first_time`: an update);
2. the meeting's record read (`Meetings._cancelled_before`: a read);
3. together (`Meetings.outcome`'s gather): the conversation's ledger (an update of a record
   holding the newest meetings), the meeting's record with Graph's meeting (an update), and
   its reminder (an update, then its index entry: a write);
4. the delivery marked answered (`Deliveries.answered`: an update).

The process is pinned to one CPU, as `bench.run` pins the bot; the figure is the process's
CPU time (all threads) per turn.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.fake_services import FakeGraph, FakeTokenService
from bot.core.ledger import with_meeting
from bot.storage import ClosableStorage, Records
from bot.storage.memory import StrictMemoryStorage
from bot.storage.sqlite import SqliteStorage

WARMUP_TURNS = 20


def graph_meeting() -> dict[str, Any]:
    """A complete onlineMeeting as the benchmark's Graph fake answers it (about 3 KB)."""
    graph = FakeGraph(FakeTokenService("tenant"), "tenant")
    body = graph._meeting(
        uuid.uuid4().hex, "Review 1", "2026-12-03T10:00:00Z", "2026-12-03T10:30:00Z", "user-1"
    )
    meeting: dict[str, Any] = json.loads(body)
    return meeting


async def turn(records: Records, conversation: str, meeting: dict[str, Any], n: int) -> None:
    meeting_id = uuid.uuid4().hex
    delivery = f"delivery/{uuid.uuid4().hex}"
    await records.update(delivery, lambda _: {"at": time.time(), "answered": False, "pid": 1})
    await records.get(f"managed/{meeting_id}")
    entry = {
        "externalId": meeting_id,
        "subject": f"Review {n}",
        "start": meeting["startDateTime"],
        "end": meeting["endDateTime"],
        "joinUrl": meeting["joinWebUrl"],
    }
    reminder = {
        "key": meeting_id,
        "address": {"conversation": {"id": conversation}, "channelId": "msteams"},
        "subject": entry["subject"],
        "join_url": meeting["joinWebUrl"],
        "start": meeting["startDateTime"],
        "end": meeting["endDateTime"],
        "minutes": 10,
        "due": "2026-12-03T09:50:00Z",
        "state": "pending",
    }

    async def remind() -> None:
        await records.update(f"reminder/{meeting_id}", lambda _: reminder)
        await records.put(f"reminders-due/1/{int(time.time()):010d}/{meeting_id}", {})

    await asyncio.gather(
        records.update(f"ledger/{conversation}", lambda ledger: with_meeting(ledger, entry)),
        records.update(f"managed/{meeting_id}", lambda _: {"meeting": meeting, "subject": "x"}),
        remind(),
    )
    await records.update(delivery, lambda _: {"at": time.time(), "answered": True})


async def conversation(records: Records, name: str, meeting: dict[str, Any], turns: int) -> None:
    for n in range(turns):
        await turn(records, name, meeting, n)


async def measure(kind: str, conversations: int, turns: int, directory: Path) -> float:
    """CPU milliseconds per turn, on a new, empty store."""
    store: ClosableStorage = (
        SqliteStorage(directory / f"{uuid.uuid4().hex}.sqlite3")
        if kind == "sqlite"
        else StrictMemoryStorage()
    )
    await store.open()
    records = Records(store, namespace="meetbot")
    meeting = graph_meeting()
    names = [f"conversation-{i}" for i in range(conversations)]
    await asyncio.gather(*(conversation(records, n, meeting, WARMUP_TURNS) for n in names))
    started = time.process_time()
    await asyncio.gather(*(conversation(records, n, meeting, turns) for n in names))
    used = time.process_time() - started
    await store.close()
    return 1000 * used / (conversations * turns)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.store_turn", description=__doc__)
    parser.add_argument("--store", nargs="+", choices=("sqlite", "memory"), default=["sqlite"])
    parser.add_argument("--conversations", type=int, default=16)
    parser.add_argument("--turns", type=int, default=500, help="per conversation")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    with tempfile.TemporaryDirectory() as directory:
        for kind in args.store:
            figures = [
                asyncio.run(measure(kind, args.conversations, args.turns, Path(directory)))
                for _ in range(args.repeat)
            ]
            shown = ", ".join(f"{figure:.3f}" for figure in figures)
            print(f"{kind}: {shown} ms of CPU per turn (min {min(figures):.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
