"""The edge's activity check names what is wrong with a body before botbuilder sees it."""

from __future__ import annotations

from typing import Any

import pytest

from bot.teams.activity_check import activity_problem, activity_tenant, tenant_allowed
from tests.conftest import activity

GOOD = activity("https://smba.trafficmanager.net/amer/")


def without(key: str) -> dict[str, Any]:
    body = dict(GOOD)
    del body[key]
    return body


def test_a_teams_activity_passes() -> None:
    assert activity_problem(GOOD) is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "JSON object"),
        ("text", "JSON object"),
        (without("type"), "'type'"),
        ({**GOOD, "type": ""}, "'type'"),
        ({**GOOD, "type": 7}, "'type'"),
        (without("serviceUrl"), "serviceUrl"),
        ({**GOOD, "serviceUrl": "ftp://x"}, "serviceUrl"),
        (without("conversation"), "'conversation'"),
        ({**GOOD, "conversation": {"id": ""}}, "'conversation' needs an 'id'"),
        ({**GOOD, "conversation": "c"}, "'conversation' object"),
        (without("from"), "'from'"),
        (without("recipient"), "'recipient'"),
        ({**GOOD, "from": {"id": "1", "name": 5}}, "'from.name'"),
        ({**GOOD, "text": 12}, "'text' must be a string"),
        ({**GOOD, "entities": {"a": 1}}, "'entities'"),
        ({**GOOD, "attachments": ["x"]}, "'attachments'"),
        ({**GOOD, "channelData": []}, "'channelData'"),
        ({**GOOD, "channelData": {"team": 5}}, "'channelData.team'"),
        ({**GOOD, "channelData": {"channel": "general"}}, "'channelData.channel'"),
        ({**GOOD, "channelData": {"eventType": ["x"]}}, "'channelData.eventType'"),
        ({**GOOD, "channelData": {"onBehalfOf": {}}}, "'channelData.onBehalfOf'"),
        ({**GOOD, "entities": [{"text": "x"}]}, "string 'type'"),
        ({**GOOD, "entities": [{"type": "mention"}]}, "'mentioned' object"),
        ({**GOOD, "entities": [{"type": "Mention", "mentioned": {"id": 5}}]}, "'mentioned' object"),
        ({**GOOD, "entities": [{"type": "mention", "mentioned": {"id": "x"}}]}, "'text' or"),
        (
            {**GOOD, "entities": [{"type": "mention", "mentioned": {"id": "x"}, "text": 5}]},
            "must be strings",
        ),
        ({**GOOD, "membersAdded": [{"name": "x"}]}, "'membersAdded' needs an 'id'"),
        ({**GOOD, "membersRemoved": [{"id": ""}]}, "'membersRemoved' needs an 'id'"),
        (
            {**GOOD, "value": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]},
            "nested",
        ),
        (
            {**GOOD, "type": "invoke", "name": "adaptiveCard/action", "value": None},
            "Action.Execute",
        ),
        (
            {**GOOD, "type": "invoke", "name": "adaptiveCard/action", "value": {"action": {}}},
            "Action.Execute",
        ),
    ],
)
def test_bad_bodies_are_named(body: Any, reason: str) -> None:
    problem = activity_problem(body)
    assert problem is not None
    assert reason in problem


def test_teams_shaped_details_pass() -> None:
    mention = {
        "type": "mention",
        "text": "<at>MeetBot</at>",
        "mentioned": {"id": "28:meetbot", "name": "MeetBot"},
    }
    body = {
        **GOOD,
        "entities": [mention, {"type": "clientInfo", "locale": "en-US", "timezone": "UTC"}],
        "membersAdded": [{"id": "28:meetbot"}],
        "channelData": {
            "tenant": {"id": "t"},
            "team": {"id": "19:x"},
            "channel": {"id": "19:y"},
            "eventType": "teamMemberAdded",
            "onBehalfOf": [{"itemId": 0, "mentionType": "person", "mri": "29:z"}],
        },
    }
    assert activity_problem(body) is None
    execute = {
        **GOOD,
        "type": "invoke",
        "name": "adaptiveCard/action",
        "value": {
            "action": {"type": "Action.Execute", "verb": "createMeeting"},
            "trigger": "manual",
        },
    }
    assert activity_problem(execute) is None


def test_nesting_is_measured_without_recursion() -> None:
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    assert activity_problem({**GOOD, "value": deep}) is not None


@pytest.mark.parametrize(
    ("channel_data", "conversation", "tenant"),
    [
        ({"tenant": {"id": "T-1"}}, {"id": "c"}, "t-1"),
        ({}, {"id": "c", "tenantId": " t-2 "}, "t-2"),
        ({"tenant": {"id": "t-1"}}, {"id": "c", "tenantId": "T-1"}, "t-1"),
        ({"tenant": {"id": "t-1"}}, {"id": "c", "tenantId": "t-2"}, None),
        ({"tenant": {"id": 5}}, {"id": "c"}, None),
        ({"tenant": "t-1"}, {"id": "c"}, None),
        ({}, {"id": "c"}, None),
    ],
)
def test_the_tenant_is_read_from_channel_data_and_conversation(
    channel_data: dict[str, Any], conversation: dict[str, Any], tenant: str | None
) -> None:
    body = {**GOOD, "channelData": channel_data, "conversation": conversation}
    assert activity_tenant(body) == tenant


def test_the_allowlist_admits_listed_tenants_only() -> None:
    assert tenant_allowed(GOOD, frozenset())
    assert tenant_allowed(GOOD, frozenset({"tenant-1"}))
    assert not tenant_allowed(GOOD, frozenset({"tenant-2"}))
    anonymous = {**GOOD, "channelData": {}, "conversation": {"id": "c"}}
    assert tenant_allowed(anonymous, frozenset())
    assert not tenant_allowed(anonymous, frozenset({"tenant-1"}))
