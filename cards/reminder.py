"""The reminder card: a meeting of this conversation is about to start."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.core.reminders import starts_in_text
from cards.elements import Action, ActionOpenUrl, AdaptiveCard, TextBlock, plain


def reminder_card(
    subject: str, start: datetime, now: datetime, join_url: str | None
) -> dict[str, Any]:
    """Subject, "Starts in N minutes" and the start time, which Teams writes in each reader's
    own zone and clock format ({{TIME()}}), and Join."""
    at = start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    actions: list[Action] | None = [ActionOpenUrl(title="Join", url=join_url)] if join_url else None
    when = f"{starts_in_text(start, now)} (at {{{{TIME({at})}}}})"
    return AdaptiveCard(
        body=[
            TextBlock(text="Meeting reminder", size="small", is_subtle=True),
            TextBlock(text=plain(subject), size="medium", weight="bolder", spacing="none"),
            TextBlock(text=when, spacing="small"),
        ],
        actions=actions,
    ).to_dict()
