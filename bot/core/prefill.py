"""Fills the meeting form from a Teams message, or from a meet command the reader was unsure of."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from datetime import datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from bot.core.form import DEFAULT_DURATION, DURATION_CHOICES, FormValues, is_object_id
from bot.core.parse import ParsedMeeting, Unsure, parse_meeting
from bot.core.parse_facts import describe_date, describe_length, format_clock
from bot.core.request import MAX_SUBJECT, clean_subject

__all__ = ["message_people", "message_text", "prefill_from_message", "prefill_from_unsure"]

Person = tuple[str, str]

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_TRAILING = " \t,;:-–—.!?…"
_BLOCKS = frozenset(
    {
        *("address", "article", "blockquote", "br", "dd", "div", "dl", "dt", "footer", "header"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "ol", "p", "pre", "section"),
        *("table", "tbody", "td", "th", "thead", "tr", "ul"),
    }
)
# Not part of what the author wrote: attachments, scripts, and the message a reply quotes.
_SKIPPED = frozenset({"attachment", "script", "style", "template"})
_QUOTED_REPLY = "schema.skype.com/Reply"


class _MessageText(HTMLParser):
    """The text of a Teams message body: entities unescaped, blocks on their own lines, and the
    text of each <at> mention collected."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.mentions: list[str] = []
        self._mention: list[str] | None = None
        self._skipping: str | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skipping is not None:
            self._depth += tag == self._skipping
            return
        quoted = tag == "blockquote" and any(_QUOTED_REPLY in (v or "") for _, v in attrs)
        if tag in _SKIPPED or quoted:
            self._skipping, self._depth = tag, 1
        elif tag == "at":
            self._mention = []
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skipping is not None:
            self._depth -= tag == self._skipping
            if self._depth == 0:
                self._skipping = None
            return
        if tag == "at" and self._mention is not None:
            self.mentions.append(" ".join("".join(self._mention).split()))
            self._mention = None
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skipping is None:
            self.parts.append(data)
            if self._mention is not None:
                self._mention.append(data)


def message_text(html_or_text: str) -> tuple[str, tuple[str, ...]]:
    """A message's text, one line per block, and the names it mentions with <at>."""
    reader = _MessageText()
    reader.feed(html_or_text)
    reader.close()
    lines = (" ".join(_visible(line).split()) for line in "".join(reader.parts).split("\n"))
    return "\n".join(line for line in lines if line), tuple(filter(None, reader.mentions))


def message_people(author: Person | None, mentions: Sequence[Person]) -> tuple[Person, ...]:
    """The author and the people mentioned, once each, as (name, Entra object id).

    Only object ids (GUIDs) are kept: they are what the form's people picker submits.
    """
    people: dict[str, str] = {}
    for name, object_id in (*((author,) if author else ()), *mentions):
        key = object_id.strip().lower()
        if is_object_id(key) and key not in people:
            people[key] = name
    return tuple((name, object_id) for object_id, name in people.items())


def _visible(text: str) -> str:
    return "".join(" " if ch.isspace() else ch for ch in text if unicodedata.category(ch)[0] != "C")


def _without(text: str, names: Sequence[str]) -> str:
    for name in names:
        text = text.replace(name, " ")
    return " ".join(text.split())


def _sentences(text: str) -> Iterator[str]:
    for line in text.split("\n"):
        yield from (piece.strip() for piece in _SENTENCE_END.split(line) if piece.strip())


def _bounded(text: str) -> str:
    """At most MAX_SUBJECT characters, cut at a word with an ellipsis when it is longer."""
    text = " ".join(_visible(text).split()).rstrip(_TRAILING)
    if len(text) <= MAX_SUBJECT:
        return clean_subject(text)
    cut = text[: MAX_SUBJECT - 1]
    space = cut.rfind(" ")
    if space > MAX_SUBJECT // 2:
        cut = cut[:space]
    return clean_subject(cut.rstrip(_TRAILING) + "…")


def _nearest_choice(minutes: float) -> int:
    return min(DURATION_CHOICES, key=lambda choice: (abs(choice - minutes), -choice))


def prefill_from_message(
    html_or_text: str,
    *,
    author: Person | None,
    mentions: Sequence[Person],
    now: datetime,
    zone: ZoneInfo,
    culture: str = "en-us",
) -> FormValues:
    """The form's values for a meeting about a message: its first sentence as the subject, the
    date, time and length it names (read as the meet command would), its author and mentions."""
    text, tagged = message_text(html_or_text)
    names = tuple(dict.fromkeys([*tagged, *(name for name, _ in mentions if name.strip())]))

    def parse(piece: str) -> ParsedMeeting | None:
        parsed = parse_meeting(piece, now=now, zone=zone, culture=culture, mention_texts=names)
        return parsed if isinstance(parsed, ParsedMeeting) else None

    first = next((s for s in _sentences(text) if _without(s, names).strip(_TRAILING)), "")
    in_first = parse(first) if first else None
    timed = in_first if in_first and in_first.start_given else None
    whole = " ".join(text.split())
    if timed is None and whole != first:
        in_whole = parse(whole)
        timed = in_whole if in_whole and in_whole.start_given else None
    # The first sentence without its date and time makes the subject, as in the meet command.
    subject = _bounded(in_first.subject if in_first else _without(first, names))
    measured = timed or in_first
    duration = DEFAULT_DURATION
    if measured is not None:
        duration = _nearest_choice((measured.end - measured.start).total_seconds() / 60)
    emails = dict.fromkeys(
        [*(in_first.emails if in_first else ()), *(timed.emails if timed else ())]
    )
    local_start = timed.start.astimezone(zone) if timed else None
    return FormValues(
        subject=subject,
        date=local_start.date().isoformat() if local_start else "",
        start_time=f"{local_start:%H:%M}" if local_start else "",
        duration_minutes=str(duration),
        attendees=",".join(object_id for _, object_id in message_people(author, mentions)),
        attendee_emails="; ".join(emails),
    )


def prefill_from_unsure(
    unsure: Unsure, zone: ZoneInfo, people: Sequence[Person] = ()
) -> tuple[FormValues, str]:
    """The form for a meet command the reader was not sure about: what it did read filled in,
    and a message saying what it could not read and what it understood."""
    reading = unsure.reading
    values = FormValues(
        subject=_bounded(unsure.subject),
        attendees=",".join(object_id for _, object_id in people if is_object_id(object_id)),
        attendee_emails="; ".join(unsure.emails),
    )
    understood = f"I understood the subject “{values.subject}”"
    if reading is not None and reading.start_given:
        start = reading.start.astimezone(zone)
        minutes = _nearest_choice((reading.end - reading.start).total_seconds() / 60)
        values = values.model_copy(
            update={
                "date": start.date().isoformat(),
                "start_time": f"{start:%H:%M}",
                "duration_minutes": str(minutes),
            }
        )
        understood += (
            f", {describe_date(start.date())} at {format_clock(start.hour, start.minute)}, "
            f"{describe_length(reading.end - reading.start)}"
        )
    return values, f"{unsure.reason} {understood}. Check the form and press Create."
