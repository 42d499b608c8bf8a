"""Pydantic models for Graph onlineMeetings: createOrGet and update requests, the meeting back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import (
    AfterValidator,
    AliasChoices,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

MeetingRole = Literal["attendee", "presenter", "producer", "coorganizer"]
LobbyScope = Literal[
    "organizer",
    "organization",
    "organizationAndFederated",
    "organizationExcludingGuests",
    "invited",
    "everyone",
]
Presenters = Literal["everyone", "organization", "roleIsPresenter", "organizer"]
ChatMode = Literal["enabled", "disabled", "limited"]


class GraphModel(BaseModel):
    """Base: snake_case in Python, camelCase on the wire, unknown keys ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
    )


def to_graph_datetime(value: datetime) -> str:
    """Serialise an aware datetime as UTC with a `Z` suffix, the form Graph documents."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetimes are ambiguous; pass a timezone-aware datetime")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _as_utc(value: datetime) -> datetime:
    # Graph answers in UTC, but some answers have carried no offset at all: read those as UTC.
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _null_as_empty_list(value: Any) -> Any:
    return [] if value is None else value


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
NullableList = BeforeValidator(_null_as_empty_list)


# --- request ---------------------------------------------------------------------------------


class Attendee(GraphModel):
    """An attendee to put on the meeting; `upn` is always sent (Graph has answered 500 without)."""

    upn: str = Field(min_length=3)
    object_id: str | None = None
    role: MeetingRole = "attendee"

    def to_graph(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.object_id:
            body["identity"] = {"user": {"id": self.object_id}}
        body["upn"] = self.upn
        body["role"] = self.role
        return body


class CreateOrGetRequest(GraphModel):
    """What the bot asks Graph for. Times are timezone-aware and normalised to UTC."""

    external_id: str = Field(min_length=1)
    subject: str | None = None
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    attendees: list[Attendee] = Field(default_factory=list)
    chat_thread_id: str | None = None

    @field_validator("start", "end")
    @classmethod
    def _normalise_to_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    @model_validator(mode="after")
    def _check_times(self) -> Self:
        # Graph answers these with a bare 400; failing here gives the caller a precise reason.
        if self.end is not None and self.start is None:
            raise ValueError("an end time needs a start time")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("the end time must be after the start time")
        return self

    def to_graph_body(self, *, include_chat_info: bool) -> dict[str, Any]:
        """The JSON body for createOrGet. `chatInfo` only where the endpoint accepts it (beta)."""
        body: dict[str, Any] = {"externalId": self.external_id}
        if self.subject is not None:
            body["subject"] = self.subject
        if self.start is not None:
            body["startDateTime"] = to_graph_datetime(self.start)
        if self.end is not None:
            body["endDateTime"] = to_graph_datetime(self.end)
        if self.attendees:
            body["participants"] = {"attendees": [a.to_graph() for a in self.attendees]}
        if include_chat_info and self.chat_thread_id:
            body["chatInfo"] = {"threadId": self.chat_thread_id}
        return body


class MeetingOptions(GraphModel):
    """The meeting options MeetBot offers; None leaves one as it is. createOrGet ignores some
    of them, so they are always set with a PATCH."""

    lobby_bypass: LobbyScope | None = None
    allowed_presenters: Presenters | None = None
    record_automatically: bool | None = None
    is_entry_exit_announced: bool | None = None
    allow_meeting_chat: ChatMode | None = None

    def to_graph_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.lobby_bypass is not None:
            body["lobbyBypassSettings"] = {"scope": self.lobby_bypass}
        if self.allowed_presenters is not None:
            body["allowedPresenters"] = self.allowed_presenters
        if self.record_automatically is not None:
            body["recordAutomatically"] = self.record_automatically
        if self.is_entry_exit_announced is not None:
            body["isEntryExitAnnounced"] = self.is_entry_exit_announced
        if self.allow_meeting_chat is not None:
            body["allowMeetingChat"] = self.allow_meeting_chat
        return body

    def changes_from(self, current: MeetingOptions) -> MeetingOptions:
        """The options set here that `current` does not have already (None for the rest)."""
        return MeetingOptions.model_validate(
            {
                name: value
                for name, value in self
                if value is not None and value != getattr(current, name)
            }
        )


# A new meeting's options as Graph's createOrGet example answers them (the sandbox's too): the
# new-meeting form starts from these, and only a choice that differs is sent.
GRAPH_DEFAULT_OPTIONS = MeetingOptions(
    lobby_bypass="organization",
    allowed_presenters="everyone",
    record_automatically=False,
    is_entry_exit_announced=True,
    allow_meeting_chat="enabled",
)


class MeetingUpdate(GraphModel):
    """A PATCH of an onlineMeeting: only what changes. Start and end always go together, and
    attendees as the whole new list (onlinemeeting-update)."""

    subject: str | None = None
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    attendees: list[Attendee] | None = None
    options: MeetingOptions | None = None

    @model_validator(mode="after")
    def _check_times(self) -> Self:
        if (self.start is None) != (self.end is None):
            raise ValueError("a new time needs both a start and an end")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("the end time must be after the start time")
        return self

    def to_graph_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.subject is not None:
            body["subject"] = self.subject
        if self.start is not None and self.end is not None:
            body["startDateTime"] = to_graph_datetime(self.start)
            body["endDateTime"] = to_graph_datetime(self.end)
        if self.attendees is not None:
            body["participants"] = {"attendees": [a.to_graph() for a in self.attendees]}
        if self.options is not None:
            body.update(self.options.to_graph_body())
        return body


# --- response --------------------------------------------------------------------------------


class JoinMeetingIdSettings(GraphModel):
    join_meeting_id: str | None = None
    passcode: str | None = None
    is_passcode_required: bool | None = None


class AudioConferencing(GraphModel):
    """Dial-in details; Graph returns `null` for the whole object without an audio licence."""

    conference_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("conferenceId", "ConferenceId", "conference_id"),
    )
    toll_number: str | None = None
    toll_free_number: str | None = None
    toll_numbers: Annotated[list[str], NullableList] = Field(default_factory=list)
    toll_free_numbers: Annotated[list[str], NullableList] = Field(default_factory=list)
    dialin_url: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _fill_lists_from_deprecated_singulars(cls, data: Any) -> Any:
        # The singular numbers are deprecated copies of the lists; older answers only carry those.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for plural, singular in (
            ("tollNumbers", "tollNumber"),
            ("tollFreeNumbers", "tollFreeNumber"),
            ("toll_numbers", "toll_number"),
            ("toll_free_numbers", "toll_free_number"),
        ):
            if not data.get(plural) and isinstance(data.get(singular), str) and data[singular]:
                data[plural] = [data[singular]]
        return data


class ChatInfo(GraphModel):
    thread_id: str | None = None
    message_id: str | None = None
    reply_chain_message_id: str | None = None


class IdentityUser(GraphModel):
    id: str | None = None
    display_name: str | None = None
    tenant_id: str | None = None


class IdentitySet(GraphModel):
    user: IdentityUser | None = None


class MeetingParticipantInfo(GraphModel):
    upn: str | None = None
    role: str | None = None
    identity: IdentitySet | None = None


class MeetingParticipants(GraphModel):
    organizer: MeetingParticipantInfo | None = None
    attendees: Annotated[list[MeetingParticipantInfo], NullableList] = Field(default_factory=list)


class LobbyBypassSettings(GraphModel):
    scope: str | None = None
    is_dial_in_bypass_enabled: bool | None = None


class OnlineMeeting(GraphModel):
    """The onlineMeeting resource as far as the bot uses it. Do not parse `join_web_url`."""

    id: str = Field(min_length=1)
    join_web_url: str = Field(min_length=1)
    external_id: str | None = None
    subject: str | None = None
    start_date_time: UtcDatetime | None = None
    end_date_time: UtcDatetime | None = None
    creation_date_time: UtcDatetime | None = None
    expiry_date_time: UtcDatetime | None = None
    join_meeting_id_settings: JoinMeetingIdSettings | None = None
    audio_conferencing: AudioConferencing | None = None
    video_teleconference_id: str | None = None
    chat_info: ChatInfo | None = None
    participants: MeetingParticipants | None = None
    lobby_bypass_settings: LobbyBypassSettings | None = None
    allowed_presenters: str | None = None
    meeting_options_web_url: str | None = None
    is_entry_exit_announced: bool | None = None
    allow_meeting_chat: str | None = None
    record_automatically: bool | None = None

    def options(self) -> MeetingOptions:
        """The options MeetBot offers, as Graph says they are (unknown values left out)."""
        lobby = self.lobby_bypass_settings.scope if self.lobby_bypass_settings else None
        return MeetingOptions.model_validate(
            {
                "lobby_bypass": lobby if lobby in _LOBBY_SCOPES else None,
                "allowed_presenters": (
                    self.allowed_presenters if self.allowed_presenters in _PRESENTERS else None
                ),
                "record_automatically": self.record_automatically,
                "is_entry_exit_announced": self.is_entry_exit_announced,
                "allow_meeting_chat": (
                    self.allow_meeting_chat if self.allow_meeting_chat in _CHAT_MODES else None
                ),
            }
        )


_LOBBY_SCOPES = frozenset(get_args(LobbyScope))
_PRESENTERS = frozenset(get_args(Presenters))
_CHAT_MODES = frozenset(get_args(ChatMode))
