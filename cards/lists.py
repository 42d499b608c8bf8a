"""The `list` card: meetings MeetBot created in this conversation, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.ledger import SHOWN
from cards.elements import (
    ActionOpenUrl,
    ActionSet,
    AdaptiveCard,
    Container,
    Element,
    TextBlock,
    plain,
)
from cards.meeting import controls, when_text


def meeting_list_card(
    meetings: list[dict[str, Any]],
    zone: ZoneInfo,
    *,
    older: int = 0,
    reminders: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The newest meetings (the first `SHOWN` are shown) and a count of `older` ones;
    `reminders` says, by externalId, what became of each one's reminder."""
    body: list[Element] = [
        TextBlock(text="Meetings in this conversation", size="medium", weight="bolder")
    ]
    for entry in meetings[:SHOWN]:
        start = datetime.fromisoformat(entry["start"])
        end = datetime.fromisoformat(entry["end"])
        reminder = (reminders or {}).get(str(entry.get("externalId")))
        when = when_text(start, end, zone) + (f" · {reminder}" if reminder else "")
        items: list[Element] = [
            TextBlock(text=plain(entry["subject"]), weight="bolder"),
            TextBlock(text=when, is_subtle=True, spacing="none"),
        ]
        if entry.get("status") == "cancelled":
            items.append(TextBlock(text="Cancelled", color="attention", spacing="none"))
        else:
            # Reschedule and Cancel for its organizer (anyone else is told they can't).
            external_id = entry.get("externalId")
            manage = controls({"externalId": external_id})[:2] if external_id else []
            join = ActionOpenUrl(title="Join", url=entry["joinUrl"])
            items.append(ActionSet(actions=[join, *manage]))
        body.append(Container(separator=True, spacing="medium", items=items))
    older += max(len(meetings) - SHOWN, 0)
    if older:
        body.append(TextBlock(text=f"…and {older} older.", is_subtle=True))
    return AdaptiveCard(body=body).to_dict()
