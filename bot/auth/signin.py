"""Delegated sign-in: user tokens from the token service, pending requests, ways back in."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import jwt

from bot.auth.obo import ExchangeFailed, SsoExchanger
from bot.core.ports import (
    InvokeAnswer,
    Message,
    Origin,
    RecordConflict,
    RecordStore,
    SignInCard,
    Turn,
)
from bot.core.request import MeetingRequest

_log = logging.getLogger(__name__)

PENDING_LIFETIME_S = 15 * 60
# How long a claim on a pending request holds: the claimer has this long to send its answer
# before a retyped code, a redelivery or another replica may take the request over.
CLAIM_LEASE_S = 60.0
MAGIC_CODE = re.compile(r"^\d{6}$")
# A cached token is used until this long before it expires, then asked for again.
TOKEN_EXPIRY_MARGIN_S = 5 * 60
# Users whose tokens are kept; the least recently used go first.
TOKEN_CACHE_SIZE = 10_000

# What to do with a token once it arrives: the meeting use case, given the pending request.
Resume = Callable[[Turn, str, MeetingRequest, tuple[str, ...]], Awaitable[None]]


@dataclass(frozen=True)
class Pending:
    """A request waiting for its user to sign in."""

    request: MeetingRequest
    created_at: float
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Claimed:
    """This turn holds the pending request for CLAIM_LEASE_S: answer it, then `finish`.

    Finishing is conditional on the claim still being this one, so a claim taken over after
    its lease (or a newer request) is never overwritten."""

    key: str
    claim_id: str
    pending: Pending


class Busy:
    """Another turn holds a live claim on the request (a duplicate delivery): say nothing."""


class Answered:
    """The request was answered already (within PENDING_LIFETIME_S): say nothing."""


class Expired:
    """The request waited longer than PENDING_LIFETIME_S."""


Taken = Claimed | Busy | Answered | Expired | None


def _token_key(origin: Origin, connection: str) -> tuple[str, str, str]:
    return (origin.channel_id, origin.user_id, connection)


def token_expiry(token: str, expiration: object) -> float | None:
    """When a token expires (epoch seconds): the earlier of the token service's `expiration`
    and the JWT's `exp`; None when neither can be read (such a token is not cached)."""
    candidates: list[float] = []
    if isinstance(expiration, str) and expiration:
        try:
            when = datetime.fromisoformat(expiration)
        except ValueError:
            pass
        else:
            candidates.append((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())
    try:
        exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    except jwt.PyJWTError:
        exp = None
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        candidates.append(float(exp))
    return min(candidates) if candidates else None


class TokenCache:
    """Users' tokens in this process's memory for their lifetime; never persisted.

    Keyed by (channel, user, connection). Bounded: least recently used users go first.
    """

    def __init__(self, clock: Callable[[], float], size: int = TOKEN_CACHE_SIZE) -> None:
        self._clock = clock
        self._size = size
        self._tokens: OrderedDict[tuple[str, str, str], tuple[str, float]] = OrderedDict()

    def get(self, key: tuple[str, str, str]) -> str | None:
        found = self._tokens.get(key)
        if found is None:
            return None
        token, use_until = found
        if self._clock() >= use_until:
            del self._tokens[key]
            return None
        self._tokens.move_to_end(key)
        return token

    def put(self, key: tuple[str, str, str], token: str, expires_at: float | None) -> None:
        self._tokens.pop(key, None)
        if expires_at is None:
            return
        use_until = expires_at - TOKEN_EXPIRY_MARGIN_S
        if self._clock() >= use_until:
            return
        self._tokens[key] = (token, use_until)
        if len(self._tokens) > self._size:
            self._tokens.popitem(last=False)

    def forget(self, key: tuple[str, str, str]) -> None:
        self._tokens.pop(key, None)

    def __len__(self) -> int:
        return len(self._tokens)


def pending_key(origin: Origin) -> str:
    parts = [origin.channel_id, origin.user_id, origin.conversation_id]
    digest = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:40]
    return f"pending/{digest}"


@dataclass(frozen=True)
class ExchangeRefused:
    """Teams SSO could not be completed: answer 412 so Teams shows the sign-in button."""

    exchange_id: str
    connection_name: str
    detail: str

    def answer(self) -> InvokeAnswer:
        return InvokeAnswer(
            status=int(HTTPStatus.PRECONDITION_FAILED),
            body={
                "id": self.exchange_id,
                "connectionName": self.connection_name,
                "failureDetail": self.detail,
            },
        )


class ExchangeDuplicate:
    """Another client of the same user already sent this exchange: answer it with 200."""


class SignIn:
    """Gets the user's Graph token through the Bot Framework token service (or its sandbox)."""

    def __init__(
        self,
        records: RecordStore,
        connection_name: str,
        *,
        clock: Callable[[], float] = time.time,
        sso: SsoExchanger | None = None,
    ) -> None:
        self._records = records
        self._connection = connection_name
        self._clock = clock
        self._tokens = TokenCache(clock)
        self._sso = sso

    @property
    def connection_name(self) -> str:
        return self._connection

    async def token(self, turn: Turn, magic_code: str | None = None) -> str | None:
        """The user's token: from this process's cache while it is valid, else the token
        service's (a magic code always goes to the token service)."""
        origin = turn.origin
        key = _token_key(origin, self._connection)
        if magic_code is None:
            cached = self._tokens.get(key)
            if cached is not None:
                return cached
            if self._sso is not None:
                exchanged = await self._sso.token(origin.user_id)
                if exchanged is not None:
                    return exchanged
        issued = await turn.tokens.get(magic_code)
        if issued is None or not issued.token:
            self._tokens.forget(key)
            return None
        self._tokens.put(key, issued.token, token_expiry(issued.token, issued.expiration))
        return issued.token

    def forget_token(self, origin: Origin) -> None:
        """Stop using the cached token (Graph refused it, or a new one arrived elsewhere)."""
        self._tokens.forget(_token_key(origin, self._connection))
        if self._sso is not None:
            self._sso.forget(origin.user_id)

    async def sign_out(self, turn: Turn) -> None:
        # Forgotten first, so a failing token service call cannot leave it in use.
        self.forget_token(turn.origin)
        await turn.tokens.sign_out()

    async def remember(
        self, origin: Origin, request: MeetingRequest, notes: tuple[str, ...] = ()
    ) -> bool:
        """Keep the request until its user signs in; False when the store could not keep it."""
        try:
            await self._records.put(
                pending_key(origin),
                {
                    "request": request.model_dump(mode="json"),
                    "notes": list(notes),
                    "created_at": self._clock(),
                },
            )
        except Exception as error:
            # Bookkeeping of our own store: the user is told; no request content is logged.
            _log.warning("could not keep a pending request: %s", type(error).__name__)
            return False
        return True

    async def prompt(
        self, turn: Turn, request: MeetingRequest, notes: tuple[str, ...] = ()
    ) -> bool:
        """Remember the request, then send the OAuth card; False when the request could not be
        kept (the card then says to send it again after signing in).

        The request is written before the token service is asked for a sign-in link, so a
        token service that fails (`TokenServiceError`, raised to the caller) leaves it kept."""
        kept = await self.remember(turn.origin, request, notes)
        resource = await turn.tokens.sign_in_resource()
        text = (
            "Please sign in, then I'll create your meeting."
            if kept
            else "Please sign in. I couldn't keep your request while you sign in "
            "(my storage isn't working right now), so please send it again after signing in."
        )
        await turn.conversation.send(
            Message(
                text=text,
                signin=SignInCard(
                    text="Sign in with your Microsoft 365 account so I can create the meeting "
                    "for you.",
                    connection_name=self._connection,
                    link=resource.link,
                    exchange=resource.exchange,
                ),
            )
        )
        return kept

    async def exchange(self, turn: Turn, value: Any) -> str | ExchangeRefused | ExchangeDuplicate:
        """Teams SSO (`signin/tokenExchange`): exchange once per exchange id."""
        value = value if isinstance(value, dict) else {}
        exchange_id, sso_token = value.get("id"), value.get("token")
        if not isinstance(exchange_id, str) or not isinstance(sso_token, str):
            return self._refused(exchange_id, "no token to exchange")
        # Teams sends one exchange per signed-in client: only the first may proceed.
        digest = hashlib.sha256(exchange_id.encode()).hexdigest()[:40]
        try:
            first = await self._records.create(f"sso/{digest}", {"at": self._clock()})
        except Exception as error:
            # Without the store, duplicates cannot be told apart: Teams falls back to the
            # sign-in button, whose code completes the request.
            _log.warning("token exchange not deduplicated: %s", type(error).__name__)
            return self._refused(exchange_id, "The token could not be exchanged right now.")
        if not first:
            return ExchangeDuplicate()
        origin = turn.origin
        if self._sso is not None:
            # AUTH_MODE=obo: the bot exchanges the SSO token itself (MSAL on-behalf-of).
            result = await self._sso.exchange(origin.user_id, origin.tenant_id, sso_token)
            if isinstance(result, ExchangeFailed):
                await self._records.delete(f"sso/{digest}")
                return self._refused(exchange_id, result.detail)
            return result.token
        try:
            issued = await turn.tokens.exchange(sso_token)
        except Exception:
            _log.warning("token exchange failed", exc_info=True)
            issued = None
        if issued is None or not issued.token:
            await self._records.delete(f"sso/{digest}")
            return self._refused(exchange_id, "The token could not be exchanged.")
        # The token service now holds the exchanged token: do not keep using an older one.
        self.forget_token(origin)
        return issued.token

    def _refused(self, exchange_id: Any, detail: str) -> ExchangeRefused:
        return ExchangeRefused(
            exchange_id if isinstance(exchange_id, str) else "", self._connection, detail
        )

    async def take_pending(self, origin: Origin) -> Taken:
        """Claim the request waiting in this conversation for CLAIM_LEASE_S.

        The request stays stored until `finish` (after its answer was sent), so a turn that
        dies in between loses nothing: once the lease has passed, the next arrival (a retyped
        code, a redelivery, another replica) takes it over. Claims are conditional writes on
        the record's eTag, so of any number of arrivals at once exactly one claims it; the
        others see a live claim (`Busy`) or a request answered already (`Answered`).
        """
        key = pending_key(origin)
        record, etag = await self._records.get(key)
        if record is None:
            return None
        now = self._clock()
        answered_at = record.get("answered_at")
        if isinstance(answered_at, int | float):
            return Answered() if now < answered_at + PENDING_LIFETIME_S else None
        if "request" not in record:
            return None  # the marker of an expired request: nothing is waiting
        claim = record.get("claim")
        if isinstance(claim, dict) and now < float(claim.get("until") or 0):
            return Busy()
        try:
            pending = Pending(
                request=MeetingRequest.model_validate(record["request"]),
                created_at=float(record["created_at"]),
                notes=tuple(str(note) for note in record.get("notes") or ()),
            )
        except (KeyError, TypeError, ValueError):
            _log.warning("dropped an unreadable pending request")
            await self._records.delete(key)
            return None
        if pending.created_at + PENDING_LIFETIME_S < now:
            # Replaced by a marker, on the version read: only one arrival says it expired.
            return Expired() if await self._replace(key, etag, {"expired_at": now}) else Busy()
        claim_id = uuid.uuid4().hex
        claimed = {**record, "claim": {"id": claim_id, "until": now + CLAIM_LEASE_S}}
        if not await self._replace(key, etag, claimed):
            return Busy()
        return Claimed(key, claim_id, pending)

    async def _replace(self, key: str, etag: str | None, value: dict[str, Any]) -> bool:
        """Write `value` if the record is still the version `etag`; False if it changed."""
        if etag is None:
            return await self._records.create(key, value)
        try:
            await self._records.put(key, value, etag)
        except RecordConflict:
            return False
        return True

    async def finish(self, claimed: Claimed) -> None:
        """The claimed request was answered: replace it by a small marker (no request in it),
        unless it changed meanwhile (a new request, or a claim taken over after the lease)."""
        try:
            record, etag = await self._records.get(claimed.key)
            claim = record.get("claim") if record else None
            if not (
                isinstance(claim, dict)
                and claim.get("id") == claimed.claim_id
                and await self._replace(claimed.key, etag, {"answered_at": self._clock()})
            ):
                _log.info("a pending request changed while it was answered; left as it is")
        except Exception as error:
            # The answer was sent; the claim lapses and a later arrival may answer again,
            # which Graph's createOrGet by externalId turns into "Already scheduled".
            _log.warning("could not mark a pending request answered: %s", type(error).__name__)

    async def being_completed(self, origin: Origin) -> bool:
        """Whether a request in this conversation is being completed right now (a live claim):
        a duplicate of the code that completes it is then no news to its user."""
        try:
            record, _etag = await self._records.get(pending_key(origin))
        except Exception:
            return False
        claim = record.get("claim") if record else None
        return isinstance(claim, dict) and self._clock() < float(claim.get("until") or 0)

    async def complete(self, turn: Turn, token: str, resume: Resume) -> None:
        """A token arrived: finish what the user asked for before signing in, at least once."""
        origin = turn.origin
        if token != self._tokens.get(_token_key(origin, self._connection)):
            # It came by another way (an event, an exchange): ask the token service next time.
            self.forget_token(origin)
        try:
            taken = await self.take_pending(origin)
        except Exception as error:
            _log.warning("could not read a pending request: %s", type(error).__name__)
            await turn.conversation.send(
                Message(
                    text="You're signed in, but I couldn't read the request you sent before "
                    "signing in (my storage isn't working right now). Please send it again."
                )
            )
            return
        if isinstance(taken, Busy | Answered):
            return  # a duplicate arrival: the request is (being) answered by another turn
        if taken is None:
            await turn.conversation.send(
                Message(text="You're signed in. Type **meet** and a subject to begin.")
            )
            return
        if isinstance(taken, Expired):
            await turn.conversation.send(
                Message(
                    text="You're signed in, but your request expired after 15 minutes. "
                    "Please send it again."
                )
            )
            return
        await resume(turn, token, taken.pending.request, taken.pending.notes)
        await self.finish(taken)


def token_from_event(value: Any) -> str | None:
    """The token in a `tokens/response` event's value (Web Chat, Emulator)."""
    token = value.get("token") if isinstance(value, dict) else None
    return token if isinstance(token, str) and token else None
