"""Fixtures: a shared client session, the canned Graph, the sandbox, both as contract backends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from botbuilder.core import MemoryStorage

from bot.graph import RetryPolicy
from bot.sandbox import FaultInjector, SandboxIdentity, SandboxTokens, create_graph_sandbox

from . import canned
from .fakes import ADELE, MEGAN, SANDBOX_MOUNT, SECRET, CannedGraph, Reply, SandboxHarness, Seen

ServerFactory = Callable[..., Awaitable[TestServer]]

# Retries in tests: short waits, same logic.
FAST_RETRY = RetryPolicy(base_delay_s=0.01, max_delay_s=0.05)


@pytest.fixture
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    """Stands for the app's one shared session."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def canned_graph(aiohttp_server: ServerFactory) -> AsyncIterator[tuple[CannedGraph, str]]:
    """The canned Graph and its root URL."""
    fake = CannedGraph()
    server = await aiohttp_server(fake.app())
    yield fake, str(server.make_url("")).rstrip("/")
    fake.release()


def build_sandbox_app(
    storage: MemoryStorage, tokens: SandboxTokens, faults: FaultInjector | None
) -> tuple[web.Application, web.Application]:
    sandbox = create_graph_sandbox(
        storage, tokens, faults=faults, no_audio_conferencing=[ADELE.object_id]
    )
    parent = web.Application()
    parent.add_subapp(SANDBOX_MOUNT, sandbox)
    return parent, sandbox


@pytest.fixture
async def sandbox(aiohttp_server: ServerFactory) -> SandboxHarness:
    storage = MemoryStorage()
    tokens = SandboxTokens(SECRET)
    faults = FaultInjector()
    parent, sandbox_app = build_sandbox_app(storage, tokens, faults)
    server = await aiohttp_server(parent)
    return SandboxHarness(server, sandbox_app, storage, tokens, faults)


class Backend(Protocol):
    """A Graph to run the contract suite against; `will_*` prepare the next answer(s)."""

    name: str

    def base_url(self, version: str = "v1.0") -> str: ...
    def token(self) -> str: ...
    def organizer_id(self) -> str: ...
    def received(self) -> list[Seen]: ...
    def will_succeed(self, *, created: bool) -> None: ...
    def expired_token(self) -> str: ...
    def token_without_scope(self) -> str: ...
    def token_without_audio_licence(self) -> str: ...
    def will_reject_body(self) -> None: ...
    def will_not_find_user(self) -> None: ...
    def will_fail(self, status: int, *, retry_after: str | None = None, times: int = 1) -> None: ...
    def will_drop(self, times: int = 1) -> None: ...


class SandboxBackend:
    """Failures come from real conditions (bad tokens, bad bodies) or the fault injector."""

    name = "sandbox"

    def __init__(self, harness: SandboxHarness) -> None:
        self.harness = harness

    def base_url(self, version: str = "v1.0") -> str:
        return self.harness.base_url(version)

    def token(self) -> str:
        return self.harness.token()

    def organizer_id(self) -> str:
        return MEGAN.object_id

    def received(self) -> list[Seen]:
        return self.harness.received()

    def will_succeed(self, *, created: bool) -> None:
        pass

    def expired_token(self) -> str:
        return self.harness.token(lifetime_s=-60)

    def token_without_scope(self) -> str:
        return self.harness.tokens.issue(
            SandboxIdentity(
                MEGAN.tenant_id,
                MEGAN.object_id,
                MEGAN.upn,
                MEGAN.display_name,
                frozenset({"User.Read"}),
            )
        )

    def token_without_audio_licence(self) -> str:
        return self.harness.token(ADELE)

    def will_reject_body(self) -> None:
        pass

    def will_not_find_user(self) -> None:
        pass

    def will_fail(self, status: int, *, retry_after: str | None = None, times: int = 1) -> None:
        if status == 429:
            self.harness.faults.throttle(retry_after, times=times)
        else:
            self.harness.faults.server_error(status, retry_after=retry_after, times=times)

    def will_drop(self, times: int = 1) -> None:
        self.harness.faults.drop_connection(times=times)


class CannedBackend:
    """Every answer is a queued real-shaped body; the request decides nothing."""

    name = "canned"

    def __init__(self, fake: CannedGraph, root: str) -> None:
        self.fake = fake
        self.root = root

    def base_url(self, version: str = "v1.0") -> str:
        return f"{self.root}/{version}"

    def token(self) -> str:
        return "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.canned-valid-token.c2lnbmF0dXJl"

    def organizer_id(self) -> str:
        return canned.ORGANIZER_ID

    def received(self) -> list[Seen]:
        return self.fake.received

    def will_succeed(self, *, created: bool) -> None:
        self.fake.queue(Reply(201 if created else 200, canned.MEETING))

    def _error(self, status: int, headers: dict[str, str] | None = None) -> Reply:
        if status == 502:
            return Reply(502, canned.BAD_GATEWAY_HTML, content_type="text/html", send_ids=False)
        return Reply(status, canned.ERRORS[status], headers or {})

    def expired_token(self) -> str:
        self.fake.queue(self._error(401))
        return "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.canned-expired-token.c2lnbmF0dXJl"

    def token_without_scope(self) -> str:
        self.fake.queue(self._error(403))
        return self.token()

    def token_without_audio_licence(self) -> str:
        self.fake.queue(Reply(201, canned.NO_AUDIO_LICENCE))
        return self.token()

    def will_reject_body(self) -> None:
        self.fake.queue(self._error(400))

    def will_not_find_user(self) -> None:
        self.fake.queue(self._error(404))

    def will_fail(self, status: int, *, retry_after: str | None = None, times: int = 1) -> None:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        for _ in range(times):
            self.fake.queue(self._error(status, headers))

    def will_drop(self, times: int = 1) -> None:
        for _ in range(times):
            self.fake.queue(Reply(drop=True))


@pytest.fixture(params=["sandbox", "canned"])
def backend(
    request: pytest.FixtureRequest,
    sandbox: SandboxHarness,
    canned_graph: tuple[CannedGraph, str],
) -> Backend:
    if request.param == "sandbox":
        return SandboxBackend(sandbox)
    return CannedBackend(*canned_graph)
