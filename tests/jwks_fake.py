"""A loopback stand-in for the Bot Framework's OpenID metadata, signing keys and Entra login."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import ssl
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

CHANNEL_ISSUER = "https://api.botframework.com"
APP_ID = "00000000-0000-0000-0000-0000000a11ce"
APP_PASSWORD = "app-password-9f8e7d6c5b4a-not-for-logs"
BOT_TOKEN = "bot-to-channel-token-3c1d2e"  # what the fake Entra hands the bot for outbound calls

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class ChannelSigner:
    """Signs tokens the way the Bot Framework channel does (RS256, `kid`, channel claims)."""

    app_id: str = APP_ID
    issuer: str = CHANNEL_ISSUER
    kid: str = "channel-key-1"
    endorsements: tuple[str, ...] = ("msteams",)
    key: rsa.RSAPrivateKey = field(default_factory=new_rsa_key)

    def jwk(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {
            **public,
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
            "endorsements": list(self.endorsements),
        }

    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def claims(self, service_url: str, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "serviceurl": service_url,
            "nbf": now - 60,
            "exp": now + 3600,
            "iss": self.issuer,
            "aud": self.app_id,
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def token(
        self,
        service_url: str,
        *,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        **claims: Any,
    ) -> str:
        """A channel token; `key`/`kid` forge it, a claim set to None leaves that claim out."""
        return jwt.encode(
            self.claims(service_url, **claims),
            key or self.key,
            algorithm="RS256",
            headers={"kid": kid or self.kid},
        )

    def unsigned(self, service_url: str, header: dict[str, Any], **claims: Any) -> str:
        """A token with `header` as given and no signature, for `alg: none` and its kin."""
        head = _b64(json.dumps(header).encode())
        body = _b64(json.dumps(self.claims(service_url, **claims)).encode())
        return f"{head}.{body}."

    def hs256_with_public_key(self, service_url: str) -> str:
        """The algorithm-confusion attack: HMAC keyed with the RSA public key's PEM."""
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": self.kid}).encode())
        body = _b64(json.dumps(self.claims(service_url)).encode())
        mac = hmac.new(self.public_pem(), f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{_b64(mac)}"


@dataclass
class Seen:
    """One request the fake identity provider received."""

    method: str
    path: str
    form: dict[str, str]


@dataclass
class IdentityProvider:
    """OpenID metadata and keys for inbound tokens, and an Entra-like token endpoint."""

    signer: ChannelSigner
    url: str = ""
    ca_bundle: Path | None = None
    seen: list[Seen] = field(default_factory=list)

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/v1/.well-known/openidconfiguration"

    @property
    def login_url(self) -> str:
        # An ADFS-style authority: MSAL skips instance discovery at login.microsoftonline.com.
        return f"{self.url}/adfs"

    def token_requests(self) -> list[Seen]:
        return [s for s in self.seen if s.path == "/adfs/oauth2/token"]

    def app(self) -> web.Application:
        async def record(request: web.Request) -> None:
            form = dict(await request.post()) if request.method == "POST" else {}
            self.seen.append(
                Seen(request.method, request.path, {k: str(v) for k, v in form.items()})
            )

        async def metadata(request: web.Request) -> web.Response:
            await record(request)
            return web.json_response(
                {
                    "issuer": self.signer.issuer,
                    "jwks_uri": f"{self.url}/v1/.well-known/keys",
                    "id_token_signing_alg_values_supported": ["RS256"],
                }
            )

        async def keys(request: web.Request) -> web.Response:
            await record(request)
            return web.json_response({"keys": [self.signer.jwk()]})

        async def login_metadata(request: web.Request) -> web.Response:
            await record(request)
            return web.json_response(
                {
                    "issuer": f"{self.url}/adfs",
                    "authorization_endpoint": f"{self.url}/adfs/oauth2/authorize",
                    "token_endpoint": f"{self.url}/adfs/oauth2/token",
                }
            )

        async def login_token(request: web.Request) -> web.Response:
            await record(request)
            return web.json_response(
                {"access_token": BOT_TOKEN, "token_type": "Bearer", "expires_in": 3600}
            )

        @web.middleware
        async def close_after(request: web.Request, handler: Handler) -> web.StreamResponse:
            # MSAL keeps its requests session (and so a kept-alive socket) until garbage
            # collection, which would surface as a ResourceWarning in some later test.
            response = await handler(request)
            response.force_close()
            return response

        app = web.Application(middlewares=[close_after])
        app.router.add_get("/v1/.well-known/openidconfiguration", metadata)
        app.router.add_get("/v1/.well-known/keys", keys)
        app.router.add_get("/adfs/.well-known/openid-configuration", login_metadata)
        app.router.add_post("/adfs/oauth2/token", login_token)
        return app


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (cert.pem, key.pem); MSAL insists on https authorities."""
    key = new_rsa_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / f"idp-{uuid.uuid4().hex[:8]}-cert.pem"
    key_path = cert_path.with_name(cert_path.name.replace("-cert", "-key"))
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextmanager
def serve_in_thread(app: web.Application, tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 from its own thread and event loop; yields the base URL.

    botbuilder fetches OpenID metadata with blocking `requests` calls on the bot's event
    loop, so a fake served from that same loop would never get to answer.
    """
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    context: ssl.SSLContext | None = None
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        loop.run_until_complete(site.start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, name="identity-provider", daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the fake identity provider did not start")
    host, port = runner.addresses[0][:2]
    scheme = "https" if tls else "http"
    try:
        yield f"{scheme}://{host}:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@contextmanager
def identity_provider(
    directory: Path, signer: ChannelSigner | None = None
) -> Iterator[IdentityProvider]:
    """The fake on https with a fresh certificate; callers trust it via REQUESTS_CA_BUNDLE."""
    provider = IdentityProvider(signer or ChannelSigner())
    tls = self_signed_certificate(directory)
    provider.ca_bundle = tls[0]
    with serve_in_thread(provider.app(), tls) as url:
        provider.url = url
        yield provider
