"""Meeting data and the cards built from it, shared by the card tests and the render tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.calendar import CalendarEvent, outlook_link
from bot.graph import MeetingOptions, OnlineMeeting
from cards.help import help_card, welcome_card
from cards.lists import meeting_list_card
from cards.manage import cancel_confirm_card, cancelled_before_card
from cards.meeting import MeetingView, meeting_card, problem_card, working_card

START = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
END = datetime(2026, 11, 24, 20, 45, tzinfo=UTC)

FULL = {
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('5f0e')/onlineMeetings/$entity",
    "id": "MSo1ZjBlLi4uKjAqKjE5Om1lZXRpbmdfTlRJeEB0aHJlYWQudjI=",
    "externalId": "2d9c6a3e-8b1f-5c4e-9a77-0f3b4c5d6e7f",
    "subject": "Design review",
    "startDateTime": "2026-11-24T20:00:00Z",
    "endDateTime": "2026-11-24T20:45:00Z",
    "joinWebUrl": "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NTIx%40thread.v2/0",
    "videoTeleconferenceId": "1234567890@teams.example",
    "joinMeetingIdSettings": {
        "isPasscodeRequired": True,
        "joinMeetingId": "312 456 789 012",
        "passcode": "aB3cD4",
    },
    "audioConferencing": {
        "conferenceId": "804980123",
        "tollNumber": "+1 425-555-0100",
        "tollFreeNumber": "+1 800-555-0199",
        "tollNumbers": ["+1 425-555-0100", "+44 20 7946 0000"],
        "tollFreeNumbers": ["+1 800-555-0199"],
        "dialinUrl": "https://dialin.teams.microsoft.com/8bf6e654?id=804980123",
    },
    "participants": {"organizer": {"upn": "megan@contoso.com", "role": "presenter"}},
    "isBroadcast": False,
}
BARE = {
    "id": "m-2",
    "joinWebUrl": "https://teams.microsoft.com/meet/123?p=abc",
    "audioConferencing": None,
    "joinMeetingIdSettings": None,
    "videoTeleconferenceId": None,
}


def view(
    raw: dict[str, Any], *, subject: str = "Design review", created: bool = True
) -> MeetingView:
    event = CalendarEvent(
        uid="x", subject=subject, start=START, end=END, join_url=raw["joinWebUrl"]
    )
    return MeetingView(
        meeting=OnlineMeeting.model_validate(raw),
        subject=subject,
        start=START,
        end=END,
        zone=ZoneInfo("America/New_York"),
        created=created,
        organizer="megan@contoso.com",
        attendees=("Alex Wilber", "adele@contoso.com"),
        notes=("That time had already passed today, so this is the next one.",),
        outlook_url=outlook_link(event),
        ics_url="http://localhost:3978/calendar/abc.def.ics",
    )


ORGANIZER = {
    "manage_data": {"externalId": "2d9c6a3e-8b1f-5c4e-9a77-0f3b4c5d6e7f"},
    "refresh_user_ids": ("29:user-1",),
}
ALL_CARDS = {
    "help": help_card(),
    "welcome": welcome_card(),
    "meeting_full": meeting_card(view(FULL)),
    "meeting_no_dial_in": meeting_card(view(BARE)),
    "meeting_already_scheduled": meeting_card(view(FULL, created=False)),
    "working": working_card("Design review"),
    "problem_throttled": problem_card(
        "I couldn't create the meeting",
        "Microsoft Graph is busy. Try again in 3 seconds.",
        retry={"meetbot": "retry"},
    ),
    "list": meeting_list_card(
        [
            {
                "subject": "Design review",
                "start": START.isoformat(),
                "end": END.isoformat(),
                "joinUrl": FULL["joinWebUrl"],
            }
        ],
        ZoneInfo("Europe/Berlin"),
    ),
    "meeting_organizer": meeting_card(replace(view(FULL), controls=True, **ORGANIZER)),
    "meeting_moved": meeting_card(
        replace(
            view(FULL, created=False),
            # Shown at its new time, as after a reschedule.
            start=START + timedelta(minutes=90),
            end=END + timedelta(minutes=90),
            notes=(),
            headline="Moved to Tue, Nov 24, 2026, 4:30 pm – 5:15 pm (America/New_York)",
            options=MeetingOptions(lobby_bypass="everyone", record_automatically=True),
            **ORGANIZER,
        )
    ),
    "meeting_cancelled": meeting_card(replace(view(FULL), cancelled=True, notes=())),
    "cancel_confirm": cancel_confirm_card(
        "Design review",
        "Tue, Nov 24, 2026, 3:00 pm – 3:45 pm (America/New_York)",
        {"externalId": "x"},
    ),
    "cancelled_before": cancelled_before_card(
        "Design review",
        "Tue, Nov 24, 2026, 3:00 pm – 3:45 pm (America/New_York)",
        {"externalId": "x"},
    ),
    "list_manage": meeting_list_card(
        [
            {
                "externalId": "2d9c6a3e-8b1f-5c4e-9a77-0f3b4c5d6e7f",
                "subject": "Design review",
                "start": START.isoformat(),
                "end": END.isoformat(),
                "joinUrl": FULL["joinWebUrl"],
            },
            {
                "externalId": "0f3b4c5d-8b1f-5c4e-9a77-2d9c6a3e6e7f",
                "subject": "Retro",
                "start": START.isoformat(),
                "end": END.isoformat(),
                "joinUrl": FULL["joinWebUrl"],
                "status": "cancelled",
            },
        ],
        ZoneInfo("Europe/Berlin"),
    ),
}
