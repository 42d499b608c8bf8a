"""Bodies shaped like real Graph answers (the reference, public examples), replayed as they are."""

from __future__ import annotations

import copy
from typing import Any

ORGANIZER_ID = "5f0e6c6b-7d1c-4b8e-9f0a-2b3c4d5e6f70"
ATTENDEE_ID = "1f35b6a4-0c2d-4e8f-8a9b-0c1d2e3f4a5b"
JOIN_WEB_URL = (
    "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NTIxZjQ0YmItZTY2Ny00ZDcyLWFjODct"
    "NGRkNmU0NjNlOGVm%40thread.v2/0?context=%7b%22Tid%22%3a%229f4e1c7a-2b5d-4e3f-8a6b-1c2d3e4f5a6b"
    "%22%2c%22Oid%22%3a%225f0e6c6b-7d1c-4b8e-9f0a-2b3c4d5e6f70%22%7d"
)

MEETING: dict[str, Any] = {
    "@odata.context": (
        f"https://graph.microsoft.com/v1.0/$metadata#users('{ORGANIZER_ID}')/onlineMeetings/$entity"
    ),
    "id": (
        "MSo1ZjBlNmM2Yi03ZDFjLTRiOGUtOWYwYS0yYjNjNGQ1ZTZmNzAqMCoqMTk6bWVldGluZ19OVEl4QHRocmVhZC52Mg=="
    ),
    "externalId": "2d9c6a3e-8b1f-5c4e-9a77-0f3b4c5d6e7f",
    "subject": "Design review",
    "creationDateTime": "2026-11-23T20:10:11.1909168Z",
    "startDateTime": "2026-11-24T20:00:00Z",
    "endDateTime": "2026-11-24T20:45:00Z",
    "joinWebUrl": JOIN_WEB_URL,
    "videoTeleconferenceId": None,
    "joinMeetingIdSettings": {
        "isPasscodeRequired": True,
        "joinMeetingId": "312 456 789 012",
        "passcode": "aB3cD4",
    },
    "audioConferencing": {
        "conferenceId": "804980123",
        "tollNumber": "+1 425-555-0100",
        "tollFreeNumber": None,
        "tollNumbers": ["+1 425-555-0100"],
        "tollFreeNumbers": [],
        "dialinUrl": (
            "https://dialin.teams.microsoft.com/8bf6e654-57eb-4b85-aeaf-36c84429b2fe?id=804980123"
        ),
    },
    "chatInfo": {
        "threadId": "19:meeting_NTIx@thread.v2",
        "messageId": "0",
        "replyChainMessageId": None,
    },
    "participants": {
        "organizer": {
            "upn": "megan@contoso.com",
            "role": "presenter",
            "identity": {"user": {"id": ORGANIZER_ID}},
        },
        "attendees": [
            {
                "upn": "alex@contoso.com",
                "role": "attendee",
                "identity": {"user": {"id": ATTENDEE_ID}},
            }
        ],
    },
    "lobbyBypassSettings": {"scope": "organization", "isDialInBypassEnabled": False},
    "allowedPresenters": "everyone",
    "isBroadcast": False,
}


def meeting(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(MEETING)
    body.update(changes)
    return body


NO_AUDIO_LICENCE = meeting(audioConferencing=None, joinMeetingIdSettings=None)

# Deprecated, misspelled and unknown keys seen in real answers; nulls where lists are documented.
WITH_EXTRAS = meeting(
    autoAdmittedUsers="everyoneInCompany",
    broadcastSettings=None,
    capabilities=[],
    isEntryExitAnnounced=True,
    meetingInfo=None,
    audioConferencing={
        "ConferenceId": "804980123",
        "tollNumber": "+1 425-555-0100",
        "tollFreeNumber": "+1 800-555-0123",
        "tollNumbers": None,
        "tollFreeNumbers": None,
        "dialinUrl": None,
    },
    participants={
        "organizer": {
            "upn": "megan@contoso.com",
            "role": "presenter",
            "identity": {
                "application": None,
                "device": None,
                "user": {"id": ORGANIZER_ID, "displayName": None, "identityProvider": "AAD"},
            },
        },
        "attendees": None,
        "contributors": [],
        "producers": [],
    },
)


def error_body(
    code: str,
    message: str,
    *,
    request_id: str = "0c8d8a4e-5e2a-4b1c-9e3f-5a6b7c8d9e0f",
    client_request_id: str = "",
    inner_key: str = "innerError",
) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            inner_key: {
                "date": "2026-11-23T20:10:11",
                "request-id": request_id,
                "client-request-id": client_request_id or request_id,
            },
        }
    }


ERRORS: dict[int, dict[str, Any]] = {
    400: error_body("BadRequest", "1026: An error has occurred."),
    401: error_body("InvalidAuthenticationToken", "Access token has expired or is not yet valid."),
    403: error_body(
        "Forbidden",
        "Application does not have permission to Create online meeting on behalf of this user.",
    ),
    404: error_body("NotFound", "User not found.", inner_key="innererror"),
    409: error_body("Conflict", "Conflict."),
    429: error_body("TooManyRequests", "Too many requests."),
    500: error_body("UnknownError", ""),
    503: error_body("ServiceUnavailable", "Service Unavailable"),
    504: error_body("GatewayTimeout", "Gateway Timeout"),
}

# A gateway in front of Graph answers 502 with HTML, not a Graph error body.
BAD_GATEWAY_HTML = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
