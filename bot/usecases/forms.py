"""The meeting form (Action.Execute and Action.Submit) and "Create meeting" on a message."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.auth.signin import SignIn
from bot.auth.tokens import TokenServiceError
from bot.core.form import (
    FormValues,
    InvalidForm,
    form_values,
    picked_ids,
    unusable_people_message,
    validate_form,
    without_picked,
)
from bot.core.ports import InvokeAnswer, Message, Turn
from bot.core.prefill import message_people, prefill_from_message
from bot.core.request import MAX_ATTENDEES, Attendee, MeetingRequest
from bot.usecases.busy import typing_while_slow
from bot.usecases.meetings import (
    MESSAGE_BUDGET_S,
    SIGNIN_DOWN_KEPT,
    Meetings,
    Outcome,
    request_in,
)
from bot.usecases.people import Picked, resolve_picked
from cards.elements import CARD_CONTENT_TYPE
from cards.form import CREATE_MEETING_VERB, meeting_form_card
from cards.meeting import signin_unavailable_card, working_card

_log = logging.getLogger(__name__)

# Teams gives an invoke about 5 s: answer by then, and let a slow Graph finish afterwards.
INVOKE_WAIT_S = 3.5
CREATE_MEETING_COMMAND = "createMeeting"
# How a result that arrives after the invoke was answered reaches the user.
Deliver = Callable[[Turn, dict[str, Any]], Awaitable[None]]
FORM_ACTION = "createMeeting"
# The form comes back with one of these when the user must sign in first.
SIGN_IN_FIRST = "Sign in with the card below, then I'll create the meeting and post it here."
SIGN_IN_NOT_KEPT = (
    "Sign in with the card below, then select Create again: "
    "I couldn't keep this form while you sign in (my storage isn't working right now)."
)
# ... or when Microsoft's sign-in service (the token service) failed.
SIGNIN_DOWN_FORM = (
    "Sign-in is unavailable right now: Microsoft's sign-in service isn't answering. "
    "This isn't anything you did. Your form is kept: select Create again in a minute."
)
SIGNIN_DOWN_DIALOG = (
    "Microsoft's sign-in service isn't answering right now, so I can't check your sign-in. "
    "This isn't anything you did. Close this and try again in a minute."
)


@dataclass(frozen=True)
class Refused:
    """The form goes back: the values (anyone who cannot be invited taken out), one message per
    field, and the names of the people picked, so the picker shows names, not ids."""

    values: FormValues
    errors: dict[str, str]
    people: tuple[tuple[str, str], ...] = ()


class Prompted:
    """The user was asked to sign in; `kept` says whether the request waits for them."""

    def __init__(self, kept: bool) -> None:
        self.kept = kept


def _object(holder: Any, key: str) -> dict[str, Any]:
    """holder[key] when both are JSON objects, else an empty one: activities are untrusted."""
    value = holder.get(key) if isinstance(holder, dict) else None
    return value if isinstance(value, dict) else {}


def _text(holder: Any, key: str) -> str:
    value = holder.get(key) if isinstance(holder, dict) else None
    return value if isinstance(value, str) else ""


def _card_attachment(card: dict[str, Any]) -> dict[str, Any]:
    return {"contentType": CARD_CONTENT_TYPE, "content": card}


def _replace_card(card: dict[str, Any]) -> InvokeAnswer:
    """The adaptiveCard/action answer that replaces the card the user acted on."""
    return InvokeAnswer(
        status=200, body={"statusCode": 200, "type": CARD_CONTENT_TYPE, "value": card}
    )


def _task(card: dict[str, Any], title: str = "Create meeting") -> InvokeAnswer:
    return InvokeAnswer(
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
        turn: Turn,
        values: FormValues | None = None,
        errors: Mapping[str, str] | None = None,
        *,
        message: str | None = None,
        for_task_module: bool = False,
        people: Sequence[tuple[str, str]] = (),
    ) -> dict[str, Any]:
        zone = self._meetings.zone(turn.origin)
        return meeting_form_card(
            values,
            errors,
            today=self._meetings.now().astimezone(zone).date(),
            message=message,
            for_task_module=for_task_module,
            people=people,
            zone_name=zone.key,
        )

    async def show(self, turn: Turn) -> None:
        """`meet` alone, or the welcome card's New meeting: the empty form."""
        await turn.conversation.send(Message.of_card(self._form(turn)))

    async def _request(
        self, turn: Turn, data: Mapping[str, Any]
    ) -> tuple[MeetingRequest, tuple[str, ...]] | Refused:
        """The canonical request, or the form to send back. Picked people are looked up here:
        members by name and UPN, anyone else in the organization by directory id (named after
        sign-in); an id neither can use is named in a message and taken out of the form."""
        zone = self._meetings.zone(turn.origin)
        result = validate_form(data, now=self._meetings.now(), zone=zone)
        if isinstance(result, InvalidForm):
            values, errors = result.values, dict(result.errors)
            ids = picked_ids(values.attendees) if "attendees" not in errors else ()
        else:
            values, errors, ids = form_values(data), {}, result.picked_ids
        picked = await resolve_picked(turn, ids) if len(ids) <= MAX_ATTENDEES else Picked((), ())
        if picked.unusable:
            values = without_picked(values, picked.unusable)
            errors["attendees"] = unusable_people_message(picked.unusable)
        if isinstance(result, InvalidForm) or errors:
            return Refused(values, errors, picked.named)
        unique: dict[str, Attendee] = {}
        for attendee in (*picked.attendees, *(Attendee(upn=email) for email in result.emails)):
            unique.setdefault(attendee.key, attendee)
        attendees = list(unique.values())
        request = request_in(
            turn.origin,
            result.subject,
            result.start,
            result.end,
            attendees,
            result.reminder_minutes,
        )
        if result.options is not None:
            request = request.model_copy(update={"options": result.options})
        return request, ()

    async def _signed_in_outcome(
        self, turn: Turn, request: MeetingRequest, notes: tuple[str, ...]
    ) -> dict[str, Any] | None:
        """The card to show in place of the form, or None after asking the user to sign in
        (request kept); when the token service fails, the card that says so, with Try again."""
        try:
            token = await self._signin.token(turn)
            if token is not None:
                outcome = await self._meetings.outcome(
                    turn,
                    token,
                    request,
                    notes,
                    budget_s=MESSAGE_BUDGET_S,
                    card_id=turn.origin.reply_to_id,
                )
                if outcome.card is not None:
                    return outcome.card
            await self._signin.prompt(turn, request, notes)
        except TokenServiceError:
            return signin_unavailable_card(
                SIGNIN_DOWN_KEPT, retry=self._meetings.retry_data(request)
            )
        return None

    async def _answer_within_deadline(
        self,
        turn: Turn,
        request: MeetingRequest,
        notes: tuple[str, ...],
        deliver_later: Deliver,
    ) -> dict[str, Any] | Prompted:
        """Like `_signed_in_outcome`, but an invoke's answer cannot wait for a slow Graph: after
        INVOKE_WAIT_S it is a "creating" card, and the result is delivered when it comes.
        Raises `TokenServiceError` when the token service fails (the caller says so)."""
        token = await self._signin.token(turn)
        if token is None:
            return Prompted(await self._signin.prompt(turn, request, notes))
        work = asyncio.ensure_future(
            self._meetings.outcome(
                turn,
                token,
                request,
                notes,
                budget_s=MESSAGE_BUDGET_S,
                card_id=turn.origin.reply_to_id,
            )
        )
        done, _ = await asyncio.wait({work}, timeout=INVOKE_WAIT_S)
        if work not in done:
            self._finish_later(turn, request, notes, work, deliver_later)
            return working_card(request.subject)
        card = work.result().card
        if card is None:
            return Prompted(await self._signin.prompt(turn, request, notes))
        return card

    def _finish_later(
        self,
        turn: Turn,
        request: MeetingRequest,
        notes: tuple[str, ...],
        work: asyncio.Future[Outcome],
        deliver: Deliver,
    ) -> None:
        async def answer(later: Turn) -> None:
            outcome = await work
            if outcome.card is None:
                try:
                    await self._signin.prompt(later, request, notes)
                except TokenServiceError:
                    card = signin_unavailable_card(
                        SIGNIN_DOWN_KEPT, retry=self._meetings.retry_data(request)
                    )
                    await deliver(later, card)
            else:
                await deliver(later, outcome.card)

        turn.later(answer)

    async def on_execute(self, turn: Turn, value: Any) -> InvokeAnswer | None:
        """Universal Actions: `adaptiveCard/action` with the form's values; the answer replaces."""
        action = value.get("action") if isinstance(value, dict) else None
        if _text(action, "verb") != CREATE_MEETING_VERB:
            return None
        data = _object(action, "data")
        built = await self._request(turn, data)
        if isinstance(built, Refused):
            return _replace_card(self._form(turn, built.values, built.errors, people=built.people))
        form_id = turn.origin.reply_to_id

        async def replace_later(later: Turn, card: dict[str, Any]) -> None:
            await _update_or_send(later, card, form_id)

        try:
            answer = await self._answer_within_deadline(turn, *built, replace_later)
        except TokenServiceError:
            return _replace_card(self._form(turn, form_values(data), message=SIGNIN_DOWN_FORM))
        if isinstance(answer, Prompted):
            message = SIGN_IN_FIRST if answer.kept else SIGN_IN_NOT_KEPT
            return _replace_card(self._form(turn, form_values(data), message=message))
        return _replace_card(answer)

    async def on_submit(self, turn: Turn, value: Mapping[str, Any]) -> None:
        """The Action.Submit fallback (Web Chat, Emulator): update the form's message in place."""
        built = await self._request(turn, value)
        if isinstance(built, Refused):
            await self._update_form(
                turn, self._form(turn, built.values, built.errors, people=built.people)
            )
            return
        async with typing_while_slow(turn.conversation):
            card = await self._signed_in_outcome(turn, *built)
        if card is not None:
            await self._update_form(turn, card)

    async def _update_form(self, turn: Turn, card: dict[str, Any]) -> None:
        await _update_or_send(turn, card, turn.origin.reply_to_id)

    async def on_fetch_task(self, turn: Turn, value: Any) -> InvokeAnswer:
        """`composeExtension/fetchTask`: the form, prefilled from the message when there is one."""
        value = value if isinstance(value, dict) else {}
        if value.get("commandId") not in (CREATE_MEETING_COMMAND, None, ""):
            return InvokeAnswer(status=200, body={})
        state = value.get("state")
        try:
            token = await self._signin.token(turn, state if isinstance(state, str) else None)
            if token is None:
                return await self._auth_answer(turn)
        except TokenServiceError:
            return _task(signin_unavailable_card(SIGNIN_DOWN_DIALOG), title="Sign-in unavailable")
        payload = _object(value, "messagePayload")
        if value.get("commandContext") != "message" or not payload:
            return _task(self._form(turn, for_task_module=True))
        author, mentions = _people_of(payload)
        content = _text(_object(payload, "body"), "content")
        values = prefill_from_message(
            content,
            author=author,
            mentions=mentions,
            now=self._meetings.now(),
            zone=self._meetings.zone(turn.origin),
        )
        return _task(
            self._form(turn, values, for_task_module=True, people=message_people(author, mentions))
        )

    async def _auth_answer(self, turn: Turn) -> InvokeAnswer:
        """Not signed in: Teams shows a sign-in link, then sends the invoke again with `state`."""
        link = (await turn.tokens.sign_in_resource()).link
        return InvokeAnswer(
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

    async def on_submit_action(self, turn: Turn, value: Any) -> InvokeAnswer:
        """`composeExtension/submitAction`: validate, create, post the card, close the dialog."""
        data = _object(value, "data")
        built = await self._request(turn, data)
        if isinstance(built, Refused):
            form = self._form(
                turn, built.values, built.errors, for_task_module=True, people=built.people
            )
            return _task(form)
        try:
            answer = await self._answer_within_deadline(turn, *built, _post)
        except TokenServiceError:
            return _task(
                self._form(turn, form_values(data), message=SIGNIN_DOWN_FORM, for_task_module=True)
            )
        if not isinstance(answer, Prompted):
            await _post(turn, answer)
        return InvokeAnswer(status=200, body={})


async def _post(turn: Turn, card: dict[str, Any]) -> None:
    await turn.conversation.send(Message.of_card(card))


async def _update_or_send(turn: Turn, card: dict[str, Any], card_id: str | None) -> None:
    """Replace the card the user acted on; when the client cannot, post the new one."""
    message = Message.of_card(card)
    if card_id:
        try:
            await turn.conversation.update(card_id, message)
            return
        except Exception:
            _log.info("could not update the card's message; sending a new one", exc_info=True)
    await turn.conversation.send(message)


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
