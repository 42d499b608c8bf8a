"""What the edge tells the use cases about an activity: tenant, sender, zone, mentions."""

from __future__ import annotations

from typing import Any

from botbuilder.schema import Activity

from bot.teams.turns import origin_of
from tests.conftest import activity


def _origin(**changes: Any) -> Any:
    body = activity("http://127.0.0.1:1", **changes)
    return origin_of(Activity().deserialize(body), body)


def test_the_tenant_is_read_from_either_place_the_activity_names_it() -> None:
    assert _origin().tenant_id == "tenant-1"
    assert _origin(channelData={}).tenant_id == "tenant-1"  # conversation.tenantId alone
    only_channel_data = {"id": "a:c", "conversationType": "personal"}
    assert _origin(conversation=only_channel_data).tenant_id == "tenant-1"


def test_two_different_tenants_are_no_tenant() -> None:
    assert _origin(channelData={"tenant": {"id": "tenant-2"}}).tenant_id == "local"


def test_the_sender_zone_and_mentions() -> None:
    origin = _origin(
        localTimezone="Europe/Paris",
        entities=[
            {"type": "clientInfo", "timezone": "America/New_York"},
            {"type": "mention", "mentioned": {"id": "28:meetbot"}, "text": "<at>MeetBot</at>"},
            {"type": "mention", "mentioned": {"id": "29:alex"}, "text": "<at>Alex</at>"},
        ],
    )
    assert (origin.user_id, origin.organizer_id) == ("29:user-1", "5f0e0000-user")
    assert origin.zone_names == ("Europe/Paris", "America/New_York")
    assert [(m.member_id, m.text) for m in origin.mentions] == [("29:alex", "<at>Alex</at>")]
