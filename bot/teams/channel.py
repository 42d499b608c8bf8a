"""Outbound Bot Connector calls (send, reply, update, delete) over the app's aiohttp session."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from bot.auth.app_tokens import TokenSource
from bot.core.fastjson import dumps

_log = logging.getLogger(__name__)

USER_AGENT = "MeetBot/0.1 (Microsoft-BotFramework/3.1; BotBuilder Python/4.17 compatible)"
_RETRYABLE = frozenset({429, 500, 502, 503, 504})
_MAX_ATTEMPTS = 3


class ChannelError(Exception):
    """The channel answered a connector call with an error status (or not at all)."""

    def __init__(self, status: int, operation: str) -> None:
        super().__init__(f"channel {operation} failed with HTTP {status}")
        self.status = status
        self.operation = operation


class ChannelClient:
    """The slice of the Bot Connector API a bot uses to answer, with kept-alive connections."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        timeout_s: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._sleep = sleep

    @staticmethod
    def url(service_url: str, path: str) -> URL:
        """`service_url` + `path`, whose ids are already quoted as the Bot Framework SDKs
        quote them (every reserved character)."""
        return URL(f"{URL(service_url.rstrip('/'))}/{path}", encoded=True)

    async def send(
        self,
        service_url: str,
        conversation_id: str,
        activity: dict[str, Any],
        tokens: TokenSource,
        *,
        reply_to_id: str | None = None,
    ) -> str | None:
        path = (
            _activity_path(conversation_id, reply_to_id)
            if reply_to_id
            else _activities_path(conversation_id)
        )
        body = await self._call("POST", service_url, path, conversation_id, activity, tokens)
        return _resource_id(body)

    async def update(
        self,
        service_url: str,
        conversation_id: str,
        activity_id: str,
        activity: dict[str, Any],
        tokens: TokenSource,
    ) -> str | None:
        path = _activity_path(conversation_id, activity_id)
        body = await self._call("PUT", service_url, path, conversation_id, activity, tokens)
        return _resource_id(body)

    async def delete(
        self, service_url: str, conversation_id: str, activity_id: str, tokens: TokenSource
    ) -> None:
        path = _activity_path(conversation_id, activity_id)
        await self._call("DELETE", service_url, path, conversation_id, None, tokens)

    async def _call(
        self,
        method: str,
        service_url: str,
        path: str,
        conversation_id: str,
        payload: dict[str, Any] | None,
        tokens: TokenSource,
    ) -> Any:
        url = self.url(service_url, path)
        headers = {
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            "x-ms-conversation-id": conversation_id,
        }
        token = await tokens.token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = None
        if payload is not None:
            body = dumps(payload)
            headers["Content-Type"] = "application/json"
        status = 0
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            try:
                async with self._session.request(
                    method, url, data=body, headers=headers, timeout=self._timeout
                ) as response:
                    status = response.status
                    if status < 300:
                        answer = await response.read()
                        if answer and response.content_type == "application/json":
                            return json.loads(answer)
                        return None
                    retry_after = _retry_after(response.headers.get("Retry-After"))
                    await response.read()
            except (aiohttp.ClientConnectionError, TimeoutError):
                status, retry_after = 0, None
            if (status not in _RETRYABLE and status != 0) or attempt == _MAX_ATTEMPTS:
                break
            await self._sleep(retry_after if retry_after is not None else 0.2 * 2**attempt)
        _log.warning("channel %s %s failed: HTTP %s", method, path.split("/")[0], status or "none")
        raise ChannelError(status, method)


def _activity_path(conversation_id: str, activity_id: str) -> str:
    return f"{_activities_path(conversation_id)}/{quote(activity_id, safe='')}"


def _activities_path(conversation_id: str) -> str:
    return f"v3/conversations/{_conversation_segment(conversation_id)}/activities"


def _conversation_segment(conversation_id: str) -> str:
    """A conversation id as a path segment, every reserved character quoted."""
    return quote(conversation_id, safe="")


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return min(max(float(value), 0.0), 10.0)
    except ValueError:
        return None


def _resource_id(body: Any) -> str | None:
    resource_id = body.get("id") if isinstance(body, dict) else None
    return resource_id if isinstance(resource_id, str) else None
