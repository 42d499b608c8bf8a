"""Filling the meeting form from a Teams message: its text, the time it names, its people."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.form import DURATION_CHOICES, FormValues, ValidForm, validate_form
from bot.core.parse import ParsedMeeting, parse_meeting
from bot.core.prefill import message_people, message_text, prefill_from_message
from bot.core.request import MAX_SUBJECT

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=NEW_YORK)  # a Monday
MEGAN = ("Megan Bowen", "5f0e1c2d-1111-4222-8333-944455556666")
ALEX = ("Alex Wilber", "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee")
ADELE = ("Adele Vance", "0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f")


def prefill(
    html: str,
    *,
    author: tuple[str, str] | None = MEGAN,
    mentions: list[tuple[str, str]] | None = None,
) -> FormValues:
    return prefill_from_message(
        html, author=author, mentions=mentions or [], now=NOW, zone=NEW_YORK
    )


def test_html_tags_entities_and_mentions() -> None:
    html = (
        '<div><div><p>Can we sync with <at id="0">Alex Wilber</at> about Q3 &amp; the '
        "<strong>budget</strong>&nbsp;tomorrow at 10am?</p><p>Thanks &lt;3</p></div></div>"
    )
    values = prefill(html, mentions=[ALEX])
    assert values == FormValues(
        subject="Can we sync about Q3 & the budget",
        date="2026-11-24",
        start_time="10:00",
        duration_minutes="30",
        attendees=f"{MEGAN[1]},{ALEX[1]}",
        attendee_emails="",
    )


def test_message_text_keeps_what_the_author_wrote() -> None:
    html = (
        '<blockquote itemscope="" itemtype="http://schema.skype.com/Reply" itemid="1">'
        "<strong>Adele</strong><p>Old message at 3pm</p>"
        "<blockquote>nested</blockquote></blockquote>"
        '<p>Agreed,&#160;<at id="0">Alex&nbsp;Wilber</at> &mdash; let&#39;s&nbsp;meet</p>'
        '<attachment id="abc"></attachment><ul><li>one</li><li>two</li></ul>x<br>y'
    )
    assert message_text(html) == (
        "Agreed, Alex Wilber — let's meet\none\ntwo\nx\ny",
        ("Alex Wilber",),
    )


def test_plain_text_is_read_as_it_is() -> None:
    assert message_text("Latency < 200ms & p99 review") == ("Latency < 200ms & p99 review", ())
    values = prefill("Latency < 200ms review tomorrow at 2pm", author=None)
    assert (values.subject, values.date, values.start_time) == (
        "Latency < 200ms review",
        "2026-11-24",
        "14:00",
    )


def test_a_message_naming_tomorrow_at_10am() -> None:
    values = prefill("<p>Design review tomorrow at 10am for 45 minutes. Bring slides.</p>")
    assert (values.subject, values.date, values.start_time, values.duration_minutes) == (
        "Design review",
        "2026-11-24",
        "10:00",
        "45",
    )


def test_the_time_may_come_after_the_first_sentence() -> None:
    values = prefill(
        "<div>Let&#39;s talk about the roadmap.</div>"
        "<div>How about Friday at 2pm for an hour?</div>"
    )
    assert (values.subject, values.date, values.start_time, values.duration_minutes) == (
        "Let's talk about the roadmap",
        "2026-11-27",
        "14:00",
        "60",
    )


@pytest.mark.parametrize(
    "html",
    [
        "<p>Can someone look at the flaky login test?</p>",
        "Budget",
        "<p>The build is broken again, see #4521 and Q3 numbers 1:1</p>",
    ],
)
def test_a_message_without_a_time_leaves_date_and_time_empty(html: str) -> None:
    values = prefill(html)
    assert (values.date, values.start_time, values.duration_minutes) == ("", "", "30")
    assert values.subject


def test_a_length_without_a_time_is_still_used() -> None:
    values = prefill("Pairing session for 90 minutes")
    assert (values.subject, values.date, values.start_time, values.duration_minutes) == (
        "Pairing session",
        "",
        "",
        "90",
    )


@pytest.mark.parametrize(
    ("said", "chosen"),
    [
        ("for 20 minutes", "15"),
        ("for 50 minutes", "45"),
        ("for 100 minutes", "90"),
        ("for 5 hours", "120"),
    ],
)
def test_a_length_not_offered_becomes_the_nearest_choice(said: str, chosen: str) -> None:
    assert prefill(f"Sync tomorrow at 9am {said}").duration_minutes == chosen


def test_a_date_without_a_time_takes_the_commands_assumed_time() -> None:
    values = prefill("Offsite planning on Friday")
    assert (values.subject, values.date, values.start_time) == (
        "Offsite planning",
        "2026-11-27",
        "09:00",
    )


def test_long_text_is_bounded_at_a_word() -> None:
    words = " ".join(f"word{n}" for n in range(200))
    values = prefill(f"<p>{words}</p>")
    assert len(values.subject) <= MAX_SUBJECT
    assert values.subject.endswith("…")
    assert values.subject[:-1].split()[-1].startswith("word")
    assert words.startswith(values.subject[:-1])
    unbroken = prefill("x" * 5000).subject
    assert len(unbroken) == MAX_SUBJECT
    assert unbroken.endswith("x…")


def test_only_a_mention_on_the_first_line_is_skipped_for_the_subject() -> None:
    values = prefill(
        '<p><at id="0">Alex Wilber</at></p><p>Quarterly planning kickoff</p>', mentions=[ALEX]
    )
    assert values.subject == "Quarterly planning kickoff"


def test_an_empty_message_gives_an_empty_subject() -> None:
    values = prefill('<p><img src="x.png"></p>', author=None)
    assert values == FormValues(duration_minutes="30")


def test_control_and_bidi_characters_are_dropped() -> None:
    values = prefill("Re\u202eview\x00 of the \u200bplan")
    assert values.subject == "Review of the plan"


def test_addresses_in_the_message_go_to_the_email_field() -> None:
    values = prefill("Lunch with bob@fabrikam.com and Carol@Contoso.com tomorrow at noon")
    assert values.attendee_emails == "bob@fabrikam.com; carol@contoso.com"
    assert (values.subject, values.start_time) == ("Lunch", "12:00")


def test_author_and_mentions_are_deduplicated_in_order() -> None:
    mentions = [
        ALEX,
        (MEGAN[0], MEGAN[1].upper()),
        ADELE,
        ("Alex again", ALEX[1]),
        ("A bot", "28:bot-id"),
        ("Teams user id", "29:1abc"),
        ("", "  "),
    ]
    values = prefill("Sync", mentions=mentions)
    assert values.attendees == f"{MEGAN[1]},{ALEX[1]},{ADELE[1]}"
    assert message_people(MEGAN, mentions) == (MEGAN, ALEX, ADELE)
    assert message_people(None, [ALEX, ALEX]) == (ALEX,)
    assert prefill("Sync", author=None).attendees == ""


def test_a_prefilled_form_submits_as_the_command_would_create_it() -> None:
    text = "Design review tomorrow at 3pm for 45 minutes"
    values = prefill(f"<p>{text}</p>", mentions=[ALEX])
    result = validate_form(values.model_dump(by_alias=True), now=NOW, zone=NEW_YORK)
    parsed = parse_meeting(text, now=NOW, zone=NEW_YORK)
    assert isinstance(result, ValidForm)
    assert isinstance(parsed, ParsedMeeting)
    assert (result.subject, result.start, result.end) == (parsed.subject, parsed.start, parsed.end)
    assert result.start == datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
    assert result.picked_ids == (MEGAN[1], ALEX[1])


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=400) | st.text(alphabet="<>/&;#apbrdiv =\"'at 0123456789:pm", max_size=200))
def test_any_message_gives_bounded_values(html: str) -> None:
    values = prefill(html)
    assert len(values.subject) <= MAX_SUBJECT
    assert int(values.duration_minutes) in DURATION_CHOICES
    assert bool(values.date) == bool(values.start_time)
