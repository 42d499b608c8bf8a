"""Reschedule, cancel and set options of a meeting, for its organizer, from its card or `cancel`."""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import Any

from pydantic import JsonValue, ValidationError

from bot.auth.signin import SignIn
from bot.auth.tokens import TokenServiceError
from bot.core.calendar import CalendarFiles, meeting_event, outlook_link
from bot.core.commands import Command
from bot.core.form import FormValues, InvalidForm, validate_form
from bot.core.ledger import with_changed
from bot.core.managed import (
    CANCEL,
    CONFIRM_CANCEL,
    CREATE_AGAIN,
    OPTIONS,
    REFRESH,
    RESCHEDULE,
    SAVE_OPTIONS,
    SAVE_RESCHEDULE,
    ManagedMeeting,
    managed_key,
)
from bot.core.online_meeting import MeetingOptions, MeetingUpdate, OnlineMeeting
from bot.core.ports import InvokeAnswer, Message, Origin, RecordStore, SignInCard, Turn
from bot.core.request import Attendee
from bot.graph import Attendee as GraphAttendee
from bot.graph import GraphAuthError, GraphError, GraphNotFoundError, OnlineMeetingsApi
from bot.usecases.meetings import STAND_IN_NOTE, Meetings, ledger_key
from bot.usecases.reminders import Reminders
from cards.elements import CARD_CONTENT_TYPE
from cards.form import meeting_form_card
from cards.manage import cancel_confirm_card, options_card
from cards.meeting import MeetingView, meeting_card, problem_card, when_text, working_card

_log = logging.getLogger(__name__)

# Teams gives an invoke about 5 s: a change that Graph has not answered by then is explained.
ACTION_BUDGET_S = 3.5
# Eventually one writer wins the meeting's record; each loser re-reads Graph first.
SAVE_ATTEMPTS = 4
DELETED_ELSEWHERE = "This meeting was deleted outside MeetBot (in Teams or Outlook)."
ONLY_ORGANIZER = "Only {name} can change this meeting; nothing was changed."
SIGN_IN_AGAIN = "Sign in with the card I just sent, then select {action} again."


def _data(external_id: str) -> dict[str, JsonValue]:
    return {"externalId": external_id}


def _when(record: ManagedMeeting, origin_zone: Any) -> str:
    return when_text(record.start, record.end, origin_zone)


def _replace(card: dict[str, Any]) -> InvokeAnswer:
    return InvokeAnswer(
        status=200, body={"statusCode": 200, "type": CARD_CONTENT_TYPE, "value": card}
    )


def _options_from(data: dict[str, Any]) -> MeetingOptions:
    """The Options card's values; anything unknown is left as it is."""
    values: dict[str, Any] = {}
    for name, field in (
        ("lobbyBypass", "lobby_bypass"),
        ("allowedPresenters", "allowed_presenters"),
        ("allowMeetingChat", "allow_meeting_chat"),
    ):
        if isinstance(data.get(name), str) and data[name]:
            values[field] = data[name]
    for name, field in (
        ("recordAutomatically", "record_automatically"),
        ("isEntryExitAnnounced", "is_entry_exit_announced"),
    ):
        if data.get(name) in ("true", "false"):
            values[field] = data[name] == "true"
    try:
        return MeetingOptions.model_validate(values)
    except ValidationError:
        return MeetingOptions()


class ManageMeetings:
    """The organizer's controls on a meeting card, and what they change everywhere: Graph, the
    meeting's record, the conversation's list, the calendar files and the card for everyone."""

    def __init__(
        self,
        meetings: Meetings,
        graph: OnlineMeetingsApi,
        signin: SignIn,
        records: RecordStore,
        calendar: CalendarFiles,
        *,
        reminders: Reminders | None = None,
        stand_ins: bool = False,
    ) -> None:
        self._meetings = meetings
        self._reminders = reminders
        self._graph = graph
        self._signin = signin
        self._records = records
        self._calendar = calendar
        self._stand_ins = stand_ins

    # -- entry points ---------------------------------------------------------------------

    async def on_execute(self, turn: Turn, verb: str, data: dict[str, Any]) -> InvokeAnswer:
        """`adaptiveCard/action`: the answer replaces the card for the user who acted."""
        if verb == CREATE_AGAIN:
            turn.later(lambda later: self._meetings.on_retry(later, data))
            return _replace(working_card(str(data.get("subject") or "")))
        return _replace(await self.act(turn, verb, data))

    async def on_submit(self, turn: Turn, verb: str, data: dict[str, Any]) -> None:
        """The Action.Submit fallback: the card's message is updated in place."""
        if verb == CREATE_AGAIN:
            await self._meetings.on_retry(turn, data)
            return
        card = await self.act(turn, verb, data)
        await self._show(turn, turn.origin.reply_to_id, card)

    async def on_cancel(self, turn: Turn, command: Command) -> None:
        """`cancel [words of the subject]`: the confirmation for the one meeting of yours it
        names in this conversation, or the list to pick from."""
        try:
            ledger = await self._meetings.ledger.read(ledger_key(turn.origin))
        except Exception as error:
            _log.warning("could not read a conversation's list: %s", type(error).__name__)
            await turn.conversation.send(
                Message(text="I couldn't read this conversation's meetings right now; try again.")
            )
            return
        words = command.args.lower().split()
        entries = [
            m
            for m in (ledger or {}).get("meetings") or []
            if isinstance(m, dict)
            and m.get("status") != "cancelled"
            and all(word in str(m.get("subject", "")).lower() for word in words)
        ]
        mine: list[ManagedMeeting] = []
        for entry in entries:
            record, _etag = await self._load(str(entry.get("externalId")))
            if record and not record.cancelled and self._is_organizer(turn.origin, record):
                mine.append(record)
        if len(mine) == 1:
            record = mine[0]
            zone = self._meetings.zone(turn.origin)
            card = cancel_confirm_card(
                record.subject, _when(record, zone), _data(record.external_id)
            )
            await turn.conversation.send(Message.of_card(card))
            return
        if not mine:
            await turn.conversation.send(
                Message(
                    text="I found no meeting of yours here to cancel. Type **list** to see them."
                )
            )
            return
        await turn.conversation.send(
            Message(
                text="Which one? Type **list** and select **Cancel meeting** under it, or add "
                "words of its subject: `cancel design review`."
            )
        )

    # -- the actions ----------------------------------------------------------------------

    async def act(self, turn: Turn, verb: str, data: dict[str, Any]) -> dict[str, Any]:
        """The card the acting user sees next."""
        external_id = data.get("externalId")
        record, etag = (
            await self._load(external_id) if isinstance(external_id, str) else (None, None)
        )
        if record is None:
            return problem_card(
                "I can't find this meeting",
                "I have no record of this meeting any more, so I can't change it from here. "
                "Type **list** to see this conversation's meetings.",
            )
        origin = turn.origin
        organizer = self._is_organizer(origin, record)
        if verb == REFRESH or record.cancelled:
            return self._card(origin, record, controls=organizer)
        if not organizer:
            # A stale or shared card: refused before anything is sent to Graph.
            note = ONLY_ORGANIZER.format(name=record.organizer_name or "the organizer")
            return self._card(origin, record, controls=False, notes=(note,))
        zone = self._meetings.zone(origin)
        if verb == RESCHEDULE:
            return self._reschedule_form(origin, record)
        if verb == CANCEL:
            return cancel_confirm_card(
                record.subject, _when(record, zone), _data(record.external_id)
            )
        if verb == OPTIONS:
            current = record.online_meeting().options()
            return options_card(record.subject, current, _data(record.external_id))
        if verb == SAVE_RESCHEDULE:
            return await self._reschedule(turn, record, etag, data)
        if verb == SAVE_OPTIONS:
            change = MeetingUpdate(options=_options_from(data))
            return await self._change(turn, record, etag, change, "Options saved", "Options")
        if verb == CONFIRM_CANCEL:
            return await self._cancel(turn, record, etag)
        return self._card(origin, record, controls=True)

    def _reschedule_form(
        self,
        origin: Origin,
        record: ManagedMeeting,
        values: FormValues | None = None,
        errors: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        zone = self._meetings.zone(origin)
        start = record.start.astimezone(zone)
        minutes = int((record.end - record.start).total_seconds() // 60)
        if values is None:
            values = FormValues(
                subject=record.subject,
                date=start.date().isoformat(),
                start_time=f"{start:%H:%M}",
                duration_minutes=str(minutes),
                attendee_emails=", ".join(a.upn or "" for a in record.attendees if a.upn),
            )
        return meeting_form_card(
            values,
            errors,
            today=self._meetings.now().astimezone(zone).date(),
            zone_name=zone.key,
            heading="Reschedule",
            submit_title="Save",
            submit_data={**_data(record.external_id), "meetbot": SAVE_RESCHEDULE},
            with_options=False,
        )

    async def _reschedule(
        self, turn: Turn, record: ManagedMeeting, etag: str | None, data: dict[str, Any]
    ) -> dict[str, Any]:
        zone = self._meetings.zone(turn.origin)
        checked = validate_form(data, now=self._meetings.now(), zone=zone)
        if isinstance(checked, InvalidForm):
            return self._reschedule_form(turn.origin, record, checked.values, checked.errors)
        attendees = [Attendee(upn=email) for email in checked.emails]
        known = {a.key: a for a in record.attendees}
        attendees = [known.get(a.key, a) for a in attendees]
        changed_people = [a.key for a in attendees] != [a.key for a in record.attendees]
        moved = (checked.start, checked.end) != (record.start, record.end)
        change = MeetingUpdate(
            subject=checked.subject if checked.subject != record.subject else None,
            start=checked.start if moved else None,
            end=checked.end if moved else None,
            attendees=(
                [GraphAttendee(upn=a.upn, object_id=a.object_id) for a in attendees if a.upn]
                if changed_people
                else None
            ),
        )
        if not change.to_graph_body():
            return self._card(turn.origin, record, controls=True, notes=("Nothing changed.",))
        headline = "Moved to " + when_text(checked.start, checked.end, zone) if moved else "Updated"
        extra: dict[str, Any] = {"attendees": tuple(attendees)} if changed_people else {}
        return await self._change(turn, record, etag, change, headline, "Reschedule", **extra)

    async def _token(self, turn: Turn, action: str) -> str | tuple[str, ...]:
        """The organizer's Graph token, or the note to show instead (a sign-in card is sent)."""
        try:
            token = await self._signin.token(turn)
            if token is not None:
                return token
            resource = await turn.tokens.sign_in_resource()
        except TokenServiceError:
            return (
                "Microsoft's sign-in service isn't answering right now; try again in a minute.",
            )
        await turn.conversation.send(
            Message(
                signin=SignInCard(
                    text="Sign in with your Microsoft 365 account to change your meeting.",
                    connection_name=self._signin.connection_name,
                    link=resource.link,
                    exchange=resource.exchange,
                )
            )
        )
        return (SIGN_IN_AGAIN.format(action=action),)

    async def _change(
        self,
        turn: Turn,
        record: ManagedMeeting,
        etag: str | None,
        change: MeetingUpdate,
        headline: str,
        action: str,
        **extra: Any,
    ) -> dict[str, Any]:
        token = await self._token(turn, action)
        if isinstance(token, tuple):
            return self._card(turn.origin, record, controls=True, notes=token)
        meeting_id = record.online_meeting().id
        try:
            meeting = await self._graph.update(token, meeting_id, change, budget_s=ACTION_BUDGET_S)
        except GraphNotFoundError:
            return await self._gone(turn, record, etag)
        except GraphError as error:
            return self._card(turn.origin, record, controls=True, notes=self._failed(turn, error))
        if change.options is not None:
            extra["options_set"] = True
        if change.start is not None:
            extra["moved"] = True
        saved = await self._save(token, record.with_meeting(meeting, **extra), etag)
        if change.start is not None:
            await self._remind_at(saved)
        await self._show_everyone(turn, saved)
        return self._card(turn.origin, saved, controls=True, headline=headline)

    async def _cancel(self, turn: Turn, record: ManagedMeeting, etag: str | None) -> dict[str, Any]:
        token = await self._token(turn, "Cancel meeting")
        if isinstance(token, tuple):
            return self._card(turn.origin, record, controls=True, notes=token)
        try:
            await self._graph.delete(token, record.online_meeting().id, budget_s=ACTION_BUDGET_S)
        except GraphNotFoundError:
            pass  # deleted already, here or elsewhere: cancelled all the same
        except GraphError as error:
            return self._card(turn.origin, record, controls=True, notes=self._failed(turn, error))
        return await self._gone(turn, record, etag, note=None)

    async def _gone(
        self,
        turn: Turn,
        record: ManagedMeeting,
        etag: str | None,
        note: str | None = DELETED_ELSEWHERE,
    ) -> dict[str, Any]:
        """The meeting no longer exists in Graph: cancelled everywhere MeetBot shows it."""
        cancelled = record.model_copy(
            update={"status": "cancelled", "sequence": record.sequence + 1}
        )
        try:
            await self._records.put(managed_key(record.external_id), _json(cancelled), etag)
        except KeyError:
            # Changed meanwhile (a reschedule that lost): the meeting is gone all the same.
            await self._records.put(managed_key(record.external_id), _json(cancelled))
        except Exception as error:
            _log.warning("a cancelled meeting's record was not written: %s", type(error).__name__)
        await self._ledger_change(cancelled)
        await self._remind_at(cancelled)
        notes = (note,) if note else ()
        await self._show_everyone(turn, cancelled, notes)
        return self._card(turn.origin, cancelled, controls=False, notes=notes)

    def _failed(self, turn: Turn, error: GraphError) -> tuple[str, ...]:
        if isinstance(error, GraphAuthError):
            self._signin.forget_token(turn.origin)
            return ("Your sign-in has expired: type **signout**, sign in again, then retry.",)
        explanation = "Nothing was changed. " + error.user_message
        if error.request_id:
            explanation += f" (Graph request id {error.request_id})"
        return (explanation,)

    # -- the record -----------------------------------------------------------------------

    async def _load(self, external_id: str) -> tuple[ManagedMeeting | None, str | None]:
        try:
            stored, etag = await self._records.get(managed_key(external_id))
            return (ManagedMeeting.model_validate(stored) if stored else None), etag
        except (ValidationError, TypeError):
            return None, None

    async def _save(self, token: str, record: ManagedMeeting, etag: str | None) -> ManagedMeeting:
        """Write what Graph answered, unless someone else wrote meanwhile: then Graph's meeting
        as it is now, read after both changes, so the record ends as Graph does."""
        key = managed_key(record.external_id)
        for _ in range(SAVE_ATTEMPTS):
            try:
                await self._records.put(key, _json(record), etag)
                break
            except KeyError:
                stored, etag = await self._records.get(key)
                if stored is None:
                    break
                current = ManagedMeeting.model_validate(stored)
                try:
                    latest: OnlineMeeting = await self._graph.get(
                        token, current.online_meeting().id, budget_s=ACTION_BUDGET_S
                    )
                except GraphError:
                    latest = record.online_meeting()
                record = current.with_meeting(
                    latest,
                    sequence=max(current.sequence, record.sequence) + 1,
                    moved=current.moved or record.moved,
                    options_set=current.options_set or record.options_set,
                )
            except Exception as error:
                _log.warning("a changed meeting's record was not written: %s", type(error).__name__)
                break
        await self._ledger_change(record)
        return record

    async def _remind_at(self, record: ManagedMeeting) -> None:
        """The meeting's reminder follows it: at the new time when moved, none when cancelled."""
        if self._reminders is None:
            return
        try:
            if record.status == "cancelled":
                await self._reminders.drop(record.external_id)
            else:
                await self._reminders.move(record.external_id, record.start, record.end)
        except Exception as error:
            # Bookkeeping: the change stands; a stale reminder is the worst outcome.
            _log.warning("a meeting's reminder was not moved: %s", type(error).__name__)

    async def _ledger_change(self, record: ManagedMeeting) -> None:
        change = {
            "subject": record.subject,
            "start": record.start.isoformat(),
            "end": record.end.isoformat(),
            "status": record.status,
        }
        with suppress(Exception):
            await self._records.update(
                record.ledger_key, lambda ledger: with_changed(ledger, record.external_id, change)
            )

    # -- cards ----------------------------------------------------------------------------

    def _is_organizer(self, origin: Origin, record: ManagedMeeting) -> bool:
        return origin.organizer_id == record.organizer_id

    def _card(
        self,
        origin: Origin,
        record: ManagedMeeting,
        *,
        controls: bool,
        notes: tuple[str, ...] = (),
        headline: str | None = None,
    ) -> dict[str, Any]:
        return meeting_card(self.view(origin, record, controls, notes, headline))

    def view(
        self,
        origin: Origin,
        record: ManagedMeeting,
        controls: bool,
        notes: tuple[str, ...] = (),
        headline: str | None = None,
    ) -> MeetingView:
        meeting = record.online_meeting()
        event = meeting_event(
            record.external_id,
            meeting,
            record.subject,
            record.start,
            record.end,
            record.organizer_name,
        ).model_copy(update={"sequence": record.sequence, "cancelled": record.cancelled})
        if self._stand_ins and not record.cancelled:
            notes = (*notes, STAND_IN_NOTE)
        if record.moved and headline is None and not record.cancelled:
            headline = "Rescheduled"
        return MeetingView(
            meeting=meeting,
            subject=record.subject,
            start=record.start,
            end=record.end,
            zone=self._meetings.zone(origin),
            created=False,
            organizer=record.organizer_name,
            attendees=tuple(a.display_name or a.upn or "" for a in record.attendees),
            notes=notes,
            outlook_url=None if record.cancelled else outlook_link(event),
            ics_url=self._calendar.url(event),
            headline=headline,
            cancelled=record.cancelled,
            manage_data=_data(record.external_id),
            controls=controls and not record.cancelled,
            refresh_user_ids=() if record.cancelled else (record.organizer_user_id,),
            options=meeting.options() if record.options_set else None,
        )

    def everyone_card(
        self, origin: Origin, record: ManagedMeeting, notes: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """The card in the conversation: in a personal chat only its organizer sees it."""
        personal = origin.conversation_type in ("personal", "")
        return self._card(origin, record, controls=personal, notes=notes)

    async def _show_everyone(
        self, turn: Turn, record: ManagedMeeting, notes: tuple[str, ...] = ()
    ) -> None:
        card = self.everyone_card(turn.origin, record, notes)
        for card_id in dict.fromkeys(i for i in (record.card_id, turn.origin.reply_to_id) if i):
            with suppress(Exception):
                await turn.conversation.update(card_id, Message.of_card(card))

    async def _show(self, turn: Turn, card_id: str | None, card: dict[str, Any]) -> None:
        if card_id:
            try:
                await turn.conversation.update(card_id, Message.of_card(card))
                return
            except Exception:
                _log.info("could not update the card's message; sending a new one")
        await turn.conversation.send(Message.of_card(card))


def _json(record: ManagedMeeting) -> dict[str, Any]:
    return record.model_dump(mode="json")
