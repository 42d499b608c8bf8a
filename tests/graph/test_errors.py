"""Graph error answers become typed errors by status and code, with safe user messages."""

from __future__ import annotations

import json
import traceback
from datetime import UTC, datetime

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.graph import (
    CreateOrGetRequest,
    GraphAuthError,
    GraphBadRequestError,
    GraphClient,
    GraphError,
    GraphForbiddenError,
    GraphNotFoundError,
    GraphThrottledError,
    GraphUnavailableError,
    RetryPolicy,
)
from bot.graph.errors import error_from_response, parse_error_body, parse_retry_after

from . import canned
from .fakes import CannedGraph, Reply

TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.error-token-3f9a.c2lnbmF0dXJl"

EXPECTED: list[tuple[int, type[GraphError], str | None, str]] = [
    (400, GraphBadRequestError, "BadRequest", "start time"),
    (401, GraphAuthError, "InvalidAuthenticationToken", "sign in again"),
    (403, GraphForbiddenError, "Forbidden", "admin"),
    (404, GraphNotFoundError, "NotFound", "object id"),
    (409, GraphError, "Conflict", "try again"),
    (429, GraphThrottledError, "TooManyRequests", "try again in 3 s"),
    (500, GraphUnavailableError, "UnknownError", "HTTP 500"),
    (502, GraphUnavailableError, None, "HTTP 502"),
    (503, GraphUnavailableError, "ServiceUnavailable", "HTTP 503"),
    (504, GraphUnavailableError, "GatewayTimeout", "HTTP 504"),
]


@pytest.mark.parametrize(("status", "error_type", "code", "advice"), EXPECTED)
async def test_every_error_status_over_the_wire(
    canned_graph: tuple[CannedGraph, str],
    http_session: aiohttp.ClientSession,
    status: int,
    error_type: type[GraphError],
    code: str | None,
    advice: str,
) -> None:
    fake, root = canned_graph
    if status == 502:
        fake.default = Reply(502, canned.BAD_GATEWAY_HTML, content_type="text/html", send_ids=False)
    else:
        fake.default = Reply(status, canned.ERRORS[status], {"Retry-After": "2.128"})
    graph = GraphClient(http_session, f"{root}/v1.0", retry=RetryPolicy(max_attempts=1))
    with pytest.raises(GraphError) as caught:
        await graph.create_or_get(TOKEN, CreateOrGetRequest(external_id="e"), budget_s=5)

    error = caught.value
    assert type(error) is error_type
    assert (error.status, error.code) == (status, code)
    sent_client_request_id = fake.received[0].headers["client-request-id"]
    assert error.client_request_id == sent_client_request_id
    if status == 502:
        assert error.request_id is None
    else:
        assert error.request_id == fake.sent_request_ids[0]
        assert error.retry_after == 2.128
    assert advice in error.user_message
    rendered = "".join(traceback.format_exception(error))
    for text in (error.user_message, str(error), repr(error), rendered):
        assert TOKEN not in text
        assert "Bearer" not in text


def test_request_id_falls_back_to_the_inner_error() -> None:
    body = json.dumps(canned.error_body("Forbidden", "no", request_id="inner-id")).encode()
    error = error_from_response(status=403, headers={}, body=body, sent_client_request_id="sent-id")
    assert (error.request_id, error.client_request_id) == ("inner-id", "inner-id")


def test_the_header_request_id_wins() -> None:
    body = json.dumps(canned.error_body("Forbidden", "no", request_id="inner-id")).encode()
    error = error_from_response(
        status=403,
        headers={"request-id": "header-id", "client-request-id": "c"},
        body=body,
        sent_client_request_id="sent-id",
    )
    assert (error.request_id, error.client_request_id) == ("header-id", "c")


def test_decided_by_status_and_code_never_by_message() -> None:
    misleading = canned.error_body("BadRequest", "Access token has expired. Too many requests.")
    error = error_from_response(
        status=400, headers={}, body=json.dumps(misleading).encode(), sent_client_request_id="x"
    )
    assert type(error) is GraphBadRequestError
    assert "expired" not in error.user_message


def test_throttling_code_on_another_status_is_throttling() -> None:
    body = json.dumps(canned.error_body("TooManyRequests", "slow down")).encode()
    error = error_from_response(
        status=420, headers={"Retry-After": "7"}, body=body, sent_client_request_id="x"
    )
    assert isinstance(error, GraphThrottledError)
    assert "try again in 7 s" in error.user_message


def test_graph_message_stays_out_of_the_user_message() -> None:
    body = json.dumps(canned.error_body("Forbidden", "internal detail 1234")).encode()
    error = error_from_response(status=403, headers={}, body=body, sent_client_request_id="x")
    assert "internal detail" not in error.user_message
    assert "internal detail 1234" in str(error)


def test_throttled_without_retry_after() -> None:
    error = GraphThrottledError(status=429)
    assert error.retry_after is None
    assert "in a minute" in error.user_message


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("2.128", 2.128),
        ("0", 0.0),
        (" 3 ", 3.0),
        ("-4", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
        ("inf", None),
        ("Mon, 23 Nov 2026 20:00:30 GMT", 30.0),
        ("Mon, 23 Nov 2026 19:59:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    now = datetime(2026, 11, 23, 20, 0, 0, tzinfo=UTC)
    assert parse_retry_after(header, now=now) == seconds


@settings(deadline=None)
@given(st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_parse_retry_after_reads_any_number(seconds: float) -> None:
    assert parse_retry_after(repr(seconds)) == seconds


@settings(deadline=None)
@given(st.binary(max_size=300))
def test_parse_error_body_never_raises(raw: bytes) -> None:
    parse_error_body(raw)


@settings(deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.sampled_from(["error", "code", "innerError", "x"]), children)
        ),
        max_leaves=10,
    )
)
def test_parse_error_body_survives_any_json(document: object) -> None:
    parsed = parse_error_body(json.dumps(document).encode())
    assert parsed.code is None or isinstance(parsed.code, str)
