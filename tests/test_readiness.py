"""/healthz (liveness), /readyz (readiness) and the body-read timeout, at the wire."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from bot.settings import Settings
from bot.teams.app import STORAGE, create_app
from tests.replicas import free_port
from tests.support.disk import fill, tiny_disk

REPO = Path(__file__).resolve().parents[1]
ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


def local_settings(sqlite_path: Path, **extra: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        MicrosoftAppId="",
        SQLITE_PATH=str(sqlite_path),
        LOG_LEVEL="INFO",
        **extra,
    )


async def until_ready(client: TestClient[Any, Any], seconds: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        response = await client.get("/readyz")
        body: dict[str, Any] = await response.json()
        if response.status == 200:
            return body
        assert response.status == 503, body
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.05)


async def test_healthz_is_liveness_and_readyz_says_ready(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    client = await aiohttp_client(create_app(local_settings(tmp_path / "meetbot.sqlite3")))
    health = await client.get("/healthz")
    assert health.status == 200
    assert await health.json() == {"status": "alive", "mode": "local"}
    assert await until_ready(client) == {"status": "ready"}


async def test_readyz_checks_the_store_at_most_once_per_interval(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    app = create_app(local_settings(tmp_path / "meetbot.sqlite3", STORE_CHECK_INTERVAL_S=60))
    client = await aiohttp_client(app)
    await until_ready(client)
    store = app[STORAGE]
    probe = "meetbot-health/readiness"
    first = (await store.read([probe]))[probe]
    answers = await asyncio.gather(*(client.get("/readyz") for _ in range(20)))
    assert {answer.status for answer in answers} == {200}
    # The probe is one write: an unchanged eTag means no request wrote to the store again.
    assert (await store.read([probe]))[probe]["e_tag"] == first["e_tag"]


async def test_readyz_is_503_naming_the_store_when_it_cannot_be_used(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    app = create_app(local_settings(tmp_path / "meetbot.sqlite3", STORE_CHECK_INTERVAL_S=0.1))
    client = await aiohttp_client(app)
    await until_ready(client)
    await app[STORAGE].close()  # every later operation raises StorageError
    await asyncio.sleep(0.15)
    response = await client.get("/readyz")
    assert response.status == 503
    assert await response.json() == {"status": "unavailable", "failing": ["store"]}
    assert (await client.get("/healthz")).status == 200  # still alive: a restart won't help


@pytest.mark.slow
async def test_readyz_follows_a_disk_that_fills_up_and_is_freed(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    with tiny_disk(tmp_path / "disk", size="1m") as disk:
        app = create_app(local_settings(disk / "meetbot.sqlite3", STORE_CHECK_INTERVAL_S=0.1))
        client = await aiohttp_client(app)
        await until_ready(client)
        fill(disk)
        deadline = time.monotonic() + 10
        while True:  # SQLite may still have room in its WAL for a few writes
            await asyncio.sleep(0.15)
            response = await client.get("/readyz")
            if response.status == 503:
                break
            assert time.monotonic() < deadline, "readiness never noticed the full disk"
        assert await response.json() == {"status": "unavailable", "failing": ["store"]}
        assert (await client.get("/healthz")).status == 200
        for filler in disk.glob("filler-*"):
            filler.unlink()
        await asyncio.sleep(0.15)
        assert await until_ready(client, seconds=10) == {"status": "ready"}
        await client.close()


@pytest.mark.slow
def test_a_fresh_process_is_ready_as_soon_as_it_serves(tmp_path: Path) -> None:
    """Nothing loads in the background: the first answer of /readyz is already ready."""
    port = free_port()
    bot = subprocess.Popen(
        [sys.executable, str(REPO / "app.py")],
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", ""), "PORT": str(port)},
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"

    async def probe() -> list[tuple[str, int, dict[str, Any]]]:
        seen: list[tuple[str, int, dict[str, Any]]] = []
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 60
            while True:
                assert bot.poll() is None, "the bot exited"
                assert time.monotonic() < deadline, seen
                with contextlib.suppress(aiohttp.ClientConnectionError):
                    for path in ("/healthz", "/readyz"):
                        async with session.get(url + path) as response:
                            seen.append((path, response.status, await response.json()))
                    if seen[-1][1] == 200:
                        return seen
                await asyncio.sleep(0.02)

    try:
        seen = asyncio.run(probe())
    finally:
        bot.terminate()
        bot.wait(30)
    first_health = next(s for s in seen if s[0] == "/healthz")
    assert first_health[1:] == (200, {"status": "alive", "mode": "local"})
    first_ready = next(s for s in seen if s[0] == "/readyz")
    assert first_ready[1:] == (200, {"status": "ready"})


async def test_a_body_that_trickles_gets_408_and_the_connection_closes(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    client = await aiohttp_client(
        create_app(local_settings(tmp_path / "meetbot.sqlite3", BODY_READ_TIMEOUT_S=0.3))
    )
    reader, writer = await asyncio.open_connection(client.host, client.port)
    started = time.monotonic()
    writer.write(
        b"POST /api/messages HTTP/1.1\r\nHost: meetbot\r\nContent-Type: application/json\r\n"
        b"Content-Length: 400\r\n\r\n"
        b'{"type": "message", "text": "meet tomorrow'
    )
    await writer.drain()
    # The rest never comes. The answer arrives, then the server closes the connection.
    answer = await asyncio.wait_for(reader.read(), timeout=5)
    elapsed = time.monotonic() - started
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"Connection: close" in head
    assert body == b'{"error": "the request body did not arrive within 0.3 s"}'
    assert 0.3 <= elapsed < 3


async def test_a_body_that_arrives_in_time_is_answered(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    client = await aiohttp_client(
        create_app(local_settings(tmp_path / "meetbot.sqlite3", BODY_READ_TIMEOUT_S=2))
    )
    reader, writer = await asyncio.open_connection(client.host, client.port)
    body = b'{"type": "conversationUpdate"}'  # a valid JSON body, sent in two parts
    writer.write(
        b"POST /api/messages HTTP/1.1\r\nHost: meetbot\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:10]
    )
    await writer.drain()
    await asyncio.sleep(0.3)
    writer.write(body[10:])
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=5)
    writer.close()
    assert not answer.startswith(b"HTTP/1.1 408")
    assert answer.startswith(b"HTTP/1.1 400 ")  # read whole, then refused as an activity
