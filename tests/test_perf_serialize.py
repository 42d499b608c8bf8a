"""The fast activity serializer gives exactly msrest's `serialize()`, key order included."""

from __future__ import annotations

import copy
import json
import logging
import re
from collections import OrderedDict
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    CardAction,
    ChannelAccount,
    ConversationAccount,
    ConversationReference,
    Entity,
    HeroCard,
    InputHints,
    Mention,
    OAuthCard,
    SuggestedActions,
    TextHighlight,
)
from botbuilder.schema.teams import TeamsChannelAccount, TeamsChannelData, TenantInfo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from msrest.exceptions import SerializationError  # type: ignore[attr-defined]

from bot.activity_fast import serialize_activity, serialize_model
from bot.core.form import form_values
from bot.core.online_meeting import OnlineMeeting
from cards.form import meeting_form_card
from cards.help import help_card, welcome_card
from cards.lists import meeting_list_card
from cards.meeting import MeetingView, meeting_card, problem_card


def _without_addresses(message: str) -> str:
    """msrest's message prints the object, addresses of the (copied) models included."""
    return re.sub(r"0x[0-9a-f]+", "0x…", message)


def same_as_msrest(activity: Activity) -> dict[str, Any] | None:
    """Assert the fast output equals msrest's, as objects and as JSON text (key order);
    where msrest raises, the same error."""
    message: str | None
    try:
        expected = copy.deepcopy(activity).serialize()
    except SerializationError as error:
        message = _without_addresses(str(error))
    else:
        message = None
    if message is not None:
        with pytest.raises(SerializationError) as raised:
            serialize_activity(activity)
        assert _without_addresses(str(raised.value)) == message
        return None
    fast = serialize_activity(activity)
    assert fast == expected
    assert json.dumps(fast) == json.dumps(expected)
    return fast


def reference() -> ConversationReference:
    inbound = Activity(
        type="message",
        id="1700000000001",
        service_url="https://smba.trafficmanager.net/emea/",
        channel_id="msteams",
        from_property=ChannelAccount(id="29:user", name="Megan", aad_object_id="oid-1"),
        recipient=ChannelAccount(id="28:bot", name="MeetBot"),
        conversation=ConversationAccount(
            id="a:conv", conversation_type="personal", tenant_id="tenant-1"
        ),
        locale="en-US",
    )
    return TurnContext.get_conversation_reference(inbound)


def addressed(activity: Activity) -> Activity:
    """As the turn context sends it: addressed to the conversation, with an input hint."""
    outgoing = TurnContext.apply_conversation_reference(copy.deepcopy(activity), reference())
    outgoing.input_hint = outgoing.input_hint or "acceptingInput"
    return outgoing


def meeting_view() -> MeetingView:
    meeting = OnlineMeeting.model_validate(
        {
            "id": "meeting-1",
            "joinWebUrl": "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0",
            "subject": "Design review",
            "videoTeleconferenceId": "1234567890",
            "joinMeetingIdSettings": {"joinMeetingId": "123 456 789 012", "passcode": "aB3dE5"},
            "audioConferencing": {
                "conferenceId": "123456789",
                "tollNumbers": ["+1 425-555-0142"],
                "tollFreeNumbers": ["+1 800-555-0177"],
                "dialinUrl": "https://dialin.teams.microsoft.com/x?id=123456789",
            },
        }
    )
    return MeetingView(
        meeting=meeting,
        subject="Design [review] *now*",
        start=datetime(2026, 11, 24, 15, tzinfo=UTC),
        end=datetime(2026, 11, 24, 15, 45, tzinfo=UTC),
        zone=ZoneInfo("Europe/Berlin"),
        created=True,
        organizer="megan@contoso.com",
        attendees=("Adele", "Ñandú Ürban"),
        notes=("That time had already passed today, so this is the next one.",),
        outlook_url="https://outlook.office.com/calendar/0/deeplink/compose?subject=x",
        ics_url="http://localhost:3978/calendar/abc.def.ics",
    )


CARDS = {
    "help": help_card(),
    "welcome": welcome_card(),
    "meeting": meeting_card(meeting_view()),
    "problem": problem_card("I couldn't create the meeting", "Graph said no", retry={"a": 1}),
    "form": meeting_form_card(None, None, today=datetime(2026, 11, 23).date()),
    "form_errors": meeting_form_card(
        form_values({"subject": "", "date": "2026-02-30"}),
        {"date": "That date does not exist."},
        today=datetime(2026, 11, 23).date(),
    ),
    "list": meeting_list_card(
        [
            {
                "externalId": "x",
                "subject": "Design review",
                "start": "2026-11-24T15:00:00+00:00",
                "end": "2026-11-24T15:45:00+00:00",
                "joinUrl": "https://teams.microsoft.com/l/meetup-join/x",
            }
        ],
        ZoneInfo("UTC"),
    ),
}


@pytest.mark.parametrize("name", sorted(CARDS))
def test_every_card_reply_serializes_as_msrest_does(name: str) -> None:
    reply = addressed(MessageFactory.attachment(CardFactory.adaptive_card(CARDS[name])))
    body = same_as_msrest(reply)
    assert body is not None
    assert body["attachments"][0]["content"] == CARDS[name]


def test_an_update_of_the_form_serializes_as_msrest_does() -> None:
    update = MessageFactory.attachment(CardFactory.adaptive_card(CARDS["meeting"]))
    update.id = "form-1"
    same_as_msrest(TurnContext.apply_conversation_reference(update, reference()))


@pytest.mark.parametrize(
    "activity",
    [
        Activity(type=ActivityTypes.typing),
        Activity(type="typing"),
        MessageFactory.text("You're signed out.", input_hint=InputHints.accepting_input),
        MessageFactory.text("Sorry, something went wrong on my side.", speak="Sorry"),
        MessageFactory.suggested_actions(
            [CardAction(type="imBack", title="Help", value="help")], text="Try one"
        ),
        MessageFactory.attachment(
            CardFactory.oauth_card(
                OAuthCard(
                    text="Sign in",
                    connection_name="graph",
                    buttons=[CardAction(type="signin", title="Sign in", value="https://x")],
                    token_exchange_resource={"id": "tx", "uri": "api://x", "providerId": "aad"},
                )
            ),
            text="Please sign in",
        ),
        MessageFactory.attachment(
            CardFactory.hero_card(HeroCard(title="Hero", buttons=[CardAction(type="openUrl")]))
        ),
        Activity(type=ActivityTypes.invoke_response, value={"status": 200, "body": {"x": [1]}}),
        Activity(
            type="message",
            text="<at>Megan</at> hi",
            entities=[
                Mention(
                    mentioned=ChannelAccount(id="29:u", name="Megan"),
                    text="<at>Megan</at>",
                    type="mention",
                ),
                Entity(type="clientInfo"),
            ],
            channel_data=TeamsChannelData(tenant=TenantInfo(id="t")),
            timestamp=datetime(2026, 11, 23, 20, 0, 0, 123456, tzinfo=UTC),
            local_timestamp=datetime(2026, 11, 23, 21, 0, tzinfo=timezone(timedelta(hours=1))),
            members_added=[TeamsChannelAccount(id="29:a", name="A", email="a@x"), None],
            text_highlights=[TextHighlight(text="hi", occurrence=1)],
            listen_for=["yes", "no"],
            history_disclosed=False,
        ),
        Activity(
            type=ActivityTypes.trace,
            label="TurnError",
            value_type="https://www.botframework.com/schemas/error",
            value=ValueError("not JSON"),  # odd value: msrest turns it into text
        ),
    ],
    ids=lambda activity: str(activity.type),
)
def test_activities_the_bot_sends_serialize_as_msrest_does(activity: Activity) -> None:
    same_as_msrest(addressed(activity))


@pytest.mark.parametrize(
    "value",
    [
        ("a", "tuple"),
        OrderedDict(a=1),
        {1: "int key"},
        {"nested": {"set": {1, 2}}},
        datetime(2026, 1, 1, tzinfo=UTC),
        ActivityTypes.message,
        b"bytes",
        [ChannelAccount(id="x"), {"y": (1,)}],
        float("inf"),
    ],
    ids=repr,
)
def test_values_the_fast_path_does_not_handle_still_give_msrest_output(value: Any) -> None:
    activity = addressed(Activity(type="event", name="x", value=value))
    same_as_msrest(activity)


def test_values_of_the_wrong_type_still_give_msrest_output(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    odd = addressed(Activity(type=ActivityTypes.message, text="x"))
    odd.history_disclosed = 1  # msrest: bool(1)
    odd.text = 42  # msrest: str(42)
    odd.timestamp = datetime(2026, 1, 1)  # naive: msrest warns and reads it as UTC
    same_as_msrest(odd)
    assert "no tzinfo" in caplog.text


def test_a_value_msrest_cannot_serialize_raises_as_msrest_does() -> None:
    broken = addressed(Activity(type="message"))
    broken.from_property = {"id": "a dict, not a ChannelAccount"}
    with pytest.raises(SerializationError):
        copy.deepcopy(broken).serialize()
    assert same_as_msrest(broken) is None


def test_models_other_than_activities_serialize_as_msrest_does() -> None:
    attachment = Attachment(content_type="x", content={"a": [1, 2.5, None, True]}, name="n")
    assert serialize_model(attachment) == attachment.serialize()


# --- random activities ------------------------------------------------------------------------

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False),
    st.text(max_size=20),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
odd_value = st.one_of(
    json_value,
    st.tuples(st.integers()),
    st.sampled_from([ActivityTypes.message, b"x", OrderedDict(a=1), {2: "two"}]),
    st.datetimes(timezones=st.just(UTC)),
)
account = st.builds(
    ChannelAccount,
    id=st.one_of(st.none(), st.text(max_size=10)),
    name=st.one_of(st.none(), st.text(max_size=10)),
    aad_object_id=st.one_of(st.none(), st.text(max_size=10)),
    role=st.one_of(st.none(), st.sampled_from(["user", "bot"])),
)
entity = st.builds(
    lambda kind, extra: Entity(type=kind, **extra),
    st.one_of(st.none(), st.sampled_from(["mention", "clientInfo"])),
    st.just({}),
)
attachment = st.builds(
    Attachment,
    content_type=st.sampled_from(["application/vnd.microsoft.card.adaptive", "image/png"]),
    content=odd_value,
    content_url=st.one_of(st.none(), st.text(max_size=10)),
    name=st.one_of(st.none(), st.text(max_size=10)),
)
aware = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
activity = st.builds(
    Activity,
    type=st.one_of(st.none(), st.sampled_from(["message", "typing", "event"])),
    id=st.one_of(st.none(), st.text(max_size=10)),
    timestamp=st.one_of(st.none(), aware),
    text=st.one_of(st.none(), st.text(max_size=30)),
    input_hint=st.one_of(st.none(), st.sampled_from(list(InputHints))),
    from_property=st.one_of(st.none(), account),
    recipient=st.one_of(st.none(), account),
    conversation=st.one_of(
        st.none(), st.builds(ConversationAccount, id=st.text(max_size=10), is_group=st.booleans())
    ),
    members_added=st.one_of(st.none(), st.lists(st.one_of(st.none(), account), max_size=3)),
    attachments=st.one_of(st.none(), st.lists(attachment, max_size=2)),
    entities=st.one_of(st.none(), st.lists(entity, max_size=2)),
    channel_data=st.one_of(st.none(), json_value),
    value=st.one_of(st.none(), odd_value),
    suggested_actions=st.one_of(
        st.none(),
        st.builds(
            SuggestedActions,
            actions=st.lists(
                st.builds(CardAction, type=st.just("imBack"), value=json_value), max_size=2
            ),
        ),
    ),
    listen_for=st.one_of(st.none(), st.lists(st.text(max_size=5), max_size=3)),
    history_disclosed=st.one_of(st.none(), st.booleans()),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(activity)
def test_random_activities_serialize_as_msrest_does(random_activity: Activity) -> None:
    same_as_msrest(random_activity)


def test_the_replies_the_bot_sends_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def msrest_not_allowed(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("fell back to msrest")

    replies = [addressed(Activity(type=ActivityTypes.typing))] + [
        addressed(MessageFactory.attachment(CardFactory.adaptive_card(card)))
        for card in CARDS.values()
    ]
    monkeypatch.setattr(Activity, "serialize", msrest_not_allowed)
    for reply in replies:
        serialize_activity(reply)
