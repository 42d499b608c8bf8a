"""Users' tokens are kept in memory for their lifetime: one token-service lookup per user."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest

from bot.auth.signin import TOKEN_EXPIRY_MARGIN_S, TokenCache, token_expiry
from tests.conftest import FakeChannel, activity
from tests.flows import (
    FakeTokenService,
    meet,
    meeting_cards,
    oauth_cards,
    running_bot,
    sandbox_token,
)

USER = "29:user-1"


def lookups(token_service: FakeTokenService) -> int:
    return len(token_service.named("/api/usertoken/GetToken"))


def command(n: int) -> str:
    return f"meet Review {'abcdefgh'[n]} tomorrow at 3pm for 45 minutes"


async def test_a_signed_in_users_token_is_looked_up_once(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        token_service.tokens[USER] = sandbox_token(bot.key)
        for n in range(3):
            await bot.send(meet(channel, command(n)))
        assert [card["body"][0]["text"] for card in meeting_cards(channel)] == [
            "Meeting created"
        ] * 3
        assert lookups(token_service) == 1


async def test_sign_out_forgets_the_token(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        token_service.tokens[USER] = sandbox_token(bot.key)
        await bot.send(meet(channel, command(0)))
        await bot.send(meet(channel, "logout"))
        await bot.send(meet(channel, command(1)))
        assert lookups(token_service) == 2
        assert len(meeting_cards(channel)) == 1
        assert len(oauth_cards(channel)) == 1  # signed out: asked to sign in again


async def test_a_token_graph_refuses_is_forgotten(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        # Valid for an hour by its own claims, but signed with a key Graph does not know.
        token_service.tokens[USER] = sandbox_token(b"k" * 32)
        await bot.send(meet(channel, command(0)))
        assert token_service.named("/api/usertoken/SignOut")
        assert len(oauth_cards(channel)) == 1
        token_service.tokens[USER] = sandbox_token(bot.key)
        await bot.send(meet(channel, command(1)))
        assert lookups(token_service) == 2
        assert meeting_cards(channel)[0]["body"][0]["text"] == "Meeting created"


async def test_a_token_about_to_expire_is_looked_up_every_time(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        short = sandbox_token(bot.key, lifetime_s=TOKEN_EXPIRY_MARGIN_S - 60)
        token_service.tokens[USER] = short
        await bot.send(meet(channel, command(0)))
        await bot.send(meet(channel, command(1)))
        assert lookups(token_service) == 2
        assert len(meeting_cards(channel)) == 2


async def test_a_magic_code_still_goes_to_the_token_service(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        token_service.tokens[USER] = sandbox_token(bot.key)
        await bot.send(meet(channel, command(0)))
        token_service.codes["123456"] = (USER, sandbox_token(bot.key, upn="other@contoso.com"))
        await bot.send(meet(channel, "123456"))
        code_calls = [c for c in token_service.named("/api/usertoken/GetToken") if "code" in c[2]]
        assert len(code_calls) == 1


async def test_a_token_from_an_event_replaces_the_cached_one(
    channel: FakeChannel, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url) as bot:
        token_service.tokens[USER] = sandbox_token(bot.key)
        await bot.send(meet(channel, command(0)))
        event = activity(
            channel.url,
            kind="event",
            text=None,
            name="tokens/response",
            value={"connectionName": "graph", "token": sandbox_token(bot.key, lifetime_s=7200)},
        )
        await bot.send(event)
        await bot.send(meet(channel, command(1)))
        assert lookups(token_service) == 2


async def test_tokens_are_never_written_to_the_store(
    channel: FakeChannel, token_service: FakeTokenService, tmp_path: Path
) -> None:
    env = {
        "OAUTH_URL": token_service.url,
        "STORAGE": "sqlite",
        "SQLITE_PATH": str(tmp_path / "s.db"),
    }
    async with running_bot(**env) as bot:
        token = sandbox_token(bot.key)
        token_service.tokens[USER] = token
        await bot.send(meet(channel, command(0)))
        assert len(meeting_cards(channel)) == 1
    assert token.split(".")[1].encode() not in stored_bytes(tmp_path)
    async with running_bot(**env) as bot:
        await bot.send(meet(channel, command(1)))
        assert lookups(token_service) == 2  # a new process asks again


def stored_bytes(directory: Path) -> bytes:
    """Everything the store wrote: the database, its WAL and the key file."""
    return b"".join(path.read_bytes() for path in directory.iterdir() if path.is_file())


# --- the cache and the expiry on their own ----------------------------------------------------


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


KEY = ("msteams", USER, "graph")


def test_the_cache_serves_a_token_until_shortly_before_it_expires() -> None:
    clock = Clock()
    cache = TokenCache(clock)
    cache.put(KEY, "token", clock.now + 3600)
    clock.now += 3600 - TOKEN_EXPIRY_MARGIN_S - 1
    assert cache.get(KEY) == "token"
    clock.now += 1
    assert cache.get(KEY) is None
    assert len(cache) == 0


def test_a_token_without_a_known_expiry_is_not_cached() -> None:
    cache = TokenCache(Clock())
    cache.put(KEY, "token", None)
    assert cache.get(KEY) is None


def test_the_cache_keeps_the_most_recently_used_users() -> None:
    clock = Clock()
    cache = TokenCache(clock, size=2)
    for user in ("a", "b"):
        cache.put(("msteams", user, "graph"), user, clock.now + 3600)
    assert cache.get(("msteams", "a", "graph")) == "a"
    cache.put(("msteams", "c", "graph"), "c", clock.now + 3600)
    assert cache.get(("msteams", "b", "graph")) is None
    assert cache.get(("msteams", "a", "graph")) == "a"
    assert len(cache) == 2


def test_users_connections_and_channels_have_their_own_tokens() -> None:
    clock = Clock()
    cache = TokenCache(clock)
    cache.put(KEY, "teams", clock.now + 3600)
    assert cache.get(("webchat", USER, "graph")) is None
    assert cache.get(("msteams", "29:other", "graph")) is None
    assert cache.get(("msteams", USER, "other-connection")) is None
    cache.forget(KEY)
    assert cache.get(KEY) is None


def _jwt(exp: float | None) -> str:
    claims = {"sub": "x"} if exp is None else {"sub": "x", "exp": exp}
    return jwt.encode(claims, "s" * 32, algorithm="HS256")


@pytest.mark.parametrize(
    ("expiration", "exp", "expected"),
    [
        ("2026-11-24T00:00:00.1234567+00:00", None, 1795478400.123456),
        ("2026-11-24T00:00:00Z", None, 1795478400.0),
        ("2026-11-24T00:00:00", None, 1795478400.0),  # no offset: UTC
        ("2026-11-24T01:00:00+01:00", None, 1795478400.0),
        ("2099-01-01T00:00:00Z", 1795478400, 1795478400.0),  # the earlier one
        ("2026-11-24T00:00:00Z", 4000000000, 1795478400.0),
        (None, 1795478400, 1795478400.0),
        ("not a date", 1795478400, 1795478400.0),
        ("not a date", None, None),
        (None, None, None),
    ],
)
def test_expiry_is_the_earlier_of_the_token_services_and_the_jwts(
    expiration: str | None, exp: float | None, expected: float | None
) -> None:
    assert token_expiry(_jwt(exp), expiration) == expected


def test_an_opaque_token_expires_when_the_token_service_says() -> None:
    assert token_expiry("opaque", "2026-11-24T00:00:00Z") == 1795478400.0
    assert token_expiry("opaque", None) is None


def test_the_clock_is_the_wall_clock_by_default() -> None:
    cache = TokenCache(time.time)
    cache.put(KEY, "token", time.time() + 3600)
    assert cache.get(KEY) == "token"
