"""GraphClient set-up: base URLs of every cloud and the sandbox, paths, and the shared session."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
import pytest

from bot.graph import (
    CreateOrGetRequest,
    GraphClient,
    GraphError,
    GraphForbiddenError,
    OnlineMeetingsApi,
    RetryPolicy,
)

from . import canned
from .fakes import CannedGraph, Reply


@pytest.mark.parametrize(
    ("base_url", "beta", "expected"),
    [
        ("https://graph.microsoft.com/v1.0", False, "https://graph.microsoft.com/v1.0"),
        ("https://graph.microsoft.com/beta/", True, "https://graph.microsoft.com/beta"),
        ("https://graph.microsoft.us/v1.0", False, "https://graph.microsoft.us/v1.0"),
        ("https://dod-graph.microsoft.us/v1.0", False, "https://dod-graph.microsoft.us/v1.0"),
        (
            "http://127.0.0.1:3978/sandbox/graph/v1.0",
            False,
            "http://127.0.0.1:3978/sandbox/graph/v1.0",
        ),
        (
            "http://localhost:3978/sandbox/graph/beta",
            True,
            "http://localhost:3978/sandbox/graph/beta",
        ),
        ("http://[::1]:3978/sandbox/graph/v1.0", False, "http://[::1]:3978/sandbox/graph/v1.0"),
    ],
)
async def test_every_cloud_and_the_sandbox(
    http_session: aiohttp.ClientSession, base_url: str, beta: bool, expected: str
) -> None:
    graph = GraphClient(http_session, base_url)
    assert graph.base_url == expected
    assert graph.is_beta is beta
    assert str(graph.url_for()) == f"{expected}/me/onlineMeetings/createOrGet"
    assert (
        str(graph.url_for("5f0e6c6b-7d1c-4b8e-9f0a-2b3c4d5e6f70"))
        == f"{expected}/users/5f0e6c6b-7d1c-4b8e-9f0a-2b3c4d5e6f70/onlineMeetings/createOrGet"
    )


async def test_user_ids_are_escaped_in_the_path(http_session: aiohttp.ClientSession) -> None:
    graph = GraphClient(http_session, "https://graph.microsoft.com/v1.0")
    assert graph.url_for("a/b@c").raw_path == "/v1.0/users/a%2Fb%40c/onlineMeetings/createOrGet"
    with pytest.raises(ValueError, match="object id"):
        graph.url_for(" ")


@pytest.mark.parametrize(
    "base_url",
    [
        "http://graph.microsoft.com/v1.0",
        "ftp://graph.microsoft.com/v1.0",
        "graph.microsoft.com/v1.0",
        "https://graph.microsoft.com/v1.0?x=1",
    ],
)
async def test_unsafe_or_malformed_base_urls_are_refused(
    http_session: aiohttp.ClientSession, base_url: str
) -> None:
    with pytest.raises(ValueError, match=r"Graph base URL|plain http"):
        GraphClient(http_session, base_url)


async def test_arguments_are_checked(http_session: aiohttp.ClientSession) -> None:
    graph = GraphClient(http_session, "https://graph.microsoft.com/v1.0")
    request = CreateOrGetRequest(external_id="x")
    with pytest.raises(ValueError, match="token"):
        await graph.create_or_get("", request, budget_s=4)
    with pytest.raises(ValueError, match="budget"):
        await graph.create_or_get("t", request, budget_s=0)


async def test_works_over_a_session_that_raises_for_status_and_follows_redirects(
    canned_graph: tuple[CannedGraph, str],
) -> None:
    fake, root = canned_graph
    fake.queue(
        Reply(403, canned.ERRORS[403]),
        Reply(302, b"", {"Location": "https://elsewhere.example/steal"}),
    )
    async with aiohttp.ClientSession(raise_for_status=True) as shared:
        graph = GraphClient(shared, f"{root}/v1.0", retry=RetryPolicy(max_attempts=1))
        with pytest.raises(GraphForbiddenError):
            await graph.create_or_get("tok", CreateOrGetRequest(external_id="x"), budget_s=2)
        # A redirect is not followed (it would carry the token away): it is an unexpected answer.
        with pytest.raises(GraphError) as caught:
            await graph.create_or_get("tok", CreateOrGetRequest(external_id="x"), budget_s=2)
    assert type(caught.value) is GraphError
    assert caught.value.status == 302
    assert len(fake.received) == 2


async def test_extra_and_deprecated_keys_over_the_wire(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession
) -> None:
    fake, root = canned_graph
    fake.queue(Reply(200, canned.WITH_EXTRAS, content_type="application/json"))
    graph = GraphClient(http_session, f"{root}/v1.0")
    result = await graph.create_or_get("tok", CreateOrGetRequest(external_id="x"), budget_s=2)
    assert result.created is False
    assert result.meeting.audio_conferencing is not None
    assert result.meeting.audio_conferencing.conference_id == "804980123"


def test_graph_client_satisfies_the_protocol(http_session: aiohttp.ClientSession) -> None:
    api: OnlineMeetingsApi = GraphClient(http_session, "https://graph.microsoft.com/v1.0")
    assert isinstance(api, GraphClient)


async def test_the_request_arrives_as_utf8_json_of_what_was_asked(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession
) -> None:
    fake, root = canned_graph
    fake.queue(Reply(201, canned.WITH_EXTRAS, content_type="application/json"))
    graph = GraphClient(http_session, f"{root}/v1.0")
    subject = "Café ☕ “review” \U0001f680"
    request = CreateOrGetRequest(
        external_id="x",
        subject=subject,
        start=datetime(2026, 11, 25, 10, tzinfo=UTC),
        end=datetime(2026, 11, 25, 10, 30, tzinfo=UTC),
    )
    await graph.create_or_get("tok", request, budget_s=2)
    (seen,) = fake.received
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.json == {
        "externalId": "x",
        "subject": subject,
        "startDateTime": "2026-11-25T10:00:00Z",
        "endDateTime": "2026-11-25T10:30:00Z",
    }
