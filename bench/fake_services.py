"""Fakes at the wire for a signed-in user: the Bot Framework token service and Graph createOrGet.

They run in the harness process, next to the fake channel, so the bot under test does only its
own work (no embedded sandbox) and every call it makes is counted where it arrives.
"""

import base64
import hashlib
import itertools
import json
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import jwt
from aiohttp import web

HOST = "127.0.0.1"
TOKEN_LIFETIME_S = 3600
# createOrGet answers with Graph's OData content type.
GRAPH_CONTENT_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;"
    "IEEE754Compatible=false;charset=utf-8"
)
_SIGNING_KEY = b"meetbot-bench-token-signing-key-0123456789"
_USER_NAMESPACE = uuid.UUID("0b4c8c6e-63a5-4d44-9a4e-4f2fbe7c0be0")


def _graph_time(value: datetime) -> str:
    """Graph's rendering: UTC, seven fractional digits, `Z`."""
    value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond:06d}0Z"


def _parse_graph_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class FakeTokenService:
    """`GET /api/usertoken/GetToken`: every user is signed in and gets a Graph-sized JWT.

    One token per (user, connection, channel), issued on first request and valid for an
    hour, with `expiration` as the real service gives it; `SignOut` forgets it.
    """

    def __init__(self, tenant_id: str) -> None:
        self._tenant_id = tenant_id
        self._tokens: dict[tuple[str, str, str], tuple[str, str]] = {}
        # token -> user id, so the Graph fake can refuse tokens this service never issued.
        self.issued: dict[str, str] = {}
        self.lookups: Counter[str] = Counter()
        self.sign_outs: Counter[str] = Counter()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/usertoken/GetToken", self._get_token),
            web.delete("/api/usertoken/SignOut", self._sign_out),
        ]

    def _issue(self, user_id: str) -> tuple[str, str]:
        now = int(time.time())
        oid = str(uuid.uuid5(_USER_NAMESPACE, user_id))
        # The claims of an Entra v1 delegated Graph token, so the header is as long as real ones.
        claims = {
            "aud": "00000003-0000-0000-c000-000000000000",
            "iss": f"https://sts.windows.net/{self._tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME_S,
            "acct": 0,
            "acr": "1",
            "aio": base64.b64encode(hashlib.sha512(oid.encode()).digest()).decode(),
            "amr": ["pwd", "mfa"],
            "app_displayname": "MeetBot",
            "appid": "2d6c2f5e-7f3b-4c0e-9a51-6a7c2c9b0be0",
            "appidacr": "0",
            "family_name": "User",
            "given_name": "Bench",
            "idtyp": "user",
            "ipaddr": "203.0.113.7",
            "name": f"Bench User {user_id}",
            "oid": oid,
            "platf": "3",
            "puid": "10032001" + hashlib.sha1(oid.encode()).hexdigest()[:8].upper(),
            "rh": "0.AXwA" + hashlib.sha256(oid.encode()).hexdigest()[:40],
            "scp": "OnlineMeetings.ReadWrite User.Read openid profile email",
            "sid": str(uuid.uuid5(_USER_NAMESPACE, "sid" + user_id)),
            "sub": hashlib.sha256(user_id.encode()).hexdigest()[:43],
            "tenant_region_scope": "EU",
            "tid": self._tenant_id,
            "unique_name": f"bench.{oid[:8]}@contoso.example",
            "upn": f"bench.{oid[:8]}@contoso.example",
            "uti": base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="),
            "ver": "1.0",
            "wids": ["b79fbf4d-3ef9-4689-8143-76b194e85509"],
            "xms_st": {"sub": hashlib.sha256(oid.encode()).hexdigest()[:43]},
            "xms_tcdt": 1600000000,
        }
        token = jwt.encode(claims, _SIGNING_KEY, algorithm="HS256")
        expiration = datetime.fromtimestamp(now + TOKEN_LIFETIME_S, UTC)
        # As the token service writes it: seven fractional digits and an offset.
        return token, f"{expiration:%Y-%m-%dT%H:%M:%S}.0000000+00:00"

    async def _get_token(self, request: web.Request) -> web.Response:
        query = request.query
        user, connection, channel = (
            query.get("userId", ""),
            query.get("connectionName", ""),
            query.get("channelId", ""),
        )
        if not (user and connection and channel):
            return web.json_response({"error": {"code": "BadArgument"}}, status=400)
        self.lookups[user] += 1
        key = (user, connection, channel)
        found = self._tokens.get(key)
        if found is None:
            found = self._tokens[key] = self._issue(user)
            self.issued[found[0]] = user
        token, expiration = found
        return web.json_response(
            {
                "channelId": channel,
                "connectionName": connection,
                "token": token,
                "expiration": expiration,
            }
        )

    async def _sign_out(self, request: web.Request) -> web.Response:
        user = request.query.get("userId", "")
        self.sign_outs[user] += 1
        for key in [key for key in self._tokens if key[0] == user]:
            self.issued.pop(self._tokens.pop(key)[0], None)
        return web.json_response({})


class FakeGraph:
    """`POST {base}/me/onlineMeetings/createOrGet`: 201 with a full onlineMeeting the first
    time an externalId is seen, 200 with the same meeting after; 401 for unknown tokens.

    `created_subjects` counts 201s per subject, so the harness can check that each request made
    exactly one meeting.
    """

    def __init__(self, tokens: FakeTokenService, tenant_id: str) -> None:
        self._tokens = tokens
        self._tenant_id = tenant_id
        self._meetings: dict[str, tuple[str, str, str, str]] = {}
        self._templates: dict[str, str] = {}
        self._request_ids = itertools.count(1)
        self.created_subjects: Counter[str] = Counter()
        self.calls = 0
        self.refused = 0

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v1.0/me/onlineMeetings/createOrGet", self._create_or_get)]

    async def _create_or_get(self, request: web.Request) -> web.Response:
        self.calls += 1
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        user = self._tokens.issued.get(token) if scheme == "Bearer" else None
        if user is None:
            self.refused += 1
            return self._error(401, "InvalidAuthenticationToken", "Access token is empty.")
        try:
            asked = json.loads(await request.read())
            external_id = str(asked["externalId"])
            subject = str(asked.get("subject") or "")
            start = _parse_graph_time(asked["startDateTime"])
            end = _parse_graph_time(asked["endDateTime"])
        except (ValueError, KeyError, TypeError):
            return self._error(400, "BadRequest", "Invalid request body.")
        created = external_id not in self._meetings
        if created:
            self._meetings[external_id] = (subject, _graph_time(start), _graph_time(end), user)
            self.created_subjects[subject] += 1
        return web.Response(
            body=self._meeting(external_id, *self._meetings[external_id]),
            status=201 if created else 200,
            headers={
                "Content-Type": GRAPH_CONTENT_TYPE,
                "request-id": f"00000000-0000-4000-8000-{next(self._request_ids):012d}",
                "client-request-id": request.headers.get("client-request-id", ""),
            },
        )

    def _error(self, status: int, code: str, message: str) -> web.Response:
        body = {"error": {"code": code, "message": message, "innerError": {}}}
        return web.json_response(body, status=status, headers={"request-id": str(uuid.uuid4())})

    def _meeting(self, external_id: str, subject: str, start: str, end: str, user: str) -> bytes:
        """The onlineMeeting Graph returns (v1.0, with audio conferencing), ids from externalId.

        Filled into a JSON template made once per user: the harness's CPU is shared with the
        load generator and the other fakes.
        """
        template = self._templates.get(user)
        if template is None:
            template = self._templates[user] = _template(self._tenant_id, user)
        oid = str(uuid.uuid5(_USER_NAMESPACE, user))
        seed = hashlib.sha256(f"{oid}\x1f{external_id}".encode()).hexdigest()
        guid = str(uuid.UUID(seed[:32]))
        thread = f"19:meeting_{base64.b64encode(guid.encode()).decode().rstrip('=')}@thread.v2"
        conference_id = str(100_000_000 + int(seed[32:40], 16) % 900_000_000)
        join_digits = str(10**11 + int(seed[40:52], 16) % (9 * 10**11))
        values = {
            "id": base64.b64encode(f"1*{oid}*0**{thread}".encode()).decode(),
            "externalId": external_id,
            "creationDateTime": _graph_time(datetime.now(UTC)),
            "startDateTime": start,
            "endDateTime": end,
            "expiryDateTime": _graph_time(_parse_graph_time(end) + timedelta(days=60)),
            "subject": subject,
            "thread": thread,
            "threadPath": quote(thread, safe=""),
            "videoTeleconferenceId": str(10**9 + int(seed[52:60], 16) % (9 * 10**9)),
            "joinMeetingId": " ".join(join_digits[i : i + 3] for i in range(0, 12, 3)),
            "passcode": base64.b32encode(bytes.fromhex(seed[:10])).decode()[:6],
            "conferenceId": conference_id,
            "guid": guid,
        }
        body = template
        for name, value in values.items():
            # json.dumps escapes the value as JSON; [1:-1] drops its quotes.
            body = body.replace(f"@@{name}@@", json.dumps(value)[1:-1])
        return body.encode()


def _template(tenant: str, user: str) -> str:
    """One user's onlineMeeting as JSON, with @@name@@ where each meeting's values go."""
    oid = str(uuid.uuid5(_USER_NAMESPACE, user))
    context = quote(json.dumps({"Tid": tenant, "Oid": oid}, separators=(",", ":")), safe="")
    document = {
        "@odata.context": (
            f"https://graph.microsoft.com/v1.0/$metadata#users('{oid}')/onlineMeetings/$entity"
        ),
        "id": "@@id@@",
        "externalId": "@@externalId@@",
        "creationDateTime": "@@creationDateTime@@",
        "startDateTime": "@@startDateTime@@",
        "endDateTime": "@@endDateTime@@",
        "expiryDateTime": "@@expiryDateTime@@",
        "subject": "@@subject@@",
        "joinWebUrl": (
            f"https://teams.microsoft.com/l/meetup-join/@@threadPath@@/0?context={context}"
        ),
        "meetingOptionsWebUrl": (
            f"https://teams.microsoft.com/meetingOptions/?organizerId={oid}&tenantId={tenant}"
            "&threadId=@@threadPath@@&messageId=0&language=en-US"
        ),
        "videoTeleconferenceId": "@@videoTeleconferenceId@@",
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
            "joinMeetingId": "@@joinMeetingId@@",
            "passcode": "@@passcode@@",
        },
        "lobbyBypassSettings": {"scope": "organization", "isDialInBypassEnabled": False},
        "audioConferencing": {
            "conferenceId": "@@conferenceId@@",
            "tollNumber": "+1 425-555-0142",
            "tollFreeNumber": "+1 800-555-0177",
            "tollNumbers": ["+1 425-555-0142"],
            "tollFreeNumbers": ["+1 800-555-0177"],
            "dialinUrl": "https://dialin.teams.microsoft.com/@@guid@@?id=@@conferenceId@@",
        },
        "chatInfo": {"threadId": "@@thread@@", "messageId": "0", "replyChainMessageId": None},
        "participants": {
            "organizer": {
                "upn": f"bench.{oid[:8]}@contoso.example",
                "role": "presenter",
                "identity": {
                    "application": None,
                    "device": None,
                    "user": {
                        "id": oid,
                        "displayName": f"Bench User {user}",
                        "tenantId": tenant,
                        "identityProvider": "AAD",
                    },
                },
            },
            "attendees": [],
        },
    }
    return json.dumps(document)


async def start(tokens: FakeTokenService, graph: FakeGraph) -> tuple[web.AppRunner, str, str]:
    """Serve both fakes on loopback, each on its own port as they are different hosts in
    production (the bot keeps a connection pool per host); returns the runner, the token
    service URL and the Graph base URL."""
    app = web.Application()
    app.add_routes(tokens.routes())
    app.add_routes(graph.routes())
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=75.0)
    await runner.setup()
    for _ in range(2):
        await web.TCPSite(runner, HOST, 0).start()
    token_port, graph_port = (address[1] for address in runner.addresses)
    return runner, f"http://{HOST}:{token_port}", f"http://{HOST}:{graph_port}/v1.0"
