"""The Bot Framework token service's REST API (users' tokens), over the app's aiohttp session."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import aiohttp

from bot.auth.app_tokens import TokenSource
from bot.core.ports import IssuedToken, SignInResource

_log = logging.getLogger(__name__)

API_VERSION = "token"
# The token service answers in well under a second; an invoke must be answered within Teams'
# 5 s, so a call that takes longer than this is given up and explained to the user.
TIMEOUT_S = 4.0


class TokenServiceError(Exception):
    """The token service answered with an unexpected status, or not at all (status 0: refused,
    reset, timed out, or the bot's own credential for it could not be had)."""

    def __init__(self, status: int, operation: str) -> None:
        super().__init__(f"token service {operation} failed with HTTP {status}")
        self.status = status
        self.operation = operation


def token_exchange_state(
    app_id: str, connection_name: str, reference: dict[str, Any], relates_to: Any = None
) -> str:
    """The base64 `TokenExchangeState` GetSignInResource takes: where to send the token."""
    state = {
        "connectionName": connection_name,
        "conversation": reference,
        "relatesTo": relates_to,
        "msAppId": app_id,
    }
    state = {key: value for key, value in state.items() if value is not None}
    return base64.b64encode(json.dumps(state).encode()).decode()


class TokenServiceClient:
    """One instance per (token service URL, app id), sharing the app's kept-alive session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        app_id: str,
        tokens: TokenSource,
        *,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._app_id = app_id
        self._tokens = tokens
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    @property
    def base_url(self) -> str:
        return self._base_url

    async def _call(
        self,
        method: str,
        path: str,
        params: dict[str, str | None],
        *,
        body: Any = None,
        ok: tuple[int, ...] = (200,),
    ) -> tuple[int, Any]:
        query = {k: v for k, v in params.items() if v is not None}
        query["api-version"] = API_VERSION
        headers = {"Accept": "application/json"}
        try:
            token = await self._tokens.token()
        except Exception as exc:
            _log.warning("token service %s %s: no app token: %s", method, path, type(exc).__name__)
            raise TokenServiceError(0, path) from exc
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            async with self._session.request(
                method,
                f"{self._base_url}{path}",
                params=query,
                json=body,
                headers=headers,
                timeout=self._timeout,
            ) as response:
                status = response.status
                payload: Any = None
                if response.content_type == "application/json":
                    payload = await response.json()
                else:
                    await response.read()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            _log.warning("token service %s %s failed: %s", method, path, type(exc).__name__)
            raise TokenServiceError(0, path) from exc
        if status not in ok:
            _log.warning("token service %s %s answered HTTP %s", method, path, status)
            raise TokenServiceError(status, path)
        return status, payload

    async def get_token(
        self, user_id: str, connection_name: str, channel_id: str, magic_code: str | None = None
    ) -> IssuedToken | None:
        status, payload = await self._call(
            "GET",
            "/api/usertoken/GetToken",
            {
                "userId": user_id,
                "connectionName": connection_name,
                "channelId": channel_id,
                "code": magic_code,
            },
            ok=(200, 404),
        )
        return _issued(payload) if status == 200 else None

    async def sign_in_resource(
        self,
        connection_name: str,
        reference: dict[str, Any],
        relates_to: Any = None,
        final_redirect: str | None = None,
    ) -> SignInResource:
        state = token_exchange_state(self._app_id, connection_name, reference, relates_to)
        _, payload = await self._call(
            "GET",
            "/api/botsignin/GetSignInResource",
            {"state": state, "finalRedirect": final_redirect},
        )
        if not isinstance(payload, dict) or not isinstance(payload.get("signInLink"), str):
            raise TokenServiceError(200, "GetSignInResource without a signInLink")
        resource = payload.get("tokenExchangeResource")
        exchange = None
        if isinstance(resource, dict):
            exchange = {
                "id": resource.get("id"),
                "uri": resource.get("uri"),
                "providerId": resource.get("providerId"),
            }
        return SignInResource(link=payload["signInLink"], exchange=exchange)

    async def sign_out(self, user_id: str, connection_name: str, channel_id: str) -> None:
        await self._call(
            "DELETE",
            "/api/usertoken/SignOut",
            {"userId": user_id, "connectionName": connection_name, "channelId": channel_id},
            ok=(200, 204),
        )

    async def exchange(
        self, user_id: str, connection_name: str, channel_id: str, sso_token: str
    ) -> IssuedToken | None:
        status, payload = await self._call(
            "POST",
            "/api/usertoken/exchange",
            {"userId": user_id, "connectionName": connection_name, "channelId": channel_id},
            body={"uri": None, "token": sso_token},
            ok=(200, 400, 404),
        )
        return _issued(payload) if status == 200 else None


def _issued(payload: Any) -> IssuedToken | None:
    """A `TokenResponse` body: its token and expiration, when it has a token."""
    if not isinstance(payload, dict):
        return None
    token, expiration = payload.get("token"), payload.get("expiration")
    if not isinstance(token, str) or not token:
        return None
    return IssuedToken(token=token, expiration=expiration if isinstance(expiration, str) else None)
