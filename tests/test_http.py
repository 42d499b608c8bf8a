"""HTTP tests: the real app through aiohttp, answering a fake channel on loopback."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.settings import Settings
from bot.teams.app import create_app
from tests.conftest import FakeChannel, activity


async def test_healthz_is_alive(client: TestClient[Any, Any]) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "alive", "mode": "local"}


async def test_help_is_answered_with_one_card_on_the_channel(
    client: TestClient[Any, Any], channel: FakeChannel
) -> None:
    body = activity(channel.url, text="help")
    response = await client.post("/api/messages", json=body)
    assert response.status == 201
    assert len(channel.received) == 1
    sent = channel.received[0]
    # A reply goes to the activity it answers, with no token in local mode.
    assert sent.path == f"/v3/conversations/a:conversation-1/activities/{body['id']}"
    assert "Authorization" not in sent.headers
    assert sent.body is not None
    assert sent.body["replyToId"] == body["id"]
    assert sent.body["from"]["id"] == "28:meetbot"
    assert sent.body["recipient"]["id"] == "29:user-1"
    assert channel.cards()[0]["body"][0]["text"] == "MeetBot"


async def test_conversation_ids_are_escaped_in_the_reply_path(
    client: TestClient[Any, Any], channel: FakeChannel
) -> None:
    body = activity(channel.url, conversation_id="19:abc@thread.tacv2;messageid=17")
    assert (await client.post("/api/messages", json=body)).status == 201
    assert channel.received[0].path.startswith(
        "/v3/conversations/19:abc@thread.tacv2;messageid=17/activities/"
    )
    assert channel.received[0].headers["x-ms-conversation-id"] == (
        "19:abc@thread.tacv2;messageid=17"
    )


async def test_connections_to_the_channel_are_reused(
    client: TestClient[Any, Any], channel: FakeChannel
) -> None:
    for _ in range(5):
        await client.post("/api/messages", json=activity(channel.url))
    assert len(channel.received) == 5
    # One kept-alive connection: every reply arrives from the same client port.
    assert len({r.peer for r in channel.received}) == 1


@pytest.mark.parametrize(
    ("payload", "content_type", "status", "reason"),
    [
        (b"{not json", "application/json", 400, "not valid JSON"),
        (b"\xff\xfe", "application/json", 400, "not valid JSON"),
        (b"[]", "application/json", 400, "JSON object"),
        (b"{}", "application/json", 400, "'type'"),
        (b'{"type": "message"}', "application/json", 400, "serviceUrl"),
        (b'{"type": "message"}', "text/plain", 415, "application/json"),
        (b"", "application/json", 400, "not valid JSON"),
    ],
)
async def test_malformed_requests_get_4xx_with_a_reason(
    client: TestClient[Any, Any],
    channel: FakeChannel,
    payload: bytes,
    content_type: str,
    status: int,
    reason: str,
) -> None:
    response = await client.post(
        "/api/messages", data=payload, headers={"Content-Type": content_type}
    )
    assert response.status == status
    assert reason in (await response.json())["error"]
    assert channel.received == []
    # and the bot keeps serving
    ok = await client.post("/api/messages", json=activity(channel.url))
    assert ok.status == 201


@pytest.mark.parametrize("missing", ["conversation", "serviceUrl", "type", "from", "recipient"])
async def test_missing_required_fields_are_400(
    client: TestClient[Any, Any], channel: FakeChannel, missing: str
) -> None:
    body = activity(channel.url)
    del body[missing]
    response = await client.post("/api/messages", json=body)
    assert response.status == 400
    assert channel.received == []


async def test_fields_of_the_wrong_type_are_400_not_500(
    client: TestClient[Any, Any], channel: FakeChannel
) -> None:
    body = activity(channel.url, timestamp={"not": "a date"}, attachments=[{"contentType": 5}])
    response = await client.post("/api/messages", json=body)
    assert response.status == 400
    assert channel.received == []


async def test_a_body_over_the_limit_is_413(
    client: TestClient[Any, Any], channel: FakeChannel
) -> None:
    body = activity(channel.url, text="x" * (600 * 1024))
    response = await client.post(
        "/api/messages",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 413
    assert channel.received == []


async def test_get_on_messages_is_405(client: TestClient[Any, Any]) -> None:
    assert (await client.get("/api/messages")).status == 405


async def test_a_failing_turn_is_logged_and_the_user_told_without_details(
    client: TestClient[Any, Any], channel: FakeChannel, caplog: pytest.LogCaptureFixture
) -> None:
    # The channel refuses the first reply: the turn fails, on_turn_error answers.
    channel.fail_with.extend([400])
    response = await client.post("/api/messages", json=activity(channel.url))
    assert response.status == 201
    assert "turn failed" in caplog.text
    apology = channel.activities()[-1]
    assert apology["text"].startswith("Sorry, something went wrong")
    assert "400" not in apology["text"]


async def test_an_unhandled_invoke_gets_an_invoke_response(
    client: TestClient[Any, Any], channel: FakeChannel
) -> None:
    body = activity(channel.url, kind="invoke", text=None, name="unknown/thing", value={})
    response = await client.post("/api/messages", json=body)
    assert response.status == 501
    assert channel.received == []


async def test_production_mode_refuses_requests_without_a_token(
    aiohttp_client: Any, channel: FakeChannel
) -> None:
    settings = Settings(_env_file=None, MicrosoftAppId="app-id", MicrosoftAppPassword="pw")  # type: ignore[call-arg]
    client = await aiohttp_client(create_app(settings))
    response = await client.post("/api/messages", json=activity(channel.url))
    assert response.status == 401
    assert channel.received == []
    forged = await client.post(
        "/api/messages",
        json=activity(channel.url),
        headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJhdWQiOiJhcHAtaWQifQ."},
    )
    assert forged.status == 401
    assert channel.received == []


async def test_local_mode_with_explicit_oauth_url_serves_anonymous_clients(
    aiohttp_client: Any, channel: FakeChannel
) -> None:
    # botbuilder's parameterized auth crashes on anonymous requests when OAUTH_URL is set.
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        MicrosoftAppId="",
        OAUTH_URL="http://127.0.0.1:9/token",
        GRAPH_BASE_URL="http://127.0.0.1:9/graph/v1.0",
    )
    client = await aiohttp_client(create_app(settings))
    response = await client.post("/api/messages", json=activity(channel.url))
    assert response.status == 201
    assert channel.cards()[0]["body"][0]["text"] == "MeetBot"
