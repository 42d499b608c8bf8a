"""A redelivered activity is answered once, by any number of processes sharing the store."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.storage import Records, StorageError, StrictMemoryStorage
from bot.teams.redelivery import Deliveries
from tests.conftest import FakeChannel, activity
from tests.flows import running_bot
from tests.replicas import Azurite, drop_container, shared_azurite, unique_container


async def test_an_answered_key_is_new_once_until_its_marker_expires() -> None:
    now = [1_000.0]
    records = Records(StrictMemoryStorage(), namespace="t")
    first = Deliveries(records, ttl_s=600, lease_s=30, clock=lambda: now[0])
    # Another process: its own memory, the same store.
    other = Deliveries(records, ttl_s=600, lease_s=30, clock=lambda: now[0])

    assert await first.first_time("k")
    assert not await other.first_time("k")  # still being answered
    await first.answered("k")
    now[0] += 60
    assert not await first.first_time("k")
    assert not await other.first_time("k")
    now[0] += 601
    assert await other.first_time("k")


async def test_a_marker_left_by_a_process_that_died_on_this_machine_is_taken_over_at_once(
    tmp_path: Path,
) -> None:
    records = Records(StrictMemoryStorage(), namespace="t")
    dead = await asyncio.create_subprocess_exec("true")
    await dead.wait()
    now = 1_000.0
    host = socket.gethostname()
    await records.put("delivered/k", {"at": now, "answered": False, "host": host, "pid": dead.pid})
    await records.put(
        "delivered/alive", {"at": now, "answered": False, "host": host, "pid": os.getppid()}
    )

    assert await Deliveries(records, clock=lambda: now + 1).first_time("k")
    assert not await Deliveries(records, clock=lambda: now + 1).first_time("alive")


async def test_a_marker_taken_a_moment_later_by_another_process_is_fresh() -> None:
    records = Records(StrictMemoryStorage(), namespace="t")
    assert await Deliveries(records, clock=lambda: 1_000.5).first_time("k")
    assert not await Deliveries(records, clock=lambda: 1_000.0).first_time("k")


async def test_a_delivery_left_unanswered_past_the_lease_is_taken_over() -> None:
    now = [1_000.0]
    records = Records(StrictMemoryStorage(), namespace="t")
    died = Deliveries(records, lease_s=30, clock=lambda: now[0])
    assert await died.first_time("k")  # ... and its process dies mid-turn

    replica = Deliveries(records, lease_s=30, clock=lambda: now[0])
    now[0] += 29
    assert not await replica.first_time("k")
    now[0] += 2
    fresh = Deliveries(records, lease_s=30, clock=lambda: now[0])
    assert await fresh.first_time("k")
    assert not await Deliveries(records, lease_s=30, clock=lambda: now[0]).first_time("k")


class _BrokenStore(StrictMemoryStorage):
    async def read(self, keys: Any) -> dict[str, Any]:
        raise StorageError("the disk is gone")


async def test_when_the_store_fails_this_process_still_answers_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    deliveries = Deliveries(Records(_BrokenStore(), namespace="t"))
    with caplog.at_level(logging.WARNING, logger="bot.teams.redelivery"):
        assert await deliveries.first_time("k")
        assert not await deliveries.first_time("k")
    assert "could not share an activity's delivery" in caplog.text


async def test_one_activity_delivered_to_two_processes_on_one_sqlite_file_is_answered_once(
    tmp_path: Path, channel: FakeChannel
) -> None:
    database = str(tmp_path / "state" / "meetbot.sqlite3")
    async with (
        running_bot(STORAGE="sqlite", SQLITE_PATH=database) as one,
        running_bot(STORAGE="sqlite", SQLITE_PATH=database) as two,
    ):
        body = activity(channel.url, text="help")
        answers = await asyncio.gather(one.send(body), two.send(body), one.send(body))

        assert [answer.status for answer in answers] == [201, 201, 201]
        assert len(channel.activities()) == 1
        # Another activity is answered as usual.
        await two.send(activity(channel.url, text="help"))
        assert len(channel.activities()) == 2


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    with shared_azurite(tmp_path_factory) as running:
        yield running


@pytest.mark.slow
async def test_one_activity_delivered_to_two_replicas_on_blob_storage_is_answered_once(
    azurite: Azurite, channel: FakeChannel
) -> None:
    container = unique_container("deliveries")
    blob = {
        "STORAGE": "blob",
        "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "AZURE_STORAGE_CONTAINER": container,
    }
    try:
        async with running_bot(**blob) as one, running_bot(**blob) as two:
            body = activity(channel.url, text="help")
            answers = await asyncio.gather(one.send(body), two.send(body), two.send(body))

            assert [answer.status for answer in answers] == [201, 201, 201]
            assert len(channel.activities()) == 1
    finally:
        await drop_container(azurite, container)
