"""Bot processes sharing state: two replicas on Azure Blob Storage, and a restart on SQLite."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.sandbox.graph import STORAGE_PREFIX
from bot.storage import Records
from bot.storage.blob import AzureBlobStorage
from tests.conftest import FakeChannel
from tests.flows import (
    FakeTokenService,
    join_url,
    meet,
    meeting_cards,
    oauth_cards,
    serve_token_service,
)
from tests.replicas import (
    Azurite,
    BotReplica,
    blob_env,
    blob_keys,
    drop_container,
    replicas,
    shared_azurite,
    shared_sandbox_token,
    start_replica,
    unique_container,
)

pytestmark = pytest.mark.e2e

COMMAND = "meet Design review tomorrow at 3pm for 45 minutes"
USER = "29:user-1"
OTHER_USER = "29:user-2"


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    with shared_azurite(tmp_path_factory) as running:
        yield running


@pytest.fixture
async def token_service(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> FakeTokenService:
    return await serve_token_service(aiohttp_server)


@pytest.fixture
async def container(azurite: Azurite) -> AsyncIterator[str]:
    name = unique_container("replicas")
    yield name
    await drop_container(azurite, name)


async def test_sign_in_started_on_one_replica_completes_on_the_other(
    azurite: Azurite,
    container: str,
    token_service: FakeTokenService,
    channel: FakeChannel,
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    env = blob_env(azurite, container, token_service, state)
    async with replicas(2, env, tmp_path / "logs") as (a, b):
        await a.send(meet(channel, COMMAND))
        assert len(oauth_cards(channel)) == 1
        assert meeting_cards(channel) == []

        token_service.codes["246810"] = (USER, shared_sandbox_token(state))
        await b.send(meet(channel, "246810"))

        created = meeting_cards(channel)
        assert [card["body"][0]["text"] for card in created] == ["Meeting created"]
        assert created[0]["body"][1]["text"] == "Design review"
        first_join = join_url(created[0])

        await a.send(meet(channel, COMMAND))

        again = meeting_cards(channel)
        assert [card["body"][0]["text"] for card in again] == [
            "Meeting created",
            "Already scheduled",
        ]
        assert join_url(again[1]) == first_join

        # Another user's request left waiting over 15 minutes: the code comes too late.
        other_user = {
            "from": {"id": OTHER_USER, "name": "Alex Wilber", "aadObjectId": "5f0e0000-alex"},
            "conversation": {"id": "a:conversation-2", "conversationType": "personal"},
        }
        await a.send(meet(channel, "meet Budget sync friday at 10am", **other_user))
        assert len(oauth_cards(channel)) == 2
        await make_pending_older(azurite, container, seconds=15 * 60 + 5)
        token_service.codes["135790"] = (OTHER_USER, shared_sandbox_token(state))
        await b.send(meet(channel, "135790", **other_user))

        assert "your request expired" in channel.activities()[-1]["text"]
        assert len(meeting_cards(channel)) == 2

    for replica in (a, b):  # stopped with SIGTERM: a clean shutdown closes the store
        assert replica.process.returncode == 0, replica.log_tail()
        assert "Traceback" not in replica.log_tail(200)
        assert "Unclosed" not in replica.log_tail(200)

    # One meeting in the shared Graph sandbox, under the request's externalId (besides the
    # sandbox's index of meetings by id, which GET/PATCH/DELETE use).
    names = [
        name
        for name in await blob_keys(azurite, container, STORAGE_PREFIX)
        if not name.startswith(f"{STORAGE_PREFIX}/ids/")
    ]
    async with AzureBlobStorage(azurite.connection_string, container) as store:
        meetings = list((await store.read(names)).values())
    assert len(meetings) == 1
    assert meetings[0]["meeting"]["joinWebUrl"] == first_join
    assert meetings[0]["externalId"]


async def make_pending_older(azurite: Azurite, container: str, *, seconds: float) -> None:
    """Move the one waiting sign-in's creation time back, as if it had waited that long
    (answered requests leave a small marker under the same prefix: they are not waiting)."""
    names = await blob_keys(azurite, container, "meetbot/pending/")
    async with AzureBlobStorage(azurite.connection_string, container) as store:
        records = Records(store, namespace="meetbot")
        waiting = []
        for name in names:
            value, etag = await records.get(name.removeprefix("meetbot/"))
            if value is not None and "request" in value:
                waiting.append((name.removeprefix("meetbot/"), value, etag))
        ((key, value, etag),) = waiting
        value["created_at"] -= seconds
        await records.put(key, value, etag)


async def test_a_pending_sign_in_survives_sigkill_and_restart_on_sqlite(
    token_service: FakeTokenService, channel: FakeChannel, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    env = {
        "STORAGE": "sqlite",
        "SQLITE_PATH": str(state / "meetbot.sqlite3"),
        "OAUTH_URL": token_service.url,
    }
    async with contextlib.AsyncExitStack() as stack:
        session = await stack.enter_async_context(aiohttp.ClientSession())
        started: list[BotReplica] = []
        stack.push_async_callback(_stop_all, started)

        first = await start_replica(env, tmp_path / "logs" / "first.log", session)
        started.append(first)
        await first.send(meet(channel, COMMAND))
        assert len(oauth_cards(channel)) == 1
        await first.kill()
        assert first.process.returncode == -9

        second = await start_replica(env, tmp_path / "logs" / "second.log", session)
        started.append(second)
        token_service.codes["112233"] = (USER, shared_sandbox_token(state))
        await second.send(meet(channel, "112233"))

        created = meeting_cards(channel)
        assert [card["body"][0]["text"] for card in created] == ["Meeting created"]
        assert created[0]["body"][1]["text"] == "Design review"


async def _stop_all(started: list[BotReplica]) -> None:
    for replica in started:
        await replica.stop()
