"""The meeting form (Action.Execute and Action.Submit) and "Create meeting" on a message."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from botbuilder.core import CardFactory, InvokeResponse, MessageFactory, TurnContext
from botbuilder.schema import Activity, ActivityTypes

from bot.meetings.form import FormValues, InvalidForm, ValidForm, form_values, validate_form
from bot.meetings.prefill import message_people, prefill_from_message
from bot.meetings.request import MeetingRequest
from bot.meetings.service import Meetings, organizer_of, tenant_of, user_zone
from bot.signin import SignIn
from cards.elements import CARD_CONTENT_TYPE
from cards.form import CREATE_MEETING_VERB, meeting_form_card

_log = logging.getLogger(__name__)

# Teams gives an invoke about 5 s; keep Graph's share well inside it.
INVOKE_BUDGET_S = 3.5
CREATE_MEETING_COMMAND = "createMeeting"
FORM_ACTION = "createMeeting"


def _object(holder: Any, key: str) -> dict[str, Any]:
    """holder[key] when both are JSON objects, else an empty one: activities are untrusted."""
    value = holder.get(key) if isinstance(holder, dict) else None
    return value if isinstance(value, dict) else {}


def _value(context: TurnContext) -> dict[str, Any]:
    value = context.activity.value
    return value if isinstance(value, dict) else {}


def _text(holder: Any, key: str) -> str:
    value = holder.get(key) if isinstance(holder, dict) else None
    return value if isinstance(value, str) else ""


def _card_attachment(card: dict[str, Any]) -> dict[str, Any]:
    return {"contentType": CARD_CONTENT_TYPE, "content": card}


def _replace_card(card: dict[str, Any]) -> InvokeResponse:
    """The adaptiveCard/action answer that replaces the card the user acted on."""
    return InvokeResponse(
        status=200, body={"statusCode": 200, "type": CARD_CONTENT_TYPE, "value": card}
    )


def _task(card: dict[str, Any], title: str = "Create meeting") -> InvokeResponse:
    return InvokeResponse(
        status=200,
        body={
            "task": {
                "type": "continue",
                "value": {
                    "title": title,
                    "width": "medium",
                    "height": "large",
                    "card": _card_attachment(card),
                },
            }
        },
    )


class FormFlows:
    """Every form path feeds the same validation and the same canonical request."""

    def __init__(self, meetings: Meetings, signin: SignIn) -> None:
        self._meetings = meetings
        self._signin = signin

    def _form(
        self,
        context: TurnContext,
        values: FormValues | None = None,
        errors: Mapping[str, str] | None = None,
        *,
        message: str | None = None,
        for_task_module: bool = False,
        people: Sequence[tuple[str, str]] = (),
    ) -> dict[str, Any]:
        zone = user_zone(context.activity, self._meetings.default_zone)
        return meeting_form_card(
            values,
            errors,
            today=self._meetings.now().astimezone(zone).date(),
            message=message,
            for_task_module=for_task_module,
            people=people,
            zone_name=zone.key,
        )

    async def show(self, context: TurnContext) -> None:
        """`meet` alone, or the welcome card's New meeting: the empty form."""
        await context.send_activity(
            MessageFactory.attachment(CardFactory.adaptive_card(self._form(context)))
        )

    async def _request(
        self, context: TurnContext, data: Mapping[str, Any]
    ) -> tuple[MeetingRequest, tuple[str, ...]] | InvalidForm:
        activity = context.activity
        zone = user_zone(activity, self._meetings.default_zone)
        result = validate_form(data, now=self._meetings.now(), zone=zone)
        if isinstance(result, InvalidForm):
            return result
        assert isinstance(result, ValidForm)
        attendees, unresolved = await self._meetings.resolve_people(
            context, result.attendee_object_ids, result.emails
        )
        request = MeetingRequest(
            tenant_id=tenant_of(activity),
            conversation_id=activity.conversation.id,
            organizer_id=organizer_of(activity),
            subject=result.subject,
            start=result.start,
            end=result.end,
            attendees=tuple(attendees),
        )
        notes = ("Couldn't add: " + ", ".join(unresolved),) if unresolved else ()
        return request, notes

    async def _signed_in_outcome(
        self, context: TurnContext, request: MeetingRequest, notes: tuple[str, ...]
    ) -> dict[str, Any] | None:
        """The card to show, or None after asking the user to sign in (request kept)."""
        token = await self._signin.token(context)
        if token is not None:
            outcome = await self._meetings.outcome(
                context, token, request, notes, budget_s=INVOKE_BUDGET_S
            )
            if outcome.card is not None:
                return outcome.card
        await self._signin.prompt(context, request, notes)
        return None

    async def on_execute(self, context: TurnContext) -> InvokeResponse | None:
        """Universal Actions: `adaptiveCard/action` with the form's values; the answer replaces."""
        action = _value(context).get("action")
        if _text(action, "verb") != CREATE_MEETING_VERB:
            return None
        data = _object(action, "data")
        built = await self._request(context, data)
        if isinstance(built, InvalidForm):
            return _replace_card(self._form(context, built.values, built.errors))
        card = await self._signed_in_outcome(context, *built)
        if card is None:
            card = self._form(
                context,
                form_values(data),
                message="Sign in with the card below, then I'll "
                "create the meeting and post it here.",
            )
        return _replace_card(card)

    async def on_submit(self, context: TurnContext, value: Mapping[str, Any]) -> None:
        """The Action.Submit fallback (Web Chat, Emulator): update the form's message in place."""
        built = await self._request(context, value)
        if isinstance(built, InvalidForm):
            await self._update_form(context, self._form(context, built.values, built.errors))
            return
        await context.send_activity(Activity(type=ActivityTypes.typing))
        card = await self._signed_in_outcome(context, *built)
        if card is not None:
            await self._update_form(context, card)

    async def _update_form(self, context: TurnContext, card: dict[str, Any]) -> None:
        activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
        form_id = context.activity.reply_to_id
        if form_id:
            activity.id = form_id
            try:
                await context.update_activity(activity)
                return
            except Exception:
                _log.info("could not update the form's message; sending a new one", exc_info=True)
            activity.id = None
        await context.send_activity(activity)

    async def on_fetch_task(self, context: TurnContext) -> InvokeResponse:
        """`composeExtension/fetchTask`: the form, prefilled from the message when there is one."""
        value = _value(context)
        if value.get("commandId") not in (CREATE_MEETING_COMMAND, None, ""):
            return InvokeResponse(status=200, body={})
        state = value.get("state")
        token = await self._signin.token(context, state if isinstance(state, str) else None)
        if token is None:
            return await self._auth_answer(context)
        payload = _object(value, "messagePayload")
        if value.get("commandContext") != "message" or not payload:
            return _task(self._form(context, for_task_module=True))
        author, mentions = _people_of(payload)
        content = _text(_object(payload, "body"), "content")
        zone = user_zone(context.activity, self._meetings.default_zone)
        values = prefill_from_message(
            content, author=author, mentions=mentions, now=self._meetings.now(), zone=zone
        )
        return _task(
            self._form(
                context, values, for_task_module=True, people=message_people(author, mentions)
            )
        )

    async def _auth_answer(self, context: TurnContext) -> InvokeResponse:
        """Not signed in: Teams shows a sign-in link, then sends the invoke again with `state`."""
        link = await self._signin.sign_in_link(context)
        return InvokeResponse(
            status=200,
            body={
                "composeExtension": {
                    "type": "auth",
                    "suggestedActions": {
                        "actions": [{"type": "openUrl", "value": link, "title": "Sign in"}]
                    },
                }
            },
        )

    async def on_submit_action(self, context: TurnContext) -> InvokeResponse:
        """`composeExtension/submitAction`: validate, create, post the card, close the dialog."""
        data = _object(_value(context), "data")
        built = await self._request(context, data)
        if isinstance(built, InvalidForm):
            return _task(self._form(context, built.values, built.errors, for_task_module=True))
        card = await self._signed_in_outcome(context, *built)
        if card is not None:
            await context.send_activity(MessageFactory.attachment(CardFactory.adaptive_card(card)))
        return InvokeResponse(status=200, body={})


def _people_of(
    payload: Mapping[str, Any],
) -> tuple[tuple[str, str] | None, list[tuple[str, str]]]:
    """The message's author and mentioned users as (name, Entra object id)."""

    def person(holder: Any) -> tuple[str, str] | None:
        user = holder.get("user") if isinstance(holder, dict) else None
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            return None
        name = user.get("displayName")
        return (name if isinstance(name, str) else "", user["id"])

    author = person(payload.get("from"))
    mentions = []
    for mention in payload.get("mentions") or []:
        found = person(mention.get("mentioned")) if isinstance(mention, dict) else None
        if found is not None:
            mentions.append(found)
    return author, mentions
