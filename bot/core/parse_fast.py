"""The fast reader: a hand-written grammar for common English meet commands; declines the rest."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

from bot.core.parse_facts import (
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
    invalid_date,
    range_clocks,
    whole_minutes,
    working_hours,
)

_MONTHS = {
    "jan": 1,
    "january": 1,
    "feb": 2,
    "february": 2,
    "mar": 3,
    "march": 3,
    "apr": 4,
    "april": 4,
    "may": 5,
    "jun": 6,
    "june": 6,
    "jul": 7,
    "july": 7,
    "aug": 8,
    "august": 8,
    "sep": 9,
    "sept": 9,
    "september": 9,
    "oct": 10,
    "october": 10,
    "nov": 11,
    "november": 11,
    "dec": 12,
    "december": 12,
}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# Words the recognizer may read as (part of) a date or time. The grammar below handles some of
# them in fixed phrases; any left over afterwards means "not ours": decline to the recognizer.
_TIME_WORDS_TEXT = """
    now today tonight tonite tomorrow tomorow tmrw tmr yesterday noon midday midnight
    morning mornings afternoon afternoons evening evenings night nights overnight
    eod eow eom cob asap soon shortly later earlier every biweekly
    day days daily week weeks weekly weekend weekends weekday weekdays fortnight fortnightly
    month months monthly year years yearly annual annually quarter quarterly semester decade century
    hour hours hourly hr hrs minute minutes min mins sec secs second seconds
    am pm a.m p.m oclock o'clock o’clock
    next last previous following coming upcoming ago before after until till til since past
    monday tuesday wednesday thursday friday saturday sunday
    mon tue tues wed weds thu thur thurs fri sat sun
    spring summer fall autumn winter
    christmas xmas easter thanksgiving halloween pentecost valentine valentines valentine's
    patrick patricks patrick's mayo yuandan lunchtime dinnertime daytime breakfast brunch supper
    half one two three four five six seven eight nine ten eleven twelve thirteen fourteen
    fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty ninety hundred
    first third fourth fifth sixth seventh eighth ninth tenth twelfth fifteenth twentieth
    thirtieth
"""
_TIME_WORDS = frozenset(_TIME_WORDS_TEXT.split()) | frozenset(_MONTHS)

_WORD = re.compile(r"[a-z]+(?:['’.][a-z]+)*")
_DIGIT = re.compile(r"\d")

_MERIDIEM = r"[ap]\.?m\.?(?![a-z])"
_AFTER_CLOCK = r"(?![\w:/]|\.\d)"


def _clock_pattern(n: int) -> str:
    return (
        rf"(?:(?P<h{n}>\d{{1,2}})(?::(?P<m{n}>[0-5]\d))?(?:\s?(?P<r{n}>{_MERIDIEM}))?"
        rf"|(?P<w{n}>noon|midday|midnight))"
    )


_C1 = _clock_pattern(1)
_C2 = _clock_pattern(2)
_RANGE_FROM = re.compile(rf"\bfrom\s+{_C1}\s*(?:to|until|till|-|–|—)\s*{_C2}{_AFTER_CLOCK}")
_RANGE_AT = re.compile(rf"\bat\s+{_C1}\s*(?:until|till|-|–|—)\s*{_C2}{_AFTER_CLOCK}")
_RANGE_BETWEEN = re.compile(rf"\bbetween\s+{_C1}\s+and\s+{_C2}{_AFTER_CLOCK}")
_RANGE_BARE = re.compile(rf"(?<![\w:/.]){_C1}\s*(?:-|–|—|to)\s*{_C2}{_AFTER_CLOCK}")

_IN = re.compile(
    r"\bin\s+(?:(?P<n>\d{1,3})\s?(?P<u>hours?|hrs?|h|minutes?|mins?)"
    r"|(?:an|one)\s+(?P<hour>hour)|(?P<half>half\s+an\s+hour))(?!\w)"
)
_NOW = re.compile(r"\b(?:right\s+)?now\b")

_LENGTH = re.compile(
    r"(?<!in )(?<![\w.])(?P<n>\d{1,3}(?:\.\d{1,2})?)\s?"
    r"(?P<u>hours?|hrs?|h|minutes?|mins?|days?)(?!\w)"
    r"(?:\s*,?\s*(?:and\s+)?(?P<n2>\d{1,2})\s?(?P<u2>minutes?|mins?)(?!\w))?"
)
_LENGTH_WORDS = re.compile(
    r"\bfor\s+(?P<w>an\s+hour\s+and\s+a\s+half|half\s+an\s+hour|a\s+half\s+hour|an\s+hour|one\s+hour)\b"
)
_WORD_LENGTHS = {
    "an hour and a half": 90,
    "half an hour": 30,
    "a half hour": 30,
    "an hour": 60,
    "one hour": 60,
}

_DAY_WORD = re.compile(r"\b(?P<w>today|tomorrow)\b")
_WEEKDAY = re.compile(rf"\b(?:(?P<q>next|this)\s+)?(?P<d>{'|'.join(_WEEKDAYS)})\b")
_MONTH_ALTERNATION = "|".join(sorted(_MONTHS, key=len, reverse=True))
_MONTH_DAY = re.compile(
    rf"\b(?P<mo>{_MONTH_ALTERNATION})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?![\w:/])(?!\s*,?\s*\d{{4}})"
    rf"(?!\s?{_MERIDIEM})"
)
_DAY_MONTH = re.compile(
    rf"(?:\bthe\s+)?(?<![\w/.:])(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mo>{_MONTH_ALTERNATION})\b\.?"
    r"(?!\s*,?\s*\d{4}\b)"
)
_SLASH_DATE = re.compile(r"(?<![\w/.:])(?P<mo>\d{1,2})/(?P<d>\d{1,2})(?![\w/]|\.\d)")

_CLOCK_MERIDIEM = re.compile(
    rf"(?<![\w:.])(?P<h1>\d{{1,2}})(?::(?P<m1>[0-5]\d))?\s?(?P<r1>{_MERIDIEM})"
)
_CLOCK_COLON = re.compile(r"(?<![\w:./])(?P<h1>\d{1,2}):(?P<m1>[0-5]\d)(?![\w:]|\.\d)")
_CLOCK_AT = re.compile(r"\bat\s+(?P<h1>\d{1,2})(?![\w:/]|\.\d)")
_CLOCK_WORD = re.compile(r"\b(?P<w1>noon|midday|midnight)\b")

# None: this match is not ours after all (its text stays for the leftover check).
_Found = list[Fact] | ParseError | None
_Handler = Callable[[re.Match[str], date], _Found]


def _raw_clock(match: re.Match[str], n: int) -> RawClock | None:
    groups = match.groupdict()
    word = groups.get(f"w{n}")
    if word is not None:
        return RawClock(0 if word == "midnight" else 12, 0, ambiguous=False)
    hour_text = groups[f"h{n}"]
    hour, minute = int(hour_text), int(groups.get(f"m{n}") or 0)
    meridiem = groups.get(f"r{n}")
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        return RawClock(hour % 12 + (12 if meridiem.startswith("p") else 0), minute, False)
    if hour > 23:
        return None
    return RawClock(hour, minute, ambiguous=1 <= hour <= 12 and not hour_text.startswith("0"))


def _range(match: re.Match[str], _today: date) -> _Found:
    first, last = _raw_clock(match, 1), _raw_clock(match, 2)
    if first is None or last is None:
        return None
    start, end, note = range_clocks(first, last)
    return [RangeFact(match.span(), start, end, note)]


def _bare_range(match: re.Match[str], today: date) -> _Found:
    # "12-15" or "3 to 4" alone is too weak a signal; the recognizer reads neither as a range.
    marked = any(match.group(g) for g in ("m1", "r1", "w1", "m2", "r2", "w2"))
    return _range(match, today) if marked else None


def _in(match: re.Match[str], _today: date) -> _Found:
    if match.group("half"):
        offset = timedelta(minutes=30)
    elif match.group("hour"):
        offset = timedelta(hours=1)
    else:
        amount, unit = int(match.group("n")), match.group("u")
        offset = timedelta(hours=amount) if unit.startswith("h") else timedelta(minutes=amount)
    return [OffsetFact(match.span(), offset)]


def _now(match: re.Match[str], _today: date) -> _Found:
    return [OffsetFact(match.span(), timedelta(0))]


def _unit_seconds(unit: str) -> int:
    if unit.startswith("d"):
        return 24 * 3600
    return 3600 if unit.startswith("h") else 60


def _length(match: re.Match[str], _today: date) -> _Found:
    seconds = float(match.group("n")) * _unit_seconds(match.group("u"))
    if match.group("n2"):
        if not match.group("u").startswith("h"):
            return None
        seconds += int(match.group("n2")) * 60
    return [DurationFact(match.span(), whole_minutes(seconds))]


def _length_words(match: re.Match[str], _today: date) -> _Found:
    words = " ".join(match.group("w").split())
    return [DurationFact(match.span("w"), timedelta(minutes=_WORD_LENGTHS[words]))]


def _day_word(match: re.Match[str], today: date) -> _Found:
    day = today if match.group("w") == "today" else today + timedelta(days=1)
    return [DateFact(match.span(), "absolute", day.year, day.month, day.day)]


def _weekday(match: re.Match[str], today: date) -> _Found:
    weekday = _WEEKDAYS.index(match.group("d"))
    qualifier = match.group("q")
    if qualifier is None:
        return [DateFact(match.span(), "weekday", day=weekday)]
    # Same convention as the recognizer: "this X" is X of the current Monday-to-Sunday week,
    # "next X" is X of the week after.
    day = today + timedelta(days=weekday - today.weekday() + (7 if qualifier == "next" else 0))
    return [DateFact(match.span(), "absolute", day.year, day.month, day.day)]


def _month_day(match: re.Match[str], _today: date) -> _Found:
    month, day = _MONTHS[match.group("mo")], int(match.group("d"))
    error = invalid_date(month, day)
    return error or [DateFact(match.span(), "month_day", month=month, day=day)]


def _slash_date(match: re.Match[str], today: date) -> _Found:
    if int(match.group("mo")) > 12:
        return None
    month, day = int(match.group("mo")), int(match.group("d"))
    error = invalid_date(month, day)
    return error or [DateFact(match.span(), "month_day", month=month, day=day)]


def _clock(match: re.Match[str], _today: date) -> _Found:
    raw = _raw_clock(match, 1)
    if raw is None:
        return None
    clock: Clock = working_hours(raw)
    return [StartFact(match.span(), clock)]


_PASSES: tuple[tuple[re.Pattern[str], _Handler], ...] = (
    (_RANGE_FROM, _range),
    (_RANGE_AT, _range),
    (_RANGE_BETWEEN, _range),
    (_RANGE_BARE, _bare_range),
    (_IN, _in),
    (_NOW, _now),
    (_LENGTH, _length),
    (_LENGTH_WORDS, _length_words),
    (_DAY_WORD, _day_word),
    (_WEEKDAY, _weekday),
    (_MONTH_DAY, _month_day),
    (_DAY_MONTH, _month_day),
    (_SLASH_DATE, _slash_date),
    (_CLOCK_MERIDIEM, _clock),
    (_CLOCK_COLON, _clock),
    (_CLOCK_AT, _clock),
    (_CLOCK_WORD, _clock),
)


def _blank(text: str, spans: list[Span]) -> str:
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def read_fast(prepared: Prepared) -> tuple[Fact, ...] | ParseError | None:
    """Read the whole command with the grammar above, or None to leave it to the recognizer."""
    if prepared.culture != "en-us":
        return None
    today = prepared.local_now.date()
    rest = prepared.folded
    facts: list[Fact] = []
    for pattern, handler in _PASSES:
        taken: list[Span] = []
        for match in pattern.finditer(rest):
            found = handler(match, today)
            if isinstance(found, ParseError):
                return found
            if found is not None:
                facts.extend(found)
                taken.append(match.span())
        rest = _blank(rest, taken)
    if _DIGIT.search(rest) or any(word in _TIME_WORDS for word in _WORD.findall(rest)):
        return None
    return tuple(facts)
