"""People picked in the form: conversation members, or people in the organization's directory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.form import is_object_id
from bot.core.ports import Directory, DirectoryUser, Turn
from bot.core.request import Attendee, MeetingRequest
from bot.graph import GraphAuthError, GraphError, GraphForbiddenError

_log = logging.getLogger(__name__)

# A directory lookup runs before createOrGet, inside the same budget: keep it short.
DIRECTORY_BUDGET_S = 3.0


@dataclass(frozen=True)
class Picked:
    """What the picker's ids are: attendees (members by name and UPN; anyone else picked from
    the organization by directory id, named after sign-in), and ids nobody can be found for."""

    attendees: tuple[Attendee, ...]
    unusable: tuple[str, ...]

    @property
    def named(self) -> tuple[tuple[str, str], ...]:
        """(name, id) of the people already named, for the form's picker."""
        return tuple(
            (a.display_name, a.object_id) for a in self.attendees if a.display_name and a.object_id
        )


async def resolve_picked(turn: Turn, ids: Sequence[str]) -> Picked:
    """Each id looked up as a member of this conversation (Teams answers only for members);
    an Entra object id outside it is kept for the directory; any other id cannot be used."""

    async def one(member_id: str) -> Attendee | str | None:
        if member_id == turn.origin.bot_id:
            return None
        try:
            member = await turn.people.member(member_id)
        except Exception as error:
            # The channel failed (not "not a member"): the directory may still know them.
            _log.warning("a picked person's member lookup failed: %s", type(error).__name__)
            member = None
        if member is not None and member.upn:
            object_id = member.aad_object_id or (member_id if is_object_id(member_id) else None)
            return Attendee(upn=member.upn, object_id=object_id, display_name=member.name)
        return Attendee(object_id=member_id) if is_object_id(member_id) else member_id

    found = await asyncio.gather(*(one(member_id) for member_id in ids))
    attendees = tuple(item for item in found if isinstance(item, Attendee))
    unusable = tuple(item for item in found if isinstance(item, str))
    return Picked(attendees, unusable)


def _people(count: int) -> str:
    return "1 person" if count == 1 else f"{count} people"


async def name_from_directory(
    directory: Directory | None, token: str, request: MeetingRequest, *, budget_s: float
) -> tuple[MeetingRequest, tuple[str, ...]]:
    """The request with every attendee known only by directory id named from the directory
    (`GET /users/{id}`, User.ReadBasic.All); those it cannot name are left out, and the notes
    say why, without their ids. Raises `GraphAuthError` (the token expired: sign in again)."""
    unnamed = [a for a in request.attendees if a.upn is None and a.object_id]
    if not unnamed:
        return request, ()
    if directory is None:
        answers: list[DirectoryUser | BaseException | None] = [
            GraphError(graph_message="no directory") for _ in unnamed
        ]
    else:
        budget = min(DIRECTORY_BUDGET_S, budget_s)
        answers = list(
            await asyncio.gather(
                *(directory.user(token, a.object_id or "", budget_s=budget) for a in unnamed),
                return_exceptions=True,
            )
        )
    named: dict[str, Attendee] = {}
    missing = forbidden = failed = 0
    for attendee, answer in zip(unnamed, answers, strict=True):
        if isinstance(answer, GraphAuthError):
            raise answer
        if isinstance(answer, GraphForbiddenError):
            forbidden += 1
        elif isinstance(answer, BaseException):
            if not isinstance(answer, GraphError):
                raise answer
            failed += 1
        elif answer is None or not answer.upn:
            missing += 1
        else:
            named[attendee.key] = Attendee(
                upn=answer.upn, object_id=answer.object_id, display_name=answer.name
            )
    attendees: dict[str, Attendee] = {}
    for attendee in request.attendees:
        if attendee.upn is None:
            replacement = named.get(attendee.key)
            if replacement is None:
                continue
            attendee = replacement
        attendees.setdefault(attendee.key, attendee)
    notes = []
    if missing:
        notes.append(
            f"I couldn't invite {_people(missing)} you picked: I can't find "
            f"{'them' if missing > 1 else 'that person'} in your organization's directory."
        )
    if forbidden:
        notes.append(
            f"I couldn't invite {_people(forbidden)} you picked: I'm not allowed to look people "
            "up in your organization's directory (an admin can grant MeetBot the "
            "User.ReadBasic.All permission). Send them the invitation instead."
        )
    if failed:
        notes.append(
            f"I couldn't invite {_people(failed)} you picked: your organization's directory "
            "didn't answer in time. Send them the invitation instead."
        )
    return request.model_copy(update={"attendees": tuple(attendees.values())}), tuple(notes)
