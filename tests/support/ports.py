"""In-memory stand-ins for the core's ports, for use-case tests that need no channel."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from bot.core.ports import (
    IssuedToken,
    Member,
    Message,
    Origin,
    SignInResource,
    Turn,
)

ORIGIN = Origin(
    channel_id="msteams",
    conversation_id="a:conversation-1",
    conversation_type="personal",
    tenant_id="tenant-1",
    user_id="29:user-1",
    user_aad_id="5f0e0000-user",
    bot_id="28:meetbot",
    locale="en-US",
)


@dataclass
class RecordedConversation:
    """Keeps what the use case sent, in order."""

    sent: list[Message] = field(default_factory=list)
    updated: list[tuple[str, Message]] = field(default_factory=list)
    typing_count: int = 0

    async def send(self, message: Message) -> str | None:
        self.sent.append(message)
        return f"sent-{len(self.sent)}"

    async def update(self, message_id: str, message: Message) -> None:
        self.updated.append((message_id, message))

    async def typing(self) -> None:
        self.typing_count += 1

    def texts(self) -> list[str]:
        return [message.text or "" for message in self.sent]


@dataclass
class NoTokenService:
    """A user who has no token; a sign-in link when asked; refuses exchanges."""

    link: str = "https://token.example/signin?x=1"
    signed_out: int = 0

    async def get(self, magic_code: str | None = None) -> IssuedToken | None:
        return None

    async def sign_in_resource(self) -> SignInResource:
        return SignInResource(link=self.link)

    async def exchange(self, sso_token: str) -> IssuedToken | None:
        return None

    async def sign_out(self) -> None:
        self.signed_out += 1


class NoMembers:
    """A conversation whose member lookup finds nobody."""

    async def member(self, member_id: str) -> Member | None:
        return None


@dataclass
class PortTurn:
    """A `Turn` over the in-memory ports, keeping the work left for later."""

    origin: Origin = ORIGIN
    conversation: RecordedConversation = field(default_factory=RecordedConversation)
    tokens: NoTokenService = field(default_factory=NoTokenService)
    later_work: list[Callable[[Turn], Awaitable[None]]] = field(default_factory=list)

    def turn(self) -> Turn:
        return Turn(
            origin=self.origin,
            conversation=self.conversation,
            tokens=self.tokens,
            people=NoMembers(),
            later=self.later_work.append,
        )

    def with_user(self, user_id: str) -> PortTurn:
        return PortTurn(origin=replace(self.origin, user_id=user_id))
