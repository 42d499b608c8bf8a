"""The replies the edge writes as JSON are the activities botbuilder would have sent."""

from __future__ import annotations

from typing import Any

import pytest
from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.schema import Activity, CardAction, OAuthCard

from bot.core.ports import Message, SignInCard
from bot.teams.turns import address_of, message_json
from cards.help import help_card
from cards.meeting import meeting_card
from tests.support.cards import FULL, view

INBOUND: dict[str, Any] = {
    "type": "message",
    "id": "1700000000001",
    "timestamp": "2026-11-23T20:00:00.000Z",
    "serviceUrl": "https://smba.trafficmanager.net/emea/",
    "channelId": "msteams",
    "from": {"id": "29:user", "name": "Megan", "aadObjectId": "oid-1"},
    "recipient": {"id": "28:bot", "name": "MeetBot"},
    "conversation": {"id": "a:conv", "conversationType": "personal", "tenantId": "tenant-1"},
    "channelData": {"tenant": {"id": "tenant-1"}},
    "locale": "en-US",
    "text": "help",
}
SIGNIN = SignInCard(
    text="Sign in",
    connection_name="graph",
    link="https://token.example/signin",
    exchange={"id": "x", "uri": "api://botid-1", "providerId": "p"},
)


def _botbuilder(message: Message, inbound_json: dict[str, Any]) -> dict[str, Any]:
    """What TurnContext.send_activity would have sent for the same message."""
    if message.signin is not None:
        card = OAuthCard(
            text=message.signin.text,
            connection_name=message.signin.connection_name,
            buttons=[CardAction(type="signin", title="Sign in", value=message.signin.link)],
            token_exchange_resource=message.signin.exchange,
        )
        activity = MessageFactory.attachment(CardFactory.oauth_card(card), text=message.text)
    elif message.card is not None:
        activity = MessageFactory.attachment(
            CardFactory.adaptive_card(message.card), text=message.text
        )
    else:
        activity = MessageFactory.text(message.text or "")
    inbound = Activity().deserialize(inbound_json)
    addressed = TurnContext.apply_conversation_reference(
        activity, TurnContext.get_conversation_reference(inbound)
    )
    addressed.input_hint = addressed.input_hint or "acceptingInput"  # as send_activities does
    body: dict[str, Any] = addressed.serialize()
    return body


@pytest.mark.parametrize(
    "message",
    [
        Message(text="You're signed out."),
        Message.of_card(help_card()),
        Message.of_card(meeting_card(view(FULL))),
        Message(text="Please sign in, then I'll create your meeting.", signin=SIGNIN),
    ],
    ids=["text", "help", "meeting", "signin"],
)
@pytest.mark.parametrize(
    "inbound_json",
    [INBOUND, {key: value for key, value in INBOUND.items() if key not in ("channelId", "from")}],
    ids=["teams", "no-channel-id-nor-sender"],
)
def test_a_reply_is_what_botbuilder_would_send(
    message: Message, inbound_json: dict[str, Any]
) -> None:
    inbound = Activity().deserialize(inbound_json)

    class _Context:
        activity = inbound

    ours = {**message_json(message), **address_of(_Context(), inbound_json)}  # type: ignore[arg-type]

    # The conversation goes back as it came; msrest would drop its `tenantId` (the schema
    # model reads `tenantID`).
    assert ours.pop("conversation") == INBOUND["conversation"]
    theirs = _botbuilder(message, inbound_json)
    del theirs["conversation"]
    assert ours == theirs
