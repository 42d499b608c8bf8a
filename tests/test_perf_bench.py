"""The benchmark's workloads, fakes and reply checks, against MeetBot and the bare turn."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bench import bare_turn, fake_channel, store_turn
from bench.cpu import CpuMeter
from bench.fake_services import FakeGraph, FakeTokenService
from bench.loadgen import LoadResult, Sent
from bench.report import Fakes, verify
from bench.run import FIRST_ACTIVITY_ID
from bench.targets import (
    TARGETS,
    TENANT_ID,
    Turn,
    corpus_command,
    corpus_texts,
    digit_subject,
    form_submit,
    meet_command,
)
from bot.core.form import ValidForm, validate_form
from bot.core.parse import ParsedMeeting, parse_meeting
from bot.storage import Records
from bot.storage.sqlite import SqliteStorage
from tests.flows import running_bot

NOW = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
CHANNEL = web.AppKey("channel", fake_channel.FakeChannel)
TOKENS = web.AppKey("tokens", FakeTokenService)
GRAPH = web.AppKey("graph", FakeGraph)


@pytest.mark.parametrize("first", [0, 1, 19, 20, 399, FIRST_ACTIVITY_ID, 10**15])
def test_the_typed_command_keeps_its_digits_in_the_subject(first: int) -> None:
    for number in range(first, first + 300):
        text = meet_command(digit_subject)(Turn("c", 0, str(number), "u"))["text"]
        parsed = parse_meeting(text.removeprefix("meet "), now=NOW, zone=ZoneInfo("UTC"))
        assert isinstance(parsed, ParsedMeeting), text
        assert parsed.subject == digit_subject(str(number))
        assert (parsed.start.hour, parsed.end.hour, parsed.end.minute) == (10, 10, 30)


def test_the_corpus_workload_sends_every_command_of_the_corpus() -> None:
    texts = corpus_texts()
    sent = {
        corpus_command(Turn("c", 0, str(n), "u"))["text"]
        for n in range(FIRST_ACTIVITY_ID, FIRST_ACTIVITY_ID + len(texts))
    }
    assert sent == {f"meet {text}" for text in texts}
    assert len(texts) >= 150


def test_the_form_submission_is_valid() -> None:
    value = form_submit(Turn("c", 0, "17", "u"))["value"]
    assert isinstance(validate_form(value, now=datetime.now(UTC), zone=ZoneInfo("UTC")), ValidForm)


class BenchFakes:
    """The harness's fakes on loopback, as `bench.run` serves them."""

    def __init__(self, channel_server: TestServer, services_server: TestServer) -> None:
        self.channel_server = channel_server
        self.services_server = services_server

    @property
    def channel(self) -> fake_channel.FakeChannel:
        return self.channel_server.app[CHANNEL]

    @property
    def tokens(self) -> FakeTokenService:
        return self.services_server.app[TOKENS]

    @property
    def graph(self) -> FakeGraph:
        return self.services_server.app[GRAPH]

    def url(self, server: TestServer) -> str:
        return str(server.make_url("")).rstrip("/")

    def turn(self, activity_id: int, user: int = 0) -> Turn:
        return Turn(f"a:bench-{user}", user, str(activity_id), self.url(self.channel_server))

    def result(self, *activity_ids: int) -> LoadResult:
        return LoadResult(sent=[Sent(f"a:bench-{0}", str(i), 0.0, 0.0) for i in activity_ids])


@pytest.fixture
async def fakes(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> BenchFakes:
    channel = fake_channel.FakeChannel()
    channel_app = fake_channel.create_app(channel)
    channel_app[CHANNEL] = channel
    tokens = FakeTokenService(TENANT_ID)
    graph = FakeGraph(tokens, TENANT_ID)
    services = web.Application()
    services.add_routes(tokens.routes() + graph.routes())
    services[TOKENS], services[GRAPH] = tokens, graph
    return BenchFakes(await aiohttp_server(channel_app), await aiohttp_server(services))


async def post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> int:
    async with session.post(url, json=body) as response:
        await response.read()
        return response.status


async def test_meetbot_passes_verification_against_the_bench_fakes(fakes: BenchFakes) -> None:
    env = {
        "OAUTH_URL": fakes.url(fakes.services_server),
        "GRAPH_BASE_URL": fakes.url(fakes.services_server) + "/v1.0",
    }
    async with running_bot(**env) as bot:
        for number, workload in ((101, "meetbot-meet"), (102, "meetbot-form")):
            target = TARGETS[workload]
            status = await post(
                bot.session, f"{bot.url}/api/messages", target.workload.build(fakes.turn(number))
            )
            assert status == 201
            check = verify(Fakes(fakes.channel, fakes.graph), fakes.result(number), target.workload)
            assert check.ok, check
            fakes.channel.replies.clear()
    assert sum(fakes.tokens.lookups.values()) == 1  # the user's token is kept
    assert fakes.graph.calls == 2


async def test_the_bare_turn_passes_the_same_verification(
    fakes: BenchFakes,
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OAUTH_URL", fakes.url(fakes.services_server))
    monkeypatch.setenv("GRAPH_BASE_URL", fakes.url(fakes.services_server) + "/v1.0")
    client = await aiohttp_client(bare_turn.create_app())
    workload = TARGETS["bare-meet"].workload
    for number in (201, 202):
        response = await client.post("/api/messages", json=workload.build(fakes.turn(number)))
        assert response.status == 201
    check = verify(Fakes(fakes.channel, fakes.graph), fakes.result(201, 202), workload)
    assert check.ok, check
    assert sum(fakes.tokens.lookups.values()) == 2  # the bare turn looks the token up each time


async def test_verification_catches_a_second_reply_and_a_missing_meeting(
    fakes: BenchFakes,
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OAUTH_URL", fakes.url(fakes.services_server))
    monkeypatch.setenv("GRAPH_BASE_URL", fakes.url(fakes.services_server) + "/v1.0")
    client = await aiohttp_client(bare_turn.create_app())
    workload = TARGETS["bare-meet"].workload
    body = workload.build(fakes.turn(301))
    await client.post("/api/messages", json=body)
    await client.post("/api/messages", json=body)  # the same meeting again: 200, a second PUT
    check = verify(Fakes(fakes.channel, fakes.graph), fakes.result(301), workload)
    assert not check.ok
    assert check.received == 2
    missing = verify(Fakes(fakes.channel, fakes.graph), fakes.result(302), workload)
    assert missing.meetings_not_created_once == 1


async def test_the_graph_fake_refuses_tokens_it_did_not_issue(fakes: BenchFakes) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            fakes.url(fakes.services_server) + "/v1.0/me/onlineMeetings/createOrGet",
            json={"externalId": "x"},
            headers={"Authorization": "Bearer forged"},
        ) as response,
    ):
        assert response.status == 401
    assert fakes.graph.refused == 1


async def test_the_store_turn_leaves_the_records_of_form_turns(tmp_path: Path) -> None:
    async with SqliteStorage(tmp_path / "store.sqlite3") as store:
        records = Records(store, namespace="meetbot")
        await store_turn.conversation(records, "c1", store_turn.graph_meeting(), 3)

        ledger, _ = await records.get("ledger/c1")
        assert ledger is not None
        assert len(ledger["meetings"]) == 3
        assert len(await records.keys("reminders-due/")) == 3
        markers = [(await records.get(key))[0] for key in await records.keys("delivery/")]
        assert [marker and marker["answered"] for marker in markers] == [True] * 3
    assert await store_turn.measure("memory", conversations=2, turns=2, directory=tmp_path) > 0


def test_a_process_that_renames_itself_counts_only_the_cpu_it_used_meanwhile() -> None:
    # Kernel workers rename themselves with the work they do; their whole past CPU once
    # showed as "other processes" competing with the benchmark.
    script = (
        "import sys, time\n"
        "end = time.process_time() + 0.5\n"
        "while time.process_time() < end: pass\n"
        "print('busy', flush=True); sys.stdin.readline()\n"
        "open('/proc/self/comm', 'w').write('renamed')\n"
        "print('renamed', flush=True); sys.stdin.readline()\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdin is not None
    assert child.stdout is not None
    try:
        assert child.stdout.readline().strip() == "busy"
        meter = CpuMeter(bot_pgid=-1)
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "renamed"
        usage = meter.stop()
    finally:
        child.stdin.write("\n")
        child.stdin.close()
        child.wait(timeout=10)
        child.stdout.close()
    assert usage.other_s < 0.4
