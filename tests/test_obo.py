"""MSAL on-behalf-of against a fake Entra ID on loopback TLS: results, caching, logging."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp.test_utils import TestServer

from bot.auth.obo import (
    EXPIRY_MARGIN_S,
    Exchanged,
    ExchangeFailed,
    OboFailure,
    OboTokens,
    SsoExchanger,
)
from bot.auth.signin import ExchangeRefused, SignIn
from bot.core.ports import Turn
from bot.settings import Settings
from bot.storage import Records, StrictMemoryStorage
from tests.aad_fake import (
    Answer,
    FakeEntra,
    LoopbackTls,
    consent_required,
    expired_assertion,
    interaction_required,
    issued,
    loopback_tls,
)
from tests.support.ports import ORIGIN, PortTurn

APP_ID = "00000000-0000-0000-0000-00000000b07a"
SECRET = "app-secret-never-logged"
SCOPE = "https://graph.microsoft.com/OnlineMeetings.ReadWrite"
CONTOSO = "72f988bf-86f1-41af-91ab-2d7cd011db47"
FABRIKAM = "f0b5e0a2-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
_SIGNING_KEY = b"k" * 64

Server = Callable[..., Awaitable[TestServer]]


def sso(user: str, tenant: str | None = CONTOSO) -> str:
    """A Teams SSO token's shape; only the fake reads it, so its signature is irrelevant."""
    claims: dict[str, Any] = {"aud": f"api://botid-{APP_ID}", "oid": user, "name": user}
    if tenant is not None:
        claims["tid"] = tenant
    return jwt.encode(claims, _SIGNING_KEY, algorithm="HS256")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LoopbackTls:
    # The fake is on loopback: an HTTPS_PROXY in the environment must not be used for it.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    return loopback_tls(tmp_path)


@pytest.fixture
async def entra(aiohttp_server: Server, tls: LoopbackTls) -> AsyncIterator[FakeEntra]:
    fake = FakeEntra(APP_ID, SECRET, frozenset({SCOPE}), frozenset({CONTOSO, FABRIKAM}))
    server = await aiohttp_server(fake.app(), ssl=tls.server_context)
    fake.base_url = str(server.make_url("")).rstrip("/")
    assert fake.base_url.startswith("https://127.0.0.1:")
    yield fake
    assert fake.problems == []


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_tokens(
    entra: FakeEntra, tls: LoopbackTls, clock: Clock
) -> Iterator[Callable[..., OboTokens]]:
    made: list[OboTokens] = []

    def make(**overrides: Any) -> OboTokens:
        options: dict[str, Any] = {
            "authority_host": entra.base_url,
            "verify": str(tls.ca_path),
            "clock": clock,
        }
        options.update(overrides)
        tokens = OboTokens(APP_ID, SECRET, [SCOPE], **options)
        made.append(tokens)
        return tokens

    yield make
    for tokens in made:
        tokens.close()


@pytest.fixture
def tokens(make_tokens: Callable[..., OboTokens]) -> OboTokens:
    return make_tokens()


def _failed(result: Exchanged | ExchangeFailed) -> ExchangeFailed:
    assert isinstance(result, ExchangeFailed), result
    return result


async def test_exchange_returns_the_graph_token_and_caches_it(
    entra: FakeEntra, tokens: OboTokens
) -> None:
    entra.answers[sso("megan")] = issued("graph-token-megan")

    assert await tokens.exchange("29:megan", CONTOSO, sso("megan")) == Exchanged(
        "graph-token-megan"
    )
    assert await tokens.token("29:megan") == "graph-token-megan"
    # Teams asks again (another client, a later prompt): the cached token answers.
    assert await tokens.exchange("29:megan", CONTOSO, sso("megan")) == Exchanged(
        "graph-token-megan"
    )

    [sent] = entra.token_requests
    assert sent.tenant == CONTOSO
    assert sent.form["assertion"] == sso("megan")
    assert SCOPE in sent.scopes
    assert entra.discovery == [CONTOSO]
    assert await tokens.token("29:someone-else") is None


async def test_consent_required_is_a_typed_failure(entra: FakeEntra, tokens: OboTokens) -> None:
    entra.answers[sso("megan")] = consent_required()

    failed = _failed(await tokens.exchange("29:megan", CONTOSO, sso("megan")))

    assert failed.reason is OboFailure.CONSENT_REQUIRED
    assert (failed.error, failed.error_codes) == ("invalid_grant", (65001,))
    assert failed.correlation_id == entra.answers[sso("megan")].body["correlation_id"]
    assert "AADSTS" not in failed.detail
    assert await tokens.token("29:megan") is None


async def test_msal_replays_a_refusal_of_the_same_sso_token_for_a_minute(
    entra: FakeEntra, tokens: OboTokens
) -> None:
    # MSAL's HTTP layer caches a 400 for the same request for 60 s: after consenting, the
    # user signs in through the OAuth card (token service) or Teams sends a new SSO token.
    entra.answers[sso("megan")] = consent_required()
    await tokens.exchange("29:megan", CONTOSO, sso("megan"))
    entra.answers[sso("megan")] = issued("graph-token-megan")

    again = _failed(await tokens.exchange("29:megan", CONTOSO, sso("megan")))

    assert again.reason is OboFailure.CONSENT_REQUIRED
    assert len(entra.token_requests) == 1


async def test_interaction_required_is_a_typed_failure(entra: FakeEntra, tokens: OboTokens) -> None:
    entra.answers[sso("megan")] = interaction_required()

    failed = _failed(await tokens.exchange("29:megan", CONTOSO, sso("megan")))

    assert failed.reason is OboFailure.INTERACTION_REQUIRED
    assert failed.error_codes == (50079,)


async def test_an_expired_sso_token_is_an_invalid_assertion(
    entra: FakeEntra, tokens: OboTokens
) -> None:
    entra.answers[sso("megan")] = expired_assertion()

    failed = _failed(await tokens.exchange("29:megan", CONTOSO, sso("megan")))

    assert failed.reason is OboFailure.INVALID_ASSERTION
    assert (failed.error, failed.error_codes) == ("invalid_grant", (500133,))
    assert len(entra.token_requests) == 1


async def test_a_wrong_client_secret_is_misconfiguration(
    entra: FakeEntra, tokens: OboTokens, caplog: pytest.LogCaptureFixture
) -> None:
    entra.answers[sso("megan")] = Answer(
        401,
        {
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided.",
            "error_codes": [7000215],
        },
    )

    failed = _failed(await tokens.exchange("29:megan", CONTOSO, sso("megan")))

    assert failed.reason is OboFailure.MISCONFIGURED
    assert [r.levelno for r in caplog.records if r.name == "bot.auth.obo"] == [logging.ERROR]


async def test_an_expired_graph_token_means_a_new_exchange(
    entra: FakeEntra, tokens: OboTokens, clock: Clock
) -> None:
    entra.answers[sso("megan")] = issued("graph-token-1", expires_in=3600)
    await tokens.exchange("29:megan", CONTOSO, sso("megan"))

    clock.now += 3600 - EXPIRY_MARGIN_S - 1
    assert await tokens.token("29:megan") == "graph-token-1"
    clock.now += 1
    assert await tokens.token("29:megan") is None

    entra.answers[sso("megan")] = issued("graph-token-2")
    assert await tokens.exchange("29:megan", CONTOSO, sso("megan")) == Exchanged("graph-token-2")
    assert len(entra.token_requests) == 2
    assert entra.discovery == [CONTOSO]


async def test_a_token_about_to_expire_is_used_once_not_cached(
    entra: FakeEntra, tokens: OboTokens
) -> None:
    entra.answers[sso("megan")] = issued("graph-token-short", expires_in=EXPIRY_MARGIN_S)

    assert await tokens.exchange("29:megan", CONTOSO, sso("megan")) == Exchanged(
        "graph-token-short"
    )
    assert await tokens.token("29:megan") is None


async def test_forget_drops_the_cached_token(entra: FakeEntra, tokens: OboTokens) -> None:
    entra.answers[sso("megan")] = issued("graph-token-megan")
    entra.answers[sso("alex")] = issued("graph-token-alex")
    await tokens.exchange("29:megan", CONTOSO, sso("megan"))
    await tokens.exchange("29:alex", CONTOSO, sso("alex"))

    tokens.forget("29:megan")
    tokens.forget("29:never-signed-in")

    assert await tokens.token("29:megan") is None
    assert await tokens.token("29:alex") == "graph-token-alex"
    await tokens.exchange("29:megan", CONTOSO, sso("megan"))
    assert len(entra.token_requests) == 3


async def test_each_user_goes_to_the_authority_of_their_tenant(
    entra: FakeEntra, tokens: OboTokens
) -> None:
    entra.answers[sso("megan")] = issued("graph-token-megan")
    entra.answers[sso("alex")] = issued("graph-token-alex")
    entra.answers[sso("diego", FABRIKAM)] = issued("graph-token-diego")

    await tokens.exchange("29:megan", CONTOSO, sso("megan"))
    await tokens.exchange("29:diego", FABRIKAM.upper(), sso("diego", FABRIKAM))
    await tokens.exchange("29:alex", CONTOSO, sso("alex"))

    assert [r.tenant for r in entra.token_requests] == [CONTOSO, FABRIKAM, CONTOSO]
    # One MSAL application per authority, built once and reused.
    assert entra.discovery == [CONTOSO, FABRIKAM]


async def test_a_single_tenant_bot_always_uses_its_own_tenant(
    entra: FakeEntra, make_tokens: Callable[..., OboTokens]
) -> None:
    tokens = make_tokens(tenant=CONTOSO)
    entra.answers[sso("megan", None)] = issued("graph-token-megan")

    assert await tokens.exchange("29:megan", "", sso("megan", None)) == Exchanged(
        "graph-token-megan"
    )
    assert [r.tenant for r in entra.token_requests] == [CONTOSO]


async def test_an_sso_token_from_another_tenant_is_refused_locally(
    entra: FakeEntra, tokens: OboTokens
) -> None:
    failed = _failed(await tokens.exchange("29:megan", CONTOSO, sso("megan", FABRIKAM)))
    unreadable = _failed(await tokens.exchange("29:megan", CONTOSO, "not-a-jwt"))

    assert (failed.reason, failed.error) == (OboFailure.INVALID_ASSERTION, "tenant_mismatch")
    assert (unreadable.reason, unreadable.error) == (OboFailure.INVALID_ASSERTION, "no_tenant")
    assert entra.discovery == []
    assert entra.token_requests == []


async def test_an_unknown_tenant_is_refused_and_not_remembered(
    entra: FakeEntra, tokens: OboTokens
) -> None:
    nowhere = "0badc0de-0000-4000-8000-000000000000"

    for _ in range(2):
        failed = _failed(await tokens.exchange("29:megan", nowhere, sso("megan", nowhere)))
        assert (failed.reason, failed.error) == (OboFailure.INVALID_ASSERTION, "unknown_tenant")

    assert entra.discovery == [nowhere, nowhere]
    assert entra.token_requests == []


async def test_entra_errors_5xx_are_unavailable(entra: FakeEntra, tokens: OboTokens) -> None:
    entra.answers[sso("megan")] = Answer(503, {"error": "temporarily_unavailable"})

    failed = _failed(await tokens.exchange("29:megan", CONTOSO, sso("megan")))

    assert failed.reason is OboFailure.UNAVAILABLE
    assert failed.error == "MsalServiceError"


async def test_a_network_failure_is_unavailable(
    tls: LoopbackTls, make_tokens: Callable[..., OboTokens]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    tokens = make_tokens(authority_host=f"https://127.0.0.1:{closed_port}", http_timeout_s=2)

    failed = _failed(await tokens.exchange("29:megan", CONTOSO, sso("megan")))

    assert failed.reason is OboFailure.UNAVAILABLE
    assert failed.error == "ConnectionError"


async def test_an_untrusted_certificate_is_unavailable(
    entra: FakeEntra, make_tokens: Callable[..., OboTokens]
) -> None:
    tokens = make_tokens(verify=True)

    failed = _failed(await tokens.exchange("29:megan", CONTOSO, sso("megan")))

    assert (failed.reason, failed.error) == (OboFailure.UNAVAILABLE, "SSLError")
    assert entra.discovery == []


async def test_the_event_loop_keeps_running_during_the_exchange(
    entra: FakeEntra, tokens: OboTokens
) -> None:
    # The fake answers from this same loop: a blocking MSAL call could not even be answered.
    entra.answers[sso("megan")] = issued("graph-token-megan")
    entra.delay_s = 0.5
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        result = await tokens.exchange("29:megan", CONTOSO, sso("megan"))
    finally:
        ticker.cancel()

    assert result == Exchanged("graph-token-megan")
    assert ticks >= 10


async def test_tokens_and_secret_never_reach_the_logs(
    entra: FakeEntra, tokens: OboTokens, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    entra.answers[sso("megan")] = issued("graph-token-megan")
    entra.answers[sso("alex")] = consent_required()
    entra.answers[sso("diego")] = Answer(503, {"error": "temporarily_unavailable"})

    await tokens.exchange("29:megan", CONTOSO, sso("megan"))
    await tokens.exchange("29:alex", CONTOSO, sso("alex"))
    await tokens.exchange("29:diego", CONTOSO, sso("diego"))
    result = await tokens.exchange("29:megan", CONTOSO, sso("megan"))

    assert "graph-token-megan" not in repr(result)
    logged = caplog.text + "".join(repr(r.args) for r in caplog.records)
    assert any(r.name.startswith("msal") for r in caplog.records)
    for secret in ("graph-token-megan", SECRET, sso("megan"), sso("alex"), sso("diego")):
        assert secret not in logged
    assert "consent_required" in caplog.text


async def test_the_fake_notices_a_client_that_sends_the_wrong_thing(
    entra: FakeEntra, tls: LoopbackTls
) -> None:
    tokens = OboTokens(
        APP_ID, "wrong-secret", [SCOPE], authority_host=entra.base_url, verify=str(tls.ca_path)
    )
    try:
        failed = _failed(await tokens.exchange("29:megan", CONTOSO, sso("megan")))
    finally:
        tokens.close()

    assert (failed.reason, failed.error) == (OboFailure.INVALID_ASSERTION, "invalid_request")
    assert entra.problems == ["client_secret='wrong-secret'"]
    entra.problems.clear()


def test_obo_tokens_fit_the_sign_in_protocol() -> None:
    exchanger: SsoExchanger = OboTokens(APP_ID, SECRET, [SCOPE])
    assert exchanger is not None


@pytest.mark.parametrize(
    ("scopes", "host"),
    [
        ([SCOPE, "offline_access"], "https://login.microsoftonline.com"),
        ([], "https://login.microsoftonline.com"),
        ([SCOPE], "http://login.microsoftonline.com"),
    ],
)
def test_bad_configuration_fails_at_start(scopes: list[str], host: str) -> None:
    with pytest.raises(ValueError, match=r"scope|https"):
        OboTokens(APP_ID, SECRET, scopes, authority_host=host)


def test_from_settings_needs_a_client_secret() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        MicrosoftAppId=APP_ID,
        MicrosoftAppType="UserAssignedMSI",
        MicrosoftAppTenantId=CONTOSO,
        AUTH_MODE="obo",
    )
    with pytest.raises(ValueError, match="client secret"):
        OboTokens.from_settings(settings)


async def test_from_settings_uses_the_bot_registration_and_graph_scopes(
    entra: FakeEntra, tls: LoopbackTls
) -> None:
    user_read = "https://graph.microsoft.com/User.Read"
    entra.scopes = frozenset({SCOPE, user_read})
    entra.answers[sso("megan", None)] = issued("graph-token-megan")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        MicrosoftAppId=APP_ID,
        MicrosoftAppPassword=SECRET,
        MicrosoftAppType="SingleTenant",
        MicrosoftAppTenantId=FABRIKAM,
        AUTH_MODE="obo",
        AAD_AUTHORITY_HOST=entra.base_url,
        GRAPH_SCOPES=f"{SCOPE}, {user_read}",
    )
    tokens = OboTokens.from_settings(settings, verify=str(tls.ca_path))
    try:
        result = await tokens.exchange("29:megan", "", sso("megan", None))
    finally:
        tokens.close()

    assert result == Exchanged("graph-token-megan")
    assert [r.tenant for r in entra.token_requests] == [FABRIKAM]


def _exchange(user: str, exchange_id: str) -> tuple[Turn, dict[str, Any]]:
    """A Teams `signin/tokenExchange` turn, and its value, with a token service that has no
    token for anyone: what the user gets comes from OBO."""
    turn = PortTurn(origin=replace(ORIGIN, user_id=f"29:{user}", tenant_id=CONTOSO)).turn()
    return turn, {"id": exchange_id, "connectionName": "graph", "token": sso(user)}


async def test_sign_in_uses_obo_for_sso_and_answers_412_when_consent_is_missing(
    entra: FakeEntra, tokens: OboTokens
) -> None:
    signin = SignIn(Records(StrictMemoryStorage(), namespace="t"), "graph", sso=tokens)
    entra.answers[sso("megan")] = issued("graph-token-megan")
    assert await signin.exchange(*_exchange("megan", "x-1")) == "graph-token-megan"
    # Later turns find the token in the OBO cache: the token service (none) is not asked.
    later, _ = _exchange("megan", "x-2")
    assert await signin.token(later) == "graph-token-megan"

    entra.answers[sso("adele")] = consent_required()
    refused = await signin.exchange(*_exchange("adele", "x-3"))
    assert isinstance(refused, ExchangeRefused)
    answer = refused.answer()
    assert answer.status == 412
    assert answer.body is not None
    assert answer.body["id"] == "x-3"
    assert answer.body["connectionName"] == "graph"
