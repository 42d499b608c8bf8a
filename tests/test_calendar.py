"""Signed `.ics` links: what a link carries opens again, until it expires or is tampered with."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from bot.core.calendar import ICS_LIFETIME_S, CalendarEvent, CalendarFiles

EVENT = CalendarEvent(
    uid="3b1c9a52-7d2e-5f7a-9b41-0c2d3e4f5a6b",
    subject="Café ☕ “review”",
    start=datetime(2026, 11, 25, 10, tzinfo=UTC),
    end=datetime(2026, 11, 25, 10, 30, tzinfo=UTC),
    join_url="https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0",
)


def files(now: float) -> CalendarFiles:
    return CalendarFiles(b"k" * 32, "https://bot.example", clock=lambda: now)


def token_of(url: str) -> str:
    return url.removeprefix("https://bot.example/calendar/")


def test_a_link_opens_the_event_it_was_made_for_until_it_expires() -> None:
    token = token_of(files(1_000_000.0).url(EVENT))
    assert files(1_000_000.0).open(token) == EVENT
    assert files(1_000_000.0 + ICS_LIFETIME_S).open(token) == EVENT
    assert files(1_000_001.0 + ICS_LIFETIME_S).open(token) is None


def test_a_tampered_or_foreign_link_opens_nothing() -> None:
    token = token_of(files(0.0).url(EVENT))
    payload, _, signature = token.partition(".")
    assert files(0.0).open(f"{payload}x.{signature}") is None
    assert files(0.0).open(f"{payload}.{signature[:-2]}AA.ics") is None
    assert CalendarFiles(b"other" * 8, "https://bot.example").open(token) is None


def test_links_written_with_ascii_escapes_still_open() -> None:
    # Links issued before the payload was written as UTF-8 JSON carry \\u escapes.
    data = {"e": EVENT.model_dump(mode="json"), "x": 2_000_000_000}
    payload = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    signer = files(0.0)
    assert signer.open(f"{payload}.{signer._sign(payload)}.ics") == EVENT
