"""Graph onlineMeetings (createOrGet, get, PATCH, DELETE) over the app's session, with retries."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

import aiohttp
from pydantic import ValidationError
from yarl import URL

from bot.core.fastjson import dumps
from bot.core.online_meeting import CreateOrGetRequest, GraphModel, MeetingUpdate, OnlineMeeting
from bot.core.ports import DirectoryUser
from bot.graph.errors import (
    GraphBadRequestError,
    GraphError,
    GraphInvalidResponseError,
    GraphTimeoutError,
    GraphUnavailableError,
    error_from_response,
)

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# The basic profile: readable with User.ReadBasic.All, the least privileged permission for it.
USER_FIELDS = "id,displayName,userPrincipalName,mail"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try within the caller's time budget."""

    max_attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    # A hung attempt must not eat the whole budget of a long call; short budgets are unaffected.
    # 11 s: a Graph that takes 10 s still answers inside a chat message's 12 s budget.
    max_attempt_timeout_s: float = 11.0
    connect_timeout_s: float = 3.0
    # Starting an attempt with less time than this left cannot succeed; give up instead.
    min_attempt_s: float = 0.2
    retry_statuses: frozenset[int] = RETRYABLE_STATUSES

    def backoff_s(self, retry_number: int, rand: float) -> float:
        """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^(n-1))]."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0 ** max(0, retry_number - 1))
        return max(0.0, min(1.0, rand)) * ceiling


@dataclass(frozen=True, slots=True)
class CreateOrGetResult:
    """The meeting, whether Graph created it now (201) or returned an existing one (200)."""

    meeting: OnlineMeeting
    created: bool
    request_id: str | None
    client_request_id: str | None = None
    attempts: int = 1


class OnlineMeetingsApi(Protocol):
    """The outbound seam the bot depends on; `GraphClient` is the production implementation."""

    async def create_or_get(
        self,
        token: str,
        request: CreateOrGetRequest,
        *,
        budget_s: float,
        user_object_id: str | None = None,
    ) -> CreateOrGetResult: ...

    async def get(self, token: str, meeting_id: str, *, budget_s: float) -> OnlineMeeting:
        """`GET /me/onlineMeetings/{id}`; `GraphNotFoundError` when it is gone."""
        ...

    async def update(
        self, token: str, meeting_id: str, change: MeetingUpdate, *, budget_s: float
    ) -> OnlineMeeting:
        """`PATCH /me/onlineMeetings/{id}` with only what changes; the meeting after it."""
        ...

    async def delete(self, token: str, meeting_id: str, *, budget_s: float) -> None:
        """`DELETE /me/onlineMeetings/{id}`; `GraphNotFoundError` when it was already gone."""
        ...


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def error(self, client_request_id: str, attempts: int = 1) -> GraphError:
        """What this failed answer means, as Graph's error."""
        return error_from_response(
            status=self.status,
            headers=self.headers,
            body=self.body,
            sent_client_request_id=client_request_id,
            attempts=attempts,
        )


@dataclass(frozen=True, slots=True)
class _TransportFailure:
    error: GraphError
    retryable: bool


@dataclass(frozen=True, slots=True)
class _Done:
    """A call's 2xx answer, the client-request-id Graph echoed (else ours), and the attempts."""

    answer: _Answer
    client_request_id: str
    attempts: int


_NOT_TRANSIENT = (aiohttp.ClientSSLError, aiohttp.ServerFingerprintMismatch)


class GraphClient:
    """`OnlineMeetingsApi` over HTTP. Works for any Graph base URL, including the local sandbox.

    One `client-request-id` is used for every attempt of a call (with `Retry-Attempt` on
    retries, as the Graph SDKs do) so Microsoft support can tie the attempts together.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._base_url = _checked_base_url(base_url)
        self._retry = retry
        self._sleep = sleep
        self._rand = rand
        self._clock = clock

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def is_beta(self) -> bool:
        """`chatInfo` is only sent to beta endpoints: v1.0 rejects it."""
        return self._base_url.rsplit("/", 1)[-1].lower() == "beta"

    def url_for(self, user_object_id: str | None = None) -> URL:
        if user_object_id is None:
            path = "me/onlineMeetings/createOrGet"
        else:
            if not user_object_id.strip():
                raise ValueError("user_object_id must be an Entra object id")
            path = f"users/{quote(user_object_id, safe='')}/onlineMeetings/createOrGet"
        return URL(f"{self._base_url}/{path}", encoded=True)

    async def create_or_get(
        self,
        token: str,
        request: CreateOrGetRequest,
        *,
        budget_s: float,
        user_object_id: str | None = None,
    ) -> CreateOrGetResult:
        url = self.url_for(user_object_id)
        send_chat_info = self.is_beta and bool(request.chat_thread_id)
        if request.chat_thread_id and not self.is_beta:
            logger.debug("chat_thread_id not sent: chatInfo is accepted on Graph beta only")
        payload = dumps(request.to_graph_body(include_chat_info=send_chat_info))
        try:
            done = await self._retrying("POST", url, token, payload, budget_s)
        except GraphBadRequestError as error:
            if send_chat_info:
                error.user_message = _CHAT_THREAD_REJECTED
            raise
        return CreateOrGetResult(
            meeting=self._meeting(done),
            created=done.answer.status == 201,
            request_id=done.answer.headers.get("request-id"),
            client_request_id=done.client_request_id,
            attempts=done.attempts,
        )

    def _timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        seconds = max(0.001, seconds)
        return aiohttp.ClientTimeout(
            total=seconds,
            sock_connect=min(seconds, self._retry.connect_timeout_s),
            # aiohttp rounds longer timeouts up to a whole second, which would overrun the budget.
            ceil_threshold=math.inf,
        )

    async def _attempt(
        self,
        url: URL,
        token: str,
        payload: bytes | None,
        client_request_id: str,
        attempt: int,
        *,
        time_left_s: float,
        method: str = "POST",
    ) -> _Answer | _TransportFailure:
        timeout = self._timeout(min(time_left_s, self._retry.max_attempt_timeout_s))
        headers = _headers(token, client_request_id)
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if attempt > 1:
            headers["Retry-Attempt"] = str(attempt - 1)
        try:
            # The shared session may have been built with raise_for_status or redirects on:
            # this call decides both itself (a redirect must not carry the bearer token away).
            async with self._session.request(
                method,
                url,
                data=payload,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                raise_for_status=False,
            ) as response:
                body = await response.read()
                return _Answer(response.status, response.headers, body)
        except TimeoutError as exc:
            return _failure(GraphTimeoutError, exc, client_request_id, attempt, retryable=True)
        except _NOT_TRANSIENT as exc:
            return _failure(GraphUnavailableError, exc, client_request_id, attempt, retryable=False)
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            return _failure(GraphUnavailableError, exc, client_request_id, attempt, retryable=True)
        except aiohttp.ClientError as exc:
            return _failure(GraphError, exc, client_request_id, attempt, retryable=False)

    def _delay_before_retry(self, error: GraphError, attempt: int, deadline: float) -> float | None:
        """Seconds to wait before the next attempt, or None when it would not fit the budget."""
        if attempt >= self._retry.max_attempts:
            return None
        if error.retry_after is not None:
            delay = error.retry_after
        else:
            delay = self._retry.backoff_s(attempt, self._rand())
        if self._clock() + delay + self._retry.min_attempt_s > deadline:
            return None
        return delay

    def _log_call(
        self,
        method: str,
        url: URL,
        status: int | None,
        request_id: str | None,
        client_request_id: str,
        attempts: int,
        started: float,
        outcome: str,
        *,
        code: str | None = None,
    ) -> None:
        elapsed_ms = round((self._clock() - started) * 1000)
        level = logging.INFO if status is not None and 200 <= status < 300 else logging.WARNING
        logger.log(
            level,
            "graph %s %s status=%s code=%s request-id=%s client-request-id=%s "
            "attempts=%d elapsed_ms=%d endpoint=%s",
            method,
            outcome,
            status,
            code,
            request_id,
            client_request_id,
            attempts,
            elapsed_ms,
            _endpoint_for_log(url),
        )

    def meeting_url(self, meeting_id: str) -> URL:
        if not meeting_id.strip():
            raise ValueError("meeting_id must be a Graph onlineMeeting id")
        return URL(f"{self._base_url}/me/onlineMeetings/{quote(meeting_id, safe='')}", encoded=True)

    async def get(self, token: str, meeting_id: str, *, budget_s: float) -> OnlineMeeting:
        done = await self._retrying("GET", self.meeting_url(meeting_id), token, None, budget_s)
        return self._meeting(done)

    async def update(
        self, token: str, meeting_id: str, change: MeetingUpdate, *, budget_s: float
    ) -> OnlineMeeting:
        payload = dumps(change.to_graph_body())
        url = self.meeting_url(meeting_id)
        done = await self._retrying("PATCH", url, token, payload, budget_s)
        return self._meeting(done)

    async def delete(self, token: str, meeting_id: str, *, budget_s: float) -> None:
        await self._retrying("DELETE", self.meeting_url(meeting_id), token, None, budget_s)

    def _meeting(self, done: _Done) -> OnlineMeeting:
        """The onlineMeeting of a 2xx answer; `GraphInvalidResponseError` if it is unreadable."""
        answer = done.answer
        try:
            return OnlineMeeting.model_validate_json(answer.body)
        except ValidationError as exc:
            error = GraphInvalidResponseError(
                status=answer.status,
                request_id=answer.headers.get("request-id"),
                client_request_id=done.client_request_id,
                attempts=done.attempts,
                graph_message=f"unreadable onlineMeeting: {exc.error_count()} validation errors",
            )
            logger.warning("graph answered %s with an unreadable onlineMeeting", answer.status)
            raise error from exc

    async def _retrying(
        self, method: str, url: URL, token: str, payload: bytes | None, budget_s: float
    ) -> _Done:
        """One call, retried within `budget_s` as the retry policy says; its 2xx answer, or
        the error (logged: one line a call, never the token)."""
        if not token:
            raise ValueError("an access token is required")
        if not budget_s > 0:
            raise ValueError("budget_s must be positive")
        client_request_id = str(uuid.uuid4())
        started = self._clock()
        deadline = started + budget_s
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._attempt(
                url,
                token,
                payload,
                client_request_id,
                attempt,
                time_left_s=deadline - self._clock(),
                method=method,
            )
            if isinstance(outcome, _Answer):
                # A retried DELETE whose first attempt deleted the meeting (its answer lost).
                gone_already = method == "DELETE" and attempt > 1 and outcome.status == 404
                if 200 <= outcome.status < 300 or gone_already:
                    returned_id = outcome.headers.get("client-request-id") or client_request_id
                    self._log_call(
                        method,
                        url,
                        outcome.status,
                        outcome.headers.get("request-id"),
                        returned_id,
                        attempt,
                        started,
                        "ok",
                    )
                    return _Done(outcome, returned_id, attempt)
                error = outcome.error(client_request_id, attempt)
                retryable = outcome.status in self._retry.retry_statuses
            else:
                error, retryable = outcome.error, outcome.retryable
            delay = self._delay_before_retry(error, attempt, deadline) if retryable else None
            if delay is None:
                self._log_call(
                    method,
                    url,
                    error.status,
                    error.request_id,
                    client_request_id,
                    attempt,
                    started,
                    type(error).__name__,
                    code=error.code,
                )
                raise error
            logger.debug(
                "graph %s attempt %d failed (status=%s code=%s); retrying in %.3f s",
                method,
                attempt,
                error.status,
                error.code,
                delay,
            )
            await self._sleep(delay)

    async def user(self, token: str, object_id: str, *, budget_s: float) -> DirectoryUser | None:
        """`GET /users/{id}?$select=…` (the `Directory` port): one attempt within `budget_s`;
        None when Graph has nobody with that id (404)."""
        if not token:
            raise ValueError("an access token is required")
        if not budget_s > 0:
            raise ValueError("budget_s must be positive")
        url = URL(f"{self._base_url}/users/{quote(object_id, safe='')}", encoded=True)
        url = url.with_query({"$select": USER_FIELDS})
        client_request_id = str(uuid.uuid4())
        started = self._clock()
        timeout = self._timeout(budget_s)
        headers = _headers(token, client_request_id)
        try:
            async with self._session.get(
                url, headers=headers, timeout=timeout, allow_redirects=False, raise_for_status=False
            ) as response:
                answer = _Answer(response.status, response.headers, await response.read())
        except TimeoutError as exc:
            failure = _failure(GraphTimeoutError, exc, client_request_id, 1, retryable=False)
            raise failure.error from exc
        except aiohttp.ClientError as exc:
            failure = _failure(GraphUnavailableError, exc, client_request_id, 1, retryable=False)
            raise failure.error from exc
        logger.log(
            logging.INFO if answer.status in (200, 404) else logging.WARNING,
            "graph user lookup status=%s request-id=%s client-request-id=%s elapsed_ms=%d",
            answer.status,
            answer.headers.get("request-id"),
            client_request_id,
            round((self._clock() - started) * 1000),
        )
        if answer.status == 404:
            return None
        if not 200 <= answer.status < 300:
            raise answer.error(client_request_id)
        try:
            found = _DirectoryAnswer.model_validate_json(answer.body)
        except ValidationError as exc:
            raise GraphInvalidResponseError(
                status=answer.status,
                request_id=answer.headers.get("request-id"),
                client_request_id=client_request_id,
                graph_message=f"unreadable user: {exc.error_count()} validation errors",
            ) from exc
        return DirectoryUser(
            object_id=found.id,
            name=found.display_name or None,
            upn=found.user_principal_name or found.mail or None,
        )


class _DirectoryAnswer(GraphModel):
    id: str
    display_name: str | None = None
    user_principal_name: str | None = None
    mail: str | None = None


_CHAT_THREAD_REJECTED = (
    "Teams did not accept the meeting details. The meeting can only be attached to a Teams "
    "channel conversation, not to a group or one-to-one chat; check also that the start time "
    "comes before the end time, then try again."
)


def _failure(
    error_type: type[GraphError],
    exc: BaseException,
    client_request_id: str,
    attempt: int,
    *,
    retryable: bool,
) -> _TransportFailure:
    error = error_type(
        client_request_id=client_request_id,
        attempts=attempt,
        graph_message=type(exc).__name__,
    )
    error.__cause__ = exc
    return _TransportFailure(error, retryable)


def _endpoint_for_log(url: URL) -> str:
    # The app-only path carries a user's object id, a meeting's id its organizer's: keep both
    # out of the logs.
    path = url.raw_path
    if "/users/" in path:
        path = path.split("/users/", 1)[0] + "/users/{id}/onlineMeetings/createOrGet"
    head, found, meeting = path.partition("/me/onlineMeetings/")
    if found and meeting != "createOrGet":
        path = f"{head}/me/onlineMeetings/{{id}}"
    return f"{url.scheme}://{url.raw_authority}{path}"


def _checked_base_url(base_url: str) -> str:
    """Validate a Graph base URL; plain http only for loopback (the embedded sandbox)."""
    url = URL(base_url.rstrip("/"))
    if url.scheme not in {"https", "http"} or not url.host:
        raise ValueError(f"Graph base URL must be an absolute http(s) URL, got {base_url!r}")
    if url.query_string or url.fragment:
        raise ValueError("Graph base URL must not have a query or fragment")
    if url.scheme == "http" and not _is_loopback(url.host):
        raise ValueError("plain http is only allowed for a loopback Graph sandbox; use https")
    return str(url)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _headers(token: str, client_request_id: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "client-request-id": client_request_id,
        "return-client-request-id": "true",
    }
