"""Retry behaviour measured at the wire: the canned Graph records when each attempt arrived."""

from __future__ import annotations

import itertools
import time

import aiohttp
import pytest

from bot.graph import (
    CreateOrGetRequest,
    GraphBadRequestError,
    GraphClient,
    GraphError,
    GraphThrottledError,
    GraphTimeoutError,
    GraphUnavailableError,
    RetryPolicy,
)

from . import canned
from .fakes import CannedGraph, Reply

TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.retry-token.c2lnbmF0dXJl"
REQUEST = CreateOrGetRequest(external_id="retry-1", subject="Retries")
# Scheduling noise allowed on top of a wait the client chose (a loaded 2-core CI box).
SLACK_S = 0.25


def created() -> Reply:
    return Reply(201, canned.MEETING)


def failing(status: int, retry_after: str | None = None) -> Reply:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Reply(status, canned.ERRORS[status], headers)


def gaps(fake: CannedGraph) -> list[float]:
    times = [seen.at for seen in fake.received]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def client(
    session: aiohttp.ClientSession, root: str, retry: RetryPolicy, **kwargs: object
) -> GraphClient:
    return GraphClient(session, f"{root}/v1.0", retry=retry, **kwargs)  # type: ignore[arg-type]


async def test_fractional_retry_after_is_honoured(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession
) -> None:
    fake, root = canned_graph
    fake.queue(failing(429, "0.328"), created())
    result = await client(http_session, root, RetryPolicy()).create_or_get(
        TOKEN, REQUEST, budget_s=5
    )

    assert result.created
    assert result.attempts == 2
    [gap] = gaps(fake)
    assert 0.328 <= gap < 0.328 + SLACK_S


async def test_retry_after_on_503_is_honoured_too(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession
) -> None:
    fake, root = canned_graph
    fake.queue(failing(503, "0.2"), created())
    await client(http_session, root, RetryPolicy(base_delay_s=0.001)).create_or_get(
        TOKEN, REQUEST, budget_s=5
    )

    [gap] = gaps(fake)
    assert 0.2 <= gap < 0.2 + SLACK_S


async def test_backoff_grows_without_retry_after(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession
) -> None:
    fake, root = canned_graph
    fake.queue(failing(503), failing(500), failing(504), created())
    policy = RetryPolicy(base_delay_s=0.08, max_delay_s=1.0)
    result = await client(http_session, root, policy, rand=lambda: 1.0).create_or_get(
        TOKEN, REQUEST, budget_s=5
    )

    assert result.attempts == 4
    first, second, third = gaps(fake)
    assert 0.08 <= first < 0.08 + SLACK_S
    assert 0.16 <= second < 0.16 + SLACK_S
    assert 0.32 <= third < 0.32 + SLACK_S
    assert first < second < third


async def test_backoff_is_full_jitter_from_the_random_source(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession
) -> None:
    fake, root = canned_graph
    fake.queue(failing(503), failing(503), created())
    policy = RetryPolicy(base_delay_s=2.0, max_delay_s=2.0)
    await client(http_session, root, policy, rand=lambda: 0.05).create_or_get(
        TOKEN, REQUEST, budget_s=5
    )

    assert all(0.1 <= gap < 0.1 + SLACK_S for gap in gaps(fake))


async def test_the_budget_is_never_exceeded(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession
) -> None:
    fake, root = canned_graph
    fake.default = failing(503)
    policy = RetryPolicy(max_attempts=50, base_delay_s=0.1, max_delay_s=0.4)
    started = time.monotonic()
    with pytest.raises(GraphUnavailableError) as caught:
        await client(http_session, root, policy, rand=lambda: 1.0).create_or_get(
            TOKEN, REQUEST, budget_s=1.0
        )
    elapsed = time.monotonic() - started

    # Sleeps stop before the budget; a timer firing late may add scheduling noise only.
    assert elapsed <= 1.0 + 0.05
    assert fake.received[-1].at - started <= 1.0
    assert caught.value.attempts == len(fake.received) >= 3


async def test_retry_after_beyond_the_budget_fails_at_once_with_retry_after(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession
) -> None:
    fake, root = canned_graph
    fake.queue(failing(429, "30"))
    started = time.monotonic()
    with pytest.raises(GraphThrottledError) as caught:
        await client(http_session, root, RetryPolicy()).create_or_get(TOKEN, REQUEST, budget_s=4)

    assert time.monotonic() - started < 0.5
    assert len(fake.received) == 1
    assert caught.value.retry_after == 30
    assert "try again in 30 s" in caught.value.user_message


async def test_a_hanging_graph_times_out_within_the_budget(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession
) -> None:
    fake, root = canned_graph
    fake.default = Reply(201, canned.MEETING, delay_s=3.0)
    started = time.monotonic()
    with pytest.raises(GraphTimeoutError) as caught:
        await client(http_session, root, RetryPolicy()).create_or_get(TOKEN, REQUEST, budget_s=0.5)

    assert time.monotonic() - started < 0.5 + SLACK_S
    assert caught.value.status is None
    assert "safe" in caught.value.user_message


async def test_a_hung_attempt_is_cut_short_and_retried(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession
) -> None:
    fake, root = canned_graph
    fake.queue(Reply(201, canned.MEETING, delay_s=3.0), Reply(200, canned.MEETING))
    policy = RetryPolicy(max_attempt_timeout_s=0.3, base_delay_s=0.01)
    result = await client(http_session, root, policy).create_or_get(TOKEN, REQUEST, budget_s=2)

    assert (result.created, result.attempts) == (False, 2)
    assert 0.3 <= gaps(fake)[0] < 0.3 + SLACK_S


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409])
async def test_client_errors_are_not_retried(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession, status: int
) -> None:
    fake, root = canned_graph
    fake.default = failing(status)
    with pytest.raises(GraphError) as caught:
        await client(http_session, root, RetryPolicy()).create_or_get(TOKEN, REQUEST, budget_s=5)

    assert caught.value.status == status
    assert len(fake.received) == 1


async def test_dropped_connections_are_retried(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession
) -> None:
    fake, root = canned_graph
    fake.queue(Reply(drop=True), Reply(drop=True), created())
    policy = RetryPolicy(base_delay_s=0.01)
    result = await client(http_session, root, policy).create_or_get(TOKEN, REQUEST, budget_s=5)

    assert (result.created, result.attempts) == (True, 3)
    assert len({seen.headers["client-request-id"] for seen in fake.received}) == 1


async def test_only_dropped_connections_end_as_unavailable(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession
) -> None:
    fake, root = canned_graph
    fake.default = Reply(drop=True)
    policy = RetryPolicy(max_attempts=3, base_delay_s=0.01)
    with pytest.raises(GraphUnavailableError) as caught:
        await client(http_session, root, policy).create_or_get(TOKEN, REQUEST, budget_s=5)

    assert caught.value.status is None
    assert caught.value.attempts == 3
    assert isinstance(caught.value.__cause__, aiohttp.ClientConnectionError)


async def test_unreachable_graph_is_unavailable(http_session: aiohttp.ClientSession) -> None:
    # Port 9 (discard) on loopback: nothing listens there in the test environment.
    graph = GraphClient(http_session, "http://127.0.0.1:9/v1.0", retry=RetryPolicy(max_attempts=2))
    with pytest.raises(GraphUnavailableError) as caught:
        await graph.create_or_get(TOKEN, REQUEST, budget_s=2)

    assert caught.value.status is None
    assert "could not reach" in caught.value.user_message


async def test_each_call_has_its_own_client_request_id(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession
) -> None:
    fake, root = canned_graph
    fake.default = created()
    graph = client(http_session, root, RetryPolicy())
    results = [await graph.create_or_get(TOKEN, REQUEST, budget_s=5) for _ in range(3)]

    sent = [seen.headers["client-request-id"] for seen in fake.received]
    assert len(set(sent)) == 3
    assert [r.client_request_id for r in results] == sent
    assert [r.request_id for r in results] == fake.sent_request_ids


async def test_sleeps_fit_the_budget_with_an_injected_clock(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession
) -> None:
    fake, root = canned_graph
    fake.queue(failing(429, "1.5"), failing(503, "2.128"), failing(503), failing(429, "5"))
    now = [100.0]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    graph = client(
        http_session, root, RetryPolicy(max_attempts=10), sleep=fake_sleep, clock=lambda: now[0]
    )
    with pytest.raises(GraphThrottledError) as caught:
        await graph.create_or_get(TOKEN, REQUEST, budget_s=8)

    # 1.5 + 2.128 + backoff (third retry: <= 0.5 * 2^2 s) fit in 8 s; then 5 s would not.
    assert slept[:2] == [1.5, 2.128]
    assert len(slept) == 3
    assert 0 <= slept[2] <= 2.0
    assert sum(slept) <= 8
    assert caught.value.retry_after == 5
    assert len(fake.received) == 4


async def test_invalid_success_body_is_not_retried(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession
) -> None:
    fake, root = canned_graph
    fake.default = Reply(201, {"@odata.context": "x", "subject": "no id, no joinWebUrl"})
    with pytest.raises(GraphError) as caught:
        await client(http_session, root, RetryPolicy()).create_or_get(TOKEN, REQUEST, budget_s=5)

    assert type(caught.value).__name__ == "GraphInvalidResponseError"
    assert caught.value.request_id == fake.sent_request_ids[0]
    assert len(fake.received) == 1


async def test_bad_request_is_reported_not_retried_even_with_retry_after(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession
) -> None:
    fake, root = canned_graph
    fake.default = failing(400, "1")
    with pytest.raises(GraphBadRequestError):
        await client(http_session, root, RetryPolicy()).create_or_get(TOKEN, REQUEST, budget_s=5)

    assert len(fake.received) == 1
