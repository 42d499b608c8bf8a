"""Routing: what each kind of activity gets back, through the real app and a fake channel."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import FakeChannel, activity


def _card_title(channel: FakeChannel) -> str:
    return str(channel.cards()[0]["body"][0]["text"])


async def _post(client: TestClient[Any, Any], body: dict[str, Any]) -> None:
    response = await client.post("/api/messages", json=body)
    assert response.status == 201, await response.text()


async def test_help_replies_with_the_help_card(
    client: TestClient[Any, Any], channel: FakeChannel
) -> None:
    await _post(client, activity(channel.url, text="help"))
    assert _card_title(channel) == "MeetBot"
    reply = channel.activities()[0]
    assert reply["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert reply["inputHint"] == "acceptingInput"


async def test_unknown_text_gets_a_hint_that_quotes_it_escaped(
    client: TestClient[Any, Any], channel: FakeChannel
) -> None:
    await _post(client, activity(channel.url, text="[dance](https://evil.example)"))
    (reply,) = channel.activities()
    assert "help" in reply["text"]
    # The brackets are escaped, so no client can render a link.
    assert "\\[dance\\](https://evil.example)" in reply["text"]


async def test_the_bots_own_mention_is_stripped(
    client: TestClient[Any, Any], channel: FakeChannel
) -> None:
    mention = {
        "type": "mention",
        "mentioned": {"id": "28:meetbot", "name": "MeetBot"},
        "text": "<at>MeetBot</at>",
    }
    body = activity(
        channel.url, text="<at>MeetBot</at> help", entities=[mention], conversation_type="groupChat"
    )
    await _post(client, body)
    assert _card_title(channel) == "MeetBot"


async def test_the_new_meeting_button_opens_the_form(
    client: TestClient[Any, Any], channel: FakeChannel
) -> None:
    await _post(client, activity(channel.url, text=None, value={"meetbot": "newMeeting"}))
    inputs = [e.get("id") for e in channel.cards()[0]["body"] if "id" in e]
    assert "subject" in inputs


async def test_a_button_from_an_unknown_card_says_so(
    client: TestClient[Any, Any], channel: FakeChannel
) -> None:
    await _post(client, activity(channel.url, text=None, value={"meetbot": "no-such-action"}))
    (reply,) = channel.activities()
    assert "no longer understand" in reply["text"]


def _members_added(
    channel: FakeChannel, conversation_type: str, *member_ids: str
) -> dict[str, Any]:
    return activity(
        channel.url,
        text=None,
        kind="conversationUpdate",
        conversation_type=conversation_type,
        membersAdded=[{"id": member} for member in member_ids],
    )


async def test_welcome_when_installed_in_a_group_chat(
    client: TestClient[Any, Any], channel: FakeChannel
) -> None:
    await _post(client, _members_added(channel, "groupChat", "28:meetbot"))
    assert _card_title(channel) == "Hi, I'm MeetBot"
    # A conversation update is not something to reply to.
    assert "replyToId" not in channel.activities()[0]


async def test_no_welcome_spam_when_someone_joins_a_team(
    client: TestClient[Any, Any], channel: FakeChannel
) -> None:
    colleague = {"id": "29:new-colleague", "name": "Adele", "aadObjectId": "adele-oid"}
    channel.members["a:conversation-1"] = {"29:new-colleague": colleague}
    await _post(client, _members_added(channel, "channel", "29:new-colleague"))
    assert channel.received == []


async def test_welcome_in_personal_chat(client: TestClient[Any, Any], channel: FakeChannel) -> None:
    channel.members["a:conversation-1"] = {"29:user": {"id": "29:user", "name": "Megan"}}
    await _post(client, _members_added(channel, "personal", "29:user"))
    assert _card_title(channel) == "Hi, I'm MeetBot"
