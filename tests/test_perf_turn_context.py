"""The adapter's turn context sends what botbuilder's sends, without deep-copying each reply."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from botbuilder.core import BotAdapter, CardFactory, MessageFactory, TurnContext
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationAccount,
    ConversationReference,
    DeliveryModes,
    ResourceResponse,
)

from bot.teams.adapter import _TurnContext
from bot.teams.app import RUNTIME
from cards.help import help_card
from tests.conftest import FakeChannel, activity
from tests.flows import running_bot


class RecordingAdapter(BotAdapter):  # type: ignore[misc]
    """Keeps what a turn context hands to the adapter, serialized at that moment."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, Any]] = []
        self.objects: list[Activity] = []

    async def send_activities(
        self, context: TurnContext, activities: list[Activity]
    ) -> list[ResourceResponse]:
        self.objects += activities
        self.sent += [a.serialize() for a in activities]
        return [ResourceResponse(id=f"r{i}") for i, _ in enumerate(activities)]

    async def update_activity(self, context: TurnContext, activity: Activity) -> ResourceResponse:
        self.objects.append(activity)
        self.sent.append(activity.serialize())
        return ResourceResponse(id=activity.id)

    async def delete_activity(self, context: TurnContext, reference: ConversationReference) -> None:
        raise NotImplementedError


def inbound(**changes: Any) -> Activity:
    return Activity(
        type="message",
        id="1700000000001",
        service_url="http://127.0.0.1:1",
        channel_id="msteams",
        from_property=ChannelAccount(id="29:user", name="Megan"),
        recipient=ChannelAccount(id="28:bot", name="MeetBot"),
        conversation=ConversationAccount(id="a:conv", tenant_id="t"),
        locale="en-US",
        text="help",
        **changes,
    )


def outgoing() -> list[Activity]:
    return [
        Activity(type=ActivityTypes.typing),
        MessageFactory.attachment(CardFactory.adaptive_card(help_card())),
        MessageFactory.text("plain"),
        Activity(type=ActivityTypes.trace, name="t", value={"x": 1}),
        Activity(text="no type", input_hint="ignoringInput"),
    ]


Sender = Callable[[TurnContext, list[Activity]], Awaitable[Any]]


async def send_all(context: TurnContext, activities: list[Activity]) -> list[ResourceResponse]:
    responses: list[ResourceResponse] = await context.send_activities(activities)
    return responses


async def send_each(context: TurnContext, activities: list[Activity]) -> list[ResourceResponse]:
    return [await context.send_activity(a) for a in activities]


@pytest.mark.parametrize("send", [send_all, send_each])
async def test_it_hands_the_adapter_what_botbuilders_context_does(send: Sender) -> None:
    ours, theirs = RecordingAdapter(), RecordingAdapter()
    mine, given = outgoing(), outgoing()
    before = [a.serialize() for a in mine]
    context = _TurnContext(ours, inbound())
    reference = TurnContext(theirs, inbound())
    assert [r.id for r in await send(context, mine)] == [r.id for r in await send(reference, given)]
    assert ours.sent == theirs.sent
    assert context.responded == reference.responded
    # The caller's activities are left as they were.
    assert [a.serialize() for a in mine] == before


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"channel_id": "webchat"},
        {"channel_id": "directline"},
        {"type": ActivityTypes.conversation_update},
        {"id": None},
        {"locale": None, "from_property": None},
    ],
)
async def test_an_update_is_addressed_as_botbuilders_context_addresses_it(
    changes: dict[str, Any],
) -> None:
    ours, theirs = RecordingAdapter(), RecordingAdapter()
    mine, given = (MessageFactory.attachment(CardFactory.adaptive_card(help_card())) for _ in "ab")
    mine.id = given.id = "form-1"
    incoming, other = inbound(), inbound()
    for name, value in changes.items():
        setattr(incoming, name, value)
        setattr(other, name, value)
    context = _TurnContext(ours, incoming)
    response = await context.update_activity(mine)
    assert response.id == (await TurnContext(theirs, other).update_activity(given)).id
    assert ours.sent == theirs.sent
    # Addressed in place, as botbuilder does, with the incoming accounts copied, not shared.
    assert mine.serialize() == given.serialize()
    pairs = [
        (mine.conversation, incoming.conversation),
        (mine.from_property, incoming.recipient),
        (mine.recipient, incoming.from_property),
    ]
    assert all(copied is not original for copied, original in pairs if original is not None)


async def test_with_an_on_update_handler_botbuilders_update_runs() -> None:
    adapter = RecordingAdapter()
    context = _TurnContext(adapter, inbound())
    seen: list[Activity] = []

    async def spy(_context: TurnContext, activity: Activity, next_update: Any) -> Any:
        seen.append(activity)
        return await next_update()

    context.on_update_activity(spy)
    update = MessageFactory.text("changed")
    update.id = "1"
    await context.update_activity(update)
    assert seen == [update]
    assert adapter.sent[0]["replyToId"] == "1700000000001"


async def test_only_trace_activities_do_not_count_as_a_response() -> None:
    context = _TurnContext(RecordingAdapter(), inbound())
    await context.send_activity(Activity(type=ActivityTypes.trace, name="t"))
    assert not context.responded


async def test_with_an_on_send_handler_replies_are_deep_copied() -> None:
    adapter = RecordingAdapter()
    context = _TurnContext(adapter, inbound())

    async def edit(_context: TurnContext, activities: list[Activity], next_send: Any) -> Any:
        activities[0].attachments[0].content["body"] = []
        return await next_send()

    context.on_send_activities(edit)
    card = help_card()
    reply = MessageFactory.attachment(CardFactory.adaptive_card(card))
    await context.send_activity(reply)
    assert reply.attachments[0].content["body"] == card["body"]  # the caller's card is intact
    assert adapter.sent[0]["attachments"][0]["content"]["body"] == []


async def test_expected_replies_are_buffered_as_deep_copies() -> None:
    context = _TurnContext(RecordingAdapter(), inbound(delivery_mode=DeliveryModes.expect_replies))
    card = copy.deepcopy(help_card())
    reply = MessageFactory.attachment(CardFactory.adaptive_card(card))
    await context.send_activity(reply)
    card["body"].clear()  # the caller edits its card after sending
    buffered = context.buffered_reply_activities[0]
    assert buffered.attachments[0].content["body"] == help_card()["body"]


async def test_the_app_builds_its_turns_with_it(channel: FakeChannel) -> None:
    seen: list[TurnContext] = []
    async with running_bot() as bot:
        services = bot.server.app[RUNTIME].services
        assert services is not None
        original = services.bot.on_turn

        async def spy(context: TurnContext) -> None:
            seen.append(context)
            await original(context)

        services.bot.on_turn = spy
        response = await bot.send(activity(channel.url, text="help"))
    assert response.status == 201
    assert isinstance(seen[0], _TurnContext)
    assert len(channel.cards()) == 1
