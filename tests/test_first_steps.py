"""What a new user meets first, in local mode: the bot's address in a browser, the sign-in card,
the meeting card (organizer by name, times, stand-in links said so) and its `.ics` file."""

from __future__ import annotations

from typing import Any

from tests.conftest import FakeChannel
from tests.flows import (
    meet,
    meeting_cards,
    oauth_cards,
    running_bot,
    sign_in_on_the_sandbox_page,
)

COMMAND = "meet Design review: Q3/Q4 tomorrow at 3pm for 45 minutes"


def texts(card: dict[str, Any]) -> str:
    return str(card)


async def test_the_bot_s_address_in_a_browser_says_how_to_talk_to_it() -> None:
    async with running_bot() as bot, bot.session.get(f"{bot.url}/") as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        page = await response.text()
    assert f"{bot.settings.browser_url}/api/messages" in page
    assert "npm run playground -- --app-endpoint" in page
    assert "local mode" in page


async def test_a_first_meeting_in_local_mode(channel: FakeChannel) -> None:
    async with running_bot() as bot:
        await bot.send(meet(channel, COMMAND, localTimezone="America/New_York"))
        signin = oauth_cards(channel)[0]
        assert signin["text"].startswith("Sign in with your Microsoft 365 account")
        assert "Teams" not in signin["text"]
        code = await sign_in_on_the_sandbox_page(bot.session, signin["buttons"][0]["value"])
        await bot.send(meet(channel, code, localTimezone="America/New_York"))
        card = meeting_cards(channel)[0]
        facts = {
            fact["title"]: fact["value"]
            for element in card["body"]
            if element["type"] == "FactSet"
            for fact in element["facts"]
        }
        # The name the user signed in with, not their e-mail; times as messages write them.
        assert facts["Organizer"] == "Megan Bowen"
        assert "3:00 pm – 3:45 pm (America/New_York)" in texts(card)
        assert " PM" not in texts(card)
        assert "Local mode: the built-in sandbox made this meeting" in texts(card)
        assert "Show invitation" in texts(card)

        calendar = next(a for a in card["actions"] if a["title"] == "Add to calendar")
        urls = {a["title"]: a["url"] for a in calendar["card"]["actions"]}
        async with bot.session.get(urls["Download .ics"]) as response:
            assert response.status == 200
            disposition = response.headers["Content-Disposition"]
            body = (await response.text()).replace("\r\n ", "")
    assert disposition == (
        'attachment; filename="Design review- Q3-Q4.ics"; '
        "filename*=UTF-8''Design%20review-%20Q3-Q4.ics"
    )
    ids = next(a for a in card["actions"] if a["title"] == "Join")["url"]
    assert f"URL:{ids}" in body
    assert 'ORGANIZER;CN="Megan Bowen":mailto:megan@contoso.com' in body
    description = next(line for line in body.split("\r\n") if line.startswith("DESCRIPTION:"))
    for part in ("Meeting ID: ", "Passcode: ", "Dial in: +1 425-555-01", "Phone conference ID: "):
        assert part in description
    assert "Organizer: Megan Bowen" in description
