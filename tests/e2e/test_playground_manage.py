"""In the Agents Playground: the organizer reschedules, sets an option, then cancels the meeting."""

from __future__ import annotations

import re

import pytest
from playground import PlaygroundChat, sign_in
from playwright.async_api import Locator

pytestmark = pytest.mark.e2e

COMMAND = "meet Roadmap sync tomorrow at 3pm for 30 minutes"
MEETING_ID = re.compile(r"Meeting ID\s+(\d{3} \d{3} \d{3} \d{3})")


async def meeting_id(message: Locator) -> str:
    match = MEETING_ID.search(await message.inner_text())
    assert match, await message.inner_text()
    return match.group(1)


async def pick_time(card: Locator, value: str, heading: str) -> None:
    """The Playground draws Input.Time as a Fluent picker that accepts typed text."""
    picker = card.get_by_placeholder("Select a time...")
    await picker.click()
    await picker.fill(value)
    await picker.press("Enter")
    await picker.press("Escape")
    await card.get_by_text(heading, exact=True).click()


async def choose(card: Locator, label: str, option: str) -> None:
    """The Playground draws a compact Input.ChoiceSet as a Fluent combobox."""
    await card.get_by_role("combobox", name=label).click()
    await card.page.get_by_role("option", name=option, exact=True).click()


async def test_reschedule_then_options_then_cancel_from_the_card(chat: PlaygroundChat) -> None:
    await chat.send("signout")
    await chat.wait_for_bot_message("signed out")
    await chat.send(COMMAND)
    message = await sign_in(chat, "manage")
    first_id = await meeting_id(message)
    card = message.locator(".ac-adaptiveCard").first
    for control in ("Reschedule", "Cancel meeting", "Options"):
        await card.get_by_role("button", name=control, exact=True).wait_for()
    await chat.screenshot("manage-1-organizers-card")

    # Reschedule: the form comes prefilled in place of the card; a new time, then Save.
    await chat.click_card_button("Reschedule", card=card)
    await message.get_by_text("Reschedule", exact=True).wait_for(timeout=30_000)
    card = message.locator(".ac-adaptiveCard").first
    assert await card.get_by_placeholder("e.g. Design review").input_value() == "Roadmap sync"
    await pick_time(card, "16:30", "Reschedule")
    await chat.screenshot("manage-2-reschedule-form")
    await chat.click_card_button("Save", card=card)
    await message.get_by_text(re.compile("^Moved to ")).wait_for(timeout=30_000)
    text = await message.inner_text()
    assert "4:30 pm" in text, text
    assert await meeting_id(message) == first_id
    await chat.screenshot("manage-3-moved")

    # Options: one changed, saved through Graph, shown on the card.
    card = message.locator(".ac-adaptiveCard").first
    await chat.click_card_button("Options", card=card)
    await message.get_by_text("Meeting options", exact=True).wait_for(timeout=30_000)
    card = message.locator(".ac-adaptiveCard").first
    await choose(card, "Who can bypass the lobby", "Everyone")
    await chat.screenshot("manage-4-options-form")
    await chat.click_card_button("Save options", card=card)
    await message.get_by_text("Options saved", exact=True).wait_for(timeout=30_000)
    text = await message.inner_text()
    assert re.search(r"Who bypasses the lobby\s+Everyone", text), text
    assert await meeting_id(message) == first_id
    await chat.screenshot("manage-5-options-saved")

    # Cancel meeting: a confirmation first, then the card says Cancelled, without Join.
    card = message.locator(".ac-adaptiveCard").first
    await chat.click_card_button("Cancel meeting", card=card)
    await message.get_by_text("Cancel this meeting?", exact=True).wait_for(timeout=30_000)
    await chat.screenshot("manage-6-cancel-confirmation")
    card = message.locator(".ac-adaptiveCard").first
    await chat.click_card_button("Yes, cancel it", card=card)
    await message.get_by_text("Cancelled", exact=True).wait_for(timeout=30_000)
    card = message.locator(".ac-adaptiveCard").first
    assert await card.get_by_role("button", name="Join", exact=True).count() == 0
    assert await card.get_by_role("link", name="Join", exact=True).count() == 0
    assert "Roadmap sync" in await message.inner_text()
    await chat.screenshot("manage-7-cancelled")
