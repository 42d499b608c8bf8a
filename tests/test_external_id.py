"""Properties of the externalId: the same request gives the same id; any change, a new one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.core.request import MeetingRequest, clean_subject

BASE = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)

subjects = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60
).filter(lambda s: clean_subject(s) != "")
ascii_subjects = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123 -", min_size=1, max_size=60
).filter(lambda s: s.strip() != "")
minutes = st.integers(min_value=0, max_value=60 * 24 * 365)
durations = st.integers(min_value=5, max_value=24 * 60)
ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789:-@.", min_size=1, max_size=40)


def request(
    subject: str = "Design review",
    start: datetime = BASE,
    duration: int = 45,
    conversation: str = "19:abc@thread.v2",
    organizer: str = "user-1",
    tenant: str = "tenant-1",
) -> MeetingRequest:
    return MeetingRequest(
        tenant_id=tenant,
        conversation_id=conversation,
        organizer_id=organizer,
        subject=subject,
        start=start,
        end=start + timedelta(minutes=duration),
    )


@given(subjects, minutes, durations)
def test_the_same_request_always_gives_the_same_id(subject: str, offset: int, length: int) -> None:
    start = BASE + timedelta(minutes=offset)
    assert (
        request(subject, start, length).external_id == request(subject, start, length).external_id
    )


@given(ascii_subjects)
def test_case_and_whitespace_do_not_matter(subject: str) -> None:
    shouted = "  " + " \t ".join(subject.upper().split()) + " "
    assert request(subject).external_id == request(shouted).external_id


@given(subjects)
def test_unicode_case_folds(subject: str) -> None:
    # "Straße" and "STRASSE", "ǅ" and "ǆ": what Unicode case folding calls equal.
    assert request(subject).external_id == request(subject.casefold()).external_id


@given(minutes, minutes)
def test_a_different_start_is_a_different_meeting(a: int, b: int) -> None:
    first, second = (
        request(start=BASE + timedelta(minutes=a)),
        request(start=BASE + timedelta(minutes=b)),
    )
    assert (first.external_id == second.external_id) == (a == b)


@given(durations, durations)
def test_a_different_end_is_a_different_meeting(a: int, b: int) -> None:
    assert (request(duration=a).external_id == request(duration=b).external_id) == (a == b)


@given(ids, ids)
def test_conversation_organizer_and_tenant_are_part_of_the_identity(x: str, y: str) -> None:
    for field in ("conversation", "organizer", "tenant"):
        same = request(**{field: x}).external_id == request(**{field: y}).external_id  # type: ignore[arg-type]
        assert same == (x == y)


def test_a_different_subject_is_a_different_meeting() -> None:
    assert request("Design review").external_id != request("Design reviews").external_id


def test_seconds_and_zones_do_not_matter() -> None:
    later = BASE.replace(second=42).astimezone(datetime.now().astimezone().tzinfo)
    assert request(start=later).external_id == request().external_id


def test_a_channel_reply_belongs_to_its_root_thread() -> None:
    reply = request(conversation="19:abc@thread.tacv2;messageid=1700000000000")
    assert reply.external_id == request(conversation="19:abc@thread.tacv2").external_id


def test_the_id_is_a_uuid5_and_stable_across_releases() -> None:
    # Pinned: a change here would silently give every existing request a second meeting.
    assert request().external_id == "8fa5f538-38da-5e0c-99c9-57617b423dec"
