"""In the Agents Playground: a meeting made a couple of minutes ahead is reminded in the chat."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playground import PlaygroundChat, sign_in

pytestmark = pytest.mark.e2e

# Starts at the next minute but one; reminded a minute before: within the next minute.
COMMAND = "meet Standup in 2 minutes remind 1 min before"


async def test_the_reminder_arrives_in_the_chat_with_join(chat: PlaygroundChat) -> None:
    if extra := os.environ.get("MEETBOT_SHOTS_DIR"):
        chat.screenshot_dir = Path(extra)
        chat.screenshot_dir.mkdir(parents=True, exist_ok=True)
    await chat.send("signout")
    await chat.wait_for_bot_message("signed out")
    await chat.send(COMMAND)
    created = await sign_in(chat, "reminder")
    assert "I'll post a reminder here 1 minute before it starts." in await created.inner_text()
    await chat.screenshot("reminder-meeting-card")
    reminder = await chat.wait_for_bot_message("Meeting reminder", timeout=75)
    text = await reminder.inner_text()
    for expected in ("Standup", "Starts in 1 minute", "Join"):
        assert expected in text, expected
    assert "{{TIME(" not in text  # the client wrote the time in the reader's own terms
    await chat.screenshot("reminder")
    await chat.send("list")
    listed = await chat.wait_for_bot_message("Meetings in this conversation")
    assert "Reminder sent" in await listed.inner_text()
    await chat.screenshot("reminder-list")
