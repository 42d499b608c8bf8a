"""In the Agents Playground: the meeting form, its field errors, and Create meeting on a message."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from playground import PlaygroundChat, sign_in
from playwright.async_api import Locator

pytestmark = pytest.mark.e2e


async def pick(card: Locator, placeholder: str, value: str) -> None:
    """The Playground renders Input.Date/Time as Fluent pickers that accept typed text."""
    picker = card.get_by_placeholder(placeholder)
    await picker.click()
    await picker.fill(value)
    await picker.press("Enter")
    # The date picker's calendar can stay open over the form (Tab would move focus into it):
    # close it, move focus off the picker, and wait until no calendar covers the buttons.
    await picker.press("Escape")
    await card.get_by_text("New Teams meeting").click()
    await card.page.get_by_role("grid").first.wait_for(state="hidden", timeout=5_000)


async def ensure_signed_in(chat: PlaygroundChat) -> None:
    """The bot is shared by the module's tests: sign in unless an earlier test did."""
    await chat.send("meet Warm-up check in 3 days at 9am")
    reply = await chat.wait_for_bot_message(
        re.compile("Meeting created|Already scheduled|sign in", re.IGNORECASE), timeout=20
    )
    if re.search("sign in", await reply.inner_text(), re.IGNORECASE):
        await sign_in(chat, "form")


async def test_the_form_flags_a_bad_date_then_a_good_submission_replaces_it(
    chat: PlaygroundChat,
) -> None:
    await ensure_signed_in(chat)
    await chat.send("meet")
    form = await chat.wait_for_bot_message("Subject", timeout=30)
    card = form.locator(".ac-adaptiveCard").first
    await card.get_by_placeholder("e.g. Design review").fill("Roadmap review")
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    await pick(card, "Select a date...", yesterday)
    await pick(card, "Select a time...", "10:00")
    await chat.screenshot("form-filled")
    await chat.click_card_button("Create meeting", card=card)
    # The renderer checks the date's minimum itself and flags the field before sending.
    await form.get_by_text("Pick the day of the meeting, today or later.").wait_for(timeout=30_000)
    await chat.screenshot("form-bad-date")

    now = datetime.now(UTC)
    if now.hour >= 1:
        # Earlier today passes the renderer's checks: only MeetBot can refuse it.
        await pick(card, "Select a date...", now.date().isoformat())
        await pick(card, "Select a time...", "00:00")
        await chat.click_card_button("Create meeting", card=card)
        await form.get_by_text(re.compile("has already passed")).first.wait_for(timeout=30_000)
        await chat.screenshot("form-past-time-from-the-bot")
        await pick(card, "Select a time...", "10:00")

    card = form.locator(".ac-adaptiveCard").first
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    await pick(card, "Select a date...", tomorrow)
    await chat.click_card_button("Create meeting", card=card)
    await form.get_by_text("Meeting created").wait_for(timeout=30_000)
    text = await form.inner_text()
    assert "Roadmap review" in text
    assert "Join" in text
    await chat.screenshot("form-replaced-by-meeting")

    # Cancelled by typing: the card the form became says so too (it was sent as Action.Submit).
    await chat.send("cancel roadmap")
    confirm = await chat.wait_for_bot_message("Cancel this meeting?", timeout=30)
    await chat.click_card_button("Yes, cancel it", card=confirm.locator(".ac-adaptiveCard").first)
    await form.get_by_text("Cancelled", exact=True).wait_for(timeout=30_000)
    assert "Roadmap review" in await form.inner_text()
    assert await form.get_by_role("link", name="Join", exact=True).count() == 0
    await chat.screenshot("form-meeting-cancelled-by-typing")


async def test_create_meeting_on_a_message_prefills_the_form(chat: PlaygroundChat) -> None:
    await ensure_signed_in(chat)
    await chat.send("Can we go over the Q3 budget tomorrow at 10am?")
    # Not page.get_by_text: the Playground's log panel also shows the text, later in the DOM.
    message = chat.messages_containing("Can we go over the Q3 budget tomorrow at 10am?").last
    dialog = await chat.open_message_action(message, "createMeeting")
    task_card = dialog.locator(".ac-adaptiveCard").first
    await task_card.wait_for()
    subject = task_card.get_by_placeholder("e.g. Design review")
    assert "Q3 budget" in await subject.input_value()
    assert await task_card.get_by_placeholder("Select a time...").input_value() == "10:00 AM"
    tomorrow = date.today() + timedelta(days=1)
    shown = await task_card.get_by_placeholder("Select a date...").input_value()
    assert shown == f"{tomorrow:%B} {tomorrow.day}, {tomorrow.year}"
    await chat.screenshot("message-action-prefilled")
    await chat.mark()
    await task_card.get_by_role("button", name="Create meeting").click()
    card = await chat.wait_for_bot_message("Meeting created", timeout=30)
    assert "Q3 budget" in await card.inner_text()
    await chat.screenshot("message-action-meeting")
