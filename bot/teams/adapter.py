"""A CloudAdapter that reuses its clients and kept-alive connections across activities."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from botbuilder.core import CloudAdapterBase, InvokeResponse, TurnContext
from botbuilder.integration.aiohttp import (
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ConversationReference,
    ResourceResponse,
)
from botframework.connector import Channels
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticationConstants,
    ClaimsIdentity,
    ConnectorFactory,
    GovernmentConstants,
)

from bot.auth.app_tokens import AnonymousTokenSource, CachedTokenSource, TokenSource
from bot.auth.tokens import TokenServiceClient
from bot.settings import GOVERNMENT_CHANNEL_SERVICE, Settings
from bot.teams.channel import ChannelClient

_log = logging.getLogger(__name__)

# Service URLs come from the activity, and in local mode anyone can name one: bound the cache.
_CACHE_SIZE = 256
_ANONYMOUS = AnonymousTokenSource()


def credential_tokens(credentials: Any) -> CachedTokenSource:
    """Tokens from botbuilder `AppCredentials`; their MSAL call blocks, so it runs in a thread."""

    async def fetch() -> str:
        return str(await asyncio.to_thread(credentials.get_access_token))

    return CachedTokenSource(fetch)


class Unauthorized(Exception):
    """The request's Bot Framework token is missing or invalid."""


@dataclass(frozen=True)
class Inbound:
    """Who sent an activity, as established by inbound authentication."""

    claims: ClaimsIdentity
    audience: str | None
    caller_id: str | None


@dataclass(frozen=True)
class _Outbound:
    connector: ConnectorClient
    tokens: TokenSource


class BotFrameworkConfig:
    """Settings under the attribute names botbuilder's configuration classes read."""

    def __init__(self, settings: Settings) -> None:
        self.APP_ID = settings.microsoft_app_id
        self.APP_PASSWORD = settings.microsoft_app_password.get_secret_value()
        self.APP_TYPE = settings.microsoft_app_type.value
        self.APP_TENANTID = settings.microsoft_app_tenant_id
        self.CHANNEL_SERVICE = settings.channel_service
        self.VALIDATE_AUTHORITY = settings.validate_authority
        if not settings.local_mode:
            # Any of these switches botbuilder to its parameterized authentication, which
            # crashes on anonymous requests; local mode authenticates nobody and needs none.
            self.OAUTH_URL = settings.oauth_url
            self.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL = (
                settings.to_bot_from_channel_openid_metadata_url
            )
            self.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER = settings.to_bot_from_channel_token_issuer
            self.TO_CHANNEL_FROM_BOT_LOGIN_URL = settings.to_channel_from_bot_login_url
            self.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE = settings.to_channel_from_bot_oauth_scope


class _CachingConnectorFactory(ConnectorFactory):  # type: ignore[misc]
    """What botbuilder components get as the turn's connector factory: the adapter's cache."""

    def __init__(self, adapter: MeetBotAdapter, claims: ClaimsIdentity) -> None:
        self._adapter = adapter
        self._claims = claims

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        return (await self._adapter.outbound(self._claims, service_url, audience)).connector


class MeetBotAdapter(CloudAdapterBase):  # type: ignore[misc]
    """botbuilder's turn pipeline and authentication; clients built once, replies over aiohttp."""

    OUTBOUND_KEY = "MeetBot.Outbound"
    # The activity's JSON as it arrived, for replies addressed without msrest (see turns.py).
    INBOUND_JSON_KEY = "MeetBot.InboundJson"

    def __init__(
        self, settings: Settings, session: aiohttp.ClientSession, channel: ChannelClient
    ) -> None:
        config = BotFrameworkConfig(settings)
        self._credentials = ConfigurationServiceClientCredentialFactory(config)
        super().__init__(
            ConfigurationBotFrameworkAuthentication(config, credentials_factory=self._credentials)
        )
        self._settings = settings
        self._session = session
        self._channel = channel
        self._outbound: OrderedDict[tuple[str, str, str], _Outbound] = OrderedDict()
        self._user_token_clients: dict[tuple[str, str], TokenServiceClient] = {}
        self._emulator_token_services: dict[str, bool] = {}

    async def authenticate(self, activity: Activity, auth_header: str) -> Inbound:
        """Validate the channel's JWT (production) or accept the local client anonymously."""
        if self._settings.local_mode and not auth_header:
            claims = ClaimsIdentity({}, True, AuthenticationConstants.ANONYMOUS_AUTH_TYPE)
            return Inbound(claims, self._default_audience(), None)
        try:
            result = await self.bot_framework_authentication.authenticate_request(
                activity, auth_header
            )
        except Exception as exc:
            # botbuilder signals a bad token with PermissionError, jwt errors or bare Exceptions.
            raise Unauthorized(type(exc).__name__) from exc
        if result is None or result.claims_identity is None:
            raise Unauthorized("no claims")
        claims = result.claims_identity.claims or {}
        # botbuilder lets PyJWT skip `exp` when a token has none: it would never expire.
        if claims and not isinstance(claims.get("exp"), int | float):
            raise Unauthorized("no expiry")
        return Inbound(result.claims_identity, result.audience, result.caller_id)

    async def process_activity(
        self,
        auth_header_or_authenticate_request_result: Any,
        activity: Activity,
        logic: Callable[[TurnContext], Awaitable[None]],
    ) -> InvokeResponse | None:
        inbound = await self.authenticate(activity, str(auth_header_or_authenticate_request_result))
        return await self.run_authenticated(inbound, activity, logic)

    async def run_authenticated(
        self,
        inbound: Inbound,
        activity: Activity,
        logic: Callable[[TurnContext], Awaitable[None]],
        body: dict[str, Any] | None = None,
    ) -> InvokeResponse | None:
        activity.caller_id = inbound.caller_id
        context = await self._turn_context(activity, inbound.claims, inbound.audience, logic)
        if body is not None:
            context.turn_state[self.INBOUND_JSON_KEY] = body
        await self.run_pipeline(context, logic)
        result: InvokeResponse | None = self._process_turn_results(context)
        return result

    async def process_proactive(
        self,
        claims_identity: ClaimsIdentity,
        continuation_activity: Activity,
        audience: str | None,
        logic: Callable[[TurnContext], Awaitable[None]],
    ) -> None:
        context = await self._turn_context(
            continuation_activity, claims_identity, audience or self._default_audience(), logic
        )
        await self.run_pipeline(context, logic)

    async def _turn_context(
        self,
        activity: Activity,
        claims: ClaimsIdentity,
        audience: str | None,
        logic: Callable[[TurnContext], Awaitable[None]],
    ) -> TurnContext:
        """A TurnContext with what botbuilder components find in a CloudAdapter's turn state."""
        outbound = await self.outbound(claims, activity.service_url, audience)
        context = TurnContext(self, activity)
        context.turn_state[self.BOT_IDENTITY_KEY] = claims
        context.turn_state[self.BOT_CONNECTOR_CLIENT_KEY] = outbound.connector
        context.turn_state[self.BOT_CALLBACK_HANDLER_KEY] = logic
        context.turn_state[self.CONNECTOR_FACTORY_KEY] = _CachingConnectorFactory(self, claims)
        context.turn_state[self.BOT_OAUTH_SCOPE_KEY] = audience
        context.turn_state[self.OUTBOUND_KEY] = outbound
        return context

    @property
    def app_id(self) -> str:
        """The bot's Microsoft app id ("" in local mode)."""
        return str(self._settings.microsoft_app_id or "")

    def _default_audience(self) -> str:
        return str(
            self._settings.to_channel_from_bot_oauth_scope
            or AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE
        )

    @staticmethod
    def _app_id(claims: ClaimsIdentity) -> str:
        app_id = claims.get_claim_value(AuthenticationConstants.AUDIENCE_CLAIM)
        if app_id is None:
            app_id = claims.get_claim_value(AuthenticationConstants.APP_ID_CLAIM)
        return str(app_id or "")

    async def outbound(
        self, claims: ClaimsIdentity, service_url: str, audience: str | None
    ) -> _Outbound:
        """botbuilder's connector client (and its app credentials), built once per key."""
        app_id = self._app_id(claims)
        key = (app_id, service_url, audience or "")
        cached = self._outbound.get(key)
        if cached is not None:
            self._outbound.move_to_end(key)
            return cached
        factory = self.bot_framework_authentication.create_connector_factory(claims)
        connector: ConnectorClient = await factory.create(service_url, audience)
        credentials = connector.config.credentials
        tokens: TokenSource = (
            credential_tokens(credentials)
            if app_id and not self._settings.local_mode
            else _ANONYMOUS
        )
        built = _Outbound(connector, tokens)
        self._outbound[key] = built
        if len(self._outbound) > _CACHE_SIZE:
            self._outbound.popitem(last=False)
        return built

    async def token_client_for(self, context: TurnContext) -> TokenServiceClient:
        """The token-service client for this turn's app id and channel, built once and kept."""
        claims: ClaimsIdentity = context.turn_state[self.BOT_IDENTITY_KEY]
        return self.token_client(claims, await self._token_service_for(context.activity))

    def token_client(
        self, claims: ClaimsIdentity, base_url: str | None = None
    ) -> TokenServiceClient:
        """The token-service client for this app id, built once and kept."""
        app_id = self._app_id(claims)
        base_url = base_url or self._settings.resolved_oauth_url
        client = self._user_token_clients.get((app_id, base_url))
        if client is None:
            tokens: TokenSource = _ANONYMOUS
            if app_id and not self._settings.local_mode:
                tokens = self._app_tokens(
                    app_id, AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE
                )
            client = TokenServiceClient(
                self._session,
                base_url,
                app_id,
                tokens,
                timeout_s=self._settings.token_service_timeout_s,
            )
            self._user_token_clients[(app_id, base_url)] = client
        return client

    def _app_tokens(self, app_id: str, audience: str) -> TokenSource:
        settings = self._settings
        login = settings.to_channel_from_bot_login_url or (
            GovernmentConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL
            if settings.channel_service == GOVERNMENT_CHANNEL_SERVICE
            else AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL
        )
        credentials: list[Any] = []

        async def fetch() -> str:
            if not credentials:
                credentials.append(
                    await self._credentials.create_credentials(
                        app_id, audience, login, settings.validate_authority
                    )
                )
            return str(await asyncio.to_thread(credentials[0].get_access_token))

        return CachedTokenSource(fetch)

    async def _token_service_for(self, activity: Activity) -> str | None:
        """The Emulator serves the token API itself to bots without an app id (legacy behaviour)."""
        if (
            activity.channel_id != Channels.emulator
            or not self._settings.local_mode
            or self._settings.oauth_url
        ):
            return None
        url = activity.service_url
        if url not in self._emulator_token_services:
            emulated = await self._emulate_oauth_cards(url)
            self._emulator_token_services[url] = emulated
            _log.info(
                "emulator channel at %s: token service %s",
                url,
                "is the emulator itself" if emulated else "is the embedded sandbox",
            )
        return url if self._emulator_token_services[url] else None

    async def _emulate_oauth_cards(self, service_url: str) -> bool:
        try:
            async with self._session.post(
                f"{service_url.rstrip('/')}/api/usertoken/emulateOAuthCards",
                params={"emulate": "true"},
                timeout=aiohttp.ClientTimeout(total=3),
            ) as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    def _tokens(self, context: TurnContext) -> TokenSource:
        outbound: _Outbound | None = context.turn_state.get(self.OUTBOUND_KEY)
        return outbound.tokens if outbound is not None else _ANONYMOUS

    async def post_json(self, context: TurnContext, activity: dict[str, Any]) -> str | None:
        """Send an activity already written as the Bot Connector's JSON; its id."""
        conversation = activity["conversation"]["id"]
        sent: str | None = await self._channel.send(
            activity["serviceUrl"],
            conversation,
            activity,
            self._tokens(context),
            reply_to_id=activity.get("replyToId"),
        )
        return sent

    async def put_json(
        self, context: TurnContext, activity_id: str, activity: dict[str, Any]
    ) -> None:
        """Replace a sent activity with one written as the Bot Connector's JSON."""
        await self._channel.update(
            activity["serviceUrl"],
            activity["conversation"]["id"],
            activity_id,
            {**activity, "id": activity_id},
            self._tokens(context),
        )

    async def send_activities(
        self, context: TurnContext, activities: list[Activity]
    ) -> list[ResourceResponse]:
        if not activities:
            raise TypeError("Expecting one or more activities, but the list was empty.")
        responses: list[ResourceResponse] = []
        for activity in activities:
            activity.id = None
            resource_id: str | None = None
            if activity.type == ActivityTypes.invoke_response:
                context.turn_state[self._INVOKE_RESPONSE_KEY] = activity
            elif activity.type == "delay":
                await asyncio.sleep((activity.value or 1000) / 1000)
            elif activity.type == ActivityTypes.trace and activity.channel_id != Channels.emulator:
                pass
            else:
                resource_id = await self._channel.send(
                    activity.service_url,
                    activity.conversation.id,
                    activity.serialize(),
                    self._tokens(context),
                    reply_to_id=activity.reply_to_id,
                )
            responses.append(ResourceResponse(id=resource_id or ""))
        return responses

    async def update_activity(
        self, context: TurnContext, activity: Activity
    ) -> ResourceResponse | None:
        resource_id = await self._channel.update(
            activity.service_url,
            activity.conversation.id,
            activity.id,
            activity.serialize(),
            self._tokens(context),
        )
        return ResourceResponse(id=resource_id) if resource_id else None

    async def delete_activity(self, context: TurnContext, reference: ConversationReference) -> None:
        await self._channel.delete(
            reference.service_url,
            reference.conversation.id,
            reference.activity_id,
            self._tokens(context),
        )
