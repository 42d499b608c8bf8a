"""The one reader of meet commands: dates, clocks, ranges, lengths and offsets in en, fr and es."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from bot.core.parse_facts import (
    DURATION_PREPOSITIONS,
    Clock,
    DateFact,
    DurationFact,
    Fact,
    OffsetFact,
    ParseError,
    PartFact,
    PartOfDay,
    Prepared,
    RangeFact,
    RawClock,
    Span,
    StartFact,
    VagueFact,
    invalid_date,
    range_clocks,
    settle,
    valid_date,
    whole_minutes,
    working_hours,
)
from bot.core.parse_words import (
    CLOCK_WORD_PATTERN,
    MONTH_PATTERN,
    MONTHS,
    NUMBER_PATTERN,
    NUMBER_WORDS,
    PARTS,
    SHORT_WEEKDAYS,
    WEEKDAYS,
)

# -- pieces of the grammar --------------------------------------------------------------------

_B = r"(?<!\w)"  # a word starts here
_E = r"(?!\w)"  # a word ends here
_MERIDIEM = r"[ap]\.?\s?m\.?(?![a-z])"
_QUALIFIER = (
    r"(?:in\sthe\s(?:morning|afternoon|evening)|at\snight|tonight"
    r"|du\s(?:matin|soir)|de\sl'?\s?apres[-\s]?midi"
    r"|(?:de|por|en)\sla\s(?:manana|tarde|noche|madrugada))"
)
_QUALIFIER_PART: dict[str, PartOfDay] = {
    "morning": "morning",
    "matin": "morning",
    "manana": "morning",
    "madrugada": "morning",
    "afternoon": "afternoon",
    "midi": "afternoon",
    "tarde": "afternoon",
    "evening": "evening",
    "soir": "evening",
    "night": "night",
    "tonight": "night",
    "noche": "night",
}
_CLOCK_WORDS = {"noon": 12, "midday": 12, "midi": 12, "mediodia": 12, "midnight": 0}
_CLOCK_WORDS |= {"minuit": 0, "medianoche": 0}
_WORD_CLOCK = "|".join(_CLOCK_WORDS)
_UNITS_H = r"hours?|hrs?|heures?|horas?"
_UNITS_M = r"minutes?|mins?|minutos?"


def _clock(n: int) -> str:
    """One time of day: "3", "3pm", "3:30 p.m.", "15h", "15 h 30", "9h30", "noon", "half past 2",
    "a las 3 y media", "8h du soir"; groups numbered `n`."""
    numeric = (
        rf"(?P<h{n}>\d{{1,2}})"
        rf"(?:(?P<sep{n}>\s?[:.]\s?|\s?h\s?)(?P<m{n}>[0-5]\d)(?!\d)|(?P<hh{n}>\s?h)(?![a-z\d]))?"
        rf"(?:\s(?P<hu{n}>heures?|o'?clock)(?!\w))?"
        rf"(?:\s(?P<plus{n}>(?:y|et)\s(?:media|demie|cuarto|quart))"
        rf"|\s(?P<minus{n}>(?:menos|moins)\s(?:el\s|le\s)?(?:cuarto|quart)))?"
        rf"(?:\s?(?P<r{n}>{_MERIDIEM}))?"
    )
    before = rf"(?P<pre{n}>half\spast|quarter\spast|quarter\sto)\s(?P<ph{n}>\d{{1,2}})"
    spelled = rf"(?P<s{n}>{CLOCK_WORD_PATTERN})(?:\s(?P<oc{n}>o'?clock|heures?))?"
    return (
        rf"(?:{before}|{numeric}|(?P<w{n}>{_WORD_CLOCK})|{spelled})"
        rf"(?:\s?,?\s?(?P<q{n}>{_QUALIFIER}))?"
    )


_CLOCK_INTRO = (
    r"(?:at|@|a\slas?|a|vers|hacia|sobre\slas?|around|about|approx\.?|approximately"
    r"|starting\sat|a\spartir\sde\slas?|des)"
)
_RANGE_INTRO = r"(?:from|de|des|desde|entre|between|at|a\slas?)"
_RANGE_JOIN = r"(?:-|–|—|to|until|till|a|hasta|jusqu'a|et|y|and)"
_ARTICLE = r"(?:las?\s)?"

# -- what a pass reads ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    today: date
    language: str
    text: str  # the folded text as it was before any pass
    written: str  # the text as written, same positions
    facts: list[Fact]

    def quote(self, match: re.Match[str]) -> str:
        return self.written[match.start() : match.end()].strip()


_Found = list[Fact] | ParseError | None
_Handler = Callable[[re.Match[str], _Context], _Found]


def _number(text: str) -> float:
    words = " ".join(text.split())
    if words in NUMBER_WORDS:
        return NUMBER_WORDS[words]
    return float(words.replace(",", "."))


def _raw_clock(match: re.Match[str], n: int) -> RawClock | None:
    """The time of day a `_clock(n)` match names; None when it is not one (an hour over 23, a
    spelled number without a word that makes it a time)."""
    group = match.groupdict()
    ambiguous = True
    if group.get(f"w{n}"):
        hour, minute, ambiguous = _CLOCK_WORDS[group[f"w{n}"]], 0, False
    elif group.get(f"pre{n}"):
        hour, minute = int(group[f"ph{n}"]), 0
        if not 1 <= hour <= 12:
            return None
        how = " ".join(group[f"pre{n}"].split())
        if how == "quarter to":
            hour, minute = hour - 1 or 12, 45
        else:
            minute = 30 if how == "half past" else 15
    elif group.get(f"s{n}"):
        hour, minute = NUMBER_WORDS[" ".join(group[f"s{n}"].split())], 0
    else:
        text = group[f"h{n}"]
        hour, minute = int(text), int(group.get(f"m{n}") or 0)
        if hour > 23 or (group.get(f"r{n}") and not 1 <= hour <= 12):
            return None
        ambiguous = 1 <= hour <= 12 and not (len(text) == 2 and text.startswith("0"))
        if (group.get(f"plus{n}") or group.get(f"minus{n}")) and minute:
            return None  # "9:45 et demie"
        if group.get(f"plus{n}"):
            minute += 30 if group[f"plus{n}"].endswith(("media", "demie")) else 15
        elif group.get(f"minus{n}"):
            hour, minute = (hour - 1) % 24, 45
    meridiem = group.get(f"r{n}")
    if meridiem:
        hour = hour % 12 + (12 if meridiem.startswith("p") else 0)
        ambiguous = False
    qualifier = group.get(f"q{n}")
    if qualifier and (ambiguous or hour == 12):
        hour = settle(hour, _QUALIFIER_PART[qualifier.split()[-1].split("-")[-1]])
        ambiguous = False
    return RawClock(hour, minute, ambiguous)


def _marked(match: re.Match[str], n: int) -> bool:
    """Whether a clock says it is one: minutes, am/pm, an "h", a word, a part of the day."""
    group = match.groupdict()
    names = ("m", "hh", "hu", "r", "w", "q", "pre", "plus", "minus", "oc")
    return any(group.get(f"{name}{n}") for name in names)


def _said_as_24_hour(match: re.Match[str], n: int, clock: Clock) -> bool:
    """ "9h30", "10h": the French and Spanish way of writing a clock is 24-hour; when working
    hours read it as written, there is nothing to tell the user ("à 3h" is still 15:00, said)."""
    group = match.groupdict()
    h_form = bool(group.get(f"hh{n}")) or "h" in (group.get(f"sep{n}") or "")
    return h_form and group.get(f"h{n}") is not None and clock.hour == int(group[f"h{n}"])


def _before(ctx: _Context, start: int) -> str:
    """The word just before a position in the text."""
    words = ctx.text[:start].split()
    return words[-1] if words else ""


def _after_date(ctx: _Context, start: int) -> bool:
    """Whether a date read earlier ends right before this position."""
    head = ctx.text[:start].rstrip(" ,")
    return any(isinstance(f, DateFact) and f.span[1] == len(head) for f in ctx.facts)


# -- handlers ---------------------------------------------------------------------------------


def _range(match: re.Match[str], ctx: _Context) -> _Found:
    intro = " ".join((match.group("intro") or "").split())
    join = match.group("join")
    first, last = _raw_clock(match, 1), _raw_clock(match, 2)
    if first is None or last is None:
        return None
    marked = _marked(match, 1) or _marked(match, 2)
    if join in ("et", "y", "and") and intro not in ("entre", "between"):
        return None
    if join == "a" and not (intro in ("de", "desde") or marked):
        return None
    if intro in ("", "at", "a la", "a las") and not (marked or _after_date(ctx, match.start())):
        return None  # "Sprint 2-3": numbers, not hours
    start, end, note = range_clocks(first, last)
    if _said_as_24_hour(match, 1, start) and _said_as_24_hour(match, 2, end):
        note = None
    span = (match.start("intro") if intro else match.start("c1"), match.end())
    return [RangeFact(span, start, end, note)]


def _until(match: re.Match[str], ctx: _Context) -> _Found:
    if _raw_clock(match, 1) is None or not (_marked(match, 1) or match.group("intro")):
        return None
    return ParseError(
        f"“{ctx.quote(match)}” says only when it ends. Say when it starts, e.g. ‘from 3pm to 5pm’ "
        "or ‘at 3pm for 2 hours’."
    )


def _offset(match: re.Match[str], ctx: _Context) -> _Found:
    unit = match.group("u") or ""
    if unit.startswith(("day", "jour", "dia")):
        # "in 3 days": a day, with or without a time of its own ("in 3 days at 9am").
        if match.group("andhalf") or not float(_number(match.group("n"))).is_integer():
            return None
        day = ctx.today + timedelta(days=int(_number(match.group("n"))))
        return [DateFact(match.span(), "absolute", day.year, day.month, day.day)]
    if match.group("half"):
        minutes = 30.0
    else:
        amount = _number(match.group("n"))
        unit = match.group("u")
        minutes = amount * (60 if unit.startswith("h") else 1)
        if match.group("andhalf"):
            minutes += 30
    return [OffsetFact(match.span(), whole_minutes(minutes * 60))]


def _now(match: re.Match[str], _ctx: _Context) -> _Found:
    return [OffsetFact(match.span(), timedelta(0))]


def _compact_length(match: re.Match[str], ctx: _Context) -> _Found:
    """ "1h30", "1h 15m", "90m", "2h": a length, unless it is a clock ("à 15h", "15h30" in
    French or Spanish)."""
    word = _before(ctx, match.start())
    if word not in DURATION_PREPOSITIONS:
        if word in ("at", "@", "a", "las", "la", "vers", "hacia", "de", "des", "entre", "in"):
            return None
        if (match.group("h") or match.group("dh")) and ctx.language != "en":
            return None  # "15h", "9h30": French and Spanish clocks
    if match.group("h"):
        minutes = int(match.group("h")) * 60 + int(match.group("hm") or 0)
    elif match.group("m"):
        minutes = int(match.group("m"))
    else:
        minutes = round(float(match.group("dh").replace(",", ".")) * 60)
    return [DurationFact(match.span(), whole_minutes(minutes * 60))]


def _length(match: re.Match[str], ctx: _Context) -> _Found:
    """ "45 minutes", "1.5 hours", "2 heures", "una hora y media", "half an hour"."""
    word = _before(ctx, match.start())
    spelled = match.group("n") is not None and not match.group("n")[0].isdigit()
    if word in ("a", "las", "la", "at") and match.group("u") and match.group("u")[0] == "h":
        return None  # "à trois heures": a clock
    article = spelled and match.group("n") in ("a", "an") and not match.group("andhalf")
    if article and word not in DURATION_PREPOSITIONS:
        return None  # "a minute", "an hour": a length only after "for"
    if match.group("half"):
        minutes = 30.0
    elif match.group("quarter"):
        minutes = 15.0
    elif match.group("hhalf"):
        minutes = 90.0
    else:
        amount = _number(match.group("n"))
        unit = match.group("u")
        minutes = amount * (60 if unit.startswith(("h", "d")) else 1)
        if unit.startswith(("day", "dia", "jour")):
            minutes = amount * 24 * 60
        if match.group("andhalf"):
            minutes += 30
        if match.group("n2"):
            if not unit.startswith("h"):
                return None
            minutes += int(match.group("n2"))
    return [DurationFact(match.span(), whole_minutes(minutes * 60))]


def _with_part(match: re.Match[str], day: DateFact) -> list[Fact]:
    """A day, and the part of it that follows ("tomorrow morning", "lundi soir")."""
    part = match.group("p")
    if not part:
        return [day]
    return [day, PartFact((day.span[1], match.end()), PARTS[" ".join(part.split())])]


_RELATIVE_DAYS = {
    "today": 0,
    "aujourd'hui": 0,
    "aujourdhui": 0,
    "hoy": 0,
    "tomorrow": 1,
    "tmrw": 1,
    "tmr": 1,
    "tomorow": 1,
    "demain": 1,
    "manana": 1,
    "yesterday": -1,
    "hier": -1,
    "ayer": -1,
}


def _relative_day(match: re.Match[str], ctx: _Context) -> _Found:
    said = " ".join(match.group("d").split()).replace("' ", "'")
    days = 2 if said.startswith(("the day", "day", "apres", "pasado")) else _RELATIVE_DAYS[said]
    day = ctx.today + timedelta(days=days)
    return _with_part(match, DateFact(match.span("d"), "absolute", day.year, day.month, day.day))


def _this_part(match: re.Match[str], ctx: _Context) -> _Found:
    part = match.group("p")
    day = ctx.today
    return [
        DateFact(match.span(), "absolute", day.year, day.month, day.day),
        PartFact(match.span(), PARTS[" ".join(part.split())]),
    ]


def _part(match: re.Match[str], _ctx: _Context) -> _Found:
    return [PartFact(match.span(), PARTS[" ".join(match.group("p").split())])]


def _weekday(match: re.Match[str], ctx: _Context) -> _Found:
    name = match.group("d")
    weekday = WEEKDAYS.get(name, SHORT_WEEKDAYS.get(name))
    assert weekday is not None
    before = " ".join((match.group("q") or "").split())
    after = match.groupdict().get("q2")
    span = match.span("all")
    if before in ("next", "el proximo", "proximo") or after:
        # "next X" is X of the following Monday-to-Sunday week.
        day = ctx.today + timedelta(days=weekday - ctx.today.weekday() + 7)
        return _with_part(match, DateFact(span, "absolute", day.year, day.month, day.day))
    if before in ("this", "ce", "este", "esta"):
        day = ctx.today + timedelta(days=weekday - ctx.today.weekday())
        return _with_part(match, DateFact(span, "absolute", day.year, day.month, day.day))
    return _with_part(match, DateFact(span, "weekday", day=weekday))


def _named_date(match: re.Match[str], _ctx: _Context) -> _Found:
    month, day = MONTHS[match.group("mo")], int(match.group("d"))
    return _dated(match, month, day)


def _dated(match: re.Match[str], month: int, day: int) -> _Found:
    error = invalid_date(month, day)
    if error is not None:
        return error
    year_text = match.groupdict().get("y")
    if not year_text:
        return [DateFact(match.span(), "month_day", month=month, day=day)]
    year = int(year_text)
    if valid_date(year, month, day) is None:
        return ParseError(f"{year}-{month:02d}-{day:02d} is not a date (there is no such day).")
    return [DateFact(match.span(), "absolute", year, month, day)]


def _numeric_date(match: re.Match[str], ctx: _Context) -> _Found:
    first, second = int(match.group("a")), int(match.group("b"))
    month, day = (first, second) if ctx.language == "en" else (second, first)
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        return None  # "24/7", "50/50": not dates
    return _dated(match, month, day)


def _iso_date(match: re.Match[str], _ctx: _Context) -> _Found:
    return _dated(match, int(match.group("mo")), int(match.group("d")))


def _day_of_month(match: re.Match[str], _ctx: _Context) -> _Found:
    day = int(match.group("d"))
    return [DateFact(match.span(), "day_of_month", day=day)] if 1 <= day <= 31 else None


def _clock_fact(match: re.Match[str], ctx: _Context) -> _Found:
    intro = match.group("intro")
    if not intro and not _marked(match, 1):
        return None  # a bare number: "Sprint 42", "Team 7"
    if match.group("s1") and not (intro or match.group("oc1")):
        return None
    if match.group("s1") and (intro or "").strip() == "a" and not match.group("oc1"):
        return None  # "a une" is not "à une heure"
    hh_only = match.group("hh1") and not match.group("m1")
    if hh_only and not intro and ctx.language == "en":
        return None  # English "2h" is a length, read before this pass
    raw = _raw_clock(match, 1)
    if raw is None:
        return None
    span = (match.start("intro") if intro else match.start("c1"), match.end())
    clock = working_hours(raw)
    if clock.note and _said_as_24_hour(match, 1, clock):
        clock = dataclasses.replace(clock, note=None)
    return [StartFact(span, clock)]


def _vague(match: re.Match[str], _ctx: _Context) -> _Found:
    return [VagueFact(match.span())]


def _repeats(match: re.Match[str], ctx: _Context) -> _Found:
    return ParseError(
        f"“{ctx.quote(match)}” repeats; I book one meeting at a time. "
        "Say one day and time, e.g. ‘monday at 10am’."
    )


# -- the passes, in order ---------------------------------------------------------------------

_WEEKDAY_NAMES = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
_SHORT_NAMES = "|".join(sorted(SHORT_WEEKDAYS, key=len, reverse=True))
_DAY_PART = (
    r"(?:\s(?:in\sthe\s|por\sla\s|en\sla\s|a\sla\s|dans\sl'\s?|l'\s?)?"
    r"(?P<p>morning|afternoon|evening|night|matin|apres[-\s]midi|aprem|soir|soiree|nuit"
    r"|manana|tarde|noche))?"
)
_C1, _C2 = _clock(1), _clock(2)


_PASSES: tuple[tuple[re.Pattern[str], _Handler], ...] = (
    (
        re.compile(
            rf"{_B}(?:every|each|chaque|tous\sles|toutes\sles|cada|todos\slos|todas\slas)\s"
            rf"(?:{_WEEKDAY_NAMES}|day|jour|dia|week|semaine|semana|morning|matin)s?"
            rf"(?:\s(?:at\s|a\s|a\slas\s)?{_C1})?(?:\s?(?:-|to|a)\s?{_C2})?{_E}"
        ),
        _repeats,
    ),
    (
        re.compile(
            rf"{_B}(?:(?:some\s?time|sometime)\s)?(?:next|this|the\sfollowing)\s"
            rf"(?:week|month|weekend){_E}"
            rf"|{_B}sometime(?:\s(?:today|tomorrow|soon))?{_E}"
            rf"|{_B}later(?:\s(?:today|on))?{_E}|{_B}(?:at\s)?(?:the\s)?end\sof\s(?:the\s)?day{_E}"
            rf"|{_B}eod{_E}|{_B}after\slunch{_E}|{_B}before\slunch{_E}|{_B}asap{_E}"
            rf"|{_B}(?:en\s|dans\sla\s)?(?:fin\sde\s(?:la\s)?journee|semaine(?:\sprochaine)?)"
            rf"{_E}|{_B}(?:la\s)?semaine\sprochaine{_E}|{_B}plus\stard{_E}"
            rf"|{_B}(?:apres|avant)\s(?:le\s)?(?:dejeuner|dej){_E}"
            rf"|{_B}(?:a\s)?ultima\shora{_E}|{_B}(?:la\s)?semana\sque\sviene{_E}"
            rf"|{_B}(?:la\s)?(?:proxima\ssemana|semana\sproxima){_E}|{_B}mas\starde{_E}"
            rf"|{_B}(?:despues|antes)\s(?:de\s(?:comer|la\scomida)|del\salmuerzo){_E}"
            rf"|{_B}(?:tomorrow|demain|manana)\s(?:at\s|a\s|a\slas\s)?(?:midnight|minuit|medianoche){_E}"
        ),
        _vague,
    ),
    (
        re.compile(
            rf"{_B}(?:in|dans|en|dentro\sde)\s(?:(?P<half>half\san\shour|une\sdemi[-\s]?heure"
            rf"|media\shora)|(?P<n>\d{{1,3}}(?:[.,]\d{{1,2}})?|{NUMBER_PATTERN})\s?"
            rf"(?P<u>{_UNITS_H}|h|{_UNITS_M}|m|days?|jours?|dias?)"
            rf"(?P<andhalf>\s(?:and\sa\shalf|et\sdemie|y\smedia))?){_E}"
        ),
        _offset,
    ),
    (
        re.compile(rf"{_B}(?:right\snow|now|maintenant|tout\sde\ssuite|ahora(?:\smismo)?){_E}"),
        _now,
    ),
    (
        re.compile(
            rf"{_B}(?:(?:this|ce|cet|cette|esta)\s(?P<p>morning|afternoon|evening|matin"
            rf"|apres[-\s]midi|aprem|soir|manana|tarde|noche)|(?P<t>tonight|ce\ssoir)){_E}"
        ),
        lambda m, c: _this_part(m, c) if m.group("p") else _tonight(m, c),
    ),
    (
        re.compile(
            rf"{_B}(?P<d>(?:the\s)?day\safter\stomorrow|apres[-\s]demain|pasado\smanana"
            rf"|tomorrow|tmrw|tmr|tomorow|demain|(?<!la\s)(?<!esta\s)manana|today|aujourd'\s?hui|aujourdhui|hoy"
            rf"|yesterday|hier|ayer){_E}{_DAY_PART}{_E}"
        ),
        _relative_day,
    ),
    (
        re.compile(
            rf"{_B}(?P<all>(?:(?P<q>next|this|on|ce|el\sproximo|proximo|este|esta"
            rf"|el|le)\s)?(?P<d>{_WEEKDAY_NAMES})(?:\s(?P<q2>prochain|que\sviene|proximo))?)"
            rf"{_E}{_DAY_PART}{_E}"
        ),
        _weekday,
    ),
    (
        re.compile(
            rf"{_B}(?P<all>(?:(?P<q>next|this|on)\s)?(?P<d>{_SHORT_NAMES})\.?)(?P<p>)"
            rf"(?=\s?,?\s?(?:at\s|@\s?)?\d)"
        ),
        _weekday,
    ),
    (re.compile(r"(?<![\w/.:-])(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})(?![\w/:-])"), _iso_date),
    (
        re.compile(
            rf"{_B}(?:on\s)?(?:the\s)?(?P<mo>{MONTH_PATTERN})\.?\s(?P<d>\d{{1,2}})"
            rf"(?:st|nd|rd|th)?(?:\s?,?\s?(?P<y>\d{{4}}))?(?![\w:/–-]|\.\d|\s?{_MERIDIEM}|\s?h\b)"
        ),
        _named_date,
    ),
    (
        re.compile(
            rf"{_B}(?:(?:on\s)?the\s|le\s|el\s)?(?P<d>\d{{1,2}})(?:st|nd|rd|th|er|eme)?"
            rf"\s(?:of\s|de\s)?(?P<mo>{MONTH_PATTERN}){_E}\.?"
            rf"(?:\s?,?\s?(?:de\s|del\s)?(?P<y>\d{{4}}))?"
        ),
        _named_date,
    ),
    (
        re.compile(
            r"(?:(?<![\w/.:])(?:le\s|el\s))?(?<![\w/.:])(?P<a>\d{1,2})/(?P<b>\d{1,2})"
            r"(?:/(?P<y>\d{4}))?(?![\w/]|\.\d)"
        ),
        _numeric_date,
    ),
    (
        re.compile(r"(?:(?<![\w'])(?:on\s)?the\s)(?P<d>\d{1,2})(?:st|nd|rd|th)(?![\w])"),
        _day_of_month,
    ),
    (
        re.compile(
            rf"(?P<intro>{_B}{_RANGE_INTRO}\s)?{_ARTICLE}(?P<c1>(?<![\w:./,-]){_C1})\s?(?P<join>{_RANGE_JOIN})\s?"
            rf"{_ARTICLE}{_C2}(?![\w:/]|\.\d)"
        ),
        _range,
    ),
    (
        re.compile(rf"{_B}(?:until|till|jusqu'a|hasta)\s(?P<intro>las?\s)?(?P<c1>{_C1})(?![\w:/])"),
        _until,
    ),
    (
        re.compile(
            r"(?<![\w.:/$€£])(?:(?P<h>\d{1,2})\s?h\s?(?P<hm>[0-5]\d)(?:\s?m(?:in)?)?"
            r"|(?P<m>\d{1,4})m|(?P<dh>\d{1,2}(?:[.,]\d{1,2})?)h)(?![\w:/]|\.\d)"
        ),
        _compact_length,
    ),
    (
        re.compile(
            rf"{_B}(?:(?P<half>half\san\shour|a\shalf[\s-]hour|half[\s-]hour"
            rf"|(?:une\s)?demi[-\s]?heure|media\shora)"
            rf"|(?P<quarter>(?:a\s)?quarter\sof\san\shour|(?:un\s)?quart\sd'heure"
            rf"|(?:un\s)?cuarto\sde\shora)"
            rf"|(?P<hhalf>hora\sy\smedia)"
            rf"|(?P<n>\d{{1,3}}(?:[.,]\d{{1,2}})?|{NUMBER_PATTERN})[\s-]?"
            rf"(?P<u>{_UNITS_H}|{_UNITS_M}|days?|dias?|jours?)"
            rf"(?:(?P<andhalf>\s(?:and\sa\shalf|et\sdemie|y\smedia))"
            rf"|\s?,?\s?(?:and\s|et\s|y\s)?(?P<n2>\d{{1,2}})(?![:.]\d)(?:\s?(?:{_UNITS_M}|m))?)?){_E}"
        ),
        _length,
    ),
    (
        re.compile(rf"(?P<intro>{_B}{_CLOCK_INTRO}\s)?(?P<c1>(?<![\w:./,-]){_C1})(?![\w:/]|\.\d)"),
        _clock_fact,
    ),
    (
        re.compile(
            rf"{_B}(?:in\sthe\s|por\sla\s|en\sla\s|dans\sl'\s?|le\s|l'\s?)"
            rf"(?P<p>morning|afternoon|evening|matin|apres[-\s]midi|soir|manana|tarde|noche){_E}"
        ),
        _part,
    ),
)


def _tonight(match: re.Match[str], ctx: _Context) -> _Found:
    day = ctx.today
    return [
        DateFact(match.span(), "absolute", day.year, day.month, day.day),
        PartFact(match.span(), "evening" if "soir" in match.group("t") else "night"),
    ]


def _blank(text: str, spans: Sequence[Span]) -> str:
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def read(prepared: Prepared) -> tuple[tuple[Fact, ...], str] | ParseError:
    """Every date, clock, range, length and offset in the command, and the text left unread
    (blanked where something was read), for the caller's check of what remains."""
    ctx = _Context(prepared.local_now.date(), prepared.language, prepared.folded, prepared.text, [])
    rest = prepared.folded
    for pattern, handler in _PASSES:
        taken: list[Span] = []
        for match in pattern.finditer(rest):
            found = handler(match, ctx)
            if isinstance(found, ParseError):
                return found
            if found:
                ctx.facts.extend(found)
                taken.append((min(f.span[0] for f in found), max(f.span[1] for f in found)))
        rest = _blank(rest, taken)
    return tuple(ctx.facts), rest
