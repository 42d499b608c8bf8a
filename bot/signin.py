"""Delegated sign-in: user tokens from the token service, pending requests, ways back in."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from botbuilder.core import CardFactory, InvokeResponse, MessageFactory, TurnContext
from botbuilder.schema import Activity, CardAction, OAuthCard
from botframework.connector.auth import UserTokenClient
from botframework.connector.token_api.models import TokenExchangeRequest

from bot.meetings.request import MeetingRequest
from bot.ports import RecordStore

_log = logging.getLogger(__name__)

PENDING_LIFETIME_S = 15 * 60
MAGIC_CODE = re.compile(r"^\d{6}$")

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
    ) -> None:
        self._records = records
        self._connection = connection_name
        self._clock = clock

    @staticmethod
    def _client(context: TurnContext) -> UserTokenClient:
        client: UserTokenClient = context.turn_state[context.adapter.USER_TOKEN_CLIENT_KEY]
        return client

    async def token(self, context: TurnContext, magic_code: str | None = None) -> str | None:
        response = await self._client(context).get_user_token(
            _user(context), self._connection, context.activity.channel_id, magic_code
        )
        token = getattr(response, "token", None)
        return token if isinstance(token, str) and token else None

    async def sign_out(self, context: TurnContext) -> None:
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
