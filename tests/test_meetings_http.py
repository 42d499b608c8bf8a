"""Meetings over HTTP: restarts, list, escaping, and Graph failures with a retry."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.conftest import FakeChannel, activity
from tests.flows import (
    FakeTokenService,
    join_url,
    meet,
    meeting_cards,
    running_bot,
    sandbox_token,
    slow_graph,
)
from tests.support.cards import FULL

COMMAND = "meet Design review tomorrow at 3pm for 45 minutes"


async def test_a_sandbox_meeting_survives_a_restart_with_the_same_join_url(
    channel: FakeChannel, token_service: FakeTokenService, tmp_path: Path
) -> None:
    env = {
        "OAUTH_URL": token_service.url,
        "STORAGE": "sqlite",
        "SQLITE_PATH": str(tmp_path / "state.db"),
    }
    async with running_bot(**env) as bot:
        token_service.tokens["29:user-1"] = sandbox_token(bot.key)
        await bot.send(meet(channel, COMMAND))
        first = meeting_cards(channel)[0]
        assert first["body"][0]["text"] == "Meeting created"
    async with running_bot(**env) as bot:
        await bot.send(meet(channel, COMMAND))
        again = meeting_cards(channel)[1]
        assert again["body"][0]["text"] == "Already scheduled"
        assert join_url(again) == join_url(first)


async def test_list_shows_this_conversations_meetings_newest_first(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        await bot.send(meet(channel, "list"))
        assert "haven't created any meetings" in channel.activities()[-1]["text"]
        token_service.tokens["29:user-1"] = sandbox_token(bot.key)
        await bot.send(meet(channel, "meet Alpha tomorrow at 9am"))
        await bot.send(meet(channel, "meet Beta tomorrow at 11am"))
        await bot.send(meet(channel, "list"))
        card = channel.cards()[-1]
        subjects = [
            item["items"][0]["text"] for item in card["body"] if item["type"] == "Container"
        ]
        assert subjects == ["Beta", "Alpha"]
        # Another conversation has its own list.
        await bot.send(meet(channel, "list", conversation_id="a:other"))
        assert "haven't created any meetings" in channel.activities()[-1]["text"]


async def test_a_markdown_link_in_the_subject_stays_text(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        token_service.tokens["29:user-1"] = sandbox_token(bot.key)
        await bot.send(meet(channel, "meet [Click me](https://evil.example) tomorrow"))
        subject = meeting_cards(channel)[0]["body"][1]["text"]
        assert subject == "\\[Click me\\](https://evil.example)"


def graph_answering(statuses: list[tuple[int, dict[str, str]]], seen: list[Any]) -> web.Application:
    """A Graph stand-in that answers with the given statuses in turn, then with a meeting."""

    async def create_or_get(request: web.Request) -> web.Response:
        seen.append(await request.json())
        if statuses:
            status, headers = statuses.pop(0)
            body = {
                "error": {
                    "code": {403: "Forbidden", 429: "TooManyRequests"}.get(status, "Error"),
                    "message": "sensitive detail",
                    "innerError": {"request-id": "req-123", "date": "2026-11-23T00:00:00"},
                }
            }
            return web.json_response(body, status=status, headers=headers)
        return web.json_response(FULL, status=201)

    app = web.Application()
    app.router.add_post("/v1.0/me/onlineMeetings/createOrGet", create_or_get)
    return app


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (403, {}, "licen"),
        (429, {"Retry-After": "30"}, "30"),
    ],
)
async def test_graph_failures_explain_and_retry_with_the_same_external_id(
    channel: FakeChannel,
    token_service: FakeTokenService,
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    status: int,
    headers: dict[str, str],
    expected: str,
) -> None:
    seen: list[Any] = []
    # A 429 asking for 30 s does not fit the turn's budget, so the user is told when to retry.
    graph = await aiohttp_server(graph_answering([(status, headers)], seen))
    graph_url = str(graph.make_url("/v1.0")).rstrip("/")
    async with running_bot(OAUTH_URL=token_service.url, GRAPH_BASE_URL=graph_url) as bot:
        token_service.tokens["29:user-1"] = "opaque-graph-token"
        await bot.send(meet(channel, COMMAND))
        problem = channel.cards()[-1]
        text = json.dumps(problem)
        assert problem["body"][0]["text"] == "I couldn't create the meeting"
        assert expected in text
        assert "req-123" in text
        assert "sensitive detail" not in text
        retry = problem["actions"][0]
        assert retry["title"] == "Try again"
        await bot.send(activity(channel.url, text=None, value=retry["data"]))
        assert meeting_cards(channel)[-1]["body"][0]["text"] == "Meeting created"
        assert len(seen) == 2
        assert seen[0]["externalId"] == seen[1]["externalId"]


@pytest.mark.slow  # Graph really takes 10 s
async def test_a_message_gets_its_meeting_within_15_s_when_graph_takes_10(
    channel: FakeChannel,
    token_service: FakeTokenService,
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> None:
    graph = await aiohttp_server(slow_graph(10.0, []))
    graph_url = str(graph.make_url("/v1.0")).rstrip("/")
    async with running_bot(OAUTH_URL=token_service.url, GRAPH_BASE_URL=graph_url) as bot:
        token_service.tokens["29:user-1"] = "opaque-graph-token"
        started = asyncio.get_running_loop().time()
        response = await bot.send(meet(channel, COMMAND))
        # Real time at the wire: the Bot Connector gives up on a message POST after 15 s. The bot
        # waits for Graph within its 12 s budget on the event loop's clock (not injectable here).
        assert asyncio.get_running_loop().time() - started < 15.0
        assert response.status == 201
        # "Typing" from half a second on, every 2 s; the card when Graph answered.
        types = [a["type"] for a in channel.activities()]
        assert types[:-1] == ["typing"] * (len(types) - 1)
        assert len(types) - 1 >= 4, types
        assert meeting_cards(channel)[0]["body"][0]["text"] == "Meeting created"
