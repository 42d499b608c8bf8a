"""Reminders at the wire, with an injected clock: the fake channel gets each one once, on time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.core.ports import JsonObject, Message
from bot.core.reminders import take_reminder
from bot.settings import Settings
from bot.storage import Records
from bot.storage.sqlite import SqliteStorage
from bot.teams.adapter import MeetBotAdapter
from bot.teams.channel import ChannelClient
from bot.teams.turns import ProactiveConversations
from bot.usecases.reminders import Reminders, bucket_prefix
from tests.conftest import FakeChannel
from tests.flows import FakeTokenService, meet, meeting_cards, running_bot, sandbox_token

START = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
DUE = (START - timedelta(minutes=10)).timestamp()
MADE = (START - timedelta(hours=2)).timestamp()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def address(
    channel: FakeChannel, conversation: str = "a:conversation-1", **more: Any
) -> JsonObject:
    return {
        "channelId": "msteams",
        "serviceUrl": channel.url,
        "conversation": {"id": conversation, "conversationType": "personal", **more},
        "bot": {"id": "28:meetbot", "name": "MeetBot"},
        "user": {"id": "29:user-1", "name": "Megan Bowen"},
        "locale": "en-US",
    }


@dataclass
class Process:
    """One bot process's reminders: its own clock, adapter and store connection."""

    reminders: Reminders
    clock: Clock


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


@pytest.fixture
async def store_path(tmp_path: Path) -> Path:
    return tmp_path / "reminders.sqlite3"


@pytest.fixture
async def start(
    session: aiohttp.ClientSession, store_path: Path
) -> AsyncIterator[Callable[..., Process]]:
    """Starts a 'process' on the shared SQLite file: what app.py wires, with a fake clock."""
    stores: list[SqliteStorage] = []
    settings = Settings(_env_file=None, MicrosoftAppId="")  # type: ignore[call-arg]

    def started(now: float = MADE, sender: Any = None, **options: Any) -> Process:
        store = SqliteStorage(store_path)
        stores.append(store)
        clock = Clock(now)
        adapter = MeetBotAdapter(settings, session, ChannelClient(session))
        reminders = Reminders(
            Records(store, namespace="meetbot"),
            sender or ProactiveConversations(adapter),
            default_minutes=10,
            clock=clock,
            **options,
        )
        return Process(reminders, clock)

    yield started
    for store in stores:
        await store.close()


def reminders_at(channel: FakeChannel) -> list[dict[str, Any]]:
    return [
        card
        for card in channel.cards()
        if card["body"] and card["body"][0].get("text") == "Meeting reminder"
    ]


async def schedule(
    process: Process, channel: FakeChannel, key: str = "meeting-1", **more: Any
) -> Any:
    values: dict[str, Any] = {
        "subject": "Design review",
        "join_url": "https://teams.example/join/1",
        "start": START,
        "end": START + timedelta(minutes=45),
        "minutes": None,
    }
    values.update(more)
    where = values.pop("address", None) or address(channel)
    return await process.reminders.schedule(key, where, **values)


async def test_a_reminder_arrives_at_the_channel_when_due_and_only_then(
    start: Callable[..., Process], channel: FakeChannel
) -> None:
    bot = start()
    reminder = await schedule(bot, channel)
    assert reminder is not None
    assert reminder.due.timestamp() == DUE

    bot.clock.now = DUE - 1
    wait = await bot.reminders.tick()
    assert reminders_at(channel) == []
    assert 0 < wait <= 1  # it sleeps until the reminder is due, not a poll later

    bot.clock.now = DUE
    await bot.reminders.tick()
    (card,) = reminders_at(channel)
    assert card["body"][1]["text"] == "Design review"
    assert card["body"][2]["text"] == "Starts in 10 minutes (at {{TIME(2026-11-24T15:00:00Z)}})"
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Join", "url": "https://teams.example/join/1"}
    ]
    # A new message in the conversation (not a reply to any activity), from the bot to it.
    (posted,) = [r for r in channel.received if r.method == "POST"]
    assert posted.path == "/v3/conversations/a:conversation-1/activities"
    assert posted.body is not None
    assert posted.body["from"]["id"] == "28:meetbot"
    assert posted.body["conversation"]["id"] == "a:conversation-1"
    assert "replyToId" not in posted.body

    bot.clock.now = DUE + 120
    await bot.reminders.tick()
    assert len(reminders_at(channel)) == 1
    (stored,) = (await bot.reminders.of(["meeting-1"])).values()
    assert stored.state == "sent"


@pytest.mark.parametrize(
    ("conversation", "kind", "path"),
    [
        ("19:group@thread.v2", "groupChat", "/v3/conversations/19:group@thread.v2/activities"),
        (
            "19:general@thread.tacv2;messageid=1700000000000",
            "channel",
            "/v3/conversations/19:general@thread.tacv2;messageid=1700000000000/activities",
        ),
    ],
)
async def test_group_chats_and_channel_threads_get_theirs_where_the_meeting_was_made(
    start: Callable[..., Process], channel: FakeChannel, conversation: str, kind: str, path: str
) -> None:
    bot = start()
    where = address(channel, conversation)
    where["conversation"]["conversationType"] = kind
    await schedule(bot, channel, address=where)
    bot.clock.now = DUE
    await bot.reminders.tick()
    (posted,) = [r for r in channel.received if r.method == "POST"]
    assert posted.path == path


async def test_no_reminder_when_made_less_than_the_lead_time_ahead_or_asked_for_none(
    start: Callable[..., Process], channel: FakeChannel
) -> None:
    bot = start(now=DUE + 60)
    assert await schedule(bot, channel, key="late") is None
    assert await schedule(bot, channel, key="none", minutes=0) is None
    bot.clock.now = START.timestamp() - 1
    await bot.reminders.tick()
    assert reminders_at(channel) == []


async def test_a_reminder_due_while_no_process_ran_is_sent_after_a_restart(
    start: Callable[..., Process], channel: FakeChannel
) -> None:
    first = start()
    await schedule(first, channel, key="running")
    await schedule(first, channel, key="ended", end=START + timedelta(minutes=5))
    # The first process stops before either is due; the next one starts while the first
    # meeting is still on (10 minutes late) and after the second has ended.
    second = start(now=START.timestamp() + 6 * 60)
    await second.reminders.tick()
    (card,) = reminders_at(channel)
    assert card["body"][2]["text"].startswith("Started 6 minutes ago")
    states = {k: r.state for k, r in (await second.reminders.of(["running", "ended"])).items()}
    assert states == {"running": "sent", "ended": "ended"}


async def test_two_processes_on_one_sqlite_file_send_it_once(
    start: Callable[..., Process], channel: FakeChannel
) -> None:
    a, b = start(), start()
    await schedule(a, channel)
    await b.reminders.tick()  # b learns of it from the index
    a.clock.now = b.clock.now = DUE
    await asyncio.gather(a.reminders.tick(), b.reminders.tick())
    a.clock.now = b.clock.now = DUE + 3600
    await asyncio.gather(a.reminders.tick(), b.reminders.tick())
    assert len(reminders_at(channel)) == 1


class Stalls:
    """A sender that never finishes: its process dies mid-send."""

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def send(self, address: JsonObject, message: Message) -> None:
        self.started.set()
        await asyncio.Event().wait()


async def test_a_sender_that_dies_mid_send_loses_nothing_after_its_lease(
    start: Callable[..., Process], channel: FakeChannel
) -> None:
    stalls = Stalls()
    dying = start(sender=stalls, lease_s=60)
    other = start(lease_s=60)
    await schedule(dying, channel)
    await other.reminders.tick()
    dying.clock.now = other.clock.now = DUE
    sending = asyncio.create_task(dying.reminders.tick())
    await stalls.started.wait()
    sending.cancel()  # the process is gone, its claim stays in the store

    await other.reminders.tick()
    assert reminders_at(channel) == []  # the claim is live: nobody else sends
    other.clock.now = DUE + 59
    await other.reminders.tick()
    assert reminders_at(channel) == []
    other.clock.now = DUE + 60
    await other.reminders.tick()
    assert len(reminders_at(channel)) == 1


async def test_a_cancelled_meeting_is_not_reminded_and_a_moved_one_at_its_new_time(
    start: Callable[..., Process], channel: FakeChannel, store_path: Path
) -> None:
    bot, other = start(), start()
    await schedule(bot, channel, key="cancelled")
    await schedule(bot, channel, key="moved")
    await other.reminders.tick()
    # What issue 19's cancel and reschedule call:
    assert await bot.reminders.drop("cancelled") is True
    later = START + timedelta(hours=1)
    moved = await bot.reminders.move("moved", later, later + timedelta(minutes=45))
    assert moved is not None
    assert moved.due == later - timedelta(minutes=10)

    for process in (bot, other):
        process.clock.now = DUE
        await process.reminders.tick()
    assert reminders_at(channel) == []
    for process in (bot, other):
        process.clock.now = moved.due.timestamp()
        await process.reminders.tick()
    (card,) = reminders_at(channel)
    assert card["body"][2]["text"].startswith("Starts in 10 minutes (at {{TIME(2026-11-24T16:00")
    # The index no longer names the cancelled meeting; dropping twice is harmless.
    store = SqliteStorage(store_path)
    records = Records(store, namespace="meetbot")
    index = await records.keys(bucket_prefix(int(DUE // 3600)))
    await store.close()
    assert not any(key.endswith("/cancelled") for key in index)
    assert await bot.reminders.drop("cancelled") is False
    assert await bot.reminders.drop("unknown") is False


async def test_a_conversation_the_bot_was_removed_from_drops_its_reminders_once(
    start: Callable[..., Process], channel: FakeChannel, caplog: pytest.LogCaptureFixture
) -> None:
    bot = start()
    await schedule(bot, channel, key="first")
    await schedule(bot, channel, key="second", start=START + timedelta(minutes=5))
    channel.fail_with = [403]
    bot.clock.now = DUE + 5 * 60
    with caplog.at_level(logging.INFO, logger="bot.usecases.reminders"):
        await bot.reminders.tick()
        bot.clock.now += 3600
        await bot.reminders.tick()
    # One request (403 is not retried), and the other reminder there is dropped unsent.
    assert len([r for r in channel.received if r.method == "POST"]) == 1
    states = {k: r.state for k, r in (await bot.reminders.of(["first", "second"])).items()}
    assert states == {"first": "gone", "second": "gone"}
    assert "the bot was removed from the conversation" in caplog.text
    assert "Traceback" not in caplog.text


async def test_a_meeting_asked_for_after_the_bot_was_removed_is_reminded(
    start: Callable[..., Process], channel: FakeChannel
) -> None:
    # Removed: the first send is refused and the marker left; a reminder asked for before
    # then is dropped.
    bot = start()
    await schedule(bot, channel, key="before")
    await schedule(bot, channel, key="unsent", start=START + timedelta(minutes=5))
    channel.fail_with = [403]
    bot.clock.now = DUE
    await bot.reminders.tick()
    # Added back: someone asks for a meeting there (and again for one asked before).
    bot.clock.now = DUE + 60
    await schedule(
        bot, channel, key="after", start=START + timedelta(hours=2), end=START + timedelta(hours=3)
    )
    await schedule(bot, channel, key="unsent", start=START + timedelta(minutes=5))
    for at in (DUE + 5 * 60, DUE + 2 * 3600):
        bot.clock.now = at
        await bot.reminders.tick()
    states = {
        k: r.state for k, r in (await bot.reminders.of(["before", "unsent", "after"])).items()
    }
    assert states == {"before": "gone", "unsent": "sent", "after": "sent"}
    assert len(reminders_at(channel)) == 3  # the refused one, then the two asked for again


async def test_a_process_holds_only_the_next_hours_reminders_and_polls_find_the_others(
    start: Callable[..., Process], channel: FakeChannel
) -> None:
    bot = start()
    later = START + timedelta(days=1)
    await schedule(bot, channel, key="tomorrow", start=later, end=later + timedelta(hours=1))
    await schedule(bot, channel, key="today")
    assert bot.reminders.waiting == 1  # memory holds what is due soon, the index the rest

    bot.clock.now = DUE
    await bot.reminders.tick()
    assert bot.reminders.waiting == 0
    due_tomorrow = (later - timedelta(minutes=10)).timestamp()
    bot.clock.now = due_tomorrow - 1800
    assert 0 < await bot.reminders.tick() <= 1800  # a poll found it: sleep until it is due
    assert bot.reminders.waiting == 1
    bot.clock.now = due_tomorrow
    await bot.reminders.tick()
    assert [card["body"][1]["text"] for card in reminders_at(channel)] == ["Design review"] * 2


async def test_a_failed_send_is_tried_again_later_not_at_once(
    start: Callable[..., Process], channel: FakeChannel
) -> None:
    bot = start()
    await schedule(bot, channel)
    channel.fail_with = [500, 500, 500]  # the channel client's three attempts
    bot.clock.now = DUE
    assert await bot.reminders.tick() == 30
    bot.clock.now = DUE + 29
    await bot.reminders.tick()
    assert len(reminders_at(channel)) == 3  # the three refused attempts, and nothing since
    bot.clock.now = DUE + 30
    await bot.reminders.tick()
    assert len(reminders_at(channel)) == 4
    (stored,) = (await bot.reminders.of(["meeting-1"])).values()
    assert stored.state == "sent"


async def test_the_loop_sleeps_when_idle_and_stops_at_once(
    start: Callable[..., Process], channel: FakeChannel
) -> None:
    bot = start(poll_s=3600)
    assert await bot.reminders.tick() == 3600
    running = asyncio.create_task(bot.reminders.run())
    await asyncio.sleep(0.05)
    bot.reminders.stop()
    await asyncio.wait_for(running, timeout=1)


def test_the_command_reads_a_lead_time_or_none_in_three_languages() -> None:
    assert take_reminder("Sync tomorrow at 3pm remind 5 min before") == (
        "Sync tomorrow at 3pm",
        5,
    )
    assert take_reminder("Sync tomorrow reminder 1 hour") == ("Sync tomorrow", 60)
    assert take_reminder("Sync tomorrow no reminder") == ("Sync tomorrow", 0)
    assert take_reminder("Point demain à 15h rappel 15 min avant") == ("Point demain à 15h", 15)
    assert take_reminder("Point demain sans rappel") == ("Point demain", 0)
    assert take_reminder("Revisión mañana recordatorio 30 minutos antes") == (
        "Revisión mañana",
        30,
    )
    assert take_reminder("Revisión mañana sin recordatorio") == ("Revisión mañana", 0)
    assert take_reminder("Reminder app review tomorrow") == ("Reminder app review tomorrow", None)


async def test_a_meeting_made_in_the_chat_gets_its_reminder_and_list_says_so(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        token_service.tokens["29:user-1"] = sandbox_token(bot.key)
        await bot.send(meet(channel, "meet Alpha tomorrow at 9am remind 15 min before"))
        await bot.send(meet(channel, "meet Beta tomorrow at 11am no reminder"))
        alpha, beta = meeting_cards(channel)
        assert "I'll post a reminder here 15 minutes before it starts." in str(alpha)
        assert "reminder" not in str(beta)
        await bot.send(meet(channel, "list"))
        card = channel.cards()[-1]
        lines = [item["items"][1]["text"] for item in card["body"] if item["type"] == "Container"]
        assert lines[0].endswith("(UTC)")
        assert lines[1].endswith("· Reminder 15 minutes before")
