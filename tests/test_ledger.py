"""The conversation ledger: newest meetings whole, older ones by id, old-format ledgers read."""

from __future__ import annotations

from typing import Any

from bot.core.ledger import REMEMBERED, SHOWN, holds, shown, with_meeting
from bot.storage.items import encode


def entry(n: int) -> dict[str, Any]:
    return {
        "externalId": f"id-{n}",
        "subject": f"Meeting {n}",
        "start": "2026-11-25T10:00:00+00:00",
        "end": "2026-11-25T10:30:00+00:00",
        "joinUrl": f"https://teams.microsoft.com/l/meetup-join/{n}",
    }


def after(count: int) -> dict[str, Any]:
    ledger: dict[str, Any] | None = None
    for n in range(count):
        ledger = with_meeting(ledger, entry(n))
    assert ledger is not None
    return ledger


def test_the_newest_are_kept_whole_newest_first_and_the_older_counted() -> None:
    ledger = after(SHOWN + 5)
    meetings, older = shown(ledger)
    assert [m["subject"] for m in meetings] == [f"Meeting {n}" for n in range(SHOWN + 4, 4, -1)]
    assert older == 5
    assert ledger["older"] == ["id-4", "id-3", "id-2", "id-1", "id-0"]


def test_it_remembers_the_newest_fifty_and_stays_small() -> None:
    ledger = after(REMEMBERED + 7)
    assert all(holds(ledger, f"id-{n}") for n in range(7, REMEMBERED + 7))
    assert not any(holds(ledger, f"id-{n}") for n in range(7))
    assert shown(ledger)[1] == REMEMBERED - SHOWN
    # 10 whole entries and 40 ids: a third of 50 whole entries.
    assert len(encode(ledger)) < len(encode({"meetings": [entry(n) for n in range(50)]})) / 2


def test_asking_again_for_an_older_meeting_brings_it_back_whole_and_once() -> None:
    ledger = with_meeting(after(SHOWN + 3), entry(1))
    meetings, older = shown(ledger)
    assert meetings[0] == entry(1)
    assert [m["externalId"] for m in meetings].count("id-1") == 1
    assert "id-1" not in ledger["older"]
    assert older == 3


def test_a_ledger_written_before_older_ids_existed_is_read_and_rewritten() -> None:
    legacy = {"meetings": [entry(n) for n in range(30, 0, -1)]}  # 30 whole, newest first
    meetings, older = shown(legacy)
    assert [m["externalId"] for m in meetings] == [f"id-{n}" for n in range(30, 20, -1)]
    assert older == 20
    assert holds(legacy, "id-1")

    rewritten = with_meeting(legacy, entry(31))
    assert len(rewritten["meetings"]) == SHOWN
    assert rewritten["older"][:2] == ["id-21", "id-20"]
    assert len(rewritten["older"]) == 21
    assert holds(rewritten, "id-1")
