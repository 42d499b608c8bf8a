"""The Agents Playground as the Bot Framework Emulator: help, sign in with a code, meet."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest
from playground import BotProcess, PlaygroundChat, PlaygroundProcess

pytestmark = pytest.mark.e2e

COMMAND = "meet Standup in 2 days at 9am"


@pytest.fixture
def playground_channel_id() -> str | None:
    return "emulator"


def emulate_oauth_cards_status(service_url: str) -> int:
    """What MeetBot's first question to an Emulator's token API gets: 200 means "use me"."""
    request = urllib.request.Request(
        f"{service_url}/api/usertoken/emulateOAuthCards?emulate=true", data=b"", method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code


async def test_help_shows_the_help_card(chat: PlaygroundChat) -> None:
    await chat.send("help")
    reply = await chat.wait_for_bot_message("MeetBot")
    card = reply.locator(".ac-adaptiveCard")
    assert await card.count() == 1
    text = await card.inner_text()
    for expected in ("meet", "list", "signout", "New meeting"):
        assert expected in text, expected
    await chat.screenshot("emulator-help-card")


async def test_meet_signs_in_on_the_embedded_sandbox_with_a_code(
    chat: PlaygroundChat, meetbot: BotProcess, playground: PlaygroundProcess
) -> None:
    # The Playground has no Emulator token API, so MeetBot must fall back to its own sandbox.
    assert emulate_oauth_cards_status(f"{playground.url}/_connector") == 404

    # The bot outlives single tests: start signed out, whatever ran before.
    await chat.send("signout")
    await chat.wait_for_bot_message("signed out")
    await chat.send(COMMAND)
    await chat.wait_for_bot_message(re.compile("sign in", re.IGNORECASE))
    await chat.screenshot("emulator-signin-card")

    window = await chat.click_sign_in()
    link = urlsplit(window.url)
    assert link.port == meetbot.port, window.url
    assert link.path.startswith("/sandbox/token/signin/"), window.url
    page = window.page
    await page.get_by_role("heading", name="Sign in as …").wait_for()
    await page.get_by_role("button", name="Sign in").click()
    code = (await page.locator("#code").inner_text()).strip()
    assert re.fullmatch(r"\d{6}", code)
    await page.screenshot(path=str(chat.screenshot_dir / "emulator-sandbox-code.png"))
    await page.close()

    await chat.send(code)
    created = await chat.wait_for_bot_message("Meeting created", timeout=20)
    text = await created.inner_text()
    for expected in ("Standup", "Join", "Meeting ID", "Passcode", "Dial in"):
        assert expected in text, expected
    await chat.screenshot("emulator-meeting-card")
