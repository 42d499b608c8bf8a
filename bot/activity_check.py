"""Rejects request bodies that are not a usable Bot Framework activity, saying why (pure)."""

from __future__ import annotations

from typing import Any

MAX_ID = 1024
MAX_URL = 2048

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
    channel_data = body.get("channelData")
    if channel_data is not None and not isinstance(channel_data, dict):
        return "'channelData' must be an object"
    return None
