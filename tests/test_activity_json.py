"""`activity_json`: what msrest's `serialize()` gives, with card content passed through as it is."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    CardAction,
    ChannelAccount,
    ConversationAccount,
    ConversationReference,
    Entity,
    HeroCard,
    InputHints,
    Mention,
    OAuthCard,
    TextHighlight,
)
from botbuilder.schema.teams import TeamsChannelAccount, TeamsChannelData, TenantInfo

from bot.core.form import form_values
from bot.core.online_meeting import OnlineMeeting
from bot.teams.adapter import activity_json
from cards.form import meeting_form_card
from cards.help import help_card, welcome_card
from cards.lists import meeting_list_card
from cards.meeting import MeetingView, meeting_card, problem_card


def same_as_msrest(activity: Activity) -> dict[str, Any]:
    """Assert the output equals msrest's and is JSON."""
    expected = copy.deepcopy(activity).serialize()
    body = activity_json(activity)
    assert body == expected
    json.dumps(body)
    return body


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


def test_the_card_content_is_sent_as_built_not_copied() -> None:
    card = CARDS["meeting"]
    body = activity_json(MessageFactory.attachment(CardFactory.adaptive_card(card)))
    assert body["attachments"][0]["content"] is card


def test_an_oauth_card_is_written_by_msrest() -> None:
    oauth = CardFactory.oauth_card(
        OAuthCard(
            text="Sign in",
            connection_name="graph",
            buttons=[CardAction(type="signin", title="Sign in", value="https://x.example")],
        )
    )
    body = same_as_msrest(addressed(MessageFactory.attachment(oauth)))
    assert body["attachments"][0]["content"]["connectionName"] == "graph"
