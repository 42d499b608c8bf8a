"""In the Agents Playground (always en-US): French is booked as written, German is asked about."""

from __future__ import annotations

import re

import pytest
from playground import PlaygroundChat, sign_in

pytestmark = pytest.mark.e2e


async def test_french_in_an_english_client_books_the_time_it_says(chat: PlaygroundChat) -> None:
    await chat.send("meet Point hebdo demain à 9h30 pendant 45 minutes")
    reply = await chat.wait_for_bot_message(
        re.compile("Meeting created|Already scheduled|sign in", re.IGNORECASE), timeout=20
    )
    if not re.search("Meeting created|Already scheduled", await reply.inner_text()):
        reply = await sign_in(chat, "french")
    text = await reply.inner_text()
    assert "Point hebdo" in text
    assert "9:30 am – 10:15 am" in text, text
    await chat.screenshot("french-meeting-card")


async def test_german_gets_the_form_with_what_was_not_read(chat: PlaygroundChat) -> None:
    await chat.send("meet Besprechung morgen um 15 Uhr")
    reply = await chat.wait_for_bot_message("This looks like German", timeout=20)
    text = await reply.inner_text()
    assert "English, French and Spanish" in text
    assert "Meeting created" not in text
    await chat.screenshot("german-asked-with-the-form")
