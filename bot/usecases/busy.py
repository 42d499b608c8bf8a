"""`typing_while_slow`: a typing indicator only while a turn's work outlasts a short delay."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import Any, Protocol

from botbuilder.schema import Activity, ActivityTypes

_log = logging.getLogger(__name__)

# botbuilder's ShowTypingMiddleware defaults: nothing for work that answers within half a
# second (a flash of "typing" before an instant card is noise, and one more outbound call
# per turn), then one every 2 s, as Teams clears an indicator after about 3 s.
TYPING_DELAY_S = 0.5
TYPING_PERIOD_S = 2.0


class Sends(Protocol):
    async def send_activity(self, activity_or_text: Activity) -> Any: ...


class typing_while_slow:
    """Show "typing" after `delay` and every `period` after it until the block ends.

    On exit an indicator already on its way is waited for, never cut off, so none can
    arrive after the answer the block produced. A class, not `@asynccontextmanager`: it is
    on every meeting's path, and quick work costs it one timer, set and cancelled.
    """

    __slots__ = ("_context", "_delay", "_period", "_stop", "_task", "_timer")

    def __init__(
        self, context: Sends, *, delay: float = TYPING_DELAY_S, period: float = TYPING_PERIOD_S
    ) -> None:
        self._context = context
        self._delay = delay
        self._period = period
        self._timer: asyncio.TimerHandle | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(self._delay, self._start)

    async def __aexit__(self, *_exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._task is not None and self._stop is not None:
            self._stop.set()
            await self._task

    def _start(self) -> None:
        self._stop = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(
            _type(self._context, self._period, self._stop)
        )


async def _type(context: Sends, period: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await context.send_activity(Activity(type=ActivityTypes.typing))
        except Exception:
            _log.info("could not send a typing indicator", exc_info=True)
            return
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), period)
