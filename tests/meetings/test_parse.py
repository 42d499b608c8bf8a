"""The meet-command parser: phrasings, properties, DST and hostile text (corpus: test_corpus)."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.parse import (
    MAX_TEXT_CHARS,
    ParsedMeeting,
    ParseError,
    Unsure,
    parse_meeting,
)

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")
MONDAY_10AM = "2026-11-23 10:00"  # a Monday
ALEX, SAM = "<at>Alex</at>", "<at>Sam</at>"


@dataclass(frozen=True)
class Row:
    """One phrasing and what it must give; times are in the user's zone."""

    text: str
    subject: str = ""
    start: str = ""  # "YYYY-MM-DD HH:MM"
    end: str = ""  # "HH:MM" on the start's day, or "YYYY-MM-DD HH:MM"
    error: str = ""  # part of the expected ParseError message
    rolled: bool = False
    assumed: str | None = None
    given: bool = True
    emails: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    zone: ZoneInfo = NEW_YORK
    now: str = MONDAY_10AM
    culture: str = "en-us"
    ask: bool = False  # the bot must ask (error: part of the reason), not book


ROWS = [
    # The phrasings from the brief.
    Row(
        "Design review tomorrow at 3pm for 45 minutes with <at>Alex</at>",
        "Design review",
        "2026-11-24 15:00",
        "15:45",
        mentions=(ALEX,),
    ),
    Row(
        "standup next monday 9:30",
        "standup",
        "2026-11-30 09:30",
        "10:00",
        assumed="9:30 read as 9:30 am",
    ),
    Row("Budget sync on Dec 3 from 2pm to 3:30pm", "Budget sync", "2026-12-03 14:00", "15:30"),
    Row("now", "Meeting", "2026-11-23 10:00", "10:30"),
    Row("now Quick huddle", "Quick huddle", "2026-11-23 10:00", "10:30"),
    Row("Quick huddle", "Quick huddle", "2026-11-23 10:00", "10:30", given=False),
    Row(
        "1:1 with alex@contoso.com friday at 10",
        "1:1",
        "2026-11-27 10:00",
        "10:30",
        assumed="10 read as 10:00 am",
        emails=("alex@contoso.com",),
    ),
    Row("retro in 2 hours for 1h", "retro", "2026-11-23 12:00", "13:00"),
    Row("planning today 16:00-17:30", "planning", "2026-11-23 16:00", "17:30"),
    Row("Sprint demo 12/15 at 11am for 90 min", "Sprint demo", "2026-12-15 11:00", "12:30"),
    Row("sync at noon", "sync", "2026-11-23 12:00", "12:30"),
    Row(
        "Team lunch tomorrow 12:30 for an hour",
        "Team lunch",
        "2026-11-24 12:30",
        "13:30",
        assumed="12:30 read as 12:30 pm",
    ),
    # Clock times, rolling forward and ambiguous hours.
    Row(
        "Sync tomorrow at 3, with Sam",
        "Sync with Sam",
        "2026-11-24 15:00",
        "15:30",
        assumed="3 read as 3:00 pm",
    ),
    Row(
        "Standup at 9",
        "Standup",
        "2026-11-24 09:00",
        "09:30",
        rolled=True,
        assumed="9 read as 9:00 am",
    ),
    Row("Coffee at 9:45am", "Coffee", "2026-11-24 09:45", "10:15", rolled=True),
    Row(
        "Late standup at 9:57",
        "Late standup",
        "2026-11-23 09:57",
        "10:27",
        assumed="9:57 read as 9:57 am",
    ),
    Row(
        "Kickoff monday at 11",
        "Kickoff",
        "2026-11-23 11:00",
        "11:30",
        assumed="11 read as 11:00 am",
    ),
    Row("Kickoff monday at 9am", "Kickoff", "2026-11-30 09:00", "09:30", rolled=True),
    Row("this friday 2pm", "Meeting", "2026-11-27 14:00", "14:30"),
    Row(
        "Ops review next friday at 4",
        "Ops review",
        "2026-12-04 16:00",
        "16:30",
        assumed="4 read as 4:00 pm",
    ),
    Row("Review 09:30 tomorrow", "Review", "2026-11-24 09:30", "10:00"),
    # Ranges.
    Row("Design sync 2-3pm", "Design sync", "2026-11-23 14:00", "15:00"),
    Row("Pairing between 2 and 3pm", "Pairing", "2026-11-23 14:00", "15:00"),
    Row("Lunch and learn 11-1pm", "Lunch and learn", "2026-11-23 11:00", "13:00"),
    Row(
        "Workshop 10:00 - 11:00",
        "Workshop",
        "2026-11-23 10:00",
        "11:00",
        assumed="10–11 read as 10:00 am–11:00 am",
    ),
    Row(
        "Interviews tomorrow from 9 to 5",
        "Interviews",
        "2026-11-24 09:00",
        "17:00",
        assumed="9–5 read as 9:00 am–5:00 pm",
    ),
    # Lengths.
    Row("Deep dive for 1.5 hours", "Deep dive", "2026-11-23 10:00", "11:30", given=False),
    Row("Check-in for half an hour", "Check-in", "2026-11-23 10:00", "10:30", given=False),
    Row("Triage for 90m", "Triage", "2026-11-23 10:00", "11:30", given=False),
    Row("Planning 1h30 tomorrow at 2pm", "Planning", "2026-11-24 14:00", "15:30"),
    Row(
        "Offsite prep for 2 hours and 30 minutes tomorrow at 9am",
        "Offsite prep",
        "2026-11-24 09:00",
        "11:30",
    ),
    Row("Demo in 30 minutes", "Demo", "2026-11-23 10:30", "11:00"),
    Row(
        "Quick call in half an hour",
        "Quick call",
        "2026-11-23 10:30",
        "11:00",
    ),
    Row("Review around 3pm", "Review", "2026-11-23 15:00", "15:30"),
    Row("Sync tomorrow 3pm EST", "Sync", "2026-11-24 15:00", "15:30"),
    # Dates.
    Row("Q3 planning on Jan 5 at 10am", "Q3 planning", "2027-01-05 10:00", "10:30", rolled=True),
    Row(
        "Budget review on 3 March at 9",
        "Budget review",
        "2027-03-03 09:00",
        "09:30",
        rolled=True,
        assumed="9 read as 9:00 am",
    ),
    Row(
        "Intro to Rust friday",
        "Intro to Rust",
        "2026-11-27 09:00",
        "09:30",
        assumed="no time given — 9:00 am assumed",
    ),
    Row("Planning today", "Planning", "2026-11-23 10:00", "10:30", given=False),
    # People.
    Row(
        "Team sync with <at>Alex</at> and <at>Sam</at> tomorrow at 10am",
        "Team sync",
        "2026-11-24 10:00",
        "10:30",
        mentions=(ALEX, SAM),
    ),
    Row(
        "Hand-off with ALEX@contoso.com, sam@contoso.com and alex@contoso.com at 4pm",
        "Hand-off",
        "2026-11-23 16:00",
        "16:30",
        emails=("alex@contoso.com", "sam@contoso.com"),
    ),
    # Words that look like times but name the meeting, and French and Spanish.
    Row("Weekly planning", "Weekly planning", "2026-11-23 10:00", "10:30", given=False),
    Row(
        "Half day workshop",
        "Half day workshop",
        "2026-11-23 10:00",
        "10:30",
        given=False,
    ),
    Row(
        "Review of march numbers tomorrow at 2pm",
        "Review of march numbers",
        "2026-11-24 14:00",
        "14:30",
    ),
    Row(
        "Retro tomorrow morning",
        "Retro",
        "2026-11-24 09:00",
        "09:30",
        assumed="no exact time given — 9:00 am assumed",
    ),
    Row(
        "Standup tue at 3",
        "Standup",
        "2026-11-24 15:00",
        "15:30",
        assumed="3 read as 3:00 pm",
    ),
    Row(
        "Catch-up at three",
        "Catch-up",
        "2026-11-23 15:00",
        "15:30",
        assumed="3 read as 3:00 pm",
    ),
    Row("Review on the 5th at 3pm", "Review", "2026-12-05 15:00", "15:30", rolled=True),
    Row("Christmas party", "Christmas party", "2026-11-23 10:00", "10:30", given=False),
    # Spanish and French.
    Row(
        "Revisión mañana a las 3pm",
        "Revisión",
        "2026-11-24 15:00",
        "15:30",
        culture="es-es",
    ),
    Row(
        "Revisión mañana a las 15:00 durante 45 minutos",
        "Revisión",
        "2026-11-24 15:00",
        "15:45",
        culture="es-es",
    ),
    Row(
        "Planificación hoy de 14:00 a 15:30",
        "Planificación",
        "2026-11-23 14:00",
        "15:30",
        culture="es-es",
    ),
    Row(
        "Réunion demain à 15h pendant 45 minutes",
        "Réunion",
        "2026-11-24 15:00",
        "15:45",
        culture="fr-fr",
    ),
    Row(
        "Atelier de 14h à 15h30",
        "Atelier",
        "2026-11-23 14:00",
        "15:30",
        culture="fr-fr",
    ),
    Row(
        "Point avec <at>Alex</at> demain à 9h30",
        "Point",
        "2026-11-24 09:30",
        "10:00",
        mentions=(ALEX,),
        culture="fr-fr",
    ),
    # Other zones.
    Row(
        "Sprint review at 3",
        "Sprint review",
        "2026-11-24 15:00",
        "15:30",
        rolled=True,
        assumed="3 read as 3:00 pm",
        zone=BERLIN,
        now="2026-11-23 18:30",
    ),
    Row(
        "Retro friday 16:00 for 1h",
        "Retro",
        "2026-11-27 16:00",
        "17:00",
        zone=BERLIN,
        now="2026-11-23 18:30",
    ),
    Row(
        "Standup at 9:30",
        "Standup",
        "2026-11-23 09:30",
        "10:00",
        assumed="9:30 read as 9:30 am",
        zone=KOLKATA,
        now="2026-11-23 09:15",
    ),
    Row(
        "Release sync tomorrow 18:00-19:30",
        "Release sync",
        "2026-11-24 18:00",
        "19:30",
        zone=KOLKATA,
        now="2026-11-23 09:15",
    ),
    # Failures, each with a precise message.
    Row("Review tomorrow at 25:00", error="“25:00” is not a time of day: hours go from 0 to 23"),
    Row("Sync at 13pm", error="“13pm” is not a time: with am or pm the hour goes from 1 to 12"),
    Row("Sync for 0 minutes", error="0 minutes is too short: a meeting lasts at least 5 minutes"),
    Row("Sync for 2 minutes", error="2 minutes is too short"),
    Row("Offsite for 3 days", error="3 days is too long: a meeting lasts at most 24 hours"),
    Row(
        "Sync from 3pm to 2pm", error="“from 3pm to 2pm” ends before it starts (3:00 pm → 2:00 pm)"
    ),
    Row("Party on February 30", error="“February 30” is not a date: February has at most 29 days"),
    Row("Due 4/31 review", error="“April 31” is not a date: April has at most 30 days"),
    Row(
        "Sync from 2pm to 3pm for 45 minutes",
        error="“from 2pm to 3pm” and “45 minutes” both say how long the meeting is",
    ),
    Row(
        "Standup today at 9am",
        error="9:00 am today has already passed (it is 10:00 am now). Try ‘tomorrow at 9:00 am’",
    ),
    Row(
        "Review in 2 hours tomorrow",
        error="“in 2 hours” already says when; it can't go with “tomorrow”",
    ),
    Row(
        "Retro yesterday at 3pm",
        error="Sunday 22 November 2026 is in the past",
    ),
    Row("Kickoff on Jan 1 2020", error="Wednesday 1 January 2020 is in the past"),
    Row("Planning next week", error="“next week” doesn't say a time I can book", ask=True),
    Row("Sync at 3 or 4", error="I couldn't place “or 4”", ask=True),
    Row("Sync at 3pm PST", error="“PST” is not your time zone: I read times in America/New_York"),
    Row(
        "Team sync every monday at 10",
        error="“every monday at 10” repeats; I book one meeting at a time",
    ),
    Row("Sync until 5pm", error="“until 5pm” says only when it ends"),
    Row("x" * 200_000, error="That is 200000 characters; a meet command can have up to 300"),
]


def _local(text: str, zone: ZoneInfo) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=zone)


def _now(row: Row) -> datetime:
    return _local(row.now, row.zone).astimezone(UTC)


def _expected(row: Row) -> ParsedMeeting:
    start = _local(row.start, row.zone)
    end_text = row.end if len(row.end) > 5 else f"{row.start[:10]} {row.end}"
    return ParsedMeeting(
        subject=row.subject,
        start=start.astimezone(UTC),
        end=_local(end_text, row.zone).astimezone(UTC),
        emails=row.emails,
        start_given=row.given,
        rolled_forward=row.rolled,
        assumed=row.assumed,
    )


def _parse(row: Row) -> ParsedMeeting | ParseError:
    return parse_meeting(
        row.text, now=_now(row), zone=row.zone, culture=row.culture, mention_texts=row.mentions
    )


def _row_id(row: Row) -> str:
    return row.text[:50] if len(row.text) < 1000 else f"{len(row.text)} characters"


def test_table_is_big_enough() -> None:
    assert len(ROWS) >= 45
    assert sum(1 for r in ROWS if r.error) >= 8
    assert {r.zone for r in ROWS} == {NEW_YORK, BERLIN, KOLKATA}


@pytest.mark.parametrize("row", ROWS, ids=_row_id)
def test_reads_phrasing(row: Row) -> None:
    result = _parse(row)
    if row.ask:
        assert isinstance(result, Unsure), result
        assert row.error in result.reason
    elif row.error:
        assert isinstance(result, ParseError), result
        assert row.error in result.message
    else:
        assert result == _expected(row)


# --- Daylight saving time -------------------------------------------------------------------


def _utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def test_range_across_the_autumn_change_lasts_three_real_hours() -> None:
    # On 1 November 2026 New York goes from EDT (-4) back to EST (-5) at 2:00.
    result = parse_meeting(
        "Ops window tomorrow from 1am to 3am",
        now=_local("2026-10-31 10:00", NEW_YORK),
        zone=NEW_YORK,
    )
    assert isinstance(result, ParsedMeeting)
    assert (result.start, result.end) == (_utc("2026-11-01 05:00"), _utc("2026-11-01 08:00"))
    assert result.assumed == (
        "1:00 am happens twice on Sunday 1 November 2026 (the clocks go back); the first is used"
    )


def test_length_across_the_autumn_change_is_elapsed_time() -> None:
    result = parse_meeting(
        "Ops tomorrow at 1:30am for 2 hours",
        now=_local("2026-10-31 10:00", NEW_YORK),
        zone=NEW_YORK,
    )
    assert isinstance(result, ParsedMeeting)
    assert (result.start, result.end) == (_utc("2026-11-01 05:30"), _utc("2026-11-01 07:30"))
    assert result.end.astimezone(NEW_YORK).strftime("%H:%M %Z") == "02:30 EST"


def test_rolling_to_tomorrow_keeps_the_wall_clock_across_the_change() -> None:
    result = parse_meeting("Sync at 9am", now=_local("2026-10-31 10:00", NEW_YORK), zone=NEW_YORK)
    assert isinstance(result, ParsedMeeting)
    assert result.rolled_forward
    assert result.start == _utc("2026-11-01 14:00")  # 9:00 EST, not 24 hours after 9:00 EDT


def test_time_skipped_by_the_spring_change_is_moved_and_said() -> None:
    # On 14 March 2027 New York jumps from 2:00 EST to 3:00 EDT.
    now = _local("2027-03-13 10:00", NEW_YORK)
    result = parse_meeting("Backup check tomorrow at 2:30am", now=now, zone=NEW_YORK)
    assert isinstance(result, ParsedMeeting)
    assert result.start == _utc("2027-03-14 07:30")
    assert result.start.astimezone(NEW_YORK).strftime("%H:%M") == "03:30"
    assert result.assumed == (
        "2:30 am does not exist on Sunday 14 March 2027 (the clocks go forward); read as 3:30 am"
    )
    spanning = parse_meeting("Ops tomorrow from 1am to 4am", now=now, zone=NEW_YORK)
    assert isinstance(spanning, ParsedMeeting)
    assert spanning.end - spanning.start == timedelta(hours=2)


# --- Mentions, addresses, hostile text -------------------------------------------------------


def _parse_at_monday(text: str, mentions: tuple[str, ...] = ()) -> ParsedMeeting | ParseError:
    return parse_meeting(
        text, now=_local(MONDAY_10AM, NEW_YORK), zone=NEW_YORK, mention_texts=mentions
    )


def test_stray_mention_tags_never_reach_the_subject() -> None:
    result = _parse_at_monday("Sync <at>Robin</at> <<at>at>x</at> </at> tomorrow at 3pm")
    assert isinstance(result, ParsedMeeting)
    assert "<at" not in result.subject.lower()
    assert result.subject == "Sync x"


def test_mention_text_with_padding_is_still_removed() -> None:
    result = _parse_at_monday(
        "Design\u00a0review with <at>Alex  Doe</at> at 4pm", ("<at>Alex\u00a0 Doe</at>",)
    )
    assert isinstance(result, ParsedMeeting)
    assert result.subject == "Design review"


@pytest.mark.parametrize(
    "text",
    [
        "Design\x00 review\u202e tomorrow at 3pm",
        "Design review \u200btomor\u200brow at 3pm\u2066",
        "\x07Design\x1b review\r\n\ttomorrow at 3pm\x7f",
        "Design review\ud800 tomorrow at 3pm",
    ],
)
def test_control_and_format_characters_are_dropped(text: str) -> None:
    result = _parse_at_monday(text)
    assert isinstance(result, ParsedMeeting)
    assert result.subject == "Design review"
    assert result.start.astimezone(NEW_YORK) == _local("2026-11-24 15:00", NEW_YORK)


@pytest.mark.parametrize(
    "text",
    [
        "x" * 200_000,
        "\x00" * 200_000,
        "1-" * 100_000,
        "<at>" * 50_000,
        "a" * 1999 + " at 3pm",
        "1-" * 150,
        "tomorrow " * 60,
    ],
    ids=["200 KB", "NUL", "numbers", "tags", "just under raw limit", "numbers in 300", "repeats"],
)
def test_huge_or_pathological_text_is_refused_quickly(text: str) -> None:
    # A bound on work, not on a clock the parser reads: this thread's CPU time, so a busy
    # machine or a warm-up thread does not count. Milliseconds when it works; 1 s only fails a
    # runaway (backtracking) parse.
    started = time.thread_time()
    result = _parse_at_monday(text)
    assert time.thread_time() - started < 1.0
    assert isinstance(result, ParsedMeeting | ParseError)


def test_limit_is_on_what_is_read_not_on_mentions() -> None:
    mentions = tuple(f"<at>Person number {n} with a long display name</at>" for n in range(20))
    text = "Planning tomorrow at 3pm with " + ", ".join(mentions)
    assert len(text) > MAX_TEXT_CHARS
    result = _parse_at_monday(text, mentions)
    assert isinstance(result, ParsedMeeting)
    assert result.subject == "Planning"


def test_too_many_numbers_is_refused_with_a_reason() -> None:
    result = _parse_at_monday("Sync " + " ".join(str(n) for n in range(20)))
    assert isinstance(result, ParseError)
    assert "20 numbers" in result.message


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_meeting("sync", now=datetime(2026, 11, 23, 10), zone=NEW_YORK)


# --- Speed and warm-up -----------------------------------------------------------------------


def test_a_command_is_read_in_well_under_a_millisecond() -> None:
    now = _local(MONDAY_10AM, NEW_YORK)
    text = "Design review tomorrow at 3pm for 45 minutes with <at>Alex</at>"
    # A bound on work, in CPU time; 20 times what it measures (~0.1 ms a parse).
    started = time.thread_time()
    for _ in range(200):
        parse_meeting(text, now=now, zone=NEW_YORK, mention_texts=(ALEX,))
    assert (time.thread_time() - started) / 200 < 0.002


def test_the_language_is_read_from_the_words_not_the_locale() -> None:
    now = _local(MONDAY_10AM, NEW_YORK)
    for text in ("Review tomorrow at 3pm", "Revisión mañana a las 3pm", "Réunion demain à 15h"):
        for culture in ("en-us", "es-es", "fr-fr", "de-de"):
            result = parse_meeting(text, now=now, zone=NEW_YORK, culture=culture)
            assert isinstance(result, ParsedMeeting), (text, culture)
            assert result.start.astimezone(NEW_YORK) == _local("2026-11-24 15:00", NEW_YORK)


# --- Properties ------------------------------------------------------------------------------

ZONES = [
    NEW_YORK,
    BERLIN,
    KOLKATA,
    ZoneInfo("UTC"),
    ZoneInfo("Australia/Lord_Howe"),  # half-hour DST shift
    ZoneInfo("America/St_Johns"),  # -3:30
]
TOKENS = [
    "at",
    "3",
    "3pm",
    "9:30",
    "from",
    "to",
    "-",
    "–",
    "for",
    "45",
    "minutes",
    "min",
    "1h30",
    "90m",
    "tomorrow",
    "today",
    "monday",
    "next",
    "this",
    "dec",
    "12/15",
    "noon",
    "midnight",
    "in",
    "2",
    "hours",
    "now",
    "with",
    "and",
    ",",
    "1:1",
    "between",
    "until",
    "am",
    "p.m.",
    "25:00",
    "13pm",
    "2/30",
    "24/7",
    "Q3",
    "yesterday",
    "week",
    "half",
    "an",
    "hour",
    "sync",
    "review",
    "<at>",
    "</at>",
    "<at>Alex</at>",
    "alex@contoso.com",
    "\u202e",
    "\x00",
    "İ",
    "ß",
    "😀",
    "mañana",
    "a las",
    "demain",
    "à",
    "15h",
    "pendant",
    "durante",
    "0",
    "00:00",
    "23:59",
    "12:30",
    "1",
]
texts = st.one_of(
    st.text(max_size=320),
    st.lists(st.sampled_from(TOKENS), max_size=14).map(" ".join),
)
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=texts,
    now=moments,
    zone=st.sampled_from(ZONES),
    culture=st.sampled_from(["en-us", "es-es", "fr-fr", "de-de"]),
)
def test_any_text_gives_a_well_formed_result(
    text: str, now: datetime, zone: ZoneInfo, culture: str
) -> None:
    result = parse_meeting(text, now=now, zone=zone, culture=culture, mention_texts=(ALEX,))
    if isinstance(result, ParseError):
        assert result.message
        return
    if isinstance(result, Unsure):
        assert result.reason
        assert result.subject
        if result.reading is not None:
            assert result.reading.end > result.reading.start
        return
    for moment in (result.start, result.end):
        assert moment.tzinfo is UTC
        assert (moment.second, moment.microsecond) == (0, 0)
    assert result.end > result.start
    assert result.subject
    assert result.subject == result.subject.strip()
    assert "<at" not in result.subject.lower()
    if not result.start_given:
        assert result.start == now.replace(second=0, microsecond=0)


SUBJECTS = [
    "Design review",
    "standup",
    "1:1",
    "Q3 planning",
    "Intro to Rust",
    "Plan for launch",
    "",
]
DAYS = [
    "",
    "today",
    "tomorrow",
    "friday",
    "next monday",
    "this sunday",
    "on Dec 3",
    "12/15",
    "on 3 March",
]
CLOCKS = ["", "at 3", "at 9:30", "16:00", "at 3pm", "11am", "noon", "12:30", "09:15"]
RANGES = [
    "from 2pm to 3:30pm",
    "2-3pm",
    "16:00-17:30",
    "between 2 and 3pm",
    "from 9 to 5",
    "11-12:30",
]
LENGTHS = ["", "for 45 minutes", "for 1h", "for 1.5 hours", "for an hour", "for 90m", "1h30"]
PEOPLE = ["", "with <at>Alex</at>", "with alex@contoso.com"]


@settings(max_examples=200, deadline=None)
@given(
    subject=st.sampled_from(SUBJECTS),
    parts=st.one_of(
        st.tuples(st.sampled_from(DAYS), st.sampled_from(CLOCKS), st.sampled_from(LENGTHS)),
        st.tuples(st.sampled_from(DAYS), st.sampled_from(RANGES)),
    ),
    people=st.sampled_from(PEOPLE),
    order=st.randoms(use_true_random=False),
    now=moments,
    zone=st.sampled_from(ZONES),
)
def test_the_reader_takes_the_common_grammar(
    subject: str,
    parts: tuple[str, ...],
    people: str,
    order: random.Random,
    now: datetime,
    zone: ZoneInfo,
) -> None:
    pieces = [p for p in (*parts, people) if p]
    order.shuffle(pieces)
    text = " ".join([subject, *pieces]).strip()
    result = parse_meeting(text, now=now, zone=zone, mention_texts=(ALEX,))
    assert not isinstance(result, Unsure), (text, result)
    if isinstance(result, ParsedMeeting):
        assert result.subject == (subject or "Meeting")
        assert result.end > result.start
