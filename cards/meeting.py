"""The meeting card (join, IDs, dial-in, calendar, organizer's controls) and the error card."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import JsonValue

from bot.core.managed import CANCEL, OPTIONS, REFRESH, RESCHEDULE
from bot.core.online_meeting import MeetingOptions, OnlineMeeting
from bot.core.parse_facts import format_clock
from cards.elements import (
    Action,
    ActionExecute,
    ActionOpenUrl,
    ActionSet,
    ActionShowCard,
    ActionSubmit,
    AdaptiveCard,
    Element,
    Fact,
    FactSet,
    Refresh,
    Spacing,
    TextBlock,
    plain,
)


@dataclass(frozen=True)
class MeetingView:
    """Everything the card shows, already decided: no Graph or botbuilder types past here."""

    meeting: OnlineMeeting
    subject: str
    start: datetime
    end: datetime
    zone: ZoneInfo
    created: bool
    organizer: str | None = None
    attendees: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    outlook_url: str | None = None
    ics_url: str | None = None
    extra_facts: tuple[Fact, ...] = field(default=())
    # Instead of "Meeting created" / "Already scheduled": "Moved to …", "Options saved".
    headline: str | None = None
    cancelled: bool = False
    # The meeting's card actions carry this (its externalId): with `controls`, its organizer's
    # Reschedule, Cancel meeting and Options; with `refresh_user_ids`, Teams asks for their view.
    manage_data: dict[str, JsonValue] | None = None
    controls: bool = False
    refresh_user_ids: tuple[str, ...] = ()
    options: MeetingOptions | None = None


def when_text(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    day = local_start.strftime("%a, %b %-d, %Y")
    # One way of writing a time everywhere MeetBot writes one: "3:00 pm", as its messages do.
    first = format_clock(local_start.hour, local_start.minute)
    last = format_clock(local_end.hour, local_end.minute)
    if local_end.date() != local_start.date():
        last = f"{local_end:%a, %b %-d}, {last}"
    return f"{day}, {first} – {last} ({zone.key})"


def utc_text(start: datetime, end: datetime) -> str:
    return f"{start.astimezone(UTC):%Y-%m-%d %H:%M} – {end.astimezone(UTC):%H:%M} UTC"


def invitation_text(view: MeetingView, when: str) -> str:
    """The invitation to copy; `when` is the meeting's `when_text`."""
    meeting = view.meeting
    lines = [
        view.subject,
        when,
        "",
        "Join the Microsoft Teams meeting:",
        meeting.join_web_url,
    ]
    ids = meeting.join_meeting_id_settings
    if ids and ids.join_meeting_id:
        lines.append(f"Meeting ID: {ids.join_meeting_id}")
        if ids.passcode:
            lines.append(f"Passcode: {ids.passcode}")
    audio = meeting.audio_conferencing
    if audio:
        numbers = [*audio.toll_numbers, *audio.toll_free_numbers]
        if numbers:
            lines.append("Dial in: " + ", ".join(numbers))
        if audio.conference_id:
            lines.append(f"Phone conference ID: {audio.conference_id}#")
    return "\n".join(lines)


def _dial_in(view: MeetingView) -> list[Element]:
    audio = view.meeting.audio_conferencing
    facts: list[Fact] = []
    if audio:
        facts += [Fact(title="Call in (toll)", value=number) for number in audio.toll_numbers]
        facts += [Fact(title="Call in (toll-free)", value=n) for n in audio.toll_free_numbers]
        if audio.conference_id:
            facts.append(Fact(title="Conference ID", value=f"{audio.conference_id}#"))
    if view.meeting.video_teleconference_id:
        facts.append(
            Fact(title="Video conferencing ID", value=view.meeting.video_teleconference_id)
        )
    if not facts:
        return []
    return [
        TextBlock(text="Dial in", weight="bolder", spacing="medium", separator=True),
        FactSet(facts=facts),
    ]


def _invitation_lines(text: str) -> list[Element]:
    """One monospace TextBlock a line; a blank line becomes space above the next (markdown
    would draw an empty TextBlock 0 px high)."""
    blocks: list[Element] = []
    gap = False
    # Escaped as a whole, then split: `plain` escapes each line as it would alone.
    for line in plain(text).split("\n"):
        if not line.strip():
            gap = True
            continue
        spacing: Spacing = "medium" if gap else "none"
        blocks.append(TextBlock(text=line, spacing=spacing, font_type="monospace"))
        gap = False
    return blocks


def meeting_card(view: MeetingView) -> dict[str, Any]:
    if view.cancelled:
        return cancelled_card(view)
    meeting = view.meeting
    when = when_text(view.start, view.end, view.zone)
    status = view.headline or ("Meeting created" if view.created else "Already scheduled")
    body: list[Element] = [
        TextBlock(text=status, color="good" if view.created else "accent", weight="bolder"),
        TextBlock(text=plain(view.subject), size="large", weight="bolder", spacing="none"),
        TextBlock(text=when, spacing="small"),
        TextBlock(
            text=utc_text(view.start, view.end), is_subtle=True, size="small", spacing="none"
        ),
    ]
    body += [TextBlock(text=plain(note), color="warning", size="small") for note in view.notes]
    facts: list[Fact] = []
    if view.organizer:
        facts.append(Fact(title="Organizer", value=plain(view.organizer)))
    if view.attendees:
        facts.append(Fact(title="Attendees", value=plain(", ".join(view.attendees))))
    ids = meeting.join_meeting_id_settings
    if ids and ids.join_meeting_id:
        facts.append(Fact(title="Meeting ID", value=ids.join_meeting_id))
        if ids.passcode:
            facts.append(Fact(title="Passcode", value=ids.passcode))
    facts += list(view.extra_facts)
    facts += options_facts(view.options)
    if facts:
        body.append(FactSet(facts=facts, spacing="medium"))
    body += _dial_in(view)
    body.append(
        TextBlock(
            text="This meeting is not on anyone's calendar yet, and no invitation was sent: "
            "add it to yours and share the invitation.",
            is_subtle=True,
            size="small",
            spacing="medium",
        )
    )
    actions: list[Action] = [ActionOpenUrl(title="Join", url=meeting.join_web_url)]
    calendar: list[Action] = []
    if view.outlook_url:
        calendar.append(ActionOpenUrl(title="Outlook on the web", url=view.outlook_url))
    if view.ics_url:
        calendar.append(ActionOpenUrl(title="Download .ics", url=view.ics_url))
    if calendar:
        actions.append(
            ActionShowCard(
                title="Add to calendar",
                card=AdaptiveCard(
                    body=[TextBlock(text="Add the meeting to your calendar:")],
                    actions=calendar,
                ),
            )
        )
    actions.append(
        ActionShowCard(
            # Adaptive Cards cannot write to the clipboard: this shows the text to select and copy.
            title="Show invitation",
            card=AdaptiveCard(
                body=[
                    TextBlock(text="Select this text, copy it and share it:", weight="bolder"),
                    *_invitation_lines(invitation_text(view, when)),
                ],
            ),
        )
    )
    audio = meeting.audio_conferencing
    if audio and audio.dialin_url:
        actions.append(ActionOpenUrl(title="Find a local number", url=audio.dialin_url))
    if view.controls and view.manage_data is not None:
        body.append(ActionSet(actions=controls(view.manage_data), spacing="medium"))
    return AdaptiveCard(body=body, actions=actions, refresh=_refresh(view)).to_dict()


def execute(title: str, verb: str, data: dict[str, JsonValue], **style: Any) -> ActionExecute:
    """Universal Actions, with the Action.Submit fallback for Web Chat and the Emulator."""
    payload: dict[str, JsonValue] = {**data, "meetbot": verb}
    return ActionExecute(
        title=title,
        verb=verb,
        data=payload,
        fallback=ActionSubmit(title=title, data=payload, **style),
        **style,
    )


def controls(data: dict[str, JsonValue]) -> list[Action]:
    """The organizer's buttons on a meeting."""
    return [
        execute("Reschedule", RESCHEDULE, data),
        execute("Cancel meeting", CANCEL, data, style="destructive"),
        execute("Options", OPTIONS, data),
    ]


def _refresh(view: MeetingView) -> Refresh | None:
    if not view.refresh_user_ids or view.manage_data is None:
        return None
    action = ActionExecute(
        title="Refresh", verb=REFRESH, data={**view.manage_data, "meetbot": REFRESH}
    )
    return Refresh(action=action, user_ids=list(view.refresh_user_ids))


LOBBY_LABELS = {
    "organizer": "Only me",
    "organization": "People in my organization",
    "organizationAndFederated": "People in my organization and trusted organizations",
    "organizationExcludingGuests": "People in my organization, not guests",
    "invited": "People I invited",
    "everyone": "Everyone",
}
PRESENTER_LABELS = {
    "everyone": "Everyone",
    "organization": "People in my organization",
    "roleIsPresenter": "Specific people (presenters)",
    "organizer": "Only me",
}
CHAT_LABELS = {"enabled": "On", "disabled": "Off", "limited": "During the meeting only"}


def options_facts(options: MeetingOptions | None) -> list[Fact]:
    """The options that were set, as the card shows them."""
    if options is None:
        return []
    facts = []
    if options.lobby_bypass:
        facts.append(Fact(title="Who bypasses the lobby", value=LOBBY_LABELS[options.lobby_bypass]))
    if options.allowed_presenters:
        facts.append(
            Fact(title="Who can present", value=PRESENTER_LABELS[options.allowed_presenters])
        )
    if options.record_automatically is not None:
        facts.append(
            Fact(
                title="Record automatically", value="Yes" if options.record_automatically else "No"
            )
        )
    if options.is_entry_exit_announced is not None:
        facts.append(
            Fact(
                title="Announce when people join",
                value="Yes" if options.is_entry_exit_announced else "No",
            )
        )
    if options.allow_meeting_chat:
        facts.append(Fact(title="Meeting chat", value=CHAT_LABELS[options.allow_meeting_chat]))
    return facts


def cancelled_card(view: MeetingView) -> dict[str, Any]:
    """A cancelled meeting: no Join, no dial-in; the .ics that removes it from calendars."""
    body: list[Element] = [
        TextBlock(text=view.headline or "Cancelled", color="attention", weight="bolder"),
        TextBlock(text=plain(view.subject), size="large", weight="bolder", spacing="none"),
        TextBlock(
            text="Was " + when_text(view.start, view.end, view.zone),
            spacing="small",
            is_subtle=True,
        ),
    ]
    body += [TextBlock(text=plain(note), color="warning", size="small") for note in view.notes]
    if view.organizer:
        body.append(FactSet(facts=[Fact(title="Organizer", value=plain(view.organizer))]))
    body.append(
        TextBlock(
            text="This meeting was cancelled: its join link no longer works. If you added it "
            "to your calendar, the cancellation below removes it.",
            is_subtle=True,
            size="small",
            spacing="medium",
        )
    )
    actions: list[Action] | None = (
        [ActionOpenUrl(title="Download cancellation (.ics)", url=view.ics_url)]
        if view.ics_url
        else None
    )
    return AdaptiveCard(body=body, actions=actions).to_dict()


def working_card(subject: str) -> dict[str, Any]:
    """Graph is slow: the invoke is answered now, and this card is replaced when it is done."""
    return AdaptiveCard(
        body=[
            TextBlock(text="Creating the meeting…", weight="bolder"),
            TextBlock(text=plain(subject), size="large", weight="bolder", spacing="none"),
            TextBlock(
                text="Teams is taking a moment. I'll show the meeting here as soon as it exists.",
                is_subtle=True,
            ),
        ]
    ).to_dict()


def problem_card(
    title: str, explanation: str, *, retry: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Something went wrong: what happened and what to do, with Retry when retrying can help."""
    actions: list[Action] | None = (
        [ActionSubmit(title="Try again", data=retry)] if retry is not None else None
    )
    return AdaptiveCard(
        body=[
            TextBlock(text=title, weight="bolder", color="attention", size="medium"),
            TextBlock(text=plain(explanation)),
        ],
        actions=actions,
    ).to_dict()


SIGNIN_UNAVAILABLE = "Sign-in is unavailable right now"


def signin_unavailable_card(
    explanation: str, *, retry: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Microsoft's sign-in service (the token service) failed: not the user's doing."""
    return problem_card(SIGNIN_UNAVAILABLE, explanation, retry=retry)
