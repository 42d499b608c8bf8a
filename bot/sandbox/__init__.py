"""Local stand-ins for Microsoft services (Graph, tokens), mounted by the bot in local mode."""

from bot.sandbox.graph import (
    RECEIVED,
    Fault,
    FaultInjector,
    ReceivedRequest,
    SandboxStorage,
    create_graph_sandbox,
)
from bot.sandbox.tokens import (
    SandboxIdentity,
    SandboxTokenError,
    SandboxTokenExpiredError,
    SandboxTokenInvalidError,
    SandboxTokens,
)

__all__ = [
    "RECEIVED",
    "Fault",
    "FaultInjector",
    "ReceivedRequest",
    "SandboxIdentity",
    "SandboxStorage",
    "SandboxTokenError",
    "SandboxTokenExpiredError",
    "SandboxTokenInvalidError",
    "SandboxTokens",
    "create_graph_sandbox",
]
