"""Retry behaviour against a canned Graph at the wire.

The waits the client chooses (Retry-After, backoff, the budget) are checked in logical time: the
client is given a fake sleep and clock. Real time is measured only where aiohttp enforces a
timeout on the event loop's clock, which the client's clock does not drive."""

from __future__ import annotations

import asyncio
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
# Scheduling noise allowed on top of a real timeout (a loaded 2-core CI box).
SLACK_S = 0.25


class FakeTime:
    """The client's clock and sleep: time moves only when the client sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def created() -> Reply:
    return Reply(201, canned.MEETING)


def failing(status: int, retry_after: str | None = None) -> Reply:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Reply(status, canned.ERRORS[status], headers)


def client(
    session: aiohttp.ClientSession,
    root: str,
    retry: RetryPolicy,
    fake_time: FakeTime | None = None,
    **kwargs: object,
) -> GraphClient:
    if fake_time is not None:
        kwargs.update(sleep=fake_time.sleep, clock=fake_time.clock)
    return GraphClient(session, f"{root}/v1.0", retry=retry, **kwargs)  # type: ignore[arg-type]


async def test_fractional_retry_after_is_honoured(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession
) -> None:
    fake, root = canned_graph
    fake.queue(failing(429, "0.328"), created())
    fake_time = FakeTime()
    result = await client(http_session, root, RetryPolicy(), fake_time).create_or_get(
        TOKEN, REQUEST, budget_s=5
    )

    assert result.created
    assert result.attempts == 2
    assert fake_time.slept == [0.328]


async def test_retry_after_on_503_is_honoured_too(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession
) -> None:
    fake, root = canned_graph
    fake.queue(failing(503, "0.2"), created())
    fake_time = FakeTime()
    await client(http_session, root, RetryPolicy(base_delay_s=0.001), fake_time).create_or_get(
        TOKEN, REQUEST, budget_s=5
    )

    assert fake_time.slept == [0.2]
    assert len(fake.received) == 2


async def test_backoff_grows_without_retry_after(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession
) -> None:
    fake, root = canned_graph
    fake.queue(failing(503), failing(500), failing(504), created())
    policy = RetryPolicy(base_delay_s=0.08, max_delay_s=1.0)
    fake_time = FakeTime()
    result = await client(http_session, root, policy, fake_time, rand=lambda: 1.0).create_or_get(
        TOKEN, REQUEST, budget_s=5
    )

    assert result.attempts == 4
    assert fake_time.slept == pytest.approx([0.08, 0.16, 0.32])


async def test_backoff_is_full_jitter_from_the_random_source(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession
) -> None:
    fake, root = canned_graph
    fake.queue(failing(503), failing(503), created())
    policy = RetryPolicy(base_delay_s=2.0, max_delay_s=2.0)
    fake_time = FakeTime()
    await client(http_session, root, policy, fake_time, rand=lambda: 0.05).create_or_get(
        TOKEN, REQUEST, budget_s=5
    )

    assert fake_time.slept == pytest.approx([0.1, 0.1])
    assert len(fake.received) == 3


async def test_the_budget_is_never_exceeded(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession
) -> None:
    fake, root = canned_graph
    fake.default = failing(503)
    policy = RetryPolicy(max_attempts=50, base_delay_s=0.1, max_delay_s=0.4)
    fake_time = FakeTime()
    with pytest.raises(GraphUnavailableError) as caught:
        await client(http_session, root, policy, fake_time, rand=lambda: 1.0).create_or_get(
            TOKEN, REQUEST, budget_s=1.0
        )

    # 0.1 + 0.2 + 0.4 leave 0.3 s; another 0.4 s wait and a 0.2 s attempt would not fit.
    assert fake_time.slept == pytest.approx([0.1, 0.2, 0.4])
    assert sum(fake_time.slept) + policy.min_attempt_s <= 1.0
    assert caught.value.attempts == len(fake.received) == 4


async def test_retry_after_beyond_the_budget_fails_at_once_with_retry_after(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession
) -> None:
    fake, root = canned_graph
    fake.queue(failing(429, "30"))
    fake_time = FakeTime()
    with pytest.raises(GraphThrottledError) as caught:
        await client(http_session, root, RetryPolicy(), fake_time).create_or_get(
            TOKEN, REQUEST, budget_s=4
        )

    assert fake_time.slept == []
    assert len(fake.received) == 1
    assert caught.value.retry_after == 30
    assert "try again in 30 s" in caught.value.user_message


async def test_a_hanging_graph_times_out_within_the_budget(
    canned_graph: tuple[CannedGraph, str], http_session: aiohttp.ClientSession
) -> None:
    fake, root = canned_graph
    fake.default = Reply(201, canned.MEETING, delay_s=3.0)
    # Real time: the attempt is cut by aiohttp's timeout on the event loop's clock, which the
    # client's injectable clock does not drive. The bound is the budget plus scheduling noise.
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
    fake.queue(Reply(201, canned.MEETING, delay_s=30.0), Reply(200, canned.MEETING))
    policy = RetryPolicy(max_attempt_timeout_s=0.3, base_delay_s=0.01)
    fake_time = FakeTime()
    started = time.monotonic()
    result = await client(http_session, root, policy, fake_time).create_or_get(
        TOKEN, REQUEST, budget_s=20
    )
    elapsed = time.monotonic() - started

    assert (result.created, result.attempts) == (False, 2)
    assert len(fake_time.slept) == 1
    assert 0 <= fake_time.slept[0] <= 0.01
    # Real time, as above: aiohttp cuts the hung attempt after 0.3 s on the loop's clock. Left
    # alone it would hang until the 20 s budget; the upper bound only has to tell those apart.
    assert 0.3 <= elapsed < 5.0


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
