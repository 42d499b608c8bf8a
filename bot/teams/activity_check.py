"""Rejects request bodies that are not a usable Bot Framework activity, saying why (pure)."""

from __future__ import annotations

from typing import Any

MAX_ID = 1024
MAX_URL = 2048
# Teams activities nest about 8 levels; Python's json and msrest recurse, and fail near 1000.
MAX_DEPTH = 32

# Fields whose wire type must be right before botbuilder's deserializer sees them.
_STRINGS = (
    "id",
    "channelId",
    "text",
    "textFormat",
    "locale",
    "localTimezone",
    "name",
    "replyToId",
    "timestamp",
    "localTimestamp",
    "inputHint",
    "summary",
    "action",
)
_ACCOUNT_STRINGS = frozenset(("id", "name", "aadObjectId", "role", "conversationType", "tenantId"))
_LISTS = ("entities", "attachments", "membersAdded", "membersRemoved", "reactionsAdded")
_CHANNEL_DATA_OBJECTS = ("tenant", "team", "channel", "meeting", "settings", "notification")


def activity_problem(body: Any) -> str | None:
    """Why `body` cannot be processed as an activity, or None when it can."""
    if not isinstance(body, dict):
        return "the body must be a JSON object (a Bot Framework activity)"
    kind = body.get("type")
    if not isinstance(kind, str) or not kind.strip() or len(kind) > 64:
        return "the activity needs a 'type'"
    service_url = body.get("serviceUrl")
    if (
        not isinstance(service_url, str)
        or not service_url.startswith(("http://", "https://"))
        or len(service_url) > MAX_URL
    ):
        return "the activity needs an http(s) 'serviceUrl'"
    for field in ("conversation", "from", "recipient"):
        account = body.get(field)
        if not isinstance(account, dict):
            return f"the activity needs a '{field}' object"
        account_id = account.get("id")
        if not isinstance(account_id, str) or not account_id or len(account_id) > MAX_ID:
            return f"the activity's '{field}' needs an 'id'"
        for key, value in account.items():
            if key in _ACCOUNT_STRINGS and value is not None and not isinstance(value, str):
                return f"'{field}.{key}' must be a string"
    for field in _STRINGS:
        if field in body and body[field] is not None and not isinstance(body[field], str):
            return f"'{field}' must be a string"
    for field in _LISTS:
        value = body.get(field)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            return f"'{field}' must be a list of objects"
    for field in ("membersAdded", "membersRemoved"):
        # botbuilder looks a member without one up as "None" at the channel, and fails.
        if not all(isinstance(m.get("id"), str) and m["id"] for m in body.get(field) or ()):
            return f"every member in '{field}' needs an 'id'"
    channel_data = body.get("channelData")
    if channel_data is not None and not isinstance(channel_data, dict):
        return "'channelData' must be an object"
    problem = _channel_data_problem(channel_data or {}) or _entities_problem(body.get("entities"))
    if problem is not None:
        return problem
    if _depth(body) > MAX_DEPTH:
        return f"the activity is nested more than {MAX_DEPTH} levels deep"
    if kind == "invoke" and body.get("name") == "adaptiveCard/action":
        # botbuilder answers a malformed one with a model aiohttp cannot serialise (a 500).
        value = body.get("value")
        action = value.get("action") if isinstance(value, dict) else None
        if not isinstance(action, dict) or action.get("type") != "Action.Execute":
            return "an adaptiveCard/action invoke needs 'value.action' of type Action.Execute"
    return None


def _channel_data_problem(channel_data: dict[str, Any]) -> str | None:
    """Teams' channelData is deserialised by botbuilder, which raises on a wrongly typed part."""
    for key in _CHANNEL_DATA_OBJECTS:
        value = channel_data.get(key)
        if value is not None and not isinstance(value, dict):
            return f"'channelData.{key}' must be an object"
    event_type = channel_data.get("eventType")
    if event_type is not None and not isinstance(event_type, str):
        return "'channelData.eventType' must be a string"
    on_behalf_of = channel_data.get("onBehalfOf")
    if on_behalf_of is not None and (
        not isinstance(on_behalf_of, list) or not all(isinstance(o, dict) for o in on_behalf_of)
    ):
        return "'channelData.onBehalfOf' must be a list of objects"
    return None


def _entities_problem(entities: Any) -> str | None:
    """botbuilder's mention handling indexes these fields without looking first."""
    for entity in entities if isinstance(entities, list) else ():
        kind = entity.get("type")
        if not isinstance(kind, str):
            return "every entity needs a string 'type'"
        if kind.lower() != "mention":
            continue
        mentioned = entity.get("mentioned")
        if not isinstance(mentioned, dict) or not isinstance(mentioned.get("id"), str):
            return "a mention entity needs a 'mentioned' object with an 'id'"
        text, name = entity.get("text"), mentioned.get("name")
        if not isinstance(text, str | None) or not isinstance(name, str | None):
            return "a mention's 'text' and 'mentioned.name' must be strings"
        if not text and not name:
            return "a mention entity needs a 'text' or a 'mentioned.name'"
    return None


def _depth(value: Any) -> int:
    """How deeply objects and lists nest in `value` (iteratively: the input is untrusted)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            level += 1
            deepest = max(deepest, level)
            if deepest > MAX_DEPTH:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level) for child in children)
    return deepest


def tenant_id(channel_data: Any, conversation_tenant_id: Any) -> str | None:
    """The tenant an activity names (`channelData.tenant.id`, `conversation.tenantId`), or None
    when it names none, or two that differ. The one rule for reading the tenant."""
    tenant = channel_data.get("tenant") if isinstance(channel_data, dict) else None
    named = {
        value.strip()
        for value in (
            tenant.get("id") if isinstance(tenant, dict) else None,
            conversation_tenant_id,
        )
        if isinstance(value, str) and value.strip()
    }
    if len({value.lower() for value in named}) != 1:
        return None
    return min(named)


def activity_tenant(body: dict[str, Any]) -> str | None:
    """`tenant_id` of an activity's JSON, in lower case."""
    conversation = body.get("conversation")
    tenant = tenant_id(
        body.get("channelData"),
        conversation.get("tenantId") if isinstance(conversation, dict) else None,
    )
    return tenant.lower() if tenant is not None else None


def tenant_allowed(body: dict[str, Any], allowlist: frozenset[str]) -> bool:
    """Whether `ALLOWED_TENANTS` admits the activity; an empty list admits every tenant."""
    if not allowlist:
        return True
    tenant = activity_tenant(body)
    return tenant is not None and tenant in allowlist
