"""Embedded Graph sandbox: createOrGet, GET, PATCH and DELETE of onlineMeetings, as documented."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote

from aiohttp import web

from bot.sandbox.tokens import (
    SandboxIdentity,
    SandboxTokenError,
    SandboxTokenExpiredError,
    SandboxTokens,
)

logger = logging.getLogger(__name__)

REQUIRED_SCOPE = "OnlineMeetings.ReadWrite"
OTHER_USERS_SCOPE = "OnlineMeetings.ReadWrite.All"
# Delegated permissions that can read another user's basic profile, least privileged first.
READ_USERS_SCOPES = frozenset({"User.ReadBasic.All", "User.Read.All", "Directory.Read.All"})
# What `GET /users/{id}` returns without $select (Graph's default set).
_USER_DEFAULT_FIELDS = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
ROUTE_ME = "me"
ROUTE_USERS = "users"
STORAGE_PREFIX = "graph-sandbox"
MAX_RECORDED_REQUESTS = 1000

_GRAPH_JSON = (
    "application/json;odata.metadata=minimal;odata.streaming=true;"
    "IEEE754Compatible=false;charset=utf-8"
)
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_CHANNEL_THREAD = re.compile(r"19:[^@\s]+@thread\.(tacv2|skype)")
_ATTENDEE_ROLES = frozenset({"attendee", "presenter", "producer", "coorganizer"})
# Writable onlineMeeting properties createOrGet accepts; anything else is an OData error.
_WRITABLE_PROPERTIES = frozenset(
    {
        "@odata.type",
        "externalId",
        "subject",
        "startDateTime",
        "endDateTime",
        "participants",
        "lobbyBypassSettings",
        "allowedPresenters",
        "isEntryExitAnnounced",
        "allowMeetingChat",
        "allowTeamworkReactions",
        "allowAttendeeToEnableCamera",
        "allowAttendeeToEnableMic",
        "recordAutomatically",
        "joinMeetingIdSettings",
    }
)
_BETA_ONLY_PROPERTIES = frozenset({"chatInfo"})
# What `PATCH /me/onlineMeetings/{id}` may change (onlinemeeting-update's request body).
_UPDATABLE_PROPERTIES = frozenset(
    {
        "startDateTime",
        "endDateTime",
        "subject",
        "participants",
        "isEntryExitAnnounced",
        "lobbyBypassSettings",
        "allowedPresenters",
        "allowMeetingChat",
        "allowTeamworkReactions",
        "allowAttendeeToEnableCamera",
        "allowAttendeeToEnableMic",
        "recordAutomatically",
    }
)
_LOBBY_SCOPES = frozenset(
    {
        "organizer",
        "organization",
        "organizationAndFederated",
        "everyone",
        "invited",
        "organizationExcludingGuests",
    }
)
_PRESENTERS = frozenset({"everyone", "organization", "roleIsPresenter", "organizer"})
_CHAT_MODES = frozenset({"enabled", "disabled", "limited"})


class SandboxStorage(Protocol):
    """The part of botbuilder's `Storage` the sandbox uses (MemoryStorage, SQLite, ...)."""

    async def read(self, keys: list[str]) -> dict[str, Any]: ...

    async def write(self, changes: dict[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """One request as the sandbox received it, for assertions. The Authorization header is
    left out; `authorization_scheme` says which scheme (if any) was used."""

    method: str
    path: str
    headers: Mapping[str, str]
    json: Any
    authorization_scheme: str | None
    received_at: float
    query_string: str = ""


RECEIVED: web.AppKey[deque[ReceivedRequest]] = web.AppKey("graph_sandbox_received", deque)


# --- fault injection (tests only) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected misbehaviour. `delay_s` alone only slows the answer down."""

    delay_s: float = 0.0
    status: int | None = None
    code: str | None = None
    retry_after: str | None = None
    drop_connection: bool = False
    # Fail only after the meeting was stored: the create happened, the answer was lost.
    after_processing: bool = False


_DEFAULT_CODES = {
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


class FaultInjector:
    """Per-route queues of faults, consumed one per request. Tests construct it; the app never
    does, so nothing here is reachable over HTTP without it. Routes: "me", "users" or "*"."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[Fault]] = {}

    def add(self, fault: Fault, *, route: str = "*", times: int = 1) -> None:
        if route not in {ROUTE_ME, ROUTE_USERS, "*"}:
            raise ValueError(f"unknown route {route!r}")
        self._queues.setdefault(route, deque()).extend([fault] * times)

    def delay(self, seconds: float, *, route: str = "*", times: int = 1) -> None:
        self.add(Fault(delay_s=seconds), route=route, times=times)

    def throttle(
        self, retry_after: float | str | None = 1, *, route: str = "*", times: int = 1
    ) -> None:
        header = None if retry_after is None else str(retry_after)
        self.add(Fault(status=429, retry_after=header), route=route, times=times)

    def server_error(
        self,
        status: int = 503,
        *,
        code: str | None = None,
        retry_after: float | str | None = None,
        after_processing: bool = False,
        route: str = "*",
        times: int = 1,
    ) -> None:
        if not 500 <= status <= 599:
            raise ValueError("server_error takes a 5xx status")
        header = None if retry_after is None else str(retry_after)
        fault = Fault(
            status=status, code=code, retry_after=header, after_processing=after_processing
        )
        self.add(fault, route=route, times=times)

    def drop_connection(
        self, *, after_processing: bool = False, route: str = "*", times: int = 1
    ) -> None:
        self.add(
            Fault(drop_connection=True, after_processing=after_processing),
            route=route,
            times=times,
        )

    def take(self, route: str) -> Fault | None:
        for name in (route, "*"):
            queue = self._queues.get(name)
            if queue:
                return queue.popleft()
        return None

    @property
    def pending(self) -> int:
        return sum(len(queue) for queue in self._queues.values())


# --- Graph-shaped answers --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _RequestIds:
    request_id: str
    client_request_id: str


_IDS: web.RequestKey[_RequestIds] = web.RequestKey("graph_sandbox_ids", _RequestIds)


class _GraphFailure(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def _error_response(request: web.Request, failure: _GraphFailure, now: datetime) -> web.Response:
    ids = request[_IDS]
    body = {
        "error": {
            "code": failure.code,
            "message": failure.message,
            "innerError": {
                "date": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": ids.request_id,
                "client-request-id": ids.client_request_id,
            },
        }
    }
    return _json_response(body, status=failure.status, headers=failure.headers)


def _json_response(
    body: Mapping[str, Any], *, status: int, headers: Mapping[str, str] | None = None
) -> web.Response:
    response = web.Response(status=status, body=json.dumps(body).encode(), headers=headers)
    response.headers["Content-Type"] = _GRAPH_JSON
    return response


_UNAUTHENTICATED_HEADERS = {
    "WWW-Authenticate": (
        'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/'
        'authorize", client_id="00000003-0000-0000-c000-000000000000"'
    )
}


def _routing_failure(request: web.Request, exc: web.HTTPException) -> _GraphFailure:
    if isinstance(exc, web.HTTPMethodNotAllowed):
        return _GraphFailure(405, "BadRequest", f"The HTTP method '{exc.method}' is not allowed.")
    if exc.status == 404:
        segment = request.path.rstrip("/").rsplit("/", 1)[-1]
        return _GraphFailure(400, "BadRequest", f"Resource not found for the segment '{segment}'.")
    return _GraphFailure(exc.status, "BadRequest", exc.reason)


def _unauthenticated(message: str) -> _GraphFailure:
    return _GraphFailure(401, "InvalidAuthenticationToken", message, _UNAUTHENTICATED_HEADERS)


_UNREADABLE_PAYLOAD = (
    "Unable to read JSON request payload. Please ensure Content-Type header is set "
    "and payload is of valid JSON format."
)


def _bad_request(message: str) -> _GraphFailure:
    return _GraphFailure(400, "BadRequest", message)


# --- the directory -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DirectoryPerson:
    """Someone in the sandbox's organization, for `GET /users/{id | userPrincipalName}`."""

    object_id: str
    upn: str
    display_name: str

    def as_user(self) -> dict[str, Any]:
        given, _, surname = self.display_name.partition(" ")
        return {
            "businessPhones": [],
            "displayName": self.display_name,
            "givenName": given or None,
            "jobTitle": None,
            "mail": self.upn,
            "mobilePhone": None,
            "officeLocation": None,
            "preferredLanguage": None,
            "surname": surname or None,
            "userPrincipalName": self.upn,
            "id": self.object_id.lower(),
        }


# --- meetings ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Organizer:
    tenant_id: str
    object_id: str
    upn: str | None
    display_name: str | None


@dataclass(frozen=True, slots=True)
class _MeetingAsked:
    external_id: str
    subject: str | None
    start: datetime
    end: datetime
    attendees: list[dict[str, Any]]
    channel_thread_id: str | None


def storage_key(tenant_id: str, organizer_id: str, external_id: str) -> str:
    """`graph-sandbox/{tenant}/{organizer}/{sha256(externalId)}`: safe characters for any store."""

    def part(value: str) -> str:
        if _GUID.fullmatch(value):
            return value.lower()
        return "x-" + hashlib.sha256(value.encode()).hexdigest()[:40]

    external = hashlib.sha256(external_id.encode()).hexdigest()
    return f"{STORAGE_PREFIX}/{part(tenant_id)}/{part(organizer_id)}/{external}"


def graph_datetime(value: datetime) -> str:
    """Graph's own rendering: UTC, seven fractional digits, `Z`."""
    value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond:06d}0Z"


def _derived(seed: bytes, label: str) -> int:
    return int.from_bytes(hashlib.sha256(seed + label.encode()).digest()[:8], "big")


def _derived_guid(seed: bytes, label: str) -> uuid.UUID:
    return uuid.UUID(bytes=hashlib.sha256(seed + label.encode()).digest()[:16], version=4)


def _lower_percent(encoded: str) -> str:
    # Teams writes its percent-escapes in lower case (19%3ameeting_...%40thread.v2).
    return re.sub(r"%[0-9A-F]{2}", lambda match: match.group(0).lower(), encoded)


_PASSCODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"


def build_meeting(
    organizer: _Organizer,
    asked: _MeetingAsked,
    *,
    created_at: datetime,
    audio_conferencing: bool,
    names: Mapping[str, str] | None = None,
    generation: int = 0,
) -> dict[str, Any]:
    """A realistic onlineMeeting. Ids, URL and passcode depend only on (tenant, organizer,
    externalId), so racing creates of one identity - even in two processes - agree. `names`:
    display names by UPN of the people the directory knows, shown on the attendees.
    `generation` counts the meetings of this identity deleted before: a new one after a
    delete is another meeting, with its own ids and link."""
    names = names or {}
    tenant = organizer.tenant_id.lower()
    oid = organizer.object_id.lower()
    identity = f"{tenant}\x1f{oid}\x1f{asked.external_id}"
    if generation:
        identity += f"\x1f{generation}"
    seed = hashlib.sha256(identity.encode()).digest()
    tenant_seed = hashlib.sha256(f"tenant\x1f{tenant}".encode()).digest()

    meeting_guid = str(_derived_guid(seed, "meeting"))
    encoded_guid = base64.b64encode(meeting_guid.encode()).decode().rstrip("=")
    meeting_thread = f"19:meeting_{encoded_guid}@thread.v2"
    context = json.dumps({"Tid": tenant, "Oid": oid}, separators=(",", ":"))
    join_web_url = _lower_percent(
        "https://teams.microsoft.com/l/meetup-join/"
        f"{quote(meeting_thread, safe='')}/0?context={quote(context, safe='')}"
    )
    meeting_id = base64.b64encode(f"1*{oid}*0**{meeting_thread}".encode()).decode()

    join_digits = str(10**11 + _derived(seed, "join-id") % (9 * 10**11))
    join_meeting_id = " ".join(join_digits[i : i + 3] for i in range(0, 12, 3))
    passcode_number = _derived(seed, "passcode")
    passcode = ""
    for _ in range(6):
        passcode_number, index = divmod(passcode_number, len(_PASSCODE_ALPHABET))
        passcode += _PASSCODE_ALPHABET[index]

    audio: dict[str, Any] | None = None
    if audio_conferencing:
        conference_id = str(10**8 + _derived(seed, "conference-id") % (9 * 10**8))
        toll = f"+1 425-555-01{_derived(tenant_seed, 'toll') % 100:02d}"
        toll_free = f"+1 800-555-01{_derived(tenant_seed, 'toll-free') % 100:02d}"
        bridge = _derived_guid(tenant_seed, "bridge")
        audio = {
            "conferenceId": conference_id,
            "tollNumber": toll,
            "tollFreeNumber": toll_free,
            "tollNumbers": [toll],
            "tollFreeNumbers": [toll_free],
            "dialinUrl": f"https://dialin.teams.microsoft.com/{bridge}?id={conference_id}",
        }

    if asked.channel_thread_id:
        message_id = str(1_600_000_000_000 + _derived(seed, "message") % 10**11)
        chat_info: dict[str, str | None] = {
            "threadId": asked.channel_thread_id,
            "messageId": message_id,
            "replyChainMessageId": None,
        }
    else:
        chat_info = {"threadId": meeting_thread, "messageId": "0", "replyChainMessageId": None}

    return {
        "id": meeting_id,
        "externalId": asked.external_id,
        "creationDateTime": graph_datetime(created_at),
        "startDateTime": graph_datetime(asked.start),
        "endDateTime": graph_datetime(asked.end),
        "expiryDateTime": graph_datetime(asked.end + timedelta(days=60)),
        "subject": asked.subject,
        "joinWebUrl": join_web_url,
        "meetingOptionsWebUrl": (
            "https://teams.microsoft.com/meetingOptions/"
            f"?organizerId={oid}&tenantId={tenant}&threadId={quote(meeting_thread, safe='')}"
            "&messageId=0&language=en-US"
        ),
        "videoTeleconferenceId": str(10**9 + _derived(seed, "vtc") % (9 * 10**9)),
        "isBroadcast": False,
        "broadcastSettings": None,
        "autoAdmittedUsers": "everyoneInCompany",
        "allowedPresenters": "everyone",
        "isEntryExitAnnounced": True,
        "allowMeetingChat": "enabled",
        "allowTeamworkReactions": True,
        "recordAutomatically": False,
        "joinMeetingIdSettings": {
            "isPasscodeRequired": True,
            "joinMeetingId": join_meeting_id,
            "passcode": passcode,
        },
        "lobbyBypassSettings": {"scope": "organization", "isDialInBypassEnabled": False},
        "audioConferencing": audio,
        "chatInfo": chat_info,
        "participants": {
            "organizer": {
                "upn": organizer.upn,
                "role": "presenter",
                "identity": {
                    "application": None,
                    "device": None,
                    "user": {
                        "id": oid,
                        "displayName": organizer.display_name,
                        "tenantId": tenant,
                        "identityProvider": "AAD",
                    },
                },
            },
            "attendees": [_attendee_echo(attendee, tenant, names) for attendee in asked.attendees],
        },
    }


def _attendee_echo(
    attendee: Mapping[str, Any], tenant: str, names: Mapping[str, str]
) -> dict[str, Any]:
    user = (attendee.get("identity") or {}).get("user") or {}
    return {
        "upn": attendee["upn"],
        "role": attendee.get("role") or "attendee",
        "identity": {
            "user": {
                "id": user.get("id"),
                "displayName": user.get("displayName") or names.get(attendee["upn"].lower()),
                "tenantId": tenant,
                "identityProvider": "AAD",
            }
        },
    }


# --- request parsing ---------------------------------------------------------------------------


def _parse_graph_datetime(name: str, value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad_request(f"Cannot convert the literal '{value}' to Edm.DateTimeOffset ({name}).")
    text = value.strip()
    # Graph writes up to seven fractional digits; Python reads six.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise _bad_request(
            f"Cannot convert the literal '{value}' to the expected type 'Edm.DateTimeOffset' "
            f"({name}: an offset or Z is required)."
        )
    return parsed.astimezone(UTC)


def _parse_meeting_request(document: Any, *, version: str, now: datetime) -> _MeetingAsked:
    if not isinstance(document, dict):
        raise _bad_request("Unable to read JSON request payload: an object is required.")
    for name in document:
        if name in _WRITABLE_PROPERTIES or (version == "beta" and name in _BETA_ONLY_PROPERTIES):
            continue
        if name in _BETA_ONLY_PROPERTIES:
            raise _bad_request(f"The property '{name}' is not supported on API version {version}.")
        raise _bad_request(
            f"The property '{name}' does not exist on type 'microsoft.graph.onlineMeeting'. "
            "Make sure to only use property names that are defined by the type."
        )
    external_id = document.get("externalId")
    if not isinstance(external_id, str) or not external_id.strip():
        raise _bad_request("The externalId property is required and must be a non-empty string.")
    subject = document.get("subject")
    if subject is not None and not isinstance(subject, str):
        raise _bad_request("The subject property must be a string.")

    start = _parse_graph_datetime("startDateTime", document.get("startDateTime"))
    end = _parse_graph_datetime("endDateTime", document.get("endDateTime"))
    if start is None and end is not None:
        raise _bad_request("1026: An error has occurred. (endDateTime given without startDateTime)")
    start = start or now
    end = end or start + timedelta(hours=1)
    if end <= start:
        raise _bad_request("1026: An error has occurred. (endDateTime is not after startDateTime)")

    attendees = _parse_attendees(document.get("participants"))
    channel_thread_id = None
    chat_info = document.get("chatInfo")
    if chat_info is not None:
        thread = chat_info.get("threadId") if isinstance(chat_info, dict) else None
        # Reported behaviour: only a channel thread can be attached; a group chat gives 400.
        if not isinstance(thread, str) or not _CHANNEL_THREAD.fullmatch(thread):
            raise _bad_request("Invalid chatInfo.threadId: only a channel thread can be used.")
        channel_thread_id = thread
    return _MeetingAsked(external_id, subject, start, end, attendees, channel_thread_id)


def _parse_attendees(participants: Any) -> list[dict[str, Any]]:
    if participants is None:
        return []
    if not isinstance(participants, dict):
        raise _bad_request("The participants property must be an object.")
    attendees = participants.get("attendees") or []
    if not isinstance(attendees, list) or not all(isinstance(a, dict) for a in attendees):
        raise _bad_request("participants.attendees must be an array of objects.")
    for attendee in attendees:
        role = attendee.get("role")
        if role is not None and role not in _ATTENDEE_ROLES:
            raise _bad_request(f"Requested value '{role}' was not found (role).")
        if not isinstance(attendee.get("upn"), str) or not attendee["upn"]:
            # Reported Graph behaviour, kept so that local mode shows the same failure.
            raise _GraphFailure(500, "InternalServerError", "An error has occurred.")
    return attendees


# --- the application -----------------------------------------------------------------------------


class _KeyedLocks:
    """One asyncio lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._entries.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._entries[key]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _GraphSandbox:
    def __init__(
        self,
        storage: SandboxStorage,
        tokens: SandboxTokens,
        faults: FaultInjector | None,
        clock: Callable[[], datetime],
        no_audio_conferencing: frozenset[str],
        directory: Collection[DirectoryPerson],
    ) -> None:
        self._directory = {person.object_id.lower(): person for person in directory}
        self._directory.update({person.upn.lower(): person for person in directory})
        self._storage = storage
        self._tokens = tokens
        self._faults = faults
        self._clock = clock
        self._no_audio_conferencing = no_audio_conferencing
        self._locks = _KeyedLocks()

    @web.middleware
    async def envelope(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Ids and headers on every answer, Graph error bodies for every failure, a record."""
        request_id = str(uuid.uuid4())
        ids = _RequestIds(request_id, request.headers.get("client-request-id") or request_id)
        request[_IDS] = ids
        received_at = time.monotonic()
        try:
            raw = await request.read()
            try:
                document: Any = json.loads(raw) if raw else None
            except ValueError:
                document = None
            authorization = request.headers.get("Authorization")
            request.app[RECEIVED].append(
                ReceivedRequest(
                    method=request.method,
                    path=request.path,
                    headers={
                        k: v for k, v in request.headers.items() if k.lower() != "authorization"
                    },
                    json=document,
                    authorization_scheme=authorization.split(" ", 1)[0] if authorization else None,
                    received_at=received_at,
                    query_string=request.query_string,
                )
            )
            response = await handler(request)
        except _GraphFailure as failure:
            response = _error_response(request, failure, self._clock())
        except web.HTTPException as exc:
            response = _error_response(request, _routing_failure(request, exc), self._clock())
        response.headers["request-id"] = ids.request_id
        response.headers["client-request-id"] = ids.client_request_id
        response.headers["x-ms-ags-diagnostic"] = json.dumps(
            {"ServerInfo": {"DataCenter": "Sandbox", "Slice": "E", "Ring": "0"}}
        )
        response.headers["Cache-Control"] = "no-store, no-cache"
        return response

    async def create_or_get(self, request: web.Request) -> web.StreamResponse:
        route = request.match_info.route.name or ROUTE_ME
        version = request.match_info["version"]
        fault = self._faults.take(route) if self._faults is not None else None
        if fault is not None:
            if fault.delay_s > 0:
                await asyncio.sleep(fault.delay_s)
            if not fault.after_processing and (response := self._fault_answer(request, fault)):
                return response

        identity = self._authenticate(request)
        organizer = self._organizer(identity, request.match_info.get("user_id"))
        try:
            document = json.loads(await request.read())
        except ValueError:
            raise _bad_request(_UNREADABLE_PAYLOAD) from None
        if request.content_type != "application/json":
            raise _bad_request(_UNREADABLE_PAYLOAD)
        asked = _parse_meeting_request(document, version=version, now=self._clock())
        meeting, created = await self._create_or_get(organizer, asked)

        if fault is not None and (response := self._fault_answer(request, fault)):
            return response
        answer = {
            "@odata.context": (
                f"https://graph.microsoft.com/{version}/$metadata#users('{organizer.object_id}')"
                "/onlineMeetings/$entity"
            ),
            **meeting,
        }
        return _json_response(answer, status=201 if created else 200)

    async def user(self, request: web.Request) -> web.StreamResponse:
        """`GET /users/{id | userPrincipalName}`: the caller themself, or (with a permission to
        read others, User.ReadBasic.All at least) someone in the sandbox's directory."""
        identity = self._authenticate(request)
        wanted = request.match_info["user_id"].lower()
        if wanted in {identity.object_id.lower(), (identity.upn or "").lower()}:
            found: dict[str, Any] | None = DirectoryPerson(
                identity.object_id, identity.upn or "", identity.display_name or ""
            ).as_user()
        else:
            if not READ_USERS_SCOPES & identity.scopes:
                raise _GraphFailure(
                    403,
                    "Authorization_RequestDenied",
                    "Insufficient privileges to complete the operation.",
                )
            person = self._directory.get(wanted)
            found = person.as_user() if person else None
        if found is None:
            raise _GraphFailure(
                404,
                "Request_ResourceNotFound",
                f"Resource '{request.match_info['user_id']}' does not exist or one of its "
                "queried reference-property objects are not present.",
            )
        select = request.query.get("$select")
        fields = [f.strip() for f in select.split(",") if f.strip()] if select else None
        for name in fields or ():
            if name not in found:
                raise _bad_request(
                    f"Could not find a property named '{name}' on type 'microsoft.graph.user'."
                )
        version = request.match_info["version"]
        context = f"https://graph.microsoft.com/{version}/$metadata#users"
        if fields:
            context += f"({','.join(fields)})"
        answer = {"@odata.context": context + "/$entity"}
        answer.update({name: found[name] for name in fields or _USER_DEFAULT_FIELDS})
        return _json_response(answer, status=200)

    def _fault_answer(self, request: web.Request, fault: Fault) -> web.StreamResponse | None:
        if fault.drop_connection:
            if request.transport is not None:
                request.transport.close()
            # Never written: aiohttp drops the answer silently once the transport is closed.
            return web.Response(status=500)
        if fault.status is not None:
            code = fault.code or _DEFAULT_CODES.get(fault.status, "UnknownError")
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
            message = "Too many requests." if fault.status == 429 else "The service is unavailable."
            failure = _GraphFailure(fault.status, code, message, headers)
            return _error_response(request, failure, self._clock())
        return None

    def _authenticate(self, request: web.Request) -> SandboxIdentity:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthenticated("Access token is empty.")
        try:
            return self._tokens.verify(token.strip())
        except SandboxTokenExpiredError:
            raise _unauthenticated("Lifetime validation failed, the token is expired.") from None
        except SandboxTokenError:
            raise _unauthenticated("Access token validation failure.") from None

    def _organizer(self, identity: SandboxIdentity, user_id: str | None) -> _Organizer:
        if user_id is None or user_id.lower() == identity.object_id.lower():
            if REQUIRED_SCOPE not in identity.scopes and OTHER_USERS_SCOPE not in identity.scopes:
                raise _GraphFailure(
                    403,
                    "Forbidden",
                    f"Insufficient privileges to complete the operation ({REQUIRED_SCOPE}).",
                )
            return _Organizer(
                identity.tenant_id, identity.object_id, identity.upn, identity.display_name
            )
        if not _GUID.fullmatch(user_id):
            # Graph wants the Entra object id here; a UPN is not found.
            raise _GraphFailure(404, "NotFound", f"User '{user_id}' was not found.")
        if OTHER_USERS_SCOPE not in identity.scopes:
            raise _GraphFailure(
                403,
                "Forbidden",
                "No application access policy found for this app "
                f"({OTHER_USERS_SCOPE} is required to act for another user).",
            )
        # The sandbox has no directory: another user's UPN and name are unknown.
        return _Organizer(identity.tenant_id, user_id.lower(), None, None)

    async def _create_or_get(
        self, organizer: _Organizer, asked: _MeetingAsked
    ) -> tuple[dict[str, Any], bool]:
        key = storage_key(organizer.tenant_id, organizer.object_id, asked.external_id)
        async with self._locks.hold(key):
            stored = (await self._storage.read([key])).get(key)
            meeting = stored.get("meeting") if isinstance(stored, dict) else None
            if isinstance(meeting, dict):
                return meeting, False
            # Deleted before: createOrGet makes a new meeting for the same externalId.
            deleted = int(stored.get("deleted") or 0) if isinstance(stored, dict) else 0
            meeting = build_meeting(
                organizer,
                asked,
                created_at=self._clock(),
                audio_conferencing=(organizer.object_id.lower() not in self._no_audio_conferencing),
                names=self._names(),
                generation=deleted,
            )
            await self._storage.write(
                {
                    key: {
                        "schema": 1,
                        "tenantId": organizer.tenant_id,
                        "organizerId": organizer.object_id,
                        "externalId": asked.external_id,
                        "meeting": meeting,
                        "deleted": deleted,
                    },
                    _id_key(meeting["id"]): {"schema": 1, "key": key},
                }
            )
            logger.info("graph sandbox created meeting key=%s", key)
            return meeting, True

    def _names(self) -> dict[str, str]:
        return {p.upn.lower(): p.display_name for p in self._directory.values()}

    async def _stored(
        self, organizer: _Organizer, meeting_id: str
    ) -> tuple[str, dict[str, Any]] | None:
        """The organizer's live meeting with this id, and its storage key; None for a meeting
        that does not exist, was deleted, or is someone else's (Graph answers 404 to all)."""
        index = (await self._storage.read([_id_key(meeting_id)])).get(_id_key(meeting_id))
        key = index.get("key") if isinstance(index, dict) else None
        if not isinstance(key, str):
            return None
        stored = (await self._storage.read([key])).get(key)
        if not isinstance(stored, dict) or not isinstance(stored.get("meeting"), dict):
            return None
        same_tenant = str(stored.get("tenantId")).lower() == organizer.tenant_id.lower()
        same_organizer = str(stored.get("organizerId")).lower() == organizer.object_id.lower()
        if not (same_tenant and same_organizer):
            return None
        return key, stored

    async def meeting(self, request: web.Request) -> web.StreamResponse:
        """`GET`, `PATCH` and `DELETE /me/onlineMeetings/{meetingId}`: only the organizer's own
        meetings; 404 for any other, and for one deleted."""
        if request.match_info["meeting_id"] == "createOrGet":
            raise web.HTTPMethodNotAllowed(request.method, ["POST"])
        fault = self._faults.take(ROUTE_ME) if self._faults is not None else None
        if fault is not None:
            if fault.delay_s > 0:
                await asyncio.sleep(fault.delay_s)
            if not fault.after_processing and (response := self._fault_answer(request, fault)):
                return response
        answer = await self._meeting(request)
        if fault is not None and (response := self._fault_answer(request, fault)):
            return response
        return answer

    async def _meeting(self, request: web.Request) -> web.StreamResponse:
        identity = self._authenticate(request)
        organizer = self._organizer(identity, None)
        meeting_id = request.match_info["meeting_id"]
        document: Any = None
        if request.method == "PATCH":
            try:
                document = json.loads(await request.read())
            except ValueError:
                raise _bad_request(_UNREADABLE_PAYLOAD) from None
            if request.content_type != "application/json":
                raise _bad_request(_UNREADABLE_PAYLOAD)
        lock_key = storage_key(organizer.tenant_id, organizer.object_id, meeting_id)
        async with self._locks.hold(lock_key):
            found = await self._stored(organizer, meeting_id)
            if found is None:
                raise _GraphFailure(
                    404, "NotFound", "The specified meeting was not found for this user."
                )
            key, stored = found
            meeting: dict[str, Any] = stored["meeting"]
            if request.method == "DELETE":
                tombstone = {**stored, "deleted": int(stored.get("deleted") or 0) + 1}
                del tombstone["meeting"]
                await self._storage.write({key: tombstone, _id_key(meeting_id): {"schema": 1}})
                logger.info("graph sandbox deleted meeting key=%s", key)
                return web.Response(status=204)
            if request.method == "PATCH":
                meeting = _patched(meeting, document, self._names())
                await self._storage.write({key: {**stored, "meeting": meeting}})
                logger.info("graph sandbox updated meeting key=%s", key)
        version = request.match_info["version"]
        answer = {
            "@odata.context": (
                f"https://graph.microsoft.com/{version}/$metadata#users('{organizer.object_id}')"
                "/onlineMeetings/$entity"
            ),
            **meeting,
        }
        return _json_response(answer, status=200)


def _id_key(meeting_id: str) -> str:
    return f"{STORAGE_PREFIX}/ids/{hashlib.sha256(meeting_id.encode()).hexdigest()}"


def _patched(meeting: dict[str, Any], document: Any, names: Mapping[str, str]) -> dict[str, Any]:
    """`meeting` with the properties `document` gives, and only those (onlinemeeting-update):
    start and end only together, attendees only as the whole new list."""
    if not isinstance(document, dict):
        raise _bad_request("Unable to read JSON request payload: an object is required.")
    for name in document:
        if name not in _UPDATABLE_PROPERTIES:
            raise _bad_request(f"The property '{name}' cannot be updated on an onlineMeeting.")
    changed = dict(meeting)
    if ("startDateTime" in document) != ("endDateTime" in document):
        raise _bad_request("Both startDateTime and endDateTime are required to change the time.")
    if "startDateTime" in document:
        start = _parse_graph_datetime("startDateTime", document["startDateTime"])
        end = _parse_graph_datetime("endDateTime", document["endDateTime"])
        if start is None or end is None or end <= start:
            raise _bad_request("1026: An error has occurred. (endDateTime is not after start)")
        changed["startDateTime"] = graph_datetime(start)
        changed["endDateTime"] = graph_datetime(end)
        changed["expiryDateTime"] = graph_datetime(end + timedelta(days=60))
    if "subject" in document:
        if not isinstance(document["subject"], str):
            raise _bad_request("The subject property must be a string.")
        changed["subject"] = document["subject"]
    if "participants" in document:
        attendees = _parse_attendees(document["participants"])
        user = meeting["participants"]["organizer"]["identity"]["user"]
        changed["participants"] = {
            **meeting["participants"],
            "attendees": [_attendee_echo(a, user["tenantId"], names) for a in attendees],
        }
    if "lobbyBypassSettings" in document:
        lobby = document["lobbyBypassSettings"]
        if not isinstance(lobby, dict):
            raise _bad_request("The lobbyBypassSettings property must be an object.")
        if "scope" in lobby and lobby["scope"] not in _LOBBY_SCOPES:
            raise _bad_request(f"Requested value '{lobby['scope']}' was not found (scope).")
        changed["lobbyBypassSettings"] = {**(meeting.get("lobbyBypassSettings") or {}), **lobby}
    for name, allowed in (("allowedPresenters", _PRESENTERS), ("allowMeetingChat", _CHAT_MODES)):
        if name in document:
            if document[name] not in allowed:
                raise _bad_request(f"Requested value '{document[name]}' was not found ({name}).")
            changed[name] = document[name]
    for name in (
        "isEntryExitAnnounced",
        "recordAutomatically",
        "allowTeamworkReactions",
        "allowAttendeeToEnableCamera",
        "allowAttendeeToEnableMic",
    ):
        if name in document:
            if not isinstance(document[name], bool):
                raise _bad_request(f"The {name} property must be a boolean.")
            changed[name] = document[name]
    return changed


def create_graph_sandbox(
    storage: SandboxStorage,
    tokens: SandboxTokens,
    *,
    faults: FaultInjector | None = None,
    clock: Callable[[], datetime] = _utc_now,
    no_audio_conferencing: Collection[str] = (),
    directory: Collection[DirectoryPerson] = (),
) -> web.Application:
    """The sandbox as a sub-application; mount it with `app.add_subapp("/sandbox/graph", ...)`.

    `no_audio_conferencing`: organizer object ids without an audio-conferencing licence,
    whose meetings come back with `audioConferencing: null` as in Graph. `directory`: the
    organization's other people, for `GET /users/{id}` (the caller is always found).
    """
    sandbox = _GraphSandbox(
        storage,
        tokens,
        faults,
        clock,
        frozenset(oid.lower() for oid in no_audio_conferencing),
        directory,
    )
    app = web.Application(middlewares=[sandbox.envelope])
    app[RECEIVED] = deque(maxlen=MAX_RECORDED_REQUESTS)
    version = r"{version:v1\.0|beta}"
    app.router.add_post(
        f"/{version}/me/onlineMeetings/createOrGet", sandbox.create_or_get, name=ROUTE_ME
    )
    app.router.add_post(
        f"/{version}/users/{{user_id}}/onlineMeetings/createOrGet",
        sandbox.create_or_get,
        name=ROUTE_USERS,
    )
    app.router.add_get(f"/{version}/users/{{user_id}}", sandbox.user)
    meeting = f"/{version}/me/onlineMeetings/{{meeting_id}}"
    app.router.add_get(meeting, sandbox.meeting)
    app.router.add_patch(meeting, sandbox.meeting)
    app.router.add_delete(meeting, sandbox.meeting)
    return app
