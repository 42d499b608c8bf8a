"""Sandbox tokens: HS256 JWTs with Entra-like claims, refused when forged, foreign or expired."""

from __future__ import annotations

import jwt
import pytest

from bot.sandbox import (
    SandboxTokenExpiredError,
    SandboxTokenInvalidError,
    SandboxTokens,
)

from .fakes import MEGAN, SECRET


def test_issue_and_verify_round_trip() -> None:
    tokens = SandboxTokens(SECRET)
    assert tokens.verify(tokens.issue(MEGAN)) == MEGAN


def test_claims_look_like_a_delegated_graph_token() -> None:
    now = 1_800_000_000.0
    token = SandboxTokens(SECRET, clock=lambda: now).issue(MEGAN, lifetime_s=600)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert claims == {
        "aud": "https://graph.microsoft.com",
        "iss": "meetbot-sandbox",
        "iat": 1_800_000_000,
        "nbf": 1_800_000_000,
        "exp": 1_800_000_600,
        "tid": MEGAN.tenant_id,
        "oid": MEGAN.object_id,
        "upn": MEGAN.upn,
        "name": MEGAN.display_name,
        "scp": "OnlineMeetings.ReadWrite User.Read",
    }


def test_expiry_follows_the_injected_clock() -> None:
    now = [1_800_000_000.0]
    tokens = SandboxTokens(SECRET, clock=lambda: now[0])
    token = tokens.issue(MEGAN, lifetime_s=60)
    now[0] += 59
    assert tokens.verify(token).object_id == MEGAN.object_id
    now[0] += 1
    with pytest.raises(SandboxTokenExpiredError):
        tokens.verify(token)


@pytest.mark.parametrize(
    "forge",
    [
        lambda: SandboxTokens(b"another-secret-of-32-bytes-length!").issue(MEGAN),
        lambda: SandboxTokens(SECRET, issuer="someone-else").issue(MEGAN),
        lambda: jwt.encode({"aud": "api://other", "exp": 4_000_000_000}, SECRET, "HS256"),
        lambda: jwt.encode(
            {"aud": "https://graph.microsoft.com", "iss": "meetbot-sandbox", "exp": 4e9, "iat": 1},
            SECRET,
            "HS256",
        ),
        lambda: "not-a-jwt",
        lambda: "",
        lambda: jwt.encode({"alg": "none"}, "", algorithm="none"),
    ],
    ids=[
        "wrong-secret",
        "wrong-issuer",
        "wrong-audience",
        "no-identity",
        "garbage",
        "empty",
        "none",
    ],
)
def test_forged_or_foreign_tokens_are_invalid(forge: object) -> None:
    assert callable(forge)
    with pytest.raises(SandboxTokenInvalidError):
        SandboxTokens(SECRET).verify(forge())


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        SandboxTokens(b"short")
