"""The Bot Framework token service's REST API as botbuilder's `UserTokenClient`, over aiohttp."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import aiohttp
from botbuilder.schema import Activity, TokenExchangeState, TokenResponse
from botframework.connector.auth import UserTokenClient
from botframework.connector.token_api.models import (
    SignInUrlResponse,
    TokenExchangeRequest,
    TokenExchangeResource,
    TokenStatus,
)

from bot.teams.channel import TokenSource

_log = logging.getLogger(__name__)

API_VERSION = "token"


class TokenServiceError(Exception):
    """The token service answered with an unexpected status (or not at all)."""

    def __init__(self, status: int, operation: str) -> None:
        super().__init__(f"token service {operation} failed with HTTP {status}")
        self.status = status
        self.operation = operation


def token_exchange_state(app_id: str, connection_name: str, activity: Activity) -> str:
    """The base64 state GetSignInResource takes; botbuilder's refuses an empty (local) app id."""
    state = TokenExchangeState(
        connection_name=connection_name,
        conversation=Activity.get_conversation_reference(activity),
        relates_to=activity.relates_to,
        ms_app_id=app_id,
    )
    return base64.b64encode(json.dumps(state.serialize()).encode()).decode()


class TokenServiceClient(UserTokenClient):  # type: ignore[misc]
    """One instance per (token service URL, app id), sharing the app's kept-alive session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        app_id: str,
        tokens: TokenSource,
        *,
        timeout_s: float = 10.0,
    ) -> None:
        super().__init__()
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
        token = await self._tokens.token()
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

    async def get_user_token(
        self,
        user_id: str,
        connection_name: str,
        channel_id: str,
        magic_code: str | None = None,
    ) -> TokenResponse | None:
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
        if status != 200 or not isinstance(payload, dict) or not payload.get("token"):
            return None
        response: TokenResponse = TokenResponse.deserialize(payload)
        return response

    async def get_sign_in_resource(
        self, connection_name: str, activity: Activity, final_redirect: str | None
    ) -> SignInUrlResponse:
        state = token_exchange_state(self._app_id, connection_name, activity)
        _, payload = await self._call(
            "GET",
            "/api/botsignin/GetSignInResource",
            {"state": state, "finalRedirect": final_redirect},
        )
        if not isinstance(payload, dict) or not isinstance(payload.get("signInLink"), str):
            raise TokenServiceError(200, "GetSignInResource without a signInLink")
        resource = payload.get("tokenExchangeResource")
        return SignInUrlResponse(
            sign_in_link=payload["signInLink"],
            token_exchange_resource=(
                TokenExchangeResource.deserialize(resource) if isinstance(resource, dict) else None
            ),
        )

    async def sign_out_user(self, user_id: str, connection_name: str, channel_id: str) -> None:
        await self._call(
            "DELETE",
            "/api/usertoken/SignOut",
            {"userId": user_id, "connectionName": connection_name, "channelId": channel_id},
            ok=(200, 204),
        )

    async def get_token_status(
        self, user_id: str, channel_id: str, include_filter: str | None = None
    ) -> list[TokenStatus]:
        _, payload = await self._call(
            "GET",
            "/api/usertoken/GetTokenStatus",
            {"userId": user_id, "channelId": channel_id, "include": include_filter},
        )
        items = payload if isinstance(payload, list) else []
        return [TokenStatus.deserialize(item) for item in items if isinstance(item, dict)]

    async def get_aad_tokens(
        self,
        user_id: str,
        connection_name: str,
        resource_urls: list[str],
        channel_id: str,
    ) -> dict[str, TokenResponse]:
        _, payload = await self._call(
            "POST",
            "/api/usertoken/GetAadTokens",
            {"userId": user_id, "connectionName": connection_name, "channelId": channel_id},
            body={"resourceUrls": resource_urls},
        )
        items = payload if isinstance(payload, dict) else {}
        return {
            url: TokenResponse.deserialize(item)
            for url, item in items.items()
            if isinstance(item, dict)
        }

    async def exchange_token(
        self,
        user_id: str,
        connection_name: str,
        channel_id: str,
        exchange_request: TokenExchangeRequest,
    ) -> TokenResponse | None:
        status, payload = await self._call(
            "POST",
            "/api/usertoken/exchange",
            {"userId": user_id, "connectionName": connection_name, "channelId": channel_id},
            body={"uri": exchange_request.uri, "token": exchange_request.token},
            ok=(200, 400, 404),
        )
        if status != 200 or not isinstance(payload, dict) or not payload.get("token"):
            return None
        response: TokenResponse = TokenResponse.deserialize(payload)
        return response
