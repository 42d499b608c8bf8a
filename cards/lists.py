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
from cards.meeting import when_text


def meeting_list_card(
    meetings: list[dict[str, Any]], zone: ZoneInfo, *, older: int = 0
) -> dict[str, Any]:
    """The newest meetings (the first `SHOWN` are shown) and a count of `older` ones."""
    body: list[Element] = [
        TextBlock(text="Meetings in this conversation", size="medium", weight="bolder")
    ]
    for entry in meetings[:SHOWN]:
        start = datetime.fromisoformat(entry["start"])
        end = datetime.fromisoformat(entry["end"])
        body.append(
            Container(
                separator=True,
                spacing="medium",
                items=[
                    TextBlock(text=plain(entry["subject"]), weight="bolder"),
                    TextBlock(text=when_text(start, end, zone), is_subtle=True, spacing="none"),
                    ActionSet(actions=[ActionOpenUrl(title="Join", url=entry["joinUrl"])]),
                ],
            )
        )
    older += max(len(meetings) - SHOWN, 0)
    if older:
        body.append(TextBlock(text=f"…and {older} older.", is_subtle=True))
    return AdaptiveCard(body=body).to_dict()
