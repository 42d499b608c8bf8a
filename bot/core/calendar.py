"""Add to calendar: an Outlook web compose link, and signed, expiring `.ics` files."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from pydantic import BaseModel, ValidationError

from bot.core.fastjson import dumps
from bot.core.online_meeting import OnlineMeeting

ICS_LIFETIME_S = 30 * 24 * 3600
OUTLOOK_COMPOSE = "https://outlook.office.com/calendar/0/deeplink/compose"


class CalendarEvent(BaseModel):
    """Just enough of a meeting to put it on a calendar and join it from there."""

    uid: str
    subject: str
    start: datetime
    end: datetime
    join_url: str
    details: str = ""
    meeting_id: str | None = None
    passcode: str | None = None
    # Dial-in: phone numbers (toll, then toll-free), the conference id, "Find a local number".
    phones: tuple[str, ...] = ()
    conference_id: str | None = None
    dialin_url: str | None = None
    organizer_name: str | None = None
    organizer_email: str | None = None
    # RFC 5546: a changed event keeps its UID with a higher SEQUENCE; a cancelled one is
    # sent with METHOD:CANCEL so calendars that imported it remove it.
    sequence: int = 0
    cancelled: bool = False


def description(event: CalendarEvent) -> str:
    """How to join, as the event's description: link, meeting ID and passcode, dial-in."""
    lines = [f"Join the Teams meeting: {event.join_url}"]
    if event.meeting_id:
        lines.append(f"Meeting ID: {event.meeting_id}")
    if event.passcode:
        lines.append(f"Passcode: {event.passcode}")
    if event.phones:
        lines.append("Dial in: " + ", ".join(event.phones))
    if event.conference_id:
        lines.append(f"Phone conference ID: {event.conference_id}#")
    if event.dialin_url:
        lines.append(f"Find a local number: {event.dialin_url}")
    if event.organizer_name or event.organizer_email:
        lines.append(f"Organizer: {event.organizer_name or event.organizer_email}")
    if event.details:
        lines += ["", event.details]
    return "\n".join(lines)


_UNSAFE_IN_NAME = re.compile(r"[^\w .,()&+-]+")


def ics_filename(subject: str) -> str:
    """A file name from the subject ("Design review.ics"): no path or control characters,
    at most 60 characters before `.ics`; "meeting.ics" when nothing is left."""
    name = _UNSAFE_IN_NAME.sub("-", unicodedata.normalize("NFC", subject))
    name = " ".join(name.split()).strip(" .-")[:60].rstrip(" .-")
    return f"{name or 'meeting'}.ics"


def attachment_header(filename: str) -> str:
    """`Content-Disposition` for a download: an ASCII `filename`, and the exact name in
    `filename*` (RFC 6266) for browsers that read it."""
    ascii_name = filename.encode("ascii", "ignore").decode().replace('"', "") or "meeting.ics"
    if ascii_name == ".ics":
        ascii_name = "meeting.ics"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def meeting_event(
    uid: str,
    meeting: OnlineMeeting,
    subject: str,
    start: datetime,
    end: datetime,
    organizer: str | None,
) -> CalendarEvent:
    """The meeting for a calendar: how to join it (link, ID, passcode, dial-in) and who runs it."""
    ids = meeting.join_meeting_id_settings
    audio = meeting.audio_conferencing
    graph_organizer = meeting.participants.organizer if meeting.participants else None
    return CalendarEvent(
        uid=uid,
        subject=subject,
        start=start,
        end=end,
        join_url=meeting.join_web_url,
        meeting_id=ids.join_meeting_id if ids else None,
        passcode=ids.passcode if ids else None,
        phones=tuple(audio.toll_numbers + audio.toll_free_numbers) if audio else (),
        conference_id=audio.conference_id if audio else None,
        dialin_url=audio.dialin_url if audio else None,
        organizer_name=organizer,
        organizer_email=graph_organizer.upn if graph_organizer else None,
    )


def outlook_link(event: CalendarEvent) -> str:
    query = urlencode(
        {
            "path": "/calendar/action/compose",
            "rru": "addevent",
            "subject": event.subject,
            "startdt": event.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "enddt": event.end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "body": description(event),
            "location": "Microsoft Teams meeting",
        }
    )
    return f"{OUTLOOK_COMPOSE}?{query}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class CalendarFiles:
    """Signs `.ics` links so the bot serves only events it put on a card, and only for a while."""

    secret: bytes
    base_url: str
    clock: Callable[[], float] = time.time

    def url(self, event: CalendarEvent) -> str:
        payload = _b64(
            dumps({"e": event.model_dump(mode="json"), "x": int(self.clock()) + ICS_LIFETIME_S})
        )
        return f"{self.base_url}/calendar/{payload}.{self._sign(payload)}.ics"

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self.secret, payload.encode(), hashlib.sha256).digest()[:18])

    def open(self, token: str) -> CalendarEvent | None:
        """The event behind a link, or None when it is forged, damaged or expired."""
        payload, _, signature = token.removesuffix(".ics").partition(".")
        if not payload or not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
            if int(data["x"]) < self.clock():
                return None
            return CalendarEvent.model_validate(data["e"])
        except (ValueError, KeyError, TypeError, ValidationError):
            return None


def _ics_text(value: str) -> str:
    escaped = (
        value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")
    )
    return "".join(ch for ch in escaped if ch >= " " or ch == "\t")


def _fold(line: str) -> str:
    """RFC 5545 §3.1: lines longer than 75 octets continue on the next line after a space."""
    raw = line.encode()
    if len(raw) <= 75:
        return line
    parts, start = [], 0
    while start < len(raw):
        end = min(start + (75 if start == 0 else 74), len(raw))
        while end < len(raw) and (raw[end] & 0xC0) == 0x80:
            end -= 1
        parts.append(raw[start:end].decode())
        start = end
    return "\r\n ".join(parts)


def ics(event: CalendarEvent, now: datetime) -> str:
    def stamp(value: datetime) -> str:
        return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    organizer = []
    if event.organizer_email:
        # A quoted parameter may hold anything but quotes and control characters (RFC 5545 3.1).
        name = "".join(ch for ch in event.organizer_name or "" if ch >= " " and ch != '"')
        cn = f';CN="{name}"' if name else ""
        organizer = [f"ORGANIZER{cn}:mailto:{_ics_text(event.organizer_email)}"]
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//MeetBot//Teams meetings//EN",
        "METHOD:CANCEL" if event.cancelled else "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{_ics_text(event.uid)}@meetbot",
        f"SEQUENCE:{event.sequence}",
        *(["STATUS:CANCELLED"] if event.cancelled else []),
        f"DTSTAMP:{stamp(now)}",
        f"DTSTART:{stamp(event.start)}",
        f"DTEND:{stamp(event.end)}",
        f"SUMMARY:{_ics_text(event.subject)}",
        "LOCATION:Microsoft Teams meeting",
        f"URL:{_ics_text(event.join_url)}",
        *organizer,
        f"DESCRIPTION:{_ics_text(description(event))}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
