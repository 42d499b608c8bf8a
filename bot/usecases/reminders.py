"""Reminders before meetings: kept in the store, indexed by hour, each sent by one process."""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import json
import logging
import math
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import suppress
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from bot.core.ports import ConversationGone, JsonObject, Message, Proactive, RecordStore
from bot.core.reminders import (
    MAX_REMINDER_MINUTES,
    Claim,
    Reminder,
    State,
    bucket_of,
    due_time,
    utc_now,
)
from bot.core.request import conversation_root
from cards.reminder import reminder_card

_log = logging.getLogger(__name__)

# How long a claim on a reminder holds: longer than a send may take (the channel client's
# three attempts of 10 s), so a live sender is never overtaken and a dead one is after this.
REMINDER_LEASE_S = 60.0
# How often each process reads the index for reminders other processes scheduled.
POLL_S = 30.0
# A start-up looks this far back for reminders due while no process ran.
CATCH_UP_S = 24 * 3600.0
# A send that failed (not 403/404) is tried again after these delays, then given up.
RETRY_DELAYS_S = (30.0, 60.0, 120.0, 300.0, 600.0)
# Keys this process finished, so a poll does not read their records again; bounded.
_FINISHED_KEPT = 10_000


def reminder_key(meeting_key: str) -> str:
    return f"reminder/{meeting_key}"


def bucket_prefix(bucket: int) -> str:
    """Where the index keeps the reminders due in one hour: one small record each, listed by
    key (a busy hour is many records, never one record that grows with every meeting)."""
    return f"reminders-due/{bucket}/"


def index_key(meeting_key: str, at: float) -> str:
    # Ten digits of epoch seconds sort as numbers do (until 2286).
    return f"{bucket_prefix(bucket_of(at))}{int(at):010d}/{meeting_key}"


def _last_polled_bucket(now: float) -> int:
    """Every poll reads the index up to the end of the next hour."""
    return bucket_of(now) + 1


def gone_key(address: JsonObject) -> str:
    conversation = address.get("conversation")
    conversation_id = conversation.get("id") if isinstance(conversation, dict) else None
    parts = [address.get("channelId"), conversation_root(str(conversation_id or ""))]
    return "reminders-gone/" + hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:40]


class Reminders:
    """Posts a reminder in a meeting's conversation `minutes` before it starts, once.

    Each reminder is a record (`reminder/<meeting key>`, the meeting's externalId) and an empty
    index record named after the hour and second it is due (`reminders-due/<hour>/<due>/<key>`),
    so a poll lists the keys of this hour and the next, never reads every record. Every
    process sharing the store keeps the reminders due by the end of the next hour in a heap
    (polls bring in the later ones as their hour comes) and sleeps until the next one is due
    (or the next poll); at that time it claims the reminder for `REMINDER_LEASE_S` with an
    atomic update of its record, so of several processes exactly one sends it. A process
    that dies mid-send leaves a claim that lapses; the others, who know the reminder too, take
    it over. If that process died after the channel took the message but before the record
    said so, the reminder is sent again: at least once, and once in every other case.
    """

    def __init__(
        self,
        records: RecordStore,
        sender: Proactive,
        *,
        default_minutes: int,
        clock: Callable[[], float] = time.time,
        lease_s: float = REMINDER_LEASE_S,
        poll_s: float = POLL_S,
        catch_up_s: float = CATCH_UP_S,
    ) -> None:
        self._records = records
        self._sender = sender
        self._default = default_minutes
        self._clock = clock
        self._lease_s = lease_s
        self._poll_s = poll_s
        self._catch_up_s = catch_up_s
        self._heap: list[tuple[float, str]] = []
        self._known: dict[str, float] = {}
        self._finished: dict[str, None] = {}
        self._next_poll = -math.inf
        self._polled_once = False
        self._wake = asyncio.Event()
        self._stopped = False

    @property
    def waiting(self) -> int:
        """How many reminders this process holds in memory, to send when they fall due."""
        return len(self._known)

    @property
    def default_minutes(self) -> int:
        return self._default

    def minutes_for(self, asked: int | None) -> int:
        """The lead time of a meeting: what its request asked for, else the default."""
        return self._default if asked is None else max(0, min(asked, MAX_REMINDER_MINUTES))

    # -- the API of the meeting use cases (make, reschedule, cancel, list) -------------------

    async def schedule(
        self,
        meeting_key: str,
        address: JsonObject,
        *,
        subject: str,
        join_url: str | None,
        start: datetime,
        end: datetime,
        minutes: int | None,
    ) -> Reminder | None:
        """Remind the conversation at `address` of this meeting; the reminder as stored, or None
        when there is none (no lead time, or made less than the lead time ahead).

        Idempotent: asking again for the same meeting at the same time and lead time keeps
        the reminder as it is, sent or not (only noting when it was asked for); another lead
        time replaces it."""
        lead = self.minutes_for(minutes)
        now = self._clock()
        due = due_time(start, lead, utc_now(now))
        fresh = (
            None
            if due is None
            else Reminder(
                key=meeting_key,
                address=address,
                subject=subject,
                join_url=join_url,
                start=start,
                end=end,
                minutes=lead,
                due=due,
                asked_at=now,
            )
        )
        kept: Reminder | None = None
        old_due: datetime | None = None

        def change(record: JsonObject | None) -> JsonObject:
            nonlocal kept, old_due
            old = _read(record)
            old_due = old.due if old is not None and old.state == "pending" else None
            if old is not None and old.start == start and old.minutes == lead:
                kept = old.model_copy(update={"asked_at": now})
                return kept.model_dump(mode="json")
            if fresh is None:
                kept = None
                return (
                    old.model_copy(update={"state": "dropped"}).model_dump(mode="json")
                    if (old is not None)
                    else {"state": "none"}
                )
            kept = fresh
            return fresh.model_dump(mode="json")

        await self._records.update(reminder_key(meeting_key), change)
        if old_due is not None and (kept is None or kept.due != old_due):
            await self._unindex(meeting_key, old_due)
        if kept is not None and kept.state == "pending":
            await self._index(meeting_key, kept.due)
            self._remember_soon(meeting_key, kept.next_try())
        return kept

    async def move(self, meeting_key: str, start: datetime, end: datetime) -> Reminder | None:
        """The meeting was rescheduled: remind at its new time, with the same lead time (again
        if the old reminder went out already). None when it has no reminder, or the new time
        is less than the lead time ahead (the reminder is then dropped)."""
        now = utc_now(self._clock())
        moved: Reminder | None = None
        old_due: datetime | None = None

        def change(record: JsonObject | None) -> JsonObject:
            nonlocal moved, old_due
            old = _read(record)
            if old is None or old.state in ("gone",):
                moved = None
                return record or {"state": "none"}
            old_due = old.due if old.state == "pending" else None
            due = due_time(start, old.minutes, now)
            update: dict[str, Any] = {"start": start, "end": end}
            if due is None:
                moved = None
                update["state"] = "dropped"
            else:
                update.update(
                    due=due, state="pending", claim=None, attempts=0, retry_at=None, sent_at=None
                )
            new = old.model_copy(update=update)
            moved = new if due is not None else None
            return new.model_dump(mode="json")

        await self._records.update(reminder_key(meeting_key), change)
        if old_due is not None and (moved is None or moved.due != old_due):
            await self._unindex(meeting_key, old_due)
        if moved is not None:
            await self._index(meeting_key, moved.due)
            self._remember_soon(meeting_key, moved.next_try())
        return moved

    async def drop(self, meeting_key: str) -> bool:
        """The meeting was cancelled: its reminder is not sent. True if one was waiting."""
        old_due: datetime | None = None

        def change(record: JsonObject | None) -> JsonObject:
            nonlocal old_due
            old = _read(record)
            if old is None or old.state != "pending":
                return record or {"state": "none"}
            old_due = old.due
            return old.model_copy(update={"state": "dropped", "claim": None}).model_dump(
                mode="json"
            )

        await self._records.update(reminder_key(meeting_key), change)
        self._known.pop(meeting_key, None)
        if old_due is None:
            return False
        await self._unindex(meeting_key, old_due)
        return True

    async def of(self, meeting_keys: Iterable[str]) -> dict[str, Reminder]:
        """The reminders of these meetings that have one (for `list`)."""
        keys = list(dict.fromkeys(meeting_keys))
        found = await asyncio.gather(*(self._records.get(reminder_key(key)) for key in keys))
        reminders = {}
        for key, (record, _etag) in zip(keys, found, strict=True):
            reminder = _read(record)
            if reminder is not None:
                reminders[key] = reminder
        return reminders

    # -- the timer -------------------------------------------------------------------------

    async def run(self) -> None:
        """Send reminders as they fall due, until `stop`. Sleeps in between (no CPU when idle)."""
        while not self._stopped:
            self._wake.clear()
            try:
                wait = await self.tick()
            except Exception as error:
                _log.warning("reminders: a round failed (%s)", type(error).__name__)
                wait = self._poll_s
            if self._stopped:
                break
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(wait, 0.0))

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    async def tick(self) -> float:
        """Read the index if a poll is due, send what is due now; seconds until the next round."""
        now = self._clock()
        if now >= self._next_poll:
            await self._poll(now)
            self._next_poll = now + self._poll_s
        while self._heap and self._heap[0][0] <= now and not self._stopped:
            at, key = heapq.heappop(self._heap)
            if self._known.get(key) != at:
                continue  # superseded by a later entry for the same reminder
            del self._known[key]
            try:
                await self._deliver(key)
            except Exception as error:
                # The store failed: look again at the next poll.
                _log.warning("reminders: could not handle a reminder (%s)", type(error).__name__)
                self._remember(key, now + self._poll_s)
        upcoming = self._heap[0][0] if self._heap else math.inf
        return max(0.0, min(upcoming, self._next_poll) - self._clock())

    def _remember(self, key: str, at: float) -> None:
        self._finished.pop(key, None)
        if self._known.get(key) == at:
            return
        self._known[key] = at
        heapq.heappush(self._heap, (at, key))
        self._wake.set()

    def _remember_soon(self, key: str, at: float) -> None:
        """Keep a reminder in memory only if it falls due where every poll looks (by the end of
        the next hour); a later poll finds the others in the index. So a process holds the next
        hours' reminders, never every upcoming one."""
        if bucket_of(at) <= _last_polled_bucket(self._clock()):
            self._remember(key, at)
            return
        self._known.pop(key, None)  # an earlier, nearer entry is skipped when it comes up
        self._finished.pop(key, None)  # and polls look at it again

    def _finish(self, key: str) -> None:
        self._known.pop(key, None)
        self._finished[key] = None
        if len(self._finished) > _FINISHED_KEPT:
            del self._finished[next(iter(self._finished))]

    async def _poll(self, now: float) -> None:
        first = bucket_of(now if self._polled_once else now - self._catch_up_s)
        buckets = range(first, _last_polled_bucket(now) + 1)
        found = await asyncio.gather(
            *(self._records.keys(bucket_prefix(b)) for b in buckets), return_exceptions=True
        )
        failed = [result for result in found if isinstance(result, BaseException)]
        if failed:
            _log.warning("reminders: could not read the index (%s)", type(failed[0]).__name__)
            return
        self._polled_once = True
        for bucket, keys in zip(buckets, found, strict=True):
            assert not isinstance(keys, BaseException)
            for entry in keys:
                at_text, _, key = entry.removeprefix(bucket_prefix(bucket)).partition("/")
                if not at_text.isdigit() or not key or key in self._finished:
                    continue
                at = float(at_text)
                if key not in self._known or at < self._known[key]:
                    self._remember(key, at)

    async def _index(self, meeting_key: str, due: datetime) -> None:
        await self._records.put(index_key(meeting_key, due.timestamp()), {})

    async def _unindex(self, meeting_key: str, due: datetime) -> None:
        try:
            await self._records.delete(index_key(meeting_key, due.timestamp()))
        except Exception as error:
            # A stale entry costs one read of the record, which says it is done.
            _log.info("reminders: an index entry was left behind (%s)", type(error).__name__)

    async def _deliver(self, key: str) -> None:
        record, _etag = await self._records.get(reminder_key(key))
        reminder = _read(record)
        if reminder is None or reminder.state != "pending":
            self._finish(key)
            return
        gone, _ = await self._records.get(gone_key(reminder.address))
        now = self._clock()
        # Decided and written in one atomic update, so of several processes one claims it.
        decided: tuple[str, Reminder | None, float] = ("finished", None, 0.0)

        def take(record: JsonObject | None) -> JsonObject:
            nonlocal decided
            current = _read(record)
            if current is None or current.state != "pending":
                decided = ("finished", None, 0.0)
                return record or {"state": "none"}
            if current.next_try() > now:
                decided = ("later", None, current.next_try())
                return record or {}
            if current.claim is not None and current.claim.until > now:
                decided = ("later", None, current.claim.until)
                return record or {}
            if current.end.timestamp() <= now or current.removed_since(gone):
                state: State = "ended" if current.end.timestamp() <= now else "gone"
                decided = (state, current, 0.0)
                return current.model_copy(update={"state": state}).model_dump(mode="json")
            claim = Claim(id=uuid.uuid4().hex, until=now + self._lease_s)
            claimed = current.model_copy(update={"claim": claim})
            decided = ("send", claimed, 0.0)
            return claimed.model_dump(mode="json")

        await self._records.update(reminder_key(key), take)
        what, taken, at = decided
        if what == "later":
            self._remember_soon(key, at)
        elif what == "send" and taken is not None:
            await self._send(key, taken)
        else:
            if what == "ended":
                _log.info("reminders: not sent, its meeting had ended (meeting %s)", key)
            elif what == "gone":
                _log.info("reminders: dropped, the bot was removed from its conversation (%s)", key)
            self._finish(key)
            if taken is not None:
                await self._unindex(key, taken.due)

    async def _send(self, key: str, claimed: Reminder) -> None:
        now = self._clock()
        card = reminder_card(claimed.subject, claimed.start, utc_now(now), claimed.join_url)
        try:
            await self._sender.send(claimed.address, Message.of_card(card))
        except ConversationGone as error:
            _log.info(
                "reminders: the channel answered HTTP %s: the bot was removed from the "
                "conversation; its reminders are dropped (meeting %s)",
                error.status,
                key,
            )
            with suppress(Exception):
                await self._records.put(gone_key(claimed.address), {"at": now})
            await self._finish_claim(key, claimed, {"state": "gone"})
            return
        except Exception as error:
            attempts = claimed.attempts + 1
            if attempts > len(RETRY_DELAYS_S):
                _log.warning(
                    "reminders: gave up after %d failed sends (%s; meeting %s)",
                    attempts,
                    type(error).__name__,
                    key,
                )
                await self._finish_claim(key, claimed, {"state": "failed", "attempts": attempts})
                return
            retry_at = now + RETRY_DELAYS_S[attempts - 1]
            _log.warning(
                "reminders: a send failed (%s); trying again in %g s (meeting %s)",
                type(error).__name__,
                retry_at - now,
                key,
            )
            await self._finish_claim(key, claimed, {"attempts": attempts, "retry_at": retry_at})
            self._remember(key, retry_at)
            return
        _log.info("reminders: sent (meeting %s)", key)
        await self._finish_claim(key, claimed, {"state": "sent", "sent_at": utc_now(now)})

    async def _finish_claim(self, key: str, claimed: Reminder, update: dict[str, Any]) -> None:
        """Record how the send went, unless the reminder changed meanwhile (moved, dropped, or
        its claim taken over after the lease)."""
        assert claimed.claim is not None
        claim_id = claimed.claim.id
        ours = False

        def settle(record: JsonObject | None) -> JsonObject:
            nonlocal ours
            current = _read(record)
            ours = (
                current is not None and current.claim is not None and (current.claim.id == claim_id)
            )
            if current is None or not ours:
                return record or {"state": "none"}
            return current.model_copy(update={**update, "claim": None}).model_dump(mode="json")

        try:
            await self._records.update(reminder_key(key), settle)
        except Exception as error:
            # The claim lapses; another process may send it again after the lease.
            _log.warning("reminders: could not record a send (%s)", type(error).__name__)
            return
        if not ours:
            _log.info("reminders: changed while it was sent; left as it is (%s)", key)
            self._remember(key, self._clock())
            return
        if update.get("state") in ("sent", "gone", "failed"):
            self._finish(key)
            await self._unindex(key, claimed.due)


def _read(record: JsonObject | None) -> Reminder | None:
    if record is None or "key" not in record:
        return None
    try:
        return Reminder.model_validate(record)
    except ValidationError:
        _log.warning("reminders: an unreadable reminder record was ignored")
        return None
