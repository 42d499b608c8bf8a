"""One call for identical Graph requests in flight at once (double clicks, retries)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import replace
from functools import partial
from typing import Generic, TypeVar

from bot.graph import (
    CreateOrGetRequest,
    CreateOrGetResult,
    GraphTimeoutError,
    MeetingUpdate,
    OnlineMeeting,
    OnlineMeetingsApi,
)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Coalescer(Generic[K, V]):
    """Runs `call()` once per key at a time; callers arriving meanwhile share its outcome.

    The first caller runs the call in its own task (no new task per call: this is on every
    meeting's path); callers arriving meanwhile wait for its outcome. Holds an entry only
    while a call runs, so memory is bounded by the calls in flight. A waiting caller that
    stops waiting (cancelled or timed out) does not stop the call for others; if the first
    caller is cancelled, a waiting one runs the call again for itself and the rest.
    """

    def __init__(self) -> None:
        self._running: dict[K, asyncio.Future[V]] = {}

    def __len__(self) -> int:
        return len(self._running)

    async def run(
        self, key: K, call: Callable[[], Awaitable[V]], *, timeout_s: float | None = None
    ) -> tuple[V, bool]:
        """The call's result, and whether this caller joined a call another one started."""
        while True:
            running = self._running.get(key)
            if running is None:
                return await self._lead(key, call), False
            try:
                return await asyncio.wait_for(asyncio.shield(running), timeout_s), True
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not running.cancelled() or (task is not None and task.cancelling()):
                    raise
                # The caller running it was cancelled: run it again.

    async def _lead(self, key: K, call: Callable[[], Awaitable[V]]) -> V:
        outcome: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._running[key] = outcome
        try:
            result = await call()
        except asyncio.CancelledError:
            outcome.cancel()
            raise
        except BaseException as error:
            outcome.set_exception(error)
            outcome.exception()  # retrieved: with nobody waiting, asyncio logs no warning
            raise
        finally:
            if self._running.get(key) is outcome:
                del self._running[key]
        outcome.set_result(result)
        return result


class CoalescingMeetingsApi:
    """`OnlineMeetingsApi` that sends identical concurrent createOrGet calls to Graph once.

    Keyed by the user's token and the whole request, so nobody shares another's authority
    or gets a meeting with other details. Whoever joins a call in flight sees the meeting as
    existing (`created=False`), as Graph itself would have answered the second call.
    """

    def __init__(self, inner: OnlineMeetingsApi) -> None:
        self._inner = inner
        self._calls: Coalescer[tuple[str, str, str], CreateOrGetResult] = Coalescer()

    def __len__(self) -> int:
        return len(self._calls)

    async def create_or_get(
        self,
        token: str,
        request: CreateOrGetRequest,
        *,
        budget_s: float,
        user_object_id: str | None = None,
    ) -> CreateOrGetResult:
        key = (
            hashlib.sha256(token.encode()).hexdigest(),
            user_object_id or "",
            request.model_dump_json(),
        )

        # A partial, not a closure coroutine: one frame fewer to suspend and resume at every
        # await of the Graph call.
        call = partial(
            self._inner.create_or_get,
            token,
            request,
            budget_s=budget_s,
            user_object_id=user_object_id,
        )
        try:
            result, joined = await self._calls.run(key, call, timeout_s=budget_s)
        except TimeoutError:
            # Only a joining caller can time out here: the first one's call has its own budget.
            raise GraphTimeoutError(graph_message="an identical request is still running") from None
        return replace(result, created=False) if joined else result

    # Changes pass through: two clicks with different values are ordered by the use case's
    # eTag on the meeting's record, not merged here.
    async def get(self, token: str, meeting_id: str, *, budget_s: float) -> OnlineMeeting:
        return await self._inner.get(token, meeting_id, budget_s=budget_s)

    async def update(
        self, token: str, meeting_id: str, change: MeetingUpdate, *, budget_s: float
    ) -> OnlineMeeting:
        return await self._inner.update(token, meeting_id, change, budget_s=budget_s)

    async def delete(self, token: str, meeting_id: str, *, budget_s: float) -> None:
        await self._inner.delete(token, meeting_id, budget_s=budget_s)
