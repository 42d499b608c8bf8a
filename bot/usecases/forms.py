"""The meeting form (Action.Execute and Action.Submit) and "Create meeting" on a message."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from botbuilder.core import CardFactory, InvokeResponse, MessageFactory, TurnContext

from bot.auth.signin import SignIn
from bot.core.form import FormValues, InvalidForm, ValidForm, form_values, validate_form
from bot.core.prefill import message_people, prefill_from_message
from bot.core.request import MeetingRequest
from bot.usecases.busy import typing_while_slow
from bot.usecases.meetings import (
    MESSAGE_BUDGET_S,
    Meetings,
    Outcome,
    Spawn,
    request_in,
    user_zone,
)
from cards.elements import CARD_CONTENT_TYPE
from cards.form import CREATE_MEETING_VERB, meeting_form_card
from cards.meeting import working_card

_log = logging.getLogger(__name__)

# Teams gives an invoke about 5 s: answer by then, and let a slow Graph finish afterwards.
INVOKE_WAIT_S = 3.5
CREATE_MEETING_COMMAND = "createMeeting"
# How a result that arrives after the invoke was answered reaches the user.
Deliver = Callable[[TurnContext, dict[str, Any]], Awaitable[None]]
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

    def __init__(self, meetings: Meetings, signin: SignIn, spawn: Spawn) -> None:
        self._meetings = meetings
        self._signin = signin
        self._spawn = spawn

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
        request = request_in(activity, result.subject, result.start, result.end, attendees)
        notes = ("Couldn't add: " + ", ".join(unresolved),) if unresolved else ()
        return request, notes

    async def _signed_in_outcome(
        self, context: TurnContext, request: MeetingRequest, notes: tuple[str, ...]
    ) -> dict[str, Any] | None:
        """The card to show, or None after asking the user to sign in (request kept)."""
        token = await self._signin.token(context)
        if token is not None:
            outcome = await self._meetings.outcome(
                context, token, request, notes, budget_s=MESSAGE_BUDGET_S
            )
            if outcome.card is not None:
                return outcome.card
        await self._signin.prompt(context, request, notes)
        return None

    async def _answer_within_deadline(
        self,
        context: TurnContext,
        request: MeetingRequest,
        notes: tuple[str, ...],
        deliver_later: Deliver,
    ) -> dict[str, Any] | None:
        """Like `_signed_in_outcome`, but an invoke's answer cannot wait for a slow Graph: after
        INVOKE_WAIT_S it is a "creating" card, and the result is delivered when it comes."""
        token = await self._signin.token(context)
        if token is None:
            await self._signin.prompt(context, request, notes)
            return None
        work = asyncio.ensure_future(
            self._meetings.outcome(context, token, request, notes, budget_s=MESSAGE_BUDGET_S)
        )
        done, _ = await asyncio.wait({work}, timeout=INVOKE_WAIT_S)
        if work not in done:
            self._finish_later(context, request, notes, work, deliver_later)
            return working_card(request.subject)
        card = work.result().card
        if card is None:
            await self._signin.prompt(context, request, notes)
        return card

    def _finish_later(
        self,
        context: TurnContext,
        request: MeetingRequest,
        notes: tuple[str, ...],
        work: asyncio.Future[Outcome],
        deliver: Deliver,
    ) -> None:
        reference = TurnContext.get_conversation_reference(context.activity)

        async def finish() -> None:
            outcome = await work

            async def answer(proactive: TurnContext) -> None:
                if outcome.card is None:
                    await self._signin.prompt(proactive, request, notes)
                else:
                    await deliver(proactive, outcome.card)

            await context.adapter.continue_conversation(reference, answer, None)

        self._spawn(finish())

    async def on_execute(self, context: TurnContext) -> InvokeResponse | None:
        """Universal Actions: `adaptiveCard/action` with the form's values; the answer replaces."""
        action = _value(context).get("action")
        if _text(action, "verb") != CREATE_MEETING_VERB:
            return None
        data = _object(action, "data")
        built = await self._request(context, data)
        if isinstance(built, InvalidForm):
            return _replace_card(self._form(context, built.values, built.errors))
        form_id = context.activity.reply_to_id

        async def replace_later(proactive: TurnContext, card: dict[str, Any]) -> None:
            await _update_or_send(proactive, card, form_id)

        card = await self._answer_within_deadline(context, *built, replace_later)
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
        async with typing_while_slow(context):
            card = await self._signed_in_outcome(context, *built)
        if card is not None:
            await self._update_form(context, card)

    async def _update_form(self, context: TurnContext, card: dict[str, Any]) -> None:
        await _update_or_send(context, card, context.activity.reply_to_id)

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
        card = await self._answer_within_deadline(context, *built, _post)
        if card is not None:
            await _post(context, card)
        return InvokeResponse(status=200, body={})


async def _post(context: TurnContext, card: dict[str, Any]) -> None:
    await context.send_activity(MessageFactory.attachment(CardFactory.adaptive_card(card)))


async def _update_or_send(context: TurnContext, card: dict[str, Any], card_id: str | None) -> None:
    """Replace the card the user acted on; when the client cannot, post the new one."""
    activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
    if card_id:
        activity.id = card_id
        try:
            await context.update_activity(activity)
            return
        except Exception:
            _log.info("could not update the card's message; sending a new one", exc_info=True)
        activity.id = None
    await context.send_activity(activity)


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
    listed = payload.get("mentions")
    for mention in listed if isinstance(listed, list) else []:
        found = person(mention.get("mentioned")) if isinstance(mention, dict) else None
        if found is not None:
            mentions.append(found)
    return author, mentions
