"""Start MeetBot and the Microsoft 365 Agents Playground, and drive the Playground's web UI."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from playwright.async_api import (
        Browser,
        BrowserContext,
        Dialog,
        Locator,
        Page,
        Route,
        ViewportSize,
    )

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"
E2E_ARTIFACTS_DIR = ARTIFACTS_DIR / "e2e"
LOG_DIR = E2E_ARTIFACTS_DIR / "logs"

CHROMIUM_PATH = Path("/usr/bin/chromium")
PLAYGROUND_CLI = REPO_ROOT / "node_modules" / "@microsoft" / "m365agentsplayground" / "cli.js"
# Preloaded into the Playground's Node process: listen on and connect to loopback only.
LOOPBACK_SHIM = Path(__file__).with_name("loopback_only.cjs")
# Directory holding the bot's app.py; MEETBOT_E2E_APP_DIR points the fixtures at another bot.
APP_DIR_ENV = "MEETBOT_E2E_APP_DIR"

CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
)
VIEWPORT: ViewportSize = {"width": 1400, "height": 900}
LOOPBACK_HOST = "127.0.0.1"
# The Playground's built-in configuration (used when no .m365agentsplayground.yml is given).
DEFAULT_BOT_NAME = "Test Bot"
DEFAULT_TEAM_NAME = "My Team"

ConversationKind = Literal["personal", "group", "channel"]

_MORE_BUTTON = "Show more information"
_CONVERSATION_UPDATE_LOG = re.compile(r"^conversationUpdate \d{3}$")
_REDEEM_HINTS = re.compile(
    r"Validation code redeemed|Couldn't redeem validation code automatically"
    r"|Failed to redeem validation code"
)
# Numbers bot messages (elements matching the given CSS) in the order they appear.
_TRACK_MESSAGES = """
([selector]) => {
  if (window.__e2eSeq) return;
  const state = (window.__e2eSeq = { n: 0 });
  const tag = () => {
    for (const element of document.querySelectorAll(selector)) {
      if (!element.hasAttribute("data-e2e-seq")) {
        element.setAttribute("data-e2e-seq", String(++state.n));
      }
    }
  };
  new MutationObserver(tag).observe(document.body, { childList: true, subtree: true });
  tag();
}
"""
# Records every window.open() target: the Sign in button of an OAuth card calls it.
_RECORD_WINDOW_OPEN = """
(() => {
  const original = window.open;
  window.__e2eOpenedUrls = [];
  window.open = function (url, ...rest) {
    window.__e2eOpenedUrls.push(String(url));
    return original.call(this, url, ...rest);
  };
})();
"""


def app_dir() -> Path:
    """Directory whose app.py the bot fixture runs (the repository root unless overridden)."""
    return Path(os.environ.get(APP_DIR_ENV) or REPO_ROOT).resolve()


def prerequisite_problems() -> list[str]:
    """What is missing on this machine for the e2e tests; empty when they can run."""
    problems: list[str] = []
    if not CHROMIUM_PATH.is_file():
        problems.append(f"{CHROMIUM_PATH} is missing (run scripts/install-browser-deps.sh)")
    if shutil.which("node") is None:
        problems.append("`node` is not on PATH")
    if not PLAYGROUND_CLI.is_file():
        problems.append(
            f"{PLAYGROUND_CLI.relative_to(REPO_ROOT)} is missing "
            "(run `npm ci` or scripts/install-browser-deps.sh)"
        )
    if importlib.util.find_spec("playwright") is None:
        problems.append("the Python package `playwright` is not installed (pip install -e .[dev])")
    app = app_dir() / "app.py"
    if not app.is_file():
        problems.append(f"{app} does not exist")
    return problems


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK_HOST, 0))
        return int(sock.getsockname()[1])


def slug(text: str) -> str:
    """A file-name-safe version of text (e.g. a pytest node id)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:150] or "unnamed"


def _http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        with exc:  # it holds the response: close it (no ResourceWarning)
            return exc.code
    except OSError:
        return None


@dataclass
class ManagedProcess:
    """A child process started in its own session, its output going to a log file."""

    name: str
    argv: list[str]
    log_path: Path
    cwd: Path
    env: dict[str, str]
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _log: IO[bytes] | None = field(default=None, init=False, repr=False)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self._proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        assert self._proc is not None, f"{self.name} was not started"
        return self._proc.pid

    def exit_code(self) -> int | None:
        """None while running, else the exit code."""
        return None if self._proc is None else self._proc.poll()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def check_alive(self) -> None:
        code = self.exit_code()
        if code is not None:
            raise RuntimeError(
                f"{self.name} exited with code {code}; log {self.log_path}:\n{self.log_tail()}"
            )

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the process group this process leads, then SIGKILL it if it lingers.

        Signals go only while the leader is unreaped, so its id cannot have been reused.
        """
        proc, self._proc = self._proc, None
        try:
            if proc is not None and proc.poll() is None:
                self._signal_group(proc, signal.SIGTERM)
                try:
                    proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    self._signal_group(proc, signal.SIGKILL)
                    proc.wait(timeout=grace)
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None

    @staticmethod
    def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        # start_new_session=True made the child the leader of a group whose id is its pid.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)


@dataclass
class BotProcess:
    """`python app.py` serving MeetBot on 127.0.0.1:port in local (no credentials) mode."""

    process: ManagedProcess
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK_HOST}:{self.port}"

    @property
    def messages_endpoint(self) -> str:
        return f"{self.base_url}/api/messages"

    def stop(self) -> None:
        self.process.stop()


def start_bot(
    log_path: Path, *, extra_env: Mapping[str, str] | None = None, timeout: float = 60.0
) -> BotProcess:
    """Run app.py on a free port in local mode and wait until GET /healthz answers 200."""
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "PORT": str(port),
            "HOST": LOOPBACK_HOST,
            "MicrosoftAppId": "",  # empty: local mode (embedded sandbox, no credentials)
            "MicrosoftAppPassword": "",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra_env or {})
    process = ManagedProcess(
        name="MeetBot (python app.py)",
        argv=[sys.executable, "app.py"],
        log_path=log_path,
        cwd=app_dir(),
        env=env,
    )
    process.start()
    bot = BotProcess(process=process, port=port)
    deadline = time.monotonic() + timeout
    try:
        while True:
            process.check_alive()
            if _http_status(f"{bot.base_url}/healthz") == 200:
                return bot
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{bot.base_url}/healthz did not answer 200 within {timeout:.0f}s; "
                    f"log {log_path}:\n{process.log_tail()}"
                )
            time.sleep(0.2)
    except BaseException:
        process.stop()
        raise


@dataclass
class PlaygroundProcess:
    """The Agents Playground (web UI plus mock Teams channel) on 127.0.0.1:port."""

    process: ManagedProcess
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK_HOST}:{self.port}"

    def stop(self) -> None:
        self.process.stop()


_PLAYGROUND_ENV_PREFIXES = ("M365_AGENTS_PLAYGROUND_", "TEAMSAPPTESTER_", "TEAMS_APP_TEST_TOOL_")


def _playground_env(workdir: Path, log_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # Variables the Playground reads that would override what the fixture asks for.
        if not key.startswith(_PLAYGROUND_ENV_PREFIXES)
        and key not in {"BOT_ENDPOINT", "DEFAULT_CHANNEL_ID", "SEND_INSTALLATION_ACTIVITY"}
    }
    env.update(
        {
            "TEAMSAPPTESTER_BROWSER": "none",  # don't try to open a desktop browser
            "M365_AGENTS_PLAYGROUND_LOGFILE": str(log_path),  # default: ./devTools/*.log
            # Nonexistent on purpose: use the built-in config, not a stray file in the cwd.
            "M365_AGENTS_PLAYGROUND_CONFIG_PATH": str(workdir / ".m365agentsplayground.yml"),
            "TEAMS_APP_TEST_TOOL_CONFIG_PATH": str(workdir / ".teamsapptesttool.yml"),
            # --disable-telemetry still starts the Application Insights SDK.
            "APPLICATION_INSIGHTS_NO_STATSBEAT": "true",
            "APPLICATION_INSIGHTS_NO_DIAGNOSTIC_CHANNEL": "true",
            "APPLICATION_INSIGHTS_NO_PATCH_MODULES": "true",
        }
    )
    return env


def start_playground(
    bot_endpoint: str,
    *,
    log_dir: Path,
    name: str,
    workdir: Path,
    channel_id: str | None = None,
    timeout: float = 30.0,
    attempts: int = 3,
) -> PlaygroundProcess:
    """Start the Playground on a free port, pointed at bot_endpoint; wait for its UI.

    The Playground silently moves to a random port when the requested one is taken, so
    the port it reports ("Listening on N") is checked and a mismatch retried on a new port.
    """
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("`node` is not on PATH")
    workdir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.playground.log"
    stdout_path = log_dir / f"{name}.playground-stdout.log"
    for _attempt in range(attempts):
        port = free_port()
        argv = [
            node,
            "--require",
            str(LOOPBACK_SHIM),
            str(PLAYGROUND_CLI),
            "--app-endpoint",
            bot_endpoint,
            "--port",
            str(port),
            # The default is http://localhost:<port>/_connector; keep the bot on 127.0.0.1.
            "--service-url",
            f"http://{LOOPBACK_HOST}:{port}/_connector",
            "--disable-telemetry",
        ]
        if channel_id:
            argv += ["--channel-id", channel_id]
        process = ManagedProcess(
            name="Agents Playground",
            argv=argv,
            log_path=stdout_path,
            cwd=workdir,
            env=_playground_env(workdir, log_path),
        )
        process.start()
        try:
            actual = _wait_for_listening(process, timeout)
            if actual != port:
                process.stop()
                continue
            _wait_for_ui(process, f"http://{LOOPBACK_HOST}:{port}/", timeout)
        except BaseException:
            process.stop()
            raise
        return PlaygroundProcess(process=process, port=port, log_path=log_path)
    raise RuntimeError(f"the Playground did not get a free port in {attempts} attempts")


def _wait_for_listening(process: ManagedProcess, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        # Printed to stdout (only when stdout is not a TTY) once the server listens.
        found = re.search(r"Listening on (\d+)", process.log_text())
        if found:
            return int(found.group(1))
        process.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"the Playground did not report its port within {timeout:.0f}s; "
                f"log {process.log_path}:\n{process.log_tail()}"
            )
        time.sleep(0.1)


def _wait_for_ui(process: ManagedProcess, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _http_status(url) != 200:
        process.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f}s")
        time.sleep(0.1)


def is_loopback_url(url: str) -> bool:
    """True for URLs the browser may load: the loopback Playground and inline content."""
    if url.startswith(("data:", "blob:", "about:")):
        return True
    found = re.match(r"^(?:https?|wss?)://(\[[^\]]+\]|[^/:?#]+)", url)
    if not found:
        return False
    host = found.group(1).strip("[]").lower()
    return host in {"localhost", "::1"} or host.startswith("127.")


async def _abort(route: Route) -> None:
    await route.abort("blockedbyclient")


async def new_playground_context(browser: Browser) -> BrowserContext:
    """A browser context that only loads loopback URLs and records window.open() targets.

    The Playground's page pulls fonts and an animation worklet from a CDN; those requests
    are aborted (the page renders with fallback fonts).
    """
    context = await browser.new_context(viewport=VIEWPORT)
    await context.route(lambda url: not is_loopback_url(url), _abort)
    await context.add_init_script(_RECORD_WINDOW_OPEN)
    return context


@dataclass
class SignInWindow:
    """What clicking an OAuth card's Sign in button did: window.open(url) -> page."""

    url: str
    page: Page


class PlaygroundChat:
    """Drives one Playground tab: pick a conversation, type, read bot replies and cards.

    Bot messages are found by the bot's avatar (span[role=img][aria-label=<bot name>]),
    which the Playground draws beside every bot message: chat rows, channel replies and
    the bot's own channel posts. A MutationObserver numbers them in arrival order
    (data-e2e-seq), because in a channel the newest post is drawn at the top.
    `send()` and `mark()` remember the newest number; `wait_for_bot_message()` only looks
    at messages that arrived after it.
    """

    def __init__(
        self,
        page: Page,
        base_url: str,
        *,
        bot_name: str = DEFAULT_BOT_NAME,
        team_name: str = DEFAULT_TEAM_NAME,
        screenshot_dir: Path = E2E_ARTIFACTS_DIR,
    ) -> None:
        self.page = page
        self.base_url = base_url
        self.bot_name = bot_name
        self.team_name = team_name
        self.screenshot_dir = screenshot_dir
        self.kind: ConversationKind = "personal"
        self._baseline = 0
        self._visited: set[str] = set()

    # --- locators -----------------------------------------------------------------------

    @property
    def bot_message_css(self) -> str:
        """Plain CSS (Chromium's own :has/:not) matching each bot message once."""
        avatar = f"span[role='img'][aria-label={_css_string(self.bot_name)}]"
        outside_dialogs = ":not([role='dialog'] *)"
        return (
            # Chat rows (avatar + body) and channel thread replies (header + body), but not
            # the typing indicator (bot avatar + dots, drawn next to the message box).
            f"div:has(> div > {avatar}):not([id^='fui-CardHeader'])"
            f":not(:has([data-lexical-editor])){outside_dialogs}, "
            # Posts the bot started in a channel (welcome cards, proactive messages).
            f"div[role='group']:has(> div > [id^='fui-CardHeader'] > div > {avatar})"
            f"{outside_dialogs}"
        )

    @property
    def bot_messages(self) -> Locator:
        """Every bot message in the open conversation, in document order."""
        return self.page.locator(self.bot_message_css)

    @property
    def composer(self) -> Locator:
        """The message box: in a chat the only one, in a channel "Start a new post"."""
        return self._composers.first

    @property
    def reply_composer(self) -> Locator:
        """In a channel, the reply box of the top (newest) post; in a chat, the message box."""
        return self._composers.nth(1).or_(self._composers.first).last

    @property
    def _composers(self) -> Locator:
        return self.page.locator(
            "[data-lexical-editor='true'][contenteditable='true']:not([role='dialog'] *)"
        )

    @property
    def task_dialog(self) -> Locator:
        """The modal the Playground opens for message-extension commands and task modules."""
        return self.page.get_by_role("dialog")

    def messages_containing(self, text: str | re.Pattern[str]) -> Locator:
        """Messages (anyone's) with this text: chat messages, channel posts and replies."""
        return self.page.locator(
            "div:has(> [aria-label='Message header']), div[role='group'], "
            "div:has(> div > span[role='img'][aria-label]):not([id^='fui-CardHeader'])"
            ":not([role='dialog'] *)"
        ).filter(has_text=text)

    async def last_bot_message(self) -> Locator:
        """The bot message that arrived last."""
        return self._by_seq(await self._newest_seq(""))

    async def last_card(self) -> Locator:
        """The Adaptive Card of the bot message that arrived last with one."""
        return (
            self._by_seq(await self._newest_seq(".ac-adaptiveCard"))
            .locator(".ac-adaptiveCard")
            .last
        )

    async def last_hero_card(self) -> Locator:
        """The hero card of the newest bot message with one (OAuth/sign-in cards render so)."""
        return (
            self._by_seq(await self._newest_seq("[data-tid='hero-card']"))
            .locator("[data-tid='hero-card']")
            .last
        )

    def _by_seq(self, seq: int) -> Locator:
        return self.page.locator(f"[data-e2e-seq='{seq}']")

    async def _newest_seq(self, containing_css: str) -> int:
        seq: int = await self.page.evaluate(
            """([css]) => {
              let best = 0;
              for (const e of document.querySelectorAll("[data-e2e-seq]")) {
                const n = Number(e.getAttribute("data-e2e-seq"));
                if (n > best && (!css || e.querySelector(css))) best = n;
              }
              return best;
            }""",
            [containing_css],
        )
        if not seq:
            raise AssertionError(
                f"no bot message{' with ' + containing_css if containing_css else ''}"
            )
        return seq

    # --- navigation -----------------------------------------------------------------------

    async def open(self) -> None:
        """Load the UI and wait until it reached the bot and the bot handled the install."""
        updates = self._conversation_update_logs()
        await self.page.goto(self.base_url)
        await self.composer.wait_for(state="visible", timeout=30_000)
        await self.page.evaluate(_TRACK_MESSAGES, [self.bot_message_css])
        # The Playground logs this once it could reach the bot's endpoint (it tries 15 s).
        await self.page.get_by_text("Connected.", exact=True).wait_for(timeout=30_000)
        await self._wait_for_more(updates, 0, within=10.0)
        self._visited.add("personal")
        self.kind = "personal"
        await self.mark()

    async def switch_to(self, kind: ConversationKind, channel: str = "General") -> None:
        """Open the personal chat, the group chat, or a channel of the team."""
        names = {
            "personal": "Personal Chat",
            "group": "Group Chat",
            "channel": f"{self.team_name} - {channel}",
        }
        updates = self._conversation_update_logs()
        before = await updates.count()
        await self.page.get_by_role("treeitem", name=names[kind], exact=True).click()
        await self.composer.wait_for(state="visible")
        # The first visit (per page) to a chat or to the team installs the bot there:
        # installationUpdate + conversationUpdate, to which the bot may reply.
        key = "team" if kind == "channel" else kind
        if key not in self._visited:
            self._visited.add(key)
            await self._wait_for_more(updates, before, within=10.0)
        self.kind = kind
        await self.mark()

    def _conversation_update_logs(self) -> Locator:
        return self.page.get_by_text(_CONVERSATION_UPDATE_LOG)

    async def _wait_for_more(self, locator: Locator, count: int, *, within: float) -> bool:
        """Wait (without failing) until locator matches more than count elements."""
        deadline = asyncio.get_running_loop().time() + within
        while await locator.count() <= count:
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.1)
        return True

    # --- sending ----------------------------------------------------------------------------

    async def mark(self) -> None:
        """Only bot messages arriving after now count for wait_for_bot_message()."""
        self._baseline = int(await self.page.evaluate("window.__e2eSeq ? window.__e2eSeq.n : 0"))

    async def insert_mention(self, name: str | None = None, *, box: Locator | None = None) -> None:
        """Type "@" in the message box and pick name (default: the bot) from the menu."""
        target = box or self.composer
        if not await target.evaluate("el => el.contains(document.activeElement)"):
            await target.click()
        await self.page.keyboard.type("@")
        # Each item's accessible name is the avatar's label plus the text: "Test Bot Test Bot".
        person = re.escape(name or self.bot_name)
        item = self.page.get_by_role("menuitem", name=re.compile(f"^(?:{person} )?{person}$"))
        await item.click()

    async def mention_candidates(self) -> list[str]:
        """At the caret, open the @ menu, read who it offers, and close it (Escape, Backspace)."""
        await self.page.keyboard.type("@")
        items = self.page.get_by_role("menuitem")
        await items.first.wait_for()
        names = []
        for label in await items.all_inner_texts():
            # An item's text is the avatar's initial, a line break, then the name.
            name = label.strip().splitlines()[-1].strip()
            if name and name not in names:
                names.append(name)
        await self.page.keyboard.press("Escape")
        await self.page.keyboard.press("Backspace")
        return names

    async def send(self, text: str, *, mention: str | None = None, reply: bool = False) -> None:
        """Type text (optionally after an @mention) and press Enter.

        In a group chat or channel the Playground only forwards messages that @mention the
        bot, as Teams does; pass mention=chat.bot_name there. In a channel, text starts a
        new post; reply=True answers in the thread of the top (newest) post instead.
        """
        box = self.reply_composer if reply else self.composer
        await box.click()
        if mention:
            await self.insert_mention(mention, box=box)
            text = " " + text
        for index, line in enumerate(text.split("\n")):
            if index:
                await self.page.keyboard.press("Shift+Enter")
            await self.page.keyboard.type(line)
        await self.mark()
        await self.page.keyboard.press("Enter")

    # --- reading ------------------------------------------------------------------------------

    async def wait_for_bot_message(
        self,
        containing: str | re.Pattern[str] | None = None,
        *,
        timeout: float = 15.0,  # noqa: ASYNC109 - seconds, like the rest of this helper's API
        include_earlier: bool = False,
    ) -> Locator:
        """The first bot message that arrived after the last send()/mark() (with
        include_earlier, any) whose visible text contains `containing` (str or regex)."""
        after = 0 if include_earlier else self._baseline
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            arrived: list[list[object]] = await self.page.evaluate(
                """([after]) => [...document.querySelectorAll("[data-e2e-seq]")]
                  .map(e => [Number(e.getAttribute("data-e2e-seq")), e.innerText])
                  .filter(([n]) => n > after)
                  .sort((a, b) => a[0] - b[0])""",
                [after],
            )
            for seq, text in arrived:
                if _matches(str(text), containing):
                    return self._by_seq(int(str(seq)))
            if asyncio.get_running_loop().time() > deadline:
                texts = [str(text) for _seq, text in arrived]
                raise AssertionError(
                    f"no bot message containing {containing!r} within {timeout}s; "
                    f"bot messages since the last send: {texts!r}"
                )
            await asyncio.sleep(0.1)

    # --- cards ------------------------------------------------------------------------------

    async def click_card_button(self, name: str, *, card: Locator | None = None) -> None:
        """Click an action of an Adaptive Card (default: the newest one) by its title.

        Action.Submit comes to the bot as a message whose value is the card data (inputs
        included); Action.Execute as an adaptiveCard/action invoke whose response card
        replaces this card in place (no new message: wait on the message's own locator,
        e.g. `await message.get_by_text("Done").wait_for()`); Action.OpenUrl calls
        window.open(url).
        """
        target = card or await self.last_card()
        button = target.get_by_role("button", name=name, exact=True).or_(
            target.get_by_role("link", name=name, exact=True)  # Action.OpenUrl
        )
        await self.mark()
        await button.first.click()

    async def fill_card_input(self, label: str, value: str, *, card: Locator | None = None) -> None:
        """Fill an Input.Text of a card, found by its label or placeholder."""
        target = card or await self.last_card()
        field_ = target.get_by_label(label, exact=True).or_(
            target.get_by_placeholder(label, exact=True)
        )
        await field_.first.fill(value)

    # --- OAuth cards ------------------------------------------------------------------------

    async def click_sign_in(
        self, *, card: Locator | None = None, title: str = "Sign in"
    ) -> SignInWindow:
        """Click the OAuth card's sign-in button; the Playground window.open()s its URL."""
        target = card or await self.last_hero_card()
        async with self.page.expect_popup() as popup_info:
            await _hero_button(target, title).click()
        popup = await popup_info.value
        urls: list[str] = await self.page.evaluate("window.__e2eOpenedUrls || []")
        return SignInWindow(url=urls[-1] if urls else popup.url, page=popup)

    async def redeem_code(self, code: str, *, card: Locator | None = None) -> str:
        """Click "Redeem code", type code into the browser prompt; return the hint shown.

        The Playground POSTs the code to its /api/oauth/redeem, which asks the real token
        service and only works with bot credentials; otherwise it sends the code to the bot
        as an ordinary user message ("Couldn't redeem validation code automatically ...").
        """
        target = card or await self.last_hero_card()

        async def answer(dialog: Dialog) -> None:
            await dialog.accept(code)

        self.page.once("dialog", answer)
        await self.mark()
        await _hero_button(target, "Redeem code").click()
        hint = self.page.get_by_text(_REDEEM_HINTS).last
        await hint.wait_for()
        return await hint.inner_text()

    # --- message extensions -----------------------------------------------------------------

    async def open_message_action(
        self, message: Locator, command_id: str = "", *, static_parameters: bool = False
    ) -> Locator:
        """Run an action command on a message ("..." > Action Command); return the dialog.

        The Playground ignores the manifest, so it asks for the command id and sends
        composeExtension/fetchTask (commandContext "message", messagePayload = the message);
        the task module the bot returns shows in the same dialog.
        """
        more = message.get_by_role("button", name=_MORE_BUTTON)
        if await more.count() == 0:  # chat rows keep the "..." in the header next to them
            more = message.locator("xpath=..").get_by_role("button", name=_MORE_BUTTON)
        await more.first.click()
        await self.page.get_by_role("menuitem", name="Action Command", exact=True).click()
        return await self._create_command(command_id, static_parameters=static_parameters)

    async def open_compose_action(
        self, command_id: str = "", *, static_parameters: bool = False
    ) -> Locator:
        """Run an action command from the message box's "+" menu; return the dialog."""
        await self.page.get_by_role("button", name="Trigger Message Extension App").first.click()
        await self.page.get_by_role("menuitem", name="Action Command", exact=True).click()
        return await self._create_command(command_id, static_parameters=static_parameters)

    async def _create_command(self, command_id: str, *, static_parameters: bool) -> Locator:
        dialog = self.task_dialog
        await dialog.get_by_placeholder("Input command id or leave blanks").fill(command_id)
        if static_parameters:
            await dialog.get_by_role("radio", name=re.compile("^Static list of parameters")).check()
        await self.mark()
        await dialog.get_by_role("button", name="Create", exact=True).click()
        return dialog

    async def close_dialog(self) -> None:
        await self.task_dialog.get_by_role("button", name="Close", exact=True).click()
        await self.task_dialog.wait_for(state="detached")

    # --- artifacts ----------------------------------------------------------------------------

    async def screenshot(self, name: str) -> Path:
        """Save a PNG of the whole window as test-artifacts/e2e/<name>.png."""
        path = self.screenshot_dir / f"{slug(name)}.png"
        await self.page.screenshot(path=path)
        return path


async def sign_in(chat: PlaygroundChat, shot: str) -> Locator:
    """Answer the OAuth card as a person does: the sandbox page, then the code in the chat."""
    await chat.wait_for_bot_message(re.compile("sign in", re.IGNORECASE))
    await chat.screenshot(f"{shot}-signin-card")
    window = await chat.click_sign_in()
    assert "/sandbox/token/signin/" in window.url
    page = window.page
    await page.get_by_role("heading", name="Sign in as …").wait_for()
    await page.screenshot(path=str(chat.screenshot_dir / f"{shot}-sandbox-page.png"))
    await page.get_by_role("button", name="Sign in").click()
    code = (await page.locator("#code").inner_text()).strip()
    assert re.fullmatch(r"\d{6}", code)
    await page.screenshot(path=str(chat.screenshot_dir / f"{shot}-sandbox-code.png"))
    await page.close()
    # Group chats and channels only deliver messages that @mention the bot, codes included.
    await chat.send(code, mention=None if chat.kind == "personal" else chat.bot_name)
    return await chat.wait_for_bot_message("Meeting created", timeout=20)


def _hero_button(card: Locator, title: str) -> Locator:
    # By text: a button's accessible name may include its tooltip ("Sign in This is a card
    # action with a link").
    return card.locator("button").filter(has_text=re.compile(rf"^\s*{re.escape(title)}\s*$"))


def _css_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _matches(text: str, containing: str | re.Pattern[str] | None) -> bool:
    if containing is None:
        return True
    if isinstance(containing, str):
        return containing in text
    return containing.search(text) is not None
