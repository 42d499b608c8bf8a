"""Every card MeetBot sends, parsed, validated and drawn by the official adaptivecards renderer."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from bot.auth.signin import SignIn
from bot.core.calendar import CalendarFiles
from bot.core.form import InvalidForm, validate_form
from bot.core.online_meeting import CreateOrGetRequest, MeetingOptions
from bot.core.ports import RecordStore, Turn
from bot.core.request import MeetingRequest
from bot.graph.client import CreateOrGetResult
from bot.graph.errors import (
    GraphError,
    GraphInvalidResponseError,
    GraphTimeoutError,
    GraphUnavailableError,
    error_from_response,
)
from bot.usecases.meetings import MESSAGE_BUDGET_S, Meetings
from cards.elements import AdaptiveCard, TextBlock
from cards.form import meeting_form_card
from cards.help import help_card, welcome_card
from cards.lists import meeting_list_card
from cards.manage import options_card
from cards.meeting import meeting_card, working_card
from tests.e2e.playground import CHROMIUM_ARGS, CHROMIUM_PATH, REPO_ROOT, is_loopback_url
from tests.support.cards import ALL_CARDS, BARE, END, FULL, START, view
from tests.support.form import ALEX, NEW_YORK, NOW, TODAY
from tests.support.ports import PortTurn

if TYPE_CHECKING:
    from playwright.async_api import ConsoleMessage, Locator, Page, Route

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

NODE_MODULES = REPO_ROOT / "node_modules"
ADAPTIVECARDS_JS = NODE_MODULES / "adaptivecards" / "dist" / "adaptivecards.min.js"
ADAPTIVECARDS_CSS = NODE_MODULES / "adaptivecards" / "dist" / "adaptivecards.css"
MARKDOWN_IT_JS = NODE_MODULES / "markdown-it" / "dist" / "browser" / "markdown-it.umd.min.js"
GALLERY_DIR = REPO_ROOT / "docs" / "cards"

# Teams accepts Adaptive Cards up to 1.5; newer properties must be flagged, not silently used.
TEAMS_CARD_VERSION = "1.5"
# What the renderer reports that is right for Teams, each checked to be the only such finding:
# `msteams` is Teams' own key; a ShowCard's card inherits its version, so the renderer skips
# that card's `$schema` and `version`; and Teams reads the people picker's `choices.data` in
# 1.5 cards although the schema dates it 1.6 (elsewhere it falls back to the e-mail field).
TOLERATED_UNKNOWN = {
    "AdaptiveCard.msteams",
    "Action.ShowCard.card.$schema",
    "Action.ShowCard.card.version",
}
TOLERATED_PARSE_EVENTS = {
    'UnsupportedProperty (Input.ChoiceSet#attendees): Property "choices.data" is supported in '
    "version 1.6, but you are using version 1.5."
}
# The people picker's static choices are only the people already picked: none on a new form.
TOLERATED_VALIDATION_EVENTS = {
    "CollectionCantBeEmpty (Input.ChoiceSet#attendees): An Input.ChoiceSet must have at least "
    "one choice defined."
}

_FONT = "'Segoe UI', 'Helvetica Neue', 'Liberation Sans', Arial, sans-serif"
_MONO = "Consolas, 'Liberation Mono', 'DejaVu Sans Mono', monospace"
_SIZES = {"small": 12, "default": 14, "medium": 16, "large": 18, "extraLarge": 24}
_WEIGHTS = {"lighter": 300, "default": 400, "bolder": 600}
_COLORS = {
    "default": {"default": "#242424", "subtle": "#616161"},
    "dark": {"default": "#242424", "subtle": "#424242"},
    "light": {"default": "#FFFFFF", "subtle": "#F0F0F0"},
    "accent": {"default": "#5B5FC7", "subtle": "#7579EB"},
    "good": {"default": "#0E700E", "subtle": "#107C10"},
    "warning": {"default": "#8A3707", "subtle": "#BC4B09"},
    "attention": {"default": "#C4314B", "subtle": "#D13438"},
}
# Close to Teams' light theme: Segoe UI 14 px, Teams purple, bold fact titles, six actions.
TEAMS_HOST_CONFIG: dict[str, Any] = {
    "fontFamily": _FONT,
    "supportsInteractivity": True,
    "spacing": {
        "small": 4,
        "default": 8,
        "medium": 16,
        "large": 20,
        "extraLarge": 24,
        "padding": 16,
    },
    "separator": {"lineThickness": 1, "lineColor": "#E0E0E0"},
    "fontTypes": {
        "default": {"fontFamily": _FONT, "fontSizes": _SIZES, "fontWeights": _WEIGHTS},
        "monospace": {"fontFamily": _MONO, "fontSizes": _SIZES, "fontWeights": _WEIGHTS},
    },
    "containerStyles": {
        "default": {"backgroundColor": "#FFFFFF", "foregroundColors": _COLORS},
        "emphasis": {"backgroundColor": "#F5F5F5", "foregroundColors": _COLORS},
    },
    "actions": {
        "maxActions": 6,
        "spacing": "default",
        "buttonSpacing": 8,
        "showCard": {"actionMode": "inline", "inlineTopMargin": 12, "style": "emphasis"},
        "actionsOrientation": "horizontal",
        "actionAlignment": "left",
    },
    "adaptiveCard": {"allowCustomStyle": False},
    "factSet": {
        "title": {"weight": "bolder", "wrap": True, "maxWidth": 180},
        "value": {"wrap": True},
        "spacing": 8,
    },
    "inputs": {
        "label": {
            "inputSpacing": "small",
            "requiredInputs": {"weight": "bolder", "suffix": " *", "suffixColor": "attention"},
            "optionalInputs": {"weight": "bolder"},
        },
        "errorMessage": {"size": "small", "color": "attention"},
    },
    "textStyles": {"heading": {"size": "large", "weight": "bolder", "color": "default"}},
}
# The package's stylesheet styles buttons like its own samples; these rules look like Teams.
_TEAMS_CSS = (
    f":root {{ --teams-font: {_FONT}; }}"
    + """
html, body { margin: 0; background: #ffffff; }
body { padding: 12px; font-family: var(--teams-font); }
#card { width: 600px; }
#card > .ac-adaptiveCard { border: 1px solid #e0e0e0; border-radius: 6px; }
.ac-pushButton, .ac-pushButton.subdued {
  font-family: var(--teams-font); font-size: 14px; font-weight: 600; min-height: 32px;
  padding: 5px 12px; border-radius: 4px; background: #ffffff; color: #242424;
  border: 1px solid #d1d1d1;
}
.ac-pushButton.style-positive { background: #5b5fc7; color: #ffffff; border-color: #5b5fc7; }
.ac-pushButton.expanded { background: #ebebeb; color: #242424; border-color: #c7c7c7; }
.ac-pushButton.expandable:after {
  font-family: var(--teams-font); font-size: 12px; margin-left: 6px; content: "\\25BE";
}
.ac-pushButton.expandable.expanded:after { content: "\\25B4"; }
.ac-input, .ac-input input, .ac-input select, .ac-input textarea {
  font-family: var(--teams-font); font-size: 14px; color: #242424;
}
.ac-input input, .ac-input select {
  min-height: 32px; box-sizing: border-box; border: 1px solid #d1d1d1; border-radius: 4px;
  padding: 0 8px; background: #ffffff;
}
"""
)
# Parse with a 1.5 context, collect every parse and validation event, list source keys no
# parsed object declares (the renderer would silently ignore them), then render.
_RENDER_JS = """
window.meetbotRender = ([payload, hostConfig, version]) => {
  const AC = window.AdaptiveCards;
  const md = window.markdownit();
  AC.AdaptiveCard.onProcessMarkdown = (text, result) => {
    result.outputHtml = md.render(text);
    result.didProcess = true;
  };
  const maxVersion = AC.Version.parse(version, new AC.SerializationContext());
  const name = (object) => object.getJsonTypeName() + (object.id ? `#${object.id}` : "");
  const describe = (e) =>
    `${AC.ValidationEvent[e.event]} (${e.source ? name(e.source) : "card"}): ${e.message}`;
  // Collections some types read straight from the JSON instead of through their schema.
  const parsedByHand = {
    AdaptiveCard: ["body", "actions"],
    Container: ["items"],
    Column: ["items"],
    ColumnSet: ["columns"],
    ActionSet: ["actions"],
    "Action.ShowCard": ["card"],
  };
  const unknown = [];
  const checkKeys = (object, source, label) => {
    const typeName = object.getJsonTypeName();
    const schema = object.getSchema();
    const known = new Set(["type", "fallback", ...(parsedByHand[typeName] || [])]);
    for (let i = 0; i < schema.getCount(); i++) known.add(schema.getItemAt(i).name);
    for (const key of Object.keys(source)) {
      if (!known.has(key)) unknown.push(`${label || typeName}.${key}`);
    }
    if (typeName === "Action.ShowCard") {
      checkKeys(object.card, source.card, "Action.ShowCard.card");
    }
  };
  const context = new AC.SerializationContext(maxVersion);
  context.onParseElement = (element, source) => checkKeys(element, source);
  context.onParseAction = (action, source) => checkKeys(action, source);
  const card = new AC.AdaptiveCard();
  card.maxVersion = maxVersion;
  card.hostConfig = new AC.HostConfig(hostConfig);
  card.parse(payload, context);
  checkKeys(card, payload);
  const parseEvents = [];
  for (let i = 0; i < context.eventCount; i++) parseEvents.push(describe(context.getEventAt(i)));
  const validationEvents = card.validateProperties().validationEvents.map(describe);
  const target = document.getElementById("card");
  target.replaceChildren();
  const rendered = card.render();
  if (rendered) target.appendChild(rendered);
  return { parseEvents, validationEvents, unknown, rendered: Boolean(rendered) };
};
"""
_FORMATTING = (
    "a, strong, b, em, i, code, pre, h1, h2, h3, h4, h5, h6, ol, ul, li, blockquote, del, s"
)


def _missing() -> list[str]:
    problems = []
    if not CHROMIUM_PATH.is_file():
        problems.append(f"{CHROMIUM_PATH} is missing (run scripts/install-browser-deps.sh)")
    for script in (ADAPTIVECARDS_JS, ADAPTIVECARDS_CSS, MARKDOWN_IT_JS):
        if not script.is_file():
            problems.append(f"{script.relative_to(REPO_ROOT)} is missing (run `npm ci`)")
    if importlib.util.find_spec("playwright") is None:
        problems.append("the Python package `playwright` is not installed (pip install -e .[dev])")
    return problems


def _page_html() -> str:
    def inline(tag: str, path: Path) -> str:
        # A literal "</script>" inside a script would end it early; the bundles have none.
        text = path.read_text(encoding="utf-8")
        assert f"</{tag}" not in text, path
        return f"<{tag}>{text}</{tag}>"

    return "\n".join(
        [
            '<!doctype html><html lang="en"><head><meta charset="utf-8">',
            inline("style", ADAPTIVECARDS_CSS),
            f"<style>{_TEAMS_CSS}</style>",
            inline("script", MARKDOWN_IT_JS),
            inline("script", ADAPTIVECARDS_JS),
            f"<script>{_RENDER_JS}</script>",
            '</head><body><div id="card"></div></body></html>',
        ]
    )


@dataclass
class Renderer:
    """One Chromium tab with the renderer loaded; console errors and warnings are collected."""

    page: Page
    console: list[str]

    @property
    def card(self) -> Locator:
        return self.page.locator("#card > .ac-adaptiveCard")

    async def render(
        self, card: dict[str, Any], *, version: str = TEAMS_CARD_VERSION
    ) -> dict[str, Any]:
        """Parse, validate and draw card as a host of `version` would; the findings."""
        self.console.clear()
        result: dict[str, Any] = await self.page.evaluate(
            "args => window.meetbotRender(args)", [card, TEAMS_HOST_CONFIG, version]
        )
        return result

    async def text(self) -> str:
        return await self.card.inner_text()

    async def action_titles(self) -> list[str]:
        """Titles of the visible buttons, in order: card actions and ActionSets in the body."""
        titles: list[str] = await self.card.evaluate(
            """card => [...card.querySelectorAll("button.ac-pushButton")]
              .filter(b => b.offsetParent !== null)
              .map(b => b.textContent.trim())"""
        )
        return titles

    async def formatting(self) -> list[str]:
        """Elements a markdown processor made: links, emphasis, lists, headings, code."""
        tags: list[str] = await self.card.evaluate(
            "(card, css) => [...card.querySelectorAll(css)].map(e => e.outerHTML)", _FORMATTING
        )
        return tags

    async def save(self, name: str) -> Path:
        """The card as docs/cards/<name>.png, rewritten only when its pixels changed."""
        png = await self.card.screenshot(animations="disabled", caret="hide")
        path = GALLERY_DIR / f"{name}.png"
        if not path.exists() or path.read_bytes() != png:
            GALLERY_DIR.mkdir(parents=True, exist_ok=True)
            path.write_bytes(png)
        return path


async def _abort(route: Route) -> None:
    await route.abort("blockedbyclient")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def renderer() -> AsyncIterator[Renderer]:
    """Debian's headless Chromium with adaptivecards and markdown-it inlined; loopback only."""
    problems = _missing()
    if problems:
        reason = "CARD RENDERER PREREQUISITES MISSING: " + "; ".join(problems)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM_PATH), args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            context = await browser.new_context(
                viewport={"width": 680, "height": 900}, device_scale_factor=2
            )
            await context.route(lambda url: not is_loopback_url(url), _abort)
            page = await context.new_page()
            console: list[str] = []

            def record(message: ConsoleMessage) -> None:
                if message.type in {"error", "warning"}:
                    console.append(f"{message.type}: {message.text}")

            page.on("console", record)
            page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
            await page.set_content(_page_html(), wait_until="load")
            yield Renderer(page, console)
        finally:
            await browser.close()


def assert_no_findings(result: dict[str, Any], console: list[str]) -> None:
    """Nothing the renderer flagged beyond the documented Teams extensions; no script errors."""
    assert set(result["parseEvents"]) <= TOLERATED_PARSE_EVENTS, result["parseEvents"]
    validated = result["validationEvents"]
    assert set(validated) <= TOLERATED_VALIDATION_EVENTS, validated
    assert set(result["unknown"]) <= TOLERATED_UNKNOWN, result["unknown"]
    assert result["rendered"]
    assert console == []


async def check(
    renderer: Renderer,
    card: dict[str, Any],
    *,
    texts: Sequence[str],
    actions: Sequence[str],
    absent: Sequence[str] = (),
) -> str:
    """Render card; no parse, validation or unknown-property findings; texts and actions shown."""
    result = await renderer.render(card)
    assert_no_findings(result, renderer.console)
    text = await renderer.text()
    for expected in texts:
        assert expected in text, (expected, text)
    for unexpected in absent:
        assert unexpected not in text, (unexpected, text)
    # Every markdown escape was consumed by the processor: none shows as a stray backslash.
    assert "\\" not in text
    assert await renderer.action_titles() == list(actions)
    return text


# --- The cards -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    card: dict[str, Any]
    texts: tuple[str, ...]
    actions: tuple[str, ...]
    absent: tuple[str, ...] = ()
    # Draw the picture with `choices.data` read, so Attendees is a people search as in Teams.
    people_search: bool = False
    picture: bool = True


def _form_with_errors() -> tuple[dict[str, Any], tuple[str, ...]]:
    result = validate_form(
        {
            "subject": "",
            "date": "2026-11-22",
            "startTime": "25:00",
            "durationMinutes": "45",
            "attendees": f"{ALEX},not-an-id",
            "attendeeEmails": "bob@fabrikam.com; carol",
        },
        now=NOW,
        zone=NEW_YORK,
    )
    assert isinstance(result, InvalidForm)
    card = meeting_form_card(
        result.values,
        result.errors,
        today=TODAY,
        message="Some fields need fixing.",
        people=[("Alex Wilber", ALEX)],
        zone_name=NEW_YORK.key,
    )
    return card, tuple(result.errors.values())


def _list_card() -> dict[str, Any]:
    meetings = [
        ("Budget sync", 2, BARE["joinWebUrl"]),
        ("Design review", 0, FULL["joinWebUrl"]),
        ("Team offsite planning", -7, BARE["joinWebUrl"]),
    ]
    return meeting_list_card(
        [
            {
                "subject": subject,
                "start": (START + timedelta(days=days)).isoformat(),
                "end": (END + timedelta(days=days)).isoformat(),
                "joinUrl": url,
            }
            for subject, days, url in meetings
        ],
        ZoneInfo("Europe/Berlin"),
    )


_FORM_FIELDS = ("New Teams meeting", "Subject", "Date", "Length", "Attendees")
_FORM_ERRORS_CARD, _FORM_ERRORS = _form_with_errors()
_FULL_TEXTS = (
    "Meeting created",
    "Design review",
    "Tue, Nov 24, 2026, 3:00 pm – 3:45 pm (America/New_York)",
    "2026-11-24 20:00 – 20:45 UTC",
    "That time had already passed today, so this is the next one.",
    "megan@contoso.com",
    "Alex Wilber, adele@contoso.com",
    "312 456 789 012",
    "aB3cD4",
    "Dial in",
    "+1 425-555-0100",
    "+44 20 7946 0000",
    "+1 800-555-0199",
    "804980123#",
    "1234567890@teams.example",
    "not on anyone's calendar",
)
_MEETING_ACTIONS = ("Join", "Add to calendar", "Show invitation")
_CONTROLS = ("Reschedule", "Cancel meeting", "Options")

CASES: dict[str, Case] = {
    "help": Case(
        help_card(),
        texts=(
            "MeetBot",
            "meet ‹subject› [when] [for ‹duration›] [with @people]",
            "Open the meeting form",
            "Meetings I created in this conversation",
            "Sign out of Microsoft Graph",
            "@MeetBot meet Budget sync on Dec 3 from 2pm to 3:30pm.",
        ),
        actions=("New meeting",),
    ),
    "welcome": Case(
        welcome_card(),
        texts=("Hi, I'm MeetBot", "meet Design review tomorrow at 3pm for 45 minutes"),
        actions=("New meeting", "Help"),
    ),
    "form_empty": Case(
        meeting_form_card(today=TODAY, zone_name=NEW_YORK.key),
        texts=(*_FORM_FIELDS, "Start time (America/New_York)", "30 minutes"),
        actions=("Create meeting",),
        people_search=True,
    ),
    "form_errors": Case(
        _FORM_ERRORS_CARD,
        texts=(*_FORM_FIELDS, "Some fields need fixing.", "Alex Wilber", *_FORM_ERRORS),
        actions=("Create meeting",),
    ),
    "form_task_module": Case(
        meeting_form_card(today=TODAY, for_task_module=True, zone_name=NEW_YORK.key),
        texts=_FORM_FIELDS,
        actions=("Create meeting",),
        picture=False,  # the same picture as form_empty: only the action's type differs
    ),
    "meeting_full": Case(
        ALL_CARDS["meeting_full"],
        texts=_FULL_TEXTS,
        actions=(*_MEETING_ACTIONS, "Find a local number"),
    ),
    "meeting_no_dial_in": Case(
        ALL_CARDS["meeting_no_dial_in"],
        texts=("Meeting created", "Design review", "Organizer", "Attendees"),
        actions=_MEETING_ACTIONS,
        absent=("Dial in", "Meeting ID", "Conference ID"),
    ),
    "meeting_already_scheduled": Case(
        ALL_CARDS["meeting_already_scheduled"],
        texts=("Already scheduled", *_FULL_TEXTS[1:]),
        actions=(*_MEETING_ACTIONS, "Find a local number"),
        absent=("Meeting created",),
    ),
    "working": Case(
        working_card("Design review"),
        texts=("Creating the meeting…", "Design review", "Teams is taking a moment."),
        actions=(),
    ),
    "list": Case(
        _list_card(),
        texts=(
            "Meetings in this conversation",
            "Budget sync",
            "Design review",
            "Team offsite planning",
            "Tue, Nov 24, 2026, 9:00 pm – 9:45 pm (Europe/Berlin)",
        ),
        actions=("Join", "Join", "Join"),
    ),
    "meeting_organizer": Case(
        ALL_CARDS["meeting_organizer"],
        texts=_FULL_TEXTS,
        actions=(*_CONTROLS, *_MEETING_ACTIONS, "Find a local number"),
    ),
    "meeting_moved": Case(
        ALL_CARDS["meeting_moved"],
        texts=(
            "Moved to Tue, Nov 24, 2026, 4:30 pm – 5:15 pm (America/New_York)",
            "Tue, Nov 24, 2026, 4:30 pm – 5:15 pm (America/New_York)\n",
            "2026-11-24 21:30 – 22:15 UTC",
            "Who bypasses the lobby",
            "Everyone",
            "Record automatically",
        ),
        actions=(*_MEETING_ACTIONS, "Find a local number"),
    ),
    "meeting_cancelled": Case(
        ALL_CARDS["meeting_cancelled"],
        texts=("Cancelled", "Design review", "Was Tue, Nov 24, 2026, 3:00 pm – 3:45 pm"),
        actions=("Download cancellation (.ics)",),
        absent=("Join", "Passcode", "Dial in"),
    ),
    "cancel_confirm": Case(
        ALL_CARDS["cancel_confirm"],
        texts=("Cancel this meeting?", "Design review", "can't be undone"),
        actions=("Yes, cancel it", "Keep it"),
    ),
    "options": Case(
        options_card(
            "Design review",
            MeetingOptions(
                lobby_bypass="organization",
                allowed_presenters="everyone",
                record_automatically=False,
                is_entry_exit_announced=True,
                allow_meeting_chat="enabled",
            ),
            {"externalId": "x"},
        ),
        texts=(
            "Meeting options",
            "Who can bypass the lobby",
            "Who can present",
            "Record automatically",
            "Announce when people join or leave",
            "Meeting chat",
        ),
        actions=("Save options", "Back"),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_card_parses_validates_and_renders(renderer: Renderer, name: str) -> None:
    case = CASES[name]
    await check(renderer, case.card, texts=case.texts, actions=case.actions, absent=case.absent)
    if case.people_search:
        # The renderer's own people search would show picked ids raw; only empty forms use it.
        await renderer.render(case.card, version="1.6")
        search = renderer.card.get_by_placeholder("Search for people in your organization")
        assert await search.is_visible()
    if case.picture:
        await renderer.save(name)


async def test_the_meeting_cards_show_cards_open_inline(renderer: Renderer) -> None:
    await renderer.render(ALL_CARDS["meeting_full"])
    await renderer.card.get_by_role("button", name="Add to calendar").click()
    titles = await renderer.action_titles()
    assert titles[-2:] == ["Outlook on the web", "Download .ics"], titles
    await renderer.card.get_by_role("button", name="Show invitation").click()
    text = await renderer.text()
    for line in (
        "Select this text, copy it and share it:",
        "Join the Microsoft Teams meeting:",
        str(FULL["joinWebUrl"]),
        "Meeting ID: 312 456 789 012",
        "Passcode: aB3cD4",
        "Dial in: +1 425-555-0100, +44 20 7946 0000, +1 800-555-0199",
        "Phone conference ID: 804980123#",
    ):
        assert line in text, (line, text)
    assert "\\" not in text
    await renderer.save("meeting_invitation")


async def test_the_invitation_keeps_its_blank_line(renderer: Renderer) -> None:
    await renderer.render(ALL_CARDS["meeting_full"])
    await renderer.card.get_by_role("button", name="Show invitation").click()
    heights: list[float] = await renderer.card.evaluate(
        """card => [...card.querySelectorAll(".ac-textBlock")]
          .filter(e => e.offsetParent !== null)
          .map(e => e.getBoundingClientRect().height)"""
    )
    assert min(heights) > 0, heights


# --- Graph failures: the problem cards come from the real use case ----------------------------


class _FailingGraph:
    """Graph answering every createOrGet with one typed error, as GraphClient raises it."""

    def __init__(self, error: GraphError) -> None:
        self.error = error

    async def create_or_get(
        self,
        token: str,
        request: CreateOrGetRequest,
        *,
        budget_s: float,
        user_object_id: str | None = None,
    ) -> CreateOrGetResult:
        raise self.error


class _SignInSpy:
    def __init__(self) -> None:
        self.signed_out = False

    async def sign_out(self, turn: Turn) -> None:
        self.signed_out = True


def _graph_answer(status: int, code: str, **headers: str) -> GraphError:
    body = f'{{"error": {{"code": "{code}", "message": "internal detail"}}}}'.encode()
    return error_from_response(
        status=status,
        headers={"request-id": f"req-{status}", **headers},
        body=body,
        sent_client_request_id="client-1",
        attempts=3 if status >= 500 else 1,
    )


# Each failure, and a phrase its card must show besides the error's own user_message.
PROBLEMS: dict[str, tuple[GraphError, str]] = {
    "problem_400": (_graph_answer(400, "BadRequest"), "did not accept the meeting details"),
    "problem_403": (_graph_answer(403, "Forbidden"), "Teams licence"),
    "problem_404": (_graph_answer(404, "NotFound"), "Microsoft Entra object id"),
    "problem_429": (
        _graph_answer(429, "TooManyRequests", **{"Retry-After": "30"}),
        "Please try again in 30 s.",
    ),
    "problem_503": (_graph_answer(503, "ServiceUnavailable"), "(HTTP 503)"),
    "problem_timeout": (
        GraphTimeoutError(client_request_id="client-1", attempts=2),
        "asking again with the same details is safe",
    ),
    "problem_network": (GraphUnavailableError(client_request_id="client-1"), "network problem"),
    "problem_unreadable": (
        GraphInvalidResponseError(status=201, request_id="req-201"),
        "could not read the meeting details",
    ),
}
REQUEST = MeetingRequest(
    tenant_id="tenant-1",
    conversation_id="a:conversation-1",
    organizer_id="29:user-1",
    subject="Design review",
    start=START,
    end=END,
)


async def _outcome(error: GraphError) -> tuple[dict[str, Any] | None, bool]:
    """The card Meetings.outcome answers a Graph failure with, and whether it signed out."""
    signin = _SignInSpy()
    meetings = Meetings(
        _FailingGraph(error),
        cast(SignIn, signin),
        cast(RecordStore, None),  # only a created meeting is recorded
        CalendarFiles(secret=b"render-test", base_url="http://127.0.0.1:3978"),
        default_zone=NEW_YORK,
    )
    outcome = await meetings.outcome(
        PortTurn().turn(), "token", REQUEST, (), budget_s=MESSAGE_BUDGET_S
    )
    return outcome.card, signin.signed_out


@pytest.mark.parametrize("name", list(PROBLEMS))
async def test_problem_card_parses_validates_and_renders(renderer: Renderer, name: str) -> None:
    error, phrase = PROBLEMS[name]
    card, signed_out = await _outcome(error)
    assert card is not None
    assert not signed_out
    texts = ["I couldn't create the meeting", error.user_message, phrase]
    if error.request_id:
        texts.append(f"(Graph request id {error.request_id})")
    text = await check(renderer, card, texts=texts, actions=["Try again"])
    assert "internal detail" not in text
    await renderer.save(name)


async def test_a_401_after_the_retry_signs_out_and_asks_again_instead_of_a_problem_card() -> None:
    card, signed_out = await _outcome(_graph_answer(401, "InvalidAuthenticationToken"))
    assert card is None
    assert signed_out


# --- Markdown: user text stays literal under Teams-like markdown -----------------------------

EVIL = [
    "[Click me](https://evil.example) **bold**",
    "_x_ *y* `code` ~~gone~~ <b>raw</b> <at>y</at>",
    "# Heading",
    "1. first",
    "- item",
    "+ item",
    "> quoted",
    "![img](https://evil.example/a.png)",
    "\\*not bold\\*",
]


async def test_markdown_is_processed_so_the_escaping_checks_mean_something(
    renderer: Renderer,
) -> None:
    card = AdaptiveCard(body=[TextBlock(text="**bold** [link](https://example.invalid)")])
    await renderer.render(card.to_dict())
    assert len(await renderer.formatting()) == 2


@pytest.mark.parametrize("subject", EVIL)
@pytest.mark.parametrize("where", ["meeting", "list", "form_error"])
async def test_user_text_renders_literally(renderer: Renderer, where: str, subject: str) -> None:
    if where == "meeting":
        card = meeting_card(view(FULL, subject=subject))
        expected = subject
    elif where == "list":
        card = meeting_list_card(
            [
                {
                    "subject": subject,
                    "start": START.isoformat(),
                    "end": END.isoformat(),
                    "joinUrl": FULL["joinWebUrl"],
                }
            ],
            NEW_YORK,
        )
        expected = subject
    else:
        result = validate_form(
            {
                "subject": "Design review",
                "date": "2026-11-24",
                "startTime": "15:00",
                "durationMinutes": "30",
                "attendeeEmails": subject,
            },
            now=NOW,
            zone=NEW_YORK,
        )
        assert isinstance(result, InvalidForm), subject
        card = meeting_form_card(result.values, result.errors, today=TODAY)
        expected = result.errors["attendeeEmails"]
    assert_no_findings(await renderer.render(card), renderer.console)
    assert await renderer.formatting() == []
    assert expected in await renderer.text()


async def test_entity_references_in_user_text_render_literally(renderer: Renderer) -> None:
    subject = "AT&amp;T &lt;b&gt; &#42;"
    assert_no_findings(
        await renderer.render(meeting_card(view(FULL, subject=subject))), renderer.console
    )
    assert subject in await renderer.text()
