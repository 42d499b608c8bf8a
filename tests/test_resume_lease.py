"""Resuming after sign-in is at least once: the pending request stays stored, claimed with a
lease, until its answer was sent; duplicates complete it once and say nothing contradictory.
On the real stores (in-memory and SQLite), with the clock injected; one test SIGKILLs a child
process between its claim and its answer."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.auth.signin import CLAIM_LEASE_S, PENDING_LIFETIME_S
from bot.core.ports import Turn
from bot.core.request import MeetingRequest
from bot.storage import ClosableStorage, SqliteStorage, StrictMemoryStorage
from tests.conftest import FakeChannel, activity
from tests.flows import FakeTokenService, meet, meeting_cards, running_bot, sandbox_token
from tests.support.signin import REQUEST, T0, Instance

NEWER = REQUEST.model_copy(update={"subject": "Budget"})
COMMAND = "meet Design review tomorrow at 3pm for 45 minutes"
_REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ClosableStorage]:
    opened: ClosableStorage = (
        StrictMemoryStorage() if request.param == "memory" else SqliteStorage(tmp_path / "s.db")
    )
    async with opened:
        yield opened


async def crash(_turn: Turn, _token: str, _request: MeetingRequest, _n: tuple[str, ...]) -> None:
    raise RuntimeError("the process died before answering")


async def test_a_request_whose_claimer_died_is_completed_after_the_lease(
    store: ClosableStorage,
) -> None:
    await Instance(store, T0).prompt()
    dying = Instance(store, T0 + 10)
    with pytest.raises(RuntimeError):
        await dying.signin.complete(dying.ports.turn(), "graph-token", crash)

    # Within the lease the claim holds: a duplicate says nothing and resumes nothing.
    early = Instance(store, T0 + 10 + CLAIM_LEASE_S - 1)
    await early.token_arrives()
    assert (early.resumed, early.replies()) == ([], [])

    # After it, a retyped code (or another replica) completes the request, once.
    later = Instance(store, T0 + 10 + CLAIM_LEASE_S + 1)
    await later.token_arrives()
    assert later.resumed == [REQUEST]
    assert later.replies() == []  # the resume itself answers (here: records it)

    again = Instance(store, T0 + 10 + CLAIM_LEASE_S + 2)
    await again.token_arrives()
    assert (again.resumed, again.replies()) == ([], [])


async def test_concurrent_arrivals_complete_once_and_say_nothing_else(
    store: ClosableStorage,
) -> None:
    await Instance(store, T0).prompt()
    instances = [Instance(store, T0 + 60) for _ in range(6)]

    await asyncio.gather(*(instance.token_arrives() for instance in instances))

    assert sum(len(instance.resumed) for instance in instances) == 1
    assert all(instance.replies() == [] for instance in instances)


async def test_a_request_still_expires_after_15_minutes_and_one_arrival_says_so(
    store: ClosableStorage,
) -> None:
    await Instance(store, T0).prompt()
    late = [Instance(store, T0 + PENDING_LIFETIME_S + 1) for _ in range(3)]

    await asyncio.gather(*(instance.token_arrives() for instance in late))

    replies = [reply for instance in late for reply in instance.replies()]
    expired = [reply for reply in replies if "your request expired after 15 minutes" in reply]
    assert len(expired) == 1
    # The others find nothing waiting: the same instruction, not a contradiction.
    assert all("Type **meet**" in reply for reply in replies if reply not in expired)
    assert all(instance.resumed == [] for instance in late)
    after = Instance(store, T0 + PENDING_LIFETIME_S + 2)
    await after.token_arrives()
    assert "Type **meet**" in after.replies()[0]


async def test_a_new_request_made_while_answering_is_not_marked_answered(
    store: ClosableStorage,
) -> None:
    """Graph refusing the token re-prompts inside the resume: the newer request stays."""
    await Instance(store, T0).prompt()
    answering = Instance(store, T0 + 5)

    async def reprompt(turn: Turn, _t: str, _r: MeetingRequest, _n: tuple[str, ...]) -> None:
        await answering.signin.prompt(turn, NEWER)

    await answering.signin.complete(answering.ports.turn(), "graph-token", reprompt)
    later = Instance(store, T0 + 6)
    await later.token_arrives()
    assert later.resumed == [NEWER]


@pytest.mark.slow  # starts a child process
async def test_sigkill_between_claim_and_answer_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with SqliteStorage(path) as storage:
        await Instance(storage, time.time()).prompt()
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            str(_REPO_ROOT / "tests" / "resume_child.py"),
            str(path),
            stdout=asyncio.subprocess.PIPE,
            cwd=_REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(_REPO_ROOT)},
        )
        try:
            assert child.stdout is not None
            async with asyncio.timeout(30):
                line = (await child.stdout.readline()).decode().strip()
            assert line == "claimed"
        finally:
            child.kill()  # SIGKILL: no cleanup, no answer
            await child.wait()
        assert child.returncode == -9

        now = time.time()
        during = Instance(storage, now)
        await during.token_arrives()
        assert (during.resumed, during.replies()) == ([], [])

        after = Instance(storage, now + CLAIM_LEASE_S + 1)
        await after.token_arrives()
        assert after.resumed == [REQUEST]


# -- at the wire: duplicates of what completes a request -----------------------------------


def token_event(channel: FakeChannel, token: str) -> dict[str, object]:
    return activity(
        channel.url,
        kind="event",
        text=None,
        name="tokens/response",
        value={"connectionName": "graph", "token": token},
        channelId="webchat",
    )


async def test_two_token_responses_at_once_give_one_meeting_card_and_nothing_else(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        await bot.send(meet(channel, COMMAND, channelId="webchat"))
        before = len(channel.activities())
        token = sandbox_token(bot.key)
        await asyncio.gather(*(bot.send(token_event(channel, token)) for _ in range(2)))
        await bot.settle()
        after = channel.activities()[before:]
        assert len(after) == 1
        (created,) = meeting_cards(channel)
        assert created["body"][0]["text"] == "Meeting created"
        assert not any("You're signed in" in str(sent.get("text")) for sent in after)


async def test_the_same_code_twice_at_once_gives_one_meeting_and_no_signed_in_text(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        await bot.send(meet(channel, COMMAND))
        before = len(channel.activities())
        token_service.codes["123456"] = ("29:user-1", sandbox_token(bot.key))
        await asyncio.gather(*(bot.send(meet(channel, "123456")) for _ in range(2)))
        after = channel.activities()[before:]
        assert len(meeting_cards(channel)) == 1
        assert not any("You're signed in" in str(sent.get("text")) for sent in after)
