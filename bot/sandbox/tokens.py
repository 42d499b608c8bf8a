"""Access tokens of the local sandboxes: HS256 JWTs shaped like Entra delegated Graph tokens."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

GRAPH_AUDIENCE = "https://graph.microsoft.com"
_ALGORITHM = "HS256"
_MIN_SECRET_BYTES = 32  # RFC 7518 §3.2; PyJWT warns below this.


@dataclass(frozen=True, slots=True)
class SandboxIdentity:
    """Who a sandbox token speaks for, and what it may do."""

    tenant_id: str
    object_id: str
    upn: str
    display_name: str
    scopes: frozenset[str] = frozenset()


class SandboxTokenError(Exception):
    """A sandbox token was refused."""


class SandboxTokenInvalidError(SandboxTokenError):
    """Malformed, wrongly signed, for another audience/issuer, or missing claims."""


class SandboxTokenExpiredError(SandboxTokenError):
    """Well formed and signed, but past its `exp`."""


class SandboxTokens:
    """Issues and verifies sandbox tokens; the clock is injectable so tests can expire them."""

    def __init__(
        self,
        secret: bytes,
        issuer: str = "meetbot-sandbox",
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(secret) < _MIN_SECRET_BYTES:
            raise ValueError(f"the sandbox token secret needs at least {_MIN_SECRET_BYTES} bytes")
        self._secret = secret
        self._issuer = issuer
        self._clock = clock

    @property
    def issuer(self) -> str:
        return self._issuer

    def issue(self, identity: SandboxIdentity, lifetime_s: int = 3600) -> str:
        issued_at = int(self._clock())
        claims: dict[str, Any] = {
            "aud": GRAPH_AUDIENCE,
            "iss": self._issuer,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": issued_at + int(lifetime_s),
            "tid": identity.tenant_id,
            "oid": identity.object_id,
            "upn": identity.upn,
            "name": identity.display_name,
            "scp": " ".join(sorted(identity.scopes)),
        }
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def verify(self, token: str) -> SandboxIdentity:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                audience=GRAPH_AUDIENCE,
                issuer=self._issuer,
                # Expiry is checked below against the injected clock, not the wall clock.
                options={
                    "require": ["exp", "iat", "tid", "oid", "upn"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise SandboxTokenInvalidError(type(exc).__name__) from None
        exp = claims.get("exp")
        if not isinstance(exp, int | float):
            raise SandboxTokenInvalidError("exp is not a number")
        if exp <= self._clock():
            raise SandboxTokenExpiredError("token expired")
        fields = {name: claims.get(name) for name in ("tid", "oid", "upn")}
        if not all(isinstance(value, str) and value for value in fields.values()):
            raise SandboxTokenInvalidError("tid, oid and upn must be non-empty strings")
        name = claims.get("name")
        scp = claims.get("scp")
        return SandboxIdentity(
            tenant_id=str(fields["tid"]),
            object_id=str(fields["oid"]),
            upn=str(fields["upn"]),
            display_name=name if isinstance(name, str) else "",
            scopes=frozenset(scp.split()) if isinstance(scp, str) else frozenset(),
        )
