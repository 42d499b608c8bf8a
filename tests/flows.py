"""Helpers for flow tests: the bot on a real loopback port, token-service and Graph fakes at the
wire, sign-in as a person does it, and the meeting form as Teams submits it."""

from __future__ import annotations

import asyncio
import re
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.sandbox.graph import (
    RECEIVED,
    DirectoryPerson,
    FaultInjector,
    ReceivedRequest,
    create_graph_sandbox,
)
from bot.sandbox.tokens import SandboxIdentity, SandboxTokens
from bot.settings import Settings
from bot.storage import StrictMemoryStorage
from bot.teams.app import KEY, RUNTIME, create_app
from tests.conftest import FakeChannel, activity
from tests.support.cards import FULL

Middleware = Callable[..., Awaitable[web.StreamResponse]]

SIGNIN_LINK = re.compile(r"http://[^\"' ]+/sandbox/token/signin/[A-Za-z0-9_-]+")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningBot:
    """The whole app on 127.0.0.1:port, so its embedded sandbox URLs resolve."""

    server: TestServer
    session: aiohttp.ClientSession
    settings: Settings

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.port}"

    @property
    def key(self) -> bytes:
        return self.server.app[KEY]

    async def send(self, body: dict[str, Any]) -> aiohttp.ClientResponse:
        response = await self.session.post(f"{self.url}/api/messages", json=body)
        await response.read()
        return response

    async def settle(self, timeout_s: float = 2.0) -> None:
        """Wait for work the bot continues after answering (invokes)."""
        services = self.server.app[RUNTIME].services
        assert services is not None
        for _ in range(int(timeout_s * 100)):
            if not len(services.tasks):
                return
            await asyncio.sleep(0.01)
        raise AssertionError("background work did not finish")


@asynccontextmanager
async def running_bot(**env: Any) -> AsyncIterator[RunningBot]:
    port = free_port()
    values: dict[str, Any] = {"MicrosoftAppId": "", "PORT": port, "STORAGE": "memory"}
    values.update(env)
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    server = TestServer(create_app(settings), host="127.0.0.1", port=port)
    await server.start_server()
    session = aiohttp.ClientSession()
    try:
        yield RunningBot(server, session, settings)
    finally:
        await session.close()
        await server.close()


def meet(channel: FakeChannel, text: str, **extra: Any) -> dict[str, Any]:
    return activity(channel.url, text=text, **extra)


def oauth_cards(channel: FakeChannel) -> list[dict[str, Any]]:
    return [
        attachment["content"]
        for sent in channel.activities()
        for attachment in sent.get("attachments") or []
        if attachment.get("contentType") == "application/vnd.microsoft.card.oauth"
    ]


def meeting_cards(channel: FakeChannel) -> list[dict[str, Any]]:
    return [
        card
        for card in channel.cards()
        if card["body"][0]["text"] in ("Meeting created", "Already scheduled")
    ]


def join_url(card: dict[str, Any]) -> str:
    return str(next(a["url"] for a in card["actions"] if a["title"] == "Join"))


@dataclass
class FakeTokenService:
    """Speaks the Bot Framework token service REST API and records every call."""

    server: TestServer
    calls: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)  # user id -> token
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (user, token)
    exchange_token: str | None = None
    exchange_delay_s: float = 0.0
    # Paths that answer 503 (the service failing), or stall `stall_s` before answering.
    failing: set[str] = field(default_factory=set)
    stalling: set[str] = field(default_factory=set)
    stall_s: float = 30.0

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def named(self, path: str) -> list[tuple[str, str, dict[str, str], Any]]:
        return [call for call in self.calls if call[1] == path]


def token_service_app(ref: list[FakeTokenService]) -> web.Application:
    async def record(request: web.Request) -> tuple[FakeTokenService, dict[str, str]]:
        fake = ref[0]
        body = await request.json() if request.can_read_body else None
        query = dict(request.query)
        fake.calls.append((request.method, request.path, query, body))
        if request.path in fake.stalling:
            await asyncio.sleep(fake.stall_s)
        if request.path in fake.failing:
            raise web.HTTPServiceUnavailable(
                text='{"error": {"code": "ServiceUnavailable"}}', content_type="application/json"
            )
        return fake, query

    def token_json(query: dict[str, str], token: str) -> web.Response:
        return web.json_response(
            {
                "channelId": query.get("channelId"),
                "connectionName": query.get("connectionName"),
                "token": token,
                "expiration": "2099-01-01T00:00:00Z",
            }
        )

    async def get_token(request: web.Request) -> web.Response:
        fake, query = await record(request)
        user = query["userId"]
        code = query.get("code")
        if code:
            found = fake.codes.pop(code, None)
            if found is None or found[0] != user:
                return web.json_response({"error": {"code": "NotFound"}}, status=404)
            fake.tokens[user] = found[1]
        token = fake.tokens.get(user)
        if token is None:
            return web.json_response({"error": {"code": "NotFound"}}, status=404)
        return token_json(query, token)

    async def sign_in_resource(request: web.Request) -> web.Response:
        await record(request)
        return web.json_response(
            {
                "signInLink": "https://token.botframework.com/api/oauth/signin?signin=abc",
                "tokenExchangeResource": {
                    "id": "tx-1",
                    "uri": "api://botid-00000000-0000-0000-0000-000000000000",
                    "providerId": "aad",
                },
            }
        )

    async def exchange(request: web.Request) -> web.Response:
        fake, query = await record(request)
        await asyncio.sleep(fake.exchange_delay_s)
        if fake.exchange_token is None:
            return web.json_response({"error": {"code": "ExchangeFailed"}}, status=400)
        fake.tokens[query["userId"]] = fake.exchange_token
        return token_json(query, fake.exchange_token)

    async def sign_out(request: web.Request) -> web.Response:
        fake, query = await record(request)
        fake.tokens.pop(query["userId"], None)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_get("/api/usertoken/GetToken", get_token)
    app.router.add_get("/api/botsignin/GetSignInResource", sign_in_resource)
    app.router.add_post("/api/usertoken/exchange", exchange)
    app.router.add_delete("/api/usertoken/SignOut", sign_out)
    return app


async def serve_token_service(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> FakeTokenService:
    """The token service fake, served on loopback (the app needs the fake, the fake its server)."""
    ref: list[FakeTokenService] = []
    fake = FakeTokenService(await aiohttp_server(token_service_app(ref)))
    ref.append(fake)
    return fake


async def serve_graph(
    aiohttp_server: Callable[..., Awaitable[TestServer]], fake: GraphFake, path: str = "/graph/v1.0"
) -> GraphFake:
    """The Graph fake, served on loopback, its `url` the base URL the bot is given."""
    fake.url = str((await aiohttp_server(fake.app)).make_url(path)).rstrip("/")
    return fake


async def sign_in_on_the_sandbox_page(session: aiohttp.ClientSession, link: str) -> str:
    """What a person does in the browser: open the link, keep the name, submit, read the code."""
    async with session.get(link) as page:
        assert page.status == 200
        html = await page.text()
    assert "Sign in as" in html
    async with session.post(
        link, data={"name": "Megan Bowen", "email": "megan@contoso.com"}
    ) as done:
        assert done.status == 200
        text = await done.text()
    match = re.search(r'id="code">(\d{6})<', text)
    assert match, text
    return match.group(1)


def sandbox_token(key: bytes, *, lifetime_s: int = 3600, upn: str = "megan@contoso.com") -> str:
    identity = SandboxIdentity(
        tenant_id="tenant-1",
        object_id="5f0e0000-user",
        upn=upn,
        display_name="Megan Bowen",
        scopes=frozenset({"OnlineMeetings.ReadWrite"}),
    )
    return SandboxTokens(key).issue(identity, lifetime_s=lifetime_s)


def _created(received: ReceivedRequest) -> bool:
    """A createOrGet call (not a GET, PATCH or DELETE of a meeting)."""
    return received.method == "POST" and isinstance(received.json, dict)


class GraphFake:
    """The Graph sandbox on its own loopback server, with its own signing key."""

    def __init__(
        self,
        faults: FaultInjector | None = None,
        middlewares: Sequence[Middleware] = (),
        directory: Sequence[DirectoryPerson] = (),
    ) -> None:
        self.tokens = SandboxTokens(secrets.token_bytes(32))
        self.sandbox = create_graph_sandbox(
            StrictMemoryStorage(), self.tokens, faults=faults, directory=directory
        )
        self.app = web.Application(middlewares=list(middlewares))
        self.app.add_subapp("/graph", self.sandbox)
        self.url = ""

    def calls(self) -> int:
        return len(self.sandbox[RECEIVED])

    def external_ids(self) -> set[str]:
        """Distinct meetings asked for: createOrGet makes at most one per externalId."""
        return {r.json["externalId"] for r in self.sandbox[RECEIVED] if _created(r)}

    def bodies(self) -> list[dict[str, Any]]:
        """The createOrGet bodies received, in order."""
        return [r.json for r in self.sandbox[RECEIVED] if _created(r)]

    def user_token(self, scopes: frozenset[str] = frozenset({"OnlineMeetings.ReadWrite"})) -> str:
        identity = SandboxIdentity(
            tenant_id="tenant-1",
            object_id="5f0e0000-user",
            upn="megan@contoso.com",
            display_name="Megan Bowen",
            scopes=scopes,
        )
        return self.tokens.issue(identity)


TOMORROW = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
FORM = {
    "subject": "Design review",
    "date": TOMORROW,
    "startTime": "15:00",
    "durationMinutes": "45",
    "attendees": "",
    "attendeeEmails": "adele@contoso.com",
}


def invoke(channel: FakeChannel, name: str, value: Any) -> dict[str, Any]:
    """A Teams invoke activity with this name and value."""
    return activity(channel.url, kind="invoke", text=None, name=name, value=value)


def execute(channel: FakeChannel, data: dict[str, Any]) -> dict[str, Any]:
    return invoke(
        channel,
        "adaptiveCard/action",
        {"action": {"type": "Action.Execute", "verb": "createMeeting", "data": data}},
    )


def slow_graph(delay_s: float, seen: list[float]) -> web.Application:
    """A Graph stand-in that takes its time before answering with a new meeting."""

    async def create_or_get(request: web.Request) -> web.Response:
        seen.append(asyncio.get_running_loop().time())
        await request.read()
        await asyncio.sleep(delay_s)
        return web.json_response(FULL, status=201)

    app = web.Application()
    app.router.add_post("/v1.0/me/onlineMeetings/createOrGet", create_or_get)
    return app
