"""The meeting form: validation of submissions, the card and its snapshots, and agreement with
the typed meet command."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.core.form import (
    DURATION_CHOICES,
    FIELDS,
    OPTION_FIELDS,
    FormValues,
    InvalidForm,
    ValidForm,
    form_values,
    validate_form,
)
from bot.core.online_meeting import GRAPH_DEFAULT_OPTIONS, MeetingOptions
from bot.core.parse import ParsedMeeting, parse_meeting
from bot.core.request import MAX_ATTENDEES, MAX_SUBJECT, MeetingRequest
from cards.form import FormCard, meeting_form_card
from tests.support.form import ALEX, NEW_YORK, NOW, TODAY
from tests.support.snapshots import check_snapshot

BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")
ST_JOHNS = ZoneInfo("America/St_Johns")
TOKYO = ZoneInfo("Asia/Tokyo")
ADELE = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
GOOD: dict[str, Any] = {
    "meetbot": "createMeeting",
    "subject": "Design review",
    "date": "2026-11-24",
    "startTime": "15:00",
    "durationMinutes": "45",
    "attendees": "",
    "attendeeEmails": "",
}


def submit(
    zone: ZoneInfo = NEW_YORK, now: datetime = NOW, **changes: Any
) -> ValidForm | InvalidForm:
    return validate_form({**GOOD, **changes}, now=now, zone=zone)


def invalid(**changes: Any) -> InvalidForm:
    result = submit(**changes)
    assert isinstance(result, InvalidForm), result
    return result


def inputs(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in card["body"] if e["type"].startswith("Input.")}


def error_under(card: dict[str, Any], field: str) -> str | None:
    """The text of the red block directly below the input `field`, if there is one."""
    body = card["body"]
    index = next(i for i, e in enumerate(body) if e.get("id") == field)
    after = body[index + 1] if index + 1 < len(body) else {}
    if after.get("type") == "TextBlock" and after.get("color") == "attention":
        assert after["id"] == f"{field}Error"
        return str(after["text"])
    return None


# Validation: what passes.


def test_a_complete_form_becomes_utc_times_at_minute_precision() -> None:
    result = submit(
        attendees=f"{ALEX.upper()}, {ADELE},{ALEX}",
        attendeeEmails="Bob@Fabrikam.com; carol@contoso.com,\nbob@fabrikam.com",
    )
    assert result == ValidForm(
        subject="Design review",
        start=datetime(2026, 11, 24, 20, 0, tzinfo=UTC),
        end=datetime(2026, 11, 24, 20, 45, tzinfo=UTC),
        picked_ids=(ALEX, ADELE),
        emails=("bob@fabrikam.com", "carol@contoso.com"),
    )
    assert result.start.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("changes", "check"),
    [
        pytest.param(
            {"durationMinutes": 120}, lambda r: r.end - r.start == timedelta(hours=2), id="int"
        ),
        pytest.param({"startTime": "15:00:00"}, lambda r: r.start.hour == 20, id="seconds"),
        pytest.param({"startTime": "9:05"}, lambda r: r.start.minute == 5, id="one-digit-hour"),
        pytest.param(
            {"subject": "  Design\t review\u202e\x00  "},
            lambda r: r.subject == "Design review",
            id="subject-cleaned",
        ),
        pytest.param(
            {"subject": "x" * MAX_SUBJECT}, lambda r: len(r.subject) == MAX_SUBJECT, id="200"
        ),
        pytest.param(
            {"attendeeEmails": "Bob Smith <bob@fabrikam.com>; x@a.io y@b.co"},
            lambda r: r.emails == ("bob@fabrikam.com", "x@a.io", "y@b.co"),
            id="named-and-spaced-emails",
        ),
        pytest.param(
            {"date": "2026-11-23", "startTime": "09:56"},
            lambda r: r.start == datetime(2026, 11, 23, 14, 56, tzinfo=UTC),
            id="started-minutes-ago",
        ),
        pytest.param(
            {"attendees": None, "attendeeEmails": None}, lambda r: r.emails == (), id="null-lists"
        ),
        pytest.param(
            {"attendees": ",".join([ALEX] * 80)},
            lambda r: r.picked_ids == (ALEX,),
            id="duplicate-picks-count-once",
        ),
        pytest.param(
            {"reminderMinutes": "usual"}, lambda r: r.reminder_minutes is None, id="usual-reminder"
        ),
        pytest.param({"reminderMinutes": "0"}, lambda r: r.reminder_minutes == 0, id="no-reminder"),
    ],
)
def test_accepted_variations(changes: dict[str, Any], check: Any) -> None:
    result = submit(**changes)
    assert isinstance(result, ValidForm), result
    assert check(result)


def test_exactly_the_limit_of_attendees_is_allowed() -> None:
    ids = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(30)]
    emails = [f"p{n}@contoso.com" for n in range(MAX_ATTENDEES - 30)]
    result = submit(attendees=",".join(ids), attendeeEmails="; ".join(emails))
    assert isinstance(result, ValidForm)
    assert len(result.picked_ids) + len(result.emails) == MAX_ATTENDEES


# Validation: what is refused, and on which field.


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"subject": ""}, "subject", "Give the meeting a subject"),
        ({"subject": " \u202e\x00\u200b\ud800 "}, "subject", "Give the meeting a subject"),
        ({"subject": "x" * (MAX_SUBJECT + 1)}, "subject", f"{MAX_SUBJECT + 1} characters long"),
        ({"subject": "y" * 1_000_000}, "subject", "1000000 characters long"),
        ({"subject": ["Design"]}, "subject", "must be text, not list"),
        ({"date": ""}, "date", "Pick the day"),
        (
            {"date": "2026-02-30"},
            "date",
            "2026-02-30 is not a date: February 2026 has days 01 to 28",
        ),
        ({"date": "2028-02-30"}, "date", "February 2028 has days 01 to 29"),
        ({"date": "2026-13-01"}, "date", "months go from 01 to 12"),
        ({"date": "2026-11-00"}, "date", "November 2026 has days 01 to 30"),
        ({"date": "0000-01-01"}, "date", "years start at 0001"),
        ({"date": "24/11/2026"}, "date", "“24/11/2026” is not a date. Give it as YYYY-MM-DD"),
        ({"date": "２０２６-１１-２４"}, "date", "is not a date. Give it as YYYY-MM-DD"),
        ({"date": "2026-11-24\x00"}, "date", "“2026-11-24” is not a date"),
        ({"date": "2026-11-22"}, "date", "Sunday 22 November 2026 is in the past"),
        ({"date": "2040-01-01"}, "date", "too far ahead"),
        ({"date": "9999-12-31", "startTime": "23:59"}, "date", "too far ahead"),
        ({"date": {"y": 2026}}, "date", "must be text, not dict"),
        ({"startTime": ""}, "startTime", "Pick the time"),
        ({"startTime": "25:00"}, "startTime", "25:00 is not a time of day"),
        ({"startTime": "10:60"}, "startTime", "10:60 is not a time of day"),
        ({"startTime": "3pm"}, "startTime", "“3pm” is not a time. Give it as HH:MM"),
        ({"startTime": 1500}, "startTime", "“1500” is not a time"),
        (
            {"date": "2026-11-23", "startTime": "09:00"},
            "startTime",
            "9:00 am today has already passed",
        ),
        ({"durationMinutes": ""}, "durationMinutes", "Choose how long"),
        ({"durationMinutes": "20"}, "durationMinutes", "20 minutes is not one of the lengths"),
        ({"durationMinutes": "abc"}, "durationMinutes", "“abc” is not a length"),
        ({"durationMinutes": "-30"}, "durationMinutes", "“-30” is not a length"),
        ({"durationMinutes": "٣٠"}, "durationMinutes", "is not a length"),
        ({"durationMinutes": 45.0}, "durationMinutes", "must be text, not float"),
        ({"durationMinutes": True}, "durationMinutes", "must be text, not bool"),
        ({"attendees": "Alex Wilber"}, "attendees", "“Alex Wilber” is not someone from the people"),
        ({"attendees": [ALEX]}, "attendees", "must be text, not list"),
        (
            {"attendeeEmails": "alex@contoso.com; bob@, carol ,x@@y.com"},
            "attendeeEmails",
            "“bob@”, “carol”, “x@@y.com” are not e-mail addresses",
        ),
        ({"attendeeEmails": "bob@contoso"}, "attendeeEmails", "“bob@contoso” is not an e-mail"),
        (
            {"attendeeEmails": "a@b.co;" * 4000},
            "attendeeEmails",
            f"too many addresses: a meeting made here can have up to {MAX_ATTENDEES}",
        ),
        (
            {"attendees": ",".join(f"{n:08x}-0000-4000-8000-000000000000" for n in range(51))},
            "attendees",
            f"That is 51 people; a meeting made here can have up to {MAX_ATTENDEES}",
        ),
        (
            {
                "attendees": ",".join(f"{n:08x}-0000-4000-8000-000000000000" for n in range(30)),
                "attendeeEmails": ",".join(f"p{n}@contoso.com" for n in range(21)),
            },
            "attendeeEmails",
            "That is 51 people (30 picked and 21 typed)",
        ),
    ],
)
def test_each_problem_is_named_on_its_field(changes: dict[str, Any], field: str, says: str) -> None:
    result = invalid(**changes)
    assert set(result.errors) == {field}, result.errors
    assert says in result.errors[field]


def test_more_than_three_bad_addresses_are_summarised() -> None:
    result = invalid(attendeeEmails="a, b, c, d, e")
    assert result.errors["attendeeEmails"].startswith("“a”, “b”, “c” and 2 more are not")


def test_every_problem_is_reported_at_once() -> None:
    result = validate_form(
        {"subject": "", "date": "2026-02-30", "startTime": "25:00", "durationMinutes": "7"},
        now=NOW,
        zone=NEW_YORK,
    )
    assert isinstance(result, InvalidForm)
    assert set(result.errors) == {"subject", "date", "startTime", "durationMinutes"}


def test_missing_fields_and_non_mappings_are_errors_not_exceptions() -> None:
    result = validate_form({}, now=NOW, zone=NEW_YORK)
    assert isinstance(result, InvalidForm)
    assert set(result.errors) == {"subject", "date", "startTime", "durationMinutes"}
    odd: Any = ["subject", "x"]
    assert isinstance(validate_form(odd, now=NOW, zone=NEW_YORK), InvalidForm)


def test_a_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        validate_form(GOOD, now=datetime(2026, 11, 23, 10, 0), zone=NEW_YORK)


def test_past_is_judged_in_the_users_zone() -> None:
    # 23:30 on the 23rd in New York is already the 24th in Berlin and in UTC.
    late = datetime(2026, 11, 23, 23, 30, tzinfo=NEW_YORK)
    tonight: dict[str, Any] = {"date": "2026-11-23", "startTime": "23:45"}
    assert isinstance(submit(now=late, **tonight), ValidForm)
    assert invalid(now=late, zone=BERLIN, **tonight).errors.keys() == {"date"}


def test_a_time_the_clocks_skip_is_refused_with_the_nearest_real_one() -> None:
    spring = datetime(2026, 3, 1, 12, 0, tzinfo=NEW_YORK)
    result = submit(now=spring, date="2026-03-08", startTime="02:30")
    assert isinstance(result, InvalidForm)
    assert result.errors == {
        "startTime": "2:30 am does not exist on Sunday 8 March 2026 in America/New_York: the "
        "clocks go forward then. Pick another time, e.g. 3:30 am."
    }
    assert isinstance(submit(now=spring, date="2026-03-08", startTime="03:00"), ValidForm)


def test_a_time_the_clocks_repeat_is_its_first_occurrence() -> None:
    autumn = datetime(2026, 10, 30, 12, 0, tzinfo=NEW_YORK)
    result = submit(now=autumn, date="2026-11-01", startTime="01:30", durationMinutes="60")
    assert isinstance(result, ValidForm)
    assert result.start == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 1:30 EDT, not EST
    assert result.end == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 1:30 EST, 60 minutes on


# The values typed come back.


def test_values_are_kept_bounded_and_cleaned() -> None:
    result = invalid(
        subject="Plan\x00ning " + "z" * 10_000, attendees=7, date=["x"], junk="ignored"
    )
    assert result.values.subject.startswith("Planning z")
    assert len(result.values.subject) == 4000 - 1
    assert result.values.attendees == "7"
    assert result.values.date == ""
    assert result.values.start_time == "15:00"
    assert form_values({"startTime": "10:00", "other": 1}) == FormValues(start_time="10:00")


def test_form_values_use_the_card_ids() -> None:
    values = FormValues(start_time="10:00", duration_minutes="30", attendee_emails="a@b.co")
    dumped = values.model_dump(by_alias=True)
    assert set(dumped) == set(FIELDS)
    assert FormValues.model_validate(dumped) == values
    with pytest.raises(ValidationError):
        FormValues.model_validate({"meetbot": "createMeeting"})


def test_the_card_comes_back_with_what_was_typed_and_errors_under_their_fields() -> None:
    data = {
        "subject": "Design review",
        "date": "2026-02-30",
        "startTime": "15:30",
        "durationMinutes": "90",
        "attendees": ALEX,
        "attendeeEmails": "bob@fabrikam.com; carol",
    }
    result = validate_form(data, now=NOW, zone=NEW_YORK)
    assert isinstance(result, InvalidForm)
    card = meeting_form_card(
        result.values,
        result.errors,
        today=TODAY,
        message="Two things need fixing.",
        people=[("Alex Wilber", ALEX), ("Not picked", ADELE)],
    )
    fields = inputs(card)
    assert fields["subject"]["value"] == "Design review"
    assert "value" not in fields["date"]  # not a real date: named in the error instead
    assert fields["startTime"]["value"] == "15:30"
    assert fields["durationMinutes"]["value"] == "90"
    assert fields["attendees"]["value"] == ALEX
    assert fields["attendees"]["choices"] == [{"title": "Alex Wilber", "value": ALEX}]
    assert fields["attendeeEmails"]["value"] == "bob@fabrikam.com; carol"
    assert error_under(card, "date") == "2026-02-30 is not a date: February 2026 has days 01 to 28."
    assert error_under(card, "attendeeEmails") is not None
    for field in ("subject", "startTime", "durationMinutes", "attendees"):
        assert error_under(card, field) is None
    assert card["body"][0] == {
        "type": "TextBlock",
        "text": "Two things need fixing.",
        "wrap": True,
        "weight": "bolder",
        "color": "attention",
    }


def test_user_text_in_errors_cannot_become_markdown() -> None:
    result = invalid(attendeeEmails="[click](https://evil.example)")
    card = meeting_form_card(result.values, result.errors, today=TODAY)
    text = error_under(card, "attendeeEmails") or ""
    # Escaped brackets: the text can never become a link.
    assert "\\[click\\](https://evil.example)" in text


@pytest.mark.parametrize(
    ("typed", "shown"),
    [("9:05", "09:05"), ("15:00:00", "15:00"), ("25:00", None), ("3pm", None), ("１0:00", None)],
)
def test_only_real_times_are_put_back_in_the_time_input(typed: str, shown: str | None) -> None:
    card = meeting_form_card(FormValues(start_time=typed), today=TODAY)
    assert inputs(card)["startTime"].get("value") == shown


def test_an_impossible_duration_shows_the_default_choice() -> None:
    card = meeting_form_card(FormValues(duration_minutes="7"), today=TODAY)
    assert inputs(card)["durationMinutes"]["value"] == "30"


# The options section.


def test_options_left_as_graphs_defaults_are_not_chosen() -> None:
    untouched = submit()
    assert isinstance(untouched, ValidForm)
    assert untouched.options is None
    as_shown = submit(
        lobbyBypass="organization",
        allowedPresenters="everyone",
        recordAutomatically="false",
        isEntryExitAnnounced="true",
        allowMeetingChat="enabled",
    )
    assert isinstance(as_shown, ValidForm)
    assert as_shown.options is None


def test_only_options_that_differ_from_graphs_defaults_are_chosen() -> None:
    result = submit(
        lobbyBypass="everyone",
        allowedPresenters="everyone",
        recordAutomatically="true",
        isEntryExitAnnounced="true",
        allowMeetingChat="limited",
    )
    assert isinstance(result, ValidForm)
    assert result.options == MeetingOptions(
        lobby_bypass="everyone", record_automatically=True, allow_meeting_chat="limited"
    )
    assert result.options.to_graph_body() == {
        "lobbyBypassSettings": {"scope": "everyone"},
        "recordAutomatically": True,
        "allowMeetingChat": "limited",
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lobbyBypass", "anyone"),
        ("allowedPresenters", 3),
        ("recordAutomatically", "yes"),
        ("isEntryExitAnnounced", ["true"]),
        ("allowMeetingChat", "on"),
    ],
)
def test_an_option_that_is_none_of_the_choices_is_refused_on_its_field(
    field: str, value: Any
) -> None:
    result = invalid(**{field: value})
    assert result.errors == {field: "Choose one of the choices offered."}
    card = meeting_form_card(result.values, result.errors, today=TODAY)
    assert error_under(card, field) == "Choose one of the choices offered."
    # The form comes back showing Graph's default for it, not the bad value.
    shown = inputs(card)[field]["value"]
    assert shown in {c["value"] for c in inputs(card)[field]["choices"]}


def test_the_form_shows_graphs_defaults_then_what_was_chosen() -> None:
    empty = inputs(meeting_form_card(today=TODAY))
    assert {k: empty[k]["value"] for k in OPTION_FIELDS} == {
        "lobbyBypass": GRAPH_DEFAULT_OPTIONS.lobby_bypass,
        "allowedPresenters": "everyone",
        "recordAutomatically": "false",
        "isEntryExitAnnounced": "true",
        "allowMeetingChat": "enabled",
    }
    refused = invalid(subject="", lobbyBypass="invited", recordAutomatically=True)
    again = inputs(meeting_form_card(refused.values, refused.errors, today=TODAY))
    assert again["lobbyBypass"]["value"] == "invited"
    assert again["recordAutomatically"]["value"] == "true"


def test_reschedule_has_no_options_section() -> None:
    card = meeting_form_card(today=TODAY, heading="Reschedule", with_options=False)
    assert not set(inputs(card)) & set(OPTION_FIELDS)


# The card's shape.


def test_the_empty_form_has_the_exact_ids_types_and_requirements() -> None:
    card = meeting_form_card(today=TODAY)
    fields = inputs(card)
    assert list(fields) == list(FIELDS)
    assert {k: v["type"] for k, v in fields.items()} == {
        "subject": "Input.Text",
        "date": "Input.Date",
        "startTime": "Input.Time",
        "durationMinutes": "Input.ChoiceSet",
        "reminderMinutes": "Input.ChoiceSet",
        "attendees": "Input.ChoiceSet",
        "attendeeEmails": "Input.Text",
        **dict.fromkeys(OPTION_FIELDS, "Input.ChoiceSet"),
    }
    required = {k for k, v in fields.items() if v.get("isRequired")}
    assert required == {"subject", "date", "startTime", "durationMinutes"}
    # Not required, so no client-side message: every choice, the usual one included, is valid.
    assert all(
        v["label"] and (v.get("errorMessage") or k == "reminderMinutes" or k in OPTION_FIELDS)
        for k, v in fields.items()
    )
    reminder = fields["reminderMinutes"]
    # Every choice has a value (Adaptive Cards require it): "usual" is the default lead time.
    assert reminder["value"] == "usual"
    assert [(c["value"], c["title"]) for c in reminder["choices"]] == [
        ("usual", "The usual reminder"),
        ("0", "No reminder"),
        ("5", "5 minutes before"),
        ("10", "10 minutes before"),
        ("15", "15 minutes before"),
        ("30", "30 minutes before"),
        ("60", "1 hour before"),
    ]
    assert fields["subject"]["maxLength"] == MAX_SUBJECT
    assert fields["date"] == {
        "type": "Input.Date",
        "id": "date",
        "label": "Date",
        "value": "2026-11-23",
        "min": "2026-11-23",
        "isRequired": True,
        "errorMessage": "Pick the day of the meeting, today or later.",
    }
    duration = fields["durationMinutes"]
    assert duration["style"] == "compact"
    assert duration["value"] == "30"
    assert [(c["value"], c["title"]) for c in duration["choices"]] == [
        ("15", "15 minutes"),
        ("30", "30 minutes"),
        ("45", "45 minutes"),
        ("60", "1 hour"),
        ("90", "1 hour 30 minutes"),
        ("120", "2 hours"),
    ]
    assert [int(c["value"]) for c in duration["choices"]] == list(DURATION_CHOICES)
    assert "e-mail" in fields["attendeeEmails"]["label"]
    assert "@" in fields["attendeeEmails"]["placeholder"]
    assert ";" in fields["attendeeEmails"]["placeholder"]


def test_the_people_picker_is_teams_dotted_choices_data_key() -> None:
    picker = inputs(meeting_form_card(today=TODAY))["attendees"]
    assert picker["isMultiSelect"] is True
    assert picker["style"] == "filtered"
    assert picker["choices"] == []
    assert picker["choices.data"] == {"type": "Data.Query", "dataset": "graph.microsoft.com/users"}
    assert '"choices.data": {"type": "Data.Query"' in json.dumps(picker)
    assert "choicesData" not in json.dumps(picker)


def test_submit_is_action_execute_falling_back_to_action_submit() -> None:
    card = meeting_form_card(today=TODAY)
    assert card["actions"] == [
        {
            "type": "Action.Execute",
            "title": "Create meeting",
            "verb": "createMeeting",
            "data": {"meetbot": "createMeeting"},
            "style": "positive",
            "fallback": {
                "type": "Action.Submit",
                "title": "Create meeting",
                "data": {"meetbot": "createMeeting"},
                "style": "positive",
            },
        }
    ]


def test_the_task_module_form_has_the_same_body_and_a_plain_submit() -> None:
    values = FormValues(subject="Roadmap", date="2026-11-27", start_time="14:00")
    chat = meeting_form_card(values, today=TODAY)
    task = meeting_form_card(values, today=TODAY, for_task_module=True)
    assert task["body"] == chat["body"]
    assert task["actions"] == [
        {
            "type": "Action.Submit",
            "title": "Create meeting",
            "data": {"meetbot": "createMeeting"},
            "style": "positive",
        }
    ]


def test_the_zone_is_shown_by_the_start_time() -> None:
    card = meeting_form_card(today=TODAY, zone_name="Europe/Berlin")
    assert inputs(card)["startTime"]["label"] == "Start time (Europe/Berlin)"


def test_errors_for_unknown_fields_are_shown_at_the_top() -> None:
    card = meeting_form_card(errors={"form": "Something else went wrong."}, today=TODAY)
    assert card["body"][0]["text"] == "Something else went wrong."
    assert "id" not in card["body"][0]


def test_cards_round_trip_through_the_typed_models() -> None:
    result = invalid(subject="", date="2026-02-30")
    for card in (
        meeting_form_card(today=TODAY),
        meeting_form_card(result.values, result.errors, today=TODAY, message="Fix"),
        meeting_form_card(today=TODAY, for_task_module=True),
    ):
        assert card["version"] == "1.5"
        assert FormCard.from_wire(card).to_dict() == card
        assert "None" not in json.dumps(card)
    bad = meeting_form_card(today=TODAY)
    bad["body"][1]["colour"] = "red"
    with pytest.raises(ValueError, match="colour"):
        FormCard.from_wire(bad)
    bad = meeting_form_card(today=TODAY)
    bad["body"][1]["spacing"] = "huge"
    with pytest.raises(ValueError, match="huge"):
        FormCard.from_wire(bad)
    bad = meeting_form_card(today=TODAY)
    bad["body"][1]["type"] = "Input.Slider"
    with pytest.raises(ValueError, match=r"Input\.Slider"):
        FormCard.from_wire(bad)


def test_snapshots() -> None:
    check_snapshot("form_empty", meeting_form_card(today=TODAY))
    result = validate_form(
        {
            "subject": "",
            "date": "2026-11-22",
            "startTime": "25:00",
            "durationMinutes": "45",
            "attendees": f"{ALEX},Alex Wilber",
            "attendeeEmails": "bob@fabrikam.com; carol",
        },
        now=NOW,
        zone=NEW_YORK,
    )
    assert isinstance(result, InvalidForm)
    card = meeting_form_card(
        result.values,
        result.errors,
        today=TODAY,
        message="Some fields need fixing.",
        zone_name=NEW_YORK.key,
    )
    check_snapshot("form_errors", card)


# The form and the typed command agree.


@pytest.mark.parametrize(
    ("text", "zone", "now", "form"),
    [
        (
            "Design review tomorrow at 3pm for 45 minutes",
            NEW_YORK,
            NOW,
            ("Design review", "2026-11-24", "15:00", "45"),
        ),
        (
            "Budget sync on Dec 3 from 2pm to 3:30pm",
            BERLIN,
            datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN),
            ("Budget sync", "2026-12-03", "14:00", "90"),
        ),
        (
            "Standup friday at 9:15am for 15 minutes",
            KOLKATA,
            datetime(2026, 11, 23, 10, 0, tzinfo=KOLKATA),
            ("Standup", "2026-11-27", "09:15", "15"),
        ),
        (
            "Retro tomorrow at 4:30pm for 2 hours",
            ST_JOHNS,
            datetime(2026, 11, 23, 10, 0, tzinfo=ST_JOHNS),
            ("Retro", "2026-11-24", "16:30", "120"),
        ),
        (
            "Late call tomorrow at 11:30pm for 1 hour",
            TOKYO,
            datetime(2026, 11, 23, 10, 0, tzinfo=TOKYO),
            ("Late call", "2026-11-24", "23:30", "60"),
        ),
        (
            "Ops handover on Nov 1 at 1:30am for an hour",
            NEW_YORK,
            datetime(2026, 10, 30, 12, 0, tzinfo=NEW_YORK),
            ("Ops handover", "2026-11-01", "01:30", "60"),
        ),
    ],
    ids=["new-york", "berlin-range", "kolkata-weekday", "st-johns", "tokyo-midnight", "dst-repeat"],
)
def test_the_form_and_the_command_give_the_same_request(
    text: str, zone: ZoneInfo, now: datetime, form: tuple[str, str, str, str]
) -> None:
    subject, day, clock, minutes = form
    parsed = parse_meeting(text, now=now, zone=zone)
    assert isinstance(parsed, ParsedMeeting), parsed
    filled = validate_form(
        {"subject": subject, "date": day, "startTime": clock, "durationMinutes": minutes},
        now=now,
        zone=zone,
    )
    assert isinstance(filled, ValidForm), filled
    assert (filled.subject, filled.start, filled.end) == (parsed.subject, parsed.start, parsed.end)

    def request(subject: str, start: datetime, end: datetime) -> MeetingRequest:
        return MeetingRequest(
            tenant_id="t",
            conversation_id="19:abc@thread.v2",
            organizer_id="o",
            subject=subject,
            start=start,
            end=end,
        )

    by_form = request(filled.subject, filled.start, filled.end)
    by_command = request(parsed.subject, parsed.start, parsed.end)
    assert by_form == by_command
    assert by_form.external_id == by_command.external_id


def test_at_the_clocks_gap_the_command_reads_forward_and_the_form_asks() -> None:
    spring = datetime(2026, 3, 1, 12, 0, tzinfo=NEW_YORK)
    parsed = parse_meeting("Ops handover on Mar 8 at 2:30am", now=spring, zone=NEW_YORK)
    assert isinstance(parsed, ParsedMeeting)
    assert "does not exist" in (parsed.assumed or "")
    filled = submit(now=spring, date="2026-03-08", startTime="02:30")
    assert isinstance(filled, InvalidForm)
    assert "3:30 am" in filled.errors["startTime"]  # the time the command would have used
    assert parsed.start.astimezone(NEW_YORK).strftime("%H:%M") == "03:30"


# Whatever arrives, a precise answer and never an exception.

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text()
    | st.text(alphabet="0123456789-:;,@. <>\x00\u202e\u200b٣", max_size=40)
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
)
_ZONES = st.sampled_from([NEW_YORK, BERLIN, KOLKATA, ST_JOHNS, TOKYO, ZoneInfo("UTC")])


def _check_answer(data: dict[Any, Any], result: ValidForm | InvalidForm) -> None:
    if isinstance(result, InvalidForm):
        assert result.errors
        assert set(result.errors) <= set(FIELDS)
        assert all(isinstance(m, str) and m for m in result.errors.values())
        card = meeting_form_card(result.values, result.errors, today=TODAY)
        json.dumps(card, ensure_ascii=False).encode("utf-8")
        assert FormCard.from_wire(card).to_dict() == card
    else:
        assert result.start.tzinfo is UTC
        assert result.start.second == 0
        assert result.start >= NOW - timedelta(minutes=5)
        assert int((result.end - result.start).total_seconds() // 60) in DURATION_CHOICES
        assert 1 <= len(result.subject) <= MAX_SUBJECT
        assert len(result.picked_ids) + len(result.emails) <= MAX_ATTENDEES


@pytest.mark.slow  # several seconds: large generated dicts
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.dictionaries(st.sampled_from([*FIELDS, "meetbot", "x"]) | st.text(), _VALUES),
    zone=_ZONES,
)
def test_arbitrary_dicts_never_raise(data: dict[Any, Any], zone: ZoneInfo) -> None:
    _check_answer(data, validate_form(data, now=NOW, zone=zone))


@settings(max_examples=300, deadline=None)
@given(
    day=st.dates(min_value=date(2026, 11, 20), max_value=date(2027, 1, 5)).map(date.isoformat),
    hour=st.integers(0, 25),
    minute=st.integers(0, 61),
    minutes=st.sampled_from(["15", "30", "45", "60", "90", "120", "20", "", "x"]),
    subject=st.text(max_size=220),
    zone=_ZONES,
)
def test_plausible_submissions_are_valid_or_precisely_refused(
    day: str, hour: int, minute: int, minutes: str, subject: str, zone: ZoneInfo
) -> None:
    data = {
        "subject": subject,
        "date": day,
        "startTime": f"{hour:02d}:{minute:02d}",
        "durationMinutes": minutes,
    }
    result = validate_form(data, now=NOW, zone=zone)
    _check_answer(data, result)
    if isinstance(result, ValidForm):
        local = result.start.astimezone(zone)
        assert (local.date().isoformat(), local.hour, local.minute) == (day, hour, minute)
