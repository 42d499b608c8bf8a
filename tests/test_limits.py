"""The per-user rate limiter: a sliding window on a fake clock, bounded memory, the message."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.limits import Decision, RateLimiter, meetings_limit_message
from bot.core.request import MAX_ATTENDEES, MAX_SUBJECT
from tests.conftest import FakeChannel, activity
from tests.flows import (
    FORM,
    FakeTokenService,
    execute,
    meet,
    meeting_cards,
    running_bot,
    sandbox_token,
    serve_token_service,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_limit_holds_within_the_window_and_slides() -> None:
    clock = Clock()
    limiter = RateLimiter(3, 60, clock=clock)
    assert [limiter.acquire("u").allowed for _ in range(3)] == [True, True, True]
    clock.now += 20
    refused = limiter.acquire("u")
    assert not refused.allowed
    assert refused.count == 3
    assert refused.retry_after_s == pytest.approx(40)
    clock.now += 39.9
    assert not limiter.acquire("u").allowed
    clock.now += 0.1
    # The first three happened at the same instant, so all three left the window together.
    assert limiter.acquire("u") == Decision(True, 1, 3, 60, 0.0)


def test_keys_are_independent() -> None:
    limiter = RateLimiter(1, 60, clock=Clock())
    assert limiter.acquire("a").allowed
    assert not limiter.acquire("a").allowed
    assert limiter.acquire("b").allowed


def test_check_records_nothing_and_refund_gives_one_back() -> None:
    limiter = RateLimiter(2, 60, clock=Clock())
    assert limiter.check("u").count == 0
    limiter.acquire("u")
    limiter.acquire("u")
    assert not limiter.check("u").allowed
    limiter.refund("u")
    assert limiter.check("u") == Decision(True, 1, 2, 60, 0.0)
    limiter.refund("u")
    limiter.refund("u")
    limiter.refund("never-seen")
    assert len(limiter) == 0


def test_memory_is_bounded_by_keys_and_limit() -> None:
    clock = Clock()
    limiter = RateLimiter(5, 60, max_keys=100, clock=clock)
    for n in range(10_000):
        limiter.acquire(f"user-{n}")
        clock.now += 0.001
    assert len(limiter) == 100
    for _ in range(1000):
        limiter.acquire("busy")
    assert limiter.check("busy").count == 5


@pytest.mark.parametrize(
    ("limit", "window_s", "max_keys"), [(0, 60, 1), (1, 0, 1), (1, 60, 0), (-1, 60, 1)]
)
def test_nonsense_limits_are_refused(limit: int, window_s: float, max_keys: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(limit, window_s, max_keys=max_keys)


@settings(max_examples=200, deadline=None)
@given(
    limit=st.integers(1, 5),
    gaps=st.lists(st.floats(0, 30, allow_nan=False), min_size=1, max_size=40),
)
def test_no_window_ever_holds_more_than_the_limit(limit: int, gaps: list[float]) -> None:
    clock = Clock()
    limiter = RateLimiter(limit, 60, clock=clock)
    allowed: list[float] = []
    for gap in gaps:
        clock.now += gap
        if limiter.acquire("u").allowed:
            allowed.append(clock.now)
    for at in allowed:
        assert sum(1 for other in allowed if at - 60 < other <= at) <= limit


def test_the_message_says_how_many_and_how_long() -> None:
    text = meetings_limit_message(Decision(False, 30, 30, 3600, 754))
    assert text == (
        "You've created 30 meetings in the last hour, the most I can create for one person. "
        "Please try again in 13 minutes."
    )
    assert "in a minute" in meetings_limit_message(Decision(False, 3, 3, 3600, 5))
    assert "last 10 minutes" in meetings_limit_message(Decision(False, 3, 3, 600, 5))


# -- the limits over the wire -------------------------------------------------------------------


@pytest.fixture
async def token_service(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> FakeTokenService:
    return await serve_token_service(aiohttp_server)


async def test_creating_more_meetings_than_allowed_per_hour_is_refused_kindly(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url, MEETINGS_PER_USER_PER_HOUR=2) as bot:
        token_service.tokens["29:user-1"] = sandbox_token(bot.key)
        for hour in (9, 10):
            await bot.send(meet(channel, f"meet Sync tomorrow at {hour}am"))
        # Asking again for a meeting that exists does not count.
        await bot.send(meet(channel, "meet Sync tomorrow at 9am"))
        assert [c["body"][0]["text"] for c in meeting_cards(channel)] == [
            "Meeting created",
            "Meeting created",
            "Already scheduled",
        ]
        await bot.send(meet(channel, "meet Sync tomorrow at 11am"))
        refusal = json.dumps(channel.cards()[-1])
        assert "You've created 2 meetings in the last hour" in refusal
        assert "try again in" in refusal
        assert len(meeting_cards(channel)) == 3


async def test_a_long_subject_and_too_many_people_are_explained(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        token_service.tokens["29:user-1"] = sandbox_token(bot.key)
        await bot.send(meet(channel, "meet " + "Quarterly planning " * 20 + "tomorrow at 3pm"))
        assert "characters" in channel.activities()[-1]["text"]
        people = ", ".join(f"person{n}@contoso.com" for n in range(MAX_ATTENDEES + 1))
        form = {**FORM, "subject": "x" * (MAX_SUBJECT + 1), "attendeeEmails": people}
        response = await bot.send(execute(channel, form))
        text = json.dumps(await response.json())
        assert f"up to {MAX_SUBJECT}" in text
        assert f"up to {MAX_ATTENDEES}" in text
        assert meeting_cards(channel) == []


async def test_a_body_just_under_the_limit_is_read_and_one_over_is_413(
    channel: FakeChannel,
) -> None:
    async with running_bot(MAX_REQUEST_BYTES=64 * 1024) as bot:
        body = activity(channel.url, text="help", summary="")
        room = 64 * 1024 - len(json.dumps(body).encode())
        fits = json.dumps({**body, "summary": "x" * room}).encode()
        assert len(fits) == 64 * 1024
        async with bot.session.post(
            f"{bot.url}/api/messages", data=fits, headers={"Content-Type": "application/json"}
        ) as response:
            assert response.status == 201
        over = json.dumps({**body, "summary": "x" * (room + 1)}).encode()
        async with bot.session.post(
            f"{bot.url}/api/messages", data=over, headers={"Content-Type": "application/json"}
        ) as response:
            assert response.status == 413
            assert "too large" in (await response.json())["error"]
