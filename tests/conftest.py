"""Shared fixtures: settings, a fake Bot Connector channel on loopback, the bot's client."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.settings import Settings
from bot.teams.app import create_app

_ids = itertools.count(1)


@dataclass
class Received:
    """One request the fake channel received from the bot."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    peer: tuple[str, int]
    # The id the channel gave the message (a card's id, to act on it); None when it failed.
    reply_id: str | None = None


@dataclass
class FakeChannel:
    """A loopback server speaking the Bot Connector API's reply routes; it records every call."""

    server: TestServer
    received: list[Received] = field(default_factory=list)
    fail_with: list[int] = field(default_factory=list)
    # conversation id -> member id -> the TeamsChannelAccount JSON Teams answers with.
    members: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # Every member lookup, as (conversation id, member id), members or not.
    lookups: list[tuple[str, str]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def activities(self) -> list[dict[str, Any]]:
        return [r.body for r in self.received if r.body is not None and r.method == "POST"]

    def cards(self) -> list[dict[str, Any]]:
        return [
            attachment["content"]
            for activity in self.activities()
            for attachment in activity.get("attachments") or []
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive"
        ]


def _channel_app(channel_ref: list[FakeChannel]) -> web.Application:
    async def record(request: web.Request) -> web.Response:
        channel = channel_ref[0]
        body = await request.json() if request.can_read_body else None
        peer = request.transport.get_extra_info("peername") if request.transport else None
        channel.received.append(
            Received(request.method, request.path, dict(request.headers), body, tuple(peer or ()))
        )
        if channel.fail_with:
            return web.json_response({"error": {"code": "x"}}, status=channel.fail_with.pop(0))
        channel.received[-1].reply_id = f"reply-{next(_ids)}"
        return web.json_response({"id": channel.received[-1].reply_id})

    async def member(request: web.Request) -> web.Response:
        """Teams answers a member lookup only for members of that conversation."""
        channel = channel_ref[0]
        conversation = request.match_info["conversation"]
        channel.lookups.append((conversation, request.match_info["member"]))
        found = channel.members.get(conversation, {}).get(request.match_info["member"])
        if found is None:
            error = {
                "code": "MemberNotFoundInConversation",
                "message": "The member is not part of this conversation.",
            }
            return web.json_response({"error": error}, status=404)
        return web.json_response(found)

    app = web.Application()
    app.router.add_route("GET", "/v3/conversations/{conversation}/members/{member}", member)
    app.router.add_route("POST", "/v3/conversations/{conversation}/activities", record)
    app.router.add_route("POST", "/v3/conversations/{conversation}/activities/{id}", record)
    app.router.add_route("PUT", "/v3/conversations/{conversation}/activities/{id}", record)
    app.router.add_route("DELETE", "/v3/conversations/{conversation}/activities/{id}", record)
    return app


@pytest.fixture
async def channel(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> FakeChannel:
    ref: list[FakeChannel] = []
    server = await aiohttp_server(_channel_app(ref))
    fake = FakeChannel(server)
    ref.append(fake)
    return fake


@pytest.fixture
async def token_service(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> Any:
    """A Bot Framework token service fake at the wire (see tests/flows.py)."""
    # Imported here: tests.flows itself imports this module.
    from tests.flows import FakeTokenService, token_service_app

    ref: list[FakeTokenService] = []
    fake = FakeTokenService(await aiohttp_server(token_service_app(ref)))
    ref.append(fake)
    return fake


@pytest.fixture(autouse=True)
def own_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test's default SQLite store is its own: state another test (or an earlier run)
    left in the repository's data/ must not answer for it (a delivery seen, a sign-in)."""
    monkeypatch.setenv("SQLITE_PATH", str(tmp_path / "state" / "meetbot.sqlite3"))


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, MicrosoftAppId="", PORT=3978, LOG_LEVEL="INFO")  # type: ignore[call-arg]


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]], settings: Settings
) -> TestClient[Any, Any]:
    return await aiohttp_client(create_app(settings))


def activity(
    service_url: str,
    *,
    text: str | None = "help",
    kind: str = "message",
    conversation_id: str = "a:conversation-1",
    conversation_type: str = "personal",
    channel_id: str = "msteams",
    **extra: Any,
) -> dict[str, Any]:
    """A Teams-shaped activity as the channel would POST it."""
    body: dict[str, Any] = {
        "type": kind,
        "id": f"activity-{next(_ids)}",
        "timestamp": "2026-11-23T20:00:00.000Z",
        "serviceUrl": service_url,
        "channelId": channel_id,
        "from": {"id": "29:user-1", "name": "Megan Bowen", "aadObjectId": "5f0e0000-user"},
        "recipient": {"id": "28:meetbot", "name": "MeetBot"},
        "conversation": {
            "id": conversation_id,
            "conversationType": conversation_type,
            "tenantId": "tenant-1",
        },
        "channelData": {"tenant": {"id": "tenant-1"}},
        "locale": "en-US",
    }
    if text is not None:
        body["text"] = text
    body.update(extra)
    return body


# What makes a test slow by what it uses: Azurite (a node process, once per session) or child
# processes sharing a store; every e2e test is slow too. Tests slow for other reasons (seconds
# of real waiting, thousands of Hypothesis examples, a bot started twice) carry
# `@pytest.mark.slow` where they are written.
_SLOW_FIXTURES = frozenset({"azurite", "children"})
_E2E_DIR = Path(__file__).resolve().parent / "e2e"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `slow` every test that starts processes or Azurite, so `-m "not slow"` is a quick
    run. Markers only: which tests run by default is unchanged. (This runs before `-m` selects,
    so it cannot rely on tests/e2e/conftest.py having marked its tests e2e already.)"""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        on_blob = callspec is not None and callspec.params.get("store") == "blob"
        e2e = item.get_closest_marker("e2e") or _E2E_DIR in item.path.resolve().parents
        if e2e or fixtures & _SLOW_FIXTURES or on_blob:
            item.add_marker(pytest.mark.slow)
