"""Child process for tests/test_resume_lease.py: claims the pending request on a SQLite file,
says "claimed", then waits inside the resume (to be SIGKILLed there, before any answer)."""

from __future__ import annotations

import asyncio
import sys

from bot.auth.signin import SignIn
from bot.core.ports import Turn
from bot.core.request import MeetingRequest
from bot.storage import Records, SqliteStorage
from tests.support.ports import PortTurn


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(path: str) -> None:
    async with SqliteStorage(path) as storage:
        signin = SignIn(Records(storage, namespace="meetbot"), "graph")

        async def resume(
            _turn: Turn, _token: str, _request: MeetingRequest, _notes: tuple[str, ...]
        ) -> None:
            say("claimed")
            await asyncio.Event().wait()  # the parent kills the process here

        await signin.complete(PortTurn().turn(), "graph-token", resume)
        say("finished without a claim")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
