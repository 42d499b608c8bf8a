"""What the use cases need from the outside world, as Protocols and plain values (no host SDK)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

JsonObject = dict[str, Any]
Spawn = Callable[[Coroutine[Any, Any, None]], None]


@dataclass(frozen=True)
class Mention:
    """Someone @mentioned in a message: their channel id and the text Teams showed."""

    member_id: str
    text: str


@dataclass(frozen=True)
class Origin:
    """Who sent an activity and where: everything the use cases read of it."""

    channel_id: str
    conversation_id: str
    conversation_type: str
    tenant_id: str
    # The sender's channel account id (the token service's user id) and Entra object id.
    user_id: str
    user_aad_id: str | None
    bot_id: str | None
    locale: str
    # IANA names the client sent, most specific first (activity, then clientInfo).
    zone_names: tuple[str, ...] = ()
    # The message a card action came from (the card to update), if any.
    reply_to_id: str | None = None
    mentions: tuple[Mention, ...] = ()
    # The sender's name as the channel shows it.
    user_name: str | None = None
    # The conversation reference (the Bot Connector's JSON: channelId, serviceUrl,
    # conversation, bot, user, locale), kept to post in this conversation later.
    address: JsonObject | None = field(default=None, compare=False)

    @property
    def organizer_id(self) -> str:
        return self.user_aad_id or self.user_id


@dataclass(frozen=True)
class SignInCard:
    """An OAuth card: the sign-in link, and the token exchange resource for Teams SSO."""

    text: str
    connection_name: str
    link: str
    exchange: JsonObject | None = None


@dataclass(frozen=True)
class Message:
    """A message to the conversation: text, an Adaptive Card (its JSON), or a sign-in card."""

    text: str | None = None
    card: JsonObject | None = None
    signin: SignInCard | None = None

    @classmethod
    def of_card(cls, card: JsonObject) -> Message:
        return cls(card=card)


@dataclass(frozen=True)
class InvokeAnswer:
    """The HTTP answer to an invoke: its status and JSON body."""

    status: int
    body: JsonObject | None = field(default=None)


class Conversation(Protocol):
    """The conversation an activity came from."""

    async def send(self, message: Message) -> str | None:
        """Post a message; its id when the channel gives one."""
        ...

    async def update(self, message_id: str, message: Message) -> None:
        """Replace a message the bot sent; raises when the channel cannot."""
        ...

    async def typing(self) -> None:
        """Show the typing indicator."""
        ...


@dataclass(frozen=True)
class IssuedToken:
    """A user's delegated token and, when the token service says, when it expires."""

    token: str
    expiration: str | None = None


@dataclass(frozen=True)
class SignInResource:
    """Where a user signs in, and the resource Teams SSO exchanges a token for."""

    link: str
    exchange: JsonObject | None = None


class UserTokens(Protocol):
    """The token service, for the user of this turn on this channel."""

    async def get(self, magic_code: str | None = None) -> IssuedToken | None: ...

    async def sign_in_resource(self) -> SignInResource: ...

    async def exchange(self, sso_token: str) -> IssuedToken | None: ...

    async def sign_out(self) -> None: ...


@dataclass(frozen=True)
class Member:
    """A conversation member as the channel describes them."""

    upn: str | None
    aad_object_id: str | None
    name: str | None


class People(Protocol):
    """Looks up members of this conversation (Teams answers only for its members)."""

    async def member(self, member_id: str) -> Member | None:
        """The member; None when `member_id` is not a member of this conversation. Raises when
        the channel cannot answer."""
        ...


@dataclass(frozen=True)
class DirectoryUser:
    """Someone in the signed-in user's organization, as the directory names them."""

    object_id: str
    name: str | None
    upn: str | None


class Directory(Protocol):
    """The signed-in user's organization directory (Graph `GET /users/{id}`)."""

    async def user(self, token: str, object_id: str, *, budget_s: float) -> DirectoryUser | None:
        """The user with this Entra object id; None when there is none. Raises the Graph
        client's errors (`GraphForbiddenError` without the permission to read it)."""
        ...


class RecordConflict(Exception):
    """A conditional write lost: the record changed since its eTag was read."""


class RecordStore(Protocol):
    """JSON records by key, in the bot's state store (durable outside unit tests)."""

    async def get(self, key: str) -> tuple[JsonObject | None, str | None]:
        """The record and its eTag (None, None when absent)."""
        ...

    async def put(self, key: str, value: JsonObject, etag: str | None = None) -> None:
        """Write; with an eTag, only if the record is unchanged since it was read (else
        raises `RecordConflict`)."""
        ...

    async def create(self, key: str, value: JsonObject) -> bool:
        """Write only if absent; True for exactly one of any number of concurrent callers."""
        ...

    async def update(self, key: str, change: Callable[[JsonObject | None], JsonObject]) -> None:
        """Replace the record (None when absent) with `change(record)`, atomically."""
        ...

    async def delete(self, key: str) -> None: ...

    async def keys(self, prefix: str) -> list[str]:
        """The keys that start with `prefix`, in order, without reading the records."""
        ...


class ConversationGone(Exception):
    """The channel refused to post in a conversation (403/404): the bot was removed from it,
    or it no longer exists."""

    def __init__(self, status: int) -> None:
        super().__init__(f"the channel answered HTTP {status}")
        self.status = status


class Proactive(Protocol):
    """Posts in a conversation outside any turn, by its stored conversation reference."""

    async def send(self, address: JsonObject, message: Message) -> None:
        """Post `message`; raises `ConversationGone` on 403/404, other errors otherwise."""
        ...


Later = Callable[[Callable[["Turn"], Awaitable[None]]], None]


@dataclass(frozen=True)
class Turn:
    """One activity's view of the world: where it came from and what answers it.

    `later(work)` runs `work` after the turn has been answered, in a new turn of the same
    conversation (for invokes, which must be answered within seconds)."""

    origin: Origin
    conversation: Conversation
    tokens: UserTokens
    people: People
    later: Later
