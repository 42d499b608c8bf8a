"""Pending sign-ins on every store: another instance completes them once, until they expire."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot.auth.signin import PENDING_LIFETIME_S, SignIn
from bot.core.ports import Turn
from bot.core.request import MeetingRequest
from bot.storage import ClosableStorage, Records
from tests.support.ports import PortTurn

T0 = 1_800_000_000.0
REQUEST = MeetingRequest(
    tenant_id="tenant-1",
    conversation_id="a:conversation-1",
    organizer_id="5f0e0000-user",
    subject="Design review",
    start=datetime(2027, 1, 15, 15, 0, tzinfo=UTC),
    end=datetime(2027, 1, 15, 15, 45, tzinfo=UTC),
)


class _Replica:
    """One bot instance's sign-in over the shared store, with its own clock and replies."""

    def __init__(self, store: ClosableStorage, now: float) -> None:
        self.ports = PortTurn()
        self.signin = SignIn(Records(store, namespace="meetbot"), "graph", clock=lambda: now)
        self.resumed: list[MeetingRequest] = []

    async def resume(
        self, _turn: Turn, _token: str, request: MeetingRequest, _notes: tuple[str, ...]
    ) -> None:
        self.resumed.append(request)

    async def prompt(self) -> None:
        await self.signin.prompt(self.ports.turn(), REQUEST)

    async def token_arrives(self) -> None:
        await self.signin.complete(self.ports.turn(), "graph-token", self.resume)

    def replies(self) -> list[str]:
        return self.ports.conversation.texts()


async def test_another_instance_completes_a_request_up_to_15_minutes_old(
    store: ClosableStorage,
) -> None:
    await _Replica(store, T0).prompt()
    later = _Replica(store, T0 + PENDING_LIFETIME_S)

    await later.token_arrives()

    assert later.resumed == [REQUEST]


async def test_a_code_arriving_after_15_minutes_gets_your_request_expired(
    store: ClosableStorage,
) -> None:
    await _Replica(store, T0).prompt()
    late = _Replica(store, T0 + PENDING_LIFETIME_S + 1)

    await late.token_arrives()
    await late.token_arrives()

    assert late.resumed == []
    expired, nothing_pending = late.replies()
    assert "your request expired after 15 minutes" in expired
    assert "Type **meet**" in nothing_pending


async def test_arrivals_on_two_instances_at_once_complete_the_request_once(
    store: ClosableStorage,
) -> None:
    await _Replica(store, T0).prompt()
    first, second = _Replica(store, T0 + 60), _Replica(store, T0 + 60)

    await asyncio.gather(*(instance.token_arrives() for instance in (first, second) * 3))

    assert len(first.resumed) + len(second.resumed) == 1
