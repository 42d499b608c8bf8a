"""Microsoft Graph onlineMeetings: typed models, errors and an aiohttp client."""

from bot.core.online_meeting import (
    Attendee,
    AudioConferencing,
    ChatInfo,
    CreateOrGetRequest,
    JoinMeetingIdSettings,
    MeetingOptions,
    MeetingParticipantInfo,
    MeetingParticipants,
    MeetingUpdate,
    OnlineMeeting,
)
from bot.graph.client import CreateOrGetResult, GraphClient, OnlineMeetingsApi, RetryPolicy
from bot.graph.errors import (
    GraphAuthError,
    GraphBadRequestError,
    GraphError,
    GraphForbiddenError,
    GraphInvalidResponseError,
    GraphNotFoundError,
    GraphThrottledError,
    GraphTimeoutError,
    GraphUnavailableError,
)

__all__ = [
    "Attendee",
    "AudioConferencing",
    "ChatInfo",
    "CreateOrGetRequest",
    "CreateOrGetResult",
    "GraphAuthError",
    "GraphBadRequestError",
    "GraphClient",
    "GraphError",
    "GraphForbiddenError",
    "GraphInvalidResponseError",
    "GraphNotFoundError",
    "GraphThrottledError",
    "GraphTimeoutError",
    "GraphUnavailableError",
    "JoinMeetingIdSettings",
    "MeetingOptions",
    "MeetingParticipantInfo",
    "MeetingParticipants",
    "MeetingUpdate",
    "OnlineMeeting",
    "OnlineMeetingsApi",
    "RetryPolicy",
]
