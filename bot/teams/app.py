"""The aiohttp application: `create_app(settings)` wires the bot's services and routes."""

from __future__ import annotations

import asyncio
import html
import json
import logging
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from aiohttp import web
from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.schema import Activity, ActivityTypes

from bot.auth.keys import signing_key
from bot.auth.obo import OboTokens
from bot.auth.signin import SignIn
from bot.core.calendar import CalendarFiles, attachment_header, ics, ics_filename
from bot.core.limits import RateLimiter
from bot.graph import GraphClient
from bot.graph.coalesce import CoalescingMeetingsApi
from bot.sandbox.graph import create_graph_sandbox
from bot.sandbox.token_service import TokenSandboxConfig, create_token_sandbox
from bot.sandbox.tokens import SandboxTokens
from bot.settings import SANDBOX_PREFIX, Settings
from bot.storage import ClosableStorage, Records, StorageError, create_storage
from bot.teams.activity_check import activity_problem, tenant_allowed
from bot.teams.adapter import Inbound, MeetBotAdapter, Unauthorized
from bot.teams.channel import ChannelClient
from bot.teams.handler import MeetBot, on_turn_error
from bot.teams.redelivery import Deliveries, activity_key
from bot.teams.turns import ProactiveConversations, Turns
from bot.usecases.forms import FormFlows
from bot.usecases.manage import ManageMeetings
from bot.usecases.meetings import Meetings
from bot.usecases.reminders import Reminders
from bot.usecases.tasks import BackgroundTasks

_log = logging.getLogger(__name__)

TENANT_REFUSAL = (
    "MeetBot isn't available for your organization. "
    "If you need it, ask your Teams admin to have it enabled."
)


@dataclass
class Services:
    """What the app builds at start-up and closes at shutdown."""

    session: aiohttp.ClientSession
    storage: ClosableStorage
    adapter: MeetBotAdapter
    bot: MeetBot
    tasks: BackgroundTasks
    calendar: CalendarFiles
    deliveries: Deliveries
    store_probe: StoreProbe
    reminders: Reminders


@dataclass
class Runtime:
    """Holds the services while the app runs (the app itself is frozen once started)."""

    services: Services | None = None
    stopping: bool = False


# Readiness checks the store with one small write (a read would not notice a full or
# read-only disk), at most once per interval whatever the number of probes, and gives up
# on a check that takes longer than the timeout.
STORE_CHECK_INTERVAL_S = 5.0
STORE_CHECK_TIMEOUT_S = 3.0
_PROBE_KEY = "meetbot-health/readiness"


class StoreProbe:
    """Whether the store can be used now: one small write at most every `interval` seconds,
    its result cached; probes that arrive during a check wait for that check."""

    def __init__(
        self,
        storage: ClosableStorage,
        *,
        interval: float = STORE_CHECK_INTERVAL_S,
        timeout: float = STORE_CHECK_TIMEOUT_S,
    ) -> None:
        self._storage = storage
        self._interval = interval
        self._timeout = timeout
        self._checked_at = -math.inf
        self._usable = True
        self._running: asyncio.Task[None] | None = None

    async def usable(self) -> bool:
        if self._running is None and time.monotonic() - self._checked_at >= self._interval:
            self._running = asyncio.create_task(self._check())
        if self._running is not None:
            await asyncio.shield(self._running)
        return self._usable

    async def close(self) -> None:
        if self._running is not None:
            self._running.cancel()
            await asyncio.wait([self._running])

    async def _check(self) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self._storage.write({_PROBE_KEY: {"checkedAt": time.time()}})
            usable, why = True, ""
        except TimeoutError:
            usable, why = False, f"a write took longer than {self._timeout:g} s"
        except StorageError as error:  # its message names the store, never a secret
            usable, why = False, str(error)
        except Exception as error:  # e.g. OSError: its class says enough
            usable, why = False, type(error).__name__
        finally:
            self._checked_at = time.monotonic()
            self._running = None
        if usable != self._usable:
            if usable:
                _log.warning("the store can be used again: /readyz answers ready")
            else:
                _log.error("the store cannot be used (%s): /readyz answers 503", why)
        self._usable = usable


SETTINGS = web.AppKey("settings", Settings)
RUNTIME = web.AppKey("runtime", Runtime)
STORAGE = web.AppKey("storage", ClosableStorage)
KEY = web.AppKey("key", bytes)


def create_app(settings: Settings) -> web.Application:
    """Build the application; the services start with it and stop with it."""
    app = web.Application(client_max_size=settings.max_request_bytes)
    app[SETTINGS] = settings
    app[RUNTIME] = Runtime()
    app[STORAGE] = create_storage(
        settings.storage,
        sqlite_path=settings.sqlite_path,
        production=not settings.local_mode,
        blob_connection_string=settings.azure_storage_connection_string.get_secret_value(),
        blob_container=settings.azure_storage_container,
    )
    app[KEY] = signing_key(settings)
    app.cleanup_ctx.append(_services)
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/calendar/{token}", calendar_file)
    if settings.local_mode:
        _mount_sandbox(app, settings)
    return app


def _mount_sandbox(app: web.Application, settings: Settings) -> None:
    tokens = SandboxTokens(app[KEY])
    app.add_subapp(f"{SANDBOX_PREFIX}/graph", create_graph_sandbox(app[STORAGE], tokens))
    app.add_subapp(
        f"{SANDBOX_PREFIX}/token",
        create_token_sandbox(app[STORAGE], TokenSandboxConfig(settings.browser_url, tokens)),
    )


async def _services(app: web.Application) -> AsyncIterator[None]:
    settings, storage = app[SETTINGS], app[STORAGE]
    try:
        await storage.open()  # the start-up check: raises StorageError with one line
    except BaseException:
        await storage.close()
        raise
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=200, limit_per_host=64, keepalive_timeout=60),
        timeout=aiohttp.ClientTimeout(total=30, connect=5),
        raise_for_status=False,
    )
    adapter = MeetBotAdapter(settings, session, ChannelClient(session))
    adapter.on_turn_error = on_turn_error
    tasks = BackgroundTasks()
    turns = Turns(adapter, settings.connection_name, tasks.spawn)
    records = Records(storage, namespace="meetbot")
    calendar = CalendarFiles(app[KEY], settings.browser_url)
    obo = OboTokens.from_settings(settings) if settings.auth_mode == "obo" else None
    signin = SignIn(records, settings.connection_name, sso=obo)
    graph = GraphClient(session, settings.resolved_graph_base_url)
    coalescing = CoalescingMeetingsApi(graph)
    reminders = Reminders(
        records,
        ProactiveConversations(adapter),
        default_minutes=settings.reminder_minutes,
        poll_s=settings.reminder_poll_s,
    )
    meetings = Meetings(
        coalescing,
        signin,
        records,
        calendar,
        default_zone=settings.zone,
        rate=RateLimiter(settings.meetings_per_user_per_hour),
        directory=graph,
        stand_ins=settings.local_mode and not settings.graph_base_url,
        reminders=reminders,
    )
    store_probe = StoreProbe(storage, interval=settings.store_check_interval_s)
    app[RUNTIME].services = Services(
        session=session,
        storage=storage,
        adapter=adapter,
        bot=MeetBot(
            turns,
            meetings,
            FormFlows(meetings, signin),
            ManageMeetings(
                meetings,
                coalescing,
                signin,
                records,
                calendar,
                reminders=reminders,
                stand_ins=settings.local_mode and not settings.graph_base_url,
            ),
        ),
        tasks=tasks,
        calendar=calendar,
        deliveries=Deliveries(records),
        store_probe=store_probe,
        reminders=reminders,
    )
    tasks.run_service(reminders.run())
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
        app[RUNTIME].stopping = True
        await store_probe.close()
        reminders.stop()
        await tasks.drain()
        if obo is not None:
            obo.close()
        await session.close()
        await storage.close()


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
    timeout = request.app[SETTINGS].body_read_timeout_s
    try:
        async with asyncio.timeout(timeout):
            raw = await request.read()
    except TimeoutError:
        # A client that trickles its body would hold a connection and a task indefinitely.
        _log.info("answered 408: the request body did not arrive within %g s", timeout)
        late = _problem(408, f"the request body did not arrive within {timeout:g} s")
        late.force_close()
        await late.prepare(request)
        await late.write_eof()
        # Close now: aiohttp would otherwise keep reading the rest of the body for 10 s.
        request.protocol.force_close()
        return late
    except web.HTTPRequestEntityTooLarge:
        return _problem(413, "the request body is too large")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        # json raises RecursionError, not ValueError, on arrays nested ~1000 deep.
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
    if not tenant_allowed(body, request.app[SETTINGS].tenant_allowlist):
        return await _refuse_tenant(services, inbound, activity)
    delivery = _delivery_key(activity)
    if delivery is not None and not await services.deliveries.first_time(delivery):
        _log.info("dropped a redelivered %s activity", activity.type)
        return web.Response(status=201)
    try:
        response = await services.adapter.run_authenticated(
            inbound, activity, services.bot.on_turn, body
        )
    finally:
        if delivery is not None:
            await services.deliveries.answered(delivery)
    if response is not None:
        return _invoke_answer(response)
    return web.Response(status=201)


def _delivery_key(activity: Activity) -> str | None:
    """What identifies a delivery a channel may repeat; invokes always need their answer."""
    if activity.type == ActivityTypes.invoke or not activity.id:
        return None
    sent_at = activity.timestamp.isoformat() if activity.timestamp else ""
    return activity_key(activity.channel_id, activity.conversation.id, activity.id, sent_at)


def _invoke_answer(response: InvokeResponse) -> web.Response:
    try:
        text = json.dumps(response.body)
    except (TypeError, ValueError):
        # botbuilder's own adaptiveCard/action errors carry msrest models (and an Exception).
        _log.warning("an invoke answer (HTTP %s) could not be serialised", response.status)
        return _problem(int(response.status), "the invoke could not be handled")
    return web.Response(text=text, status=int(response.status), content_type="application/json")


async def _refuse_tenant(services: Services, inbound: Inbound, activity: Activity) -> web.Response:
    """ALLOWED_TENANTS: tell a person once per message; refuse invokes; ignore the rest."""
    _log.info("refused a %s activity from a tenant not in ALLOWED_TENANTS", activity.type)
    if activity.type == ActivityTypes.invoke:
        return _problem(403, "this bot is not available to your organization")
    if activity.type == ActivityTypes.message:

        async def tell(context: TurnContext) -> None:
            await context.send_activity(TENANT_REFUSAL)

        await services.adapter.run_authenticated(inbound, activity, tell)
    return web.Response(status=201)


async def calendar_file(request: web.Request) -> web.Response:
    """GET /calendar/{token}: the .ics file of a meeting the bot put on a card."""
    services = _services_of(request)
    event = services.calendar.open(request.match_info["token"]) if services else None
    if event is None:
        return _problem(404, "this calendar link is invalid or has expired")
    return web.Response(
        text=ics(event, datetime.now(UTC)),
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": attachment_header(ics_filename(event.subject))},
    )


async def index(request: web.Request) -> web.Response:
    """GET /: for a person who opens the bot's address, how to talk to it."""
    settings = request.app[SETTINGS]
    endpoint = html.escape(f"{settings.browser_url}/api/messages")
    if settings.local_mode:
        how = (
            "<p>It runs in <b>local mode</b>: sign-in and Microsoft Graph are the built-in "
            "sandbox, no Microsoft 365 tenant needed.</p><ul>"
            "<li><b>Microsoft 365 Agents Playground</b>: in the repository, <code>npm ci</code> "
            f"once, then <code>npm run playground -- --app-endpoint {endpoint}</code>, and open "
            '<a href="http://localhost:56150">http://localhost:56150</a>.</li>'
            "<li><b>Bot Framework Emulator</b>: open <code>"
            f"{endpoint}</code> with an empty app id and password.</li></ul>"
        )
    else:
        how = "<p>Talk to it in Microsoft Teams, where your organization installed it.</p>"
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>MeetBot</title>'
        "</head><body><h1>MeetBot</h1><p>MeetBot turns a Teams conversation into a Teams "
        f"meeting: type <code>help</code> to it. Its messaging endpoint is <code>{endpoint}"
        f'</code> (POST only).</p>{how}<p>Health: <a href="/healthz">/healthz</a> '
        '(liveness), <a href="/readyz">/readyz</a> (readiness).</p></body></html>'
    )
    return web.Response(text=page, content_type="text/html", charset="utf-8")


async def healthz(request: web.Request) -> web.Response:
    """GET /healthz: liveness. 200 while the process serves (the benchmark and process
    supervisors wait for it); 503 only before the services start or once they stop."""
    settings = request.app[SETTINGS]
    mode = "local" if settings.local_mode else "production"
    if _services_of(request) is None:
        status = "stopping" if request.app[RUNTIME].stopping else "starting"
        return web.json_response({"status": status, "mode": mode}, status=503)
    return web.json_response({"status": "alive", "mode": mode})


async def readyz(request: web.Request) -> web.Response:
    """GET /readyz: readiness, for load balancers. 200 `{"status": "ready"}` once the bot is
    started and the store can be written; otherwise 503 with `status` "starting" or
    "unavailable", and the `failing` dependencies.
    The store is checked with one small write at most every few seconds (`StoreProbe`)."""
    runtime = request.app[RUNTIME]
    services = runtime.services
    if services is None:
        failing = ["stopping"] if runtime.stopping else ["bot"]
        return _not_ready("unavailable" if runtime.stopping else "starting", failing)
    if not await services.store_probe.usable():
        return _not_ready("unavailable", ["store"])
    return web.json_response({"status": "ready"})


def _not_ready(status: str, failing: list[str]) -> web.Response:
    return web.json_response({"status": status, "failing": failing}, status=503)
