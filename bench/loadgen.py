"""Closed-loop load generator: each virtual user waits for its answer before sending again."""

import asyncio
import math
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.targets import ActivityBuilder, Turn


@dataclass(frozen=True, slots=True)
class Sent:
    """One request the bot accepted (2xx): when it started and how long the POST took."""

    conversation_id: str
    activity_id: str
    started_at: float
    latency_s: float


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """Where to send, what, from how many conversations, and for how long at most."""

    url: str
    service_url: str
    build: ActivityBuilder
    conversation_ids: list[str]
    duration_s: float
    max_requests: int | None
    # Shared across phases and targets so activity ids are unique for the whole run.
    activity_ids: Iterator[int]


@dataclass(slots=True)
class LoadResult:
    """Accepted requests, failures by kind, and the wall time of the phase."""

    sent: list[Sent] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0


class _Budget:
    """Stops every virtual user at the deadline or once the request budget is spent."""

    def __init__(self, deadline: float, max_requests: int | None) -> None:
        self._deadline = deadline
        self._remaining = max_requests

    def take(self) -> bool:
        if time.perf_counter() >= self._deadline:
            return False
        if self._remaining is None:
            return True
        if self._remaining <= 0:
            return False
        self._remaining -= 1
        return True


async def run_load(
    session: aiohttp.ClientSession, plan: LoadPlan, result: LoadResult | None = None
) -> LoadResult:
    """Drive one virtual user per conversation until the budget runs out.

    Pass `result` to watch it fill while the load runs (the memory sampler counts turns).
    """
    result = LoadResult() if result is None else result
    started = time.perf_counter()
    budget = _Budget(started + plan.duration_s, plan.max_requests)
    async with asyncio.TaskGroup() as group:
        for index in range(len(plan.conversation_ids)):
            group.create_task(_virtual_user(session, plan, index, budget, result))
    result.elapsed_s = time.perf_counter() - started
    return result


async def _virtual_user(
    session: aiohttp.ClientSession,
    plan: LoadPlan,
    index: int,
    budget: _Budget,
    result: LoadResult,
) -> None:
    conversation_id = plan.conversation_ids[index]
    while budget.take():
        turn = Turn(conversation_id, index, str(next(plan.activity_ids)), plan.service_url)
        activity = plan.build(turn)
        started = time.perf_counter()
        failure = await _post(session, plan.url, activity)
        latency = time.perf_counter() - started
        if failure is None:
            result.sent.append(Sent(conversation_id, turn.activity_id, started, latency))
        else:
            result.errors[failure] += 1


async def _post(session: aiohttp.ClientSession, url: str, activity: dict[str, Any]) -> str | None:
    """POST one activity; None on a 2xx answer, else a short description of the failure."""
    try:
        async with session.post(url, json=activity) as response:
            await response.read()
            return None if 200 <= response.status < 300 else f"HTTP {response.status}"
    except (aiohttp.ClientError, TimeoutError) as error:
        return type(error).__name__


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of already sorted values (None when there are none)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]
