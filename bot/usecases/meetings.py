"""The meeting use cases: `meet`, `list`, `signout`, and finishing requests after sign-in."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botbuilder.core import CardFactory, InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import Activity
from pydantic import ValidationError

from bot.auth.signin import MAGIC_CODE, SignIn, token_from_event
from bot.core.calendar import CalendarEvent, CalendarFiles, outlook_link
from bot.core.commands import Command
from bot.core.ledger import Ledger, holds, shown, with_meeting
from bot.core.limits import RateLimiter, meetings_limit_message
from bot.core.parse import ParseError, parse_meeting
from bot.core.request import Attendee, MeetingRequest
from bot.graph import Attendee as GraphAttendee
from bot.graph import (
    CreateOrGetRequest,
    GraphAuthError,
    GraphError,
    OnlineMeetingsApi,
)
from bot.storage import ConflictError
from bot.usecases.busy import typing_while_slow
from bot.usecases.ports import RecordStore
from cards.lists import meeting_list_card
from cards.meeting import MeetingView, meeting_card, problem_card

_log = logging.getLogger(__name__)

MESSAGE_BUDGET_S = 12.0
RETRY_ACTION = "retry"
Spawn = Callable[[Coroutine[Any, Any, None]], None]


def user_zone(activity: Activity, default: ZoneInfo) -> ZoneInfo:
    """The user's zone: the activity's, else the clientInfo entity's, else the bot's default."""
    candidates: list[Any] = [activity.local_timezone]
    for entity in activity.entities or []:
        if getattr(entity, "type", None) == "clientInfo":
            candidates.append((entity.additional_properties or {}).get("timezone"))
    for name in candidates:
        if isinstance(name, str) and name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return default


def tenant_of(activity: Activity) -> str:
    tenant = getattr(activity.conversation, "tenant_id", None)
    channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = tenant or (channel_data.get("tenant") or {}).get("id")
    return str(tenant or "local")


def organizer_of(activity: Activity) -> str:
    account = activity.from_property
    return str(getattr(account, "aad_object_id", None) or account.id)


def request_in(
    activity: Activity,
    subject: str,
    start: datetime,
    end: datetime,
    attendees: Sequence[Attendee],
) -> MeetingRequest:
    """The meeting request its sender makes in this activity's conversation and tenant."""
    return MeetingRequest(
        tenant_id=tenant_of(activity),
        conversation_id=activity.conversation.id,
        organizer_id=organizer_of(activity),
        subject=subject,
        start=start,
        end=end,
        attendees=tuple(attendees),
    )


def _ledger_key(activity: Activity) -> str:
    parts = [activity.channel_id or "", activity.conversation.id.split(";")[0]]
    return "ledger/" + hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:40]


_LedgerRead = tuple[Ledger | None, str | None]


def _card(card: dict[str, Any]) -> Activity:
    return MessageFactory.attachment(CardFactory.adaptive_card(card))


@dataclass(frozen=True)
class Outcome:
    """What to show for a request: a meeting or problem card; None means sign in again."""

    card: dict[str, Any] | None


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
        spawn: Spawn,
        clock: Callable[[], float] = time.time,
        rate: RateLimiter | None = None,
    ) -> None:
        self._graph = graph
        self._signin = signin
        self._records = records
        self._calendar = calendar
        self._default_zone = default_zone
        self._spawn = spawn
        self._clock = clock
        self._rate = rate

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    @property
    def default_zone(self) -> ZoneInfo:
        return self._default_zone

    # -- commands -------------------------------------------------------------------------

    async def on_meet(self, context: TurnContext, command: Command) -> None:
        activity = context.activity
        zone = user_zone(activity, self._default_zone)
        mention_texts = [text for _, text in self._mentions(activity)]
        parsed = parse_meeting(
            command.args,
            now=self.now(),
            zone=zone,
            culture=(activity.locale or "en-us").lower(),
            mention_texts=mention_texts,
        )
        if isinstance(parsed, ParseError):
            await context.send_activity(parsed.message)
            return
        attendees, unresolved = await self._attendees(context, parsed.emails)
        request = request_in(activity, parsed.subject, parsed.start, parsed.end, attendees)
        notes = []
        if parsed.rolled_forward:
            notes.append("That time had already passed today, so this is the next one.")
        if parsed.assumed:
            notes.append(parsed.assumed)
        if unresolved:
            notes.append("Couldn't add: " + ", ".join(unresolved))
        await self.start(context, request, tuple(notes))

    async def start(
        self, context: TurnContext, request: MeetingRequest, notes: tuple[str, ...] = ()
    ) -> None:
        """Create now if signed in, else remember the request and ask the user to sign in."""
        token = await self._signin.token(context)
        if token is None:
            await self._signin.prompt(context, request, notes)
            return
        await self.create(context, token, request, notes)

    async def create(
        self,
        context: TurnContext,
        token: str,
        request: MeetingRequest,
        notes: tuple[str, ...] = (),
    ) -> None:
        """Create the meeting and answer in the conversation (the chat-message path)."""
        async with typing_while_slow(context):
            outcome = await self.outcome(context, token, request, notes, budget_s=MESSAGE_BUDGET_S)
        if outcome.card is None:
            await self._signin.prompt(context, request, notes)
            return
        await context.send_activity(_card(outcome.card))

    async def outcome(
        self,
        context: TurnContext,
        token: str,
        request: MeetingRequest,
        notes: tuple[str, ...],
        *,
        budget_s: float,
    ) -> Outcome:
        """Ask Graph; the card to show, or no card when the user must sign in again."""
        external_id = request.external_id  # a hash over the canonical request: compute it once
        graph_request = CreateOrGetRequest(
            external_id=external_id,
            subject=request.subject,
            start=request.start,
            end=request.end,
            attendees=[GraphAttendee(upn=a.upn, object_id=a.object_id) for a in request.attendees],
        )
        rate_key: str | None = None
        # The ledger as read before asking Graph: the limiter's question, and the version the
        # meeting is then added to (a conditional write: if it changed meanwhile, read again).
        ledger_key: str | None = None
        ledger: _LedgerRead | None = None
        if self._rate is not None:
            ledger_key = _ledger_key(context.activity)
            ledger = await self._records.get(ledger_key)
        if self._rate is not None and not holds(ledger[0] if ledger else None, external_id):
            # Only new meetings count; asking again for one made here is always answered.
            rate_key = f"{request.tenant_id}/{request.organizer_id}"
            decision = self._rate.acquire(rate_key)
            if not decision.allowed:
                return Outcome(
                    problem_card(
                        "You've reached the limit for now", meetings_limit_message(decision)
                    )
                )
        created = False
        try:
            result = await self._graph.create_or_get(token, graph_request, budget_s=budget_s)
            created = result.created
        except GraphAuthError:
            # Expired or revoked: forget the token; the caller asks again and keeps the request.
            await self._signin.sign_out(context)
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
            if self._rate is not None and rate_key is not None and not created:
                self._rate.refund(rate_key)
        meeting = result.meeting
        zone = user_zone(context.activity, self._default_zone)
        start = meeting.start_date_time or request.start
        end = meeting.end_date_time or request.end
        subject = meeting.subject or request.subject
        # Built from values already validated (the request, Graph's answer): not checked again.
        event = CalendarEvent.model_construct(
            uid=external_id,
            subject=subject,
            start=start,
            end=end,
            join_url=meeting.join_web_url,
        )
        organizer = meeting.participants.organizer if meeting.participants else None
        view = MeetingView(
            meeting=meeting,
            subject=subject,
            start=start,
            end=end,
            zone=zone,
            created=result.created,
            organizer=organizer.upn if organizer else None,
            attendees=tuple(a.display_name or a.upn for a in request.attendees),
            notes=notes,
            outlook_url=outlook_link(event),
            ics_url=self._calendar.url(event),
        )
        await self._remember(ledger_key or _ledger_key(context.activity), view, external_id, ledger)
        return Outcome(meeting_card(view))

    async def _remember(
        self,
        key: str,
        view: MeetingView,
        external_id: str,
        read: _LedgerRead | None = None,
    ) -> None:
        entry = {
            "externalId": external_id,
            "subject": view.subject,
            "start": view.start.isoformat(),
            "end": view.end.isoformat(),
            "joinUrl": view.meeting.join_web_url,
        }
        for attempt in range(5):
            ledger, etag = (
                read if read is not None and attempt == 0 else await self._records.get(key)
            )
            value = with_meeting(ledger, entry)
            try:
                if etag is None:
                    if await self._records.create(key, value):
                        return
                    continue
                await self._records.put(key, value, etag)
                return
            except ConflictError:
                continue
        _log.warning("gave up recording a meeting in the conversation ledger after conflicts")

    async def on_list(self, context: TurnContext, _command: Command) -> None:
        ledger, _ = await self._records.get(_ledger_key(context.activity))
        meetings, older = shown(ledger)
        if not meetings:
            await context.send_activity(
                "I haven't created any meetings in this conversation yet. Try **meet** to start."
            )
            return
        zone = user_zone(context.activity, self._default_zone)
        await context.send_activity(_card(meeting_list_card(meetings, zone, older=older)))

    async def on_signout(self, context: TurnContext, _command: Command) -> None:
        await self._signin.sign_out(context)
        await context.send_activity("You're signed out. I'll ask you to sign in next time.")

    async def on_retry(self, context: TurnContext, data: dict[str, Any]) -> None:
        activity = context.activity
        try:
            request = MeetingRequest.model_validate(
                {
                    "tenant_id": tenant_of(activity),
                    "conversation_id": activity.conversation.id,
                    "organizer_id": organizer_of(activity),
                    "subject": data.get("subject"),
                    "start": data.get("start"),
                    "end": data.get("end"),
                    "attendees": data.get("attendees") or (),
                }
            )
        except ValidationError:
            await context.send_activity("That request can't be retried; please send it again.")
            return
        await self.start(context, request)

    # -- sign-in arrivals -----------------------------------------------------------------

    async def on_magic_code(self, context: TurnContext, code: str) -> None:
        token = await self._signin.token(context, magic_code=code)
        if token is None:
            await context.send_activity(
                "That code didn't work: it may have expired or been used already. "
                "Select **Sign in** again to get a new one."
            )
            return
        await self._signin.complete(context, token, self.create)

    async def on_verify_state(self, context: TurnContext) -> InvokeResponse:
        value = context.activity.value if isinstance(context.activity.value, dict) else {}
        code = value.get("state")
        token = (
            await self._signin.token(context, magic_code=code)
            if isinstance(code, str) and code
            else None
        )
        if token is None:
            return InvokeResponse(status=int(HTTPStatus.PRECONDITION_FAILED))
        self._in_background(context, token)
        return InvokeResponse(status=200, body={})

    async def on_token_exchange(self, context: TurnContext) -> InvokeResponse:
        token = await self._signin.exchange(context)
        if isinstance(token, InvokeResponse):
            return token
        self._in_background(context, token)
        return InvokeResponse(status=200, body={})

    async def on_token_response(self, context: TurnContext) -> None:
        token = token_from_event(context.activity)
        if token is not None:
            await self._signin.complete(context, token, self.create)

    def _in_background(self, context: TurnContext, token: str) -> None:
        """Invokes must be answered within 5 s: finish the request after answering."""
        reference = TurnContext.get_conversation_reference(context.activity)
        adapter = context.adapter

        async def finish(proactive: TurnContext) -> None:
            await self._signin.complete(proactive, token, self.create)

        self._spawn(adapter.continue_conversation(reference, finish, None))

    # -- attendees ------------------------------------------------------------------------

    @staticmethod
    def _mentions(activity: Activity) -> list[tuple[str, str]]:
        bot_id = activity.recipient.id if activity.recipient else None
        found = []
        for entity in activity.entities or []:
            if getattr(entity, "type", None) != "mention":
                continue
            props = entity.additional_properties or {}
            mentioned = props.get("mentioned") or {}
            member_id = mentioned.get("id") if isinstance(mentioned, dict) else None
            text = props.get("text")
            if isinstance(member_id, str) and member_id != bot_id and isinstance(text, str):
                found.append((member_id, text))
        return found

    async def _attendees(
        self, context: TurnContext, emails: tuple[str, ...]
    ) -> tuple[list[Attendee], list[str]]:
        mentioned = [
            (member_id, text.replace("<at>", "").replace("</at>", "").strip())
            for member_id, text in self._mentions(context.activity)
        ]
        return await self._people(context, mentioned, emails)

    async def resolve_people(
        self, context: TurnContext, object_ids: Sequence[str], emails: Sequence[str]
    ) -> tuple[list[Attendee], list[str]]:
        """Attendees from the people picker (Entra object ids) and typed email addresses."""
        return await self._people(context, [(oid, oid) for oid in object_ids], emails)

    async def _people(
        self,
        context: TurnContext,
        members: Sequence[tuple[str, str]],
        emails: Sequence[str],
    ) -> tuple[list[Attendee], list[str]]:
        """Teams members (by `29:` or Entra object id) resolved to UPNs, plus plain emails."""
        attendees: list[Attendee] = []
        unresolved: list[str] = []
        bot_id = context.activity.recipient.id if context.activity.recipient else None
        for member_id, name in members:
            if member_id == bot_id:
                continue
            try:
                member = await TeamsInfo.get_member(context, member_id)
            except Exception:
                _log.info("could not resolve a mentioned member", exc_info=True)
                unresolved.append(name)
                continue
            upn = member.user_principal_name or member.email
            if not upn:
                unresolved.append(name)
                continue
            attendees.append(
                Attendee(upn=upn, object_id=member.aad_object_id, display_name=member.name)
            )
        attendees += [Attendee(upn=email) for email in emails]
        unique: dict[str, Attendee] = {}
        for attendee in attendees:
            unique.setdefault(attendee.upn, attendee)
        return list(unique.values()), unresolved


def _retry_data(request: MeetingRequest) -> dict[str, Any]:
    return {
        "meetbot": RETRY_ACTION,
        "subject": request.subject,
        "start": request.start.isoformat(),
        "end": request.end.isoformat(),
        "attendees": [a.model_dump(mode="json") for a in request.attendees],
    }


def is_magic_code(text: str) -> bool:
    return bool(MAGIC_CODE.match(text.strip()))
