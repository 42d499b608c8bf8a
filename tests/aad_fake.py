"""A fake Entra ID on loopback TLS: OpenID metadata and the on-behalf-of token endpoint."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MSAL_SCOPES = frozenset({"openid", "profile", "offline_access"})


@dataclass(frozen=True)
class LoopbackTls:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it."""

    ca_path: Path
    server_context: ssl.SSLContext


def loopback_tls(directory: Path) -> LoopbackTls:
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "MeetBot test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert_path.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return LoopbackTls(ca_path, context)


@dataclass(frozen=True)
class Answer:
    """What the token endpoint answers to one assertion."""

    status: int
    body: dict[str, Any]


def issued(access_token: str, expires_in: int = 3600) -> Answer:
    """A successful on-behalf-of response, as Entra ID v2 shapes it."""
    return Answer(
        200,
        {
            "token_type": "Bearer",
            "scope": "https://graph.microsoft.com/OnlineMeetings.ReadWrite",
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": access_token,
            "refresh_token": f"rt-{uuid.uuid4()}",
        },
    )


def _error(
    error: str, code: int, description: str, *, suberror: str | None = None, **extra: Any
) -> Answer:
    correlation = str(uuid.uuid4())
    body: dict[str, Any] = {
        "error": error,
        "error_description": (
            f"AADSTS{code}: {description}\r\nTrace ID: {uuid.uuid4()}\r\n"
            f"Correlation ID: {correlation}\r\nTimestamp: 2026-11-23 20:00:00Z"
        ),
        "error_codes": [code],
        "timestamp": "2026-11-23 20:00:00Z",
        "trace_id": str(uuid.uuid4()),
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
        **extra,
    }
    if suberror is not None:
        body["suberror"] = suberror
    return Answer(400, body)


def consent_required() -> Answer:
    return _error(
        "invalid_grant",
        65001,
        "The user or administrator has not consented to use the application with ID "
        "'00000000-0000-0000-0000-00000000b07a' named 'MeetBot'. Send an interactive "
        "authorization request for this user and resource.",
        suberror="consent_required",
    )


def interaction_required() -> Answer:
    return _error(
        "interaction_required",
        50079,
        "Due to a configuration change made by your administrator, or because you moved to a "
        "new location, you are required to enroll in multi-factor authentication.",
        claims='{"access_token":{"polids":{"essential":true,"values":["9ab03e19"]}}}',
    )


def expired_assertion() -> Answer:
    return _error(
        "invalid_grant",
        500133,
        "Assertion is not within its valid time range. Ensure that the access token is not "
        "expired before using it for user assertion, or request a new token.",
    )


def bad_signature() -> Answer:
    return _error("invalid_grant", 50013, "Assertion failed signature validation.")


@dataclass(frozen=True)
class TokenRequest:
    """One POST the token endpoint received."""

    tenant: str
    form: dict[str, str]

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.form.get("scope", "").split())


@dataclass
class FakeEntra:
    """Serves discovery and tokens for `tenants`; answers each assertion as scripted.

    Whatever a well-behaved on-behalf-of client must send is checked; anything else is
    put in `problems` (and answered with `invalid_request`) for the test to assert empty.
    """

    client_id: str
    client_secret: str
    scopes: frozenset[str]
    tenants: frozenset[str]
    answers: dict[str, Answer] = field(default_factory=dict)
    delay_s: float = 0.0
    base_url: str = ""
    discovery: list[str] = field(default_factory=list)
    token_requests: list[TokenRequest] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self._metadata)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        return app

    async def _metadata(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        self.discovery.append(tenant)
        if tenant not in self.tenants:
            return web.json_response(
                {"error": "invalid_tenant", "error_codes": [90002]}, status=400
            )
        base = f"{self.base_url}/{tenant}"
        return web.json_response(
            {
                "issuer": f"{self.base_url}/{tenant}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "jwks_uri": f"{self.base_url}/{tenant}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "code id_token"],
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
            }
        )

    async def _token(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        form = {k: str(v) for k, v in (await request.post()).items()}
        received = TokenRequest(tenant, form)
        self.token_requests.append(received)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        problems = self._check(received)
        if problems:
            self.problems.extend(problems)
            return web.json_response(
                {"error": "invalid_request", "error_codes": [900144]}, status=400
            )
        answer = self.answers.get(form["assertion"]) or bad_signature()
        return web.json_response(answer.body, status=answer.status)

    def _check(self, received: TokenRequest) -> list[str]:
        form = received.form
        expected = {
            "grant_type": JWT_BEARER,
            "requested_token_use": "on_behalf_of",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        problems = [
            f"{name}={form.get(name)!r}"
            for name, want in expected.items()
            if form.get(name) != want
        ]
        if not form.get("assertion"):
            problems.append("no assertion")
        if received.scopes != self.scopes | MSAL_SCOPES:
            problems.append(f"scope={form.get('scope')!r}")
        if received.tenant not in self.tenants:
            problems.append(f"tenant={received.tenant!r}")
        return problems
