"""Exactly one meeting per request: redelivery, repeats, double clicks, a crash and a retry.

The wire tests mount the Graph sandbox on its own loopback server (GRAPH_BASE_URL) so that
it can be slowed down and its requests counted, also by a bot running in a subprocess.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.graph import CreateOrGetRequest, CreateOrGetResult, GraphTimeoutError, OnlineMeeting
from bot.graph.coalesce import Coalescer, CoalescingMeetingsApi
from bot.sandbox.graph import FaultInjector
from bot.teams.redelivery import RecentActivities, activity_key
from tests.conftest import FakeChannel, activity
from tests.flows import (
    FakeTokenService,
    GraphFake,
    free_port,
    join_url,
    meet,
    meeting_cards,
    running_bot,
    serve_graph,
    serve_token_service,
)

COMMAND = "meet Design review tomorrow at 3pm for 45 minutes"
USER = "29:user-1"
REPO = Path(__file__).resolve().parents[1]
TOMORROW = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
FORM = {"subject": "Design review", "date": TOMORROW, "startTime": "15:00", "durationMinutes": "45"}

MakeServer = Callable[..., Awaitable[TestServer]]


# -- Coalescer ------------------------------------------------------------------------------------


async def test_concurrent_callers_of_one_key_share_one_call() -> None:
    coalescer: Coalescer[str, int] = Coalescer()
    calls = 0
    release = asyncio.Event()

    async def call() -> int:
        nonlocal calls
        calls += 1
        await release.wait()
        return 42

    waiting = [asyncio.ensure_future(coalescer.run("k", call)) for _ in range(5)]
    await asyncio.sleep(0)
    assert len(coalescer) == 1
    release.set()
    results = await asyncio.gather(*waiting)
    assert calls == 1
    assert [joined for _, joined in results] == [False, True, True, True, True]
    assert {value for value, _ in results} == {42}
    assert len(coalescer) == 0


async def test_other_keys_and_later_calls_run_again() -> None:
    coalescer: Coalescer[str, str] = Coalescer()
    seen: list[str] = []

    async def call_for(key: str) -> str:
        seen.append(key)
        await asyncio.sleep(0)
        return key

    await asyncio.gather(
        coalescer.run("a", lambda: call_for("a")), coalescer.run("b", lambda: call_for("b"))
    )
    await coalescer.run("a", lambda: call_for("a"))
    assert seen == ["a", "b", "a"]


async def test_a_failure_reaches_every_caller_and_is_not_remembered() -> None:
    coalescer: Coalescer[str, int] = Coalescer()

    async def fail() -> int:
        await asyncio.sleep(0)
        raise RuntimeError("boom")

    results = await asyncio.gather(
        coalescer.run("k", fail), coalescer.run("k", fail), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    assert len(coalescer) == 0


async def test_a_caller_that_gives_up_does_not_cancel_the_call_for_others() -> None:
    coalescer: Coalescer[str, int] = Coalescer()
    release = asyncio.Event()

    async def call() -> int:
        await release.wait()
        return 7

    first = asyncio.ensure_future(coalescer.run("k", call))
    second = asyncio.ensure_future(coalescer.run("k", call))
    impatient = asyncio.ensure_future(coalescer.run("k", call, timeout_s=0.01))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(TimeoutError):
        await impatient
    release.set()
    # The first caller ran the call and was cancelled: the second ran it again.
    assert await second == (7, False)
    with pytest.raises(asyncio.CancelledError):
        await first
    assert len(coalescer) == 0


async def test_when_the_first_caller_is_cancelled_one_waiting_caller_runs_it_for_all() -> None:
    coalescer: Coalescer[str, int] = Coalescer()
    release = asyncio.Event()
    calls = 0

    async def call() -> int:
        nonlocal calls
        calls += 1
        await release.wait()
        return calls

    first = asyncio.ensure_future(coalescer.run("k", call))
    await asyncio.sleep(0)
    waiting = [asyncio.ensure_future(coalescer.run("k", call)) for _ in range(3)]
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0.01)
    release.set()
    results = await asyncio.gather(*waiting)
    assert calls == 2
    assert sorted(results) == [(2, False), (2, True), (2, True)]
    assert len(coalescer) == 0


async def test_a_waiting_caller_that_is_cancelled_stays_cancelled() -> None:
    coalescer: Coalescer[str, int] = Coalescer()
    release = asyncio.Event()

    async def call() -> int:
        await release.wait()
        return 1

    first = asyncio.ensure_future(coalescer.run("k", call))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(coalescer.run("k", call))
    await asyncio.sleep(0)
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    release.set()
    assert await first == (1, False)


# -- CoalescingMeetingsApi ----------------------------------------------------------------------

MEETING = OnlineMeeting.model_validate(
    {"id": "m-1", "joinWebUrl": "https://teams.microsoft.com/l/meetup-join/x"}
)


class SlowGraph:
    """An `OnlineMeetingsApi` that counts calls and answers after a delay."""

    def __init__(self, delay_s: float = 0.05) -> None:
        self.calls: list[tuple[str, str]] = []
        self.delay_s = delay_s

    async def create_or_get(
        self,
        token: str,
        request: CreateOrGetRequest,
        *,
        budget_s: float,
        user_object_id: str | None = None,
    ) -> CreateOrGetResult:
        self.calls.append((token, request.external_id))
        await asyncio.sleep(self.delay_s)
        return CreateOrGetResult(meeting=MEETING, created=True, request_id="r")


def graph_request(subject: str = "Design review") -> CreateOrGetRequest:
    start = datetime(2030, 1, 1, 15, tzinfo=UTC)
    return CreateOrGetRequest(
        external_id="e-1", subject=subject, start=start, end=start + timedelta(minutes=45)
    )


async def test_identical_meeting_calls_reach_graph_once_and_the_rest_see_it_existing() -> None:
    inner = SlowGraph()
    api = CoalescingMeetingsApi(inner)
    results = await asyncio.gather(
        *(api.create_or_get("token", graph_request(), budget_s=5) for _ in range(10))
    )
    assert len(inner.calls) == 1
    assert sorted(r.created for r in results) == [False] * 9 + [True]
    assert {r.meeting.join_web_url for r in results} == {MEETING.join_web_url}
    assert len(api) == 0


async def test_calls_of_other_users_or_details_are_not_shared() -> None:
    inner = SlowGraph()
    api = CoalescingMeetingsApi(inner)
    await asyncio.gather(
        api.create_or_get("token-a", graph_request(), budget_s=5),
        api.create_or_get("token-b", graph_request(), budget_s=5),
        api.create_or_get("token-a", graph_request("Other"), budget_s=5),
        api.create_or_get("token-a", graph_request(), budget_s=5, user_object_id="oid"),
    )
    assert len(inner.calls) == 4


async def test_a_joining_caller_keeps_to_its_own_budget() -> None:
    api = CoalescingMeetingsApi(SlowGraph(delay_s=0.5))
    first = asyncio.ensure_future(api.create_or_get("t", graph_request(), budget_s=5))
    await asyncio.sleep(0)
    with pytest.raises(GraphTimeoutError):
        await api.create_or_get("t", graph_request(), budget_s=0.05)
    assert (await first).created


# -- RecentActivities ---------------------------------------------------------------------------


def test_an_activity_is_new_once_within_its_lifetime_and_memory_is_bounded() -> None:
    now = [0.0]
    recent = RecentActivities(max_entries=3, ttl_s=10, clock=lambda: now[0])
    key = activity_key("msteams", "a:conversation-1", "activity-1")
    assert recent.first_time(key)
    assert not recent.first_time(key)
    now[0] = 11
    assert recent.first_time(key)
    for n in range(10):
        recent.first_time(activity_key("msteams", "c", f"id-{n}"))
    assert len(recent) == 3
    assert activity_key("msteams", "a", "1") != activity_key("msteams", "a\x1f1", "")


# -- over the wire --------------------------------------------------------------------------------


@pytest.fixture
def faults() -> FaultInjector:
    return FaultInjector()


@pytest.fixture
async def graph(aiohttp_server: MakeServer, faults: FaultInjector) -> GraphFake:
    return await serve_graph(aiohttp_server, GraphFake(faults))


@pytest.fixture
async def token_service(aiohttp_server: MakeServer, graph: GraphFake) -> FakeTokenService:
    fake = await serve_token_service(aiohttp_server)
    fake.tokens[USER] = graph.user_token()
    return fake


def card_titles(cards: list[dict[str, Any]]) -> list[str]:
    return sorted(card["body"][0]["text"] for card in cards)


async def test_one_activity_delivered_three_times_at_once_is_one_meeting_and_one_card(
    channel: FakeChannel, graph: GraphFake, token_service: FakeTokenService, faults: FaultInjector
) -> None:
    faults.delay(0.3)
    async with running_bot(OAUTH_URL=token_service.url, GRAPH_BASE_URL=graph.url) as bot:
        body = meet(channel, COMMAND)
        responses = await asyncio.gather(*(bot.send(body) for _ in range(3)))
        assert [r.status for r in responses] == [201, 201, 201]
        assert len(graph.external_ids()) == 1
        # The channel's redeliveries are dropped: the user sees one answer.
        assert card_titles(meeting_cards(channel)) == ["Meeting created"]


async def test_ten_identical_commands_at_once_make_one_meeting_with_one_graph_call(
    channel: FakeChannel, graph: GraphFake, token_service: FakeTokenService, faults: FaultInjector
) -> None:
    faults.delay(0.3)
    async with running_bot(OAUTH_URL=token_service.url, GRAPH_BASE_URL=graph.url) as bot:
        responses = await asyncio.gather(*(bot.send(meet(channel, COMMAND)) for _ in range(10)))
        assert {r.status for r in responses} == {201}
        assert len(graph.external_ids()) == 1
        cards = meeting_cards(channel)
        assert card_titles(cards) == ["Already scheduled"] * 9 + ["Meeting created"]
        assert len({join_url(card) for card in cards}) == 1
        # Coalesced in the bot: Graph is asked once, not ten times.
        assert graph.calls() == 1


def execute(channel: FakeChannel, data: dict[str, Any]) -> dict[str, Any]:
    return activity(
        channel.url,
        kind="invoke",
        text=None,
        name="adaptiveCard/action",
        value={"action": {"type": "Action.Execute", "verb": "createMeeting", "data": data}},
    )


async def test_a_double_clicked_form_makes_one_meeting(
    channel: FakeChannel, graph: GraphFake, token_service: FakeTokenService, faults: FaultInjector
) -> None:
    faults.delay(0.3)
    async with running_bot(OAUTH_URL=token_service.url, GRAPH_BASE_URL=graph.url) as bot:
        responses = await asyncio.gather(*(bot.send(execute(channel, FORM)) for _ in range(2)))
        assert [r.status for r in responses] == [200, 200]
        cards = [(await r.json())["value"] for r in responses]
        assert card_titles(cards) == ["Already scheduled", "Meeting created"]
        assert len({join_url(card) for card in cards}) == 1
        assert len(graph.external_ids()) == 1
        assert graph.calls() == 1


# -- a crash in the middle, and the retry -------------------------------------------------------


@contextmanager
def bot_process(env: dict[str, str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`meetbot run` in a child process (local mode, SQLite), logging to `log`."""
    environment = {k: v for k, v in os.environ.items() if not k.lower().startswith("microsoft")}
    environment.update(env, PORT=str(port), PYTHONPATH=str(REPO), LOG_LEVEL="INFO")
    with log.open("ab") as sink:
        child = subprocess.Popen(
            [sys.executable, "-c", "from bot.cli.main import run; run()"],
            cwd=log.parent,  # no .env here
            env=environment,
            stdout=sink,
            stderr=sink,
        )
    try:
        yield child
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(5)


async def wait_until_ready(session: aiohttp.ClientSession, url: str) -> None:
    for _ in range(300):
        try:
            async with session.get(f"{url}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("the bot did not become ready")


async def until(condition: Callable[[], bool], what: str, *, seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@asynccontextmanager
async def client_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


@asynccontextmanager
async def graph_server(graph: GraphFake, *, finishes_abandoned: bool) -> AsyncIterator[None]:
    """The Graph fake on loopback; optionally finishing requests whose client went away.

    aiohttp's test server cancels such a request's handler (Graph gave up before storing the
    meeting); a plain runner lets it run on (Graph stored it, only the answer was lost).
    """
    if not finishes_abandoned:
        server = TestServer(graph.app, host="127.0.0.1")
        await server.start_server()
        graph.url = str(server.make_url("/graph/v1.0")).rstrip("/")
        try:
            yield
        finally:
            await server.close()
        return
    runner = web.AppRunner(graph.app, handler_cancellation=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    graph.url = f"http://{host}:{port}/graph/v1.0"
    try:
        yield
    finally:
        await runner.cleanup()


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("finishes_abandoned", "retry_shows"),
    [(False, "Meeting created"), (True, "Already scheduled")],
    ids=["graph gave up", "graph created it"],
)
async def test_a_bot_killed_while_graph_is_slow_makes_one_meeting_when_retried(
    channel: FakeChannel,
    aiohttp_server: MakeServer,
    tmp_path: Path,
    finishes_abandoned: bool,
    retry_shows: str,
) -> None:
    faults = FaultInjector()
    faults.delay(1.0)
    graph = GraphFake(faults)
    token_service = await serve_token_service(aiohttp_server)
    token_service.tokens[USER] = graph.user_token()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    body = meet(channel, COMMAND)
    async with (
        graph_server(graph, finishes_abandoned=finishes_abandoned),
        client_session() as session,
    ):
        env = {
            "MicrosoftAppId": "",
            "STORAGE": "sqlite",
            "SQLITE_PATH": str(tmp_path / "state" / "meetbot.sqlite3"),
            "GRAPH_BASE_URL": graph.url,
            "OAUTH_URL": token_service.url,
        }
        with bot_process(env, port, tmp_path / "bot.log") as child:
            await wait_until_ready(session, url)
            request = asyncio.ensure_future(session.post(f"{url}/api/messages", json=body))
            await until(lambda: graph.calls() == 1, "the bot to call Graph")
            child.send_signal(signal.SIGKILL)
            with pytest.raises(aiohttp.ClientConnectionError):
                await request
        await asyncio.sleep(1.2)  # past the slow answer, which goes nowhere
        assert meeting_cards(channel) == []
        # The channel (or the person) sends the same activity again to the restarted bot.
        with bot_process(env, port, tmp_path / "bot.log"):
            await wait_until_ready(session, url)
            async with session.post(f"{url}/api/messages", json=body) as retried:
                assert retried.status == 201
    assert graph.calls() == 2
    assert len(graph.external_ids()) == 1
    cards = meeting_cards(channel)
    assert card_titles(cards) == [retry_shows]
    assert join_url(cards[0]).startswith("https://teams.microsoft.com/l/meetup-join/")
