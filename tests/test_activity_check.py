"""The edge's activity check names what is wrong with a body before botbuilder sees it."""

from __future__ import annotations

from typing import Any

import pytest

from bot.activity_check import activity_problem
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
    ],
)
def test_bad_bodies_are_named(body: Any, reason: str) -> None:
    problem = activity_problem(body)
    assert problem is not None
    assert reason in problem
