"""A meeting MeetBot made, as kept so its organizer can move, cancel and configure it."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from bot.core.online_meeting import OnlineMeeting
from bot.core.request import Attendee

# Card actions on a meeting (Action.Execute verbs, and `meetbot` in Action.Submit data).
REFRESH = "refreshMeeting"
RESCHEDULE = "reschedule"
SAVE_RESCHEDULE = "saveReschedule"
CANCEL = "cancelMeeting"
CONFIRM_CANCEL = "confirmCancel"
OPTIONS = "meetingOptions"
SAVE_OPTIONS = "saveOptions"
CREATE_AGAIN = "createAgain"
MANAGE_ACTIONS = frozenset(
    {REFRESH, RESCHEDULE, SAVE_RESCHEDULE, CANCEL, CONFIRM_CANCEL, OPTIONS, SAVE_OPTIONS}
)


def managed_key(external_id: str) -> str:
    """One record per meeting; the externalId already names its tenant and conversation."""
    return "meeting/" + hashlib.sha256(external_id.encode()).hexdigest()[:40]


class ManagedMeeting(BaseModel):
    """The meeting as Graph last returned it, and what MeetBot knows around it."""

    model_config = ConfigDict(frozen=True)

    external_id: str
    meeting: dict[str, Any]
    # Who may change it (the request's organizer id) and their channel id (the card's refresh).
    organizer_id: str
    organizer_user_id: str
    organizer_name: str | None = None
    ledger_key: str
    subject: str
    start: AwareDatetime
    end: AwareDatetime
    attendees: tuple[Attendee, ...] = ()
    status: Literal["active", "cancelled"] = "active"
    # The .ics SEQUENCE: one more at every change.
    sequence: int = 0
    moved: bool = False
    # The organizer set options: the card shows them.
    options_set: bool = False
    # The card in the conversation, updated in place for everyone after a change.
    card_id: str | None = None

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"

    def online_meeting(self) -> OnlineMeeting:
        return OnlineMeeting.model_validate(self.meeting)

    def with_meeting(self, meeting: OnlineMeeting, **changes: Any) -> ManagedMeeting:
        """After Graph answered a change: its meeting, its times and subject, one more SEQUENCE."""
        start: datetime = meeting.start_date_time or self.start
        end: datetime = meeting.end_date_time or self.end
        return self.model_copy(
            update={
                "meeting": meeting.model_dump(mode="json", by_alias=True),
                "subject": meeting.subject or self.subject,
                "start": start,
                "end": end,
                "sequence": self.sequence + 1,
                **changes,
            }
        )
