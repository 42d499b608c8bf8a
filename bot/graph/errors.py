"""Typed Graph failures: support ids plus a user-facing explanation, chosen by status and code."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar


class GraphError(Exception):
    """A failed Graph call. `user_message` is safe to show; `str()` is for logs (no secrets)."""

    default_user_message: ClassVar[str] = (
        "Teams answered with an unexpected error, so the meeting was not created. "
        "Please try again; if it keeps failing, give your Teams admin the reference shown."
    )

    def __init__(
        self,
        *,
        status: int | None = None,
        code: str | None = None,
        graph_message: str | None = None,
        request_id: str | None = None,
        client_request_id: str | None = None,
        retry_after: float | None = None,
        attempts: int = 1,
        user_message: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.graph_message = graph_message
        self.request_id = request_id
        self.client_request_id = client_request_id
        self.retry_after = retry_after
        self.attempts = attempts
        self.user_message = user_message or self._default_user_message()
        super().__init__(self._log_text())

    def _default_user_message(self) -> str:
        return self.default_user_message

    def _log_text(self) -> str:
        parts = [f"status={self.status}", f"code={self.code}"]
        parts.append(f"request-id={self.request_id}")
        parts.append(f"client-request-id={self.client_request_id}")
        if self.retry_after is not None:
            parts.append(f"retry-after={self.retry_after:g}s")
        parts.append(f"attempts={self.attempts}")
        if self.graph_message:
            parts.append(f"message={self.graph_message[:300]!r}")
        return "Graph createOrGet failed: " + " ".join(parts)


class GraphBadRequestError(GraphError):
    """400: Graph did not accept the request body."""

    def _default_user_message(self) -> str:
        return (
            "Teams did not accept the meeting details"
            + (f" ({self.code})" if self.code else "")
            + ". Check that the meeting has a start time before its end time and that every "
            "attendee is a work or school account in your organisation, then try again."
        )


class GraphAuthError(GraphError):
    """401: the token expired or was revoked; the caller signs the user out and asks again."""

    default_user_message = (
        "Your Microsoft sign-in has expired or was revoked, so Teams refused the request. "
        "You have been signed out: please sign in again and repeat the request."
    )


class GraphForbiddenError(GraphError):
    """403: licence, policy, guest account, or missing consent."""

    default_user_message = (
        "Teams refused to create a meeting for your account. The usual causes are: the account "
        "has no Teams licence, a Teams meeting policy does not allow scheduling meetings, the "
        "account is a guest in this organisation, or the app's OnlineMeetings.ReadWrite "
        "permission has not been consented. A Teams admin can assign a licence, allow meeting "
        "scheduling in the meeting policy, or grant admin consent to the app (policy changes "
        "can take up to 30 minutes to apply)."
    )


class GraphNotFoundError(GraphError):
    """404: the organizer was not found (for the /users/{id} path: an object id is required)."""

    default_user_message = (
        "Teams could not find the organizer's account. If the meeting is created on behalf of "
        "someone else, their Microsoft Entra object id is needed, not their email address; "
        "otherwise ask your admin to check that the account exists in this organisation."
    )


class GraphUnavailableError(GraphError):
    """5xx, timeouts and connection failures: transient on Microsoft's side or the network's."""

    def _default_user_message(self) -> str:
        if self.status is None:
            return (
                "The bot could not reach Microsoft Teams just now (network problem). "
                "Please try again in a minute."
            )
        return (
            f"Microsoft Teams is having trouble right now (HTTP {self.status}), so the meeting "
            "was not created. Please try again in a few minutes; if it keeps failing, your "
            "admin can check Service health in the Microsoft 365 admin center."
        )


class GraphTimeoutError(GraphUnavailableError):
    """No answer within the time budget. The meeting may exist: repeating is safe (createOrGet)."""

    default_user_message = (
        "Teams did not answer in time. The meeting may still have been created: asking again "
        "with the same details is safe and returns the same meeting."
    )

    def _default_user_message(self) -> str:
        return self.default_user_message


class GraphThrottledError(GraphError):
    """429: too many requests; `retry_after` says when to try again."""

    def _default_user_message(self) -> str:
        if self.retry_after is None:
            when = "in a minute"
        else:
            when = f"in {max(1, math.ceil(self.retry_after))} s"
        return f"Teams is receiving too many requests right now. Please try again {when}."


class GraphInvalidResponseError(GraphError):
    """A success status whose body is not a usable onlineMeeting."""

    default_user_message = (
        "Teams answered, but the bot could not read the meeting details. Please try again; "
        "asking again returns the same meeting."
    )


@dataclass(frozen=True, slots=True)
class GraphErrorBody:
    """The parts of a Graph error body the bot uses; every field may be missing."""

    code: str | None = None
    message: str | None = None
    request_id: str | None = None
    client_request_id: str | None = None


def parse_error_body(raw: bytes) -> GraphErrorBody:
    """Read `{"error": {"code", "message", "innerError": {...}}}` without trusting its shape."""
    try:
        document: Any = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return GraphErrorBody()
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        return GraphErrorBody()
    inner: Any = None
    # Graph spells it `innerError` in most answers and `innererror` in some.
    for key, value in error.items():
        if isinstance(key, str) and key.lower() == "innererror" and isinstance(value, dict):
            inner = value
    inner = inner or {}
    return GraphErrorBody(
        code=_str_or_none(error.get("code")),
        message=_str_or_none(error.get("message")),
        request_id=_str_or_none(inner.get("request-id")),
        client_request_id=_str_or_none(inner.get("client-request-id")),
    )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` in seconds: a number (maybe fractional) or an HTTP date; None if unusable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


_ERROR_TYPES_BY_STATUS: Mapping[int, type[GraphError]] = {
    400: GraphBadRequestError,
    401: GraphAuthError,
    403: GraphForbiddenError,
    404: GraphNotFoundError,
    429: GraphThrottledError,
}


def error_type_for(status: int, code: str | None) -> type[GraphError]:
    """The exception type for an error answer: by status, then by Graph code."""
    if status in _ERROR_TYPES_BY_STATUS:
        return _ERROR_TYPES_BY_STATUS[status]
    if status >= 500:
        return GraphUnavailableError
    # Some gateways put the throttling code on a non-429 status.
    if code in {"TooManyRequests", "activityLimitReached"}:
        return GraphThrottledError
    return GraphError


def error_from_response(
    *,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    sent_client_request_id: str,
    attempts: int = 1,
) -> GraphError:
    """Build the typed error for a non-success Graph answer."""
    parsed = parse_error_body(body)
    error_type = error_type_for(status, parsed.code)
    return error_type(
        status=status,
        code=parsed.code,
        graph_message=parsed.message,
        request_id=headers.get("request-id") or parsed.request_id,
        client_request_id=(
            headers.get("client-request-id") or parsed.client_request_id or sent_client_request_id
        ),
        retry_after=parse_retry_after(headers.get("Retry-After")),
        attempts=attempts,
    )


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
