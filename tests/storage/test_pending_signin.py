"""Pending sign-ins on every store: another instance completes them once, until they expire."""

from __future__ import annotations

import asyncio

from bot.auth.signin import PENDING_LIFETIME_S
from bot.storage import ClosableStorage
from tests.support.signin import REQUEST, T0, Instance


async def test_another_instance_completes_a_request_up_to_15_minutes_old(
    store: ClosableStorage,
) -> None:
    await Instance(store, T0).prompt()
    later = Instance(store, T0 + PENDING_LIFETIME_S)

    await later.token_arrives()

    assert later.resumed == [REQUEST]


async def test_a_code_arriving_after_15_minutes_gets_your_request_expired(
    store: ClosableStorage,
) -> None:
    await Instance(store, T0).prompt()
    late = Instance(store, T0 + PENDING_LIFETIME_S + 1)

    await late.token_arrives()
    await late.token_arrives()

    assert late.resumed == []
    expired, nothing_pending = late.replies()
    assert "your request expired after 15 minutes" in expired
    assert "Type **meet**" in nothing_pending


async def test_arrivals_on_two_instances_at_once_complete_the_request_once(
    store: ClosableStorage,
) -> None:
    await Instance(store, T0).prompt()
    first, second = Instance(store, T0 + 60), Instance(store, T0 + 60)

    await asyncio.gather(*(instance.token_arrives() for instance in (first, second) * 3))

    assert len(first.resumed) + len(second.resumed) == 1
