"""When a dependency fails, the user is told what failed and what to do; no 5xx, no lost
meeting. The token service is an aiohttp fake that refuses connections, answers 503 or stalls;
the store is a real in-memory store whose chosen operations raise `StorageError`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.auth.app_tokens import AnonymousTokenSource
from bot.auth.tokens import TokenServiceClient, TokenServiceError
from bot.core.request import MeetingRequest
from bot.settings import Settings
from bot.storage import StorageError, StrictMemoryStorage
from bot.teams.app import STORAGE, create_app
from bot.usecases.meetings import NOT_LISTED_NOTE, SIGNIN_DOWN_KEPT, Meetings
from cards.meeting import SIGNIN_UNAVAILABLE, signin_unavailable_card
from tests.conftest import FakeChannel, activity
from tests.flows import (
    FORM,
    FakeTokenService,
    RunningBot,
    execute,
    free_port,
    invoke,
    meet,
    meeting_cards,
    oauth_cards,
    running_bot,
    sandbox_token,
    token_service_app,
)
from tests.support.snapshots import check_snapshot

COMMAND = "meet Design review tomorrow at 3pm for 45 minutes"
GET_TOKEN = "/api/usertoken/GetToken"
SIGN_IN_RESOURCE = "/api/botsignin/GetSignInResource"
SIGN_OUT = "/api/usertoken/SignOut"
SORRY = "something went wrong on my side"
OK = (200, 201)  # a message is answered 201 (accepted), an invoke 200


def texts(channel: FakeChannel) -> list[str]:
    return [str(sent.get("text") or "") for sent in channel.activities()]


def unavailable_cards(channel: FakeChannel) -> list[dict[str, Any]]:
    return [card for card in channel.cards() if card["body"][0]["text"] == SIGNIN_UNAVAILABLE]


def try_again(card: dict[str, Any]) -> dict[str, Any]:
    (action,) = [a for a in card.get("actions") or [] if a["title"] == "Try again"]
    assert action["type"] == "Action.Submit"
    return dict(action["data"])


# -- the token service fails --------------------------------------------------------------


async def test_refused_connections_get_the_unavailable_card_with_try_again(
    channel: FakeChannel,
) -> None:
    # Nothing listens on this port: every call is refused.
    async with running_bot(OAUTH_URL=f"http://127.0.0.1:{free_port()}") as bot:
        response = await bot.send(meet(channel, COMMAND))
        assert response.status in OK
        (card,) = channel.cards()
        assert card["body"][0]["text"] == SIGNIN_UNAVAILABLE
        assert "Microsoft's sign-in service" in card["body"][1]["text"]
        assert "isn't anything you did" in card["body"][1]["text"]
        data = try_again(card)
        assert data["meetbot"] == "retry"
        assert data["subject"] == "Design review"
        assert not any(SORRY in text for text in texts(channel))


async def test_503_on_token_lookup_then_try_again_creates_the_meeting(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        token_service.tokens["29:user-1"] = sandbox_token(bot.key)
        token_service.failing.add(GET_TOKEN)
        assert (await bot.send(meet(channel, COMMAND))).status in OK
        (card,) = unavailable_cards(channel)

        token_service.failing.clear()
        submit = activity(channel.url, text=None, value=try_again(card))
        assert (await bot.send(submit)).status in OK
        (created,) = meeting_cards(channel)
        assert created["body"][0]["text"] == "Meeting created"
        assert created["body"][1]["text"] == "Design review"
        assert not any(SORRY in text for text in texts(channel))


async def test_a_failing_sign_in_link_keeps_the_request_for_the_code(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    """The pending request is written before the sign-in link is asked for: it survives."""
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        token_service.failing.add(SIGN_IN_RESOURCE)
        await bot.send(meet(channel, COMMAND))
        assert len(unavailable_cards(channel)) == 1
        assert oauth_cards(channel) == []

        # The user signs in some other way (a later OAuth card): the code completes the request.
        token_service.failing.clear()
        token_service.codes["123456"] = ("29:user-1", sandbox_token(bot.key))
        await bot.send(meet(channel, "123456"))
        (created,) = meeting_cards(channel)
        assert created["body"][1]["text"] == "Design review"


async def test_a_failing_magic_code_check_is_explained_and_the_code_works_later(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        await bot.send(meet(channel, COMMAND))
        assert len(oauth_cards(channel)) == 1
        token_service.codes["123456"] = ("29:user-1", sandbox_token(bot.key))
        token_service.failing.add(GET_TOKEN)
        assert (await bot.send(meet(channel, "123456"))).status in OK
        (card,) = unavailable_cards(channel)
        assert "couldn't check your code" in card["body"][1]["text"]

        token_service.failing.clear()
        await bot.send(meet(channel, "123456"))
        assert len(meeting_cards(channel)) == 1


async def test_signout_while_the_token_service_fails_says_what_happened(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        token_service.failing.add(SIGN_OUT)
        assert (await bot.send(meet(channel, "signout"))).status in OK
        assert token_service.named(SIGN_OUT)
        last = texts(channel)[-1]
        assert "may still be signed in" in last
        assert "signout" in last


async def test_invokes_are_answered_without_5xx_while_the_token_service_fails(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        await bot.send(meet(channel, COMMAND))
        token_service.failing.update({GET_TOKEN, SIGN_IN_RESOURCE, "/api/usertoken/exchange"})

        verify = invoke(channel, "signin/verifyState", {"state": "1"})
        response = await bot.send(verify)
        assert response.status in OK
        assert len(unavailable_cards(channel)) == 1

        # The form comes back with its values and a message.
        response = await bot.send(execute(channel, FORM))
        assert response.status in OK
        form = (await response.json())["value"]
        shown = str(form)
        assert "Sign-in is unavailable right now" in shown
        assert "Design review" in shown

        fetch = invoke(
            channel,
            "composeExtension/fetchTask",
            {"commandId": "createMeeting", "commandContext": "compose"},
        )
        response = await bot.send(fetch)
        assert response.status in OK
        task = (await response.json())["task"]["value"]
        assert task["card"]["content"]["body"][0]["text"] == SIGNIN_UNAVAILABLE

        submit = invoke(
            channel, "composeExtension/submitAction", {"commandId": "createMeeting", "data": FORM}
        )
        response = await bot.send(submit)
        assert response.status in OK
        dialog = str((await response.json())["task"]["value"]["card"])
        assert "Sign-in is unavailable right now" in dialog
        assert "Design review" in dialog

        exchange = invoke(
            channel,
            "signin/tokenExchange",
            {"id": "tx-1", "connectionName": "graph", "token": "sso-token"},
        )
        response = await bot.send(exchange)
        assert response.status == 412  # Teams then shows the sign-in button
        await bot.settle()
        assert meeting_cards(channel) == []
        assert not any(SORRY in text for text in texts(channel))


def test_the_unavailable_card_snapshot() -> None:
    request = MeetingRequest(
        tenant_id="tenant-1",
        conversation_id="a:conversation-1",
        organizer_id="5f0e0000-user",
        subject="Design review",
        start=datetime(2027, 1, 15, 15, 0, tzinfo=UTC),
        end=datetime(2027, 1, 15, 15, 45, tzinfo=UTC),
    )
    card = signin_unavailable_card(SIGNIN_DOWN_KEPT, retry=Meetings.retry_data(request))
    check_snapshot("problem_signin_unavailable", card)


async def test_a_stalled_token_service_gets_the_unavailable_card_at_the_set_timeout(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url, TOKEN_SERVICE_TIMEOUT_S=0.3) as bot:
        token_service.stalling.add(GET_TOKEN)
        token_service.stall_s = 30.0
        started = asyncio.get_running_loop().time()
        assert (await bot.send(meet(channel, COMMAND))).status in OK
        # Real time: the stall ends at the client's timeout (TOKEN_SERVICE_TIMEOUT_S), not 30 s.
        assert asyncio.get_running_loop().time() - started < 2.5  # the default is 4 s
        assert len(unavailable_cards(channel)) == 1


async def test_a_stalled_token_service_is_given_up_after_the_client_timeout() -> None:
    ref: list[FakeTokenService] = []
    server = TestServer(token_service_app(ref))
    await server.start_server()
    fake = FakeTokenService(server)
    ref.append(fake)
    fake.stalling.add(GET_TOKEN)
    fake.stall_s = 5.0
    try:
        async with aiohttp.ClientSession() as session:
            client = TokenServiceClient(
                session, fake.url, "", AnonymousTokenSource(), timeout_s=0.2
            )
            started = asyncio.get_running_loop().time()
            with pytest.raises(TokenServiceError) as raised:
                await client.get_token("29:user-1", "graph", "msteams")
            # Real time: the point is that a stall ends at the client's timeout.
            assert asyncio.get_running_loop().time() - started < 2.0
            assert raised.value.status == 0
    finally:
        await server.close()


async def test_an_app_credential_that_fails_is_a_token_service_error() -> None:
    class Failing:
        async def token(self) -> str | None:
            raise OSError("login.microsoftonline.com unreachable")

    async with aiohttp.ClientSession() as session:
        client = TokenServiceClient(session, f"http://127.0.0.1:{free_port()}", "app", Failing())
        with pytest.raises(TokenServiceError):
            await client.sign_out("29:user-1", "graph", "msteams")


# -- the store fails ----------------------------------------------------------------------


class FailingStorage(StrictMemoryStorage):
    """The real in-memory store, whose chosen operations on chosen keys raise StorageError."""

    def __init__(self) -> None:
        super().__init__()
        self.failing: dict[str, set[str]] = {}  # operation -> fragments of keys

    def _check(self, operation: str, keys: Iterable[str]) -> None:
        fragments = self.failing.get(operation, set())
        if any(fragment in key for key in keys for fragment in fragments):
            raise StorageError(f"injected: {operation} failed")

    async def read(self, keys: Iterable[str] | None) -> dict[str, Any]:
        wanted = list(keys or ())
        self._check("read", wanted)
        return await super().read(wanted)

    async def write(self, changes: Mapping[str, object] | None) -> None:
        self._check("write", list(changes or {}))
        await super().write(changes)

    async def update(self, key: str, change: Callable[[Any | None], dict[str, Any]]) -> None:
        self._check("write", [key])
        await super().update(key, change)


@asynccontextmanager
async def bot_on(storage: FailingStorage, **env: Any) -> AsyncIterator[RunningBot]:
    """`running_bot` whose state store is `storage` (the embedded sandboxes keep their own)."""
    port = free_port()
    values: dict[str, Any] = {"MicrosoftAppId": "", "PORT": port, "STORAGE": "memory"}
    values.update(env)
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    app: web.Application = create_app(settings)
    app[STORAGE] = storage
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    session = aiohttp.ClientSession()
    try:
        yield RunningBot(server, session, settings)
    finally:
        await session.close()
        await server.close()


async def test_a_ledger_that_cannot_be_written_still_shows_the_meeting(
    channel: FakeChannel, token_service: FakeTokenService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    storage = FailingStorage()
    storage.failing["write"] = {"/ledger/"}
    async with bot_on(storage, OAUTH_URL=token_service.url) as bot:
        token = sandbox_token(bot.key)
        token_service.tokens["29:user-1"] = token
        response = await bot.send(meet(channel, COMMAND))
        assert response.status in OK
        (card,) = channel.cards()
        assert card["body"][0]["text"] == "Meeting created"
        assert card["body"][1]["text"] == "Design review"
        notes = [block["text"] for block in card["body"] if block.get("color") == "warning"]
        assert any("won't show it" in note for note in notes)
        assert texts(channel) == [""]

        # `list` reads a ledger that never took the meeting: nothing to show, honestly.
        await bot.send(meet(channel, "list"))
        assert "haven't created any meetings" in texts(channel)[-1]
    assert "a meeting was not added to its conversation's list: StorageError" in caplog.text
    assert token not in caplog.text
    assert NOT_LISTED_NOTE.startswith("I couldn't keep this meeting")


async def test_a_ledger_that_cannot_be_read_refuses_only_over_the_limit(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    """The rate limit is in memory: it still applies; a re-ask over it cannot be confirmed
    from the ledger, so it gets the limit message like any other request over the limit."""
    storage = FailingStorage()
    async with bot_on(storage, OAUTH_URL=token_service.url, MEETINGS_PER_USER_PER_HOUR=1) as bot:
        token_service.tokens["29:user-1"] = sandbox_token(bot.key)
        await bot.send(meet(channel, COMMAND))
        assert meeting_cards(channel)[0]["body"][0]["text"] == "Meeting created"

        # With the ledger readable, the re-ask over the limit is answered with the meeting.
        await bot.send(meet(channel, COMMAND))
        assert meeting_cards(channel)[1]["body"][0]["text"] == "Already scheduled"

        storage.failing["read"] = {"/ledger/"}
        response = await bot.send(meet(channel, COMMAND))
        assert response.status in OK
        assert channel.cards()[-1]["body"][0]["text"] == "You've reached the limit for now"
        assert len(meeting_cards(channel)) == 2

        await bot.send(meet(channel, "list"))
        assert "couldn't read this conversation's list" in texts(channel)[-1]
        assert not any(SORRY in text for text in texts(channel))


async def test_a_request_that_cannot_be_kept_says_to_send_it_again_after_signing_in(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    storage = FailingStorage()
    storage.failing["write"] = {"/pending/"}
    async with bot_on(storage, OAUTH_URL=token_service.url) as bot:
        assert (await bot.send(meet(channel, COMMAND))).status in OK
        assert len(oauth_cards(channel)) == 1
        (text,) = texts(channel)
        assert "couldn't keep your request" in text
        assert "send it again after signing in" in text

        # The form says the same in its own words.
        response = await bot.send(execute(channel, FORM))
        assert response.status in OK
        assert "couldn't keep this form" in str((await response.json())["value"])


async def test_a_pending_request_that_cannot_be_read_is_explained_after_sign_in(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    storage = FailingStorage()
    async with bot_on(storage, OAUTH_URL=token_service.url) as bot:
        await bot.send(meet(channel, COMMAND))
        storage.failing["read"] = {"/pending/"}
        token_service.codes["123456"] = ("29:user-1", sandbox_token(bot.key))
        assert (await bot.send(meet(channel, "123456"))).status in OK
        assert "couldn't read the request you sent before signing in" in texts(channel)[-1]
        assert meeting_cards(channel) == []


async def test_an_sso_exchange_the_store_cannot_deduplicate_falls_back_to_the_button(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    storage = FailingStorage()
    storage.failing["write"] = {"/sso/"}
    async with bot_on(storage, OAUTH_URL=token_service.url) as bot:
        await bot.send(meet(channel, COMMAND))
        token_service.exchange_token = sandbox_token(bot.key)
        exchange = invoke(
            channel,
            "signin/tokenExchange",
            {"id": "tx-1", "connectionName": "graph", "token": "sso-token"},
        )
        response = await bot.send(exchange)
        assert response.status == 412  # Teams shows the sign-in button; its code completes
        assert token_service.named("/api/usertoken/exchange") == []
        token_service.codes["123456"] = ("29:user-1", sandbox_token(bot.key))
        await bot.send(meet(channel, "123456"))
        assert len(meeting_cards(channel)) == 1
