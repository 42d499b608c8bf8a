"""The meeting use cases: `meet`, `list`, `signout`, Try again, and finishing after sign-in."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from bot.auth.signin import MAGIC_CODE, ExchangeDuplicate, ExchangeRefused, SignIn, token_from_event
from bot.auth.tokens import TokenServiceError
from bot.core.calendar import CalendarFiles, meeting_event, outlook_link
from bot.core.commands import Command
from bot.core.ledger import Ledger, holds, shown, with_meeting
from bot.core.limits import RateLimiter, meetings_limit_message
from bot.core.managed import CREATE_AGAIN, ManagedMeeting, managed_key
from bot.core.online_meeting import OnlineMeeting
from bot.core.parse import ParseError, Unsure, parse_meeting
from bot.core.ports import Directory, InvokeAnswer, Message, Origin, RecordStore, Turn
from bot.core.prefill import prefill_from_unsure
from bot.core.reminders import Reminder, lead_text, take_reminder
from bot.core.request import Attendee, MeetingRequest
from bot.graph import Attendee as GraphAttendee
from bot.graph import (
    CreateOrGetRequest,
    CreateOrGetResult,
    GraphAuthError,
    GraphError,
    OnlineMeetingsApi,
)
from bot.usecases.busy import typing_while_slow
from bot.usecases.new_options import apply_options
from bot.usecases.people import name_from_directory
from bot.usecases.reminders import Reminders
from cards.form import meeting_form_card
from cards.lists import meeting_list_card
from cards.manage import cancelled_before_card
from cards.meeting import (
    MeetingView,
    meeting_card,
    problem_card,
    signin_unavailable_card,
    when_text,
)

_log = logging.getLogger(__name__)

MESSAGE_BUDGET_S = 12.0
RETRY_ACTION = "retry"

# What the user is told when Microsoft's sign-in service (the token service) fails.
SIGNIN_DOWN_KEPT = (
    "Microsoft's sign-in service isn't answering right now, so I can't check your sign-in. "
    "This isn't anything you did. Your request is kept: select Try again in a minute."
)
SIGNIN_DOWN_CODE = (
    "Microsoft's sign-in service isn't answering right now, so I couldn't check your code. "
    "This isn't anything you did. Your request is kept: send the code again in a minute."
)
SIGNIN_DOWN_SIGNOUT = (
    "I've forgotten your sign-in here, but Microsoft's sign-in service isn't answering right "
    "now, so you may still be signed in there. Type **signout** again in a minute."
)
# On every meeting card in local mode.
STAND_IN_NOTE = (
    "Local mode: the built-in sandbox made this meeting. Its Join, dial-in and "
    '"Find a local number" links are stand-ins shaped like Teams\' own and lead nowhere.'
)
# On a meeting card whose meeting Graph made but the conversation's ledger did not take.
NOT_LISTED_NOTE = (
    "I couldn't keep this meeting in this conversation's list, so `list` won't show it."
)
NO_REMINDER_NOTE = "I couldn't set up a reminder for this meeting (my storage isn't working)."


def user_zone(origin: Origin, default: ZoneInfo) -> ZoneInfo:
    """The first zone the client named that exists, else the bot's default."""
    for name in origin.zone_names:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return default


def request_in(
    origin: Origin,
    subject: str,
    start: datetime,
    end: datetime,
    attendees: Sequence[Attendee],
    reminder_minutes: int | None = None,
) -> MeetingRequest:
    """The meeting request its sender makes in this conversation and tenant."""
    return MeetingRequest(
        tenant_id=origin.tenant_id,
        conversation_id=origin.conversation_id,
        organizer_id=origin.organizer_id,
        subject=subject,
        start=start,
        end=end,
        attendees=tuple(attendees),
        reminder_minutes=reminder_minutes,
    )


def ledger_key(origin: Origin) -> str:
    """One ledger per conversation; a channel's reply threads share their channel's."""
    parts = [origin.channel_id, origin.conversation_id.split(";")[0]]
    return "ledger/" + hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:40]


def is_magic_code(text: str) -> bool:
    return bool(MAGIC_CODE.match(text.strip()))


@dataclass(frozen=True)
class Outcome:
    """What to show for a request: a meeting or problem card; None means sign in again."""

    card: dict[str, Any] | None


class ConversationLedger:
    """The meetings MeetBot made in each conversation (behind `list` and the rate limit).

    Bookkeeping only: when the store fails, a meeting is still created and shown (see
    `Meetings.outcome`); only `list` misses it, and the card says so.
    """

    def __init__(self, records: RecordStore) -> None:
        self._records = records

    async def read(self, key: str) -> Ledger | None:
        ledger, _etag = await self._records.get(key)
        return ledger

    async def add(self, key: str, entry: dict[str, Any]) -> None:
        """Add `entry` as the conversation's newest meeting."""
        await self._records.update(key, lambda ledger: with_meeting(ledger, entry))


class Meetings:
    """Creates meetings for the people talking to the bot."""

    def __init__(
        self,
        graph: OnlineMeetingsApi,
        signin: SignIn,
        records: RecordStore,
        calendar: CalendarFiles,
        *,
        default_zone: ZoneInfo,
        clock: Callable[[], float] = time.time,
        rate: RateLimiter | None = None,
        directory: Directory | None = None,
        stand_ins: bool = False,
        reminders: Reminders | None = None,
    ) -> None:
        self._graph = graph
        self._reminders = reminders
        self._directory = directory
        # Local mode: the sandbox's meetings have join and dial-in links that lead nowhere.
        self._stand_ins = stand_ins
        self._signin = signin
        self._records = records
        self._ledger = ConversationLedger(records)
        self._calendar = calendar
        self._default_zone = default_zone
        self._clock = clock
        self._rate = rate

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    @property
    def ledger(self) -> ConversationLedger:
        return self._ledger

    def zone(self, origin: Origin) -> ZoneInfo:
        return user_zone(origin, self._default_zone)

    # -- commands -------------------------------------------------------------------------

    async def on_meet(self, turn: Turn, command: Command) -> None:
        origin = turn.origin
        text, reminder_minutes = take_reminder(command.args)
        parsed = parse_meeting(
            text,
            now=self.now(),
            zone=self.zone(origin),
            culture=(origin.locale or "en-us").lower(),
            mention_texts=[mention.text for mention in origin.mentions],
        )
        if isinstance(parsed, ParseError):
            await turn.conversation.send(Message(text=parsed.message))
            return
        mentioned = [
            (mention.member_id, mention.text.replace("<at>", "").replace("</at>", "").strip())
            for mention in origin.mentions
        ]
        attendees, unresolved = await self.people(turn, mentioned, parsed.emails)
        if isinstance(parsed, Unsure):
            await self._ask(turn, parsed, attendees)
            return
        request = request_in(
            origin, parsed.subject, parsed.start, parsed.end, attendees, reminder_minutes
        )
        notes = []
        if parsed.rolled_forward:
            notes.append("That time had already passed today, so this is the next one.")
        if parsed.assumed:
            notes.append(parsed.assumed)
        if unresolved:
            notes.append("Couldn't add: " + ", ".join(unresolved))
        await self.start(turn, request, tuple(notes))

    async def _ask(self, turn: Turn, unsure: Unsure, attendees: Sequence[Attendee]) -> None:
        """Not sure when: no meeting; the form, filled with what was read, says what was not."""
        zone = self.zone(turn.origin)
        people = [
            (name, oid)
            for a in attendees
            if (oid := a.object_id) and (name := a.display_name or a.upn)
        ]
        values, message = prefill_from_unsure(unsure, zone, people)
        card = meeting_form_card(
            values,
            today=self.now().astimezone(zone).date(),
            message=message,
            people=people,
            zone_name=zone.key,
        )
        await turn.conversation.send(Message.of_card(card))

    async def start(self, turn: Turn, request: MeetingRequest, notes: tuple[str, ...] = ()) -> None:
        """Create now if signed in, else remember the request and ask the user to sign in."""
        try:
            token = await self._signin.token(turn)
        except TokenServiceError:
            await self.signin_unavailable(turn, request)
            return
        if token is None:
            await self.ask_to_sign_in(turn, request, notes)
            return
        await self.create(turn, token, request, notes)

    async def ask_to_sign_in(
        self, turn: Turn, request: MeetingRequest, notes: tuple[str, ...] = ()
    ) -> None:
        """The OAuth card, the request kept; when the token service cannot give a sign-in
        link, the card that says sign-in is unavailable (the request is kept all the same)."""
        try:
            await self._signin.prompt(turn, request, notes)
        except TokenServiceError:
            await self.signin_unavailable(turn, request)

    @staticmethod
    def retry_data(request: MeetingRequest) -> dict[str, Any]:
        """The data of Try again (an Action.Submit) that sends `request` again."""
        return _retry_data(request)

    async def signin_unavailable(self, turn: Turn, request: MeetingRequest) -> None:
        """The token service failed: say so, with Try again for the same request."""
        await turn.conversation.send(
            Message.of_card(signin_unavailable_card(SIGNIN_DOWN_KEPT, retry=_retry_data(request)))
        )

    async def create(
        self, turn: Turn, token: str, request: MeetingRequest, notes: tuple[str, ...] = ()
    ) -> None:
        """Create the meeting and answer in the conversation (the chat-message path)."""
        async with typing_while_slow(turn.conversation):
            outcome = await self.outcome(turn, token, request, notes, budget_s=MESSAGE_BUDGET_S)
        if outcome.card is None:
            await self.ask_to_sign_in(turn, request, notes)
            return
        sent = await turn.conversation.send(Message.of_card(outcome.card))
        await self.remember_card(outcome.card, sent)

    async def outcome(
        self,
        turn: Turn,
        token: str,
        request: MeetingRequest,
        notes: tuple[str, ...],
        *,
        budget_s: float,
        card_id: str | None = None,
    ) -> Outcome:
        """Ask Graph; the card to show, or no card when the user must sign in again. `card_id`
        is the message the card will replace (a form's), kept so `cancel` updates it.

        The store is bookkeeping here and never blocks a meeting. The rate limit is this
        process's memory (no store); only a request over the limit reads the ledger, to answer
        a re-ask for a meeting already made here. When the ledger cannot be read, such a
        re-ask cannot be confirmed and gets the limit message, like any request over it.
        When the ledger cannot be updated, the meeting Graph made is shown all the same, with
        a note that `list` won't show it; a warning is logged (the error's type, no content).
        """
        external_id = request.external_id
        key = ledger_key(turn.origin)
        cancelled = await self._cancelled_before(request, self.zone(turn.origin))
        if cancelled is not None:
            return Outcome(cancelled)
        rate_key: str | None = None
        if self._rate is not None:
            rate_key = f"{request.tenant_id}/{request.organizer_id}"
            decision = self._rate.acquire(rate_key)
            # Over the limit: asking again for a meeting made here is still answered.
            if not decision.allowed:
                rate_key = None
                if not holds(await self._read_ledger(key), external_id):
                    return Outcome(
                        problem_card(
                            "You've reached the limit for now", meetings_limit_message(decision)
                        )
                    )
        result: CreateOrGetResult | None = None
        started = time.monotonic()
        try:
            # People picked from outside the conversation are named now that there is a token.
            request, named = await name_from_directory(
                self._directory, token, request, budget_s=budget_s / 3
            )
            notes = (*notes, *named)
            result = await self._graph.create_or_get(
                token,
                _graph_request(request),
                budget_s=max(1.0, budget_s - (time.monotonic() - started)),
            )
        except GraphAuthError:
            # Expired or revoked: forget the token; the caller asks again and keeps the request.
            # Forgotten here first; a failing token service is asked again at sign-in.
            with suppress(TokenServiceError):
                await self._signin.sign_out(turn)
            return Outcome(None)
        except GraphError as error:
            explanation = error.user_message
            if error.request_id:
                explanation += f" (Graph request id {error.request_id})"
            return Outcome(
                problem_card(
                    "I couldn't create the meeting", explanation, retry=_retry_data(request)
                )
            )
        finally:
            # Only meetings Graph created count: not an existing one, a failure or a sign-in.
            if self._rate is not None and rate_key is not None and not (result and result.created):
                self._rate.refund(rate_key)
        left = max(1.0, budget_s - (time.monotonic() - started))
        applied = await apply_options(self._graph, token, request, result, budget_s=left)
        result, notes = applied.result, (*notes, *filter(None, [applied.note]))
        view = self._view(turn.origin, request, result, notes)
        if applied.shown:
            view = replace(view, options=result.meeting.options())
        # The meeting's bookkeeping, all at once: a store that commits in groups (SQLite)
        # writes the list, the meeting's record and its reminder in one transaction.
        listed, view, reminder_note = await asyncio.gather(
            self._list(key, view, external_id),
            self._managed(turn.origin, request, result, view, key, applied.shown, card_id),
            self._remind(turn.origin, request, view),
        )
        added = (() if listed else (NOT_LISTED_NOTE,)) + ((reminder_note,) if reminder_note else ())
        return Outcome(meeting_card(replace(view, notes=(*view.notes, *added))))

    async def _list(self, key: str, view: MeetingView, external_id: str) -> bool:
        """Add the meeting to its conversation's list; False when the store failed."""
        try:
            await self._ledger.add(key, _ledger_entry(view, external_id))
        except Exception as error:
            # Graph made the meeting: its user sees it whatever the store does.
            _log.warning(
                "a meeting was not added to its conversation's list: %s", type(error).__name__
            )
            return False
        return True

    async def _cancelled_before(
        self, request: MeetingRequest, zone: ZoneInfo
    ) -> dict[str, Any] | None:
        """The card saying its organizer cancelled this meeting (None when they did not, or
        the store cannot say): asking again must not silently bring it back."""
        try:
            stored, _etag = await self._records.get(managed_key(request.external_id))
        except Exception as error:
            _log.warning("could not read a meeting's record: %s", type(error).__name__)
            return None
        if not stored or stored.get("status") != "cancelled":
            return None
        again = {**_retry_data(request), "renewal": request.renewal + 1}
        again["meetbot"] = CREATE_AGAIN
        return cancelled_before_card(
            request.subject, when_text(request.start, request.end, zone), again
        )

    async def _managed(
        self,
        origin: Origin,
        request: MeetingRequest,
        result: CreateOrGetResult,
        view: MeetingView,
        key: str,
        options_set: bool = False,
        card_id: str | None = None,
    ) -> MeetingView:
        """Keep the meeting's record (what its organizer's controls change) current with
        Graph's answer, and give the card those controls: on the card itself in a personal chat,
        through Teams' per-user refresh elsewhere."""
        record = ManagedMeeting(
            external_id=request.external_id,
            meeting=result.meeting.model_dump(mode="json", by_alias=True),
            organizer_id=origin.organizer_id,
            organizer_user_id=origin.user_id,
            organizer_name=view.organizer,
            ledger_key=key,
            subject=view.subject,
            start=view.start,
            end=view.end,
            attendees=request.attendees,
            options_set=options_set,
            card_id=card_id,
        )

        def kept(stored: dict[str, Any] | None) -> dict[str, Any]:
            if not stored:
                return record.model_dump(mode="json")
            # Asked again: Graph's meeting as it is now, what the organizer changed kept.
            return {
                **stored,
                "meeting": record.meeting,
                "subject": view.subject,
                "start": view.start.isoformat(),
                "end": view.end.isoformat(),
                "options_set": stored.get("options_set") or options_set,
                "card_id": card_id or stored.get("card_id"),
            }

        try:
            await self._records.update(managed_key(request.external_id), kept)
        except Exception as error:
            _log.warning("a meeting's record was not written: %s", type(error).__name__)
            return view
        personal = origin.conversation_type in ("personal", "")
        return replace(
            view,
            manage_data={"externalId": request.external_id},
            controls=personal,
            refresh_user_ids=(origin.user_id,),
        )

    async def remember_card(self, card: dict[str, Any], card_id: str | None) -> None:
        """The message a meeting card was posted as, so `cancel` can update it in place."""
        action = (card.get("refresh") or {}).get("action") or {}
        external_id = (action.get("data") or {}).get("externalId")
        if not card_id or not isinstance(external_id, str):
            return

        def with_card(stored: dict[str, Any] | None) -> dict[str, Any]:
            return {**stored, "card_id": card_id} if stored else {}

        try:
            await self._records.update(managed_key(external_id), with_card)
        except Exception as error:
            _log.warning("a meeting card's id was not kept: %s", type(error).__name__)

    async def _remind(self, origin: Origin, request: MeetingRequest, view: MeetingView) -> str:
        """Schedule the meeting's reminder in this conversation; what the card says of it."""
        if self._reminders is None or origin.address is None:
            return ""
        try:
            reminder = await self._reminders.schedule(
                request.external_id,
                origin.address,
                subject=view.subject,
                join_url=view.meeting.join_web_url,
                start=view.start,
                end=view.end,
                minutes=request.reminder_minutes,
            )
        except Exception as error:
            # Bookkeeping: the meeting stands without its reminder, and the card says so.
            _log.warning("a meeting's reminder was not scheduled: %s", type(error).__name__)
            return NO_REMINDER_NOTE
        if reminder is None or reminder.state != "pending":
            return ""
        return f"I'll post a reminder here {lead_text(reminder.minutes)} before it starts."

    async def _read_ledger(self, key: str) -> Ledger | None:
        """The conversation's ledger; None (nothing confirmed) when the store fails."""
        try:
            return await self._ledger.read(key)
        except Exception as error:
            _log.warning("could not read a conversation's list: %s", type(error).__name__)
            return None

    def _view(
        self,
        origin: Origin,
        request: MeetingRequest,
        result: CreateOrGetResult,
        notes: tuple[str, ...],
    ) -> MeetingView:
        """What the card shows: Graph's meeting, read with the request's values as fallback."""
        meeting = result.meeting
        start = meeting.start_date_time or request.start
        end = meeting.end_date_time or request.end
        subject = meeting.subject or request.subject
        organizer = _organizer_name(meeting, origin)
        event = meeting_event(request.external_id, meeting, subject, start, end, organizer)
        if self._stand_ins:
            notes = (*notes, STAND_IN_NOTE)
        answered = _answered_names(meeting)
        return MeetingView(
            meeting=meeting,
            subject=subject,
            start=start,
            end=end,
            zone=self.zone(origin),
            created=result.created,
            organizer=organizer,
            attendees=tuple(
                a.display_name or answered.get(a.upn or "") or a.upn or ""
                for a in request.attendees
            ),
            notes=notes,
            outlook_url=outlook_link(event),
            ics_url=self._calendar.url(event),
        )

    async def on_list(self, turn: Turn, _command: Command) -> None:
        try:
            ledger = await self._ledger.read(ledger_key(turn.origin))
        except Exception as error:
            _log.warning("could not read a conversation's list: %s", type(error).__name__)
            await turn.conversation.send(
                Message(
                    text="I couldn't read this conversation's list of meetings: my storage "
                    "isn't working right now. Please try **list** again in a few minutes."
                )
            )
            return
        meetings, older = shown(ledger)
        if not meetings:
            await turn.conversation.send(
                Message(
                    text="I haven't created any meetings in this conversation yet. "
                    "Try **meet** to start."
                )
            )
            return
        reminders = await self._reminders_of(meetings)
        card = meeting_list_card(meetings, self.zone(turn.origin), older=older, reminders=reminders)
        await turn.conversation.send(Message.of_card(card))

    async def _reminders_of(self, meetings: list[dict[str, Any]]) -> dict[str, str]:
        """What `list` says of each shown meeting's reminder, by externalId."""
        if self._reminders is None:
            return {}
        try:
            found = await self._reminders.of(
                str(m["externalId"]) for m in meetings if m.get("externalId")
            )
        except Exception as error:
            _log.warning("could not read meetings' reminders: %s", type(error).__name__)
            return {}
        return {key: _reminder_text(reminder) for key, reminder in found.items()}

    async def on_signout(self, turn: Turn, _command: Command) -> None:
        try:
            await self._signin.sign_out(turn)
        except TokenServiceError:
            await turn.conversation.send(Message(text=SIGNIN_DOWN_SIGNOUT))
            return
        await turn.conversation.send(
            Message(text="You're signed out. I'll ask you to sign in next time.")
        )

    async def on_retry(self, turn: Turn, data: dict[str, Any]) -> None:
        origin = turn.origin
        try:
            request = MeetingRequest.model_validate(
                {
                    "tenant_id": origin.tenant_id,
                    "conversation_id": origin.conversation_id,
                    "organizer_id": origin.organizer_id,
                    "subject": data.get("subject"),
                    "start": data.get("start"),
                    "end": data.get("end"),
                    "attendees": data.get("attendees") or (),
                    "renewal": data.get("renewal") or 0,
                    "reminder_minutes": data.get("reminderMinutes"),
                    "options": data.get("options"),
                }
            )
        except ValidationError:
            await turn.conversation.send(
                Message(text="That request can't be retried; please send it again.")
            )
            return
        await self.start(turn, request)

    # -- sign-in arrivals -----------------------------------------------------------------

    async def on_magic_code(self, turn: Turn, code: str) -> None:
        try:
            token = await self._signin.token(turn, magic_code=code)
        except TokenServiceError:
            await turn.conversation.send(Message.of_card(signin_unavailable_card(SIGNIN_DOWN_CODE)))
            return
        if token is None:
            if await self._signin.being_completed(turn.origin):
                return  # a duplicate of the code that is completing the request right now
            await turn.conversation.send(
                Message(
                    text="That code didn't work: it may have expired or been used already. "
                    "Select **Sign in** again to get a new one."
                )
            )
            return
        await self._signin.complete(turn, token, self.create)

    async def on_verify_state(self, turn: Turn, value: Any) -> InvokeAnswer:
        code = value.get("state") if isinstance(value, dict) else None
        try:
            token = (
                await self._signin.token(turn, magic_code=code)
                if isinstance(code, str) and code
                else None
            )
        except TokenServiceError:
            # Answered 200 (not a failure of Teams' sign-in flow); the user is told why.
            await turn.conversation.send(Message.of_card(signin_unavailable_card(SIGNIN_DOWN_CODE)))
            return InvokeAnswer(status=200, body={})
        if token is None:
            return InvokeAnswer(status=int(HTTPStatus.PRECONDITION_FAILED))
        self._finish_later(turn, token)
        return InvokeAnswer(status=200, body={})

    async def on_token_exchange(self, turn: Turn, value: Any) -> InvokeAnswer:
        result = await self._signin.exchange(turn, value)
        if isinstance(result, ExchangeRefused):
            return result.answer()
        if not isinstance(result, ExchangeDuplicate):
            self._finish_later(turn, result)
        return InvokeAnswer(status=200, body={})

    async def on_token_response(self, turn: Turn, value: Any) -> None:
        token = token_from_event(value)
        if token is not None:
            await self._signin.complete(turn, token, self.create)

    def _finish_later(self, turn: Turn, token: str) -> None:
        """Invokes must be answered within 5 s: finish the request after answering."""

        async def finish(later: Turn) -> None:
            await self._signin.complete(later, token, self.create)

        turn.later(finish)

    # -- attendees ------------------------------------------------------------------------

    async def people(
        self,
        turn: Turn,
        members: Sequence[tuple[str, str]],
        emails: Sequence[str],
    ) -> tuple[list[Attendee], list[str]]:
        """Teams members (by `29:` or Entra object id, with a name to show) resolved to UPNs,
        plus plain emails; and the names of members that could not be resolved."""
        attendees: list[Attendee] = []
        unresolved: list[str] = []
        for member_id, name in members:
            if member_id == turn.origin.bot_id:
                continue
            try:
                member = await turn.people.member(member_id)
            except Exception as error:
                _log.warning("a mentioned member's lookup failed: %s", type(error).__name__)
                member = None
            if member is None or not member.upn:
                unresolved.append(name)
                continue
            attendees.append(
                Attendee(upn=member.upn, object_id=member.aad_object_id, display_name=member.name)
            )
        attendees += [Attendee(upn=email) for email in emails]
        unique: dict[str, Attendee] = {}
        for attendee in attendees:
            unique.setdefault(attendee.key, attendee)
        return list(unique.values()), unresolved


def _graph_request(request: MeetingRequest) -> CreateOrGetRequest:
    return CreateOrGetRequest(
        external_id=request.external_id,
        subject=request.subject,
        start=request.start,
        end=request.end,
        attendees=[
            GraphAttendee(upn=a.upn, object_id=a.object_id) for a in request.attendees if a.upn
        ],
        chat_thread_id=request.channel_thread_id,
    )


def _answered_names(meeting: OnlineMeeting) -> dict[str, str]:
    """Each attendee's display name in Graph's answer, by UPN."""
    participants = meeting.participants
    names: dict[str, str] = {}
    for attendee in participants.attendees if participants else []:
        user = attendee.identity.user if attendee.identity else None
        if attendee.upn and user and user.display_name:
            names[attendee.upn.lower()] = user.display_name
    return names


def _organizer_name(meeting: OnlineMeeting, origin: Origin) -> str | None:
    """The organizer by name: Graph's display name, else the sender's name in Teams, else
    their UPN."""
    organizer = meeting.participants.organizer if meeting.participants else None
    user = organizer.identity.user if organizer and organizer.identity else None
    return (
        (user.display_name if user else None)
        or origin.user_name
        or (organizer.upn if organizer else None)
    )


def _ledger_entry(view: MeetingView, external_id: str) -> dict[str, Any]:
    return {
        "externalId": external_id,
        "subject": view.subject,
        "start": view.start.isoformat(),
        "end": view.end.isoformat(),
        "joinUrl": view.meeting.join_web_url,
    }


def _retry_data(request: MeetingRequest) -> dict[str, Any]:
    data: dict[str, Any] = {
        "meetbot": RETRY_ACTION,
        "subject": request.subject,
        "start": request.start.isoformat(),
        "end": request.end.isoformat(),
        "attendees": [a.model_dump(mode="json") for a in request.attendees],
    }
    if request.renewal:
        data["renewal"] = request.renewal
    if request.reminder_minutes is not None:
        data["reminderMinutes"] = request.reminder_minutes
    if request.options is not None:
        data["options"] = request.options.model_dump(mode="json", exclude_none=True)
    return data


def _reminder_text(reminder: Reminder) -> str:
    if reminder.state == "pending":
        return f"Reminder {lead_text(reminder.minutes)} before"
    if reminder.state == "sent":
        return "Reminder sent"
    return ""
