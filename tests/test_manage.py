"""Reschedule, cancel and options from the meeting card, at the wire: the bot on loopback, the
Graph sandbox on its own server recording every PATCH and DELETE body, a fake channel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.core.reminders import Reminder
from bot.sandbox.graph import RECEIVED, Fault, FaultInjector
from bot.teams.app import RUNTIME
from tests.conftest import FakeChannel, activity
from tests.flows import (
    FORM,
    FakeTokenService,
    GraphFake,
    RunningBot,
    join_url,
    meet,
    running_bot,
    serve_graph,
)
from tests.flows import execute as execute_form

MakeServer = Callable[..., Awaitable[TestServer]]
COMMAND = "meet Design review tomorrow at 3pm for 45 minutes"


@pytest.fixture
def faults() -> FaultInjector:
    return FaultInjector()


@pytest.fixture
async def graph(aiohttp_server: MakeServer, faults: FaultInjector) -> GraphFake:
    return await serve_graph(aiohttp_server, GraphFake(faults))


@pytest.fixture
async def bot(
    channel: FakeChannel, graph: GraphFake, token_service: FakeTokenService
) -> AsyncIterator[RunningBot]:
    token_service.tokens["29:user-1"] = graph.user_token()
    async with running_bot(OAUTH_URL=token_service.url, GRAPH_BASE_URL=graph.url) as running:
        yield running


def sent(graph: GraphFake, method: str) -> list[Any]:
    """The bodies Graph received with this method, in order."""
    return [r.json for r in graph.sandbox[RECEIVED] if r.method == method]


def last_card(channel: FakeChannel) -> tuple[dict[str, Any], str]:
    """The newest card the bot posted, and the id the channel gave its message."""
    posted = [
        r for r in channel.received if r.method == "POST" and (r.body or {}).get("attachments")
    ]
    assert posted[-1].body is not None
    assert posted[-1].reply_id is not None
    return posted[-1].body["attachments"][0]["content"], posted[-1].reply_id


def updates(channel: FakeChannel) -> list[tuple[str, dict[str, Any]]]:
    """Messages updated in place (PUT), as (message id, card)."""
    return [
        (r.path.rsplit("/", 1)[-1], (r.body or {})["attachments"][0]["content"])
        for r in channel.received
        if r.method == "PUT"
    ]


def buttons(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every Action.Execute on the card (in action sets too), by title."""
    found: dict[str, dict[str, Any]] = {}
    for action in card.get("actions") or []:
        found[action["title"]] = action
    for element in card["body"]:
        for action in element.get("actions") or []:
            found[action["title"]] = action
    return found


async def execute(
    bot: RunningBot,
    channel: FakeChannel,
    action: dict[str, Any],
    card_id: str,
    values: dict[str, Any] | None = None,
    user: str = "29:user-1",
    aad: str = "5f0e0000-user",
) -> dict[str, Any]:
    """Teams' adaptiveCard/action for this button (with the card's input values); the card
    that replaces the one acted on."""
    body = activity(
        channel.url,
        kind="invoke",
        text=None,
        name="adaptiveCard/action",
        replyToId=card_id,
        value={
            "action": {
                "type": "Action.Execute",
                "verb": action["verb"],
                "data": {**action["data"], **(values or {})},
            }
        },
    )
    body["from"] = {"id": user, "name": "Someone", "aadObjectId": aad}
    response = await bot.send(body)
    assert response.status == 200
    answer = await response.json()
    assert answer["type"] == "application/vnd.microsoft.card.adaptive"
    return dict(answer["value"])


async def made(bot: RunningBot, channel: FakeChannel) -> tuple[dict[str, Any], str]:
    await bot.send(meet(channel, COMMAND))
    return last_card(channel)


async def ics(url: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(url) as answer:
        assert answer.status == 200
        return await answer.text()


def ics_url(card: dict[str, Any]) -> str:
    for action in card.get("actions") or []:
        if action["type"] == "Action.ShowCard" and action["title"] == "Add to calendar":
            return str(action["card"]["actions"][-1]["url"])
        if action["title"] == "Download cancellation (.ics)":
            return str(action["url"])
    raise AssertionError("no .ics link")


async def test_the_organizer_reschedules_from_the_card_and_everything_follows(
    bot: RunningBot, channel: FakeChannel, graph: GraphFake
) -> None:
    card, card_id = await made(bot, channel)
    first_join = join_url(card)
    # In a personal chat the card carries its organizer's controls, and refreshes for them.
    assert set(buttons(card)) >= {"Reschedule", "Cancel meeting", "Options", "Join"}
    assert card["refresh"]["userIds"] == ["29:user-1"]
    assert buttons(card)["Reschedule"]["fallback"]["type"] == "Action.Submit"

    form = await execute(bot, channel, buttons(card)["Reschedule"], card_id)
    inputs = {e["id"]: e.get("value") for e in form["body"] if e["type"].startswith("Input.")}
    assert inputs["subject"] == "Design review"
    assert inputs["startTime"] == "15:00"
    assert inputs["durationMinutes"] == "45"
    save = buttons(form)["Save"]
    moved = await execute(bot, channel, save, card_id, {**inputs, "startTime": "16:30"})

    assert sent(graph, "PATCH") == [
        {"startDateTime": moved_start(inputs["date"]), "endDateTime": moved_end(inputs["date"])}
    ]
    assert moved["body"][0]["text"].startswith("Moved to ")
    assert "4:30 pm" in moved["body"][0]["text"]
    assert join_url(moved) == first_join
    # The card in the conversation is updated in place for everyone.
    [(updated_id, everyone)] = updates(channel)
    assert updated_id == card_id
    assert "4:30 pm" in everyone["body"][2]["text"]
    # The .ics keeps its UID with a higher SEQUENCE.
    before, after = await ics(ics_url(card)), await ics(ics_url(moved))
    uid = next(line for line in before.splitlines() if line.startswith("UID:"))
    assert uid in after.splitlines()
    assert "SEQUENCE:0" in before
    assert "SEQUENCE:1" in after
    assert "DTSTART:" in after
    # Asking again with the original request finds the moved meeting.
    await bot.send(meet(channel, COMMAND))
    again, _ = last_card(channel)
    assert again["body"][0]["text"] == "Already scheduled"
    assert join_url(again) == first_join
    assert "4:30 pm" in again["body"][2]["text"]
    assert len(graph.external_ids()) == 1
    # `list` shows the new time.
    await bot.send(meet(channel, "list"))
    listed, _ = last_card(channel)
    assert "4:30 pm" in listed["body"][1]["items"][1]["text"]


async def reminder_of(bot: RunningBot, card: dict[str, Any]) -> Reminder:
    services = bot.server.app[RUNTIME].services
    assert services is not None
    external_id = buttons(card)["Cancel meeting"]["data"]["externalId"]
    return (await services.reminders.of([external_id]))[external_id]


async def test_the_reminder_follows_a_reschedule_and_goes_with_a_cancel(
    bot: RunningBot, channel: FakeChannel
) -> None:
    card, card_id = await made(bot, channel)
    before = await reminder_of(bot, card)
    assert (before.state, before.due) == ("pending", before.start - timedelta(minutes=10))

    form = await execute(bot, channel, buttons(card)["Reschedule"], card_id)
    inputs = {e["id"]: e.get("value") for e in form["body"] if e["type"].startswith("Input.")}
    await execute(bot, channel, buttons(form)["Save"], card_id, {**inputs, "startTime": "16:30"})
    moved = await reminder_of(bot, card)
    assert moved.state == "pending"
    assert moved.start == before.start + timedelta(minutes=90)
    assert moved.due == moved.start - timedelta(minutes=10)

    # Options alone leave the reminder where it is.
    form = await execute(bot, channel, buttons(card)["Options"], card_id)
    await execute(bot, channel, buttons(form)["Save options"], card_id, {"lobbyBypass": "everyone"})
    assert await reminder_of(bot, card) == moved

    confirm = await execute(bot, channel, buttons(card)["Cancel meeting"], card_id)
    await execute(bot, channel, buttons(confirm)["Yes, cancel it"], card_id)
    assert (await reminder_of(bot, card)).state == "dropped"


def moved_start(day: str) -> str:
    return f"{day}T16:30:00Z"


def moved_end(day: str) -> str:
    return f"{day}T17:15:00Z"


async def test_options_are_patched_and_shown_on_the_card(
    bot: RunningBot, channel: FakeChannel, graph: GraphFake
) -> None:
    card, card_id = await made(bot, channel)
    form = await execute(bot, channel, buttons(card)["Options"], card_id)
    assert form["body"][0]["text"] == "Meeting options"
    chosen = {
        "lobbyBypass": "everyone",
        "allowedPresenters": "organizer",
        "recordAutomatically": "true",
        "isEntryExitAnnounced": "false",
        "allowMeetingChat": "limited",
    }
    saved = await execute(bot, channel, buttons(form)["Save options"], card_id, chosen)
    assert sent(graph, "PATCH") == [
        {
            "lobbyBypassSettings": {"scope": "everyone"},
            "allowedPresenters": "organizer",
            "recordAutomatically": True,
            "isEntryExitAnnounced": False,
            "allowMeetingChat": "limited",
        }
    ]
    assert saved["body"][0]["text"] == "Options saved"
    facts = {
        f["title"]: f["value"] for e in saved["body"] if e["type"] == "FactSet" for f in e["facts"]
    }
    assert facts["Who bypasses the lobby"] == "Everyone"
    assert facts["Record automatically"] == "Yes"
    assert facts["Meeting chat"] == "During the meeting only"


async def test_cancel_asks_first_then_deletes_and_the_card_says_cancelled(
    bot: RunningBot, channel: FakeChannel, graph: GraphFake
) -> None:
    card, card_id = await made(bot, channel)
    confirm = await execute(bot, channel, buttons(card)["Cancel meeting"], card_id)
    assert confirm["body"][0]["text"] == "Cancel this meeting?"
    assert sent(graph, "DELETE") == []
    done = await execute(bot, channel, buttons(confirm)["Yes, cancel it"], card_id)
    assert sent(graph, "DELETE") == [None]
    assert done["body"][0]["text"] == "Cancelled"
    assert "Join" not in buttons(done)
    [(updated_id, everyone)] = updates(channel)
    assert (updated_id, everyone["body"][0]["text"]) == (card_id, "Cancelled")
    assert "Join" not in buttons(everyone)
    cancellation = await ics(ics_url(done))
    assert "METHOD:CANCEL" in cancellation
    assert "STATUS:CANCELLED" in cancellation
    assert "SEQUENCE:1" in cancellation
    # Asking again does not bring it back silently: it says so and offers a new one.
    calls = graph.calls()
    await bot.send(meet(channel, COMMAND))
    said, _ = last_card(channel)
    assert said["body"][0]["text"] == "You cancelled this meeting"
    assert graph.calls() == calls
    create = buttons(said)["Create a new meeting"]
    await bot.send(activity(channel.url, text=None, value=create["fallback"]["data"]))
    fresh, _ = last_card(channel)
    assert fresh["body"][0]["text"] == "Meeting created"
    assert join_url(fresh) != join_url(card)
    await bot.send(meet(channel, "list"))
    listed, _ = last_card(channel)
    assert len([e for e in listed["body"] if e["type"] == "Container"]) == 2


async def test_typed_cancel_finds_the_meeting_and_updates_its_card(
    bot: RunningBot, channel: FakeChannel, graph: GraphFake
) -> None:
    _card, card_id = await made(bot, channel)
    await bot.send(meet(channel, "cancel design"))
    confirm, confirm_id = last_card(channel)
    assert confirm["body"][0]["text"] == "Cancel this meeting?"
    yes = buttons(confirm)["Yes, cancel it"]
    await bot.send(
        activity(channel.url, text=None, value=yes["fallback"]["data"], replyToId=confirm_id)
    )
    assert sent(graph, "DELETE") == [None]
    changed = {message_id: c["body"][0]["text"] for message_id, c in updates(channel)}
    assert changed == {card_id: "Cancelled", confirm_id: "Cancelled"}
    await bot.send(meet(channel, "cancel design"))
    assert "no meeting of yours" in channel.activities()[-1]["text"]


@pytest.mark.parametrize("how", ["Action.Execute", "Action.Submit"])
async def test_typed_cancel_updates_the_form_a_meeting_was_made_from(
    bot: RunningBot, channel: FakeChannel, graph: GraphFake, how: str
) -> None:
    if how == "Action.Execute":
        submitted = execute_form(channel, FORM)
        submitted["replyToId"] = "form-7"
    else:  # Web Chat and the Emulator: a message with the form's values
        values = {**FORM, "meetbot": "createMeeting"}
        submitted = activity(channel.url, text=None, value=values, replyToId="form-7")
    await bot.send(submitted)
    await bot.send(meet(channel, "cancel design"))
    confirm, confirm_id = last_card(channel)
    yes = buttons(confirm)["Yes, cancel it"]
    await bot.send(
        activity(channel.url, text=None, value=yes["fallback"]["data"], replyToId=confirm_id)
    )
    assert sent(graph, "DELETE") == [None]
    changed = {message_id: c["body"][0]["text"] for message_id, c in updates(channel)}
    assert changed["form-7"] == "Cancelled"


async def test_someone_else_pressing_a_control_is_refused_and_graph_hears_nothing(
    bot: RunningBot, channel: FakeChannel, graph: GraphFake
) -> None:
    card, card_id = await made(bot, channel)
    calls = graph.calls()
    for title in ("Reschedule", "Cancel meeting", "Options"):
        answer = await execute(
            bot, channel, buttons(card)[title], card_id, user="29:alex", aad="1f35-alex"
        )
        assert any("can change this meeting" in e.get("text", "") for e in answer["body"])
        assert "Reschedule" not in buttons(answer)
    stale = {**buttons(card)["Cancel meeting"], "verb": "confirmCancel"}
    await execute(bot, channel, stale, card_id, user="29:alex", aad="1f35-alex")
    assert graph.calls() == calls
    assert updates(channel) == []


async def test_a_meeting_deleted_elsewhere_is_marked_cancelled(
    bot: RunningBot, channel: FakeChannel, graph: GraphFake
) -> None:
    card, card_id = await made(bot, channel)
    options = await execute(bot, channel, buttons(card)["Options"], card_id)
    # Deleted in Teams itself: straight to Graph with the organizer's token.
    gone_id = await _meeting_id(graph)
    async with aiohttp.ClientSession() as session:
        url = f"{graph.url}/me/onlineMeetings/{gone_id}"
        headers = {"Authorization": f"Bearer {graph.user_token()}"}
        async with session.delete(url, headers=headers) as answer:
            assert answer.status == 204
    answer = await execute(
        bot, channel, buttons(options)["Save options"], card_id, {"lobbyBypass": "everyone"}
    )
    assert answer["body"][0]["text"] == "Cancelled"
    assert any("deleted outside MeetBot" in e.get("text", "") for e in answer["body"])
    assert updates(channel)[-1][1]["body"][0]["text"] == "Cancelled"


async def _meeting_id(graph: GraphFake) -> str:
    """The meeting's Graph id, path-escaped: createOrGet with the same body answers it."""
    async with aiohttp.ClientSession() as session:
        body = graph.bodies()[0]
        async with session.post(
            f"{graph.url}/me/onlineMeetings/createOrGet",
            json=body,
            headers={"Authorization": f"Bearer {graph.user_token()}"},
        ) as answer:
            return quote(str((await answer.json())["id"]), safe="")


@pytest.mark.parametrize(
    ("status", "expected"), [(403, "licen"), (429, "try again"), (503, "Teams")]
)
async def test_graph_failures_are_explained_on_the_organizers_card(
    bot: RunningBot,
    channel: FakeChannel,
    graph: GraphFake,
    faults: FaultInjector,
    status: int,
    expected: str,
) -> None:
    card, card_id = await made(bot, channel)
    confirm = await execute(bot, channel, buttons(card)["Cancel meeting"], card_id)
    if status == 403:
        faults.add(Fault(status=403, code="Forbidden"))
    elif status == 429:
        faults.throttle(60, times=4)
    else:
        faults.server_error(503, times=4)
    answer = await execute(bot, channel, buttons(confirm)["Yes, cancel it"], card_id)
    text = " ".join(e.get("text", "") for e in answer["body"])
    assert "Nothing was changed" in text
    assert expected.lower() in text.lower()
    assert "Join" in buttons(answer)
    assert updates(channel) == []


async def test_two_concurrent_reschedules_end_as_graph_does(
    bot: RunningBot, channel: FakeChannel, graph: GraphFake, faults: FaultInjector
) -> None:
    card, card_id = await made(bot, channel)
    form = await execute(bot, channel, buttons(card)["Reschedule"], card_id)
    inputs = {e["id"]: e.get("value") for e in form["body"] if e["type"].startswith("Input.")}
    save = buttons(form)["Save"]
    # The first PATCH is slowed down, so the second one reaches Graph first.
    faults.delay(0.3, route="me")
    await asyncio.gather(
        execute(bot, channel, save, card_id, {**inputs, "startTime": "16:00"}),
        execute(bot, channel, save, card_id, {**inputs, "startTime": "17:00"}),
    )
    assert len(sent(graph, "PATCH")) == 2
    await bot.send(meet(channel, COMMAND))
    again, _ = last_card(channel)
    shown = again["body"][2]["text"]
    async with aiohttp.ClientSession() as session:
        url = f"{graph.url}/me/onlineMeetings/{await _meeting_id(graph)}"
        headers = {"Authorization": f"Bearer {graph.user_token()}"}
        async with session.get(url, headers=headers) as answer:
            start = (await answer.json())["startDateTime"]
    assert ("4:00 pm" in shown) == ("T16:00" in start)
    assert ("5:00 pm" in shown) == ("T17:00" in start)
    refreshed = await execute(
        bot, channel, {**buttons(card)["Reschedule"], "verb": "refreshMeeting"}, card_id
    )
    assert refreshed["body"][2]["text"] == shown


CHOSEN = {
    "lobbyBypass": "everyone",
    "allowedPresenters": "organizer",
    "recordAutomatically": "true",
    # Graph's default: not sent.
    "isEntryExitAnnounced": "true",
    "allowMeetingChat": "enabled",
}


def facts_of(card: dict[str, Any]) -> dict[str, str]:
    return {
        f["title"]: f["value"] for e in card["body"] if e["type"] == "FactSet" for f in e["facts"]
    }


async def create_from_form(bot: RunningBot, channel: FakeChannel, **values: Any) -> dict[str, Any]:
    """The new-meeting form submitted with Action.Execute; the card that replaces it."""
    response = await bot.send(execute_form(channel, {**FORM, **values}))
    assert response.status == 200
    return dict((await response.json())["value"])


async def test_options_chosen_on_the_form_are_patched_right_after_create_and_shown(
    bot: RunningBot, channel: FakeChannel, graph: GraphFake
) -> None:
    card = await create_from_form(bot, channel, **CHOSEN)
    assert [r.method for r in graph.sandbox[RECEIVED]] == ["POST", "PATCH"]
    # Only what differs from Graph's defaults, and nothing on createOrGet itself.
    assert sent(graph, "PATCH") == [
        {
            "lobbyBypassSettings": {"scope": "everyone"},
            "allowedPresenters": "organizer",
            "recordAutomatically": True,
        }
    ]
    assert not set(CHOSEN) & set(graph.bodies()[0])
    assert card["body"][0]["text"] == "Meeting created"
    facts = facts_of(card)
    assert facts["Who bypasses the lobby"] == "Everyone"
    assert facts["Who can present"] == "Only me"
    assert facts["Record automatically"] == "Yes"
    assert facts["Meeting chat"] == "On"
    # The options card opens with what was set.
    options = await execute(bot, channel, buttons(card)["Options"], "form-1")
    chosen = {e["id"]: e.get("value") for e in options["body"] if e["type"] == "Input.ChoiceSet"}
    assert chosen["lobbyBypass"] == "everyone"
    assert chosen["recordAutomatically"] == "true"
    # Asking again with the same form finds the meeting with its options: nothing is patched.
    again = await create_from_form(bot, channel, **CHOSEN)
    assert again["body"][0]["text"] == "Already scheduled"
    assert len(sent(graph, "PATCH")) == 1
    assert facts_of(again)["Who bypasses the lobby"] == "Everyone"


async def test_options_left_as_they_are_send_nothing_extra(
    bot: RunningBot, channel: FakeChannel, graph: GraphFake
) -> None:
    card = await create_from_form(
        bot,
        channel,
        lobbyBypass="organization",
        allowedPresenters="everyone",
        recordAutomatically="false",
        isEntryExitAnnounced="true",
        allowMeetingChat="enabled",
    )
    assert card["body"][0]["text"] == "Meeting created"
    assert [r.method for r in graph.sandbox[RECEIVED]] == ["POST"]
    assert "Who bypasses the lobby" not in facts_of(card)


async def test_a_failed_options_patch_still_shows_the_meeting_and_says_how_to_set_them(
    bot: RunningBot, channel: FakeChannel, graph: GraphFake, faults: FaultInjector
) -> None:
    # createOrGet goes through; the PATCH after it is refused.
    faults.add(Fault())
    faults.add(Fault(status=403, code="Forbidden"))
    card = await create_from_form(bot, channel, lobbyBypass="everyone")
    assert sent(graph, "PATCH") == [{"lobbyBypassSettings": {"scope": "everyone"}}]
    assert card["body"][0]["text"] == "Meeting created"
    assert join_url(card)
    text = " ".join(e.get("text", "") for e in card["body"])
    assert "options you chose were not applied" in text
    assert "Select Options on this card to set them." in text
    assert "Who bypasses the lobby" not in facts_of(card)
    assert "Options" in buttons(card)
    # Options from the card then sets them.
    options = await execute(bot, channel, buttons(card)["Options"], "form-1")
    saved = await execute(
        bot, channel, buttons(options)["Save options"], "form-1", {"lobbyBypass": "everyone"}
    )
    assert saved["body"][0]["text"] == "Options saved"
    assert sent(graph, "PATCH")[-1] == {"lobbyBypassSettings": {"scope": "everyone"}}
