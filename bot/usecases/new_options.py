"""A new meeting's options chosen on the form, set with a PATCH right after createOrGet."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from bot.core.online_meeting import MeetingUpdate
from bot.core.request import MeetingRequest
from bot.graph import CreateOrGetResult, GraphError, OnlineMeetingsApi

_log = logging.getLogger(__name__)

NOT_APPLIED = (
    "The meeting is made, but the options you chose were not applied: {reason} "
    "Select Options on this card to set them."
)


@dataclass(frozen=True)
class Applied:
    """Graph's meeting after the options; `shown` when the card shows them; a note on failure."""

    result: CreateOrGetResult
    shown: bool = False
    note: str | None = None


async def apply_options(
    graph: OnlineMeetingsApi,
    token: str,
    request: MeetingRequest,
    result: CreateOrGetResult,
    *,
    budget_s: float,
) -> Applied:
    """PATCH only the chosen options the meeting does not have yet (none: nothing is sent, as
    when the same request is asked again). A failure keeps the meeting and says so."""
    if request.options is None:
        return Applied(result)
    change = request.options.changes_from(result.meeting.options())
    if not change.to_graph_body():
        return Applied(result, shown=True)
    try:
        meeting = await graph.update(
            token, result.meeting.id, MeetingUpdate(options=change), budget_s=budget_s
        )
    except GraphError as error:
        _log.warning("a new meeting's options were not applied: %s", type(error).__name__)
        reason = error.user_message
        if error.request_id:
            reason += f" (Graph request id {error.request_id})"
        return Applied(result, note=NOT_APPLIED.format(reason=reason))
    return Applied(replace(result, meeting=meeting), shown=True)
