"""One contract suite for the client, run against the sandbox and against canned Graph answers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import aiohttp
import pytest

from bot.graph import (
    Attendee,
    CreateOrGetRequest,
    GraphAuthError,
    GraphBadRequestError,
    GraphClient,
    GraphForbiddenError,
    GraphNotFoundError,
    GraphThrottledError,
    GraphUnavailableError,
    RetryPolicy,
)

from .conftest import FAST_RETRY, Backend

PACIFIC = timezone(timedelta(hours=-8))
CHANNEL_THREAD = "19:3f2a0b7c9d8e4f1a@thread.tacv2"
GROUP_CHAT_THREAD = "19:7c1d2e3f4a5b6c7d8e9f@thread.v2"


def design_review(**changes: object) -> CreateOrGetRequest:
    fields: dict[str, object] = {
        "external_id": "2d9c6a3e-8b1f-5c4e-9a77-0f3b4c5d6e7f",
        "subject": "Design review",
        "start": datetime(2026, 11, 24, 12, 0, tzinfo=PACIFIC),
        "end": datetime(2026, 11, 24, 12, 45, tzinfo=PACIFIC),
        "attendees": [
            Attendee(upn="alex@contoso.com", object_id="1f35b6a4-0c2d-4e8f-8a9b-0c1d2e3f4a5b"),
            Attendee(upn="guest@fabrikam.com", role="presenter"),
        ],
        "chat_thread_id": CHANNEL_THREAD,
    }
    fields.update(changes)
    return CreateOrGetRequest.model_validate(fields)


def client_for(
    backend: Backend,
    session: aiohttp.ClientSession,
    version: str = "v1.0",
    retry: RetryPolicy = FAST_RETRY,
) -> GraphClient:
    return GraphClient(session, backend.base_url(version), retry=retry)


async def test_create_then_get_returns_the_stored_meeting(
    backend: Backend, http_session: aiohttp.ClientSession
) -> None:
    client = client_for(backend, http_session)
    backend.will_succeed(created=True)
    first = await client.create_or_get(backend.token(), design_review(), budget_s=5)
    backend.will_succeed(created=False)
    again = await client.create_or_get(
        backend.token(),
        design_review(subject="Renamed", end=datetime(2026, 11, 24, 14, 0, tzinfo=PACIFIC)),
        budget_s=5,
    )

    assert first.created is True
    assert again.created is False
    assert again.meeting.id == first.meeting.id
    assert again.meeting.join_web_url == first.meeting.join_web_url
    assert again.meeting.subject == "Design review"
    assert again.meeting.end_date_time == datetime(2026, 11, 24, 20, 45, tzinfo=UTC)
    assert first.meeting.join_web_url.startswith("https://teams.microsoft.com/l/meetup-join/")
    assert first.request_id
    assert first.request_id != again.request_id
    settings = first.meeting.join_meeting_id_settings
    assert settings is not None
    assert settings.passcode
    audio = first.meeting.audio_conferencing
    assert audio is not None
    assert audio.toll_numbers
    assert audio.dialin_url
    assert first.meeting.participants is not None
    assert first.meeting.participants.organizer is not None
    assert first.meeting.participants.organizer.upn == "megan@contoso.com"


async def test_what_graph_receives_on_v1(
    backend: Backend, http_session: aiohttp.ClientSession
) -> None:
    backend.will_succeed(created=True)
    token = backend.token()
    await client_for(backend, http_session).create_or_get(token, design_review(), budget_s=5)

    [seen] = backend.received()
    assert seen.method == "POST"
    assert seen.path.endswith("/v1.0/me/onlineMeetings/createOrGet")
    assert seen.authorization_scheme == "Bearer"
    assert "authorization" not in {name.lower() for name in seen.headers}
    assert seen.headers["Content-Type"] == "application/json"
    assert uuid.UUID(seen.headers["client-request-id"]).version == 4
    assert seen.headers["return-client-request-id"] == "true"
    assert "Retry-Attempt" not in seen.headers
    assert seen.json == {
        "externalId": "2d9c6a3e-8b1f-5c4e-9a77-0f3b4c5d6e7f",
        "subject": "Design review",
        "startDateTime": "2026-11-24T20:00:00Z",
        "endDateTime": "2026-11-24T20:45:00Z",
        "participants": {
            "attendees": [
                {
                    "identity": {"user": {"id": "1f35b6a4-0c2d-4e8f-8a9b-0c1d2e3f4a5b"}},
                    "upn": "alex@contoso.com",
                    "role": "attendee",
                },
                {"upn": "guest@fabrikam.com", "role": "presenter"},
            ]
        },
    }
    assert "chatInfo" not in seen.json


async def test_beta_sends_chat_info(backend: Backend, http_session: aiohttp.ClientSession) -> None:
    backend.will_succeed(created=True)
    client = client_for(backend, http_session, "beta")
    result = await client.create_or_get(backend.token(), design_review(), budget_s=5)

    [seen] = backend.received()
    assert seen.path.endswith("/beta/me/onlineMeetings/createOrGet")
    assert seen.json["chatInfo"] == {"threadId": CHANNEL_THREAD}
    assert result.meeting.chat_info is not None


async def test_app_only_path_for_another_user(
    backend: Backend, http_session: aiohttp.ClientSession
) -> None:
    backend.will_succeed(created=True)
    client = client_for(backend, http_session)
    organizer = backend.organizer_id()
    result = await client.create_or_get(
        backend.token(), design_review(), budget_s=5, user_object_id=organizer
    )

    assert result.created
    [seen] = backend.received()
    assert seen.path.endswith(f"/v1.0/users/{organizer}/onlineMeetings/createOrGet")


async def test_expired_token_is_an_auth_error_and_not_retried(
    backend: Backend, http_session: aiohttp.ClientSession
) -> None:
    token = backend.expired_token()
    with pytest.raises(GraphAuthError) as caught:
        await client_for(backend, http_session).create_or_get(token, design_review(), budget_s=5)

    error = caught.value
    [seen] = backend.received()
    assert (error.status, error.code) == (401, "InvalidAuthenticationToken")
    assert error.request_id
    assert error.client_request_id == seen.headers["client-request-id"]
    assert "sign in" in error.user_message
    for text in (error.user_message, str(error), repr(error)):
        assert token not in text


async def test_missing_consent_is_forbidden(
    backend: Backend, http_session: aiohttp.ClientSession
) -> None:
    token = backend.token_without_scope()
    with pytest.raises(GraphForbiddenError) as caught:
        await client_for(backend, http_session).create_or_get(token, design_review(), budget_s=5)

    assert (caught.value.status, caught.value.code) == (403, "Forbidden")
    assert "admin" in caught.value.user_message
    assert len(backend.received()) == 1


async def test_group_chat_thread_on_beta_is_a_bad_request(
    backend: Backend, http_session: aiohttp.ClientSession
) -> None:
    backend.will_reject_body()
    client = client_for(backend, http_session, "beta")
    with pytest.raises(GraphBadRequestError) as caught:
        await client.create_or_get(
            backend.token(), design_review(chat_thread_id=GROUP_CHAT_THREAD), budget_s=5
        )

    assert (caught.value.status, caught.value.code) == (400, "BadRequest")
    assert "channel" in caught.value.user_message
    assert len(backend.received()) == 1


async def test_upn_instead_of_object_id_is_not_found(
    backend: Backend, http_session: aiohttp.ClientSession
) -> None:
    backend.will_not_find_user()
    client = client_for(backend, http_session)
    with pytest.raises(GraphNotFoundError) as caught:
        await client.create_or_get(
            backend.token(), design_review(), budget_s=5, user_object_id="megan@contoso.com"
        )

    assert caught.value.status == 404
    assert caught.value.request_id
    [seen] = backend.received()
    assert seen.path.endswith("/users/megan@contoso.com/onlineMeetings/createOrGet")


async def test_throttling_past_the_attempts_keeps_retry_after(
    backend: Backend, http_session: aiohttp.ClientSession
) -> None:
    backend.will_fail(429, retry_after="0.05", times=10)
    client = client_for(backend, http_session, retry=RetryPolicy(max_attempts=3))
    with pytest.raises(GraphThrottledError) as caught:
        await client.create_or_get(backend.token(), design_review(), budget_s=5)

    error = caught.value
    assert (error.status, error.code, error.retry_after, error.attempts) == (
        429,
        "TooManyRequests",
        0.05,
        3,
    )
    assert "try again in 1 s" in error.user_message
    seen = backend.received()
    assert len(seen) == 3
    assert {s.headers["client-request-id"] for s in seen} == {error.client_request_id}
    assert [s.headers.get("Retry-Attempt") for s in seen] == [None, "1", "2"]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_transient_server_error_then_success(
    backend: Backend, http_session: aiohttp.ClientSession, status: int
) -> None:
    backend.will_fail(status)
    backend.will_succeed(created=True)
    result = await client_for(backend, http_session).create_or_get(
        backend.token(), design_review(), budget_s=5
    )

    assert result.created
    assert result.attempts == 2
    assert len(backend.received()) == 2


async def test_unavailable_after_every_attempt(
    backend: Backend, http_session: aiohttp.ClientSession
) -> None:
    backend.will_fail(503, times=10)
    client = client_for(backend, http_session, retry=RetryPolicy(max_attempts=3, base_delay_s=0.01))
    with pytest.raises(GraphUnavailableError) as caught:
        await client.create_or_get(backend.token(), design_review(), budget_s=5)

    assert (caught.value.status, caught.value.code) == (503, "ServiceUnavailable")
    assert caught.value.attempts == 3
    assert "try again" in caught.value.user_message


async def test_dropped_connection_is_retried(
    backend: Backend, http_session: aiohttp.ClientSession
) -> None:
    backend.will_drop()
    backend.will_succeed(created=True)
    result = await client_for(backend, http_session).create_or_get(
        backend.token(), design_review(), budget_s=5
    )

    assert result.created
    assert result.attempts == 2
    first, second = backend.received()
    assert first.headers["client-request-id"] == second.headers["client-request-id"]


async def test_organizer_without_audio_licence(
    backend: Backend, http_session: aiohttp.ClientSession
) -> None:
    token = backend.token_without_audio_licence()
    result = await client_for(backend, http_session).create_or_get(
        token, design_review(), budget_s=5
    )

    assert result.meeting.audio_conferencing is None
    assert result.meeting.join_web_url
