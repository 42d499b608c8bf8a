"""The meeting form card (chat and task module), with the typed input elements it is built from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Annotated, Any, Final, Literal

from pydantic import Field, JsonValue

from bot.core.form import (
    DEFAULT_DURATION,
    DURATION_CHOICES,
    FIELDS,
    REMINDER_CHOICES,
    USUAL_REMINDER,
    FormValues,
    duration_label,
    form_options,
)
from bot.core.online_meeting import MeetingOptions
from bot.core.request import MAX_SUBJECT
from cards.elements import (
    Action,
    ActionExecute,
    ActionSubmit,
    AdaptiveCard,
    CardPart,
    Element,
    Spacing,
    TextBlock,
    plain,
)
from cards.meeting import CHAT_LABELS, LOBBY_LABELS, PRESENTER_LABELS

CREATE_MEETING_VERB: Final = "createMeeting"
CREATE_MEETING_DATA: Final[Mapping[str, str]] = {"meetbot": CREATE_MEETING_VERB}
PEOPLE_DATASET: Final = "graph.microsoft.com/users"


class _Input(CardPart):
    """What every Adaptive Card input has."""

    id: str
    label: str | None = None
    placeholder: str | None = None
    value: str | None = None
    is_required: bool | None = None
    error_message: str | None = None
    spacing: Spacing | None = None
    separator: bool | None = None
    is_visible: bool | None = None


class InputText(_Input):
    type: Literal["Input.Text"] = "Input.Text"
    max_length: int | None = None
    is_multiline: bool | None = None
    style: Literal["text", "tel", "url", "email", "password"] | None = None
    regex: str | None = None


class _BoundedInput(_Input):
    """Date and time inputs: a value between `min` and `max` (ISO text)."""

    min: str | None = None
    max: str | None = None


class InputDate(_BoundedInput):
    type: Literal["Input.Date"] = "Input.Date"


class InputTime(_BoundedInput):
    type: Literal["Input.Time"] = "Input.Time"


class Choice(CardPart):
    title: str
    value: str


class DataQuery(CardPart):
    """Teams' dynamic choices; with a graph.microsoft.com/users dataset, the people picker."""

    type: Literal["Data.Query"] = "Data.Query"
    dataset: str
    count: int | None = None
    skip: int | None = None


class InputChoiceSet(CardPart):
    type: Literal["Input.ChoiceSet"] = "Input.ChoiceSet"
    id: str
    choices: list[Choice] = Field(default_factory=list)
    # The schema names this property with a dot, at the same level as `choices`, not nested.
    choices_data: DataQuery | None = Field(
        default=None, validation_alias="choices.data", serialization_alias="choices.data"
    )
    is_multi_select: bool | None = None
    style: Literal["compact", "expanded", "filtered"] | None = None
    label: str | None = None
    placeholder: str | None = None
    value: str | None = None
    wrap: bool | None = None
    is_required: bool | None = None
    error_message: str | None = None
    spacing: Spacing | None = None
    separator: bool | None = None
    is_visible: bool | None = None


FormElement = Element | InputText | InputDate | InputTime | InputChoiceSet
AnyFormElement = Annotated[FormElement, Field(discriminator="type")]


class FormCard(AdaptiveCard):
    """An AdaptiveCard whose body may also hold inputs."""

    body: list[AnyFormElement] = Field(default_factory=list)  # type: ignore[assignment]


_YES_NO = [Choice(title="Yes", value="true"), Choice(title="No", value="false")]


def _choice(
    id: str, label: str, labels: dict[str, str], value: str | bool | None
) -> InputChoiceSet:
    choices = (
        _YES_NO if not labels else [Choice(title=title, value=key) for key, title in labels.items()]
    )
    shown = str(value).lower() if isinstance(value, bool) else value
    return InputChoiceSet(id=id, label=label, choices=choices, style="compact", value=shown)


def option_inputs(options: MeetingOptions) -> list[FormElement]:
    """The options as inputs (the Options card, and the new-meeting form's options section)."""
    return [
        _choice("lobbyBypass", "Who can bypass the lobby", LOBBY_LABELS, options.lobby_bypass),
        _choice(
            "allowedPresenters", "Who can present", PRESENTER_LABELS, options.allowed_presenters
        ),
        _choice("recordAutomatically", "Record automatically", {}, options.record_automatically),
        _choice(
            "isEntryExitAnnounced",
            "Announce when people join or leave",
            {},
            options.is_entry_exit_announced,
        ),
        _choice("allowMeetingChat", "Meeting chat", CHAT_LABELS, options.allow_meeting_chat),
    ]


def _options_section(values: FormValues) -> list[FormElement]:
    return [
        TextBlock(text="Meeting options", weight="bolder", spacing="large", separator=True),
        TextBlock(
            text="As Teams usually sets them; change any you want.",
            is_subtle=True,
            size="small",
            spacing="none",
        ),
        *option_inputs(form_options(values)),
    ]


def _error(field: str | None, message: str) -> TextBlock:
    return TextBlock(
        id=f"{field}Error" if field else None,
        text=plain(message),
        color="attention",
        size="small",
        spacing="small",
    )


def _valid_date(text: str) -> str | None:
    try:
        return date.fromisoformat(text).isoformat() if len(text) == 10 else None
    except ValueError:
        return None


def _valid_time(text: str) -> str | None:
    hour, colon, rest = text.partition(":")
    minute = rest[:2]
    digits = all(part.isascii() and part.isdigit() for part in (hour, minute))
    if not (colon and digits and len(hour) <= 2 and len(minute) == 2):
        return None
    return f"{int(hour):02d}:{minute}" if int(hour) < 24 and int(minute) < 60 else None


def _inputs(
    values: FormValues, today: date, people: Sequence[tuple[str, str]], zone_name: str | None
) -> dict[str, FormElement]:
    duration = values.duration_minutes.strip()
    if duration not in {str(m) for m in DURATION_CHOICES}:
        duration = str(DEFAULT_DURATION)
    picked = {person.strip().lower() for person in values.attendees.split(",")}
    reminder = values.reminder_minutes.strip()
    return {
        "subject": InputText(
            id="subject",
            label="Subject",
            placeholder="e.g. Design review",
            value=values.subject or None,
            max_length=MAX_SUBJECT,
            is_required=True,
            error_message=f"Give the meeting a subject (up to {MAX_SUBJECT} characters).",
        ),
        # Input.Date and Input.Time only show well-formed values; a bad one is named in the error.
        "date": InputDate(
            id="date",
            label="Date",
            value=_valid_date(values.date.strip()),
            min=today.isoformat(),
            is_required=True,
            error_message="Pick the day of the meeting, today or later.",
        ),
        "startTime": InputTime(
            id="startTime",
            label=f"Start time ({zone_name})" if zone_name else "Start time",
            value=_valid_time(values.start_time.strip()),
            is_required=True,
            error_message="Pick the time the meeting starts.",
        ),
        "durationMinutes": InputChoiceSet(
            id="durationMinutes",
            label="Length",
            style="compact",
            choices=[Choice(title=duration_label(m), value=str(m)) for m in DURATION_CHOICES],
            value=duration,
            is_required=True,
            error_message="Choose how long the meeting lasts.",
        ),
        "reminderMinutes": InputChoiceSet(
            id="reminderMinutes",
            label="Reminder in this conversation",
            style="compact",
            choices=[Choice(title="The usual reminder", value=USUAL_REMINDER)]
            + [
                Choice(
                    title="No reminder" if m == 0 else f"{duration_label(m)} before", value=str(m)
                )
                for m in REMINDER_CHOICES
            ],
            value=reminder if reminder in {str(m) for m in REMINDER_CHOICES} else USUAL_REMINDER,
        ),
        "attendees": InputChoiceSet(
            id="attendees",
            label="Attendees",
            placeholder="Search for people in your organization",
            style="filtered",
            is_multi_select=True,
            # Static choices give pre-selected people their names; the dataset does the search.
            choices=[
                Choice(title=name, value=object_id)
                for name, object_id in people
                if object_id.lower() in picked
            ],
            choices_data=DataQuery(dataset=PEOPLE_DATASET),
            value=values.attendees or None,
            error_message="Pick people from the search, or type their e-mail addresses below.",
        ),
        "attendeeEmails": InputText(
            id="attendeeEmails",
            label="Attendees by e-mail (if the people search doesn't appear)",
            placeholder="alex@contoso.com; adele@contoso.com",
            value=values.attendee_emails or None,
            error_message="Separate e-mail addresses with commas or semicolons.",
        ),
    }


def meeting_form_card(
    values: FormValues | None = None,
    errors: Mapping[str, str] | None = None,
    *,
    today: date,
    message: str | None = None,
    for_task_module: bool = False,
    people: Sequence[tuple[str, str]] = (),
    zone_name: str | None = None,
    heading: str = "New Teams meeting",
    submit_title: str = "Create meeting",
    submit_data: Mapping[str, JsonValue] | None = None,
    extra: Sequence[FormElement] = (),
    with_options: bool = True,
) -> dict[str, Any]:
    """The meeting form, filled with `values` and showing `errors` (field id → message).

    `today` is the user's local date (the earliest day offered); `people` are (name, Entra object
    id) pairs naming the ids pre-selected in `values.attendees`; `zone_name` is shown next to the
    start time. In a task module the submit is a plain Action.Submit (it arrives as
    composeExtension/submitAction); elsewhere Action.Execute, falling back to Action.Submit.
    `submit_data` (its `meetbot` is the verb) makes it another form, such as Reschedule's;
    `extra` are more inputs under the rest. `with_options` adds the options section (a new
    meeting's lobby, presenters, recording, announcements and chat).
    """
    values = values or FormValues(date=today.isoformat())
    errors = errors or {}
    body: list[FormElement] = []
    if message:
        body.append(TextBlock(text=plain(message), color="attention", weight="bolder"))
    # Errors for anything that is not one of the inputs still need to be seen.
    body += [_error(None, text) for field, text in errors.items() if field not in FIELDS]
    body.append(
        TextBlock(
            text=plain(heading),
            size="large",
            weight="bolder",
            style="heading",
            spacing="medium" if body else None,
        )
    )
    # Teams shows an input's errorMessage only for its own client-side checks (required, length),
    # never for the bot's; so each server-side error is a red TextBlock right under its input.
    for name, element in _inputs(values, today, people, zone_name).items():
        body.append(element)
        if name in errors:
            body.append(_error(name, errors[name]))
    if with_options:
        for element in _options_section(values):
            body.append(element)
            input_id = getattr(element, "id", None)
            if isinstance(input_id, str) and input_id in errors:
                body.append(_error(input_id, errors[input_id]))
    body += list(extra)
    data: dict[str, JsonValue] = dict(submit_data or CREATE_MEETING_DATA)
    submit = ActionSubmit(title=submit_title, data=data, style="positive")
    action: Action = (
        submit
        if for_task_module
        else ActionExecute(
            title=submit_title,
            verb=str(data["meetbot"]),
            data=data,
            style="positive",
            fallback=submit,
        )
    )
    return FormCard(body=body, actions=[action]).to_dict()
