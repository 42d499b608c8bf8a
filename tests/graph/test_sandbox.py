"""The Graph sandbox speaks the documented createOrGet contract, persists, and injects faults."""

from __future__ import annotations

import asyncio
import io
import json
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from botbuilder.core import MemoryStorage

from bot.sandbox import FaultInjector, SandboxIdentity, SandboxTokens, create_graph_sandbox
from bot.sandbox.graph import storage_key

from .conftest import ServerFactory, build_sandbox_app
from .fakes import ADELE, ALEX, MEGAN, SECRET, SandboxHarness

EXTERNAL_ID = "7b0c6f1e-4d2a-4f3b-9c8d-1e2f3a4b5c6d"
BODY: dict[str, Any] = {
    "externalId": EXTERNAL_ID,
    "subject": "Quarterly planning",
    "startDateTime": "2026-11-24T20:00:00Z",
    "endDateTime": "2026-11-24T20:45:00Z",
    "participants": {
        "attendees": [
            {"identity": {"user": {"id": ALEX.object_id}}, "upn": ALEX.upn, "role": "attendee"}
        ]
    },
}


def meetings_in(storage: MemoryStorage) -> dict[str, Any]:
    """The stored meetings, without the index by meeting id that GET, PATCH and DELETE read."""
    return {k: v for k, v in storage.memory.items() if not k.startswith("graph-sandbox/ids/")}


class Answer:
    def __init__(self, status: int, headers: Mapping[str, str], body: Any) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def code(self) -> str:
        return str(self.body["error"]["code"])


async def post(
    session: aiohttp.ClientSession,
    url: str,
    body: Any = BODY,
    *,
    token: str | None,
    headers: Mapping[str, str] | None = None,
    raw: bytes | None = None,
) -> Answer:
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else json.dumps(body).encode()
    async with session.post(url, data=data, headers=sent) as response:
        return Answer(response.status, response.headers, json.loads(await response.read()))


def me(harness: SandboxHarness, version: str = "v1.0") -> str:
    return f"{harness.base_url(version)}/me/onlineMeetings/createOrGet"


def users(harness: SandboxHarness, user_id: str, version: str = "v1.0") -> str:
    return f"{harness.base_url(version)}/users/{user_id}/onlineMeetings/createOrGet"


async def test_create_then_get_returns_the_stored_meeting(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    first = await post(http_session, me(sandbox), token=sandbox.token())
    changed = {**BODY, "subject": "Changed", "endDateTime": "2026-11-24T23:00:00Z"}
    again = await post(http_session, me(sandbox), changed, token=sandbox.token())

    assert (first.status, again.status) == (201, 200)
    assert again.body["joinWebUrl"] == first.body["joinWebUrl"]
    assert again.body["subject"] == "Quarterly planning"
    assert again.body["endDateTime"] == "2026-11-24T20:45:00.0000000Z"
    assert again.body == first.body
    assert first.headers["Content-Type"].startswith("application/json;odata.metadata=minimal")


async def test_meeting_is_realistic(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    body = (await post(http_session, me(sandbox), token=sandbox.token())).body

    assert body["@odata.context"].startswith("https://graph.microsoft.com/v1.0/$metadata#users(")
    assert re.fullmatch(
        r"https://teams\.microsoft\.com/l/meetup-join/19%3ameeting_[A-Za-z0-9]+%40thread\.v2/0"
        r"\?context=%7b%22Tid%22%3a%22[0-9a-f-]{36}%22%2c%22Oid%22%3a%22[0-9a-f-]{36}%22%7d",
        body["joinWebUrl"],
    )
    settings = body["joinMeetingIdSettings"]
    assert re.fullmatch(r"[1-9]\d\d \d{3} \d{3} \d{3}", settings["joinMeetingId"])
    assert re.fullmatch(r"[A-Za-z0-9]{6}", settings["passcode"])
    assert settings["isPasscodeRequired"] is True
    audio = body["audioConferencing"]
    assert re.fullmatch(r"\d{9}", audio["conferenceId"])
    assert re.fullmatch(r"\+1 425-555-01\d\d", audio["tollNumber"])
    assert audio["tollNumbers"] == [audio["tollNumber"]]
    assert audio["tollFreeNumbers"] == [audio["tollFreeNumber"]]
    assert audio["dialinUrl"].endswith(f"?id={audio['conferenceId']}")
    assert re.fullmatch(r"\d{10}", body["videoTeleconferenceId"])
    assert body["chatInfo"]["threadId"].startswith("19:meeting_")
    organizer = body["participants"]["organizer"]
    assert (organizer["upn"], organizer["identity"]["user"]["id"]) == (MEGAN.upn, MEGAN.object_id)
    [attendee] = body["participants"]["attendees"]
    assert (attendee["upn"], attendee["identity"]["user"]["id"]) == (ALEX.upn, ALEX.object_id)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z", body["creationDateTime"])


async def test_meeting_survives_a_restart_over_the_same_storage(
    aiohttp_server: ServerFactory, http_session: aiohttp.ClientSession
) -> None:
    storage = MemoryStorage()
    tokens = SandboxTokens(SECRET)
    answers = []
    for _ in range(2):
        parent, _sandbox = build_sandbox_app(storage, tokens, None)
        server: TestServer = await aiohttp_server(parent)
        url = str(server.make_url("/sandbox/graph/v1.0/me/onlineMeetings/createOrGet"))
        answers.append(await post(http_session, url, token=tokens.issue(MEGAN)))
        await server.close()

    assert [a.status for a in answers] == [201, 200]
    assert answers[0].body == answers[1].body
    [(key, stored)] = meetings_in(storage).items()
    assert key == storage_key(MEGAN.tenant_id, MEGAN.object_id, EXTERNAL_ID)
    json.dumps(stored)  # plain JSON, so any store (SQLite, blobs) can keep it


async def test_identity_is_tenant_organizer_and_external_id(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    megan = await post(http_session, me(sandbox), token=sandbox.token(MEGAN))
    alex = await post(http_session, me(sandbox), token=sandbox.token(ALEX))
    other = await post(
        http_session, me(sandbox), {**BODY, "externalId": "x"}, token=sandbox.token()
    )

    assert (megan.status, alex.status, other.status) == (201, 201, 201)
    assert len({megan.body["joinWebUrl"], alex.body["joinWebUrl"], other.body["joinWebUrl"]}) == 3
    assert alex.body["participants"]["organizer"]["upn"] == ALEX.upn


async def test_racing_creates_produce_one_meeting(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    token = sandbox.token()
    answers = await asyncio.gather(
        *(post(http_session, me(sandbox), token=token) for _ in range(8))
    )

    assert sorted(a.status for a in answers) == [200] * 7 + [201]
    assert len({a.body["id"] for a in answers}) == 1
    assert len(meetings_in(sandbox.storage)) == 1


async def test_meetings_are_deterministic_across_separate_stores(
    aiohttp_server: ServerFactory, http_session: aiohttp.ClientSession
) -> None:
    tokens = SandboxTokens(SECRET)
    bodies = []
    for _ in range(2):
        parent, _sandbox = build_sandbox_app(MemoryStorage(), tokens, None)
        server: TestServer = await aiohttp_server(parent)
        url = str(server.make_url("/sandbox/graph/v1.0/me/onlineMeetings/createOrGet"))
        bodies.append((await post(http_session, url, token=tokens.issue(MEGAN))).body)

    same = ["id", "joinWebUrl", "joinMeetingIdSettings", "audioConferencing", "chatInfo"]
    assert [bodies[0][k] for k in same] == [bodies[1][k] for k in same]


@pytest.mark.parametrize(
    ("tenant", "oid", "external_id"),
    [
        ("../../etc", "a/b\\c?d#e", "x" * 5000),
        ("9F4E1C7A-2B5D-4E3F-8A6B-1C2D3E4F5A6B", "", "ünïcødé / spaces"),
    ],
)
def test_storage_keys_are_safe_for_any_store(tenant: str, oid: str, external_id: str) -> None:
    key = storage_key(tenant, oid, external_id)
    assert re.fullmatch(r"graph-sandbox/[a-z0-9-]{1,42}/[a-z0-9-]{1,42}/[0-9a-f]{64}", key)


async def test_default_times(
    aiohttp_server: ServerFactory, http_session: aiohttp.ClientSession
) -> None:
    now = datetime(2026, 11, 23, 20, 10, 11, 190916, tzinfo=UTC)
    tokens = SandboxTokens(SECRET)
    sandbox = create_graph_sandbox(MemoryStorage(), tokens, clock=lambda: now)
    server: TestServer = await aiohttp_server(sandbox)
    url = str(server.make_url("/v1.0/me/onlineMeetings/createOrGet"))
    token = tokens.issue(MEGAN)

    none = await post(http_session, url, {"externalId": "a"}, token=token)
    start_only = await post(
        http_session,
        url,
        {"externalId": "b", "startDateTime": "2026-12-01T09:30:00+01:00"},
        token=token,
    )

    assert (none.body["startDateTime"], none.body["endDateTime"]) == (
        "2026-11-23T20:10:11.1909160Z",
        "2026-11-23T21:10:11.1909160Z",
    )
    assert none.body["creationDateTime"] == "2026-11-23T20:10:11.1909160Z"
    assert (start_only.body["startDateTime"], start_only.body["endDateTime"]) == (
        "2026-12-01T08:30:00.0000000Z",
        "2026-12-01T09:30:00.0000000Z",
    )


async def test_unauthenticated_requests(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    forged = SandboxTokens(b"not-the-sandbox-secret-but-long-enough").issue(MEGAN)
    cases = {
        "missing": None,
        "garbage": "garbage",
        "forged": forged,
        "expired": sandbox.token(lifetime_s=-1),
    }
    for name, token in cases.items():
        answer = await post(
            http_session, me(sandbox), token=token, headers={"client-request-id": f"crid-{name}"}
        )
        assert answer.status == 401, name
        assert answer.code == "InvalidAuthenticationToken"
        assert "Bearer" in answer.headers["WWW-Authenticate"]
        inner = answer.body["error"]["innerError"]
        assert inner["request-id"] == answer.headers["request-id"]
        assert inner["client-request-id"] == answer.headers["client-request-id"] == f"crid-{name}"
    assert sandbox.storage.memory == {}


async def test_expired_token_message(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    answer = await post(http_session, me(sandbox), token=sandbox.token(lifetime_s=-1))
    assert "expired" in answer.body["error"]["message"]


async def test_missing_scope_is_forbidden(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    reader = SandboxIdentity(
        MEGAN.tenant_id, MEGAN.object_id, MEGAN.upn, MEGAN.display_name, frozenset({"User.Read"})
    )
    answer = await post(http_session, me(sandbox), token=sandbox.tokens.issue(reader))
    assert (answer.status, answer.code) == (403, "Forbidden")


BAD_BODIES: dict[str, tuple[str, Any]] = {
    "missing externalId": ("v1.0", {"subject": "x"}),
    "empty externalId": ("v1.0", {"externalId": " "}),
    "not an object": ("v1.0", [BODY]),
    "chatInfo on v1.0": ("v1.0", {**BODY, "chatInfo": {"threadId": "19:a@thread.tacv2"}}),
    "group chat thread on beta": ("beta", {**BODY, "chatInfo": {"threadId": "19:a@thread.v2"}}),
    "unknown property": ("v1.0", {**BODY, "colour": "blue"}),
    "end without start": ("v1.0", {"externalId": "x", "endDateTime": "2026-11-24T20:00:00Z"}),
    "end before start": ("v1.0", {**BODY, "endDateTime": "2026-11-24T19:00:00Z"}),
    "end equals start": ("v1.0", {**BODY, "endDateTime": BODY["startDateTime"]}),
    "naive start": ("v1.0", {**BODY, "startDateTime": "2026-11-24T20:00:00"}),
    "not a time": ("v1.0", {**BODY, "startDateTime": "tomorrow"}),
    "bad role": ("v1.0", {**BODY, "participants": {"attendees": [{"upn": "a@b.c", "role": "x"}]}}),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
async def test_bad_requests(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession, case: str
) -> None:
    version, body = BAD_BODIES[case]
    answer = await post(http_session, me(sandbox, version), body, token=sandbox.token())
    assert (answer.status, answer.code) == (400, "BadRequest")
    assert answer.headers["request-id"]
    assert sandbox.storage.memory == {}


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"", "application/json"),
        (b'{"externalId":"x"}', "text/plain"),
    ],
)
async def test_unreadable_payloads(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession, raw: bytes, content_type: str
) -> None:
    answer = await post(
        http_session,
        me(sandbox),
        token=sandbox.token(),
        raw=raw,
        headers={"Content-Type": content_type},
    )
    assert (answer.status, answer.code) == (400, "BadRequest")
    assert "Unable to read JSON request payload" in answer.body["error"]["message"]


async def test_attendee_without_upn_fails_like_graph(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    body = {**BODY, "participants": {"attendees": [{"identity": {"user": {"id": ALEX.object_id}}}]}}
    answer = await post(http_session, me(sandbox), body, token=sandbox.token())
    assert (answer.status, answer.code) == (500, "InternalServerError")


async def test_beta_attaches_a_channel_thread(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    thread = "19:3f2a0b7c9d8e4f1a@thread.tacv2"
    answer = await post(
        http_session,
        me(sandbox, "beta"),
        {**BODY, "chatInfo": {"threadId": thread}},
        token=sandbox.token(),
    )
    assert answer.status == 201
    assert answer.body["chatInfo"]["threadId"] == thread
    assert answer.body["@odata.context"].startswith("https://graph.microsoft.com/beta/")


async def test_users_path(sandbox: SandboxHarness, http_session: aiohttp.ClientSession) -> None:
    own = await post(http_session, users(sandbox, MEGAN.object_id), token=sandbox.token())
    by_upn = await post(http_session, users(sandbox, MEGAN.upn), token=sandbox.token())
    other = await post(http_session, users(sandbox, ALEX.object_id), token=sandbox.token())
    admin = SandboxIdentity(
        MEGAN.tenant_id,
        MEGAN.object_id,
        MEGAN.upn,
        MEGAN.display_name,
        frozenset({"OnlineMeetings.ReadWrite.All"}),
    )
    on_behalf = await post(
        http_session, users(sandbox, ALEX.object_id), token=sandbox.tokens.issue(admin)
    )

    assert own.status == 201
    assert (by_upn.status, by_upn.code) == (404, "NotFound")
    assert (other.status, other.code) == (403, "Forbidden")
    assert on_behalf.status == 201
    assert on_behalf.body["participants"]["organizer"]["identity"]["user"]["id"] == ALEX.object_id
    # The same externalId under /me and /users/{own id} is the same meeting.
    again = await post(http_session, me(sandbox), token=sandbox.token())
    assert (again.status, again.body["id"]) == (200, own.body["id"])


async def test_unknown_routes_and_methods_answer_like_graph(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    async with http_session.get(me(sandbox)) as wrong_method:
        assert wrong_method.status == 405
        assert (await wrong_method.json(content_type=None))["error"]["code"] == "BadRequest"
        assert wrong_method.headers["request-id"]
    unknown = await post(
        http_session,
        f"{sandbox.base_url('v2.0')}/me/onlineMeetings/createOrGet",
        token=sandbox.token(),
    )
    assert (unknown.status, unknown.code) == (400, "BadRequest")
    assert unknown.headers["request-id"]


async def test_audio_conferencing_is_null_without_a_licence(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    answer = await post(http_session, me(sandbox), token=sandbox.token(ADELE))
    assert answer.status == 201
    assert answer.body["audioConferencing"] is None


async def test_received_requests_are_recorded_without_the_token(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    token = sandbox.token()
    await post(http_session, me(sandbox), token=token, headers={"client-request-id": "c-1"})

    [seen] = sandbox.received()
    assert seen.json == BODY
    assert seen.headers["client-request-id"] == "c-1"
    assert seen.authorization_scheme == "Bearer"
    assert token not in repr(seen)


# --- fault injection ---------------------------------------------------------------------------


async def test_fault_throttle_with_fractional_retry_after(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    sandbox.faults.throttle("2.128")
    throttled = await post(http_session, me(sandbox), token=sandbox.token())
    after = await post(http_session, me(sandbox), token=sandbox.token())

    assert (throttled.status, throttled.code) == (429, "TooManyRequests")
    assert throttled.headers["Retry-After"] == "2.128"
    assert throttled.body["error"]["innerError"]["request-id"] == throttled.headers["request-id"]
    assert after.status == 201
    assert sandbox.faults.pending == 0


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (500, "InternalServerError"),
        (502, "BadGateway"),
        (503, "ServiceUnavailable"),
        (504, "GatewayTimeout"),
    ],
)
async def test_fault_server_errors(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession, status: int, code: str
) -> None:
    sandbox.faults.server_error(status, retry_after=1)
    answer = await post(http_session, me(sandbox), token=sandbox.token())
    assert (answer.status, answer.code) == (status, code)
    assert answer.headers["Retry-After"] == "1"
    assert sandbox.storage.memory == {}


async def test_fault_latency(sandbox: SandboxHarness, http_session: aiohttp.ClientSession) -> None:
    sandbox.faults.delay(0.3)
    started = time.monotonic()
    answer = await post(http_session, me(sandbox), token=sandbox.token())
    assert answer.status == 201
    # Real time: the fault is a real wait in the sandbox (no clock to inject), and it is what
    # makes a client's timeouts fire. Only a lower bound, which a loaded machine cannot break.
    assert time.monotonic() - started >= 0.3


async def test_fault_dropped_connection(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    sandbox.faults.drop_connection()
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await post(http_session, me(sandbox), token=sandbox.token())
    assert sandbox.storage.memory == {}
    assert (await post(http_session, me(sandbox), token=sandbox.token())).status == 201


async def test_fault_after_processing_means_the_retry_finds_the_meeting(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    sandbox.faults.drop_connection(after_processing=True)
    sandbox.faults.server_error(504, after_processing=True)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await post(http_session, me(sandbox), token=sandbox.token())
    gateway = await post(http_session, me(sandbox), token=sandbox.token())
    found = await post(http_session, me(sandbox), token=sandbox.token())

    assert (gateway.status, gateway.code) == (504, "GatewayTimeout")
    assert found.status == 200


async def test_faults_are_per_route(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    sandbox.faults.throttle(1, route="users")
    on_me = await post(http_session, me(sandbox), token=sandbox.token())
    on_users = await post(http_session, users(sandbox, MEGAN.object_id), token=sandbox.token())
    assert (on_me.status, on_users.status) == (201, 429)


def test_fault_injector_checks_its_arguments() -> None:
    faults = FaultInjector()
    with pytest.raises(ValueError, match="route"):
        faults.throttle(1, route="calendar")
    with pytest.raises(ValueError, match="5xx"):
        faults.server_error(404)


async def test_without_an_injector_no_fault_is_reachable(
    aiohttp_server: ServerFactory, http_session: aiohttp.ClientSession
) -> None:
    tokens = SandboxTokens(SECRET)
    server: TestServer = await aiohttp_server(create_graph_sandbox(MemoryStorage(), tokens))
    for path in ("/faults", "/v1.0/faults", "/_faults/throttle"):
        async with http_session.post(server.make_url(path), json={"status": 429}) as response:
            assert response.status == 400
    answer = await post(
        http_session,
        str(server.make_url("/v1.0/me/onlineMeetings/createOrGet")),
        token=tokens.issue(MEGAN),
    )
    assert answer.status == 201


async def test_oversized_body_answers_like_graph(
    sandbox: SandboxHarness, http_session: aiohttp.ClientSession
) -> None:
    big = json.dumps({**BODY, "subject": "x" * (2 * 1024 * 1024)}).encode()
    headers = {"Authorization": f"Bearer {sandbox.token()}", "Content-Type": "application/json"}
    async with http_session.post(me(sandbox), data=io.BytesIO(big), headers=headers) as response:
        assert response.status == 413
        assert response.headers["request-id"]
        assert "error" in await response.json(content_type=None)
