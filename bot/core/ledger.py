"""A conversation's ledger: its newest meetings in full, and the ids of older ones."""

from __future__ import annotations

from typing import Any

Ledger = dict[str, Any]

SHOWN = 10  # the `list` card shows these, with Join buttons
REMEMBERED = 50  # of these, asking again for one is not a new meeting to the rate limit


def with_meeting(ledger: Ledger | None, entry: dict[str, Any]) -> Ledger:
    """`ledger` with `entry` (its `externalId` once) as the newest meeting.

    Only the `SHOWN` newest are kept whole; the rest keep just their `externalId`, which
    is all anything reads of them, so the record rewritten with every meeting stays small.
    """
    external_id = entry["externalId"]
    recent, older = _parts(ledger)
    recent = [entry, *(m for m in recent if m.get("externalId") != external_id)]
    demoted = [m.get("externalId") for m in recent[SHOWN:]]
    older = [i for i in [*demoted, *older] if isinstance(i, str) and i != external_id]
    return {"meetings": recent[:SHOWN], "older": older[: REMEMBERED - SHOWN]}


def with_changed(ledger: Ledger | None, external_id: str, change: dict[str, Any]) -> Ledger:
    """`ledger` with the meeting `external_id` changed in place (moved, cancelled); unchanged
    when it is not one of the newest, whose entries are kept whole."""
    recent, older = _parts(ledger)
    recent = [{**m, **change} if m.get("externalId") == external_id else m for m in recent]
    return {"meetings": recent, "older": older}


def holds(ledger: Ledger | None, external_id: str) -> bool:
    """Whether one of the conversation's `REMEMBERED` newest meetings has this externalId."""
    recent, older = _parts(ledger)
    return external_id in older or any(m.get("externalId") == external_id for m in recent)


def shown(ledger: Ledger | None) -> tuple[list[dict[str, Any]], int]:
    """The newest meetings, newest first, and how many older ones there are besides."""
    recent, older = _parts(ledger)
    return recent[:SHOWN], max(len(recent) - SHOWN, 0) + len(older)


def _parts(ledger: Ledger | None) -> tuple[list[dict[str, Any]], list[Any]]:
    # Ledgers written before "older" existed kept up to 50 whole entries in "meetings".
    recent = [m for m in (ledger or {}).get("meetings") or [] if isinstance(m, dict)]
    older = list((ledger or {}).get("older") or [])
    return recent, older
