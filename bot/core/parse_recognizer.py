"""The general reader: Microsoft Recognizers Text date-time models, their timexes made facts."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from recognizers_date_time import DateTimeRecognizer  # type: ignore[import-untyped]

from bot.core.parse_facts import (
    DURATION_PREPOSITIONS,
    SUPPORTED_CULTURES,
    Clock,
    DateFact,
    DurationFact,
    Fact,
    OffsetFact,
    ParseError,
    Prepared,
    RangeFact,
    RawClock,
    Span,
    StartFact,
    format_clock,
    invalid_date,
    range_clocks,
    valid_date,
    whole_minutes,
    working_hours,
)

# One phrase per culture touching dates, clocks, ranges, offsets and lengths, so that the regexes
# the models compile on first use are compiled at start-up rather than on a user's command.
_WARM_UP_PHRASES = {
    "en-us": "Design review tomorrow at 3pm for 45 minutes, standup next monday 9:30, budget on "
    "Dec 3 from 2pm to 3:30pm, retro in 2 hours for an hour, demo 12/15 at 11am, noon, now, 2 k",
    "es-es": "Revisión mañana a las 3pm durante 45 minutos, reunión el lunes a las 10, hoy de "
    "14:00 a 15:30, demo en 2 horas durante una hora, el 3 de diciembre, mediodía, ahora, 2 k",
    "fr-fr": "Réunion demain à 15h pendant 45 minutes, point lundi à 10h, de 14h à 15h30, démo "
    "dans 2 heures pendant une heure, le 3 décembre, midi, maintenant, 2 k",
}

_TIMEX_DATE = re.compile(r"(?P<y>\d{4}|XXXX)-(?:(?P<mo>\d{2}|XX)-(?P<d>\d{2})|WXX-(?P<wd>[1-7]))")
_TIMEX_TIME = re.compile(r"(?P<h>\d{2})(?::(?P<mi>\d{2}))?(?::(?P<s>\d{2}))?")
_TIMEX_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
_PARTS_OF_DAY = {"MO": 9, "AF": 14, "EV": 17, "NI": 20}
# A written 24-hour clock the recognizer still offers both readings of: "09:30", "9h30", "15h".
_LOOKS_24_HOUR = re.compile(r"(?<!\d)0\d[:.h]?[0-5]\d|\d\s?h(?:[0-5]\d)?(?![a-z])")
_SPAN_OF_DAYS = re.compile(
    r"\b(?:week|weekend|month|year|semana|mes|año|semaine|mois|année|an)s?\b"
)
_DURATION_WORD = re.compile(r"\b(?:" + "|".join(sorted(DURATION_PREPOSITIONS)) + r")\b")
_WORD_BEFORE = re.compile(r"(\w+)\s*$")
_APPROXIMATELY = re.compile(r"(?:around|about|approximately|approx\.?|circa|vers|hacia|sobre)\s+")
_REPEATING = re.compile(r"\b(?:every|each|cada|todos|todas|chaque|tous|toutes)\b")


@dataclass(frozen=True)
class _Entity:
    span: Span
    text: str
    kind: str
    values: tuple[Mapping[str, str], ...]


@functools.cache
def _model(culture: str) -> Any:
    return DateTimeRecognizer(culture).get_datetime_model(culture)


def warm_up(cultures: Iterable[str] = SUPPORTED_CULTURES) -> None:
    """Build the models and run each once: first use compiles hundreds of regexes (0.3 to 2 s)."""
    for culture in cultures:
        _model(culture).parse(_WARM_UP_PHRASES[culture], datetime(2026, 1, 5, 9, 0))


def _entities(model: Any, text: str, offset: int, reference: datetime) -> Iterator[_Entity]:
    # Leading blanks shift the positions the recognizer reports, so leave them out.
    stripped = text.lstrip()
    offset += len(text) - len(stripped)
    for result in model.parse(stripped.rstrip(), reference):
        resolution = result.resolution or {}
        values = tuple(v for v in resolution.get("values") or () if isinstance(v, Mapping))
        start = offset + result.start
        yield _Entity(
            (start, start + len(result.text)), result.text, result.type_name.split(".")[-1], values
        )


def _recognize(prepared: Prepared) -> list[_Entity]:
    model = _model(prepared.culture)
    found: list[_Entity] = []
    for entity in _entities(model, prepared.folded, 0, prepared.local_now):
        approximate = _APPROXIMATELY.match(entity.text)
        if approximate is not None and not entity.values:
            # "around 3pm" comes back unresolved; "3pm" alone does not.
            start = entity.span[0] + approximate.end()
            text = prepared.folded[start : entity.span[1]]
            found.extend(_entities(model, text, start, prepared.local_now))
            continue
        inner = _DURATION_WORD.search(entity.text, 1)
        if entity.kind == "duration" or inner is None:
            found.append(entity)
            continue
        # The Spanish model swallows "durante 30 minutos" into the date-time before it; read the
        # two halves on their own so the length is not lost.
        cut = entity.span[0] + inner.start()
        for start, end in ((entity.span[0], cut), (cut, entity.span[1])):
            found.extend(_entities(model, prepared.folded[start:end], start, prepared.local_now))
    return found


def read_recognized(prepared: Prepared) -> tuple[Fact, ...] | ParseError:
    """Read the command with the recognizer model of its culture."""
    try:
        entities = _recognize(prepared)
    except Exception:  # the recognizer can raise on odd input; that input is simply unreadable
        return ParseError(
            "I couldn't read a date or time in that. "
            "Try e.g. ‘Design review tomorrow at 3pm for 45 minutes’."
        )
    facts: list[Fact] = []
    for entity in entities:
        if prepared.folded[entity.span[0] : entity.span[1]] != entity.text:
            continue  # misplaced by the recognizer; its words stay in the subject instead
        found = _facts(entity, prepared)
        if isinstance(found, ParseError):
            return found
        facts.extend(found)
    return tuple(facts)


def _unreadable(entity: _Entity, prepared: Prepared) -> ParseError:
    written = prepared.text[entity.span[0] : entity.span[1]]
    return ParseError(
        f"I couldn't work out the time in “{written}”. "
        "Try writing it like ‘tomorrow from 9am to 5pm’ or ‘friday at 10am for 1 hour’."
    )


def _facts(entity: _Entity, prepared: Prepared) -> list[Fact] | ParseError:
    kind = entity.kind
    if kind == "duration":
        return _duration(entity, prepared)
    if kind == "daterange":
        if _SPAN_OF_DAYS.search(entity.text):
            written = prepared.text[entity.span[0] : entity.span[1]]
            return ParseError(
                f"“{written}” is a span of days, not a time. "
                "Say a day and a time, e.g. ‘next monday at 10am’."
            )
        return []  # a month, season or quarter name: part of the subject ("March numbers", "Q3")
    if kind == "set":
        if _REPEATING.search(entity.text):
            written = prepared.text[entity.span[0] : entity.span[1]]
            return ParseError(
                f"“{written}” repeats; I book one meeting at a time. "
                "Say one day and time, e.g. ‘monday at 10am’."
            )
        return []  # "weekly planning", "daily standup": part of the subject
    if kind not in ("date", "time", "datetime", "timerange", "datetimerange"):
        return []  # recurrences ("weekly") and anything newer stay in the subject
    timexes = list(dict.fromkeys(v.get("timex", "") for v in entity.values))
    if not timexes or not timexes[0]:
        return _invalid_date(entity) or _unreadable(entity, prepared)
    first = timexes[0]
    if "start" not in entity.values[0] and "end" in entity.values[0]:
        written = prepared.text[entity.span[0] : entity.span[1]]
        return ParseError(
            f"“{written}” says only when it ends. Say when it starts, e.g. ‘from 3pm to 5pm’ "
            "or ‘at 3pm for 2 hours’."
        )
    if first == "PRESENT_REF":
        return [OffsetFact(entity.span, timedelta(0))]
    ambiguous = _has_twelve_hour_twin(first, timexes[1:]) and not _LOOKS_24_HOUR.search(entity.text)
    if first.startswith("("):
        return _range(entity, first, ambiguous, prepared)
    return _point(entity, first, ambiguous, prepared)


def _duration(entity: _Entity, prepared: Prepared) -> list[Fact] | ParseError:
    before = _WORD_BEFORE.search(prepared.folded, 0, entity.span[0])
    introduced = before is not None and before.group(1) in DURATION_PREPOSITIONS
    # "Half day workshop" names the meeting; "2 hours" or "for half a day" says how long it is.
    if not (entity.text[:1].isdigit() or introduced):
        return []
    try:
        seconds = float(entity.values[0]["value"])
    except (IndexError, KeyError, ValueError):
        return _unreadable(entity, prepared)
    return [DurationFact(entity.span, whole_minutes(seconds))]


def _invalid_date(entity: _Entity) -> ParseError | None:
    timex = entity.values[0].get("timex", "") if entity.values else ""
    match = _TIMEX_DATE.match(timex)
    if match is None or match.group("mo") in (None, "XX"):
        return None
    return invalid_date(int(match.group("mo")), int(match.group("d")))


def _split(timex: str) -> tuple[str, str]:
    date_part, _, time_part = timex.partition("T")
    return date_part, time_part


def _time_of(timex: str) -> tuple[int, int] | None:
    match = _TIMEX_TIME.fullmatch(_split(timex)[1])
    return (int(match.group("h")), int(match.group("mi") or 0)) if match else None


def _has_twelve_hour_twin(first: str, others: list[str]) -> bool:
    """Whether the recognizer offered the same clock twelve hours apart (no am/pm was written)."""
    head = first.strip("()").split(",")[0]
    mine = _time_of(head)
    if mine is None:
        return False
    for other in others:
        theirs = _time_of(other.strip("()").split(",")[0])
        if theirs is not None and theirs[1] == mine[1] and (theirs[0] - mine[0]) % 12 == 0:
            return theirs[0] != mine[0]
    return False


def _date_fact(span: Span, part: str) -> DateFact | ParseError | None:
    match = _TIMEX_DATE.fullmatch(part)
    if match is None:
        return None
    if match.group("wd"):
        return DateFact(span, "weekday", day=int(match.group("wd")) - 1)
    month_text, day = match.group("mo"), int(match.group("d"))
    if month_text == "XX":
        return DateFact(span, "day_of_month", day=day) if 1 <= day <= 31 else None
    month = int(month_text)
    error = invalid_date(month, day)
    if error is not None:
        return error
    if match.group("y") == "XXXX":
        return DateFact(span, "month_day", month=month, day=day)
    year = int(match.group("y"))
    if valid_date(year, month, day) is None:
        return ParseError(
            f"{year}-{month:02d}-{day:02d} is not a date (there is no such day that year)."
        )
    return DateFact(span, "absolute", year, month, day)


def _clock(part: str, ambiguous: bool) -> Clock | None:
    if part in _PARTS_OF_DAY:
        hour = _PARTS_OF_DAY[part]
        return Clock(hour, 0, f"no exact time given — {format_clock(hour, 0)} assumed")
    match = _TIMEX_TIME.fullmatch(part)
    if match is None:
        return None
    return working_hours(RawClock(int(match.group("h")), int(match.group("mi") or 0), ambiguous))


def _moment(timex: str) -> datetime | None:
    """The datetime of a timex that carries seconds: how the recognizer resolves "in 2 hours"."""
    if _TIMEX_MOMENT.fullmatch(timex) is None:
        return None
    try:
        return datetime.fromisoformat(timex)
    except ValueError:
        return None


def _point(
    entity: _Entity, timex: str, ambiguous: bool, prepared: Prepared
) -> list[Fact] | ParseError:
    moment = _moment(timex)
    if moment is not None:
        return _offset(entity, moment - prepared.local_now, prepared)
    date_part, time_part = _split(timex)
    facts: list[Fact] = []
    if date_part:
        day = _date_fact(entity.span, date_part)
        if day is None or isinstance(day, ParseError):
            return day or _unreadable(entity, prepared)
        facts.append(day)
    if time_part:
        clock = _clock(time_part, ambiguous)
        if clock is None:
            return _unreadable(entity, prepared)
        facts.append(StartFact(entity.span, clock))
    return facts or _unreadable(entity, prepared)


def _range(
    entity: _Entity, timex: str, ambiguous: bool, prepared: Prepared
) -> list[Fact] | ParseError:
    ends = timex.strip("()").split(",")
    if len(ends) < 2:
        return _unreadable(entity, prepared)
    first, last = _moment(ends[0]), _moment(ends[1])
    if first is not None and last is not None:
        # "en 2 horas" comes back as the span from now to two hours on.
        start = last if first == prepared.local_now else first
        return _offset(entity, start - prepared.local_now, prepared)
    (first_date, first_time), (last_date, last_time) = _split(ends[0]), _split(ends[1])
    if first_date != last_date:
        written = prepared.text[entity.span[0] : entity.span[1]]
        return ParseError(
            f"“{written}” runs over more than one day; a meeting fits in one day (up to 24 hours). "
            "Try e.g. ‘monday from 9am to 5pm’."
        )
    begin, end = _TIMEX_TIME.fullmatch(first_time), _TIMEX_TIME.fullmatch(last_time)
    if begin is None or end is None:
        return _unreadable(entity, prepared)
    start_clock, end_clock, note = range_clocks(
        RawClock(int(begin.group("h")), int(begin.group("mi") or 0), ambiguous),
        RawClock(int(end.group("h")), int(end.group("mi") or 0), ambiguous),
    )
    facts: list[Fact] = [RangeFact(entity.span, start_clock, end_clock, note)]
    if first_date:
        day = _date_fact(entity.span, first_date)
        if day is None or isinstance(day, ParseError):
            return day or _unreadable(entity, prepared)
        facts.append(day)
    return facts


def _offset(entity: _Entity, offset: timedelta, prepared: Prepared) -> list[Fact] | ParseError:
    if offset < timedelta(0):
        written = prepared.text[entity.span[0] : entity.span[1]]
        return ParseError(
            f"“{written}” is in the past. Try e.g. ‘in 2 hours’ or ‘tomorrow at 10am’."
        )
    return [OffsetFact(entity.span, offset)]
