"""People picked in the form, at the wire: conversation members, people outside the conversation
found in the directory (Graph `GET /users/{id}`), and ids nobody can use."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

import pytest
from aiohttp.test_utils import TestServer

from bot.core.request import Attendee, MeetingRequest
from bot.sandbox.graph import RECEIVED, DirectoryPerson
from tests.conftest import FakeChannel, activity
from tests.flows import (
    FORM,
    FakeTokenService,
    GraphFake,
    execute,
    oauth_cards,
    running_bot,
    serve_graph,
    serve_token_service,
)

MakeServer = Callable[..., Awaitable[TestServer]]
USER = "29:user-1"
CONVERSATION = "a:conversation-1"
ALEX = "1f35f2e6-9cab-44ad-8d5a-b74c14720000"  # a member of the conversation
ADELE = "2a46a3f7-0dbc-45be-9e6b-c85d25831111"  # in the organization, not in the conversation
NOBODY = "3b57b4a8-1ecd-46cf-8f7c-d96e36942222"  # no such user
MEMBERS_IN_DIRECTORY = "graph.microsoft.com/users"
FULL_SCOPES = frozenset({"OnlineMeetings.ReadWrite", "User.ReadBasic.All"})


@pytest.fixture
async def graph(aiohttp_server: MakeServer) -> GraphFake:
    people = [DirectoryPerson(ADELE, "adele@contoso.com", "Adele Vance")]
    return await serve_graph(aiohttp_server, GraphFake(directory=people))


@pytest.fixture
async def token_service(aiohttp_server: MakeServer, graph: GraphFake) -> FakeTokenService:
    fake = await serve_token_service(aiohttp_server)
    fake.tokens[USER] = graph.user_token(FULL_SCOPES)
    return fake


@pytest.fixture
def members(channel: FakeChannel) -> None:
    """Alex is a member of this conversation; Teams answers a member lookup by Entra id too."""
    channel.members[CONVERSATION] = {
        ALEX: {
            "id": "29:alex",
            "aadObjectId": ALEX,
            "name": "Alex Wilber",
            "userPrincipalName": "alex@contoso.com",
            "email": "alex@contoso.com",
            "tenantId": "tenant-1",
        }
    }


def form(**changes: str) -> dict[str, Any]:
    return {**FORM, "attendeeEmails": "", **changes}


def member_lookups(channel: FakeChannel) -> list[str]:
    assert {conversation for conversation, _ in channel.lookups} <= {CONVERSATION}
    return [member for _, member in channel.lookups]


def user_lookups(graph: GraphFake) -> list[tuple[str, str]]:
    return [
        (r.path.rsplit("/", 1)[-1], unquote(r.query_string))
        for r in graph.sandbox[RECEIVED]
        if r.method == "GET"
    ]


def attendees_sent(graph: GraphFake) -> list[dict[str, Any]]:
    bodies = graph.bodies()
    assert len(bodies) == 1, bodies
    return list(bodies[0].get("participants", {}).get("attendees", []))


def inputs(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in card["body"] if e["type"].startswith("Input.")}


def error_under(card: dict[str, Any], field: str) -> str | None:
    found = [e["text"] for e in card["body"] if e.get("id") == f"{field}Error"]
    return found[0] if found else None


def facts(card: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "FactSet":
                found.update({f["title"]: f["value"] for f in node["facts"]})
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(card)
    return found


async def submitted(bot: Any, channel: FakeChannel, data: dict[str, Any]) -> dict[str, Any]:
    response = await bot.send(execute(channel, data))
    assert response.status == 200
    body = await response.json()
    assert body["statusCode"] == 200
    return dict(body["value"])


@pytest.mark.usefixtures("members")
async def test_a_member_picked_is_invited_and_shown_by_name(
    channel: FakeChannel, graph: GraphFake, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url, GRAPH_BASE_URL=graph.url) as bot:
        card = await submitted(bot, channel, form(attendees=ALEX.upper()))
    assert member_lookups(channel) == [ALEX]
    assert user_lookups(graph) == []  # a member needs no directory
    assert attendees_sent(graph) == [
        {"identity": {"user": {"id": ALEX}}, "upn": "alex@contoso.com", "role": "attendee"}
    ]
    assert card["body"][0]["text"] == "Meeting created"
    assert "Alex Wilber" in str(card)
    assert ALEX not in str(card).lower()


async def test_someone_outside_the_conversation_is_found_in_the_directory_and_invited(
    channel: FakeChannel, graph: GraphFake, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url, GRAPH_BASE_URL=graph.url) as bot:
        card = await submitted(bot, channel, form(attendees=ADELE))
    assert member_lookups(channel) == [ADELE]  # Teams answered 404 MemberNotFoundInConversation
    assert user_lookups(graph) == [(ADELE, "$select=id,displayName,userPrincipalName,mail")]
    assert attendees_sent(graph) == [
        {"identity": {"user": {"id": ADELE}}, "upn": "adele@contoso.com", "role": "attendee"}
    ]
    assert "Adele Vance" in str(card)
    assert ADELE not in str(card)


@pytest.mark.usefixtures("members")
async def test_someone_the_directory_does_not_know_is_named_by_count_never_by_id(
    channel: FakeChannel, graph: GraphFake, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url, GRAPH_BASE_URL=graph.url) as bot:
        card = await submitted(bot, channel, form(attendees=f"{ALEX},{NOBODY}"))
    assert card["body"][0]["text"] == "Meeting created"
    assert [a["upn"] for a in attendees_sent(graph)] == ["alex@contoso.com"]
    assert "I couldn't invite 1 person you picked: I can't find that person" in str(card)
    assert NOBODY not in str(card)


async def test_without_permission_to_read_the_directory_the_meeting_is_made_and_it_says_why(
    channel: FakeChannel, graph: GraphFake, token_service: FakeTokenService
) -> None:
    token_service.tokens[USER] = graph.user_token(frozenset({"OnlineMeetings.ReadWrite"}))
    async with running_bot(OAUTH_URL=token_service.url, GRAPH_BASE_URL=graph.url) as bot:
        card = await submitted(bot, channel, form(attendees=ADELE))
    assert card["body"][0]["text"] == "Meeting created"
    assert attendees_sent(graph) == []
    assert "I'm not allowed to look people up" in str(card)
    assert "User.ReadBasic.All" in str(card)
    assert ADELE not in str(card)


@pytest.mark.usefixtures("members")
async def test_an_id_nobody_can_use_is_named_and_taken_out_of_the_form_so_the_next_submit_works(
    channel: FakeChannel, graph: GraphFake, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url, GRAPH_BASE_URL=graph.url) as bot:
        returned = await submitted(bot, channel, form(attendees=f"{ALEX},user-id-2"))
        assert graph.bodies() == []  # nothing sent to Graph
        fields = inputs(returned)
        assert fields["attendees"]["value"] == ALEX
        assert fields["attendees"]["choices"] == [{"title": "Alex Wilber", "value": ALEX}]
        assert fields["subject"]["value"] == "Design review"
        message = error_under(returned, "attendees")
        assert message is not None
        assert message.startswith("I can't invite “user-id-2”")
        # The user selects Create again on the form as it came back.
        values = {field["id"]: field.get("value", "") for field in fields.values()}
        card = await submitted(bot, channel, form(**values))
    assert card["body"][0]["text"] == "Meeting created"
    assert [a["upn"] for a in attendees_sent(graph)] == ["alex@contoso.com"]
    assert sorted(member_lookups(channel)) == sorted([ALEX, "user-id-2", ALEX])  # concurrent


async def test_a_name_typed_into_the_picker_is_taken_out_too(
    channel: FakeChannel, graph: GraphFake, token_service: FakeTokenService
) -> None:
    async with running_bot(OAUTH_URL=token_service.url, GRAPH_BASE_URL=graph.url) as bot:
        returned = await submitted(bot, channel, form(attendees=f"{ADELE},Alex Wilber"))
    assert graph.bodies() == []
    assert inputs(returned)["attendees"]["value"] == ADELE
    message = error_under(returned, "attendees")
    assert message is not None
    assert "“Alex Wilber” is not someone from the people search" in message


async def test_someone_picked_before_signing_in_is_invited_once_signed_in(
    channel: FakeChannel, graph: GraphFake, token_service: FakeTokenService
) -> None:
    token = token_service.tokens.pop(USER)
    async with running_bot(OAUTH_URL=token_service.url, GRAPH_BASE_URL=graph.url) as bot:
        returned = await submitted(bot, channel, form(attendees=ADELE))
        assert "Sign in with the card below" in str(returned)
        assert len(oauth_cards(channel)) == 1
        token_service.codes["123456"] = (USER, token)
        await bot.send(activity(channel.url, text="123456"))
        await bot.settle()
    assert attendees_sent(graph) == [
        {"identity": {"user": {"id": ADELE}}, "upn": "adele@contoso.com", "role": "attendee"}
    ]
    assert "Adele Vance" in str(channel.cards()[-1])


def test_an_attendee_known_only_by_directory_id_survives_being_kept_for_sign_in() -> None:
    request = MeetingRequest(
        tenant_id="t",
        conversation_id="c",
        organizer_id="o",
        subject="s",
        start="2026-11-24T15:00:00Z",  # type: ignore[arg-type]
        end="2026-11-24T16:00:00Z",  # type: ignore[arg-type]
        attendees=(Attendee(object_id=ADELE), Attendee(upn="Alex@Contoso.com")),
    )
    again = MeetingRequest.model_validate(request.model_dump(mode="json"))
    assert again == request
    assert [a.key for a in again.attendees] == [f"id:{ADELE}", "alex@contoso.com"]
    with pytest.raises(ValueError, match="email address or a directory id"):
        Attendee()
