"""The organizer's cards: confirm a cancel, meeting options, a cancelled meeting asked again."""

from __future__ import annotations

from typing import Any

from pydantic import JsonValue

from bot.core.managed import CONFIRM_CANCEL, CREATE_AGAIN, REFRESH, SAVE_OPTIONS
from bot.core.online_meeting import MeetingOptions
from cards.elements import Action, AdaptiveCard, Color, Element, TextBlock, plain
from cards.form import FormCard, FormElement, option_inputs
from cards.meeting import execute


def _about(headline: str, color: Color, subject: str, when: str, note: str) -> list[Element]:
    """A meeting asked about: the question or news, its subject and time, and what follows."""
    return [
        TextBlock(text=headline, weight="bolder", color=color),
        TextBlock(text=plain(subject), size="large", weight="bolder", spacing="none"),
        TextBlock(text=when, spacing="small"),
        TextBlock(text=note, is_subtle=True),
    ]


def cancel_confirm_card(subject: str, when: str, data: dict[str, JsonValue]) -> dict[str, Any]:
    """Cancel meeting, one step before it happens."""
    return AdaptiveCard(
        body=_about(
            "Cancel this meeting?",
            "attention",
            subject,
            when,
            "Its join link stops working for everyone, and the card here says it was cancelled. "
            "This can't be undone.",
        ),
        actions=[
            execute("Yes, cancel it", CONFIRM_CANCEL, data, style="destructive"),
            execute("Keep it", REFRESH, data),
        ],
    ).to_dict()


def options_card(
    subject: str,
    options: MeetingOptions,
    data: dict[str, JsonValue],
    *,
    message: str | None = None,
) -> dict[str, Any]:
    """Options: who bypasses the lobby, who presents, recording, announcements, chat."""
    body: list[FormElement] = []
    if message:
        body.append(TextBlock(text=plain(message), color="attention", weight="bolder"))
    body += [
        TextBlock(text="Meeting options", size="large", weight="bolder", style="heading"),
        TextBlock(text=plain(subject), spacing="none", is_subtle=True),
        *option_inputs(options),
    ]
    actions: list[Action] = [
        execute("Save options", SAVE_OPTIONS, data, style="positive"),
        execute("Back", REFRESH, data),
    ]
    return FormCard(body=body, actions=actions).to_dict()


def cancelled_before_card(subject: str, when: str, data: dict[str, JsonValue]) -> dict[str, Any]:
    """The request would recreate a meeting its organizer cancelled: say so, offer a new one."""
    return AdaptiveCard(
        body=_about(
            "You cancelled this meeting",
            "warning",
            subject,
            when,
            "I haven't made it again. If you want it after all, I'll create a new meeting, "
            "with a new join link.",
        ),
        actions=[execute("Create a new meeting", CREATE_AGAIN, data, style="positive")],
    ).to_dict()
