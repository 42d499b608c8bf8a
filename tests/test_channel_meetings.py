"""A meeting asked for in a channel is linked to the channel's thread on Graph beta (`chatInfo`),
and nothing changes on v1.0 or in chats; checked on what the Graph sandbox received."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from tests.conftest import FakeChannel, activity
from tests.flows import (
    FakeTokenService,
    GraphFake,
    meeting_cards,
    running_bot,
    serve_graph,
    serve_token_service,
)

MakeServer = Callable[..., Awaitable[TestServer]]
USER = "29:user-1"
CHANNEL = "19:4a1f6c2e9b7d4e0f8a3c5b6d7e8f9a0b@thread.tacv2"
COMMAND = "<at>MeetBot</at> meet Design review tomorrow at 3pm"


@pytest.fixture
async def graph(aiohttp_server: MakeServer) -> GraphFake:
    return await serve_graph(aiohttp_server, GraphFake(), "/graph")


@pytest.fixture
async def token_service(aiohttp_server: MakeServer, graph: GraphFake) -> FakeTokenService:
    fake = await serve_token_service(aiohttp_server)
    fake.tokens[USER] = graph.user_token()
    return fake


def said_in(channel: FakeChannel, conversation_id: str, kind: str) -> dict[str, Any]:
    """`meet …` @mentioning MeetBot in a channel (or a reply thread) or a group chat."""
    channel_data: dict[str, Any] = {"tenant": {"id": "tenant-1"}}
    if kind == "channel":
        channel_data |= {"channel": {"id": CHANNEL}, "team": {"id": CHANNEL}}
    return activity(
        channel.url,
        text=COMMAND,
        conversation_id=conversation_id,
        conversation_type=kind,
        channelData=channel_data,
        entities=[
            {
                "type": "mention",
                "mentioned": {"id": "28:meetbot", "name": "MeetBot"},
                "text": "<at>MeetBot</at>",
            }
        ],
    )


@pytest.mark.parametrize(
    "conversation_id", [CHANNEL, f"{CHANNEL};messageid=1700000000000"], ids=["channel", "reply"]
)
async def test_on_beta_a_channel_meeting_carries_the_channel_thread(
    channel: FakeChannel, graph: GraphFake, token_service: FakeTokenService, conversation_id: str
) -> None:
    async with running_bot(OAUTH_URL=token_service.url, GRAPH_BASE_URL=f"{graph.url}/beta") as bot:
        await bot.send(said_in(channel, conversation_id, "channel"))
    (body,) = graph.bodies()
    # As the beta createOrGet documentation's channel example sends it.
    assert body["chatInfo"] == {"threadId": CHANNEL}
    assert [card["body"][0]["text"] for card in meeting_cards(channel)] == ["Meeting created"]


async def test_on_v1_a_channel_meeting_is_sent_without_chat_info(
    channel: FakeChannel, graph: GraphFake, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url, GRAPH_BASE_URL=f"{graph.url}/v1.0") as bot:
        await bot.send(said_in(channel, f"{CHANNEL};messageid=1700000000000", "channel"))
    (body,) = graph.bodies()
    assert "chatInfo" not in body
    assert [card["body"][0]["text"] for card in meeting_cards(channel)] == ["Meeting created"]


async def test_on_beta_a_group_chat_meeting_is_sent_without_chat_info(
    channel: FakeChannel, graph: GraphFake, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url, GRAPH_BASE_URL=f"{graph.url}/beta") as bot:
        await bot.send(said_in(channel, "19:group-chat-1@thread.v2", "groupChat"))
    (body,) = graph.bodies()
    assert "chatInfo" not in body  # Graph refuses a chat thread here (400)
    assert [card["body"][0]["text"] for card in meeting_cards(channel)] == ["Meeting created"]
