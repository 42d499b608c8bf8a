"""The meeting card (join, IDs, dial-in, add to calendar) and the card for what went wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.online_meeting import OnlineMeeting
from bot.core.parse_facts import format_clock
from cards.elements import (
    Action,
    ActionOpenUrl,
    ActionShowCard,
    ActionSubmit,
    AdaptiveCard,
    Element,
    Fact,
    FactSet,
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
    meeting = view.meeting
    when = when_text(view.start, view.end, view.zone)
    status = "Meeting created" if view.created else "Already scheduled"
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
