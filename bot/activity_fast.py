"""Activities to and from JSON without msrest's generic machinery, with msrest's results.

msrest builds a `Serializer` or `Deserializer` per call and walks every value, card content
included, through several layers of type dispatch (about 1 ms to serialize a meeting card,
0.2 ms to read a Teams message). These walk the same `_attribute_map`s with a plan computed
once per model class. Values of exactly the types botbuilder's schema and JSON use are
handled here; anything else (an odd value, a tuple, a dict subclass, a number where text is
expected, an unusual attribute type) makes the whole activity go through msrest instead, so
the result - or the error - is always what msrest gives.
"""

from __future__ import annotations

import datetime
import enum
import re
from collections.abc import Callable
from typing import Any

import isodate
from botbuilder.schema import Activity
from msrest.serialization import Deserializer, Model, Serializer

from bot.fastjson import is_plain_json

__all__ = ["activity_from_json", "serialize_activity", "serialize_model"]


class _Unsupported(Exception):
    """A value the fast path does not reproduce exactly: msrest serializes the activity."""


# One step of a plan: (attribute name, JSON key, kind, argument).
_Step = tuple[str, str, str, Any]
_PLANS: dict[type, tuple[_Step, ...]] = {}
_BASIC = {"str": str, "bool": bool, "int": int, "float": float}
_ISO_8601: Callable[[datetime.datetime], str] = Serializer.serialize_iso


def serialize_activity(activity: Activity) -> dict[str, Any]:
    """`activity.serialize()`, faster; identical output."""
    return serialize_model(activity)


def serialize_model(model: Any) -> dict[str, Any]:
    """`model.serialize()` for any botbuilder schema model, faster; identical output."""
    try:
        return _model(model)
    except _Unsupported:
        result: dict[str, Any] = model.serialize()
        return result


def _plan(cls: type) -> tuple[_Step, ...]:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _build_plan(cls)
    return plan


def _build_plan(cls: type) -> tuple[_Step, ...]:
    steps: list[_Step] = []
    validation = getattr(cls, "_validation", {}) or {}
    keys = [desc["key"] for desc in cls._attribute_map.values()]  # type: ignore[attr-defined]
    for attr, desc in cls._attribute_map.items():  # type: ignore[attr-defined]
        key, kind = desc["key"], desc["type"]
        if validation.get(attr, {}).get("readonly", False):
            continue  # serialize() leaves read-only attributes out
        if attr == "additional_properties" and key == "":
            steps.append((attr, key, "additional", None))
            continue
        if not isinstance(key, str) or not key or "." in key or "\\" in key or keys.count(key) > 1:
            # Flattened keys ("a.b") become nested objects in msrest, and of two attributes
            # with one key the first wins: neither is reproduced here.
            steps.append((attr, key, "unsupported", None))
        elif not isinstance(kind, str):
            steps.append((attr, key, "unsupported", None))
        else:
            steps.append((attr, key, *_kind(kind)))
    return tuple(steps)


def _kind(kind: str, models: dict[str, type] | None = None) -> tuple[str, Any]:
    """How to handle a value of msrest type `kind`. Reading resolves model names to classes
    through `models`; writing passes none, as msrest writes a value with its own class's map
    (an identifier is then a model, or an enum, which `_value` tells apart)."""
    if kind in _BASIC:
        return "basic", _BASIC[kind]
    if kind == "iso-8601":
        return "iso", None
    if kind == "object":
        return "object", None
    if len(kind) > 2 and kind[0] + kind[-1] == "[]":
        return "list", _kind(kind[1:-1], models)
    if len(kind) > 2 and kind[0] + kind[-1] == "{}":
        return "dict", _kind(kind[1:-1], models)
    if models is None:
        return ("model", None) if kind.isidentifier() else ("unsupported", None)
    model = models.get(kind)
    if isinstance(model, type) and issubclass(model, Model):
        return "model", model
    return "unsupported", None


def _model(model: Any) -> dict[str, Any]:
    if not isinstance(model, Model):
        raise _Unsupported
    serialized: dict[str, Any] = {}
    for attr, key, kind, arg in _plan(type(model)):
        if kind == "additional":
            extra = getattr(model, attr)
            if extra is not None:
                serialized.update(extra)
            continue
        value = getattr(model, attr)
        if value is None:
            continue  # msrest leaves None attributes out of a model
        if kind == "unsupported":
            raise _Unsupported
        if key in serialized:
            continue  # msrest keeps what additional properties already put there
        serialized[key] = _value(value, kind, arg)
    return serialized


def _value(value: Any, kind: str, arg: Any) -> Any:
    """One typed value; None never reaches here."""
    if kind == "basic":
        if type(value) is arg:
            return value
        if arg is str and isinstance(value, enum.Enum):
            return value.value  # serialize_unicode returns an enum's value
        raise _Unsupported
    if kind == "object":
        return _object(value)
    if kind == "model":
        if isinstance(value, enum.Enum):
            raise _Unsupported
        return _model(value)
    if kind == "list":
        if type(value) is not list:
            raise _Unsupported
        item_kind, item_arg = arg
        return [None if item is None else _value(item, item_kind, item_arg) for item in value]
    if kind == "dict":
        if type(value) is not dict:
            raise _Unsupported
        item_kind, item_arg = arg
        result = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _Unsupported
            result[key] = None if item is None else _value(item, item_kind, item_arg)
        return result
    if kind == "iso":
        if type(value) is not datetime.datetime or value.tzinfo is None:
            raise _Unsupported  # msrest parses strings and warns about naive datetimes
        return _ISO_8601(value)
    raise _Unsupported


def _object(value: Any) -> Any:
    """msrest's serialize_object for JSON-shaped values (exact types, as it checks them)."""
    kind = type(value)
    if kind is str or kind is bool or kind is int or kind is float or value is None:
        return value
    if (kind is dict or kind is list) and is_plain_json(value):
        # What msrest would copy, as it is: the adapter encodes the result at once.
        return value
    if kind is dict:
        result = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _Unsupported
            result[key] = _object(item)
        return result
    if kind is list:
        return [_object(item) for item in value]
    if isinstance(value, Model):
        return _model(value)
    raise _Unsupported


# --- reading -----------------------------------------------------------------------------------

# The model classes msrest resolves attribute types against when it reads an Activity.
_DEPENDENCIES: dict[str, type] = Activity._infer_class_models()
_READ_ISO_8601: Callable[[str], datetime.datetime] = Deserializer.deserialize_iso


class _ReadPlan:
    """How to read one model class: each JSON key it knows, with its attribute and kind (the
    rest go to `additional_properties`, as msrest puts them), and the instance's attributes
    in the order its `__init__` sets them, when that is all `__init__` does (`blank`)."""

    __slots__ = ("attrs", "blank", "by_key", "unsupported")

    def __init__(self, cls: type) -> None:
        self.by_key: dict[str, tuple[str, str, Any]] = {}
        self.attrs: list[str] = []
        self.unsupported = bool(
            cls.__dict__.get("_subtype_map")
            or any(
                rule.get("readonly") or rule.get("constant")
                for rule in (getattr(cls, "_validation", {}) or {}).values()
            )
        )
        for attr, desc in cls._attribute_map.items():  # type: ignore[attr-defined]
            key, kind = desc["key"], desc["type"]
            if attr == "additional_properties" and key == "":
                continue
            self.attrs.append(attr)
            if (
                not isinstance(key, str)
                or "." in key
                or "\\" in key
                or not isinstance(kind, str)
                or key in self.by_key  # two attributes read from one key
            ):
                self.unsupported = True
            else:
                self.by_key[key] = (attr, *_kind(kind, _DEPENDENCIES))
        self.blank = None if self.unsupported else _blank_state(cls, self.attrs)


def _blank_state(cls: type, attrs: list[str]) -> dict[str, Any] | None:
    """An instance's `__dict__` with every attribute None, as `cls(**{a: None ...})` makes it,
    provided `__init__` only stores its arguments (checked by making one); else None."""
    if getattr(cls, "__new__", None) is not object.__new__:
        return None
    given = {attr: object() for attr in attrs}
    try:
        made = cls(**given).__dict__
    except Exception:
        return None
    if list(made)[:1] != ["additional_properties"] or made.keys() != {
        "additional_properties",
        *attrs,
    }:
        return None
    if made["additional_properties"] != {} or any(made[a] is not v for a, v in given.items()):
        return None
    return dict.fromkeys(made)


_READ_PLANS: dict[type, _ReadPlan] = {}


def activity_from_json(data: Any) -> Activity:
    """`Activity().deserialize(data)` for a parsed JSON body, faster; the same Activity (or
    the same DeserializationError)."""
    try:
        return _read_model(Activity, data)
    except Exception:  # anything unusual, or invalid: msrest reads it (or raises) as before
        activity: Activity = Activity().deserialize(data)
        return activity


def _read_model(cls: type, data: Any) -> Any:
    if type(data) is not dict:
        raise _Unsupported
    plan = _READ_PLANS.get(cls)
    if plan is None:
        plan = _READ_PLANS[cls] = _ReadPlan(cls)
    if plan.unsupported:
        raise _Unsupported
    # A Teams activity has a dozen of the 45 keys an Activity knows: walk those it has.
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}  # as msrest: keys the model does not know, values as they came
    by_key = plan.by_key
    for key, raw in data.items():
        step = by_key.get(key)
        if step is None:
            extra[key] = raw
        elif raw is not None:
            attr, kind, arg = step
            values[attr] = _read_value(raw, kind, arg)
    if plan.blank is None:
        instance = cls(**{attr: values.get(attr) for attr in plan.attrs})
        if extra:
            instance.additional_properties = extra
        return instance
    state = plan.blank.copy()
    state["additional_properties"] = extra
    state.update(values)
    made: Any = object.__new__(cls)
    made.__dict__ = state
    return made


def _read_value(raw: Any, kind: str, arg: Any) -> Any:
    """One value of a JSON document (not None) as msrest reads it for this kind."""
    if kind == "basic":
        if type(raw) is arg:
            return raw
        raise _Unsupported  # msrest converts ("1" to True, 5 to "5", ...) or refuses
    if kind == "object":
        return _read_object(raw)
    if kind == "model":
        return _read_model(arg, raw)
    if kind == "list":
        if type(raw) is not list:
            raise _Unsupported
        item_kind, item_arg = arg
        return [None if item is None else _read_value(item, item_kind, item_arg) for item in raw]
    if kind == "dict":
        if type(raw) is not dict:
            raise _Unsupported
        item_kind, item_arg = arg
        return {
            key: None if item is None else _read_value(item, item_kind, item_arg)
            for key, item in raw.items()
        }
    if kind == "iso":
        if type(raw) is not str:
            raise _Unsupported
        return _read_iso(raw)
    raise _Unsupported


# The timestamps channels send: msrest reads them with isodate (~6 us); `fromisoformat` reads
# these shapes to the same instant, truncating a seventh fractional digit as msrest does.
# Years 1 and 9999 are left to msrest, which refuses what would overflow in UTC.
_ISO_SHAPE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,7})?(Z|[+-]\d\d:\d\d)", re.ASCII)


def _read_iso(text: str) -> datetime.datetime:
    """`Deserializer.deserialize_iso`: the same datetime, with isodate's time zone objects."""
    shape = _ISO_SHAPE.fullmatch(text)
    if shape is None or text.startswith(("0001", "9999")):
        return _READ_ISO_8601(text)
    zone = shape.group(1)
    try:
        local = datetime.datetime.fromisoformat(text[: shape.start(1)])
    except ValueError:
        return _READ_ISO_8601(text)  # raises as msrest raises
    if zone == "Z":
        return local.replace(tzinfo=isodate.UTC)
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    if hours * 60 + minutes >= 24 * 60:
        return _READ_ISO_8601(text)  # no such offset: raises as msrest raises
    sign = -1 if zone[0] == "-" else 1
    return local.replace(tzinfo=isodate.FixedOffset(sign * hours, sign * minutes, zone))


def _read_object(raw: Any) -> Any:
    """msrest's deserialize_object for JSON values: a copy, containers new, leaves as they are."""
    kind = type(raw)
    if kind is str or kind is bool or kind is int or kind is float or raw is None:
        return raw
    if kind is dict:
        return {key: _read_object(item) for key, item in raw.items()}
    if kind is list:
        return [_read_object(item) for item in raw]
    raise _Unsupported
