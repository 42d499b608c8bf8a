"""Translation between a botbuilder turn and the core's ports: `Turn`, `Message`, `InvokeAnswer`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import Activity, ActivityTypes, ConversationReference
from botframework.connector import Channels
from msrest.exceptions import HttpOperationError

from bot.auth.tokens import TokenServiceClient
from bot.core.ports import (
    ConversationGone,
    InvokeAnswer,
    IssuedToken,
    JsonObject,
    Member,
    Mention,
    Message,
    Origin,
    SignInResource,
    Spawn,
    Turn,
)
from bot.teams.activity_check import tenant_id
from bot.teams.adapter import MeetBotAdapter
from bot.teams.channel import ChannelError

# The token service client for this turn's activity (the Emulator may serve its own).
ClientFor = Callable[[], Awaitable[TokenServiceClient]]


def origin_of(activity: Activity, inbound: dict[str, Any] | None = None) -> Origin:
    """Who sent the activity and where, as the use cases read it (`inbound`: its JSON as it
    arrived, when there is one: botbuilder's model does not read `conversation.tenantId`)."""
    sender = activity.from_property
    bot_id = activity.recipient.id if activity.recipient else None
    return Origin(
        channel_id=activity.channel_id or "",
        conversation_id=activity.conversation.id,
        conversation_type=activity.conversation.conversation_type or "personal",
        tenant_id=tenant_id(activity.channel_data, _conversation_tenant(activity, inbound))
        or "local",
        user_id=str(sender.id if sender else ""),
        user_aad_id=getattr(sender, "aad_object_id", None) or None,
        bot_id=bot_id,
        locale=activity.locale or "en-us",
        zone_names=_zone_names(activity),
        reply_to_id=activity.reply_to_id,
        mentions=_mentions(activity, bot_id),
        user_name=(getattr(sender, "name", None) or None) if sender else None,
        address=_reference(activity, inbound),
    )


def _reference(activity: Activity, inbound: dict[str, Any] | None) -> JsonObject:
    """The conversation reference as the Bot Connector's JSON: from the activity's JSON as it
    arrived (no msrest work per turn), else from botbuilder's reference (a proactive turn)."""
    if inbound is not None:
        reference = {
            "channelId": inbound.get("channelId"),
            "serviceUrl": inbound.get("serviceUrl"),
            "conversation": inbound.get("conversation"),
            "bot": inbound.get("recipient"),
            "user": inbound.get("from"),
        }
        if isinstance(inbound.get("locale"), str):
            reference["locale"] = inbound["locale"]
        return reference
    serialized: JsonObject = TurnContext.get_conversation_reference(activity).serialize()
    serialized.pop("activityId", None)
    return serialized


def _conversation_tenant(activity: Activity, inbound: dict[str, Any] | None) -> Any:
    conversation = inbound.get("conversation") if inbound is not None else None
    if isinstance(conversation, dict):
        return conversation.get("tenantId")
    return activity.conversation.tenant_id


def _zone_names(activity: Activity) -> tuple[str, ...]:
    names = [activity.local_timezone]
    for entity in activity.entities or []:
        if getattr(entity, "type", None) == "clientInfo":
            names.append((entity.additional_properties or {}).get("timezone"))
    return tuple(name for name in names if isinstance(name, str) and name)


def _mentions(activity: Activity, bot_id: str | None) -> tuple[Mention, ...]:
    found = []
    for entity in activity.entities or []:
        if getattr(entity, "type", None) != "mention":
            continue
        props = entity.additional_properties or {}
        mentioned = props.get("mentioned")
        member_id = mentioned.get("id") if isinstance(mentioned, dict) else None
        text = props.get("text")
        if isinstance(member_id, str) and member_id != bot_id and isinstance(text, str):
            found.append(Mention(member_id, text))
    return tuple(found)


_ADAPTIVE = "application/vnd.microsoft.card.adaptive"
_OAUTH = "application/vnd.microsoft.card.oauth"
# Channels that do not thread replies (botbuilder's `apply_conversation_reference` rule).
_NO_REPLY_TO = frozenset({Channels.direct_line, Channels.webchat})


def message_json(message: Message) -> dict[str, Any]:
    """The message as the Bot Connector's activity JSON (before it is addressed)."""
    activity: dict[str, Any] = {"type": "message", "inputHint": "acceptingInput"}
    if message.text is not None:
        activity["text"] = message.text
    attachments = []
    if message.card is not None:
        attachments.append({"contentType": _ADAPTIVE, "content": message.card})
    if message.signin is not None:
        signin = message.signin
        content: dict[str, Any] = {
            "text": signin.text,
            "connectionName": signin.connection_name,
            "buttons": [{"type": "signin", "title": "Sign in", "value": signin.link}],
        }
        if signin.exchange is not None:
            content["tokenExchangeResource"] = signin.exchange
        attachments.append({"contentType": _OAUTH, "content": content})
    if attachments:
        activity["attachmentLayout"] = "list"
        activity["attachments"] = attachments
    return activity


def address_of(context: TurnContext, inbound: dict[str, Any] | None) -> dict[str, Any]:
    """Where replies to this turn go: its conversation, from the bot to the sender, as a reply
    to the activity. From the activity's JSON as it arrived when there is one (a proactive
    turn has none), so that no msrest model is written for each reply."""
    activity = context.activity
    if inbound is not None:
        address: dict[str, Any] = {
            "channelId": inbound.get("channelId"),
            "serviceUrl": inbound["serviceUrl"],
            "conversation": inbound["conversation"],
            "from": inbound.get("recipient"),
            "recipient": inbound.get("from"),
        }
        if isinstance(inbound.get("locale"), str):
            address["locale"] = inbound["locale"]
        # Left out when the activity had none, as msrest leaves out None.
        address = {key: value for key, value in address.items() if value is not None}
    else:
        reference = TurnContext.get_conversation_reference(activity).serialize()
        address = {
            "channelId": reference.get("channelId"),
            "serviceUrl": reference.get("serviceUrl"),
            "conversation": reference.get("conversation"),
            "from": reference.get("bot"),
            "recipient": reference.get("user"),
        }
        if reference.get("locale"):
            address["locale"] = reference["locale"]
    if (
        activity.id
        and activity.type != ActivityTypes.conversation_update
        and activity.channel_id not in _NO_REPLY_TO
    ):
        address["replyToId"] = activity.id
    return address


def invoke_response(answer: InvokeAnswer) -> InvokeResponse:
    return InvokeResponse(status=answer.status, body=answer.body)


class BotConversation:
    """The turn's conversation: the core's messages sent as Bot Connector JSON."""

    def __init__(self, context: TurnContext, adapter: MeetBotAdapter) -> None:
        self._context = context
        self._adapter = adapter
        self._address = address_of(context, context.turn_state.get(adapter.INBOUND_JSON_KEY))

    async def send(self, message: Message) -> str | None:
        return await self._adapter.post_json(
            self._context, {**message_json(message), **self._address}
        )

    async def update(self, message_id: str, message: Message) -> None:
        await self._adapter.put_json(
            self._context, message_id, {**message_json(message), **self._address}
        )

    async def typing(self) -> None:
        await self._adapter.post_json(self._context, {"type": "typing", **self._address})


class TurnTokens:
    """The token service for this turn's user and channel."""

    def __init__(self, client: ClientFor, connection: str, activity: Activity) -> None:
        self._client = client
        self._connection = connection
        self._activity = activity

    def _who(self) -> tuple[str, str, str]:
        sender = self._activity.from_property
        return (str(sender.id if sender else ""), self._connection, self._activity.channel_id)

    async def get(self, magic_code: str | None = None) -> IssuedToken | None:
        return await (await self._client()).get_token(*self._who(), magic_code)

    async def sign_in_resource(self) -> SignInResource:
        reference = TurnContext.get_conversation_reference(self._activity)
        relates_to = self._activity.relates_to
        return await (await self._client()).sign_in_resource(
            self._connection,
            reference.serialize(),
            relates_to.serialize() if relates_to is not None else None,
        )

    async def exchange(self, sso_token: str) -> IssuedToken | None:
        return await (await self._client()).exchange(*self._who(), sso_token)

    async def sign_out(self) -> None:
        await (await self._client()).sign_out(*self._who())


class TeamsPeople:
    """Members of this conversation, looked up through the Bot Connector (Teams only)."""

    def __init__(self, context: TurnContext) -> None:
        self._context = context

    async def member(self, member_id: str) -> Member | None:
        try:
            found: Any = await TeamsInfo.get_member(self._context, member_id)
        except HttpOperationError as error:
            # Teams answers 404 (MemberNotFoundInConversation) for anyone outside it.
            if error.response is not None and error.response.status_code == 404:
                return None
            raise
        upn = getattr(found, "user_principal_name", None) or getattr(found, "email", None)
        return Member(
            upn=upn or None,
            aad_object_id=getattr(found, "aad_object_id", None),
            name=getattr(found, "name", None),
        )


class Turns:
    """Makes the core's `Turn` for a botbuilder turn, and continues conversations later."""

    def __init__(self, adapter: MeetBotAdapter, connection_name: str, spawn: Spawn) -> None:
        self._adapter = adapter
        self._connection = connection_name
        self._spawn = spawn

    def of(self, context: TurnContext) -> Turn:
        activity = context.activity
        return Turn(
            origin=origin_of(activity, context.turn_state.get(self._adapter.INBOUND_JSON_KEY)),
            conversation=BotConversation(context, self._adapter),
            tokens=TurnTokens(
                lambda: self._adapter.token_client_for(context), self._connection, activity
            ),
            people=TeamsPeople(context),
            later=lambda work: self._later(activity, work),
        )

    def _later(self, activity: Activity, work: Callable[[Turn], Awaitable[None]]) -> None:
        reference = TurnContext.get_conversation_reference(activity)

        async def run(context: TurnContext) -> None:
            await work(self.of(context))

        # With the bot's app id, so that production sends carry the app's token.
        self._spawn(
            self._adapter.continue_conversation(reference, run, self._adapter.app_id or None)
        )


class ProactiveConversations:
    """Posts in a conversation by its stored reference: botbuilder's `continue_conversation`
    with the bot's app id (so production sends carry the app's token), then a new message to
    the conversation (not a reply to any activity)."""

    def __init__(self, adapter: MeetBotAdapter) -> None:
        self._adapter = adapter

    async def send(self, address: JsonObject, message: Message) -> None:
        reference = ConversationReference().deserialize(address)
        failure: list[BaseException] = []

        async def post(context: TurnContext) -> None:
            activity = {
                **message_json(message),
                "channelId": address.get("channelId"),
                "serviceUrl": address.get("serviceUrl"),
                "conversation": address.get("conversation"),
                "from": address.get("bot"),
                "recipient": address.get("user"),
            }
            if isinstance(address.get("locale"), str):
                activity["locale"] = address["locale"]
            try:
                await self._adapter.post_json(context, activity)
            except ChannelError as error:
                # Kept from the turn pipeline, whose error handler would post about it.
                failure.append(
                    ConversationGone(error.status) if error.status in (403, 404) else error
                )
            except Exception as error:
                failure.append(error)

        await self._adapter.continue_conversation(reference, post, self._adapter.app_id or None)
        if failure:
            raise failure[0]
