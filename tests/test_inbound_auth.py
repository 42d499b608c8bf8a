"""Inbound authentication in production mode, and ALLOWED_TENANTS, checked at the wire."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.settings import Settings
from bot.teams.app import create_app
from tests.conftest import FakeChannel, activity
from tests.flows import (
    FakeTokenService,
    GraphFake,
    meeting_cards,
    serve_graph,
    serve_token_service,
)
from tests.jwks_fake import (
    APP_ID,
    APP_PASSWORD,
    BOT_TOKEN,
    CHANNEL_ISSUER,
    ChannelSigner,
    IdentityProvider,
    identity_provider,
    new_rsa_key,
)

COMMAND = "meet Design review tomorrow at 3pm for 45 minutes"
USER = "29:user-1"

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
MakeServer = Callable[..., Awaitable[TestServer]]


@pytest.fixture
def idp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[IdentityProvider]:
    with identity_provider(tmp_path) as provider:
        # botbuilder and MSAL fetch with `requests`, which trusts this bundle for the fake.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(provider.ca_bundle))
        yield provider


@pytest.fixture
async def graph(aiohttp_server: MakeServer) -> GraphFake:
    return await serve_graph(aiohttp_server, GraphFake())


@pytest.fixture
async def token_service(aiohttp_server: MakeServer, graph: GraphFake) -> FakeTokenService:
    fake = await serve_token_service(aiohttp_server)
    fake.tokens[USER] = graph.user_token()
    return fake


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite3"


def production_settings(
    idp: IdentityProvider,
    graph: GraphFake,
    token_service: FakeTokenService,
    database: Path,
    **env: Any,
) -> Settings:
    values: dict[str, Any] = {
        "MicrosoftAppId": APP_ID,
        "MicrosoftAppPassword": APP_PASSWORD,
        "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": idp.metadata_url,
        "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": CHANNEL_ISSUER,
        "TO_CHANNEL_FROM_BOT_LOGIN_URL": idp.login_url,
        "OAUTH_URL": token_service.url,
        "GRAPH_BASE_URL": graph.url,
        "STORAGE": "sqlite",
        "SQLITE_PATH": str(database),
    }
    values.update(env)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def bot(
    aiohttp_client: MakeClient,
    idp: IdentityProvider,
    graph: GraphFake,
    token_service: FakeTokenService,
    database: Path,
) -> Client:
    return await aiohttp_client(
        create_app(production_settings(idp, graph, token_service, database))
    )


def stored_records(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        (count,) = connection.execute("SELECT count(*) FROM store_items").fetchone()
    return int(count)


async def post(client: Client, body: dict[str, Any], authorization: str | None) -> Any:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = await client.post("/api/messages", json=body, headers=headers)
    return response


async def test_a_channel_token_is_accepted_and_the_meeting_made_and_posted(
    bot: Client,
    channel: FakeChannel,
    idp: IdentityProvider,
    graph: GraphFake,
    token_service: FakeTokenService,
    database: Path,
) -> None:
    token = idp.signer.token(channel.url)
    response = await post(bot, activity(channel.url, text=COMMAND), f"Bearer {token}")
    assert response.status == 201
    cards = meeting_cards(channel)
    assert len(cards) == 1
    assert cards[0]["body"][0]["text"] == "Meeting created"
    assert graph.calls() == 1
    # Replies and token-service calls carry the bot's own token from the (fake) Entra login.
    assert {r.headers.get("Authorization") for r in channel.received} == {f"Bearer {BOT_TOKEN}"}
    logins = idp.token_requests()
    assert logins
    assert logins[0].form["client_id"] == APP_ID
    assert token_service.named("/api/usertoken/GetToken")
    assert stored_records(database) > 0


def _bad_tokens() -> list[Any]:
    now = int(time.time())

    def case(name: str, build: Callable[[ChannelSigner, str], str | None]) -> Any:
        return pytest.param(build, id=name)

    return [
        case("absent", lambda s, url: None),
        case("empty", lambda s, url: ""),
        case("not a bearer", lambda s, url: f"Basic {s.token(url)}"),
        case("not a jwt", lambda s, url: "Bearer not-a-jwt"),
        case("three parts", lambda s, url: f"Bearer {s.token(url)} extra"),
        case("forged signature", lambda s, url: f"Bearer {s.token(url, key=new_rsa_key())}"),
        case(
            "alg none",
            lambda s, url: "Bearer " + s.unsigned(url, {"alg": "none", "typ": "JWT", "kid": s.kid}),
        ),
        case(
            "hs256 keyed with the public key",
            lambda s, url: f"Bearer {s.hs256_with_public_key(url)}",
        ),
        case("expired", lambda s, url: f"Bearer {s.token(url, exp=now - 600, nbf=now - 4000)}"),
        case("not yet valid", lambda s, url: f"Bearer {s.token(url, nbf=now + 3600)}"),
        case("wrong audience", lambda s, url: f"Bearer {s.token(url, aud='another-bot')}"),
        case("no audience", lambda s, url: f"Bearer {s.token(url, aud=None)}"),
        case(
            "wrong issuer",
            lambda s, url: f"Bearer {s.token(url, iss='https://sts.windows.net/x/')}",
        ),
        case("no issuer", lambda s, url: f"Bearer {s.token(url, iss=None)}"),
        case(
            "unknown kid",
            lambda s, url: f"Bearer {s.token(url, key=new_rsa_key(), kid='rotated-away')}",
        ),
        case(
            "another serviceUrl",
            lambda s, url: f"Bearer {s.token('https://smba.trafficmanager.net/evil/')}",
        ),
        case("no serviceUrl claim", lambda s, url: f"Bearer {s.token(url, serviceurl=None)}"),
    ]


async def test_a_meeting_finished_after_sign_in_is_posted_with_the_bots_token(
    bot: Client,
    channel: FakeChannel,
    idp: IdentityProvider,
    graph: GraphFake,
    token_service: FakeTokenService,
) -> None:
    """Teams' sign-in invoke is answered at once and the meeting posted afterwards, outside
    the invoke's turn: that post must carry the bot's token like any reply."""
    del token_service.tokens[USER]
    token = f"Bearer {idp.signer.token(channel.url)}"
    assert (await post(bot, activity(channel.url, text=COMMAND), token)).status == 201
    token_service.codes["654321"] = (USER, graph.user_token())
    verify = activity(
        channel.url, kind="invoke", text=None, name="signin/verifyState", value={"state": "654321"}
    )
    assert (await post(bot, verify, token)).status == 200
    deadline = asyncio.get_running_loop().time() + 10
    while not meeting_cards(channel):
        assert asyncio.get_running_loop().time() < deadline, channel.received
        await asyncio.sleep(0.02)
    assert {r.headers.get("Authorization") for r in channel.received} == {f"Bearer {BOT_TOKEN}"}


@pytest.mark.parametrize("build", _bad_tokens())
async def test_a_bad_token_is_401_and_nothing_happens(
    bot: Client,
    channel: FakeChannel,
    idp: IdentityProvider,
    graph: GraphFake,
    token_service: FakeTokenService,
    database: Path,
    build: Callable[[ChannelSigner, str], str | None],
) -> None:
    response = await post(bot, activity(channel.url, text=COMMAND), build(idp.signer, channel.url))
    assert response.status == 401
    assert "token" in (await response.json())["error"]
    assert_nothing_happened(channel, idp, graph, token_service, database)


def assert_nothing_happened(
    channel: FakeChannel,
    idp: IdentityProvider,
    graph: GraphFake,
    token_service: FakeTokenService,
    database: Path,
) -> None:
    assert channel.received == []
    assert graph.calls() == 0
    assert token_service.calls == []
    assert idp.token_requests() == []
    assert stored_records(database) == 0


async def test_a_key_endorsed_for_teams_does_not_admit_another_channel(
    bot: Client,
    channel: FakeChannel,
    idp: IdentityProvider,
    graph: GraphFake,
    token_service: FakeTokenService,
    database: Path,
) -> None:
    body = activity(channel.url, text=COMMAND, channel_id="webchat")
    response = await post(bot, body, f"Bearer {idp.signer.token(channel.url)}")
    assert response.status == 401
    assert_nothing_happened(channel, idp, graph, token_service, database)


async def test_a_token_without_an_expiry_is_refused(
    bot: Client,
    channel: FakeChannel,
    idp: IdentityProvider,
    graph: GraphFake,
    token_service: FakeTokenService,
    database: Path,
) -> None:
    # botbuilder lets PyJWT skip `exp` when it is absent: such a token would never expire.
    token = idp.signer.token(channel.url, exp=None)
    response = await post(bot, activity(channel.url, text=COMMAND), f"Bearer {token}")
    assert response.status == 401
    assert_nothing_happened(channel, idp, graph, token_service, database)


async def test_a_token_replayed_for_a_changed_body_is_still_bound_to_its_service_url(
    bot: Client, channel: FakeChannel, idp: IdentityProvider, database: Path
) -> None:
    # A token says who sent it and where replies go, not what the body is: a captured token
    # can carry another body to the same serviceUrl, but not redirect replies elsewhere.
    token = idp.signer.token(channel.url)
    moved = activity("https://attacker.example.net/", text=COMMAND)
    assert (await post(bot, moved, f"Bearer {token}")).status == 401
    assert channel.received == []


async def test_unreachable_entra_accepts_the_activity_and_logs_the_failed_reply(
    aiohttp_client: MakeClient,
    channel: FakeChannel,
    idp: IdentityProvider,
    graph: GraphFake,
    token_service: FakeTokenService,
    database: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # What happens offline: inbound auth succeeds, the bot's own token cannot be fetched, so
    # no reply can be sent; the turn fails, is logged, and the channel still gets a 2xx.
    settings = production_settings(
        idp,
        graph,
        token_service,
        database,
        TO_CHANNEL_FROM_BOT_LOGIN_URL="https://127.0.0.1:9/adfs",
    )
    client = await aiohttp_client(create_app(settings))
    caplog.set_level(logging.INFO)
    response = await post(
        client, activity(channel.url, text="help"), f"Bearer {idp.signer.token(channel.url)}"
    )
    assert response.status == 201
    assert channel.received == []
    assert "turn failed" in caplog.text
    assert APP_PASSWORD not in caplog.text


# -- ALLOWED_TENANTS ----------------------------------------------------------------------------


@pytest.fixture
async def tenant_bot(
    aiohttp_client: MakeClient, graph: GraphFake, token_service: FakeTokenService
) -> Client:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        MicrosoftAppId="",
        STORAGE="memory",
        ALLOWED_TENANTS="Tenant-1, tenant-3",
        GRAPH_BASE_URL=graph.url,
        OAUTH_URL=token_service.url,
    )
    return await aiohttp_client(create_app(settings))


def from_tenant(channel: FakeChannel, tenant: str | None, **extra: Any) -> dict[str, Any]:
    body = activity(channel.url, **extra)
    body["conversation"] = {**body["conversation"], "tenantId": tenant}
    body["channelData"] = {"tenant": {"id": tenant}} if tenant is not None else {}
    if tenant is None:
        del body["conversation"]["tenantId"]
    return body


async def test_an_allowed_tenant_is_served(tenant_bot: Client, channel: FakeChannel) -> None:
    response = await tenant_bot.post("/api/messages", json=from_tenant(channel, "TENANT-1"))
    assert response.status == 201
    assert channel.cards()[0]["body"][0]["text"] == "MeetBot"


@pytest.mark.parametrize("tenant", ["tenant-2", None])
async def test_a_message_from_another_tenant_gets_one_polite_refusal_and_no_processing(
    tenant_bot: Client,
    channel: FakeChannel,
    graph: GraphFake,
    token_service: FakeTokenService,
    tenant: str | None,
) -> None:
    body = from_tenant(channel, tenant, text=COMMAND)
    response = await tenant_bot.post("/api/messages", json=body)
    assert response.status == 201
    sent = channel.activities()
    assert len(sent) == 1
    assert "isn't available for your organization" in sent[0]["text"]
    assert not sent[0].get("attachments")
    assert graph.calls() == 0
    assert token_service.calls == []


async def test_an_invoke_from_another_tenant_is_403_with_a_reason(
    tenant_bot: Client, channel: FakeChannel, graph: GraphFake
) -> None:
    body = from_tenant(
        channel,
        "tenant-2",
        kind="invoke",
        text=None,
        name="adaptiveCard/action",
        value={"action": {"type": "Action.Execute", "verb": "createMeeting", "data": {}}},
    )
    response = await tenant_bot.post("/api/messages", json=body)
    assert response.status == 403
    assert "organization" in (await response.json())["error"]
    assert channel.received == []
    assert graph.calls() == 0


async def test_a_conversation_update_from_another_tenant_is_ignored(
    tenant_bot: Client, channel: FakeChannel
) -> None:
    body = from_tenant(
        channel,
        "tenant-2",
        kind="conversationUpdate",
        text=None,
        membersAdded=[{"id": "28:meetbot"}],
    )
    response = await tenant_bot.post("/api/messages", json=body)
    assert response.status == 201
    assert channel.received == []


async def test_a_tenant_named_twice_differently_is_refused(
    tenant_bot: Client, channel: FakeChannel
) -> None:
    # channelData says one tenant, the conversation another: refuse rather than guess.
    body = from_tenant(channel, "tenant-1")
    body["conversation"]["tenantId"] = "tenant-2"
    response = await tenant_bot.post("/api/messages", json=body)
    assert response.status == 201
    assert "isn't available" in channel.activities()[0]["text"]
