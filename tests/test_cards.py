"""Cards: typed 1.5 elements only, snapshots, hidden empty fields, and escaped user text."""

from __future__ import annotations

import copy
import json
import math
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.calendar import form_urlencode
from bot.fastjson import is_plain_json
from cards.elements import (
    _BLOCK_MARKER,
    _ORDERED_MARKER,
    ActionSubmit,
    AdaptiveCard,
    TextBlock,
    plain,
)
from cards.lists import meeting_list_card
from cards.meeting import meeting_card
from tests.support.cards import ALL_CARDS, END, FULL, START, view

SNAPSHOTS = Path(__file__).parent / "snapshots"


def texts(card: dict[str, Any]) -> str:
    return json.dumps(card, ensure_ascii=False)


def check_snapshot(name: str, card: dict[str, Any]) -> None:
    path = SNAPSHOTS / f"{name}.json"
    rendered = json.dumps(card, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.write_text(rendered, encoding="utf-8")
    assert rendered == path.read_text(encoding="utf-8"), f"{name} changed: UPDATE_SNAPSHOTS=1"


@pytest.mark.parametrize("name", sorted(ALL_CARDS))
def test_every_card_is_adaptive_card_1_5_built_from_known_elements(name: str) -> None:
    card = ALL_CARDS[name]
    assert card["version"] == "1.5"
    assert card["type"] == "AdaptiveCard"
    # Parsing back through the typed models rejects any element or property outside the set.
    assert AdaptiveCard.from_wire(card).to_dict() == card
    assert "None" not in texts(card)
    assert "null" not in texts(card)


@pytest.mark.parametrize("name", sorted(ALL_CARDS))
def test_snapshots(name: str) -> None:
    check_snapshot(name, ALL_CARDS[name])


def test_the_meeting_card_shows_join_ids_and_every_number() -> None:
    card = ALL_CARDS["meeting_full"]
    text = texts(card)
    join = next(a for a in card["actions"] if a["title"] == "Join")
    assert join == {"type": "Action.OpenUrl", "title": "Join", "url": FULL["joinWebUrl"]}
    for expected in (
        "312 456 789 012",
        "aB3cD4",
        "+1 425-555-0100",
        "+44 20 7946 0000",
        "+1 800-555-0199",
        "804980123#",
        "1234567890@teams.example",
        "Tue, Nov 24, 2026, 3:00 PM – 3:45 PM (America/New_York)",
        "2026-11-24 20:00 – 20:45 UTC",
        "not on anyone's calendar",
    ):
        assert expected in text, expected
    titles = [a["title"] for a in card["actions"]]
    assert titles == ["Join", "Add to calendar", "Copy invitation", "Find a local number"]


def test_without_audio_conferencing_the_dial_in_section_is_left_out() -> None:
    card = ALL_CARDS["meeting_no_dial_in"]
    text = texts(card)
    assert "Dial in" not in text
    assert "Meeting ID" not in text
    assert "Find a local number" not in text


def test_already_scheduled_says_so() -> None:
    assert ALL_CARDS["meeting_already_scheduled"]["body"][0]["text"] == "Already scheduled"


def test_user_text_cannot_become_a_link_or_formatting() -> None:
    evil = "[Click me](https://evil.example) **bold** _x_ <at>y</at>"
    card = meeting_card(view(FULL, subject=evil))
    subject = card["body"][1]["text"]
    assert "](" not in subject.replace("\\](", "")
    assert "**" not in subject.replace("\\*", "")
    assert plain("a_b") == "a\\_b"


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="ab1 \t\n.)#+-*_[]<>~&`\\é", max_size=12))
def test_plain_is_the_three_escapes_it_stands_for(text: str) -> None:
    escaped = re.sub(r"([\\`*_\[\]<>~&])", r"\\\1", text)
    escaped = _BLOCK_MARKER.sub(r"\1\\\2", escaped)
    assert plain(text) == _ORDERED_MARKER.sub(r"\1\\\2", escaped)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="ab1 \t\n\r\x0b\x85\u2028.)#+-*_[]<>~&`\\é", max_size=16))
def test_plain_of_lines_is_plain_of_each_line(text: str) -> None:
    # The invitation is escaped whole and then split into its lines.
    assert plain(text).split("\n") == [plain(line) for line in text.split("\n")]


def test_the_list_card_counts_the_older_meetings_it_does_not_show() -> None:
    meetings = [
        {"subject": f"M{n}", "start": START.isoformat(), "end": END.isoformat(), "joinUrl": "x"}
        for n in range(12)
    ]
    card = meeting_list_card(meetings, ZoneInfo("UTC"), older=5)
    shown = [item for item in card["body"] if item["type"] == "Container"]
    assert len(shown) == 10
    assert card["body"][-1]["text"] == "…and 7 older."
    assert "…and" not in json.dumps(
        meeting_list_card(meetings[:3], ZoneInfo("UTC")), ensure_ascii=False
    )


def test_a_cards_json_shares_nothing_editable_with_what_built_it() -> None:
    data = {"meetbot": "retry", "attendees": [{"upn": "a@example.com"}]}
    card = AdaptiveCard(actions=[ActionSubmit(title="Try again", data=data)]).to_dict()
    card["actions"][0]["data"]["attendees"][0]["upn"] = "changed"
    card["actions"][0]["data"]["extra"] = True
    assert data == {"meetbot": "retry", "attendees": [{"upn": "a@example.com"}]}


@pytest.mark.parametrize("name", sorted(ALL_CARDS))
def test_every_card_is_plain_json_as_its_writer_vouched(name: str) -> None:
    # A deep copy keeps any shared container shared, and was never vouched for: it is walked.
    assert is_plain_json(copy.deepcopy(ALL_CARDS[name]))


def test_a_value_that_is_not_json_is_refused_where_it_is_written() -> None:
    with pytest.raises(TypeError, match=r"TextBlock\.text: datetime"):
        AdaptiveCard(body=[TextBlock(text=START)]).to_dict()  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"TextBlock\.id: bytes"):
        AdaptiveCard(body=[TextBlock(text="x", id=b"x")]).to_dict()  # type: ignore[arg-type]
    for data, where in [
        ({"when": START}, r"ActionSubmit\.data\['when'\]: datetime"),
        ({"a": {"b": {1}}}, r"ActionSubmit\.data\['a'\]\['b'\]: set"),
        ({"people": ("a", "b")}, r"\['people'\]"),
        ({"n": math.nan}, r"\['n'\]"),
        ({"py/object": "x"}, r"\['py/object'\]"),
        ({1: "x"}, r"\[1\]"),
    ]:
        with pytest.raises(TypeError, match=where):
            AdaptiveCard(actions=[ActionSubmit(title="Go", data=data)]).to_dict()


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=4),
        st.datetimes(),
        st.tuples(st.integers()),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.text(max_size=4), st.just("py/id"), st.integers()), inner),
    ),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(json_values)
def test_a_card_that_is_written_is_plain_json(data: Any) -> None:
    shared = [data, data]  # one container twice: the card must hold two copies
    try:
        card = AdaptiveCard(
            actions=[ActionSubmit(title="Go", data={"value": data, "shared": shared})]
        ).to_dict()
    except TypeError:
        assert not is_plain_json(copy.deepcopy(data))
        return
    assert is_plain_json(copy.deepcopy(card))


@settings(max_examples=2000, deadline=None)
@given(st.dictionaries(st.text(max_size=6), st.text(max_size=40), max_size=4))
def test_form_urlencode_is_urlencode(fields: dict[str, str]) -> None:
    assert form_urlencode(fields) == urlencode(fields)
