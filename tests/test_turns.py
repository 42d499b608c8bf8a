"""Turn tests: the handler's routing through botbuilder's TestAdapter, no HTTP."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationAccount,
    Entity,
    Mention,
)

from bot.auth.tokens import TokenServiceClient
from bot.core.ports import Turn
from bot.teams.handler import MeetBot
from bot.teams.turns import Turns


def _bot() -> MeetBot:
    """The handler with no use cases behind it: help, unknown text and the welcome."""

    async def no_token_service(_context: TurnContext) -> TokenServiceClient:
        raise AssertionError("these turns need no token service")

    def no_later_work(_work: Coroutine[Any, Any, None]) -> None:
        raise AssertionError("these turns leave no work for later")

    async def no_continuation(*_args: Any) -> None:
        raise AssertionError("these turns continue no conversation")

    return MeetBot(Turns("graph", no_token_service, no_continuation, no_later_work))


async def turn(adapter: TestAdapter, incoming: Activity | str) -> Activity | None:
    """Run one turn and return the bot's first reply."""
    if isinstance(incoming, str):
        incoming = Activity(type=ActivityTypes.message, text=incoming)
    await adapter.receive_activity(incoming)
    return adapter.get_next_activity()


def _card_title(activity: Activity) -> str:
    card: dict[str, Any] = activity.attachments[0].content
    return str(card["body"][0]["text"])


async def test_help_replies_with_the_help_card() -> None:
    adapter = TestAdapter(_bot().on_turn)
    reply = await turn(adapter, "help")
    assert reply is not None
    assert reply.attachments[0].content_type == "application/vnd.microsoft.card.adaptive"
    assert _card_title(reply) == "MeetBot"


async def test_unknown_text_gets_a_hint_that_quotes_it_escaped() -> None:
    adapter = TestAdapter(_bot().on_turn)
    reply = await turn(adapter, "[dance](https://evil.example)")
    assert reply is not None
    assert "help" in reply.text
    # The brackets are escaped, so no client can render a link.
    assert "\\[dance\\](https://evil.example)" in reply.text


async def test_the_bots_own_mention_is_stripped() -> None:
    adapter = TestAdapter(_bot().on_turn)
    bot = ChannelAccount(id="bot", name="MeetBot")
    mention = Mention(mentioned=bot, text="<at>MeetBot</at>", type="mention")
    message = Activity(
        type=ActivityTypes.message,
        text="<at>MeetBot</at> help",
        entities=[Entity().deserialize(mention.serialize())],
        recipient=bot,
    )
    reply = await turn(adapter, message)
    assert reply is not None
    assert _card_title(reply) == "MeetBot"


async def test_the_new_meeting_button_routes_to_the_meet_command() -> None:
    seen: list[str] = []
    bot = _bot()

    async def meet(_turn: Turn, command: Any) -> None:
        seen.append(command.name)

    from bot.core.commands import CommandName

    bot.register(CommandName.MEET, meet)
    adapter = TestAdapter(bot.on_turn)
    await turn(adapter, Activity(type=ActivityTypes.message, value={"meetbot": "newMeeting"}))
    assert seen == ["meet"]


def _members_added(conversation_type: str, *member_ids: str) -> Activity:
    return Activity(
        type=ActivityTypes.conversation_update,
        members_added=[ChannelAccount(id=member) for member in member_ids],
        recipient=ChannelAccount(id="bot"),
        conversation=ConversationAccount(id="c", conversation_type=conversation_type),
    )


async def test_welcome_when_installed_in_a_group_chat() -> None:
    adapter = TestAdapter(_bot().on_turn)
    reply = await turn(adapter, _members_added("groupChat", "bot"))
    assert reply is not None
    assert _card_title(reply) == "Hi, I'm MeetBot"


async def test_no_welcome_spam_when_someone_joins_a_team() -> None:
    adapter = TestAdapter(_bot().on_turn)
    await turn(adapter, _members_added("channel", "29:new-colleague"))
    assert not adapter.activity_buffer


async def test_welcome_in_personal_chat() -> None:
    adapter = TestAdapter(_bot().on_turn)
    reply = await turn(adapter, _members_added("personal", "29:user"))
    assert reply is not None
    assert _card_title(reply) == "Hi, I'm MeetBot"
