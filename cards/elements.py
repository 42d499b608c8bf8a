"""Typed Adaptive Card 1.5 elements: snake_case in Python, the card schema's names on the wire."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.5"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"

Spacing = Literal["none", "small", "default", "medium", "large", "extraLarge", "padding"]
Color = Literal["default", "dark", "light", "accent", "good", "warning", "attention"]


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class TextBlock(_Model):
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


class Fact(_Model):
    title: str
    value: str


class FactSet(_Model):
    type: Literal["FactSet"] = "FactSet"
    facts: list[Fact]
    spacing: Spacing | None = None
    separator: bool | None = None


class Column(_Model):
    type: Literal["Column"] = "Column"
    items: list[Element]
    width: str | None = None
    vertical_content_alignment: Literal["top", "center", "bottom"] | None = None


class ColumnSet(_Model):
    type: Literal["ColumnSet"] = "ColumnSet"
    columns: list[Column]
    spacing: Spacing | None = None
    separator: bool | None = None


class Container(_Model):
    type: Literal["Container"] = "Container"
    items: list[Element]
    style: Literal["default", "emphasis", "good", "attention", "warning", "accent"] | None = None
    spacing: Spacing | None = None
    separator: bool | None = None
    bleed: bool | None = None


class ActionOpenUrl(_Model):
    type: Literal["Action.OpenUrl"] = "Action.OpenUrl"
    title: str
    url: str
    tooltip: str | None = None


class ActionSubmit(_Model):
    type: Literal["Action.Submit"] = "Action.Submit"
    title: str
    data: dict[str, Any] | None = None
    style: Literal["default", "positive", "destructive"] | None = None
    associated_inputs: Literal["auto", "none"] | None = None


class ActionExecute(_Model):
    type: Literal["Action.Execute"] = "Action.Execute"
    title: str
    verb: str
    data: dict[str, Any] | None = None
    style: Literal["default", "positive", "destructive"] | None = None
    associated_inputs: Literal["auto", "none"] | None = None
    fallback: ActionSubmit | None = None


class ActionShowCard(_Model):
    type: Literal["Action.ShowCard"] = "Action.ShowCard"
    title: str
    card: AdaptiveCard


class ActionSet(_Model):
    type: Literal["ActionSet"] = "ActionSet"
    actions: list[Action]
    spacing: Spacing | None = None


Element = TextBlock | FactSet | ColumnSet | Container | ActionSet
Action = ActionOpenUrl | ActionSubmit | ActionExecute | ActionShowCard


class AdaptiveCard(_Model):
    type: Literal["AdaptiveCard"] = "AdaptiveCard"
    schema_: str = Field(default=CARD_SCHEMA, alias="$schema")
    version: str = CARD_VERSION
    body: list[Element] = Field(default_factory=list)
    actions: list[Action] | None = None
    msteams: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The top-level card as Teams and the renderers expect it (full width in Teams)."""
        card = self.model_dump(by_alias=True, exclude_none=True, mode="json")
        card.setdefault("msteams", {"width": "Full"})
        return card


for _model in (Column, Container, ActionShowCard, ActionSet, AdaptiveCard):
    _model.model_rebuild()

# Inline markers anywhere; block markers (lists, headings, quotes) only where a line starts.
_INLINE = re.compile(r"([\\`*_\[\]<>~&])")
_BLOCK_MARKER = re.compile(r"(?m)^(\s*)([#+\-])")
_ORDERED_MARKER = re.compile(r"(?m)^(\s*\d+)([.)])")
# Whether any of the three could match: most texts need no escaping at all.
_ANY_MARKER = re.compile(r"(?m)[\\`*_\[\]<>~&#+\-]|^\s*\d+[.)]")


def plain(text: str) -> str:
    """User-supplied text, escaped so a TextBlock shows it literally (no links, no formatting)."""
    if _ANY_MARKER.search(text) is None:
        return text
    text = _INLINE.sub(r"\\\1", text)
    text = _BLOCK_MARKER.sub(r"\1\\\2", text)
    return _ORDERED_MARKER.sub(r"\1\\\2", text)
