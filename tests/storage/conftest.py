"""Storage fixtures: an opened store of each kind, Azurite, child processes sharing one store."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path

import pytest

from bot.storage import ClosableStorage, SqliteStorage, StrictMemoryStorage
from bot.storage.blob import AzureBlobStorage
from tests.replicas import MISSING, Azurite, drop_container, shared_azurite, unique_container

# The contract suite runs against each of these; "blob" is AzureBlobStorage on Azurite.
STORE_KINDS = ["memory", "sqlite", "blob"]

_CHILD_SCRIPT = Path(__file__).with_name("storage_child.py")
_REPO_ROOT = Path(__file__).resolve().parents[2]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if MISSING:
        terminalreporter.section("blob storage tests could not run", sep="!", red=True, bold=True)
        for problem in dict.fromkeys(MISSING):
            terminalreporter.line(f"  - {problem}", red=True)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """Azurite for the session; skips the test (fails it with CI=true) if it is not installed."""
    with shared_azurite(tmp_path_factory) as running:
        yield running


@pytest.fixture(params=STORE_KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ClosableStorage]:
    opened: ClosableStorage
    if request.param == "memory":
        opened = StrictMemoryStorage()
    elif request.param == "sqlite":
        opened = SqliteStorage(tmp_path / "state" / "bot.sqlite3")
    elif request.param == "blob":
        running: Azurite = request.getfixturevalue("azurite")
        opened = AzureBlobStorage(running.connection_string, unique_container("contract"))
    else:
        raise AssertionError(f"unknown store kind {request.param!r}")
    async with opened:
        yield opened
    if isinstance(opened, AzureBlobStorage):
        await drop_container(request.getfixturevalue("azurite"), opened.container)


class Children:
    """Runs `storage_child.py` in separate OS processes and talks to them line by line."""

    def __init__(self) -> None:
        self.started: list[asyncio.subprocess.Process] = []

    async def spawn(
        self, *args: object, env: Mapping[str, str] | None = None
    ) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(_CHILD_SCRIPT),
            *(str(arg) for arg in args),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=_REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(_REPO_ROOT), **(env or {})},
        )
        self.started.append(process)
        return process

    @staticmethod
    async def read_line(process: asyncio.subprocess.Process) -> str:
        assert process.stdout is not None
        async with asyncio.timeout(30):
            line = await process.stdout.readline()
        return line.decode().strip()

    @staticmethod
    async def send_line(process: asyncio.subprocess.Process, line: str) -> None:
        assert process.stdin is not None
        process.stdin.write(line.encode() + b"\n")
        await process.stdin.drain()


@pytest.fixture
async def children() -> AsyncIterator[Children]:
    """A `Children` whose processes still running at teardown are killed."""
    spawned = Children()
    yield spawned
    for process in spawned.started:
        if process.returncode is None:
            process.kill()
        await process.wait()
