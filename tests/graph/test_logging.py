"""The bearer token never reaches the logs; each call logs one line with the support ids."""

from __future__ import annotations

import logging
import traceback

import aiohttp
import pytest

from bot.graph import CreateOrGetRequest, GraphClient, GraphError, RetryPolicy

from . import canned
from .fakes import CannedGraph, Reply, SandboxHarness

REQUEST = CreateOrGetRequest(external_id="log-1", subject="Logs", chat_thread_id="19:a@thread.v2")


def assert_token_absent(token: str, caplog: pytest.LogCaptureFixture) -> None:
    assert token not in caplog.text
    for record in caplog.records:
        assert token not in record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            assert token not in "".join(traceback.format_exception(record.exc_info[1]))


async def test_token_never_logged_on_success_retries_and_failures(
    canned_graph: tuple[CannedGraph, str],
    http_session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake, root = canned_graph
    token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.secret-claims-9c1e.c2lnbmF0dXJl"
    fake.queue(
        Reply(drop=True),
        Reply(429, canned.ERRORS[429], {"Retry-After": "0.01"}),
        Reply(201, canned.MEETING),
        Reply(401, canned.ERRORS[401]),
    )
    graph = GraphClient(http_session, f"{root}/beta", retry=RetryPolicy(base_delay_s=0.01))
    await graph.create_or_get(token, REQUEST, budget_s=5)
    with pytest.raises(GraphError) as caught:
        await graph.create_or_get(token, REQUEST, budget_s=5)
    logging.getLogger("test").exception("caller logs the failure", exc_info=caught.value)

    assert_token_absent(token, caplog)
    assert all(t == token for t in fake.bearer_tokens)  # it was sent, just never logged


async def test_one_info_line_per_call_with_status_and_ids(
    canned_graph: tuple[CannedGraph, str],
    http_session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.graph")
    fake, root = canned_graph
    fake.queue(Reply(503, canned.ERRORS[503]), Reply(200, canned.MEETING))
    graph = GraphClient(http_session, f"{root}/v1.0", retry=RetryPolicy(base_delay_s=0.01))
    result = await graph.create_or_get("t0k3n-value", REQUEST, budget_s=5)

    [line] = [r for r in caplog.records if r.name == "bot.graph.client"]
    message = line.getMessage()
    assert line.levelno == logging.INFO
    assert "status=200" in message
    assert f"request-id={result.request_id}" in message
    assert f"client-request-id={result.client_request_id}" in message
    assert "attempts=2" in message
    assert "elapsed_ms=" in message


async def test_app_only_object_id_is_not_logged(
    canned_graph: tuple[CannedGraph, str],
    http_session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.graph")
    fake, root = canned_graph
    fake.queue(Reply(201, canned.MEETING))
    graph = GraphClient(http_session, f"{root}/v1.0")
    await graph.create_or_get("tok", REQUEST, budget_s=5, user_object_id="oid-4711")
    assert "oid-4711" not in caplog.text
    assert "/users/{id}/onlineMeetings/createOrGet" in caplog.text


async def test_sandbox_logs_no_token(
    sandbox: SandboxHarness,
    http_session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    token = sandbox.token()
    graph = GraphClient(http_session, sandbox.base_url(), retry=RetryPolicy(base_delay_s=0.01))
    sandbox.faults.server_error(503)
    await graph.create_or_get(token, REQUEST, budget_s=5)
    assert_token_absent(token, caplog)


async def test_a_meetings_id_is_not_logged(
    canned_graph: tuple[CannedGraph, str],
    http_session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A meeting's id carries its organizer's object id (base64): it stays out of the logs.
    caplog.set_level(logging.DEBUG, logger="bot.graph")
    fake, root = canned_graph
    fake.queue(Reply(200, canned.MEETING), Reply(404, canned.ERRORS[404]))
    graph = GraphClient(http_session, f"{root}/v1.0", retry=RetryPolicy(max_attempts=1))
    await graph.get("tok", "MSo1ZjBlLW9yZ2FuaXplcg", budget_s=5)
    with pytest.raises(GraphError):
        await graph.delete("tok", "MSo1ZjBlLW9yZ2FuaXplcg", budget_s=5)
    assert "MSo1ZjBlLW9yZ2FuaXplcg" not in caplog.text
    assert caplog.text.count("/me/onlineMeetings/{id}") == 2
