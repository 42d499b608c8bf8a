"""Fixtures that run MeetBot, the Agents Playground and headless Chromium for e2e tests."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio
from playground import (
    CHROMIUM_ARGS,
    CHROMIUM_PATH,
    E2E_ARTIFACTS_DIR,
    LOG_DIR,
    BotProcess,
    PlaygroundChat,
    PlaygroundProcess,
    new_playground_context,
    prerequisite_problems,
    slug,
    start_bot,
    start_playground,
)

if TYPE_CHECKING:
    from playwright.async_api import Browser, ConsoleMessage, Page

_HERE = Path(__file__).resolve().parent
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
_missing: list[str] = []


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e is an e2e test (`-m "not e2e"` deselects them)."""
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item so fixtures can tell whether the test failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _missing:
        terminalreporter.section("e2e tests could not run", sep="!", red=True, bold=True)
        for problem in _missing:
            terminalreporter.line(f"  - {problem}", red=True)


@pytest.fixture(scope="session")
def e2e_prerequisites() -> None:
    """Skip (or, with CI=true, fail) loudly when Chromium, the Playground or app.py is missing."""
    for stale in E2E_ARTIFACTS_DIR.glob("FAILED-*.png"):  # from an earlier session
        stale.unlink(missing_ok=True)
    problems = prerequisite_problems()
    if not problems:
        return
    _missing[:] = problems
    reason = "E2E PREREQUISITES MISSING: " + "; ".join(problems)
    if _in_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def meetbot(
    e2e_prerequisites: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BotProcess]:
    """`python app.py` on a free 127.0.0.1 port, healthy; output in test-artifacts/e2e/logs.

    Its state (SQLite file and key) goes to a fresh directory, not the developer's data/.
    """
    state = tmp_path_factory.mktemp("meetbot-state")
    bot = start_bot(LOG_DIR / "bot.log", extra_env={"SQLITE_PATH": str(state / "meetbot.sqlite3")})
    try:
        yield bot
    finally:
        bot.stop()


@pytest.fixture
def playground_channel_id() -> str | None:
    """The Playground's --channel-id; override this fixture (e.g. "emulator") per module."""
    return None


@pytest.fixture
def playground(
    meetbot: BotProcess,
    playground_channel_id: str | None,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> Iterator[PlaygroundProcess]:
    """A fresh Agents Playground per test (own conversations), pointed at the bot."""
    server = start_playground(
        meetbot.messages_endpoint,
        log_dir=LOG_DIR,
        name=slug(request.node.nodeid),
        workdir=tmp_path / "playground",
        channel_id=playground_channel_id,
    )
    try:
        yield server
    finally:
        server.stop()


@pytest_asyncio.fixture
async def browser(e2e_prerequisites: None) -> AsyncIterator[Browser]:
    """Debian's headless Chromium driven by Playwright (its own browser builds aren't used)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=str(CHROMIUM_PATH), args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest_asyncio.fixture
async def playground_page(
    browser: Browser, playground: PlaygroundProcess, request: pytest.FixtureRequest
) -> AsyncIterator[Page]:
    """A tab for the Playground UI; on failure a screenshot is kept, always the console log."""
    context = await new_playground_context(browser)
    page = await context.new_page()
    page.set_default_timeout(15_000)
    console: list[str] = []

    def record(message: ConsoleMessage) -> None:
        console.append(f"{message.type}: {message.text}")

    page.on("console", record)
    name = slug(request.node.nodeid)
    try:
        yield page
    finally:
        reports = request.node.stash.get(_REPORTS, {})
        if any(report.failed for report in reports.values()) and not page.is_closed():
            E2E_ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=E2E_ARTIFACTS_DIR / f"FAILED-{name}.png")
        await context.close()
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        (LOG_DIR / f"{name}.browser-console.log").write_text("\n".join(console) + "\n")


@pytest_asyncio.fixture
async def chat(playground_page: Page, playground: PlaygroundProcess) -> PlaygroundChat:
    """The Playground opened on the personal chat with the bot, install events handled."""
    helper = PlaygroundChat(playground_page, playground.url)
    await helper.open()
    return helper
