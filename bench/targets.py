"""Benchmark targets: how each bot is started and what its virtual users send it."""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.fake_channel import ADAPTIVE_CARD, Reply

TENANT_ID = "00000000-0000-4000-8000-00000000be0c"
BOT_ACCOUNT = {"id": "28:bench-bot", "name": "MeetBot"}
REPLY_TYPE = "message"
_USER_NAMESPACE = uuid.UUID("6f1c1d4e-3b52-4c59-9d0e-6d65e7c0be0c")


@dataclass(frozen=True, slots=True)
class Turn:
    """Who sends one request, in which conversation, and where the bot must reply."""

    conversation_id: str
    user_index: int
    activity_id: str
    service_url: str


ActivityBuilder = Callable[[Turn], dict[str, Any]]
ReplyCheck = Callable[[Reply], bool]


@dataclass(frozen=True, slots=True)
class Workload:
    """What each request carries and what one correct reply looks like."""

    build: ActivityBuilder
    check_reply: ReplyCheck
    # A card submission may be answered by updating the card (PUT) instead of a new message.
    reply_method: str = "POST"

    def is_reply(self, reply: Reply) -> bool:
        """Whether a connector call counts as a reply (typing indicators and the like do not)."""
        return reply.method == self.reply_method and reply.activity_type == REPLY_TYPE


@dataclass(frozen=True, slots=True)
class Target:
    """A bot process to start and the workload to drive it with.

    `argv` and the values of `env` are templates: `{python}` is this interpreter and `{port}`
    the free loopback port chosen for the run. The command runs from the repository root.
    """

    name: str
    description: str
    argv: tuple[str, ...]
    workload: Workload
    env: Mapping[str, str] = field(default_factory=dict)
    ready_path: str = "/api/messages"
    # None: any HTTP answer on ready_path means the server is up.
    ready_status: int | None = None
    is_meetbot: bool = False


def base_activity(turn: Turn) -> dict[str, Any]:
    """A Teams personal-chat message activity without content."""
    user_id = f"bench-user-{turn.user_index}"
    return {
        "type": "message",
        "id": turn.activity_id,
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "serviceUrl": turn.service_url,
        "channelId": "msteams",
        "from": {
            "id": f"29:{user_id}",
            "name": f"Bench User {turn.user_index}",
            "aadObjectId": str(uuid.uuid5(_USER_NAMESPACE, user_id)),
        },
        "recipient": dict(BOT_ACCOUNT),
        "conversation": {
            "id": turn.conversation_id,
            "conversationType": "personal",
            "tenantId": TENANT_ID,
        },
        "channelData": {"tenant": {"id": TENANT_ID}},
        "locale": "en-US",
    }


def message(text: str) -> ActivityBuilder:
    """Builder for a typed message."""

    def build(turn: Turn) -> dict[str, Any]:
        return {**base_activity(turn), "text": text, "textFormat": "plain"}

    return build


def card_submit(value: Mapping[str, Any]) -> ActivityBuilder:
    """Builder for an Adaptive Card Action.Submit: Teams sends a message with `value`, no text."""

    def build(turn: Turn) -> dict[str, Any]:
        return {**base_activity(turn), "value": dict(value)}

    return build


def text_is(expected: str) -> ReplyCheck:
    """Reply check: a message whose text is exactly `expected`."""

    def check(reply: Reply) -> bool:
        return reply.activity_type == "message" and reply.text == expected

    return check


def one_adaptive_card(reply: Reply) -> bool:
    """Reply check: a message carrying exactly one Adaptive Card."""
    return reply.activity_type == "message" and reply.attachment_types == (ADAPTIVE_CARD,)


MEETBOT_ENV = {
    "PORT": "{port}",
    "HOST": "127.0.0.1",
    "MicrosoftAppId": "",
    "STORAGE": "memory",
    "LOG_LEVEL": "WARNING",
}


def meetbot(name: str, description: str, workload: Workload) -> Target:
    """A MeetBot target: `python app.py` in local mode, ready when /healthz answers 200."""
    return Target(
        name=name,
        description=description,
        argv=("{python}", "app.py"),
        workload=workload,
        env=MEETBOT_ENV,
        ready_path="/healthz",
        ready_status=200,
        is_meetbot=True,
    )


BASELINE = "stock-echo"

TARGETS: dict[str, Target] = {
    target.name: target
    for target in (
        Target(
            name=BASELINE,
            description="stock CloudAdapter echo bot (bench/stock_echo_bot.py), text 'hello'",
            argv=("{python}", "bench/stock_echo_bot.py", "{port}"),
            workload=Workload(build=message("hello"), check_reply=text_is("Echo: hello")),
        ),
        meetbot(
            "meetbot-help",
            "MeetBot app.py, text 'help', answered with one Adaptive Card",
            Workload(build=message("help"), check_reply=one_adaptive_card),
        ),
    )
}
