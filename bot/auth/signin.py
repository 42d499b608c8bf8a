"""Delegated sign-in: user tokens from the token service, pending requests, ways back in."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import jwt
from botbuilder.core import CardFactory, InvokeResponse, MessageFactory, TurnContext
from botbuilder.schema import Activity, CardAction, OAuthCard
from botframework.connector.auth import UserTokenClient
from botframework.connector.token_api.models import TokenExchangeRequest

from bot.auth.obo import ExchangeFailed, SsoExchanger
from bot.core.request import MeetingRequest
from bot.usecases.ports import RecordStore

_log = logging.getLogger(__name__)

PENDING_LIFETIME_S = 15 * 60
MAGIC_CODE = re.compile(r"^\d{6}$")
# A cached token is used until this long before it expires, then asked for again.
TOKEN_EXPIRY_MARGIN_S = 5 * 60
# Users whose tokens are kept; the least recently used go first.
TOKEN_CACHE_SIZE = 10_000

# What to do with a token once it arrives: the meeting use case, given the pending request.
Resume = Callable[[TurnContext, str, MeetingRequest, tuple[str, ...]], Awaitable[None]]


@dataclass(frozen=True)
class Pending:
    """A request waiting for its user to sign in."""

    request: MeetingRequest
    created_at: float
    notes: tuple[str, ...] = ()


def _user(context: TurnContext) -> str:
    account = context.activity.from_property
    return str(account.id if account else "")


def _token_key(context: TurnContext, connection: str) -> tuple[str, str, str]:
    return (context.activity.channel_id or "", _user(context), connection)


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


def pending_key(context: TurnContext) -> str:
    activity = context.activity
    parts = [activity.channel_id or "", _user(context), activity.conversation.id]
    digest = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:40]
    return f"pending/{digest}"


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

    @staticmethod
    def _client(context: TurnContext) -> UserTokenClient:
        client: UserTokenClient = context.turn_state[context.adapter.USER_TOKEN_CLIENT_KEY]
        return client

    async def token(self, context: TurnContext, magic_code: str | None = None) -> str | None:
        """The user's token: from this process's cache while it is valid, else the token
        service's (a magic code always goes to the token service)."""
        key = _token_key(context, self._connection)
        if magic_code is None:
            cached = self._tokens.get(key)
            if cached is not None:
                return cached
            if self._sso is not None:
                exchanged = await self._sso.token(_user(context))
                if exchanged is not None:
                    return exchanged
        response = await self._client(context).get_user_token(
            _user(context), self._connection, context.activity.channel_id, magic_code
        )
        token = getattr(response, "token", None)
        if not isinstance(token, str) or not token:
            self._tokens.forget(key)
            return None
        self._tokens.put(key, token, token_expiry(token, getattr(response, "expiration", None)))
        return token

    def forget_token(self, context: TurnContext) -> None:
        """Stop using the cached token (Graph refused it, or a new one arrived elsewhere)."""
        self._tokens.forget(_token_key(context, self._connection))
        if self._sso is not None:
            self._sso.forget(_user(context))

    async def sign_out(self, context: TurnContext) -> None:
        # Forgotten first, so a failing token service call cannot leave it in use.
        self.forget_token(context)
        await self._client(context).sign_out_user(
            _user(context), self._connection, context.activity.channel_id
        )

    async def prompt(
        self, context: TurnContext, request: MeetingRequest, notes: tuple[str, ...] = ()
    ) -> None:
        """Remember the request, then send the OAuth card."""
        await self._records.put(
            pending_key(context),
            {
                "request": request.model_dump(mode="json"),
                "notes": list(notes),
                "created_at": self._clock(),
            },
        )
        resource = await self._sign_in_resource(context)
        exchange = resource.token_exchange_resource
        card = OAuthCard(
            text="Sign in to Microsoft Teams so I can create the meeting for you.",
            connection_name=self._connection,
            buttons=[CardAction(type="signin", title="Sign in", value=resource.sign_in_link)],
            token_exchange_resource=(
                {"id": exchange.id, "uri": exchange.uri, "providerId": exchange.provider_id}
                if exchange
                else None
            ),
        )
        await context.send_activity(
            MessageFactory.attachment(
                CardFactory.oauth_card(card),
                text="Please sign in, then I'll create your meeting.",
            )
        )

    async def _sign_in_resource(self, context: TurnContext) -> Any:
        return await self._client(context).get_sign_in_resource(
            self._connection, context.activity, None
        )

    async def sign_in_link(self, context: TurnContext) -> str:
        """A link to sign in with, for answers that carry no OAuth card (message extensions)."""
        return str((await self._sign_in_resource(context)).sign_in_link)

    async def exchange(self, context: TurnContext) -> str | InvokeResponse:
        """Teams SSO: exchange once per exchange id; 412 tells Teams to show the sign-in button."""
        value = context.activity.value if isinstance(context.activity.value, dict) else {}
        exchange_id, sso_token = value.get("id"), value.get("token")
        if not isinstance(exchange_id, str) or not isinstance(sso_token, str):
            return _precondition_failed(exchange_id, self._connection, "no token to exchange")
        # Teams sends one exchange per signed-in client: only the first may proceed.
        digest = hashlib.sha256(exchange_id.encode()).hexdigest()[:40]
        if not await self._records.create(f"sso/{digest}", {"at": self._clock()}):
            return InvokeResponse(status=200, body={})
        if self._sso is not None:
            # AUTH_MODE=obo: the bot exchanges the SSO token itself (MSAL on-behalf-of).
            result = await self._sso.exchange(_user(context), _sso_tenant(context), sso_token)
            if isinstance(result, ExchangeFailed):
                await self._records.delete(f"sso/{digest}")
                return _precondition_failed(exchange_id, self._connection, result.detail)
            return result.token
        try:
            response = await self._client(context).exchange_token(
                _user(context),
                self._connection,
                context.activity.channel_id,
                TokenExchangeRequest(token=sso_token),
            )
        except Exception:
            _log.warning("token exchange failed", exc_info=True)
            response = None
        token = getattr(response, "token", None)
        if not isinstance(token, str) or not token:
            await self._records.delete(f"sso/{digest}")
            return _precondition_failed(
                exchange_id, self._connection, "The token could not be exchanged."
            )
        # The token service now holds the exchanged token: do not keep using an older one.
        self.forget_token(context)
        return token

    async def take_pending(self, context: TurnContext) -> Pending | None:
        """The request waiting in this conversation, removed so it completes once."""
        key = pending_key(context)
        record, etag = await self._records.get(key)
        if record is None:
            return None
        # Codes, invokes and events can race (double delivery): exactly one claims the request.
        if not await self._records.create(f"claim/{key}/{etag}", {"at": self._clock()}):
            return None
        await self._records.delete(key)
        try:
            pending = Pending(
                request=MeetingRequest.model_validate(record["request"]),
                created_at=float(record["created_at"]),
                notes=tuple(str(note) for note in record.get("notes") or ()),
            )
        except (KeyError, TypeError, ValueError):
            _log.warning("dropped an unreadable pending request")
            return None
        if pending.created_at + PENDING_LIFETIME_S < self._clock():
            return Pending(request=pending.request, created_at=-1.0)
        return pending

    async def complete(self, context: TurnContext, token: str, resume: Resume) -> None:
        """A token arrived: finish what the user asked for before signing in."""
        if token != self._tokens.get(_token_key(context, self._connection)):
            # It came by another way (an event, an exchange): ask the token service next time.
            self.forget_token(context)
        pending = await self.take_pending(context)
        if pending is None:
            await context.send_activity("You're signed in. Type **meet** and a subject to begin.")
            return
        if pending.created_at < 0:
            await context.send_activity(
                "You're signed in, but your request expired after 15 minutes. Please send it again."
            )
            return
        await resume(context, token, pending.request, pending.notes)


def _sso_tenant(context: TurnContext) -> str:
    """The activity's tenant, or empty: OBO refuses a token from another tenant."""
    activity = context.activity
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = getattr(activity.conversation, "tenant_id", None) or (data.get("tenant") or {}).get(
        "id"
    )
    return str(tenant or "")


def _precondition_failed(exchange_id: Any, connection: str, detail: str) -> InvokeResponse:
    return InvokeResponse(
        status=int(HTTPStatus.PRECONDITION_FAILED),
        body={
            "id": exchange_id if isinstance(exchange_id, str) else "",
            "connectionName": connection,
            "failureDetail": detail,
        },
    )


def token_from_event(activity: Activity) -> str | None:
    """The token in a `tokens/response` event (Web Chat, Emulator); its value may be a dict."""
    value: Any = activity.value
    token = value.get("token") if isinstance(value, dict) else getattr(value, "token", None)
    return token if isinstance(token, str) and token else None
