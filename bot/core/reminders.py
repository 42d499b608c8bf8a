"""Meeting reminders: the stored model, when one is due, and the reminder words of a command."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_REMINDER_MINUTES = 24 * 60
# Due reminders are indexed by the hour they fall in, so a poll lists an hour's keys, not every
# record.
BUCKET_S = 3600

State = Literal["pending", "sent", "dropped", "gone", "ended", "failed"]


class Claim(BaseModel):
    """A process holds the reminder until `until` (epoch seconds) while it sends it."""

    id: str
    until: float


class Reminder(BaseModel):
    """One meeting's reminder as stored: where to post it, what it says, and how far it got.

    `key` is the meeting's externalId; `address` the conversation reference (the Bot
    Connector's JSON) of the conversation where the meeting was made."""

    model_config = ConfigDict(extra="ignore")

    key: str
    address: dict[str, Any]
    subject: str
    join_url: str | None = None
    start: datetime
    end: datetime
    minutes: int = Field(ge=1, le=MAX_REMINDER_MINUTES)
    due: datetime
    state: State = "pending"
    claim: Claim | None = None
    attempts: int = 0
    # A failed send is tried again from this time (epoch seconds).
    retry_at: float | None = None
    sent_at: datetime | None = None
    # When the meeting was last asked for in its conversation (epoch seconds): a reminder
    # asked for after the bot was removed from there is sent (the bot was added back).
    asked_at: float | None = None

    def next_try(self) -> float:
        """When this reminder should next be looked at (epoch seconds)."""
        return max(self.due.timestamp(), self.retry_at or 0.0)

    def removed_since(self, gone: dict[str, Any] | None) -> bool:
        """Whether the bot was removed from the conversation (`gone`, the marker the first
        refused send left) after this reminder was asked for."""
        if gone is None:
            return False
        at = gone.get("at")
        if self.asked_at is None or not isinstance(at, int | float):
            return True
        return at >= self.asked_at


def due_time(start: datetime, minutes: int, made_at: datetime) -> datetime | None:
    """When to remind of a meeting starting at `start`, `minutes` ahead; None for no reminder
    (no lead time, or a meeting made less than its lead time ahead)."""
    if minutes <= 0:
        return None
    due = start - timedelta(minutes=minutes)
    return due if due >= made_at else None


def bucket_of(when: float) -> int:
    """The index bucket (hours since the epoch) a due time falls in."""
    return math.floor(when / BUCKET_S)


def starts_in_text(start: datetime, now: datetime) -> str:
    """ "Starts in 10 minutes", "Starts in 1 minute", "Starting now", "Started 4 minutes ago"."""
    minutes = round((start - now).total_seconds() / 60)
    if minutes == 0:
        return "Starting now"
    count = abs(minutes)
    unit = "minute" if count == 1 else "minutes"
    return f"Starts in {count} {unit}" if minutes > 0 else f"Started {count} {unit} ago"


def lead_text(minutes: int) -> str:
    """How far ahead, for `list` and the meeting card: "10 minutes", "1 hour"."""
    if minutes % 60 == 0:
        hours = minutes // 60
        return "1 hour" if hours == 1 else f"{hours} hours"
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def utc_now(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


_NUMBER = r"(\d{1,4})"
_UNIT = r"(min|mins|minute|minutes|minuto|minutos|h|hr|hrs|hour|hours|heure|heures|hora|horas)"
_LEAD = re.compile(
    r"(?:^|\s)(?:remind(?:\s+(?:me|us))?|reminder|rappel|rappelle(?:[- ]moi)?|recordatorio|"
    r"recu[eé]rdame)\s*:?\s*"
    rf"{_NUMBER}\s*{_UNIT}\.?"
    r"(?:\s+(?:before|ahead|early|avant|antes))?(?=\s|$|[,.;])",
    re.IGNORECASE,
)
_NONE = re.compile(
    r"(?:^|\s)(?:no\s+reminders?|without\s+(?:a\s+)?reminders?|don'?t\s+remind(?:\s+(?:me|us))?|"
    r"sans\s+rappel|pas\s+de\s+rappel|sin\s+recordatorio|no\s+recordar)(?=\s|$|[,.;])",
    re.IGNORECASE,
)
_HOURS = frozenset({"h", "hr", "hrs", "hour", "hours", "heure", "heures", "hora", "horas"})


def take_reminder(text: str) -> tuple[str, int | None]:
    """The command without its reminder words, and the lead time they ask for: minutes (0 for
    no reminder), or None when the command does not say (the default applies).

    `remind 5 min before`, `reminder 1 hour`, `no reminder`; `rappel 15 min avant`, `sans
    rappel`; `recordatorio 30 minutos antes`, `sin recordatorio`."""
    found = _NONE.search(text)
    if found is not None:
        return _without(text, found), 0
    found = _LEAD.search(text)
    if found is None:
        return text, None
    count = int(found.group(1))
    minutes = count * 60 if found.group(2).lower() in _HOURS else count
    return _without(text, found), max(0, min(minutes, MAX_REMINDER_MINUTES))


def _without(text: str, found: re.Match[str]) -> str:
    return " ".join(f"{text[: found.start()]} {text[found.end() :]}".split())
