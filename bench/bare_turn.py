"""The floor for a meeting turn: bare aiohttp doing the same HTTP work as MeetBot's form path.

`python bench/bare_turn.py PORT` with `OAUTH_URL` and `GRAPH_BASE_URL` in the environment.
For each card submission (`value` with subject, date, startTime, durationMinutes) it looks the
user's token up in the token service, calls Graph `createOrGet`, and puts one meeting card on
the channel: a PUT that updates `replyToId` (as MeetBot updates the form), else a POST reply.
No framework, no validation beyond what the calls need, no state: one long-lived ClientSession.
"""

import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
CONNECTION_NAME = "graph"
_EXTERNAL_ID_NAMESPACE = uuid.UUID("8f5d0c4e-2b7a-5d3e-9c1f-4a6b8e0d2c17")
SESSION = web.AppKey("session", aiohttp.ClientSession)


def meeting_card(meeting: dict[str, Any], subject: str) -> dict[str, Any]:
    """A card with the same elements as MeetBot's meeting card, so the reply is as large."""
    start = datetime.fromisoformat(meeting["startDateTime"][:19]).replace(tzinfo=UTC)
    end = datetime.fromisoformat(meeting["endDateTime"][:19]).replace(tzinfo=UTC)
    when = f"{start:%a, %b %-d, %Y, %-I:%M %p} – {end:%-I:%M %p} (UTC)"
    ids = meeting.get("joinMeetingIdSettings") or {}
    audio = meeting.get("audioConferencing") or {}
    organizer = meeting["participants"]["organizer"]["upn"]
    join = meeting["joinWebUrl"]
    invitation = [
        subject,
        when,
        "",
        "Join the Microsoft Teams meeting:",
        join,
        f"Meeting ID: {ids.get('joinMeetingId')}",
        f"Passcode: {ids.get('passcode')}",
        "Dial in: " + ", ".join(audio.get("tollNumbers", []) + audio.get("tollFreeNumbers", [])),
        f"Phone conference ID: {audio.get('conferenceId')}#",
    ]
    dial_in = [{"title": "Call in (toll)", "value": n} for n in audio.get("tollNumbers", [])]
    dial_in += [{"title": "Call in (toll-free)", "value": n} for n in audio["tollFreeNumbers"]]
    dial_in.append({"title": "Conference ID", "value": f"{audio.get('conferenceId')}#"})
    dial_in.append({"title": "Video conferencing ID", "value": meeting["videoTeleconferenceId"]})
    outlook = (
        "https://outlook.office.com/calendar/0/deeplink/compose?"
        f"subject={quote(subject)}&startdt={quote(meeting['startDateTime'])}"
        f"&enddt={quote(meeting['endDateTime'])}&body={quote(join)}"
    )
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": [
            {"type": "TextBlock", "text": "Meeting created", "wrap": True, "weight": "bolder"},
            {"type": "TextBlock", "text": subject, "wrap": True, "size": "large"},
            {"type": "TextBlock", "text": when, "wrap": True, "spacing": "small"},
            {
                "type": "FactSet",
                "facts": [
                    {"title": "Organizer", "value": organizer},
                    {"title": "Meeting ID", "value": ids.get("joinMeetingId")},
                    {"title": "Passcode", "value": ids.get("passcode")},
                ],
                "spacing": "medium",
            },
            {"type": "TextBlock", "text": "Dial in", "wrap": True, "separator": True},
            {"type": "FactSet", "facts": dial_in},
        ],
        "actions": [
            {"type": "Action.OpenUrl", "title": "Join", "url": join},
            {
                "type": "Action.ShowCard",
                "title": "Add to calendar",
                "card": {
                    "type": "AdaptiveCard",
                    "body": [{"type": "TextBlock", "text": "Add the meeting to your calendar:"}],
                    "actions": [
                        {"type": "Action.OpenUrl", "title": "Outlook on the web", "url": outlook}
                    ],
                },
            },
            {
                "type": "Action.ShowCard",
                "title": "Copy invitation",
                "card": {
                    "type": "AdaptiveCard",
                    "body": [
                        {"type": "TextBlock", "text": line or " ", "fontType": "monospace"}
                        for line in invitation
                    ],
                },
            },
            {"type": "Action.OpenUrl", "title": "Find a local number", "url": audio["dialinUrl"]},
        ],
        "msteams": {"width": "Full"},
    }


async def messages(request: web.Request) -> web.Response:
    """POST /api/messages: token, createOrGet, one card to the channel, then 201."""
    session = request.app[SESSION]
    activity = await request.json()
    value = activity.get("value")
    if activity.get("type") != "message" or not isinstance(value, dict):
        return web.Response(status=201)
    user, bot, conversation = activity["from"], activity["recipient"], activity["conversation"]
    channel_id = activity["channelId"]

    async with session.get(
        f"{os.environ['OAUTH_URL']}/api/usertoken/GetToken",
        params={
            "userId": user["id"],
            "connectionName": CONNECTION_NAME,
            "channelId": channel_id,
            "api-version": "token",
        },
    ) as answer:
        token = (await answer.json())["token"]

    subject = value["subject"]
    start = datetime.fromisoformat(f"{value['date']}T{value['startTime']}").replace(tzinfo=UTC)
    end = start + timedelta(minutes=int(value["durationMinutes"]))
    key = [conversation.get("tenantId"), conversation["id"], user.get("aadObjectId"), subject]
    external_id = str(uuid.uuid5(_EXTERNAL_ID_NAMESPACE, json.dumps([*key, str(start)])))
    graph_body = {
        "externalId": external_id,
        "subject": subject,
        "startDateTime": start.isoformat().replace("+00:00", "Z"),
        "endDateTime": end.isoformat().replace("+00:00", "Z"),
    }
    async with session.post(
        f"{os.environ['GRAPH_BASE_URL']}/me/onlineMeetings/createOrGet",
        data=json.dumps(graph_body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    ) as answer:
        meeting = json.loads(await answer.read())

    reply_to = activity.get("replyToId")
    reply: dict[str, Any] = {
        "type": "message",
        "serviceUrl": activity["serviceUrl"],
        "channelId": channel_id,
        "from": bot,
        "recipient": user,
        "conversation": conversation,
        "replyToId": activity["id"],
        "locale": activity.get("locale"),
        "inputHint": "acceptingInput",
        "attachments": [{"contentType": CARD_TYPE, "content": meeting_card(meeting, subject)}],
    }
    path = f"{activity['serviceUrl']}/v3/conversations/{quote(conversation['id'], safe='')}"
    if reply_to:
        reply["id"] = reply_to
        method, url = "PUT", f"{path}/activities/{quote(reply_to, safe='')}"
    else:
        method, url = "POST", f"{path}/activities/{quote(activity['id'], safe='')}"
    async with session.request(method, url, data=json.dumps(reply), headers=JSON) as answer:
        await answer.read()
    return web.Response(status=201)


JSON = {"Content-Type": "application/json"}


async def _session(app: web.Application) -> AsyncIterator[None]:
    app[SESSION] = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=200, limit_per_host=64, keepalive_timeout=60)
    )
    yield
    await app[SESSION].close()


def create_app() -> web.Application:
    app = web.Application()
    app.cleanup_ctx.append(_session)
    app.router.add_post("/api/messages", messages)
    return app


if __name__ == "__main__":
    web.run_app(create_app(), host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
