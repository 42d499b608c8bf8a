"""Sign-in and meeting flows over HTTP: the embedded sandboxes, and a token-service fake."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FakeChannel, activity
from tests.flows import (
    SIGNIN_LINK,
    FakeTokenService,
    join_url,
    meet,
    meeting_cards,
    oauth_cards,
    running_bot,
    sandbox_token,
    sign_in_on_the_sandbox_page,
)

COMMAND = "meet Design review tomorrow at 3pm for 45 minutes"


async def test_local_mode_end_to_end_sign_in_page_code_meeting(channel: FakeChannel) -> None:
    async with running_bot() as bot:
        await bot.send(meet(channel, COMMAND))
        cards = oauth_cards(channel)
        assert len(cards) == 1
        assert cards[0]["buttons"][0]["type"] == "signin"
        link = cards[0]["buttons"][0]["value"]
        assert SIGNIN_LINK.match(link)

        code = await sign_in_on_the_sandbox_page(bot.session, link)
        # The user types only the code: the original request completes by itself.
        await bot.send(meet(channel, code))
        created = meeting_cards(channel)
        assert len(created) == 1
        assert created[0]["body"][0]["text"] == "Meeting created"
        assert created[0]["body"][1]["text"] == "Design review"
        first_join = join_url(created[0])
        assert first_join.startswith("https://teams.microsoft.com/l/meetup-join/")
        # The sandbox answers at once: no flash of "typing" before the card.
        assert not any(a.get("type") == "typing" for a in channel.activities())

        # The same command again: createOrGet returns the same meeting.
        await bot.send(meet(channel, COMMAND))
        again = meeting_cards(channel)
        assert len(again) == 2
        assert again[1]["body"][0]["text"] == "Already scheduled"
        assert join_url(again[1]) == first_join

        # A used code does not work twice.
        await bot.send(meet(channel, code))
        assert "didn't work" in channel.activities()[-1]["text"]


async def test_the_card_links_an_ics_file_served_by_the_bot(channel: FakeChannel) -> None:
    async with running_bot() as bot:
        await bot.send(meet(channel, COMMAND))
        code = await sign_in_on_the_sandbox_page(
            bot.session, oauth_cards(channel)[0]["buttons"][0]["value"]
        )
        await bot.send(meet(channel, code))
        card = meeting_cards(channel)[0]
        calendar = next(a for a in card["actions"] if a["title"] == "Add to calendar")
        urls = {a["title"]: a["url"] for a in calendar["card"]["actions"]}
        assert urls["Outlook on the web"].startswith("https://outlook.office.com/calendar/")
        async with bot.session.get(urls["Download .ics"]) as response:
            assert response.status == 200
            assert response.content_type == "text/calendar"
            body = await response.text()
        assert "SUMMARY:Design review" in body
        assert "BEGIN:VEVENT" in body
        tampered = urls["Download .ics"].replace(".ics", "x.ics")
        async with bot.session.get(tampered) as response:
            assert response.status == 404


async def test_oauth_card_then_magic_code_resumes(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        await bot.send(meet(channel, COMMAND))
        card = oauth_cards(channel)[0]
        assert card["connectionName"] == "graph"
        assert card["tokenExchangeResource"]["id"] == "tx-1"
        assert token_service.named("/api/botsignin/GetSignInResource")
        token_service.codes["123456"] = ("29:user-1", sandbox_token(bot.key))
        await bot.send(meet(channel, "123456"))
        assert meeting_cards(channel)[0]["body"][0]["text"] == "Meeting created"
        code_calls = [c for c in token_service.named("/api/usertoken/GetToken") if "code" in c[2]]
        assert code_calls[0][2]["code"] == "123456"


async def test_verify_state_invoke_answers_then_posts_the_meeting(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        await bot.send(meet(channel, COMMAND))
        token_service.codes["654321"] = ("29:user-1", sandbox_token(bot.key))
        invoke = activity(
            channel.url,
            kind="invoke",
            text=None,
            name="signin/verifyState",
            value={"state": "654321"},
        )
        response = await bot.send(invoke)
        assert response.status == 200
        await bot.settle()
        assert meeting_cards(channel)[0]["body"][1]["text"] == "Design review"


async def test_tokens_response_event_resumes(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        await bot.send(meet(channel, COMMAND, channelId="webchat"))
        event = activity(
            channel.url,
            kind="event",
            text=None,
            name="tokens/response",
            value={"connectionName": "graph", "token": sandbox_token(bot.key)},
            channelId="webchat",
        )
        await bot.send(event)
        assert meeting_cards(channel)[0]["body"][0]["text"] == "Meeting created"


def exchange_invoke(channel: FakeChannel, exchange_id: str = "tx-1") -> dict[str, Any]:
    return activity(
        channel.url,
        kind="invoke",
        text=None,
        name="signin/tokenExchange",
        value={"id": exchange_id, "connectionName": "graph", "token": "sso-token"},
    )


async def test_sso_token_exchange_success_resumes(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        await bot.send(meet(channel, COMMAND))
        token_service.exchange_token = sandbox_token(bot.key)
        response = await bot.send(exchange_invoke(channel))
        assert response.status == 200
        await bot.settle()
        assert len(meeting_cards(channel)) == 1
        sent = token_service.named("/api/usertoken/exchange")[0][3]
        assert sent == {"uri": None, "token": "sso-token"}


async def test_sso_token_exchange_failure_answers_412(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        await bot.send(meet(channel, COMMAND))
        response = await bot.send(exchange_invoke(channel))
        assert response.status == 412
        body = await response.json()
        assert body["id"] == "tx-1"
        assert body["connectionName"] == "graph"
        assert meeting_cards(channel) == []


async def test_duplicate_sso_exchanges_are_exchanged_once(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        await bot.send(meet(channel, COMMAND))
        token_service.exchange_token = sandbox_token(bot.key)
        token_service.exchange_delay_s = 0.05
        responses = await asyncio.gather(*(bot.send(exchange_invoke(channel)) for _ in range(3)))
        assert sorted(r.status for r in responses) == [200, 200, 200]
        await bot.settle()
        assert len(token_service.named("/api/usertoken/exchange")) == 1
        assert len(meeting_cards(channel)) == 1


async def test_signout_calls_the_token_service(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        token_service.tokens["29:user-1"] = "whatever"
        await bot.send(meet(channel, "logout"))
        calls = token_service.named("/api/usertoken/SignOut")
        assert calls[0][2]["userId"] == "29:user-1"
        assert calls[0][2]["connectionName"] == "graph"
        assert "signed out" in channel.activities()[-1]["text"]


async def test_graph_401_signs_out_reprompts_and_resumes(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        # A token the Graph sandbox refuses (expired): 401 from Graph.
        token_service.tokens["29:user-1"] = sandbox_token(bot.key, lifetime_s=-10)
        await bot.send(meet(channel, COMMAND))
        assert token_service.named("/api/usertoken/SignOut")
        assert len(oauth_cards(channel)) == 1
        token_service.codes["111222"] = ("29:user-1", sandbox_token(bot.key))
        await bot.send(meet(channel, "111222"))
        assert meeting_cards(channel)[0]["body"][1]["text"] == "Design review"


@pytest.mark.slow  # starts the bot twice
async def test_a_pending_request_survives_a_restart(
    channel: FakeChannel, token_service: FakeTokenService, tmp_path: Path
) -> None:
    env = {
        "OAUTH_URL": token_service.url,
        "STORAGE": "sqlite",
        "SQLITE_PATH": str(tmp_path / "s.db"),
    }
    async with running_bot(**env) as bot:
        await bot.send(meet(channel, COMMAND))
        assert len(oauth_cards(channel)) == 1
    async with running_bot(**env) as bot:
        token_service.codes["333444"] = ("29:user-1", sandbox_token(bot.key))
        await bot.send(meet(channel, "333444"))
        assert meeting_cards(channel)[0]["body"][1]["text"] == "Design review"


async def test_no_token_appears_in_logs_or_replies(
    channel: FakeChannel, token_service: FakeTokenService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        token = sandbox_token(bot.key)
        await bot.send(meet(channel, COMMAND))
        token_service.codes["999888"] = ("29:user-1", token)
        await bot.send(meet(channel, "999888"))
        assert meeting_cards(channel)
    assert token not in caplog.text
    assert token.split(".")[1] not in caplog.text
    assert all(token not in str(sent) for sent in channel.activities())
