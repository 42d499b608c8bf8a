"""The fast activity reader gives exactly msrest's `Activity().deserialize(...)`."""

from __future__ import annotations

import copy
import datetime
import re
from typing import Any

import pytest
from botbuilder.schema import Activity, ChannelAccount
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from msrest.exceptions import DeserializationError  # type: ignore[attr-defined]
from msrest.serialization import Model

from bot.activity_fast import _read_model, activity_from_json
from tests.conftest import activity

SERVICE_URL = "https://smba.trafficmanager.net/emea/"


def same(fast: Any, slow: Any, path: str = "activity") -> None:
    """Equal values of the same types all the way down (msrest's __eq__ is looser)."""
    assert type(fast) is type(slow), path
    if isinstance(slow, Model):
        assert fast.__dict__.keys() == slow.__dict__.keys(), path
        for name in slow.__dict__:
            same(fast.__dict__[name], slow.__dict__[name], f"{path}.{name}")
    elif isinstance(slow, dict):
        assert list(fast) == list(slow) or set(fast) == set(slow), path
        for key in slow:
            same(fast[key], slow[key], f"{path}[{key!r}]")
    elif isinstance(slow, list):
        assert len(fast) == len(slow), path
        for index, (a, b) in enumerate(zip(fast, slow, strict=True)):
            same(a, b, f"{path}[{index}]")
    elif isinstance(slow, datetime.datetime):
        assert fast == slow, path
        assert type(fast.tzinfo) is type(slow.tzinfo), path
        assert fast.utcoffset() == slow.utcoffset(), path
    else:
        assert fast == slow or (fast != fast and slow != slow), path  # NaN equals NaN here


def shares(value: Any, document: Any) -> set[int]:
    """Ids of the containers of `document` that `value` holds on to (not copies)."""
    found: set[int] = set()
    originals = {id(node) for node in _containers(document)}

    def walk(node: Any) -> None:
        if isinstance(node, Model):
            for child in node.__dict__.values():
                walk(child)
        elif isinstance(node, dict | list):
            if id(node) in originals:
                found.add(id(node))
            for child in node.values() if isinstance(node, dict) else node:
                walk(child)

    walk(value)
    return found


def _containers(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [node, *(c for child in node.values() for c in _containers(child))]
    if isinstance(node, list):
        return [node, *(c for child in node for c in _containers(child))]
    return []


def _without_addresses(message: str) -> str:
    return re.sub(r"0x[0-9a-f]+", "0x…", message)


def same_as_msrest(document: Any) -> Activity | None:
    """Read `document` both ways: the same Activity, or the same error."""
    message: str | None
    try:
        slow = Activity().deserialize(document)
    except DeserializationError as error:
        message = _without_addresses(str(error))
    else:
        message = None
    if message is not None:
        with pytest.raises(DeserializationError) as raised:
            activity_from_json(document)
        assert _without_addresses(str(raised.value)) == message
        return None
    fast = activity_from_json(document)
    same(fast, slow)
    # What msrest copies (generic objects) is copied, what it keeps (unknown keys) is kept.
    assert shares(fast, document) == shares(slow, document)
    return fast


def teams_message(**extra: Any) -> dict[str, Any]:
    return activity(SERVICE_URL, text="meet Review tomorrow at 10am", **extra)


DOCUMENTS = {
    "help": activity(SERVICE_URL),
    "typed command": teams_message(textFormat="plain"),
    "card submit": activity(
        SERVICE_URL,
        text=None,
        value={"meetbot": "createMeeting", "subject": "Review 1", "durationMinutes": "30"},
        replyToId="form-1",
    ),
    "group chat mention": teams_message(
        conversation={
            "id": "19:abc@thread.v2",
            "conversationType": "groupChat",
            "isGroup": True,
            "tenantId": "tenant-1",
        },
        entities=[
            {
                "type": "mention",
                "mentioned": {"id": "28:meetbot", "name": "MeetBot"},
                "text": "<at>MeetBot</at>",
            },
            {"type": "clientInfo", "locale": "en-US", "timezone": "Europe/Berlin"},
        ],
        localTimezone="Europe/Berlin",
        localTimestamp="2026-11-23T21:00:00.1234567+01:00",
    ),
    "channel": teams_message(
        conversation={
            "id": "19:general@thread.tacv2;messageid=1700000000000",
            "conversationType": "channel",
            "tenantId": "tenant-1",
        },
        channelData={
            "teamsChannelId": "19:general@thread.tacv2",
            "teamsTeamId": "19:team@thread.tacv2",
            "channel": {"id": "19:general@thread.tacv2"},
            "team": {"id": "19:team@thread.tacv2", "name": "Contoso"},
            "tenant": {"id": "tenant-1"},
            "settings": {"selectedChannel": {"id": "19:general@thread.tacv2"}},
        },
    ),
    "adaptive card action": activity(
        SERVICE_URL,
        kind="invoke",
        text=None,
        name="adaptiveCard/action",
        value={
            "action": {
                "type": "Action.Execute",
                "verb": "createMeeting",
                "data": {"subject": "x", "durationMinutes": 30, "ok": True, "ratio": 0.5},
            },
            "trigger": "manual",
        },
    ),
    "message extension": activity(
        SERVICE_URL,
        kind="invoke",
        text=None,
        name="composeExtension/fetchTask",
        value={
            "commandId": "createMeeting",
            "commandContext": "message",
            "messagePayload": {
                "id": "1",
                "body": {"contentType": "html", "content": "<p>Sync tomorrow</p>"},
                "from": {"user": {"id": "oid", "displayName": "Megan"}},
                "mentions": [{"id": 0, "mentioned": {"user": {"id": "o2"}}}],
            },
        },
    ),
    "installed": activity(
        SERVICE_URL,
        kind="conversationUpdate",
        text=None,
        membersAdded=[{"id": "28:meetbot", "name": "MeetBot"}, {"id": "29:u", "role": "user"}],
        membersRemoved=[],
    ),
    "web chat": activity(
        SERVICE_URL,
        channel_id="webchat",
        attachments=[
            {"contentType": "image/png", "contentUrl": "https://x/y.png", "name": "y.png"}
        ],
        suggestedActions={"to": ["a"], "actions": [{"type": "imBack", "value": {"a": [1]}}]},
        deliveryMode="expectReplies",
        listenFor=["yes"],
        textHighlights=[{"text": "x", "occurrence": 1}],
        relatesTo={"activityId": "1", "conversation": {"id": "c"}},
        unknownTopLevel={"kept": ["as", "is"]},
    ),
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_activities_teams_sends_read_as_msrest_reads_them(name: str) -> None:
    fast = same_as_msrest(copy.deepcopy(DOCUMENTS[name]))
    assert fast is not None


@pytest.mark.parametrize(
    "changes",
    [
        {"text": 5},
        {"text": ["a"]},
        {"from": "29:user"},
        {"from": ["29:user"]},
        {"conversation": {"id": 7, "isGroup": "true"}},
        {"conversation": {"id": "c", "isGroup": 1}},
        {"timestamp": "yesterday"},
        {"timestamp": "2026-11-23"},
        {"timestamp": 1700000000},
        {"timestamp": "2026-11-23T20:00:00.123456789Z"},
        {"timestamp": "2026-11-23T20:00:00-05:30"},
        {"membersAdded": "everyone"},
        {"membersAdded": [None, {"id": "x"}, "y"]},
        {"entities": {"type": "mention"}},
        {"entities": [{"type": 3}]},
        {"attachments": [{"content": {"deep": [{"er": [None, 1.5, -0]}]}}]},
        {"channelData": "a string"},
        {"channelData": [1, "two", None, {"3": True}]},
        {"value": 10**30},
        {"value": float("nan")},
        {"historyDisclosed": "false"},
        {"listenFor": "yes"},
        {"listenFor": [1, 2]},
        {"suggestedActions": {"actions": {"not": "a list"}}},
        {"locale": None, "text": None},
    ],
    ids=repr,
)
def test_odd_values_read_as_msrest_reads_them(changes: dict[str, Any]) -> None:
    same_as_msrest({**copy.deepcopy(DOCUMENTS["help"]), **changes})


@pytest.mark.parametrize("document", [[], "activity", None, 5, {"type": "message"}, {}])
def test_documents_that_are_not_activities_fail_or_read_as_with_msrest(document: Any) -> None:
    same_as_msrest(document)


json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["2026-11-23T20:00:00.000Z", "2026-11-23T20:00:00+01:00", "true", "1"]),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
account = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.text(max_size=8), json_leaf),
        "name": st.text(max_size=8),
        "aadObjectId": st.text(max_size=8),
        "role": json_leaf,
        "extra": json_value,
    },
)
document = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "invoke", "event", "conversationUpdate"])},
    optional={
        "id": st.one_of(st.text(max_size=10), json_leaf),
        "timestamp": json_leaf,
        "serviceUrl": st.just(SERVICE_URL),
        "channelId": st.sampled_from(["msteams", "webchat", "emulator"]),
        "from": st.one_of(account, json_leaf),
        "recipient": account,
        "conversation": st.one_of(account, json_value),
        "membersAdded": st.one_of(st.lists(st.one_of(account, st.none()), max_size=3), json_leaf),
        "text": st.one_of(st.text(max_size=20), json_leaf),
        "entities": st.lists(
            st.fixed_dictionaries({"type": json_leaf}, optional={"mentioned": account}),
            max_size=2,
        ),
        "attachments": st.lists(
            st.fixed_dictionaries(
                {"contentType": st.text(max_size=8)}, optional={"content": json_value}
            ),
            max_size=2,
        ),
        "channelData": json_value,
        "value": json_value,
        "historyDisclosed": json_leaf,
        "listenFor": st.one_of(st.lists(st.text(max_size=4), max_size=2), json_leaf),
        "anythingElse": json_value,
    },
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document)
def test_random_documents_read_as_msrest_reads_them(random_document: dict[str, Any]) -> None:
    same_as_msrest(random_document)


def test_a_teams_message_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def msrest_not_allowed(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("fell back to msrest")

    documents = [copy.deepcopy(DOCUMENTS[name]) for name in sorted(DOCUMENTS)]
    monkeypatch.setattr(Activity, "deserialize", msrest_not_allowed)
    for each in documents:
        activity_from_json(each)


timestamps = st.builds(
    lambda day, clock, fraction, zone: f"{day}T{clock}{fraction}{zone}",
    st.one_of(
        st.dates().map(lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}"),
        st.sampled_from(["2026-02-30", "2026-13-01", "0001-01-01", "9999-12-31", "0000-01-01"]),
    ),
    st.one_of(
        st.times().map(lambda t: f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}"),
        st.sampled_from(["24:00:00", "23:59:60", "23:60:00"]),
    ),
    st.one_of(st.just(""), st.from_regex(r"\.[0-9]{1,9}", fullmatch=True)),
    st.one_of(
        st.sampled_from(["Z", "z", "", "+00:00", "-00:00", "+14:00", "-12:00", "+05:30"]),
        st.from_regex(r"[+-][0-9]{2}:[0-9]{2}", fullmatch=True),
    ),
)


@settings(max_examples=3000, deadline=None)
@given(timestamps)
def test_timestamps_read_as_msrest_reads_them(text: str) -> None:
    same_as_msrest({"type": "message", "timestamp": text, "localTimestamp": text})


class Lowered(ChannelAccount):  # type: ignore[misc]
    """A model whose __init__ does more than store its arguments."""

    def __init__(self, *, id: str | None = None, **kwargs: Any) -> None:
        super().__init__(id=id.lower() if id else id, **kwargs)


def test_a_model_whose_init_does_more_is_made_by_its_init() -> None:
    document = {"id": "29:ABC", "name": "Megan", "role": "user", "other": [1, {"a": None}]}
    fast = _read_model(Lowered, copy.deepcopy(document))
    same(fast, Lowered.deserialize(copy.deepcopy(document)))
    assert fast.id == "29:abc"
