"""The Bot Connector client: the URLs it calls, and what it makes of the channel's answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from bot.auth.app_tokens import AnonymousTokenSource
from bot.teams.channel import ChannelClient

CONVERSATIONS = [
    "a:1Xyz-AbC_09",
    "19:abc123@thread.tacv2;messageid=1700000000000",
    "29:1 space/slash?query#fragment",
    "conversation é ☕",
    "..",
]


class Recorder:
    """Any route: records the raw path (as sent, still quoted) and answers as told."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.answer: Callable[[], web.Response] = lambda: web.json_response({"id": "reply-1"})

    def app(self) -> web.Application:
        async def record(request: web.Request) -> web.Response:
            self.paths.append(request.raw_path)
            await request.read()
            return self.answer()

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", record)
        return app


@pytest.fixture
async def recorder(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> tuple[Recorder, str]:
    recorder = Recorder()
    server = await aiohttp_server(recorder.app())
    return recorder, str(server.make_url("")).rstrip("/")


@pytest.mark.parametrize("conversation", CONVERSATIONS)
@pytest.mark.parametrize("prefix", ["", "/", "/amer", "/amer/", "/teams%20eu/", "/région"])
async def test_every_id_is_quoted_once_under_the_service_urls_path(
    recorder: tuple[Recorder, str], conversation: str, prefix: str
) -> None:
    server, base = recorder
    base_path = URL(f"{base}{prefix}").raw_path.rstrip("/")
    expected = (
        f"{base_path}/v3/conversations/{quote(conversation, safe='')}"
        f"/activities/{quote(conversation, safe='')}"
    )
    async with aiohttp.ClientSession() as session:
        channel = ChannelClient(session)
        tokens = AnonymousTokenSource()
        activity = {"type": "message", "text": "hi"}
        url = f"{base}{prefix}"
        sent = await channel.send(url, conversation, activity, tokens, reply_to_id=conversation)
        updated = await channel.update(url, conversation, conversation, activity, tokens)
        await channel.delete(url, conversation, conversation, tokens)
    assert server.paths == [expected] * 3
    assert sent == updated == "reply-1"


async def test_answers_without_json_give_no_id(recorder: tuple[Recorder, str]) -> None:
    server, base = recorder
    answers: list[Callable[[], web.Response]] = [
        lambda: web.Response(status=200),
        lambda: web.Response(status=201, text="created", content_type="text/plain"),
        lambda: web.json_response({"id": 5}),
        lambda: web.json_response([]),
    ]
    async with aiohttp.ClientSession() as session:
        channel = ChannelClient(session)
        for answer in answers:
            server.answer = answer
            activity: dict[str, Any] = {"type": "message"}
            assert await channel.send(base, "c", activity, AnonymousTokenSource()) is None


async def test_many_service_urls_are_each_called_where_they_point(
    recorder: tuple[Recorder, str],
) -> None:
    server, base = recorder
    async with aiohttp.ClientSession() as session:
        channel = ChannelClient(session)
        for n in range(300):
            await channel.delete(f"{base}/region{n}/", "c", "a", AnonymousTokenSource())
    assert server.paths == [f"/region{n}/v3/conversations/c/activities/a" for n in range(300)]
