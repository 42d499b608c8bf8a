"""Typed Adaptive Card 1.5 elements: snake_case in Python, the card schema's names on the wire."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue
from pydantic.alias_generators import to_camel

CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.5"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"

Spacing = Literal["none", "small", "default", "medium", "large", "extraLarge", "padding"]
Color = Literal["default", "dark", "light", "accent", "good", "warning", "attention"]


def _no_pickle_tags(value: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """Refuses keys jsonpickle (msrest writes activities with it) would read back as its tags."""
    pending: list[JsonValue] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            tags = [key for key in item if key.startswith("py/")]
            if tags:
                raise ValueError(f"{tags[0]!r} is a jsonpickle tag, not a card data key")
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return value


# What an action sends back, or Teams' own properties: JSON values only (finite numbers).
JsonObject = Annotated[dict[str, JsonValue], AfterValidator(_no_pickle_tags)]


class CardPart(BaseModel):
    """Every card class: `to_wire()` is its JSON, the schema's names, None values left out.

    Values are checked as a part is built (strictly: text must be text, a flag a flag), and
    `from_wire` reads a card's JSON back, refusing any property or element it does not know.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
    )

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")

    @classmethod
    def from_wire(cls, wire: Any) -> Self:
        """The part this JSON describes; a pydantic ValidationError (a ValueError) for any
        property, element type or value it does not know."""
        return cls.model_validate(wire)


class TextBlock(CardPart):
    type: Literal["TextBlock"] = "TextBlock"
    text: str
    wrap: bool = True
    size: Literal["small", "default", "medium", "large", "extraLarge"] | None = None
    weight: Literal["lighter", "default", "bolder"] | None = None
    color: Color | None = None
    is_subtle: bool | None = None
    spacing: Spacing | None = None
    separator: bool | None = None
    style: Literal["default", "heading"] | None = None
    font_type: Literal["default", "monospace"] | None = None
    id: str | None = None
    is_visible: bool | None = None


class Fact(CardPart):
    title: str
    value: str


class FactSet(CardPart):
    type: Literal["FactSet"] = "FactSet"
    facts: list[Fact]
    spacing: Spacing | None = None
    separator: bool | None = None


class Column(CardPart):
    type: Literal["Column"] = "Column"
    items: list[AnyElement]
    width: str | None = None
    vertical_content_alignment: Literal["top", "center", "bottom"] | None = None


class ColumnSet(CardPart):
    type: Literal["ColumnSet"] = "ColumnSet"
    columns: list[Column]
    spacing: Spacing | None = None
    separator: bool | None = None


class Container(CardPart):
    type: Literal["Container"] = "Container"
    items: list[AnyElement]
    style: Literal["default", "emphasis", "good", "attention", "warning", "accent"] | None = None
    spacing: Spacing | None = None
    separator: bool | None = None
    bleed: bool | None = None


class ActionOpenUrl(CardPart):
    type: Literal["Action.OpenUrl"] = "Action.OpenUrl"
    title: str
    url: str
    tooltip: str | None = None


class ActionSubmit(CardPart):
    type: Literal["Action.Submit"] = "Action.Submit"
    title: str
    data: JsonObject | None = None
    style: Literal["default", "positive", "destructive"] | None = None
    associated_inputs: Literal["auto", "none"] | None = None


class ActionExecute(CardPart):
    type: Literal["Action.Execute"] = "Action.Execute"
    title: str
    verb: str
    data: JsonObject | None = None
    style: Literal["default", "positive", "destructive"] | None = None
    associated_inputs: Literal["auto", "none"] | None = None
    fallback: ActionSubmit | None = None


class Refresh(CardPart):
    """Universal Actions: the listed users' clients run `action` when they show the card, and
    each sees the card the bot answers with (everyone else sees the card as sent)."""

    action: ActionExecute
    user_ids: list[str] | None = None


class ActionShowCard(CardPart):
    type: Literal["Action.ShowCard"] = "Action.ShowCard"
    title: str
    card: AdaptiveCard


class ActionSet(CardPart):
    type: Literal["ActionSet"] = "ActionSet"
    actions: list[AnyAction]
    spacing: Spacing | None = None


Element = TextBlock | FactSet | ColumnSet | Container | ActionSet
Action = ActionOpenUrl | ActionSubmit | ActionExecute | ActionShowCard
# In a card's lists, each part is read as the class its "type" names.
AnyElement = Annotated[Element, Field(discriminator="type")]
AnyAction = Annotated[Action, Field(discriminator="type")]


class AdaptiveCard(CardPart):
    type: Literal["AdaptiveCard"] = "AdaptiveCard"
    # The schema's own name; `alias=` would make it the keyword argument for type checkers too.
    schema_: str = Field(
        default=CARD_SCHEMA, validation_alias="$schema", serialization_alias="$schema"
    )
    version: str = CARD_VERSION
    body: list[AnyElement] = Field(default_factory=list)
    actions: list[AnyAction] | None = None
    refresh: Refresh | None = None
    msteams: JsonObject | None = None

    def to_dict(self) -> dict[str, Any]:
        """The top-level card as Teams and the renderers expect it (full width in Teams)."""
        card = self.to_wire()
        card.setdefault("msteams", {"width": "Full"})
        return card


# The parts that name parts defined after them, completed now that all are defined.
Column.model_rebuild()
ColumnSet.model_rebuild()
Container.model_rebuild()
ActionShowCard.model_rebuild()
ActionSet.model_rebuild()
AdaptiveCard.model_rebuild()


# Markdown that would turn user text into links or formatting: inline markers anywhere (a
# backslash before each), list, heading and quote markers only where a line starts.
_INLINE_MARKER = re.compile(r"([\\`*_\[\]<>~&])")
_BLOCK_MARKER = re.compile(r"(?m)^(\s*)([#+\-])")
_ORDERED_MARKER = re.compile(r"(?m)^(\s*\d+)([.)])")


def plain(text: str) -> str:
    """User-supplied text, escaped so a TextBlock shows it literally (no links, no formatting)."""
    text = _INLINE_MARKER.sub(r"\\\1", text)
    text = _BLOCK_MARKER.sub(r"\1\\\2", text)
    return _ORDERED_MARKER.sub(r"\1\\\2", text)
