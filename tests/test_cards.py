"""Cards: typed 1.5 elements only, snapshots, hidden empty fields, and escaped user text.

Snapshots: each card's JSON must equal tests/snapshots/<name>.json. A missing or different
snapshot fails; to write them anew (then review the diff), run with UPDATE_SNAPSHOTS=1:

    UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest -q tests/test_cards.py
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

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
from tests.support.snapshots import check_snapshot


def texts(card: dict[str, Any]) -> str:
    return json.dumps(card, ensure_ascii=False)


def is_plain_json(value: object) -> bool:
    """JSON types only (exactly), finite floats, no `py/` key (jsonpickle, which msrest writes
    activities with, would read it as one of its tags), no container twice (it would write a
    `py/id` reference for the second)."""
    seen: set[int] = set()
    pending: list[object] = [value]
    while pending:
        item = pending.pop()
        if item is None or type(item) in (str, int, bool):
            continue
        if type(item) is float:
            if not math.isfinite(item):
                return False
            continue
        if type(item) not in (dict, list) or id(item) in seen:
            return False
        seen.add(id(item))
        if isinstance(item, dict):
            if any(type(key) is not str or key.startswith("py/") for key in item):
                return False
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True


@pytest.mark.parametrize("name", sorted(ALL_CARDS))
def test_every_card_is_adaptive_card_1_5_built_from_known_elements(name: str) -> None:
    card = ALL_CARDS[name]
    assert card["version"] == "1.5"
    assert card["type"] == "AdaptiveCard"
    # Parsing back through the typed models rejects any element or property outside the set.
    assert AdaptiveCard.from_wire(card).to_dict() == card
    assert "None" not in texts(card)
    assert "null" not in texts(card)


def test_reading_a_card_back_refuses_what_it_does_not_know() -> None:
    card = ALL_CARDS["meeting_full"]
    assert AdaptiveCard.from_wire(card).schema_ == card["$schema"]
    for change, refused in [
        ({"colour": "red"}, "colour"),
        ({"size": "huge"}, "huge"),
        ({"type": "Image"}, "Image"),
        ({"text": 3}, "text"),
    ]:
        bad = json.loads(json.dumps(card))
        bad["body"][1].update(change)
        with pytest.raises(ValidationError, match=refused):
            AdaptiveCard.from_wire(bad)
    with pytest.raises(ValidationError, match="isMultiSelect"):
        AdaptiveCard.from_wire({**card, "isMultiSelect": True})


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
        "Tue, Nov 24, 2026, 3:00 pm – 3:45 pm (America/New_York)",
        "2026-11-24 20:00 – 20:45 UTC",
        "not on anyone's calendar",
    ):
        assert expected in text, expected
    titles = [a["title"] for a in card["actions"]]
    assert titles == ["Join", "Add to calendar", "Show invitation", "Find a local number"]


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
def test_every_card_is_plain_json(name: str) -> None:
    assert is_plain_json(ALL_CARDS[name])


def test_a_value_that_is_not_json_is_refused_where_the_part_is_built() -> None:
    with pytest.raises(ValidationError, match=r"for TextBlock\ntext\n.*input_type=datetime"):
        TextBlock(text=START)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"for TextBlock\nid\n.*input_type=bytes"):
        TextBlock(text="x", id=b"x")  # type: ignore[arg-type]
    for data, where in [
        ({"when": START}, r"data\.when\n.*input_type=datetime"),
        ({"a": {"b": {1}}}, r"data\.a\.(dict\.)?b\n.*input_type=set"),
        ({"people": ("a", "b")}, r"data\.people\n.*input_type=tuple"),
        ({"n": math.nan}, r"data\.n\b.*\n.*finite"),
        ({"py/object": "x"}, r"data\n.*'py/object'"),
        ({1: "x"}, r"data\.1\b"),
    ]:
        with pytest.raises(ValidationError, match=rf"for ActionSubmit\n{where}"):
            ActionSubmit(title="Go", data=data)


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
    except ValidationError:
        assert not is_plain_json(data)
        return
    assert is_plain_json(card)
