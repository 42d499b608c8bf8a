"""Typed Adaptive Card 1.5 elements: snake_case in Python, the card schema's names on the wire."""

from __future__ import annotations

import math
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from types import UnionType
from typing import Any, Literal, TypeVar

from typing_extensions import dataclass_transform

from bot.fastjson import vouch_plain

CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.5"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"

Spacing = Literal["none", "small", "default", "medium", "large", "extraLarge", "padding"]
Color = Literal["default", "dark", "light", "accent", "good", "warning", "attention"]

_P = TypeVar("_P", bound="CardPart")
_C = TypeVar("_C", bound=type)


@dataclass_transform(frozen_default=True, kw_only_default=True)
def card_part(cls: _C) -> _C:
    """A card class: a dataclass with slots and keyword arguments, frozen for the type checker.

    Frozen at run time too, `__init__` would set each field through `object.__setattr__`:
    building a meeting card took 86 us instead of 49. mypy --strict checks all code that
    builds cards, and refuses any assignment to a field, as it would for a frozen dataclass.
    """
    return dataclass(slots=True, kw_only=True)(cls)  # type: ignore[return-value]


# Dataclasses, not pydantic models: a meeting card is ~35 of them on every meeting's path,
# and building and dumping it as pydantic models cost 0.12 ms of a 1.5 ms turn. The types
# are checked where the cards are written (mypy --strict), values as the JSON is written
# (`to_wire`); `from_wire` checks a card's JSON against them in the tests, and the official
# renderer checks it in tests/render.
@card_part
class CardPart:
    """Every card class: `to_wire()` is its JSON, the schema's names, None values left out."""

    def to_wire(self) -> dict[str, Any]:
        writer = _WRITERS.get(type(self)) or _compile_writer(type(self))
        return writer(self)

    @classmethod
    def from_wire(cls: type[_P], wire: Any) -> _P:
        """The part this JSON describes; ValueError for any property or type it does not know."""
        if not isinstance(wire, dict):
            raise ValueError(f"{cls.__name__}: expected an object, got {wire!r}")
        attrs = {key: attr for attr, key, _nested in _plan(cls)}
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for key, value in wire.items():
            if key not in attrs:
                raise ValueError(f"{cls.__name__} has no property {key!r}")
            values[attrs[key]] = _from_wire(hints[attrs[key]], value)
        try:
            return cls(**values)
        except TypeError as error:
            raise ValueError(f"{cls.__name__}: {error}") from None


def _camel(name: str) -> str:
    first, *rest = name.rstrip("_").split("_")
    return first + "".join(part.capitalize() for part in rest)


def _wire_name(name: str, metadata: Any) -> str:
    wire = metadata.get("wire")
    return wire if isinstance(wire, str) else _camel(name)


# Per class: (attribute, JSON name, whether its value needs converting, not just copying).
_PLANS: dict[type, tuple[tuple[str, str, bool], ...]] = {}


def _plan(cls: type) -> tuple[tuple[str, str, bool], ...]:
    plan = _PLANS.get(cls)
    if plan is None:
        hints = typing.get_type_hints(cls)
        plan = _PLANS[cls] = tuple(
            (f.name, _wire_name(f.name, f.metadata), not _is_scalar(hints[f.name]))
            for f in fields(cls)
        )
    return plan


_WRITERS: dict[type, Callable[[Any], dict[str, Any]]] = {}


def _compile_writer(cls: type) -> Callable[[Any], dict[str, Any]]:
    """`to_wire` for one class as straight-line code, as dataclasses writes `__init__`: a
    card is ~35 parts of up to 13 fields, most of them None, on every meeting's path."""
    lines = ["def to_wire(self):", "    wire = {}"]
    for attr, key, nested in _plan(cls):
        lines += [f"    value = self.{attr}", "    if value is not None:"]
        if nested:
            lines += [
                "        try:",
                f"            wire[{key!r}] = _to_wire(value)",
                "        except _NotJson as error:",
                f"            raise error.within(self, {attr!r})",
            ]
        else:
            # Dataclasses check no types: a value mypy was told is text must be text here.
            lines += [
                "        if value.__class__ not in _SCALARS:",
                f"            raise _NotJson(value).within(self, {attr!r})",
                f"        wire[{key!r}] = value",
            ]
    lines.append("    return wire")
    namespace: dict[str, Any] = {"_to_wire": _to_wire, "_SCALARS": _SCALARS, "_NotJson": _NotJson}
    exec("\n".join(lines), namespace)
    writer: Callable[[Any], dict[str, Any]] = namespace["to_wire"]
    _WRITERS[cls] = writer
    return writer


def _is_scalar(hint: Any) -> bool:
    """Text, a flag, a number or one of some Literal values (or None): JSON as it is."""
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is UnionType:
        return all(_is_scalar(arg) for arg in typing.get_args(hint))
    return origin is Literal or hint in (str, bool, int, type(None))


# The values a card's JSON is written with, exactly (what `bot.fastjson.is_plain_json` takes).
_SCALARS = frozenset({str, bool, int})


class _NotJson(TypeError):
    """A card value JSON cannot carry as it is; where it is, filled in as the error unwinds."""

    def __init__(self, value: object, path: str = "") -> None:
        super().__init__()
        self.value = value
        self.part = ""
        self.path = path

    def within(self, part: object, attr: str) -> _NotJson:
        if not self.part:
            self.part = f"{type(part).__name__}.{attr}"
        return self

    def __str__(self) -> str:
        return (
            f"{self.part}{self.path}: {type(self.value).__name__} {self.value!r} "
            "is not a JSON value for a card"
        )


def _to_wire(value: Any) -> Any:
    """A fresh copy in JSON types only, or `_NotJson`: the card can then be vouched for."""
    if isinstance(value, CardPart):
        return value.to_wire()
    kind = value.__class__
    if kind in _SCALARS or value is None:
        return value
    if kind is list:
        return [_to_wire(item) for item in value]
    if kind is dict:  # action data: copied, so editing a card edits no constant
        wire = {}
        for key, item in value.items():
            if key.__class__ is not str or key.startswith("py/"):
                raise _NotJson(key, f"[{key!r}]")
            try:
                wire[key] = _to_wire(item)
            except _NotJson as error:
                error.path = f"[{key!r}]{error.path}"
                raise
        return wire
    if kind is float and math.isfinite(value):
        return value
    raise _NotJson(value)


def _from_wire(hint: Any, value: Any) -> Any:
    """`value` read as `hint` says: card parts by their `type`, lists item by item."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin is list:
        if not isinstance(value, list):
            raise ValueError(f"expected a list, got {value!r}")
        (item_hint,) = typing.get_args(hint)
        return [_from_wire(item_hint, item) for item in value]
    if origin is typing.Union or origin is UnionType:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:  # X | None, and the value is not None
            return _from_wire(args[0], value)
        parts = [a for a in args if isinstance(a, type) and issubclass(a, CardPart)]
        if not parts:
            return _scalar(hint, value)
        kind = value.get("type") if isinstance(value, dict) else None
        for part in parts:
            if _type_of(part) == kind:
                return part.from_wire(value)
        raise ValueError(f"no element of type {kind!r} here")
    if isinstance(hint, type) and issubclass(hint, CardPart):
        return hint.from_wire(value)
    return _scalar(hint, value)


def _scalar(hint: Any, value: Any) -> Any:
    if not _accepts(hint, value):
        raise ValueError(f"{value!r} is not a {hint}")
    return value


def _accepts(hint: Any, value: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is UnionType:
        return any(_accepts(arg, value) for arg in typing.get_args(hint))
    if origin is Literal:
        return value in typing.get_args(hint)
    if origin is dict:
        return isinstance(value, dict)
    if hint is type(None):
        return value is None
    if hint is bool or hint is str:
        return type(value) is hint
    if hint is int:
        return type(value) is int
    return hint is Any


def _type_of(part: type) -> str | None:
    for f in fields(part):
        if f.name == "type":
            return f.default if isinstance(f.default, str) else None
    return None


@card_part
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


@card_part
class Fact(CardPart):
    title: str
    value: str


@card_part
class FactSet(CardPart):
    type: Literal["FactSet"] = "FactSet"
    facts: list[Fact]
    spacing: Spacing | None = None
    separator: bool | None = None


@card_part
class Column(CardPart):
    type: Literal["Column"] = "Column"
    items: list[Element]
    width: str | None = None
    vertical_content_alignment: Literal["top", "center", "bottom"] | None = None


@card_part
class ColumnSet(CardPart):
    type: Literal["ColumnSet"] = "ColumnSet"
    columns: list[Column]
    spacing: Spacing | None = None
    separator: bool | None = None


@card_part
class Container(CardPart):
    type: Literal["Container"] = "Container"
    items: list[Element]
    style: Literal["default", "emphasis", "good", "attention", "warning", "accent"] | None = None
    spacing: Spacing | None = None
    separator: bool | None = None
    bleed: bool | None = None


@card_part
class ActionOpenUrl(CardPart):
    type: Literal["Action.OpenUrl"] = "Action.OpenUrl"
    title: str
    url: str
    tooltip: str | None = None


@card_part
class ActionSubmit(CardPart):
    type: Literal["Action.Submit"] = "Action.Submit"
    title: str
    data: dict[str, Any] | None = None
    style: Literal["default", "positive", "destructive"] | None = None
    associated_inputs: Literal["auto", "none"] | None = None


@card_part
class ActionExecute(CardPart):
    type: Literal["Action.Execute"] = "Action.Execute"
    title: str
    verb: str
    data: dict[str, Any] | None = None
    style: Literal["default", "positive", "destructive"] | None = None
    associated_inputs: Literal["auto", "none"] | None = None
    fallback: ActionSubmit | None = None


@card_part
class ActionShowCard(CardPart):
    type: Literal["Action.ShowCard"] = "Action.ShowCard"
    title: str
    card: AdaptiveCard


@card_part
class ActionSet(CardPart):
    type: Literal["ActionSet"] = "ActionSet"
    actions: list[Action]
    spacing: Spacing | None = None


Element = TextBlock | FactSet | ColumnSet | Container | ActionSet
Action = ActionOpenUrl | ActionSubmit | ActionExecute | ActionShowCard


@card_part
class AdaptiveCard(CardPart):
    type: Literal["AdaptiveCard"] = "AdaptiveCard"
    schema_: str = field(default=CARD_SCHEMA, metadata={"wire": "$schema"})
    version: str = CARD_VERSION
    body: list[Element] = field(default_factory=list)
    actions: list[Action] | None = None
    msteams: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The top-level card as Teams and the renderers expect it (full width in Teams)."""
        card = self.to_wire()
        card.setdefault("msteams", {"width": "Full"})
        return vouch_plain(card)


# Inline markers are escaped anywhere (a backslash before each: `str.replace` a marker at a
# time, the backslash first so the escapes added after it stay single; `str.translate` with a
# table looks a character at a time up in a dict, 20 us for an invitation), block markers
# (lists, headings, quotes) only where a line starts.
_INLINE_MARKERS = "\\`*_[]<>~&"
_BLOCK_MARKER = re.compile(r"(?m)^(\s*)([#+\-])")
_ORDERED_MARKER = re.compile(r"(?m)^(\s*\d+)([.)])")
# Whether any escape could apply at all, and whether a block marker could: most texts need none.
_ANY_MARKER = re.compile(r"(?m)[\\`*_\[\]<>~&#+\-]|^\s*\d+[.)]")
_LINE_MARKER = re.compile(r"(?m)^\s*(?:[#+\-]|\d+[.)])")


def plain(text: str) -> str:
    """User-supplied text, escaped so a TextBlock shows it literally (no links, no formatting)."""
    if _ANY_MARKER.search(text) is None:
        return text
    for marker in _INLINE_MARKERS:
        if marker in text:
            text = text.replace(marker, "\\" + marker)
    if _LINE_MARKER.search(text) is None:
        return text
    text = _BLOCK_MARKER.sub(r"\1\\\2", text)
    return _ORDERED_MARKER.sub(r"\1\\\2", text)
