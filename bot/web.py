"""The aiohttp application: `create_app(settings)` wires the bot's services and routes."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from botbuilder.schema import Activity

from bot.activity_check import activity_problem
from bot.adapter import MeetBotAdapter, Unauthorized
from bot.channel import ChannelClient
from bot.handler import MeetBot, on_turn_error
from bot.settings import Settings

_log = logging.getLogger(__name__)


@dataclass
class Services:
    """What the app builds at start-up and closes at shutdown."""

    session: aiohttp.ClientSession
    adapter: MeetBotAdapter
    bot: MeetBot


@dataclass
class Runtime:
    """Holds the services while the app runs (the app itself is frozen once started)."""

    services: Services | None = None


SETTINGS = web.AppKey("settings", Settings)
RUNTIME = web.AppKey("runtime", Runtime)


def create_app(settings: Settings) -> web.Application:
    """Build the application; the services start with it and stop with it."""
    app = web.Application(client_max_size=settings.max_request_bytes)
    app[SETTINGS] = settings
    app[RUNTIME] = Runtime()
    app.cleanup_ctx.append(_services)
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    return app


async def _services(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=200, limit_per_host=64, keepalive_timeout=60),
        timeout=aiohttp.ClientTimeout(total=30, connect=5),
        raise_for_status=False,
    )
    adapter = MeetBotAdapter(settings, ChannelClient(session))
    adapter.on_turn_error = on_turn_error
    app[RUNTIME].services = Services(session=session, adapter=adapter, bot=MeetBot())
    _log.info(
        "MeetBot ready in %s mode on %s:%s (Graph %s, token service %s)",
        "local" if settings.local_mode else "production",
        settings.bind_host,
        settings.port,
        settings.resolved_graph_base_url,
        settings.resolved_oauth_url,
    )
    try:
        yield
    finally:
        app[RUNTIME].services = None
        await session.close()


def _services_of(request: web.Request) -> Services | None:
    return request.app[RUNTIME].services


def _problem(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


async def messages(request: web.Request) -> web.StreamResponse:
    """POST /api/messages: one Bot Framework activity in, the invoke response (if any) out."""
    services = _services_of(request)
    if services is None:
        return _problem(503, "the bot is starting or stopping")
    if request.content_type != "application/json":
        return _problem(415, "send the activity as application/json")
    try:
        body = json.loads(await request.read())
    except web.HTTPRequestEntityTooLarge:
        return _problem(413, "the request body is too large")
    except ValueError:
        return _problem(400, "the body is not valid JSON")
    problem = activity_problem(body)
    if problem is not None:
        return _problem(400, problem)
    try:
        activity = Activity().deserialize(body)
    except Exception:  # msrest raises assorted errors on values of the wrong shape
        return _problem(400, "the activity has fields of the wrong type")
    try:
        inbound = await services.adapter.authenticate(
            activity, request.headers.get("Authorization", "")
        )
    except Unauthorized as exc:
        _log.warning("rejected an unauthenticated activity (%s)", exc)
        return _problem(401, "a valid Bot Framework token is required")
    response = await services.adapter.run_authenticated(inbound, activity, services.bot.on_turn)
    if response is not None:
        return web.json_response(response.body, status=int(response.status))
    return web.Response(status=201)


async def healthz(request: web.Request) -> web.Response:
    """GET /healthz: 200 once the bot can answer, 503 while starting or stopping."""
    settings = request.app[SETTINGS]
    mode = "local" if settings.local_mode else "production"
    if _services_of(request) is None:
        return web.json_response({"status": "starting", "mode": mode}, status=503)
    return web.json_response({"status": "ready", "mode": mode})
