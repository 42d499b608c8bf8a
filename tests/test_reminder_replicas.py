"""Reminders in real time from two bot processes: on one SQLite file, and on Azurite."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FakeChannel
from tests.flows import FakeTokenService, meet, meeting_cards
from tests.replicas import (
    Azurite,
    blob_env,
    drop_container,
    replicas,
    shared_azurite,
    shared_sandbox_token,
    unique_container,
)

pytestmark = pytest.mark.e2e

USER = "29:user-1"
# Starts at the next minute but one; reminded a minute before: due within the next minute.
COMMAND = "meet Standup in 2 minutes remind 1 min before"


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    with shared_azurite(tmp_path_factory) as running:
        yield running


@pytest.fixture
async def container(azurite: Azurite) -> AsyncIterator[str]:
    name = unique_container("reminders")
    yield name
    await drop_container(azurite, name)


def reminders_at(channel: FakeChannel) -> list[dict[str, Any]]:
    return [
        card
        for card in channel.cards()
        if card["body"] and card["body"][0].get("text") == "Meeting reminder"
    ]


async def made_on_one_reminded_once(
    env: dict[str, str], token_service: FakeTokenService, channel: FakeChannel, tmp_path: Path
) -> None:
    env = {**env, "REMINDER_POLL_S": "1"}
    async with replicas(2, env, tmp_path / "logs") as (a, b):
        token_service.codes["246810"] = (USER, shared_sandbox_token(tmp_path / "state"))
        await a.send(meet(channel, COMMAND))
        await b.send(meet(channel, "246810"))
        (card,) = meeting_cards(channel)
        assert "I'll post a reminder here 1 minute before it starts." in str(card)
        made = time.time()
        for _ in range(375):  # 75 s
            if reminders_at(channel):
                break
            await asyncio.sleep(0.2)
        arrived = time.time() - made
        await asyncio.sleep(3)  # both processes polled since: a second one would be here now
        (reminder,) = reminders_at(channel)
        assert reminder["body"][1]["text"] == "Standup"
        assert reminder["body"][2]["text"].startswith("Starts in 1 minute (at {{TIME(")
        assert arrived < 62
    for replica in (a, b):
        assert replica.process.returncode == 0, replica.log_tail()
        assert "Traceback" not in replica.log_tail(200)
    logs = a.log_tail(400) + b.log_tail(400)
    assert logs.count("reminders: sent") == 1, logs


async def test_two_processes_on_one_sqlite_file_remind_once_on_time(
    token_service: FakeTokenService, channel: FakeChannel, tmp_path: Path
) -> None:
    env = {
        "STORAGE": "sqlite",
        "SQLITE_PATH": str(tmp_path / "state" / "meetbot.sqlite3"),
        "OAUTH_URL": token_service.url,
    }
    await made_on_one_reminded_once(env, token_service, channel, tmp_path)


async def test_two_replicas_on_azurite_remind_once_on_time(
    azurite: Azurite,
    container: str,
    token_service: FakeTokenService,
    channel: FakeChannel,
    tmp_path: Path,
) -> None:
    env = blob_env(azurite, container, token_service, tmp_path / "state")
    await made_on_one_reminded_once(env, token_service, channel, tmp_path)
