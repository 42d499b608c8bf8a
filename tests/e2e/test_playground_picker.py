"""In the Agents Playground: people picked in the form (its picker sends ids like `user-id-1`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playground import PlaygroundChat, sign_in
from playwright.async_api import Locator
from test_playground_form import pick

pytestmark = pytest.mark.e2e


async def signed_in(chat: PlaygroundChat) -> None:
    await chat.send("meet Picker warm-up tomorrow at 9am")
    reply = await chat.wait_for_bot_message(
        re.compile("Meeting created|Already scheduled|sign in", re.IGNORECASE), timeout=20
    )
    if re.search("sign in", await reply.inner_text(), re.IGNORECASE):
        await sign_in(chat, "picker")


async def pick_person(card: Locator, name: str) -> None:
    """Type into the Playground's people picker and choose the suggestion."""
    picker = card.get_by_label("People Picker")
    await picker.click()
    await picker.fill(name.split()[0])
    await card.page.get_by_role("option", name=re.compile(name)).first.click()


async def fill_form(chat: PlaygroundChat, subject: str) -> tuple[Locator, Locator]:
    await chat.send("meet")
    form = await chat.wait_for_bot_message("Subject", timeout=30)
    card = form.locator(".ac-adaptiveCard").first
    await card.get_by_placeholder("e.g. Design review").fill(subject)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    await pick(card, "Select a date...", tomorrow)
    await pick(card, "Select a time...", "10:00")
    return form, card


async def test_someone_the_bot_cannot_invite_is_named_and_taken_out_of_the_form(
    chat: PlaygroundChat,
) -> None:
    await signed_in(chat)
    form, card = await fill_form(chat, "Picker check")
    await pick_person(card, "Megan Bowen")
    await chat.screenshot("picker-picked")
    await chat.click_card_button("Create meeting", card=card)
    # A personal chat's only member is the user: the Playground answers 404 for Megan.
    await form.get_by_text(re.compile("I can't invite “user-id-1”")).wait_for(timeout=30_000)
    await chat.screenshot("picker-taken-out")
    card = form.locator(".ac-adaptiveCard").first
    await chat.click_card_button("Create meeting", card=card)
    # The answer replaces the form in place (Action.Execute), without the person taken out.
    await form.get_by_text("Meeting created").wait_for(timeout=30_000)
    await chat.screenshot("picker-then-created")
