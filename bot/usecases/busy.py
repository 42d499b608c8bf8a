"""`typing_while_slow`: a typing indicator only while a turn's work outlasts a short delay."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from bot.core.ports import Conversation

_log = logging.getLogger(__name__)

# botbuilder's ShowTypingMiddleware defaults: nothing for work that answers within half a
# second (a flash of "typing" before an instant card is noise, and one more outbound call
# per turn), then one every 2 s, as Teams clears an indicator after about 3 s.
TYPING_DELAY_S = 0.5
TYPING_PERIOD_S = 2.0


@asynccontextmanager
async def typing_while_slow(
    conversation: Conversation,
    *,
    delay: float = TYPING_DELAY_S,
    period: float = TYPING_PERIOD_S,
) -> AsyncIterator[None]:
    """Show "typing" after `delay` and every `period` after it until the block ends.

    Quick work costs one timer, set and cancelled (most meetings are answered within the
    delay). On exit an indicator already on its way is waited for, never cut off, so none
    can arrive after the answer the block produced."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    typing: list[asyncio.Task[None]] = []
    timer = loop.call_later(
        delay, lambda: typing.append(loop.create_task(_type(conversation, period, stop)))
    )
    try:
        yield
    finally:
        timer.cancel()
        stop.set()
        if typing:
            await typing[0]


async def _type(conversation: Conversation, period: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await conversation.typing()
        except Exception:
            _log.info("could not send a typing indicator", exc_info=True)
            return
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), period)
