"""The canonical meeting request every entry point produces, and its deterministic externalId."""

from __future__ import annotations

import functools
import json
import re
import unicodedata
import uuid
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.core.online_meeting import MeetingOptions

MAX_SUBJECT = 200
MAX_ATTENDEES = 50
# Fixed forever: changing it would give every existing request a new meeting.
EXTERNAL_ID_NAMESPACE = uuid.UUID("8f5d0c4e-2b7a-5d3e-9c1f-4a6b8e0d2c17")
_SPACE = re.compile(r"\s+")
_CHANNEL_REPLY = re.compile(r";messageid=\d+$")
# A channel's conversation id; group chats are `@thread.v2` and cannot carry a meeting's chatInfo.
_CHANNEL_THREAD = re.compile(r"19:[^@;\s]+@thread\.(?:tacv2|skype)")


def _utc_minute(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("times must carry a time zone")
    return value.astimezone(UTC).replace(second=0, microsecond=0)


UtcMinute = Annotated[datetime, AfterValidator(_utc_minute)]


def clean_subject(text: str) -> str:
    """Trim, fold whitespace and drop control characters; bounded length."""
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\t\n")
    return _SPACE.sub(" ", text).strip()[:MAX_SUBJECT].rstrip()


def normalise_subject(subject: str) -> str:
    """Case-, width- and whitespace-insensitive form used for the externalId."""
    # Unicode's compatibility caseless match (D146): one casefold alone is not stable.
    folded = unicodedata.normalize("NFD", subject).casefold()
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", folded).casefold())
    return _SPACE.sub(" ", unicodedata.normalize("NFC", folded)).strip()


def conversation_root(conversation_id: str) -> str:
    """A channel reply's conversation id names its root thread; the thread is the conversation."""
    return _CHANNEL_REPLY.sub("", conversation_id)


class Attendee(BaseModel):
    """Someone invited: their UPN, and Entra object id when Teams told us. Someone picked who
    is not a member of the conversation has only their object id until the directory names
    them (after sign-in); Graph is never sent an attendee without a UPN."""

    model_config = ConfigDict(frozen=True)

    upn: str | None = Field(default=None, min_length=3, max_length=320)
    object_id: str | None = Field(default=None, max_length=256)
    display_name: str | None = None

    @field_validator("upn")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        if "@" not in value:
            raise ValueError("an attendee needs an email address")
        return value

    @model_validator(mode="after")
    def _someone(self) -> Attendee:
        if self.upn is None and not self.object_id:
            raise ValueError("an attendee needs an email address or a directory id")
        return self

    @property
    def key(self) -> str:
        """What makes two attendees the same person here."""
        return self.upn or f"id:{(self.object_id or '').lower()}"


class MeetingRequest(BaseModel):
    """What defines a meeting: where it was asked for, by whom, about what, and when (UTC)."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str = Field(min_length=1, max_length=128)
    conversation_id: str = Field(min_length=1, max_length=1024)
    organizer_id: str = Field(min_length=1, max_length=256)
    subject: str = Field(min_length=1, max_length=MAX_SUBJECT)
    start: UtcMinute
    end: UtcMinute
    attendees: tuple[Attendee, ...] = Field(default=(), max_length=MAX_ATTENDEES)
    # Asking again for a meeting that was cancelled: each renewal is a new meeting.
    renewal: int = Field(default=0, ge=0, le=1000)
    # Minutes before the start to remind the conversation (0: none); None: the default.
    # Not part of the meeting's identity (the externalId).
    reminder_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    # Options chosen on the form, set with a PATCH once the meeting exists; not its identity.
    options: MeetingOptions | None = None

    @field_validator("subject", mode="before")
    @classmethod
    def _clean(cls, value: object) -> object:
        return clean_subject(value) if isinstance(value, str) else value

    @field_validator("conversation_id")
    @classmethod
    def _root(cls, value: str) -> str:
        return conversation_root(value)

    @model_validator(mode="after")
    def _end_after_start(self) -> MeetingRequest:
        if self.end <= self.start:
            raise ValueError("the meeting must end after it starts")
        return self

    @property
    def channel_thread_id(self) -> str | None:
        """The Teams channel thread asked from (`19:…@thread.tacv2`); None for chats."""
        return self.conversation_id if _CHANNEL_THREAD.fullmatch(self.conversation_id) else None

    @functools.cached_property
    def external_id(self) -> str:
        """UUIDv5 over the canonical request: same request → same meeting; any change → new.

        Computed once per request (the ledger, Graph's body and the calendar file all use it).
        """
        canonical = json.dumps(
            [
                "v1",
                self.tenant_id,
                self.conversation_id,
                self.organizer_id,
                normalise_subject(self.subject),
                self.start.strftime("%Y-%m-%dT%H:%MZ"),
                self.end.strftime("%Y-%m-%dT%H:%MZ"),
                *([self.renewal] if self.renewal else []),
            ],
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return str(uuid.uuid5(EXTERNAL_ID_NAMESPACE, canonical))
