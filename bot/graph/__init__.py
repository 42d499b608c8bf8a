"""Microsoft Graph `onlineMeetings/createOrGet`: typed models, errors and an aiohttp client."""

from bot.core.online_meeting import (
    Attendee,
    AudioConferencing,
    ChatInfo,
    CreateOrGetRequest,
    JoinMeetingIdSettings,
    MeetingParticipantInfo,
    MeetingParticipants,
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
    "MeetingParticipantInfo",
    "MeetingParticipants",
    "OnlineMeeting",
    "OnlineMeetingsApi",
    "RetryPolicy",
]
