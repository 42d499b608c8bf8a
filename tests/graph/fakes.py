"""Loopback stand-ins for Graph: a canned-answer server and the embedded sandbox, both recording."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from botbuilder.core import MemoryStorage

from bot.sandbox import (
    RECEIVED,
    FaultInjector,
    SandboxIdentity,
    SandboxTokens,
)

GRAPH_JSON = (
    "application/json;odata.metadata=minimal;odata.streaming=true;"
    "IEEE754Compatible=false;charset=utf-8"
)
SANDBOX_MOUNT = "/sandbox/graph"


@dataclass(frozen=True)
class Seen:
    """One request a fake Graph received; the bearer token itself is kept out of `headers`."""

    method: str
    path: str
    headers: Mapping[str, str]
    json: Any
    authorization_scheme: str | None
    at: float


@dataclass(frozen=True)
class Reply:
    """One canned answer. `body`: a dict (sent as JSON, innerError ids filled in) or raw bytes."""

    status: int = 201
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop: bool = False
    content_type: str = GRAPH_JSON
    send_ids: bool = True


class CannedGraph:
    """Replays queued answers in order (then `default`) and records what arrived, and when."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.default: Reply | None = None
        self.received: list[Seen] = []
        self.bearer_tokens: list[str | None] = []
        self.sent_request_ids: list[str] = []
        self._release = asyncio.Event()

    def queue(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def release(self) -> None:
        """End every pending delay (so teardown never waits on a 'hanging' answer)."""
        self._release.set()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        authorization = request.headers.get("Authorization")
        scheme, _, token = (authorization or "").partition(" ")
        self.bearer_tokens.append(token or None)
        self.received.append(
            Seen(
                method=request.method,
                path=request.path,
                headers={k: v for k, v in request.headers.items() if k.lower() != "authorization"},
                json=json.loads(raw) if raw else None,
                authorization_scheme=scheme or None,
                at=time.monotonic(),
            )
        )
        reply = self.replies.popleft() if self.replies else self.default
        if reply is None:
            return web.json_response({"error": {"code": "NoCannedReply"}}, status=418)
        if reply.delay_s:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), reply.delay_s)
        if reply.drop:
            if request.transport is not None:
                request.transport.close()
            return web.Response()
        request_id = str(uuid.uuid4())
        self.sent_request_ids.append(request_id)
        client_request_id = request.headers.get("client-request-id", request_id)
        if isinstance(reply.body, bytes):
            body = reply.body
        elif reply.body is None:
            body = b""
        else:
            document = copy.deepcopy(reply.body)
            error = document.get("error") if isinstance(document, dict) else None
            if isinstance(error, dict):
                for key in ("innerError", "innererror"):
                    if isinstance(error.get(key), dict):
                        error[key]["request-id"] = request_id
                        error[key]["client-request-id"] = client_request_id
            body = json.dumps(document).encode()
        headers = dict(reply.headers)
        headers["Content-Type"] = reply.content_type
        if reply.send_ids:
            headers["request-id"] = request_id
            headers["client-request-id"] = client_request_id
        return web.Response(status=reply.status, body=body, headers=headers)


TENANT_ID = "9f4e1c7a-2b5d-4e3f-8a6b-1c2d3e4f5a6b"
MEGAN = SandboxIdentity(
    tenant_id=TENANT_ID,
    object_id="5f0e6c6b-7d1c-4b8e-9f0a-2b3c4d5e6f70",
    upn="megan@contoso.com",
    display_name="Megan Bowen",
    scopes=frozenset({"OnlineMeetings.ReadWrite", "User.Read"}),
)
ALEX = SandboxIdentity(
    tenant_id=TENANT_ID,
    object_id="1f35b6a4-0c2d-4e8f-8a9b-0c1d2e3f4a5b",
    upn="alex@contoso.com",
    display_name="Alex Wilber",
    scopes=frozenset({"OnlineMeetings.ReadWrite"}),
)
# Organizer without an audio-conferencing licence (the sandbox is told so).
ADELE = SandboxIdentity(
    tenant_id=TENANT_ID,
    object_id="7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
    upn="adele@contoso.com",
    display_name="Adele Vance",
    scopes=frozenset({"OnlineMeetings.ReadWrite"}),
)
SECRET = b"sandbox-test-secret-0123456789abcdef"


@dataclass
class SandboxHarness:
    """The sandbox mounted where the bot mounts it, served on loopback."""

    server: TestServer
    sandbox: web.Application
    storage: MemoryStorage
    tokens: SandboxTokens
    faults: FaultInjector

    def base_url(self, version: str = "v1.0") -> str:
        return str(self.server.make_url(f"{SANDBOX_MOUNT}/{version}"))

    def token(self, identity: SandboxIdentity = MEGAN, lifetime_s: int = 3600) -> str:
        return self.tokens.issue(identity, lifetime_s)

    def received(self) -> list[Seen]:
        return [
            Seen(r.method, r.path, r.headers, r.json, r.authorization_scheme, r.received_at)
            for r in self.sandbox[RECEIVED]
        ]
