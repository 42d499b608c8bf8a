"""The typing indicator: none for quick work, repeated for slow work, never after the answer."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.core.ports import Message
from bot.usecases.busy import typing_while_slow


class Recorder:
    """Records what is sent; a send can be made slow or made to fail."""

    def __init__(self, *, send_takes: float = 0.0, fails: bool = False) -> None:
        self.events: list[str] = []
        self._send_takes = send_takes
        self._fails = fails

    async def send(self, message: Message) -> str | None:
        raise AssertionError(f"only typing indicators are sent here, not {message}")

    async def update(self, message_id: str, message: Message) -> None:
        raise AssertionError(f"nothing is updated here, not {message_id}")

    async def typing(self) -> None:
        if self._fails:
            raise ConnectionError("the channel is down")
        self.events.append("typing sending")
        await asyncio.sleep(self._send_takes)
        self.events.append("typing sent")


async def test_work_quicker_than_the_delay_sends_no_typing() -> None:
    recorder = Recorder()
    async with typing_while_slow(recorder, delay=0.2, period=0.05):
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # the stopped indicator must not fire later either
    assert recorder.events == []


async def test_slow_work_shows_typing_after_the_delay_and_every_period() -> None:
    recorder = Recorder()
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with typing_while_slow(recorder, delay=0.1, period=0.1):
        await asyncio.sleep(0.05)
        assert recorder.events == []
        await asyncio.sleep(0.3)
    assert loop.time() - started < 0.4  # leaving the block does not wait out a period
    sent = recorder.events.count("typing sent")
    assert 2 <= sent <= 4, recorder.events
    await asyncio.sleep(0.25)
    assert recorder.events.count("typing sent") == sent  # nothing after the block


async def test_leaving_the_block_waits_for_an_indicator_on_its_way() -> None:
    recorder = Recorder(send_takes=0.2)
    async with typing_while_slow(recorder, delay=0.05, period=10):
        await asyncio.sleep(0.1)  # the indicator is half-way out
    recorder.events.append("answer")
    assert recorder.events == ["typing sending", "typing sent", "answer"]


async def test_a_failing_indicator_is_logged_and_does_not_fail_the_work(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = Recorder(fails=True)
    with caplog.at_level(logging.INFO, logger="bot.usecases.busy"):
        async with typing_while_slow(recorder, delay=0.01, period=0.01):
            await asyncio.sleep(0.1)
    assert recorder.events == []
    assert [r.message for r in caplog.records] == ["could not send a typing indicator"]
