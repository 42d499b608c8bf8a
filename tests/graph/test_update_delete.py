"""GET, PATCH and DELETE of an onlineMeeting: the client against the sandbox, at the wire."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
import pytest

from bot.graph import (
    Attendee,
    CreateOrGetRequest,
    GraphClient,
    GraphNotFoundError,
    GraphThrottledError,
    MeetingOptions,
    MeetingUpdate,
)

from .fakes import ALEX, MEGAN, SandboxHarness

START = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
END = datetime(2026, 11, 24, 20, 45, tzinfo=UTC)
ASKED = CreateOrGetRequest(
    external_id="9a1d2c3b-4e5f-4a6b-8c7d-0e1f2a3b4c5d", subject="Planning", start=START, end=END
)


def client(sandbox: SandboxHarness, session: aiohttp.ClientSession) -> GraphClient:
    return GraphClient(session, sandbox.base_url(), sleep=_no_sleep)


async def _no_sleep(_seconds: float) -> None:
    return None


def bodies(sandbox: SandboxHarness, method: str) -> list[object]:
    return [seen.json for seen in sandbox.received() if seen.method == method]


async def test_patch_sends_only_what_changes_and_merges_it(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    graph = client(sandbox, http_session)
    token = sandbox.token()
    made = (await graph.create_or_get(token, ASKED, budget_s=5)).meeting
    moved = await graph.update(
        token,
        made.id,
        MeetingUpdate(start=START.replace(hour=21), end=END.replace(hour=21)),
        budget_s=5,
    )
    assert bodies(sandbox, "PATCH") == [
        {"startDateTime": "2026-11-24T21:00:00Z", "endDateTime": "2026-11-24T21:45:00Z"}
    ]
    assert (moved.id, moved.join_web_url, moved.subject) == (made.id, made.join_web_url, "Planning")
    assert moved.start_date_time == START.replace(hour=21)

    options = MeetingOptions(lobby_bypass="everyone", record_automatically=True)
    changed = await graph.update(token, made.id, MeetingUpdate(options=options), budget_s=5)
    assert bodies(sandbox, "PATCH")[-1] == {
        "lobbyBypassSettings": {"scope": "everyone"},
        "recordAutomatically": True,
    }
    # Merged: the dial-in bypass setting stays, the time stays moved.
    assert changed.lobby_bypass_settings is not None
    assert changed.lobby_bypass_settings.is_dial_in_bypass_enabled is False
    assert changed.options().lobby_bypass == "everyone"
    assert changed.start_date_time == START.replace(hour=21)
    # createOrGet with the original request now returns the moved meeting.
    again = await graph.create_or_get(token, ASKED, budget_s=5)
    assert not again.created
    assert again.meeting.start_date_time == START.replace(hour=21)
    assert again.meeting.record_automatically is True
    assert (await graph.get(token, made.id, budget_s=5)).record_automatically is True


async def test_attendees_are_replaced_as_a_whole(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    graph = client(sandbox, http_session)
    token = sandbox.token()
    made = (await graph.create_or_get(token, ASKED, budget_s=5)).meeting
    change = MeetingUpdate(attendees=[Attendee(upn=ALEX.upn or "", object_id=ALEX.object_id)])
    after = await graph.update(token, made.id, change, budget_s=5)
    assert after.participants is not None
    assert [a.upn for a in after.participants.attendees] == [ALEX.upn]


async def test_patch_refuses_a_start_without_an_end_and_unknown_properties(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    graph = client(sandbox, http_session)
    token = sandbox.token()
    made = (await graph.create_or_get(token, ASKED, budget_s=5)).meeting
    url = str(graph.meeting_url(made.id))
    headers = {"Authorization": f"Bearer {token}"}
    for body in ({"startDateTime": "2026-11-24T21:00:00Z"}, {"externalId": "other"}):
        async with http_session.patch(url, json=body, headers=headers) as answer:
            assert answer.status == 400
            assert (await answer.json())["error"]["code"] == "BadRequest"
    with pytest.raises(ValueError, match="both a start and an end"):
        MeetingUpdate(start=START)


async def test_delete_answers_204_then_the_meeting_is_gone(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    graph = client(sandbox, http_session)
    token = sandbox.token()
    made = (await graph.create_or_get(token, ASKED, budget_s=5)).meeting
    await graph.delete(token, made.id, budget_s=5)
    assert [s.method for s in sandbox.received()][-1] == "DELETE"
    assert bodies(sandbox, "DELETE") == [None]
    with pytest.raises(GraphNotFoundError):
        await graph.get(token, made.id, budget_s=5)
    with pytest.raises(GraphNotFoundError):
        await graph.update(token, made.id, MeetingUpdate(subject="x"), budget_s=5)
    with pytest.raises(GraphNotFoundError):
        await graph.delete(token, made.id, budget_s=5)
    # The same externalId afterwards is a new meeting, with a link of its own.
    fresh = await graph.create_or_get(token, ASKED, budget_s=5)
    assert fresh.created
    assert fresh.meeting.join_web_url != made.join_web_url


async def test_only_the_organizer_can_change_or_delete(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    graph = client(sandbox, http_session)
    made = (await graph.create_or_get(sandbox.token(MEGAN), ASKED, budget_s=5)).meeting
    other = sandbox.token(ALEX)
    with pytest.raises(GraphNotFoundError):
        await graph.update(other, made.id, MeetingUpdate(subject="Mine now"), budget_s=5)
    with pytest.raises(GraphNotFoundError):
        await graph.delete(other, made.id, budget_s=5)
    assert (await graph.get(sandbox.token(MEGAN), made.id, budget_s=5)).subject == "Planning"


async def test_throttling_is_retried_then_explained(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    graph = client(sandbox, http_session)
    token = sandbox.token()
    made = (await graph.create_or_get(token, ASKED, budget_s=5)).meeting
    sandbox.faults.throttle(0.01)
    await graph.update(token, made.id, MeetingUpdate(subject="Later"), budget_s=5)
    assert len(bodies(sandbox, "PATCH")) == 2
    sandbox.faults.throttle(60, times=4)
    with pytest.raises(GraphThrottledError) as raised:
        await graph.delete(token, made.id, budget_s=2)
    assert "60" in raised.value.user_message


async def test_a_retried_delete_whose_first_answer_was_lost_succeeds(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    graph = client(sandbox, http_session)
    token = sandbox.token()
    made = (await graph.create_or_get(token, ASKED, budget_s=5)).meeting
    sandbox.faults.server_error(503, after_processing=True)
    await graph.delete(token, made.id, budget_s=5)
    with pytest.raises(GraphNotFoundError):
        await graph.get(token, made.id, budget_s=5)


def test_an_update_is_checked_before_sending() -> None:
    with pytest.raises(ValueError, match="end time must be after"):
        MeetingUpdate(start=END, end=START)
    assert MeetingUpdate().to_graph_body() == {}


async def test_an_id_with_a_slash_reaches_the_meeting_route(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    graph = client(sandbox, http_session)
    with pytest.raises(GraphNotFoundError):
        await graph.get(sandbox.token(), "MSo1/ZjBl+Li4u==", budget_s=5)
    assert sandbox.received()[-1].path.endswith("/onlineMeetings/MSo1/ZjBl+Li4u==")
