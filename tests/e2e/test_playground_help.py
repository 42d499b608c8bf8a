"""In the Agents Playground's personal chat, `help` makes MeetBot answer with its help card."""

from __future__ import annotations

import pytest
from playground import ConversationKind, PlaygroundChat

pytestmark = pytest.mark.e2e


async def test_help_shows_help_card(chat: PlaygroundChat) -> None:
    await chat.send("help")

    reply = await chat.wait_for_bot_message("MeetBot")
    card = reply.locator(".ac-adaptiveCard")
    await card.wait_for(state="visible")
    assert await card.count() == 1, "the help reply should be one Adaptive Card"
    assert await card.get_by_text("MeetBot").first.is_visible()
    assert "MeetBot" in await (await chat.last_card()).inner_text()

    path = await chat.screenshot("help-card")
    assert path.stat().st_size > 0


@pytest.mark.parametrize("kind", ["group", "channel"])
async def test_help_after_mention_in_group_chat_and_channel(
    chat: PlaygroundChat, kind: ConversationKind
) -> None:
    await chat.switch_to(kind)
    # The Playground, like Teams, only forwards group/channel messages that @mention the bot.
    await chat.send("help", mention=chat.bot_name)

    reply = await chat.wait_for_bot_message("MeetBot")
    assert await reply.locator(".ac-adaptiveCard").count() == 1
    await chat.screenshot(f"help-card-{kind}")
