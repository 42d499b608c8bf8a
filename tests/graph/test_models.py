"""Request serialisation (UTC, attendees, beta-only chatInfo) and lenient meeting parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.core.online_meeting import to_graph_datetime
from bot.graph import Attendee, CreateOrGetRequest, OnlineMeeting

from . import canned

START = datetime(2026, 11, 24, 21, 0, tzinfo=timezone(timedelta(hours=1)))


def test_times_are_sent_in_utc_with_z() -> None:
    request = CreateOrGetRequest(external_id="x", start=START, end=START + timedelta(minutes=30))
    body = request.to_graph_body(include_chat_info=False)
    assert body["startDateTime"] == "2026-11-24T20:00:00Z"
    assert body["endDateTime"] == "2026-11-24T20:30:00Z"
    assert request.start is not None
    assert request.start.tzinfo is UTC


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValidationError):
        CreateOrGetRequest(external_id="x", start=datetime(2026, 11, 24, 20, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        to_graph_datetime(datetime(2026, 11, 24, 20, 0))


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        (None, START, "needs a start"),
        (START, START, "after the start"),
        (START, START - timedelta(minutes=1), "after the start"),
    ],
)
def test_impossible_times_are_rejected(start: datetime | None, end: datetime, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        CreateOrGetRequest(external_id="x", start=start, end=end)


def test_optional_fields_are_left_out() -> None:
    assert CreateOrGetRequest(external_id="only").to_graph_body(include_chat_info=True) == {
        "externalId": "only"
    }


def test_empty_external_id_is_rejected() -> None:
    with pytest.raises(ValidationError):
        CreateOrGetRequest(external_id="")


def test_attendee_identity_only_when_the_object_id_is_known() -> None:
    with_id = Attendee(upn="a@contoso.com", object_id="oid-1", role="presenter")
    without = Attendee(upn="b@contoso.com")
    assert with_id.to_graph() == {
        "identity": {"user": {"id": "oid-1"}},
        "upn": "a@contoso.com",
        "role": "presenter",
    }
    assert without.to_graph() == {"upn": "b@contoso.com", "role": "attendee"}


def test_chat_info_only_when_asked() -> None:
    request = CreateOrGetRequest(external_id="x", chat_thread_id="19:abc@thread.tacv2")
    assert "chatInfo" not in request.to_graph_body(include_chat_info=False)
    assert request.to_graph_body(include_chat_info=True)["chatInfo"] == {
        "threadId": "19:abc@thread.tacv2"
    }


def test_camel_case_aliases_are_accepted_too() -> None:
    request = CreateOrGetRequest.model_validate(
        {"externalId": "x", "chatThreadId": "19:a@thread.tacv2", "attendees": [{"upn": "a@b.c"}]}
    )
    assert request.external_id == "x"
    assert request.chat_thread_id == "19:a@thread.tacv2"


@settings(deadline=None)
@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=-8)), timezone(timedelta(hours=5, minutes=45))]
        ),
    )
)
def test_any_aware_time_round_trips_as_utc(value: datetime) -> None:
    text = to_graph_datetime(value)
    assert text.endswith("Z")
    assert datetime.fromisoformat(text) == value


def test_reference_meeting_parses() -> None:
    meeting = OnlineMeeting.model_validate(canned.MEETING)
    assert meeting.join_web_url == canned.JOIN_WEB_URL
    assert meeting.creation_date_time == datetime(2026, 11, 23, 20, 10, 11, 190916, tzinfo=UTC)
    assert meeting.start_date_time == datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
    assert meeting.join_meeting_id_settings is not None
    assert meeting.join_meeting_id_settings.join_meeting_id == "312 456 789 012"
    assert meeting.audio_conferencing is not None
    assert meeting.audio_conferencing.toll_numbers == ["+1 425-555-0100"]
    assert meeting.audio_conferencing.toll_free_number is None
    assert meeting.video_teleconference_id is None
    assert meeting.participants is not None
    assert [a.upn for a in meeting.participants.attendees] == ["alex@contoso.com"]


def test_no_audio_licence_parses_as_none() -> None:
    meeting = OnlineMeeting.model_validate(canned.NO_AUDIO_LICENCE)
    assert meeting.audio_conferencing is None
    assert meeting.join_meeting_id_settings is None


def test_extra_deprecated_and_misspelled_keys_are_tolerated() -> None:
    meeting = OnlineMeeting.model_validate_json(json.dumps(canned.WITH_EXTRAS))
    audio = meeting.audio_conferencing
    assert audio is not None
    assert audio.conference_id == "804980123"
    # The lists were null: the deprecated singular numbers fill them.
    assert audio.toll_numbers == ["+1 425-555-0100"]
    assert audio.toll_free_numbers == ["+1 800-555-0123"]
    assert meeting.participants is not None
    assert meeting.participants.attendees == []


def test_times_without_offset_are_read_as_utc() -> None:
    meeting = OnlineMeeting.model_validate(
        canned.meeting(startDateTime="2026-11-24T20:00:00.0000000")
    )
    assert meeting.start_date_time == datetime(2026, 11, 24, 20, 0, tzinfo=UTC)


def test_offset_times_are_normalised_to_utc() -> None:
    meeting = OnlineMeeting.model_validate(
        canned.meeting(startDateTime="2026-11-24T12:00:00.1234567-08:00")
    )
    assert meeting.start_date_time == datetime(2026, 11, 24, 20, 0, 0, 123456, tzinfo=UTC)
    assert meeting.start_date_time is not None
    assert meeting.start_date_time.tzinfo is UTC


@pytest.mark.parametrize("missing", ["id", "joinWebUrl"])
def test_a_meeting_needs_id_and_join_url(missing: str) -> None:
    body = canned.meeting()
    del body[missing]
    with pytest.raises(ValidationError):
        OnlineMeeting.model_validate(body)
