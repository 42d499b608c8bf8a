"""The embedded token-service sandbox: the Bot Framework token REST API and a sign-in page."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web

from bot.sandbox.tokens import SandboxIdentity, SandboxTokenError, SandboxTokens

GRAPH_SCOPE = "OnlineMeetings.ReadWrite"
# The OAuth connection's scopes (docs/DEPLOY.md): meetings, and people's basic profiles.
GRAPH_SCOPES = frozenset({GRAPH_SCOPE, "User.ReadBasic.All"})
DEFAULT_TENANT = "00000000-0000-4000-8000-5a0db0c5e7e1"
CODE_LIFETIME_S = 300
SIGNIN_LIFETIME_S = 900
TOKEN_LIFETIME_S = 3600
_OID_NAMESPACE = uuid.UUID("1b2e7c55-0c53-4f0f-a3c1-58c5e6f0d9a4")
_EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[^@\s<>\"']{1,190}\.[a-z]{2,24}$", re.IGNORECASE)


@dataclass(frozen=True)
class TokenSandboxConfig:
    """Where browsers reach the sandbox (for sign-in links) and how it signs tokens."""

    browser_url: str
    tokens: SandboxTokens
    clock: Callable[[], float] = time.time


class TokenSandboxStorage(Protocol):
    """The part of botbuilder's `Storage` shape the token sandbox uses (any `ClosableStorage`)."""

    async def read(self, keys: list[str]) -> dict[str, Any]: ...

    async def write(self, changes: dict[str, Any]) -> None: ...

    async def delete(self, keys: list[str]) -> None: ...


STORAGE: web.AppKey[TokenSandboxStorage] = web.AppKey("storage")
CONFIG = web.AppKey("config", TokenSandboxConfig)


def _key(kind: str, *parts: str) -> str:
    digest = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:40]
    return f"sandbox-token/{kind}/{digest}"


async def _get(storage: TokenSandboxStorage, key: str) -> dict[str, Any] | None:
    found = (await storage.read([key])).get(key)
    return dict(found) if isinstance(found, dict) else None


async def _put(storage: TokenSandboxStorage, key: str, value: dict[str, Any]) -> None:
    await storage.write({key: {**value, "e_tag": "*"}})


def create_token_sandbox(
    storage: TokenSandboxStorage, config: TokenSandboxConfig
) -> web.Application:
    """The sub-application the bot mounts at /sandbox/token in local mode."""
    app = web.Application()
    app[STORAGE] = storage
    app[CONFIG] = config
    app.router.add_get("/api/usertoken/GetToken", get_token)
    app.router.add_delete("/api/usertoken/SignOut", sign_out)
    app.router.add_get("/api/usertoken/GetTokenStatus", token_status)
    app.router.add_post("/api/usertoken/exchange", exchange)
    app.router.add_get("/api/botsignin/GetSignInResource", sign_in_resource)
    app.router.add_get("/api/botsignin/GetSignInUrl", sign_in_url)
    app.router.add_get("/signin/{session}", sign_in_page)
    app.router.add_post("/signin/{session}", sign_in_submit)
    return app


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _required(request: web.Request, *names: str) -> dict[str, str] | web.Response:
    values = {name: request.query.get(name, "") for name in names}
    missing = [name for name, value in values.items() if not value]
    if missing:
        return _error(400, "BadArgument", f"missing query parameter(s): {', '.join(missing)}")
    return values


def _token_response(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "channelId": record["channel_id"],
        "connectionName": record["connection_name"],
        "token": record["token"],
        "expiration": datetime.fromtimestamp(record["expires"], UTC).isoformat(),
    }


async def get_token(request: web.Request) -> web.Response:
    args = _required(request, "userId", "connectionName", "channelId")
    if isinstance(args, web.Response):
        return args
    storage, config = request.app[STORAGE], request.app[CONFIG]
    user, connection, channel = args["userId"], args["connectionName"], args["channelId"]
    token_key = _key("token", user, connection, channel)
    code = request.query.get("code")
    if code:
        code_key = _key("code", user, connection, channel)
        pending = await _get(storage, code_key)
        if (
            pending is None
            or pending["expires"] <= config.clock()
            or not hmac.compare_digest(str(pending["code"]), code.strip())
        ):
            return _error(404, "NotFound", "no token for that code")
        await storage.delete([code_key])
        record = {**pending, "expires": pending["token_expires"]}
        await _put(storage, token_key, record)
        return web.json_response(_token_response(record))
    stored = await _get(storage, token_key)
    if stored is None or stored["expires"] <= config.clock():
        return _error(404, "NotFound", "no token")
    return web.json_response(_token_response(stored))


async def sign_out(request: web.Request) -> web.Response:
    args = _required(request, "userId", "channelId")
    if isinstance(args, web.Response):
        return args
    connection = request.query.get("connectionName", "")
    await request.app[STORAGE].delete(
        [_key("token", args["userId"], connection, args["channelId"])]
    )
    return web.json_response({}, status=200)


async def token_status(request: web.Request) -> web.Response:
    args = _required(request, "userId", "channelId")
    if isinstance(args, web.Response):
        return args
    connections = [c for c in (request.query.get("include") or "").split(",") if c]
    statuses = []
    for connection in connections:
        record = await _get(
            request.app[STORAGE], _key("token", args["userId"], connection, args["channelId"])
        )
        statuses.append(
            {
                "channelId": args["channelId"],
                "connectionName": connection,
                "hasToken": record is not None,
                "serviceProviderDisplayName": "MeetBot sandbox",
            }
        )
    return web.json_response(statuses)


async def exchange(request: web.Request) -> web.Response:
    """SSO exchange: the sandbox accepts only its own tokens (it has no Entra to ask)."""
    args = _required(request, "userId", "connectionName", "channelId")
    if isinstance(args, web.Response):
        return args
    try:
        body = await request.json()
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str):
            raise ValueError("no token")
        request.app[CONFIG].tokens.verify(token)
    except (ValueError, SandboxTokenError):
        return _error(400, "ExchangeFailed", "the sandbox cannot exchange that token")
    record = {
        "channel_id": args["channelId"],
        "connection_name": args["connectionName"],
        "token": token,
        "expires": request.app[CONFIG].clock() + TOKEN_LIFETIME_S,
    }
    await _put(
        request.app[STORAGE],
        _key("token", args["userId"], args["connectionName"], args["channelId"]),
        record,
    )
    return web.json_response(_token_response(record))


def _parse_state(raw: str) -> dict[str, Any] | None:
    try:
        state = json.loads(base64.b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, binascii.Error):
        return None
    return state if isinstance(state, dict) else None


async def _new_session(request: web.Request) -> str | web.Response:
    state = _parse_state(request.query.get("state", ""))
    conversation = state.get("conversation") if state else None
    if not state or not isinstance(conversation, dict):
        return _error(400, "BadArgument", "state is not a token exchange state")
    user = conversation.get("user") or {}
    account = conversation.get("conversation") or {}
    session_id = secrets.token_urlsafe(18)
    await _put(
        request.app[STORAGE],
        _key("signin", session_id),
        {
            "user_id": str(user.get("id") or ""),
            "user_name": str(user.get("name") or ""),
            "channel_id": str(conversation.get("channelId") or ""),
            "connection_name": str(state.get("connectionName") or ""),
            "tenant_id": str(account.get("tenantId") or DEFAULT_TENANT),
            "expires": request.app[CONFIG].clock() + SIGNIN_LIFETIME_S,
        },
    )
    return f"{request.app[CONFIG].browser_url}/sandbox/token/signin/{session_id}"


async def sign_in_resource(request: web.Request) -> web.Response:
    link = await _new_session(request)
    if isinstance(link, web.Response):
        return link
    return web.json_response({"signInLink": link})


async def sign_in_url(request: web.Request) -> web.Response:
    link = await _new_session(request)
    if isinstance(link, web.Response):
        return link
    return web.Response(text=link, content_type="text/plain")


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MeetBot sandbox sign-in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font-family:system-ui,"Segoe UI",sans-serif;background:#f5f5f5;margin:0;padding:3rem 1rem}}
main{{max-width:26rem;margin:auto;background:#fff;padding:2rem;border-radius:8px;
box-shadow:0 2px 8px #0002}}
h1{{font-size:1.3rem;margin-top:0}} label{{display:block;margin:1rem 0 .25rem;font-weight:600}}
input{{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}}
button{{margin-top:1.5rem;padding:.6rem 1.2rem;font-size:1rem;background:#5b5fc7;color:#fff;
border:0;border-radius:4px;cursor:pointer}}
.code{{font-size:2.4rem;letter-spacing:.4rem;font-weight:700;text-align:center;margin:1rem 0}}
.note{{color:#555;font-size:.9rem}} .error{{color:#b00020}}
</style></head><body><main>{body}</main></body></html>"""


def _page(body: str, status: int = 200) -> web.Response:
    return web.Response(text=_PAGE.format(body=body), content_type="text/html", status=status)


def _default_email(name: str) -> str:
    local = re.sub(r"[^a-z0-9]+", ".", name.lower()).strip(".") or "megan.bowen"
    return f"{local}@contoso.sandbox"


def _form(session_id: str, name: str, email: str, error: str = "") -> web.Response:
    problem = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return _page(
        f"""<h1>Sign in as …</h1>
<p class="note">This is MeetBot's local sandbox: no Microsoft account is used. Choose who you
are; the meetings you create will be organised by this person.</p>{problem}
<form method="post" action="/sandbox/token/signin/{html.escape(session_id)}">
<label for="name">Display name</label>
<input id="name" name="name" value="{html.escape(name)}" maxlength="80" required>
<label for="email">Email</label>
<input id="email" name="email" type="email" value="{html.escape(email)}" maxlength="254" required>
<button type="submit">Sign in</button></form>""",
        status=400 if error else 200,
    )


async def _session(request: web.Request) -> tuple[str, dict[str, Any]] | web.Response:
    session_id = request.match_info["session"]
    record = await _get(request.app[STORAGE], _key("signin", session_id))
    if record is None or record["expires"] <= request.app[CONFIG].clock():
        return _page(
            "<h1>This sign-in link has expired</h1><p>Go back to the chat and select "
            "<b>Sign in</b> again.</p>",
            status=404,
        )
    return session_id, record


async def sign_in_page(request: web.Request) -> web.Response:
    found = await _session(request)
    if isinstance(found, web.Response):
        return found
    session_id, record = found
    name = record["user_name"] or "Megan Bowen"
    return _form(session_id, name, _default_email(name))


async def sign_in_submit(request: web.Request) -> web.Response:
    found = await _session(request)
    if isinstance(found, web.Response):
        return found
    session_id, record = found
    form = await request.post()
    name = str(form.get("name") or "").strip()[:80]
    email = str(form.get("email") or "").strip().lower()
    if not name:
        return _form(session_id, name, email, "Enter a display name.")
    if not _EMAIL.match(email):
        return _form(session_id, name, email, "Enter an email address like megan@contoso.com.")
    storage, config = request.app[STORAGE], request.app[CONFIG]
    identity = SandboxIdentity(
        tenant_id=record["tenant_id"],
        object_id=str(uuid.uuid5(_OID_NAMESPACE, f"{record['tenant_id']}/{email}")),
        upn=email,
        display_name=name,
        scopes=GRAPH_SCOPES,
    )
    code = f"{secrets.randbelow(1_000_000):06d}"
    await _put(
        storage,
        _key("code", record["user_id"], record["connection_name"], record["channel_id"]),
        {
            "code": code,
            "token": config.tokens.issue(identity, TOKEN_LIFETIME_S),
            "expires": config.clock() + CODE_LIFETIME_S,
            "token_expires": config.clock() + TOKEN_LIFETIME_S,
            "channel_id": record["channel_id"],
            "connection_name": record["connection_name"],
        },
    )
    await storage.delete([_key("signin", session_id)])
    return _page(
        f"""<h1>Signed in as {html.escape(name)}</h1>
<p>Type this code into the chat with MeetBot to finish signing in (in a group chat or a
channel, @mention MeetBot before the code):</p>
<p class="code" id="code">{code}</p>
<p class="note">The code works once and expires in 5 minutes. You can close this window.</p>"""
    )
