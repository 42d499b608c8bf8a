"""Redelivered activities: a channel resends one it thinks went unanswered; answer it once."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from bot.core.ports import RecordStore

_log = logging.getLogger(__name__)

# Channels redeliver within seconds to minutes; after this a key may be used again.
DELIVERY_TTL_S = 600.0
# Longer than a turn may take (a message's Graph budget is 12 s, Teams waits 15 s).
DELIVERY_LEASE_S = 30.0
_HOST = socket.gethostname()


class RecentActivities:
    """Remembers activity keys for a while, to drop a channel's redelivery of an activity.

    Bounded by count (oldest forgotten first) and by age; per process: `Deliveries` shares
    what it saw through the store.
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


def activity_key(
    channel_id: str | None, conversation_id: str | None, activity_id: str, sent_at: str = ""
) -> str:
    """What identifies one activity across its deliveries: channel, conversation, activity id
    and the time it was sent (a redelivery repeats it; a test client restarted with its ids
    counting from 1 again does not)."""
    raw = "\x1f".join((channel_id or "", conversation_id or "", activity_id, sent_at))
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


class Deliveries:
    """Whether an activity is delivered for the first time, for every process and replica
    sharing the store: one marker record per activity key, taken in one store transaction.

    A marker is taken when a delivery starts and marked answered when its turn ends. A
    redelivery is dropped while the first is answered or still being answered; it takes the
    marker over when the process that took it died mid-turn (on this machine: its pid is
    gone; on another machine: the marker is older than `lease_s`, longer than a turn may
    take), so a request is not lost (Graph's externalId keeps a replayed meeting one meeting).
    Markers count for `ttl_s`. This process's own memory answers a repeat it saw itself
    without a store operation; when the store fails, that memory alone decides (a redelivery
    to another replica may then be answered twice, never not at all).
    """

    def __init__(
        self,
        records: RecordStore,
        *,
        ttl_s: float = DELIVERY_TTL_S,
        lease_s: float = DELIVERY_LEASE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._records = records
        self._ttl_s = ttl_s
        self._lease_s = lease_s
        self._clock = clock
        self._recent = RecentActivities(ttl_s=ttl_s, clock=clock)

    async def first_time(self, key: str) -> bool:
        """Whether to answer this delivery (True takes the marker)."""
        if not self._recent.first_time(key):
            return False
        now = self._clock()
        first = True

        def take(record: dict[str, Any] | None) -> dict[str, Any]:
            nonlocal first
            first = self._free(record, now)
            if first or record is None:
                return {"at": now, "answered": False, "host": _HOST, "pid": os.getpid()}
            return record

        try:
            await self._records.update(_marker(key), take)
        except Exception:
            _log.warning("could not share an activity's delivery through the store", exc_info=True)
            return True
        return first

    async def answered(self, key: str) -> None:
        """The delivery's turn ended: later deliveries of it are dropped until the marker
        expires."""
        now = self._clock()
        try:
            await self._records.update(_marker(key), lambda _record: {"at": now, "answered": True})
        except Exception:
            _log.warning("could not mark an activity answered in the store", exc_info=True)

    def _free(self, record: dict[str, Any] | None, now: float) -> bool:
        """No live marker: none, an expired one, or one left unanswered past the lease."""
        at = record.get("at") if record is not None else None
        # A marker a little in the future is fresh: another process (or replica, its clock a
        # little ahead) took it after this one read the clock.
        if record is None or not isinstance(at, int | float) or now - at >= self._ttl_s:
            return True
        if record.get("answered") is not False:
            return False
        return now - at >= self._lease_s or _died_here(record)


def _died_here(record: dict[str, Any]) -> bool:
    """Whether the marker's process ran on this machine and is gone."""
    pid = record.get("pid")
    if record.get("host") != _HOST or not isinstance(pid, int) or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, and is another user's
        return False
    return False


def _marker(key: str) -> str:
    return f"delivered/{key}"
