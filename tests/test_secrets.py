"""No secret in any log line of a whole scenario, and no exception text in any reply."""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.settings import Settings
from bot.teams.app import KEY, create_app
from tests.conftest import FakeChannel, activity
from tests.flows import (
    FakeTokenService,
    GraphFake,
    meet,
    meeting_cards,
    oauth_cards,
    running_bot,
    serve_token_service,
    sign_in_on_the_sandbox_page,
)
from tests.jwks_fake import (
    APP_ID,
    APP_PASSWORD,
    BOT_TOKEN,
    CHANNEL_ISSUER,
    identity_provider,
)

COMMAND = "meet Design review tomorrow at 3pm for 45 minutes"
OTHER = "meet Budget sync tomorrow at 4pm for 30 minutes"
USER = "29:user-1"
GRAPH_DETAIL = "ODataError at Microsoft.Graph.Internal.Resolve(token=abc) in tenant 72f9"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
EXCEPTION_TEXT = re.compile(r"Traceback|Error\b|Exception|File \"|HTTP \d{3}|status=\d")

Client = TestClient[Any, Any]
MakeServer = Callable[..., Awaitable[TestServer]]


class Everything(logging.Handler):
    """Every record of every logger, formatted with its arguments and traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def logs() -> Iterator[Everything]:
    handler = Everything()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # Some libraries set their own level; open them all up for this scenario.
    noisy = ["aiohttp", "botbuilder", "botframework", "msal", "msrest", "urllib3", "asyncio"]
    before = {name: logging.getLogger(name).level for name in noisy}
    for name in noisy:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for name, old in before.items():
            logging.getLogger(name).setLevel(old)


def forms_of(secret: str | bytes) -> list[str]:
    """A secret as it could appear in a log line: itself, hex, base64, and JWT parts."""
    raw = secret.encode() if isinstance(secret, str) else secret
    forms = [
        raw.hex(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ]
    if isinstance(secret, str):
        forms.append(secret)
        forms.extend(part for part in secret.split(".") if len(part) >= 16)
    return forms


def assert_no_secret(text: str, secrets: dict[str, str | bytes]) -> None:
    for name, secret in secrets.items():
        for form in forms_of(secret):
            assert form not in text, f"the {name} appears in the logs"
    found = JWT.search(text)
    assert found is None, f"a JWT appears in the logs: {found.group(0)[:40]}…"


def replies(channel: FakeChannel) -> list[str]:
    """What the user was shown: every text and text block the bot sent."""
    shown: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("text", "title", "value") and isinstance(value, str):
                    shown.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for sent in channel.activities():
        walk({"text": sent.get("text"), "attachments": sent.get("attachments")})
    return shown


def assert_replies_explain_without_internals(channel: FakeChannel) -> None:
    for text in replies(channel):
        assert GRAPH_DETAIL not in text
        assert not EXCEPTION_TEXT.search(text), text


def failing_graph(failures: list[int]) -> GraphFake:
    """The sandbox, answering an error with a telling body while `failures` last."""

    @web.middleware
    async def fail(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if failures:
            status = failures.pop(0)
            body = {"error": {"code": "BadRequest", "message": GRAPH_DETAIL}}
            return web.json_response(body, status=status, headers={"request-id": "req-9"})
        return await handler(request)

    return GraphFake(middlewares=[fail])


async def test_a_production_scenario_logs_no_secret_and_replies_no_internals(
    aiohttp_client: Callable[..., Awaitable[Client]],
    aiohttp_server: MakeServer,
    channel: FakeChannel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    logs: Everything,
) -> None:
    failures: list[int] = []
    graph = failing_graph(failures)
    graph_server = await aiohttp_server(graph.app)
    graph_url = str(graph_server.make_url("/graph/v1.0")).rstrip("/")
    token_service = await serve_token_service(aiohttp_server)
    user_token = graph.user_token()
    with identity_provider(tmp_path) as idp:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(idp.ca_bundle))
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            MicrosoftAppId=APP_ID,
            MicrosoftAppPassword=APP_PASSWORD,
            TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=idp.metadata_url,
            TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=CHANNEL_ISSUER,
            TO_CHANNEL_FROM_BOT_LOGIN_URL=idp.login_url,
            OAUTH_URL=token_service.url,
            GRAPH_BASE_URL=graph_url,
            STORAGE="sqlite",
            SQLITE_PATH=str(tmp_path / "state.sqlite3"),
            LOG_LEVEL="DEBUG",
        )
        client = await aiohttp_client(create_app(settings))
        channel_token = idp.signer.token(channel.url)

        async def send(body: dict[str, Any]) -> int:
            response = await client.post(
                "/api/messages", json=body, headers={"Authorization": f"Bearer {channel_token}"}
            )
            await response.read()
            return response.status

        await run_scenario(send, channel, token_service, user_token, failures)
        secrets: dict[str, str | bytes] = {
            "app password": APP_PASSWORD,
            "bot's token": BOT_TOKEN,
            "channel's token": channel_token,
            "user's Graph token": user_token,
            "signing key": client.server.app[KEY],
        }
    assert_no_secret(logs.text, secrets)
    assert_replies_explain_without_internals(channel)
    # The scenario did what it says: the secrets were all used.
    assert idp.token_requests()
    assert len(meeting_cards(channel)) == 1


async def run_scenario(
    send: Callable[[dict[str, Any]], Awaitable[int]],
    channel: FakeChannel,
    token_service: FakeTokenService,
    user_token: str,
    failures: list[int],
) -> None:
    """Sign in with a magic code, make a meeting, hit a Graph error and a failed turn, sign out."""
    assert await send(meet(channel, COMMAND)) == 201
    assert len(oauth_cards(channel)) == 1
    token_service.codes["246810"] = (USER, user_token)
    assert await send(meet(channel, "246810")) == 201
    assert meeting_cards(channel)[0]["body"][0]["text"] == "Meeting created"
    failures.append(400)
    assert await send(meet(channel, OTHER)) == 201
    problem = channel.cards()[-1]
    assert problem["body"][0]["text"] == "I couldn't create the meeting"
    assert "req-9" in json.dumps(problem)
    channel.fail_with.append(400)
    assert await send(meet(channel, "help")) == 201
    assert channel.activities()[-1]["text"].startswith("Sorry, something went wrong")
    assert await send(meet(channel, "logout")) == 201
    assert "signed out" in channel.activities()[-1]["text"]
    assert token_service.named("/api/usertoken/SignOut")


async def test_a_local_scenario_logs_no_sandbox_key_or_token(
    channel: FakeChannel, logs: Everything
) -> None:
    async with running_bot(LOG_LEVEL="DEBUG") as bot:
        assert (await bot.send(meet(channel, COMMAND))).status == 201
        link = oauth_cards(channel)[0]["buttons"][0]["value"]
        code = await sign_in_on_the_sandbox_page(bot.session, link)
        assert (await bot.send(meet(channel, code))).status == 201
        assert meeting_cards(channel)
        channel.fail_with.append(500)
        channel.fail_with.extend([500, 500])
        assert (await bot.send(activity(channel.url, text="list"))).status == 201
        assert (await bot.send(meet(channel, "logout"))).status == 201
        key = bot.key
    assert_no_secret(logs.text, {"sandbox signing key": key})
    assert_replies_explain_without_internals(channel)


@pytest.mark.parametrize(
    "leak",
    [
        APP_PASSWORD,
        APP_PASSWORD.encode().hex(),
        base64.b64encode(b"k" * 32).decode(),
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl",
    ],
)
def test_the_checker_finds_a_secret_in_any_of_its_forms(leak: str) -> None:
    with pytest.raises(AssertionError):
        assert_no_secret(f"INFO x: sent {leak}", {"password": APP_PASSWORD, "key": b"k" * 32})
