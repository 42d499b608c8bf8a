"""A bot instance's sign-in over a shared store, at a moment of its own (for the pending tests)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.auth.signin import SignIn
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


class Instance:
    """One bot instance's sign-in over the shared store; what it resumed and replied."""

    def __init__(self, store: ClosableStorage, now: float) -> None:
        self.ports = PortTurn()
        self.signin = SignIn(Records(store, namespace="meetbot"), "graph", clock=lambda: now)
        self.resumed: list[MeetingRequest] = []

    async def resume(
        self, _turn: Turn, _token: str, request: MeetingRequest, _notes: tuple[str, ...]
    ) -> None:
        self.resumed.append(request)

    async def prompt(self, request: MeetingRequest = REQUEST) -> None:
        await self.signin.prompt(self.ports.turn(), request)

    async def token_arrives(self) -> None:
        await self.signin.complete(self.ports.turn(), "graph-token", self.resume)

    def replies(self) -> list[str]:
        return self.ports.conversation.texts()
