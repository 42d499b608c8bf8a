"""The corpus of real meet commands (tests/corpus/meet_commands.toml): each read as expected."""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.core.parse import ParsedMeeting, ParseError, Unsure, parse_meeting
from tests.conftest import FakeChannel
from tests.flows import FakeTokenService, meet, meeting_cards, running_bot
from tests.support.cards import FULL

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "meet_commands.toml"


@dataclass(frozen=True)
class Command:
    """One command of the corpus and what it must give."""

    text: str
    lang: str
    expect: str  # "meeting", "ask" or "error"
    now: datetime
    zone: ZoneInfo
    locale: str
    mentions: tuple[str, ...]
    subject: str = ""
    start: str = ""
    end: str = ""
    ask_ok: bool = False
    error: str = ""


def load_corpus(path: Path = CORPUS) -> list[Command]:
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    defaults = document["defaults"]
    commands = []
    for entry in document["command"]:
        zone = ZoneInfo(entry.get("zone", defaults["zone"]))
        now = datetime.strptime(entry.get("now", defaults["now"]), "%Y-%m-%d %H:%M")
        commands.append(
            Command(
                text=entry["text"],
                lang=entry["lang"],
                expect=entry.get("expect", "meeting"),
                now=now.replace(tzinfo=zone).astimezone(UTC),
                zone=zone,
                locale=entry.get("locale", defaults["locale"]),
                mentions=tuple(entry.get("mentions", ())),
                subject=entry.get("subject", ""),
                start=entry.get("start", ""),
                end=entry.get("end", ""),
                ask_ok=entry.get("ask_ok", False),
                error=entry.get("error", ""),
            )
        )
    return commands


COMMANDS = load_corpus()


def read(command: Command) -> ParsedMeeting | ParseError | Unsure:
    return parse_meeting(
        command.text,
        now=command.now,
        zone=command.zone,
        culture=command.locale.lower(),
        mention_texts=command.mentions,
    )


def local(meeting: ParsedMeeting, zone: ZoneInfo) -> tuple[str, str]:
    start, end = meeting.start.astimezone(zone), meeting.end.astimezone(zone)
    end_text = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%Y-%m-%d %H:%M}"
    return f"{start:%Y-%m-%d %H:%M}", end_text


def test_the_corpus_is_real_sized_and_mixed() -> None:
    langs = Counter(command.lang for command in COMMANDS)
    assert len(COMMANDS) >= 150
    assert min(langs["en"], langs["fr"], langs["es"]) >= 40
    assert langs["mixed"] >= 5
    assert sum(langs[code] for code in ("de", "it", "pt", "nl")) >= 8
    assert sum(command.ask_ok for command in COMMANDS) <= len(COMMANDS) * 0.15
    assert len({command.text for command in COMMANDS}) == len(COMMANDS)
    # Most French and Spanish commands come from an English Teams, as in real life.
    assert sum(c.locale == "en-US" for c in COMMANDS if c.lang in ("fr", "es")) >= 60


def _id(command: Command) -> str:
    return f"{command.lang}: {command.text}"


@pytest.mark.parametrize("command", COMMANDS, ids=_id)
def test_each_command_is_read_as_expected(command: Command) -> None:
    result = read(command)
    if command.expect == "ask":
        assert isinstance(result, Unsure), result
    elif command.expect == "error":
        assert isinstance(result, ParseError), result
        assert command.error in result.message
    elif isinstance(result, Unsure):
        assert command.ask_ok, f"asked, but this should be read: {result.reason}"
    else:
        assert isinstance(result, ParsedMeeting), result
        assert (result.subject, *local(result, command.zone)) == (
            command.subject,
            command.start,
            command.end,
        )


def test_no_command_gives_a_meeting_at_a_time_it_did_not_say() -> None:
    """The target, over the whole corpus at once: a meeting only where one was expected."""
    unexpected = [
        command.text
        for command in COMMANDS
        if isinstance(result := read(command), ParsedMeeting)
        and (
            command.expect != "meeting"
            or local(result, command.zone) != (command.start, command.end)
        )
    ]
    assert unexpected == []


def test_a_question_shows_what_was_read_and_what_was_not() -> None:
    now = datetime(2026, 11, 23, 15, tzinfo=UTC)
    result = parse_meeting("Design review tomorrow at 3 or 4", now=now, zone=ZoneInfo("UTC"))
    assert isinstance(result, Unsure)
    assert result.reason == "I couldn't place “or 4”."
    assert result.subject == "Design review or 4"  # the unread words stay, to be seen
    assert result.reading is not None
    assert result.reading.start == datetime(2026, 11, 24, 15, tzinfo=UTC)


# -- at the wire: a question sends the form, and nothing to Graph ------------------------------


def _inputs(card: Any) -> Iterator[dict[str, Any]]:
    if isinstance(card, dict):
        if str(card.get("type", "")).startswith("Input."):
            yield card
        for value in card.values():
            yield from _inputs(value)
    elif isinstance(card, list):
        for value in card:
            yield from _inputs(value)


@dataclass
class RecordingGraph:
    """Graph's createOrGet on loopback: answers 201 with a meeting, keeps every body asked."""

    url: str
    seen: list[Any]


@pytest.fixture
async def graph(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> RecordingGraph:
    seen: list[Any] = []

    async def create_or_get(request: web.Request) -> web.Response:
        seen.append(await request.json())
        return web.json_response(FULL, status=201)

    app = web.Application()
    app.router.add_post("/v1.0/me/onlineMeetings/createOrGet", create_or_get)
    server = await aiohttp_server(app)
    return RecordingGraph(str(server.make_url("/v1.0")).rstrip("/"), seen)


async def test_a_command_in_another_language_gets_the_form_and_no_meeting(
    channel: FakeChannel, token_service: FakeTokenService, graph: RecordingGraph
) -> None:
    async with running_bot(OAUTH_URL=token_service.url, GRAPH_BASE_URL=graph.url) as bot:
        token_service.tokens["29:user-1"] = "opaque-graph-token"
        await bot.send(meet(channel, "meet Besprechung morgen um 15 Uhr"))
        card = channel.cards()[-1]
        fields = {field["id"]: field.get("value", "") for field in _inputs(card)}
        assert fields["subject"] == "Besprechung morgen um 15 Uhr"
        assert "This looks like German" in str(card)
        assert meeting_cards(channel) == []
        assert graph.seen == []  # no Graph call for a command the bot is not sure about


async def test_french_from_an_english_teams_books_the_time_it_says(
    channel: FakeChannel, token_service: FakeTokenService, graph: RecordingGraph
) -> None:
    async with running_bot(
        OAUTH_URL=token_service.url, GRAPH_BASE_URL=graph.url, DEFAULT_TIMEZONE="Europe/Paris"
    ) as bot:
        token_service.tokens["29:user-1"] = "opaque-graph-token"
        # The test channel's activities carry locale en-US, as the Agents Playground's do.
        await bot.send(meet(channel, "meet Point hebdo demain à 9h30 pendant 45 minutes"))
        paris = ZoneInfo("Europe/Paris")
        tomorrow = datetime.now(paris).date() + timedelta(days=1)
        start = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, 30, tzinfo=paris)
        assert len(graph.seen) == 1
        assert graph.seen[0]["subject"] == "Point hebdo"
        assert graph.seen[0]["startDateTime"] == start.astimezone(UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        assert graph.seen[0]["endDateTime"] == (start + timedelta(minutes=45)).astimezone(
            UTC
        ).strftime("%Y-%m-%dT%H:%M:%SZ")
