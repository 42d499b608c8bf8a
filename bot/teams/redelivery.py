"""Redelivered activities: a channel resends one it thinks went unanswered; answer it once."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable


class RecentActivities:
    """Remembers activity keys for a while, to drop a channel's redelivery of an activity.

    Bounded by count (oldest forgotten first) and by age; per process, so a redelivery to
    another replica is not caught here (createOrGet's externalId still keeps it one meeting).
    """

    def __init__(
        self,
        *,
        max_entries: int = 10_000,
        ttl_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1 or ttl_s <= 0:
            raise ValueError("max_entries and ttl_s must be positive")
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._max_entries = max_entries
        self._ttl_s = ttl_s
        self._clock = clock

    def __len__(self) -> int:
        return len(self._seen)

    def first_time(self, key: str) -> bool:
        """True the first time `key` is offered within the time to live, False after."""
        now = self._clock()
        while self._seen:
            oldest, at = next(iter(self._seen.items()))
            if now - at < self._ttl_s:
                break
            del self._seen[oldest]
        if key in self._seen:
            return False
        self._seen[key] = now
        if len(self._seen) > self._max_entries:
            self._seen.popitem(last=False)
        return True


def activity_key(channel_id: str | None, conversation_id: str | None, activity_id: str) -> str:
    """What identifies one delivery of an activity: channel, conversation and activity id."""
    raw = "\x1f".join((channel_id or "", conversation_id or "", activity_id))
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()
