"""Reads the text of a `meet` command into subject, start, end and invitees (pure, no I/O)."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from bot.core.parse_facts import (
    Clock,
    DateFact,
    DurationFact,
    Fact,
    OffsetFact,
    ParseError,
    PartFact,
    Prepared,
    RangeFact,
    Span,
    StartFact,
    VagueFact,
    describe_date,
    describe_length,
    format_clock,
    settle,
    valid_date,
)
from bot.core.parse_read import read
from bot.core.parse_words import (
    ACCENTLESS,
    FOREIGN_WORDS,
    LANGUAGE_NAMES,
    PART_HOURS,
    TIME_WORDS,
    guess_language,
    words,
)

__all__ = [
    "DEFAULT_LENGTH",
    "LATE_START_GRACE",
    "MAX_LENGTH",
    "MAX_TEXT_CHARS",
    "MIN_LENGTH",
    "ParseError",
    "ParsedMeeting",
    "Unsure",
    "parse_meeting",
]

MAX_TEXT_CHARS = 300
DEFAULT_LENGTH = timedelta(minutes=30)
MIN_LENGTH = timedelta(minutes=5)
MAX_LENGTH = timedelta(hours=24)
# "at 10" typed at 10:03 means this meeting, starting a little late, not tomorrow's.
LATE_START_GRACE = timedelta(minutes=5)

# Checked before any regex runs; mentions and addresses make the raw text longer than what is read.
_MAX_RAW_CHARS = 2000
# More numbers than any meeting needs: which one is the time is anyone's guess.
_MAX_NUMBERS = 12
_NO_TIME = Clock(9, 0, "no time given — 9:00 am assumed")
_EXAMPLE = "‘Design review tomorrow at 3pm for 45 minutes’"

_MENTION_TAG = re.compile(r"<at\b[^<>]{0,100}>[^<>]{0,200}</at\s*>", re.IGNORECASE)
_STRAY_TAG = re.compile(r"</?at\b[^<>]{0,100}>", re.IGNORECASE)
_EMAIL = re.compile(
    r"(?<![\w.%+-])[\w.%+-]{1,64}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})+", re.ASCII | re.IGNORECASE
)
# Look-alikes that readers must not take for times or dates; they stay in the subject.
_NOT_A_TIME = re.compile(
    r"(?<![\w:])\d{1,2}:\d(?![\d:])"  # "1:1", a score "10:2"
    r"|\b1\s?-?\s?on\s?-?\s?1\b"  # "1 on 1", "1-on-1"
    r"|\b(?:q[1-4]|h[12]|fy\s?\d{2}(?:\d{2})?)\b"  # quarters, halves, fiscal years
    r"|#\d+\b|(?<![\w/])(?:24/7|50/50)(?![\w/])"
)
# Zone abbreviations after a time; times are read in the user's zone, so one naming another zone
# must not be dropped silently.
_ZONE_NAME = re.compile(r"(?<![\w+-])(?:UTC|GMT|[ECMP][SD]T|CES?T|BST|IST|AE[SD]T)(?![\w+-])")
_ZONE_FAMILIES = (
    {"EST", "EDT"},
    {"CST", "CDT"},
    {"MST", "MDT"},
    {"PST", "PDT"},
    {"CET", "CEST"},
    {"GMT", "BST", "UTC"},
    {"AEST", "AEDT"},
)
_COLON_CLOCK = re.compile(r"(?<![\w:./])(\d{1,2}):(\d{2})(?![\d:])")
_MERIDIEM_CLOCK = re.compile(r"(?<![\w:.])(\d{1,2})(?::\d{2})?\s?[ap]\.?m\.?(?![a-z])")
_AT_HOUR = re.compile(r"\b(?:at|a|a\s+las?)\s+(\d{2})(?:\s?h)?(?![\w:/]|\.\d)")
_NUMBER = re.compile(r"\d+")
_LENGTH_JOINER = re.compile(r"[\s,]*(?:(?:and|et|y)[\s,]*)?")

_FILLER_WORDS = """
    at on for with from to and between by in until till starting lasting around approx approx.
    approximately circa & +
    a las la el los de del desde hasta con y para durante por en entre
    à le les du des dès avec et pour pendant durant dans vers jusqu'à jusqu’à d' d’ l' l’ au
    w/ del al este esta ce cet cette this next
"""
_FILLERS = frozenset(_FILLER_WORDS.split())
_PUNCTUATION = ",;:.!?¡¿-–—/|·•@~"
# What, left unread, means a time was said that the reader did not understand: a number
# that looks like a clock or a date, or one next to a word that makes it one.
_UNREAD_NUMBER = re.compile(
    r"(?P<before>(?<!\w)[a-z@'’]+\s+)?(?<![\w.:/])"
    r"(?P<n>\d{1,2}[:h]\d{2}|\d{1,2}h|\d{1,4}(?:/\d{1,2}){1,2}|\d{1,2}[.-]\d{1,2}[.-]\d{2,4}"
    r"|\d{1,4})(?![\w/:]|\.\d)"
    r"(?P<after>\s?(?:[ap]\.?m\b\.?|h\b|uhr|ore|uur|hrs?|hours?|heures?|horas?|mins?|minutes?"
    r"|minutos?|minuten|minuti|o'clock)\b)?"
)
_NUMBER_LEADS = words(
    """
        at @ las la um alle as om around vers hacia until till or ou o oder of before after
        avant apres antes despues hasta desde jusqu'a between entre des
        """
)
_UNIT_WORDS = words(
    """
        hour hours hr hrs minute minutes min mins heure heures hora horas minuto minutos
        """
)
_WORD_IN_REST = re.compile(r"[a-z]+(?:['’.-][a-z]+)*")

F = TypeVar("F", DateFact, StartFact, RangeFact, DurationFact, OffsetFact, PartFact)


@dataclass(frozen=True)
class ParsedMeeting:
    """A meet command understood: times are aware UTC at minute precision, `end` after `start`."""

    subject: str
    start: datetime
    end: datetime
    emails: tuple[str, ...]
    start_given: bool
    rolled_forward: bool
    assumed: str | None


@dataclass(frozen=True)
class Unsure:
    """The command says when in words the reader could not place, or in a language it does not
    read: ask, showing what was understood (`reading`, None when the rest makes no meeting)."""

    reason: str
    subject: str
    emails: tuple[str, ...]
    reading: ParsedMeeting | None


def parse_meeting(
    text: str,
    *,
    now: datetime,
    zone: ZoneInfo,
    culture: str = "en-us",
    mention_texts: Sequence[str] = (),
) -> ParsedMeeting | ParseError | Unsure:
    """Read a meet command in English, French or Spanish; times in the text are in `zone`,
    `now` is aware. `culture` (the client's locale) only breaks a tie between languages."""
    prepared = _prepare(text, now, zone, culture, mention_texts)
    if isinstance(prepared, ParseError):
        return prepared
    found = read(prepared)
    if isinstance(found, ParseError):
        return found
    facts, rest = found
    return _finish(prepared, facts, rest, now, zone)


def _normalise(text: str) -> str:
    """Drop control and format characters (NUL, bidi overrides, zero-width); collapse spaces."""
    kept = []
    for char in text:
        if char.isspace():
            kept.append(" ")
        elif unicodedata.category(char) not in ("Cc", "Cf", "Cs"):
            kept.append(char)
    return " ".join("".join(kept).split())


def _fold(text: str) -> str:
    """Lower case of the same length, so that readers' positions are positions in `text`."""
    return "".join(lower if len(lower := char.lower()) == 1 else " " for char in text)


def _blank(text: str, spans: Sequence[Span]) -> str:
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def _prepare(
    text: str, now: datetime, zone: ZoneInfo, culture: str, mention_texts: Sequence[str]
) -> Prepared | ParseError:
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if len(text) > _MAX_RAW_CHARS:
        return _too_long(len(text))
    text = _normalise(text)
    folded = _fold(text)
    removed = [m.span() for m in _MENTION_TAG.finditer(text)]
    for mention in filter(None, (_normalise(m) for m in mention_texts)):
        start = text.find(mention)
        while start >= 0:
            removed.append((start, start + len(mention)))
            start = text.find(mention, start + len(mention))
    folded = _blank(folded, removed)
    emails = [m for m in _EMAIL.finditer(folded)]
    removed += [m.span() for m in emails]
    folded = _blank(folded, [m.span() for m in emails])
    readable = len(" ".join(folded.split()))
    if readable > MAX_TEXT_CHARS:
        return _too_long(readable)

    language = guess_language(folded, culture)
    zone_names = tuple((m.span(), m.group()) for m in _ZONE_NAME.finditer(text))
    masks = [m.span() for m in _NOT_A_TIME.finditer(folded)] + [span for span, _ in zone_names]
    folded = _blank(folded, masks).translate(ACCENTLESS)
    error = _invalid_clock(folded, text)
    if error is not None:
        return error
    numbers = len(_NUMBER.findall(folded))
    if numbers > _MAX_NUMBERS:
        return ParseError(
            f"That has {numbers} numbers in it, too many to tell which is the time. "
            f"Keep to a subject, a time and a length, e.g. {_EXAMPLE}."
        )
    return Prepared(
        text=text,
        folded=folded,
        language=language,
        local_now=now.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0),
        removed=tuple(removed),
        emails=tuple(dict.fromkeys(m.group().lower() for m in emails)),
        zone_names=zone_names,
    )


def _too_long(count: int) -> ParseError:
    return ParseError(
        f"That is {count} characters; a meet command can have up to {MAX_TEXT_CHARS} "
        f"(besides mentions and e-mail addresses). Try e.g. {_EXAMPLE}."
    )


def _invalid_clock(folded: str, text: str) -> ParseError | None:
    for match in _COLON_CLOCK.finditer(folded):
        if int(match.group(1)) > 23 or int(match.group(2)) > 59:
            return ParseError(
                f"“{text[match.start() : match.end()]}” is not a time of day: hours go from 0 "
                "to 23 and minutes from 0 to 59. Try e.g. ‘tomorrow at 15:00’ or ‘tomorrow at 3pm’."
            )
    for match in _MERIDIEM_CLOCK.finditer(folded):
        if not 1 <= int(match.group(1)) <= 12:
            return ParseError(
                f"“{text[match.start() : match.end()]}” is not a time: with am or pm the hour goes "
                "from 1 to 12. Try e.g. ‘at 1pm’ or ‘at 13:00’."
            )
    for match in _AT_HOUR.finditer(folded):
        if int(match.group(1)) > 23:
            return ParseError(
                f"“{text[match.start() : match.end()]}” is not a time of day: hours go from 0 "
                "to 23. Try e.g. ‘at 3pm’ or ‘at 15:00’."
            )
    return None


@dataclass(frozen=True)
class _Plan:
    day: DateFact | None
    start: StartFact | None
    range: RangeFact | None
    length: DurationFact | None
    offset: OffsetFact | None


def _finish(
    prepared: Prepared,
    facts: Sequence[Fact],
    rest: str,
    now: datetime,
    zone: ZoneInfo,
) -> ParsedMeeting | ParseError | Unsure:
    zone_spans = [span for span, _ in prepared.zone_names]
    spans = [*prepared.removed, *zone_spans, *(f.span for f in facts)]
    subject = _subject(prepared.text, spans)
    plan = _combine(facts, prepared)
    doubt = _doubt(prepared, facts, rest)
    if isinstance(plan, _Doubt) or doubt is not None:
        reading = None
        if isinstance(plan, _Plan):
            scheduled = _schedule(plan, prepared, subject, now, zone)
            reading = scheduled if isinstance(scheduled, ParsedMeeting) else None
        reason = doubt if doubt is not None else plan.reason  # type: ignore[union-attr]
        return Unsure(reason, subject, prepared.emails, reading)
    if isinstance(plan, ParseError):
        return plan
    return _schedule(plan, prepared, subject, now, zone)


def _quote(prepared: Prepared, start: int, end: int) -> str:
    return prepared.text[start:end].strip(" ,;")


def _doubt(prepared: Prepared, facts: Sequence[Fact], rest: str) -> str | None:
    """Why the command cannot be booked as read: words of a language the reader does not read,
    a vague time, or what looks like a date, time or length left unread."""
    words = list(_WORD_IN_REST.finditer(rest))
    for word in words:
        language = FOREIGN_WORDS.get(word.group())
        if language is not None:
            return (
                f"This looks like {LANGUAGE_NAMES[language]}: I read meet commands in English, "
                "French and Spanish, so I couldn't tell when you mean."
            )
    for fact in facts:
        if isinstance(fact, VagueFact):
            written = _quote(prepared, *fact.span)
            return f"“{written}” doesn't say a time I can book."
    unread: list[str] = []
    for number in _UNREAD_NUMBER.finditer(rest):
        before = (number.group("before") or "").strip()
        shaped = not number.group("n").isdigit()
        if shaped or number.group("after") or before in _NUMBER_LEADS:
            start = number.start("before") if before in _NUMBER_LEADS else number.start("n")
            unread.append(_quote(prepared, start, number.end()))
    for word in words:
        text = word.group()
        if text in _UNIT_WORDS:
            continue  # a unit with no number before it ("meeting minutes") names something
        if text in TIME_WORDS:
            unread.append(_quote(prepared, *word.span()))
    if unread:
        quoted = " and ".join(f"“{piece}”" for piece in dict.fromkeys(unread))
        return f"I couldn't place {quoted}."
    return None


def _written(prepared: Prepared, fact: Fact) -> str:
    return prepared.text[fact.span[0] : fact.span[1]]


def _overlaps(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@dataclass(frozen=True)
class _Doubt:
    """Two readings of when: the command is asked about, not refused."""

    reason: str


def _one(facts: Sequence[F], what: str, prepared: Prepared) -> F | _Doubt | None:
    """The one fact of a kind; of two readings of the same words, the longer-reaching wins."""
    kept: list[F] = []
    for fact in sorted(facts, key=lambda f: (f.span[0], -f.span[1])):
        if kept and _overlaps(kept[-1].span, fact.span):
            if fact.span[1] > kept[-1].span[1]:
                kept[-1] = fact
        elif not any(_same(fact, other) for other in kept):
            kept.append(fact)
    if len(kept) > 1:
        first, second = _written(prepared, kept[0]), _written(prepared, kept[1])
        return _Doubt(f"I found two {what}, “{first}” and “{second}”.")
    return kept[0] if kept else None


def _same(a: Fact, b: Fact) -> bool:
    return dataclasses.replace(a, span=(0, 0)) == dataclasses.replace(b, span=(0, 0))


def _joined_lengths(facts: Sequence[DurationFact], folded: str) -> list[DurationFact]:
    """Add up lengths that were read apart, as in "2 hours and 30 minutes"."""
    joined: list[DurationFact] = []
    for fact in sorted(facts, key=lambda f: f.span):
        last = joined[-1] if joined else None
        if (
            last is not None
            and last.span[1] <= fact.span[0]
            and _LENGTH_JOINER.fullmatch(folded, last.span[1], fact.span[0])
        ):
            joined[-1] = DurationFact((last.span[0], fact.span[1]), last.length + fact.length)
        else:
            joined.append(fact)
    return joined


def _in_part(clock: Clock, part: PartFact | None) -> Clock:
    """An hour without am/pm settled by the part of the day said with it."""
    if part is None or not clock.ambiguous:
        return clock
    return Clock(settle(clock.hour, part.part), clock.minute)


def _combine(facts: Sequence[Fact], prepared: Prepared) -> _Plan | ParseError | _Doubt:
    ranges = [f for f in facts if isinstance(f, RangeFact)]
    starts = [
        f
        for f in facts
        if isinstance(f, StartFact) and not any(_overlaps(f.span, r.span) for r in ranges)
    ]
    day = _one([f for f in facts if isinstance(f, DateFact)], "dates", prepared)
    if isinstance(day, _Doubt):
        return day
    range_ = _one(ranges, "times", prepared)
    if isinstance(range_, _Doubt):
        return range_
    start = _one(starts, "times", prepared)
    if isinstance(start, _Doubt):
        return start
    lengths = _joined_lengths([f for f in facts if isinstance(f, DurationFact)], prepared.folded)
    length = _one(lengths, "lengths", prepared)
    if isinstance(length, _Doubt):
        return length
    offset = _one([f for f in facts if isinstance(f, OffsetFact)], "start times", prepared)
    if isinstance(offset, _Doubt):
        return offset
    part = _one([f for f in facts if isinstance(f, PartFact)], "parts of the day", prepared)
    if isinstance(part, _Doubt):
        return part
    if range_ is not None and start is not None:
        return _Doubt(
            f"I found two times, “{_written(prepared, start)}” and “{_written(prepared, range_)}”."
        )
    if range_ is not None and length is not None:
        return ParseError(
            f"“{_written(prepared, range_)}” and “{_written(prepared, length)}” both say how long "
            "the meeting is. Give a range or a length, not both, e.g. ‘from 2pm to 3pm’ or "
            "‘at 2pm for 45 minutes’."
        )
    timed = next((f for f in (day, start, range_, part) if f is not None), None)
    if offset is not None and timed is not None:
        return ParseError(
            f"“{_written(prepared, offset)}” already says when; it can't go with "
            f"“{_written(prepared, timed)}”. Give one, e.g. ‘in 2 hours’ or ‘tomorrow at 3pm’."
        )
    if start is not None:
        start = dataclasses.replace(start, clock=_in_part(start.clock, part))
    elif range_ is not None:
        range_ = dataclasses.replace(
            range_, start=_in_part(range_.start, part), end=_in_part(range_.end, part)
        )
        if part is not None and range_.start.ambiguous is False and range_.note:
            range_ = dataclasses.replace(range_, note=None)
    elif part is not None:
        hour = PART_HOURS[part.part]
        clock = Clock(hour, 0, f"no exact time given — {format_clock(hour, 0)} assumed")
        start = StartFact(part.span, clock)
    return _Plan(day, start, range_, length, offset)


def _utc(day: date, clock: Clock, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(clock.hour, clock.minute), tzinfo=zone).astimezone(UTC)


def _place(
    fact: DateFact | None, clock: Clock | None, prepared: Prepared, zone: ZoneInfo, now: datetime
) -> tuple[date, bool] | ParseError:
    """The day a start falls on, and whether it was moved on from the first reading."""
    today = prepared.local_now.date()

    def passed(day: date) -> bool:
        return clock is not None and _utc(day, clock, zone) < now - LATE_START_GRACE

    def passed_today() -> ParseError:
        assert clock is not None
        said = format_clock(clock.hour, clock.minute)
        return ParseError(
            f"{said} today has already passed (it is "
            f"{format_clock(prepared.local_now.hour, prepared.local_now.minute)} now). "
            f"Try ‘tomorrow at {said}’, or leave the time out to start now."
        )

    if fact is None:
        return (today + timedelta(days=1), True) if passed(today) else (today, False)
    if fact.kind == "absolute":
        day = date(fact.year, fact.month, fact.day)
        if day < today:
            return ParseError(
                f"{describe_date(day)} is in the past. Give a day from today on, "
                "e.g. ‘tomorrow at 10am’."
            )
        return passed_today() if day == today and passed(day) else (day, False)
    if fact.kind == "weekday":
        # Today's weekday with no time, or a time already past, is next week's.
        day = today + timedelta(days=(fact.day - today.weekday()) % 7)
        if day == today and (clock is None or passed(day)):
            return day + timedelta(days=7), True
        return day, False
    if fact.kind == "month_day":
        candidates = (valid_date(today.year + n, fact.month, fact.day) for n in range(9))
    else:
        candidates = (
            valid_date(
                today.year + (today.month - 1 + n) // 12, (today.month - 1 + n) % 12 + 1, fact.day
            )
            for n in range(13)
        )
    day = next(d for d in candidates if d is not None and d >= today)
    if day == today and passed(day):
        return passed_today()
    moved = (day.year, day.month) != (today.year, today.month) and (
        fact.kind == "day_of_month" or day.year != today.year
    )
    return day, moved


def _clock_change_notes(day: date, clock: Clock, start: datetime, zone: ZoneInfo) -> list[str]:
    said = format_clock(clock.hour, clock.minute)
    shown = start.astimezone(zone)
    if (shown.hour, shown.minute) != (clock.hour, clock.minute):
        return [
            f"{said} does not exist on {describe_date(day)} (the clocks go forward); "
            f"read as {format_clock(shown.hour, shown.minute)}"
        ]
    local = datetime.combine(day, time(clock.hour, clock.minute), tzinfo=zone)
    if local.utcoffset() != local.replace(fold=1).utcoffset():
        return [
            f"{said} happens twice on {describe_date(day)} (the clocks go back); the first is used"
        ]
    return []


def _other_zone(prepared: Prepared, start: datetime, zone: ZoneInfo) -> ParseError | None:
    here = start.astimezone(zone).tzname() or ""
    for _, name in prepared.zone_names:
        if name != here and not any({name, here} <= family for family in _ZONE_FAMILIES):
            return ParseError(
                f"“{name}” is not your time zone: I read times in {zone.key} ({here} on that "
                "day). Give the time as it is for you, e.g. ‘at 3pm’."
            )
    return None


def _schedule(
    plan: _Plan, prepared: Prepared, subject: str, now: datetime, zone: ZoneInfo
) -> ParsedMeeting | ParseError:
    now = now.astimezone(UTC).replace(second=0, microsecond=0)
    notes: list[str] = []
    rolled = False
    start_given = True
    clock = plan.range.start if plan.range else plan.start.clock if plan.start else None
    day = prepared.local_now.date()
    if plan.offset is not None:
        start = now + plan.offset.offset
    elif clock is None and plan.day is None:
        start, start_given = now, False
    else:
        placed = _place(plan.day, clock, prepared, zone, now)
        if isinstance(placed, ParseError):
            return placed
        day, rolled = placed
        if clock is None and day == prepared.local_now.date():
            start, start_given = now, False
        else:
            clock = clock or _NO_TIME
            start = _utc(day, clock, zone)
            notes += [n for n in (clock.note, plan.range.note if plan.range else None) if n]
            notes += _clock_change_notes(day, clock, start, zone)
            error = _other_zone(prepared, start, zone)
            if error is not None:
                return error
    start = start.replace(second=0, microsecond=0)

    if plan.range is not None:
        end_clock = plan.range.end
        end_day = day + timedelta(days=1) if (end_clock.hour, end_clock.minute) == (0, 0) else day
        end = _utc(end_day, end_clock, zone)
        if end <= start:
            return ParseError(
                f"“{_written(prepared, plan.range)}” ends before it starts "
                f"({format_clock(clock.hour, clock.minute) if clock else ''} → "
                f"{format_clock(end_clock.hour, end_clock.minute)}). "
                "Put the earlier time first, e.g. ‘from 2pm to 3pm’."
            )
    else:
        end = start + (plan.length.length if plan.length else DEFAULT_LENGTH)
    length = end - start
    if length < MIN_LENGTH:
        return ParseError(
            f"{describe_length(length)} is too short: a meeting lasts at least "
            f"{describe_length(MIN_LENGTH)}. Try e.g. ‘for 15 minutes’."
        )
    if length > MAX_LENGTH:
        return ParseError(
            f"{describe_length(length)} is too long: a meeting lasts at most "
            f"{describe_length(MAX_LENGTH)}. Try e.g. ‘for 2 hours’."
        )
    return ParsedMeeting(
        subject=subject,
        start=start,
        end=end,
        emails=prepared.emails,
        start_given=start_given,
        rolled_forward=rolled,
        assumed="; ".join(notes) or None,
    )


def _trim_end(piece: str) -> str:
    while True:
        piece = piece.rstrip().rstrip(_PUNCTUATION).rstrip()
        head, _, last = piece.rpartition(" ")
        if not last or last.lower() not in _FILLERS:
            return piece
        piece = head


def _trim_start(piece: str) -> str:
    while True:
        piece = piece.lstrip().lstrip(_PUNCTUATION).lstrip()
        first, _, tail = piece.partition(" ")
        if not first or first.lower() not in _FILLERS:
            return piece
        piece = tail


def _subject(text: str, spans: Sequence[Span]) -> str:
    """What is left once times, lengths, mentions, addresses and the words tying them in go."""
    pieces: list[str] = []
    cursor = 0
    for start, end in sorted(spans):
        if start > cursor:
            piece = text[cursor:start]
            pieces.append(_trim_end(piece.lstrip().lstrip(_PUNCTUATION) if cursor else piece))
        cursor = max(cursor, end)
    pieces.append(text[cursor:].lstrip().lstrip(_PUNCTUATION) if cursor else text[cursor:])
    subject = " ".join(p.strip() for p in pieces if p.strip())
    while (untagged := _STRAY_TAG.sub("", subject)) != subject:
        subject = untagged
    subject = _trim_end(_trim_start(" ".join(subject.split())))
    return subject or "Meeting"
