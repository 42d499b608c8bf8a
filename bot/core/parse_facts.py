"""What the reader of a meet command reports: dates, clocks, lengths and where they were."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

# Half-open character range [start, end) in the normalised command text.
Span = tuple[int, int]

DateKind = Literal["absolute", "month_day", "weekday", "day_of_month"]
PartOfDay = Literal["morning", "afternoon", "evening", "night"]

# Words that introduce a length ("for 45 minutes", "pendant 30 minutes", "durante una hora").
DURATION_PREPOSITIONS = frozenset({"for", "lasting", "pendant", "durant", "durante", "por"})

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class ParseError:
    """Why a meet command could not be read: what was not understood, and an example that works."""

    message: str


@dataclass(frozen=True)
class Clock:
    """A time of day in 24-hour form; `note` says how an ambiguous hour was read, and
    `ambiguous` that a part of the day ("tomorrow morning") may still settle it."""

    hour: int
    minute: int
    note: str | None = None
    ambiguous: bool = False


@dataclass(frozen=True)
class RawClock:
    """A time of day as written: `ambiguous` when it had no am/pm and could be either."""

    hour: int
    minute: int
    ambiguous: bool


@dataclass(frozen=True)
class DateFact:
    """A day: a full date, a month and day, a weekday (0 = Monday) or a day of the month."""

    span: Span
    kind: DateKind
    year: int = 0
    month: int = 0
    day: int = 0


@dataclass(frozen=True)
class StartFact:
    span: Span
    clock: Clock


@dataclass(frozen=True)
class RangeFact:
    span: Span
    start: Clock
    end: Clock
    note: str | None = None


@dataclass(frozen=True)
class DurationFact:
    span: Span
    length: timedelta


@dataclass(frozen=True)
class OffsetFact:
    """A start relative to now: "now" (zero), "in 2 hours"."""

    span: Span
    offset: timedelta


@dataclass(frozen=True)
class PartFact:
    """A part of the day: the hour it means alone, or how it settles an hour without am/pm."""

    span: Span
    part: PartOfDay


@dataclass(frozen=True)
class VagueFact:
    """Words that say when without saying a time ("later today", "fin de journée")."""

    span: Span


Fact = DateFact | StartFact | RangeFact | DurationFact | OffsetFact | PartFact | VagueFact


@dataclass(frozen=True)
class Prepared:
    """The command after the first pass, ready for the reader.

    `text` is what the subject is cut from; `folded` has the same length, lower case without
    accents, with mentions, e-mail addresses and look-alikes that are not times ("1:1", "Q3")
    blanked out; `language` is the one the words are in (it decides "12/01": day first or not).
    """

    text: str
    folded: str
    language: str
    local_now: datetime
    removed: tuple[Span, ...]
    emails: tuple[str, ...]
    zone_names: tuple[tuple[Span, str], ...] = ()


def format_clock(hour: int, minute: int) -> str:
    suffix = "am" if hour < 12 else "pm"
    return f"{hour % 12 or 12}:{minute:02d} {suffix}"


def clock_label(hour: int, minute: int) -> str:
    """How an ambiguous clock was probably written: "3", "9:30", "12:30"."""
    hour12 = hour % 12 or 12
    return f"{hour12}:{minute:02d}" if minute else str(hour12)


def candidates(clock: RawClock) -> tuple[int, int]:
    """Both 24-hour readings of an ambiguous hour, earlier first."""
    return clock.hour % 12, clock.hour % 12 + 12


def working_hours(clock: RawClock) -> Clock:
    """Read an hour without am/pm as the working-hours one: 7 to 11 am, 12 noon, 1 to 6 pm."""
    if not clock.ambiguous:
        return Clock(clock.hour, clock.minute)
    hour12 = clock.hour % 12 or 12
    hour = hour12 if hour12 >= 7 else hour12 + 12
    note = f"{clock_label(hour, clock.minute)} read as {format_clock(hour, clock.minute)}"
    return Clock(hour, clock.minute, note, ambiguous=True)


def settle(hour: int, part: PartOfDay) -> int:
    """An hour without am/pm read in a part of the day ("8 du soir" is 20:00)."""
    hour12 = hour % 12
    if part == "morning":
        return hour12
    if part == "afternoon" or hour12:
        return hour12 + 12
    return 0  # twelve at night


def range_clocks(first: RawClock, last: RawClock) -> tuple[Clock, Clock, str | None]:
    """Read the two ends of a range, letting a written am/pm on one end settle the other."""
    if first.ambiguous and last.ambiguous:
        start = working_hours(first)
        later = [h for h in candidates(last) if (h, last.minute) > (start.hour, start.minute)]
        end_hour = later[0] if later else last.hour % 12
        start_label = clock_label(start.hour, start.minute)
        end_label = clock_label(end_hour, last.minute)
        note = (
            f"{start_label}–{end_label} read as "
            f"{format_clock(start.hour, start.minute)}–{format_clock(end_hour, last.minute)}"
        )
        return (
            Clock(start.hour, start.minute, ambiguous=True),
            Clock(end_hour, last.minute, ambiguous=True),
            note,
        )
    if first.ambiguous:
        earlier = [h for h in candidates(first) if (h, first.minute) < (last.hour, last.minute)]
        start_hour = earlier[-1] if earlier else working_hours(first).hour
        return Clock(start_hour, first.minute), Clock(last.hour, last.minute), None
    if last.ambiguous:
        later = [h for h in candidates(last) if (h, last.minute) > (first.hour, first.minute)]
        end_hour = later[0] if later else last.hour % 12
        return Clock(first.hour, first.minute), Clock(end_hour, last.minute), None
    return Clock(first.hour, first.minute), Clock(last.hour, last.minute), None


def invalid_date(month: int, day: int) -> ParseError | None:
    """Explain a month/day that no year has (February 30, April 31); None when some year has it."""
    if not 1 <= month <= 12:
        return ParseError(f"{month}/{day} is not a date: months go from 1 to 12 (month/day).")
    longest = calendar.monthrange(2024, month)[1]
    if 1 <= day <= longest:
        return None
    name = MONTH_NAMES[month - 1]
    return ParseError(
        f"“{name} {day}” is not a date: {name} has at most {longest} days. "
        f"Try e.g. ‘on {name} {longest} at 10am’."
    )


def valid_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def whole_minutes(seconds: float) -> timedelta:
    return timedelta(minutes=round(seconds / 60))


def describe_length(length: timedelta) -> str:
    minutes = round(length.total_seconds() / 60)
    if minutes > 24 * 60 and minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return f"{days} day" + ("s" if days != 1 else "")
    hours, rest = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour" + ("s" if hours != 1 else ""))
    if rest or not hours:
        parts.append(f"{rest} minute" + ("s" if rest != 1 else ""))
    return " ".join(parts)


def describe_date(day: date) -> str:
    return f"{day:%A} {day.day} {MONTH_NAMES[day.month - 1]} {day.year}"
