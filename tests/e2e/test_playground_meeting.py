"""In the Agents Playground: meet, sign in on the sandbox page, type the code, get the card."""

from __future__ import annotations

import re

import pytest
from playground import PlaygroundChat, sign_in
from playwright.async_api import Locator

pytestmark = pytest.mark.e2e

COMMAND = "meet Design review tomorrow at 3pm for 45 minutes"
MEETING_ID = re.compile(r"Meeting ID\s+(\d{3} \d{3} \d{3} \d{3})")


async def meeting_id(message: Locator) -> str:
    match = MEETING_ID.search(await message.inner_text())
    assert match, await message.inner_text()
    return match.group(1)


async def test_meet_signs_in_then_creates_and_then_finds_the_same_meeting(
    chat: PlaygroundChat,
) -> None:
    # The bot outlives single tests: start signed out, whatever ran before.
    await chat.send("signout")
    await chat.wait_for_bot_message("signed out")
    await chat.send(COMMAND)
    created = await sign_in(chat, "meet")
    text = await created.inner_text()
    for expected in ("Design review", "Join", "Meeting ID", "Passcode", "Dial in", "Conference ID"):
        assert expected in text, expected
    await chat.screenshot("meeting-card")
    first_id = await meeting_id(created)

    await chat.send(COMMAND)
    again = await chat.wait_for_bot_message("Already scheduled", timeout=20)
    assert await meeting_id(again) == first_id
    await chat.screenshot("meeting-already-scheduled")


async def test_group_chat_mentions_become_attendees(chat: PlaygroundChat) -> None:
    await chat.switch_to("group")
    box = chat.composer
    await chat.insert_mention(chat.bot_name, box=box)
    await chat.page.keyboard.type(" meet Budget sync tomorrow at 10am with ")
    members = await chat.mention_candidates()
    others = [name for name in members if name != chat.bot_name][:2]
    assert len(others) == 2, members
    await chat.insert_mention(others[0], box=box)
    await chat.page.keyboard.type(" and ")
    await chat.insert_mention(others[1], box=box)
    await chat.mark()
    await chat.page.keyboard.press("Enter")

    reply = await chat.wait_for_bot_message(
        re.compile("Meeting created|sign in", re.IGNORECASE), timeout=20
    )
    if "Meeting created" not in await reply.inner_text():
        reply = await sign_in(chat, "group")
    text = await reply.inner_text()
    assert "Budget sync" in text
    for name in others:
        assert name in text, (name, text)
    await chat.screenshot("meeting-card-group-attendees")
