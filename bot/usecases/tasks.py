"""Work that outlives the request that started it (answers to invokes), tracked until shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

_log = logging.getLogger(__name__)


class BackgroundTasks:
    """Keeps references to running tasks, logs their failures, and drains them at shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._services: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def run_service(self, work: Coroutine[Any, Any, None]) -> None:
        """Run work that lasts until shutdown (a timer loop, told to stop before `drain`); it
        is not counted as work in flight."""
        task = asyncio.get_running_loop().create_task(work)
        self._services.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._services.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("background work failed", exc_info=task.exception())

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Let running work finish (up to the timeout), then cancel what is left."""
        running = self._tasks | self._services
        if not running:
            return
        _done, pending = await asyncio.wait(running, timeout=timeout_s)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    def __len__(self) -> int:
        """Work in flight (services not counted)."""
        return len(self._tasks)
