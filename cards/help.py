"""The help and welcome cards: what MeetBot does and how to ask for a meeting."""

from __future__ import annotations

from functools import cache
from typing import Any

from cards.elements import ActionSubmit, AdaptiveCard, Fact, FactSet, TextBlock

NEW_MEETING_ACTION = "newMeeting"
HELP_ACTION = "help"

_COMMANDS = (
    Fact(
        title="meet ‹subject› [when] [for ‹duration›] [with @people]",
        value="Create a Teams meeting, e.g. meet Design review tomorrow at 3pm for 45 minutes",
    ),
    Fact(title="meet", value="Open the meeting form"),
    Fact(title="list", value="Meetings I created in this conversation"),
    Fact(title="signout", value="Sign out of Microsoft Graph"),
    Fact(title="help", value="Show this card"),
)


def _new_meeting() -> ActionSubmit:
    return ActionSubmit(title="New meeting", data={"meetbot": NEW_MEETING_ACTION})


@cache
def _help_card() -> AdaptiveCard:
    return AdaptiveCard(
        body=[
            TextBlock(text="MeetBot", size="large", weight="bolder", style="heading"),
            TextBlock(
                text="I turn a conversation into a Teams meeting with a join link, "
                "dial-in numbers and an add-to-calendar option.",
                is_subtle=True,
            ),
            FactSet(facts=list(_COMMANDS), spacing="medium"),
            TextBlock(
                text="Times are read in your time zone. In group chats and channels, "
                "mention me first: @MeetBot meet Budget sync on Dec 3 from 2pm to 3:30pm.",
                is_subtle=True,
                size="small",
                spacing="medium",
            ),
        ],
        actions=[_new_meeting()],
    )


@cache
def _welcome_card() -> AdaptiveCard:
    return AdaptiveCard(
        body=[
            TextBlock(text="Hi, I'm MeetBot", size="large", weight="bolder", style="heading"),
            TextBlock(
                text="Tell me what to meet about and when, and I'll create the Teams meeting "
                "and post its join link here. For example:"
            ),
            TextBlock(text="meet Design review tomorrow at 3pm for 45 minutes", weight="bolder"),
        ],
        actions=[
            _new_meeting(),
            ActionSubmit(title="Help", data={"meetbot": HELP_ACTION}),
        ],
    )


def help_card() -> dict[str, Any]:
    """The list of commands, with a button to open the meeting form."""
    return _help_card().to_dict()


def welcome_card() -> dict[str, Any]:
    """Sent once when MeetBot is added to a conversation."""
    return _welcome_card().to_dict()
