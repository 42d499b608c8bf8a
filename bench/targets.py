"""Benchmark targets: how each bot is started and what its virtual users send it."""

import functools
import tomllib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
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
    # The subject of the meeting a request must create in Graph, by the request's activity id:
    # each request must create exactly one (None: the workload creates no meetings).
    meeting_subject: Callable[[str], str] | None = None

    def is_reply(self, reply: Reply) -> bool:
        """Whether a connector call counts as a reply (typing indicators and the like do not)."""
        return reply.method == self.reply_method and reply.activity_type == REPLY_TYPE


@dataclass(frozen=True, slots=True)
class Target:
    """A bot process to start and the workload to drive it with.

    `argv` and the values of `env` are templates: `{python}` is this interpreter, `{port}` the
    free loopback port chosen for the run, `{token_url}` and `{graph_url}` the harness's fake
    token service and Graph, `{data_dir}` a fresh temporary directory for this target's run.
    The command runs from the repository root.
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


@functools.cache
def _user(index: int) -> tuple[str, str, str]:
    """(Teams id, name, Entra object id) of a virtual user (computed once: the harness's CPU
    is shared with the fakes)."""
    user_id = f"bench-user-{index}"
    return f"29:{user_id}", f"Bench User {index}", str(uuid.uuid5(_USER_NAMESPACE, user_id))


def base_activity(turn: Turn) -> dict[str, Any]:
    """A Teams personal-chat message activity without content."""
    teams_id, name, object_id = _user(turn.user_index)
    return {
        "type": "message",
        "id": turn.activity_id,
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "serviceUrl": turn.service_url,
        "channelId": "msteams",
        "from": {"id": teams_id, "name": name, "aadObjectId": object_id},
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


# Subjects carry the activity id, so every request asks for a new meeting.
def digit_subject(activity_id: str) -> str:
    return f"Review {activity_id}"


CORPUS = Path(__file__).resolve().parents[1] / "tests" / "corpus" / "meet_commands.toml"


@functools.cache
def corpus_texts() -> tuple[str, ...]:
    """The meet commands people type (tests/corpus), each as the tests read it."""
    document = tomllib.loads(CORPUS.read_text(encoding="utf-8"))
    return tuple(entry["text"] for entry in document["command"])


def corpus_command(turn: Turn) -> dict[str, Any]:
    """Builder for the corpus's commands in turn: meetings, questions and refusals alike."""
    texts = corpus_texts()
    text = f"meet {texts[int(turn.activity_id) % len(texts)]}"
    return {**base_activity(turn), "text": text, "textFormat": "plain"}


def any_answer(reply: Reply) -> bool:
    """Reply check: one message, a card (a meeting, the form asking) or a text (a refusal)."""
    if reply.activity_type != "message":
        return False
    return reply.attachment_types == (ADAPTIVE_CARD,) or bool(reply.text)


def meet_command(subject: Callable[[str], str]) -> ActivityBuilder:
    """Builder for `meet <subject> tomorrow at 10am for 30 minutes`, one new meeting each."""

    def build(turn: Turn) -> dict[str, Any]:
        text = f"meet {subject(turn.activity_id)} tomorrow at 10am for 30 minutes"
        return {**base_activity(turn), "text": text, "textFormat": "plain"}

    return build


def form_id(activity_id: str) -> str:
    """The id of the form message a card submission came from (what the bot must update)."""
    return f"form-{activity_id}"


def form_submit(turn: Turn) -> dict[str, Any]:
    """Action.Submit of the meeting form: a message with the form's values and `replyToId`."""
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    value = {
        "meetbot": "createMeeting",
        "subject": digit_subject(turn.activity_id),
        "date": tomorrow,
        "startTime": "10:00",
        "durationMinutes": "30",
        "attendees": "",
        "attendeeEmails": "",
    }
    return {**base_activity(turn), "value": value, "replyToId": form_id(turn.activity_id)}


def meeting_card_for(subject: Callable[[str], str], *, updates_form: bool) -> ReplyCheck:
    """Reply check: one Adaptive Card saying the meeting of this very request was created;
    with `updates_form`, sent as an update of the form message the request came from."""

    def check(reply: Reply) -> bool:
        request_id = reply.in_reply_to
        if request_id is None or not one_adaptive_card(reply):
            return False
        if updates_form and reply.activity_id != form_id(request_id):
            return False
        return reply.card_texts == ("Meeting created", subject(request_id))

    return check


def text_is(expected: str) -> ReplyCheck:
    """Reply check: a message whose text is exactly `expected`."""

    def check(reply: Reply) -> bool:
        return reply.activity_type == "message" and reply.text == expected

    return check


def one_adaptive_card(reply: Reply) -> bool:
    """Reply check: a message carrying exactly one Adaptive Card."""
    return reply.activity_type == "message" and reply.attachment_types == (ADAPTIVE_CARD,)


# Local mode (no app id, so no inbound auth), but with the token service and Graph pointed at
# the harness's fakes instead of the embedded sandboxes, and SQLite state as in production.
MEETBOT_ENV = {
    "PORT": "{port}",
    "HOST": "127.0.0.1",
    "MicrosoftAppId": "",
    "OAUTH_URL": "{token_url}",
    "GRAPH_BASE_URL": "{graph_url}",
    "STORAGE": "sqlite",
    "SQLITE_PATH": "{data_dir}/meetbot.sqlite3",
    "LOG_LEVEL": "WARNING",
    # Each virtual user creates hundreds of meetings a minute here; the limiter still runs,
    # at its highest setting (the default, 30 an hour, would refuse all but the first 30).
    "MEETINGS_PER_USER_PER_HOUR": "10000",
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
BARE = "bare-meet"
MEET_FORM = "meetbot-form"
MEET_TYPED = "meetbot-meet"
MEET_CORPUS = "meetbot-meet-corpus"
HELP = "meetbot-help"

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
            HELP,
            "MeetBot app.py, text 'help', answered with one Adaptive Card",
            Workload(build=message("help"), check_reply=one_adaptive_card),
        ),
        meetbot(
            MEET_TYPED,
            "MeetBot app.py, 'meet Review <id> tomorrow at 10am for 30 minutes' (digits in the "
            "subject) from a signed-in user, answered with one meeting card",
            Workload(
                build=meet_command(digit_subject),
                check_reply=meeting_card_for(digit_subject, updates_form=False),
                meeting_subject=digit_subject,
            ),
        ),
        meetbot(
            MEET_CORPUS,
            "MeetBot app.py, the corpus's meet commands in turn (tests/corpus: English, French, "
            "Spanish, others) from a signed-in user, each answered with one message",
            Workload(build=corpus_command, check_reply=any_answer),
        ),
        meetbot(
            MEET_FORM,
            "MeetBot app.py, Action.Submit of the meeting form, answered by updating the form "
            "(PUT) with one meeting card",
            Workload(
                build=form_submit,
                check_reply=meeting_card_for(digit_subject, updates_form=True),
                reply_method="PUT",
                meeting_subject=digit_subject,
            ),
        ),
        Target(
            name=BARE,
            description="bare aiohttp (bench/bare_turn.py): the form submission's HTTP work "
            "only: token lookup, createOrGet, one card PUT",
            argv=("{python}", "bench/bare_turn.py", "{port}"),
            workload=Workload(
                build=form_submit,
                check_reply=meeting_card_for(digit_subject, updates_form=True),
                reply_method="PUT",
                meeting_subject=digit_subject,
            ),
            env={"OAUTH_URL": "{token_url}", "GRAPH_BASE_URL": "{graph_url}"},
        ),
    )
}
# Targets run when none are named; the others only on request.
DEFAULT_TARGETS = (BASELINE, HELP, MEET_TYPED, MEET_CORPUS, MEET_FORM, BARE)
