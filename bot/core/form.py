"""The meeting form's submission: the raw values as typed, and their validation (pure, no I/O)."""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from bot.core.online_meeting import GRAPH_DEFAULT_OPTIONS, MeetingOptions
from bot.core.parse import LATE_START_GRACE
from bot.core.parse_facts import MONTH_NAMES, describe_date, describe_length, format_clock
from bot.core.request import MAX_ATTENDEES, MAX_SUBJECT, clean_subject

__all__ = [
    "DEFAULT_DURATION",
    "DURATION_CHOICES",
    "FIELDS",
    "OPTION_FIELDS",
    "REMINDER_CHOICES",
    "USUAL_REMINDER",
    "FieldId",
    "FormResult",
    "FormValues",
    "InvalidForm",
    "ValidForm",
    "duration_label",
    "form_options",
    "form_values",
    "is_object_id",
    "is_picked_id",
    "picked_ids",
    "unusable_people_message",
    "validate_form",
    "without_picked",
]

FieldId = Literal[
    "subject",
    "date",
    "startTime",
    "durationMinutes",
    "reminderMinutes",
    "attendees",
    "attendeeEmails",
    "lobbyBypass",
    "allowedPresenters",
    "recordAutomatically",
    "isEntryExitAnnounced",
    "allowMeetingChat",
]
# The options section (a new meeting's options), by input id and MeetingOptions field.
OPTION_FIELDS: Final[dict[FieldId, str]] = {
    "lobbyBypass": "lobby_bypass",
    "allowedPresenters": "allowed_presenters",
    "recordAutomatically": "record_automatically",
    "isEntryExitAnnounced": "is_entry_exit_announced",
    "allowMeetingChat": "allow_meeting_chat",
}
FIELDS: Final[tuple[FieldId, ...]] = get_args(FieldId)
# The reminder lead times offered (minutes; 0 is none), and the choice that means the default
# (an Adaptive Card choice must have a value).
REMINDER_CHOICES: Final = (0, 5, 10, 15, 30, 60)
USUAL_REMINDER: Final = "usual"
DURATION_CHOICES: Final = (15, 30, 45, 60, 90, 120)
DEFAULT_DURATION: Final = 30
# Input.Date lets people pick any year; far-off years would overflow UTC conversion at 9999.
MAX_DAYS_AHEAD: Final = 5 * 366

# Far more than a legitimate submission holds; bounds the work and the size of the card sent back.
_MAX_KEPT_CHARS = 4000
_MAX_LIST_CHARS = MAX_ATTENDEES * 330
_MAX_NAMED = 3

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
# Teams sends HH:MM; some renderers add seconds.
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::[0-9]{2}(?:\.[0-9]{1,6})?)?")
_MINUTES = re.compile(r"[0-9]{1,6}")
_OBJECT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
# What a people picker submits: Entra object ids in Teams, a client's own member ids elsewhere
# (the Agents Playground's are `user-id-2`). A name or anything with spaces was typed, not picked.
_PICKED_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9:@._-]{0,255}")
_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]{1,64}(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]{1,64})*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?",
    re.ASCII | re.IGNORECASE,
)
_EMAIL_SEPARATORS = re.compile(r"[,;\n]")
_NAMED_ADDRESS = re.compile(r"[^<>]*<([^<>]*)>")


class FormValues(BaseModel):
    """The form's inputs as submitted (strings, possibly empty); ids on the wire are camelCase."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    subject: str = ""
    date: str = ""
    start_time: str = ""
    duration_minutes: str = ""
    attendees: str = ""
    attendee_emails: str = ""
    reminder_minutes: str = ""
    # The options section: a choice's value, or "" for Graph's default.
    lobby_bypass: str = ""
    allowed_presenters: str = ""
    record_automatically: str = ""
    is_entry_exit_announced: str = ""
    allow_meeting_chat: str = ""


@dataclass(frozen=True)
class ValidForm:
    """A form that can become a meeting request: times aware UTC at minute precision."""

    subject: str
    start: datetime
    end: datetime
    # The people picker's ids, to look up (Entra object ids in Teams).
    picked_ids: tuple[str, ...]
    emails: tuple[str, ...]
    # None: the default lead time (REMINDER_MINUTES); 0: no reminder.
    reminder_minutes: int | None = None
    # The options chosen that differ from Graph's defaults; None when none does.
    options: MeetingOptions | None = None


@dataclass(frozen=True)
class InvalidForm:
    """What to send the form back with: the values as typed and one message per field id."""

    values: FormValues
    errors: dict[str, str]


FormResult = ValidForm | InvalidForm


def duration_label(minutes: int) -> str:
    """ "45 minutes", "1 hour", "1 hour 30 minutes"."""
    return describe_length(timedelta(minutes=minutes))


_OFFERED: Final = ", ".join(duration_label(m) for m in DURATION_CHOICES)


def _without_controls(text: str) -> str:
    """Control and format characters (NUL, bidi overrides, lone surrogates) removed."""
    return "".join(
        " " if ch in "\t\n\r" else ch for ch in text if ch in "\t\n\r" or not _is_control(ch)
    )


def is_object_id(text: str) -> bool:
    """Whether `text` is an Entra object id (a GUID), as the people picker submits."""
    return _OBJECT_ID.fullmatch(text) is not None


def is_picked_id(text: str) -> bool:
    """Whether `text` can be an id a people picker submitted (not necessarily one we can use)."""
    return _PICKED_ID.fullmatch(text) is not None


def picked_ids(text: str) -> tuple[str, ...]:
    """The picker's comma-separated ids, in order, once each; object ids in lower case."""
    pieces = (piece.strip() for piece in text.split(","))
    found = (p.lower() if is_object_id(p) else p for p in pieces if p and is_picked_id(p))
    return tuple(dict.fromkeys(found))


def without_picked(values: FormValues, dropped: Collection[str]) -> FormValues:
    """The form's values with these picked ids taken out of Attendees (nothing else changed)."""
    gone = {item.strip().lower() for item in dropped}
    kept = [
        p.strip()
        for p in values.attendees.split(",")
        if p.strip() and p.strip().lower() not in gone
    ]
    return values.model_copy(update={"attendees": ",".join(kept)})


def unusable_people_message(ids: Sequence[str]) -> str:
    """Picked ids that are neither members of the conversation nor directory ids: what we say."""
    one = len(ids) == 1
    return (
        f"I can't invite {_listed(list(ids))} from the people search: I can't find "
        f"{'that person' if one else 'those people'} in this conversation or in your "
        f"organization's directory, so I took {'it' if one else 'them'} out. Select Create "
        "meeting to go on without them, or type their e-mail addresses below."
    )


def _is_control(char: str) -> bool:
    return unicodedata.category(char)[0] == "C"


def _shown(text: str, limit: int = 40) -> str:
    """User text quoted in a message: one line, no control characters, bounded."""
    text = " ".join(_without_controls(text[: limit * 4]).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _as_text(value: object) -> str | None:
    """The submitted value as text; None when it is neither text nor a whole number."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _kept(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = _as_text(value) or ""
    return _without_controls(text[:_MAX_KEPT_CHARS])


def _option_value(field: FieldId, value: object) -> str | bool | None:
    """An option's submitted value as MeetingOptions takes it; None when it is not one."""
    if field in ("recordAutomatically", "isEntryExitAnnounced"):
        if isinstance(value, bool):
            return value
        return {"true": True, "false": False}.get(value) if isinstance(value, str) else None
    if not isinstance(value, str) or not value:
        return None
    try:
        MeetingOptions.model_validate({OPTION_FIELDS[field]: value})
    except ValueError:
        return None
    return value


def form_options(values: FormValues) -> MeetingOptions:
    """The options the form shows: those chosen, Graph's defaults for the rest."""
    shown: dict[str, Any] = GRAPH_DEFAULT_OPTIONS.model_dump()
    for field, name in OPTION_FIELDS.items():
        value = _option_value(field, getattr(values, name))
        if value is not None:
            shown[name] = value
    return MeetingOptions.model_validate(shown)


def form_values(data: Mapping[str, Any]) -> FormValues:
    """The form's values out of a submission (anything else in it ignored), safe to show again."""
    if not isinstance(data, Mapping):
        return FormValues()
    return FormValues.model_validate(
        {field: _kept(data.get(field)) for field in FIELDS if field in data}
    )


@dataclass
class _Checker:
    data: Mapping[str, Any]
    errors: dict[str, str]
    # Attendees values that cannot be someone picked: named in the error and taken out.
    dropped: tuple[str, ...] = ()

    def text(self, field: FieldId, what: str) -> str | None:
        """The field's text, stripped; None (with an error) when it is not text."""
        raw = self.data.get(field)
        text = _as_text(raw)
        if text is None:
            self.errors[field] = f"The {what} must be text, not {type(raw).__name__}."
            return None
        return text.strip()

    def subject(self) -> str | None:
        text = self.text("subject", "subject")
        if text is None:
            return None
        # Measured as it would be stored, so the limit means what the user sees.
        cleaned = " ".join(_without_controls(text).split())
        if not cleaned:
            self.errors["subject"] = "Give the meeting a subject."
            return None
        if len(cleaned) > MAX_SUBJECT:
            self.errors["subject"] = (
                f"The subject is {len(cleaned)} characters long; it can have up to {MAX_SUBJECT}."
            )
            return None
        return clean_subject(cleaned)

    def day(self, today: date) -> date | None:
        text = self.text("date", "date")
        if text is None:
            return None
        if not text:
            self.errors["date"] = "Pick the day of the meeting."
            return None
        match = _DATE.fullmatch(text)
        if match is None:
            example = (today + timedelta(days=1)).isoformat()
            self.errors["date"] = (
                f"“{_shown(text)}” is not a date. Give it as YYYY-MM-DD, e.g. {example}."
            )
            return None
        year, month, day_ = (int(part) for part in match.groups())
        if not 1 <= month <= 12:
            self.errors["date"] = f"{text} is not a date: months go from 01 to 12."
            return None
        if year < 1:
            self.errors["date"] = f"{text} is not a date: years start at 0001."
            return None
        longest = calendar.monthrange(year, month)[1]
        if not 1 <= day_ <= longest:
            self.errors["date"] = (
                f"{text} is not a date: {MONTH_NAMES[month - 1]} {year} has days 01 to {longest}."
            )
            return None
        day = date(year, month, day_)
        if day < today:
            self.errors["date"] = f"{describe_date(day)} is in the past. Pick today or a later day."
            return None
        if day > today + timedelta(days=MAX_DAYS_AHEAD):
            self.errors["date"] = (
                f"{describe_date(day)} is too far ahead: pick a day in the next five years."
            )
            return None
        return day

    def clock(self) -> time | None:
        text = self.text("startTime", "start time")
        if text is None:
            return None
        if not text:
            self.errors["startTime"] = "Pick the time the meeting starts."
            return None
        match = _TIME.fullmatch(text)
        if match is None:
            self.errors["startTime"] = (
                f"“{_shown(text)}” is not a time. Give it as HH:MM (24-hour), e.g. 15:00."
            )
            return None
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour > 23 or minute > 59:
            self.errors["startTime"] = (
                f"{hour:02d}:{minute:02d} is not a time of day: hours go from 00 to 23 "
                "and minutes from 00 to 59."
            )
            return None
        return time(hour, minute)

    def length(self) -> timedelta | None:
        text = self.text("durationMinutes", "length")
        if text is None:
            return None
        if not text:
            self.errors["durationMinutes"] = "Choose how long the meeting lasts."
            return None
        if _MINUTES.fullmatch(text) is None:
            self.errors["durationMinutes"] = (
                f"“{_shown(text)}” is not a length. Choose one of: {_OFFERED}."
            )
            return None
        minutes = int(text)
        if minutes not in DURATION_CHOICES:
            self.errors["durationMinutes"] = (
                f"{minutes} minutes is not one of the lengths offered. Choose one of: {_OFFERED}."
            )
            return None
        return timedelta(minutes=minutes)

    def reminder(self) -> int | None:
        text = self.text("reminderMinutes", "reminder") if "reminderMinutes" in self.data else ""
        if not text or text == USUAL_REMINDER:
            return None
        if not text.isdigit() or int(text) not in REMINDER_CHOICES:
            self.errors["reminderMinutes"] = "Choose one of the reminders offered."
            return None
        return int(text)

    def picked(self) -> tuple[str, ...]:
        text = self.text("attendees", "attendee list")
        if not text:
            return ()
        if len(text) > _MAX_LIST_CHARS:
            self.errors["attendees"] = (
                f"That is too many people: a meeting made here can have up to {MAX_ATTENDEES}."
            )
            return ()
        pieces = [piece.strip() for piece in text.split(",") if piece.strip()]
        bad = [piece for piece in pieces if not is_picked_id(piece)]
        if bad:
            one = len(bad) == 1
            self.dropped = tuple(bad)
            self.errors["attendees"] = (
                f"{_listed(bad)} {'is' if one else 'are'} not {'someone' if one else 'people'} "
                f"from the people search, so I took {'it' if one else 'them'} out. Pick people "
                "from the search, or type their e-mail addresses below."
            )
        return picked_ids(text)

    def options(self) -> MeetingOptions | None:
        """The options chosen that differ from Graph's defaults; one that is none of the
        choices offered is an error."""
        chosen: dict[str, Any] = {}
        for field, name in OPTION_FIELDS.items():
            raw = self.data.get(field)
            if raw is None or raw == "":
                continue
            value = _option_value(field, raw)
            if value is None:
                self.errors[field] = "Choose one of the choices offered."
                continue
            chosen[name] = value
        changed = MeetingOptions.model_validate(chosen).changes_from(GRAPH_DEFAULT_OPTIONS)
        return changed if changed.to_graph_body() else None

    def emails(self) -> tuple[str, ...]:
        text = self.text("attendeeEmails", "list of e-mail addresses")
        if not text:
            return ()
        if len(text) > _MAX_LIST_CHARS:
            self.errors["attendeeEmails"] = (
                f"That is too many addresses: a meeting made here can have up to "
                f"{MAX_ATTENDEES} people."
            )
            return ()
        good: list[str] = []
        bad: list[str] = []
        for piece in _EMAIL_SEPARATORS.split(text):
            named = _NAMED_ADDRESS.fullmatch(piece.strip())
            for word in [named.group(1).strip()] if named else piece.split():
                is_address = len(word) <= 254 and _EMAIL.fullmatch(word) is not None
                (good if is_address else bad).append(word)
        if bad:
            verb = "is not an e-mail address" if len(bad) == 1 else "are not e-mail addresses"
            self.errors["attendeeEmails"] = (
                f"{_listed(bad)} {verb}. Separate addresses with commas or semicolons, "
                "e.g. alex@contoso.com; adele@contoso.com."
            )
            return ()
        return tuple(dict.fromkeys(address.lower() for address in good))


def _listed(items: list[str]) -> str:
    named = ", ".join(f"“{_shown(item)}”" for item in items[:_MAX_NAMED])
    more = len(items) - _MAX_NAMED
    return f"{named} and {more} more" if more > 0 else named


def _too_many(object_ids: int, emails: int) -> str | None:
    total = object_ids + emails
    if total <= MAX_ATTENDEES:
        return None
    counted = f" ({object_ids} picked and {emails} typed)" if object_ids and emails else ""
    return f"That is {total} people{counted}; a meeting made here can have up to {MAX_ATTENDEES}."


def _start(
    day: date, clock: time, now: datetime, zone: ZoneInfo, errors: dict[str, str]
) -> datetime | None:
    local = datetime.combine(day, clock)
    # A wall-clock time is combined in the user's zone. In the autumn overlap it happens twice;
    # fold=0 takes the first, as the typed command does. In the spring gap it does not happen at
    # all: unlike the command, which reads it forward with a note, the form has an input to fix,
    # so it is refused with the nearest time that exists.
    start = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    shown = start.astimezone(zone)
    said = format_clock(clock.hour, clock.minute)
    if shown.replace(tzinfo=None) != local:
        errors["startTime"] = (
            f"{said} does not exist on {describe_date(day)} in {zone.key}: the clocks go "
            f"forward then. Pick another time, e.g. {format_clock(shown.hour, shown.minute)}."
        )
        return None
    now = now.astimezone(UTC).replace(second=0, microsecond=0)
    if start < now - LATE_START_GRACE:
        local_now = now.astimezone(zone)
        when = "today" if day == local_now.date() else f"on {describe_date(day)}"
        errors["startTime"] = (
            f"{said} {when} has already passed (it is "
            f"{format_clock(local_now.hour, local_now.minute)} now in {zone.key}). "
            "Pick a later time or another day."
        )
        return None
    return start


def validate_form(data: Mapping[str, Any], *, now: datetime, zone: ZoneInfo) -> FormResult:
    """Check a submission of the meeting form; never raises on what the client sent."""
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if not isinstance(data, Mapping):
        data = {}
    checker = _Checker(data, {})
    today = now.astimezone(zone).date()
    subject = checker.subject()
    day = checker.day(today)
    clock = checker.clock()
    length = checker.length()
    reminder = checker.reminder()
    picked = checker.picked()
    emails = checker.emails()
    options = checker.options()
    too_many = _too_many(len(picked), len(emails))
    if too_many is not None:
        field = "attendeeEmails" if emails else "attendees"
        checker.errors[field] = " ".join(filter(None, (checker.errors.get(field), too_many)))
    start = None
    if day is not None and clock is not None:
        start = _start(day, clock, now, zone, checker.errors)
    if subject is None or start is None or length is None or checker.errors:
        values = form_values(data)
        if checker.dropped:
            values = without_picked(values, checker.dropped)
        return InvalidForm(values=values, errors=checker.errors)
    return ValidForm(
        subject=subject,
        start=start,
        end=start + length,
        picked_ids=picked,
        emails=emails,
        reminder_minutes=reminder,
        options=options,
    )
