"""Azure Blob Storage stopped and restarted under a running bot: meetings are still made and
shown, readiness says what is failing, and everything works again once the store is back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from tests.conftest import FakeChannel
from tests.flows import FakeTokenService, GraphFake, meet, running_bot, token_service_app
from tests.replicas import (
    AZURITE_BLOB,
    LOOPBACK,
    azurite_connection_string,
    free_port,
    start_azurite,
    unique_container,
)

pytestmark = pytest.mark.slow


def _azurite(port: int, location: Path) -> subprocess.Popen[bytes]:
    """Azurite keeping its data on disk, so that a restart finds the container again."""
    process = subprocess.Popen(
        [
            str(AZURITE_BLOB),
            "--loose",
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--location",
            str(location),
            "--blobHost",
            LOOPBACK,
            "--blobPort",
            str(port),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 0.2):
            return process
        time.sleep(0.1)
    process.kill()
    raise TimeoutError("Azurite did not start")


@contextlib.contextmanager
def restartable_azurite(location: Path) -> Iterator[tuple[int, list[subprocess.Popen[bytes]]]]:
    # start_azurite skips (or fails in CI) with a reason when Azurite is not installed.
    start_azurite(location / "probe").stop()
    port = free_port()
    running = [_azurite(port, location)]
    try:
        yield port, running
    finally:
        for process in running:
            if process.poll() is None:
                process.kill()
                process.wait()


@contextlib.asynccontextmanager
async def graph_and_tokens() -> AsyncIterator[tuple[GraphFake, FakeTokenService]]:
    graph = GraphFake()
    graph_server = TestServer(graph.app, host=LOOPBACK)
    await graph_server.start_server()
    graph.url = str(graph_server.make_url("/graph/v1.0")).rstrip("/")
    ref: list[FakeTokenService] = []
    tokens = FakeTokenService(TestServer(token_service_app(ref), host=LOOPBACK))
    await tokens.server.start_server()
    ref.append(tokens)
    tokens.tokens["29:user-1"] = graph.user_token()
    try:
        yield graph, tokens
    finally:
        await tokens.server.close()
        await graph_server.close()


async def _ready(bot: Any) -> tuple[int, Any]:
    response = await bot.session.get(f"{bot.url}/readyz")
    return response.status, await response.json()


async def _wait_ready(bot: Any, status: int, timeout_s: float = 20) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        got, body = await _ready(bot)
        if got == status or time.monotonic() > deadline:
            return got, body
        await asyncio.sleep(0.3)


async def test_a_blob_outage_does_not_stop_meetings_and_the_bot_recovers(
    tmp_path: Path, channel: FakeChannel
) -> None:
    with restartable_azurite(tmp_path / "azurite") as (port, running):
        async with (
            graph_and_tokens() as (graph, tokens),
            running_bot(
                STORAGE="blob",
                AZURE_STORAGE_CONNECTION_STRING=azurite_connection_string(port),
                AZURE_STORAGE_CONTAINER=unique_container("outage"),
                OAUTH_URL=tokens.url,
                GRAPH_BASE_URL=graph.url,
                STORE_CHECK_INTERVAL_S=0.2,
            ) as bot,
        ):
            assert (await _wait_ready(bot, 200))[0] == 200

            # The store goes away (SIGTERM: Azurite saves its metadata, as Azure keeps the
            # container through an outage; after SIGKILL it may forget the container).
            running[0].terminate()
            # Waited for off the event loop: the bot shares it, and must keep serving.
            await asyncio.to_thread(running[0].wait, 60)
            started = time.monotonic()
            response = await bot.send(meet(channel, "meet Outage review tomorrow at 3pm"))
            assert response.status == 201
            assert time.monotonic() - started < 15  # within the channel's patience
            (card,) = channel.cards()
            assert card["body"][0]["text"] == "Meeting created"
            notes = [b["text"] for b in card["body"] if b.get("color") == "warning"]
            assert any("won't show it" in note for note in notes)
            assert graph.calls() == 1
            status, body = await _wait_ready(bot, 503)
            assert (status, "store" in body.get("failing", [])) == (503, True)

            running.append(_azurite(port, tmp_path / "azurite"))  # and comes back
            assert await _wait_ready(bot, 200) == (200, {"status": "ready"})
            await bot.send(meet(channel, "meet Back to normal tomorrow at 4pm"))
            await bot.send(meet(channel, "list"))
            listed = json.dumps(channel.cards()[-1])
            assert "Back to normal" in listed
            assert "Outage review" not in listed  # it could not be kept, as the card said
