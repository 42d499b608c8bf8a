"""The bot's own bearer tokens for the channel and the token service (not users' tokens)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import jwt

_REFRESH_MARGIN_S = 300.0


class TokenSource(Protocol):
    """Gives the bearer token for calls to the channel; `None` means send no Authorization."""

    async def token(self) -> str | None: ...


class AnonymousTokenSource:
    """Local mode: the Emulator and the Agents Playground expect no token from the bot."""

    async def token(self) -> str | None:
        return None


class CachedTokenSource:
    """Caches an app token until shortly before it expires, fetching it once at a time."""

    def __init__(
        self, fetch: Callable[[], Awaitable[str]], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._token: str | None = None
        self._refresh_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str | None:
        if self._token is not None and self._clock() < self._refresh_at:
            return self._token
        async with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                token = await self._fetch()
                self._token = token
                self._refresh_at = self._clock() + _lifetime_s(token) - _REFRESH_MARGIN_S
            return self._token


def _lifetime_s(token: str) -> float:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        return max(float(claims["exp"]) - time.time(), _REFRESH_MARGIN_S + 60.0)
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return 30 * 60.0
