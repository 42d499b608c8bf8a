"""Teams SSO by MSAL on-behalf-of: the bot exchanges the user's SSO token for a Graph token."""

from __future__ import annotations

import asyncio
import http.cookiejar
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import jwt
import msal
import requests
from msal.exceptions import MsalServiceError
from requests.adapters import HTTPAdapter

from bot.settings import AppType, Settings

_log = logging.getLogger(__name__)

# A cached Graph token is dropped this long before Entra says it expires, so a Graph call
# started with it does not outlive it.
EXPIRY_MARGIN_S = 5 * 60
RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access"})

_CONSENT_CODES = frozenset({65001, 65004, 90094})
_INTERACTION_CODES = frozenset({50076, 50079, 50158})
_INTERACTION_SUBERRORS = frozenset({"basic_action", "additional_action", "message_only"})
_MISCONFIGURED_ERRORS = frozenset({"invalid_client", "unauthorized_client", "invalid_scope"})
_UNAVAILABLE_ERRORS = frozenset({"temporarily_unavailable", "server_error"})


class OboFailure(StrEnum):
    """Why an on-behalf-of exchange gave no Graph token."""

    CONSENT_REQUIRED = "consent_required"
    INTERACTION_REQUIRED = "interaction_required"
    INVALID_ASSERTION = "invalid_assertion"
    MISCONFIGURED = "misconfigured"
    UNAVAILABLE = "unavailable"


_DETAILS = {
    OboFailure.CONSENT_REQUIRED: "The user has not consented to the bot's Graph permissions.",
    OboFailure.INTERACTION_REQUIRED: "The user must sign in interactively.",
    OboFailure.INVALID_ASSERTION: "The SSO token could not be exchanged.",
    OboFailure.MISCONFIGURED: "The bot's sign-in is misconfigured.",
    OboFailure.UNAVAILABLE: "Sign-in is temporarily unavailable.",
}


@dataclass(frozen=True)
class Exchanged:
    """The user's Graph token."""

    token: str = field(repr=False)


@dataclass(frozen=True)
class ExchangeFailed:
    """No Graph token; every reason means "answer 412 / send the OAuth card"."""

    reason: OboFailure
    error: str = ""
    error_codes: tuple[int, ...] = ()
    correlation_id: str = ""

    @property
    def detail(self) -> str:
        """For the 412 body's `failureDetail`: says why without echoing Entra's text."""
        return _DETAILS[self.reason]


OboResult = Exchanged | ExchangeFailed


class SsoExchanger(Protocol):
    """What sign-in needs from a strategy that exchanges Teams SSO tokens itself."""

    async def exchange(self, user_key: str, tenant_id: str, sso_token: str) -> OboResult: ...

    async def token(self, user_key: str) -> str | None: ...

    def forget(self, user_key: str) -> None: ...


@dataclass(frozen=True)
class _Cached:
    token: str = field(repr=False)
    expires_at: float


class _DiscardingTokenCache(msal.TokenCache):  # type: ignore[misc]  # msal is untyped
    """MSAL would keep every user's access and refresh tokens for the life of the process,
    beyond `forget()`; OboTokens keeps its own expiring cache instead."""

    def add(self, event: dict[str, Any], now: float | None = None) -> None:
        return None


class _EntraHttp:
    """MSAL's `HttpClient` over one requests session shared by every authority.

    `verify` goes on each request because requests lets REQUESTS_CA_BUNDLE override a
    session-wide `verify`; owning the session also lets `close()` end its connections.
    """

    def __init__(self, verify: bool | str, timeout_s: float) -> None:
        self._verify = verify
        self._timeout = timeout_s
        self._session = requests.Session()
        # Entra ID sets cookies; none should travel from one user's exchange to the next.
        self._session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self._session.mount("https://", HTTPAdapter(max_retries=1))

    def get(
        self, url: str, params: Any = None, headers: Any = None, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        kwargs.setdefault("verify", self._verify)
        return self._session.get(url, params=params, headers=headers, **kwargs)

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        kwargs.setdefault("verify", self._verify)
        return self._session.post(url, params=params, data=data, headers=headers, **kwargs)

    def close(self) -> None:
        self._session.close()


class OboTokens:
    """Exchanges Teams SSO tokens for Graph tokens with MSAL and caches them per user."""

    def __init__(
        self,
        app_id: str,
        client_secret: str,
        scopes: Sequence[str],
        *,
        authority_host: str = "https://login.microsoftonline.com",
        tenant: str | None = None,
        verify: bool | str = True,
        http_timeout_s: float = 4.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`tenant` fixes the authority (single-tenant bot); None takes the SSO token's `tid`.

        `verify` is requests' `verify`: True, or the path of a CA bundle to trust.
        """
        if not app_id or not client_secret:
            raise ValueError("on-behalf-of needs the bot's app id and client secret")
        if not authority_host.startswith("https://"):
            raise ValueError("the authority host must be an https:// URL")
        wanted = tuple(dict.fromkeys(s for s in scopes if s))
        if not wanted:
            raise ValueError("on-behalf-of needs at least one Graph scope")
        if RESERVED_SCOPES.intersection(wanted):
            raise ValueError("Graph scopes must not include openid, profile or offline_access")
        self._app_id = app_id
        self._secret = client_secret
        self._scopes = list(wanted)
        self._host = authority_host.rstrip("/")
        self._tenant = tenant.strip() if tenant else None
        self._http = _EntraHttp(verify, http_timeout_s)
        self._clock = clock
        self._apps: dict[str, Any] = {}
        self._building = asyncio.Lock()
        self._cache: dict[str, _Cached] = {}

    @classmethod
    def from_settings(cls, settings: Settings, *, verify: bool | str = True) -> OboTokens:
        """The app registration of the bot itself, with `GRAPH_SCOPES` (spaces or commas)."""
        single = settings.microsoft_app_type is AppType.SINGLE_TENANT
        return cls(
            settings.microsoft_app_id,
            settings.microsoft_app_password.get_secret_value(),
            settings.graph_scopes.replace(",", " ").split(),
            authority_host=settings.aad_authority_host,
            tenant=settings.microsoft_app_tenant_id if single else None,
            verify=verify,
        )

    async def token(self, user_key: str) -> str | None:
        """The user's Graph token from an earlier exchange, while it is still valid."""
        cached = self._cache.get(user_key)
        if cached is None:
            return None
        if cached.expires_at <= self._clock():
            del self._cache[user_key]
            return None
        return cached.token

    def forget(self, user_key: str) -> None:
        """Sign-out, or Graph refused the token: the next request needs a new exchange."""
        self._cache.pop(user_key, None)

    async def exchange(self, user_key: str, tenant_id: str, sso_token: str) -> OboResult:
        """The user's Graph token: cached, or exchanged for `sso_token` at Entra ID.

        `tenant_id` is the activity's tenant; an SSO token from another tenant is refused.
        """
        cached = await self.token(user_key)
        if cached is not None:
            return Exchanged(cached)
        tenant = self._authority_tenant(tenant_id, sso_token)
        if isinstance(tenant, ExchangeFailed):
            return tenant
        try:
            app = await self._app(tenant)
        except ValueError:
            # MSAL's tenant discovery answers 4xx for a tenant that does not exist.
            _log.warning("on-behalf-of: no authority for tenant %s", tenant)
            return ExchangeFailed(OboFailure.INVALID_ASSERTION, "unknown_tenant")
        except (OSError, MsalServiceError) as exc:
            return _unavailable(exc)
        try:
            response = await asyncio.to_thread(
                app.acquire_token_on_behalf_of, user_assertion=sso_token, scopes=self._scopes
            )
        except (OSError, MsalServiceError, ValueError) as exc:
            # ValueError: a token response that is not JSON (a proxy's error page).
            return _unavailable(exc)
        token = response.get("access_token")
        if isinstance(token, str) and token:
            self._remember(user_key, token, response.get("expires_in"))
            return Exchanged(token)
        return _failure(response)

    def close(self) -> None:
        """Close the connections to Entra ID (at shutdown)."""
        self._http.close()

    def _authority_tenant(self, tenant_id: str, sso_token: str) -> str | ExchangeFailed:
        tid = _unverified_tenant(sso_token)
        if tid is None and self._tenant is None:
            _log.warning("on-behalf-of: the SSO token names no tenant")
            return ExchangeFailed(OboFailure.INVALID_ASSERTION, "no_tenant")
        if tid is not None and tenant_id and tid != tenant_id.strip().lower():
            _log.warning("on-behalf-of: the SSO token is from another tenant than the activity")
            return ExchangeFailed(OboFailure.INVALID_ASSERTION, "tenant_mismatch")
        return self._tenant or str(tid)

    async def _app(self, tenant: str) -> Any:
        key = tenant.lower()
        app = self._apps.get(key)
        if app is not None:
            return app
        async with self._building:
            app = self._apps.get(key)
            if app is None:
                # Construction fetches the tenant's OpenID configuration: off the event loop.
                app = await asyncio.to_thread(self._build, tenant)
                self._apps[key] = app
            return app

    def _build(self, tenant: str) -> Any:
        return msal.ConfidentialClientApplication(
            client_id=self._app_id,
            client_credential=self._secret,
            authority=f"{self._host}/{tenant}",
            # The host comes from configuration, not from users: no need to ask
            # login.microsoftonline.com whether it is a known cloud.
            instance_discovery=False,
            http_client=self._http,
            token_cache=_DiscardingTokenCache(),
        )

    def _remember(self, user_key: str, token: str, expires_in: Any) -> None:
        try:
            lifetime = float(expires_in)
        except (TypeError, ValueError):
            return
        now = self._clock()
        for key in [k for k, v in self._cache.items() if v.expires_at <= now]:
            del self._cache[key]
        if lifetime > EXPIRY_MARGIN_S:
            self._cache[user_key] = _Cached(token, now + lifetime - EXPIRY_MARGIN_S)


def _unverified_tenant(sso_token: str) -> str | None:
    """The token's `tid`, read only to choose the authority: Entra ID validates the token."""
    try:
        claims = jwt.decode(sso_token, options={"verify_signature": False})
        return str(uuid.UUID(str(claims["tid"])))
    except (jwt.InvalidTokenError, KeyError, TypeError, ValueError):
        return None


def _codes(response: dict[str, Any]) -> tuple[int, ...]:
    codes = response.get("error_codes")
    if not isinstance(codes, list):
        return ()
    return tuple(c for c in codes if isinstance(c, int))


def _reason(error: str, suberror: str, codes: tuple[int, ...]) -> OboFailure:
    if suberror == "consent_required" or _CONSENT_CODES.intersection(codes):
        return OboFailure.CONSENT_REQUIRED
    if (
        error == "interaction_required"
        or suberror in _INTERACTION_SUBERRORS
        or _INTERACTION_CODES.intersection(codes)
    ):
        return OboFailure.INTERACTION_REQUIRED
    if error in _MISCONFIGURED_ERRORS:
        return OboFailure.MISCONFIGURED
    if error in _UNAVAILABLE_ERRORS:
        return OboFailure.UNAVAILABLE
    return OboFailure.INVALID_ASSERTION


def _failure(response: dict[str, Any]) -> ExchangeFailed:
    error = str(response.get("error") or "")
    codes = _codes(response)
    reason = _reason(error, str(response.get("suberror") or ""), codes)
    failed = ExchangeFailed(reason, error, codes, str(response.get("correlation_id") or ""))
    # Entra's description can name the user: log the codes and the correlation id only.
    level = {
        OboFailure.CONSENT_REQUIRED: logging.INFO,
        OboFailure.INTERACTION_REQUIRED: logging.INFO,
        OboFailure.MISCONFIGURED: logging.ERROR,
    }.get(reason, logging.WARNING)
    _log.log(
        level,
        "on-behalf-of refused (%s): error=%s codes=%s correlation_id=%s",
        reason.value,
        error,
        list(codes),
        failed.correlation_id,
    )
    return failed


def _unavailable(exc: Exception) -> ExchangeFailed:
    # requests' errors are OSErrors; MSAL raises MsalServiceError on a 5xx from Entra ID.
    _log.warning("on-behalf-of: Entra ID unavailable (%s: %s)", type(exc).__name__, exc)
    return ExchangeFailed(OboFailure.UNAVAILABLE, type(exc).__name__)
