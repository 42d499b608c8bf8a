"""Per-user rate limits: a sliding window per key, bounded in memory, on an injectable clock."""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

HOUR_S = 3600.0


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether an event may happen now, and how the key stands in the window."""

    allowed: bool
    count: int  # events in the window, this one included when allowed
    limit: int
    window_s: float
    retry_after_s: float  # 0 when allowed; else until the oldest event leaves the window


class RateLimiter:
    """At most `limit` events per key in any `window_s` seconds (a sliding window log).

    Memory: at most `limit` timestamps for each of at most `max_keys` keys. When more keys
    are active, the one used least recently is forgotten, which only ever lets it do more.
    Per process: replicas each keep their own windows.
    """

    def __init__(
        self,
        limit: int,
        window_s: float = HOUR_S,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_s <= 0 or max_keys < 1:
            raise ValueError("limit, window_s and max_keys must be positive")
        self._limit = limit
        self._window_s = window_s
        self._max_keys = max_keys
        self._clock = clock
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._events)

    def check(self, key: str) -> Decision:
        """How `key` stands now, recording nothing."""
        return self._decide(self._window(key, self._clock()), self._clock(), record=False)

    def acquire(self, key: str) -> Decision:
        """Record an event for `key` if it is within the limit."""
        now = self._clock()
        return self._decide(self._window(key, now), now, record=True)

    def refund(self, key: str) -> None:
        """Take back the latest event (it did not happen after all, e.g. nothing was created)."""
        events = self._events.get(key)
        if events:
            events.pop()
            if not events:
                del self._events[key]

    def _window(self, key: str, now: float) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            events = deque(maxlen=self._limit)
            self._events[key] = events
            if len(self._events) > self._max_keys:
                self._events.popitem(last=False)
        else:
            self._events.move_to_end(key)
        while events and now - events[0] >= self._window_s:
            events.popleft()
        return events

    def _decide(self, events: deque[float], now: float, *, record: bool) -> Decision:
        if len(events) >= self._limit:
            retry_after = max(0.0, events[0] + self._window_s - now)
            return Decision(False, len(events), self._limit, self._window_s, retry_after)
        if record:
            events.append(now)
        return Decision(True, len(events), self._limit, self._window_s, 0.0)


def meetings_limit_message(decision: Decision) -> str:
    """What to tell someone who has created as many meetings as they may for now."""
    minutes = max(1, math.ceil(decision.retry_after_s / 60))
    wait = "a minute" if minutes == 1 else f"{minutes} minutes"
    window = "hour" if decision.window_s == HOUR_S else f"{round(decision.window_s / 60)} minutes"
    return (
        f"You've created {decision.count} meetings in the last {window}, the most I can "
        f"create for one person. Please try again in {wait}."
    )
