"""Start, watch and stop the bot processes under test (each in its own process group)."""

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp

HOST = "127.0.0.1"
STOP_TIMEOUT_S = 10.0
READY_POLL_S = 0.02
# Process groups still alive; the synchronous safety net kills them if the run dies.
_LIVE_GROUPS: set[int] = set()


class BenchError(RuntimeError):
    """A target could not be started or did not become ready."""


@dataclass(slots=True)
class BotProcess:
    """A running target; its pid is also its process-group id."""

    name: str
    process: asyncio.subprocess.Process
    log_path: Path
    # perf_counter() just before the process was started: readiness is measured from here.
    started_at: float

    @property
    def pgid(self) -> int:
        return self.process.pid


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def py_spy_command(pid: int, output: Path, fmt: str) -> list[str]:
    """py-spy sampling a running process (and its children) until it gets Ctrl-C."""
    venv_bin = Path(sys.executable).parent / "py-spy"
    py_spy = str(venv_bin) if venv_bin.exists() else "py-spy"
    return [
        py_spy,
        "record",
        "--pid",
        str(pid),
        "--subprocesses",
        "--format",
        fmt,
        "--output",
        str(output),
    ]


async def spawn(
    name: str,
    argv: list[str],
    env: Mapping[str, str],
    cwd: Path,
    log_path: Path,
    cpus: set[int] | None,
) -> BotProcess:
    """Start a target in a new session with its output going to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        started_at = time.perf_counter()
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=cwd,
                env={**os.environ, **env},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as error:
            hint = " (pip install py-spy)" if "py-spy" in argv[0] else ""
            raise BenchError(f"cannot start {argv[0]}: {error}{hint}") from error
    _LIVE_GROUPS.add(process.pid)
    if cpus:
        # Threads the bot starts later inherit this mask, so setting it after exec is enough.
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(process.pid, cpus)
    return BotProcess(name, process, log_path, started_at)


async def wait_ready(
    bot: BotProcess,
    session: aiohttp.ClientSession,
    url: str,
    expected_status: int | None,
    timeout_s: float,
) -> float:
    """Poll `url` until it answers (with `expected_status` if given); returns the seconds from
    process start to the first such answer."""
    deadline = bot.started_at + timeout_s
    last = "no answer"
    while time.perf_counter() < deadline:
        if bot.process.returncode is not None:
            raise BenchError(
                f"exited with code {bot.process.returncode} before it was ready\n"
                + log_tail(bot.log_path)
            )
        status = await _probe(session, url)
        if status is not None and (expected_status is None or status == expected_status):
            return time.perf_counter() - bot.started_at
        last = "no answer" if status is None else f"HTTP {status}"
        await asyncio.sleep(READY_POLL_S)
    raise BenchError(
        f"not ready after {timeout_s:.0f} s (GET {url}: {last})\n" + log_tail(bot.log_path)
    )


async def _probe(session: aiohttp.ClientSession, url: str) -> int | None:
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=1.0)) as response:
            await response.read()
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return None


def log_tail(path: Path, lines: int = 30) -> str:
    """The last lines of a target's log, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    tail = "\n".join(text.splitlines()[-lines:])
    return f"--- last lines of {path} ---\n{tail}"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def stop(bot: BotProcess, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """Ctrl-C the whole group (aiohttp shuts down gracefully, py-spy writes out), then kill."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(bot.pgid, signal.SIGINT)
    deadline = time.perf_counter() + timeout_s
    while _group_alive(bot.pgid) and time.perf_counter() < deadline:
        if bot.process.returncode is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(bot.process.wait(), timeout=0.1)
        else:
            await asyncio.sleep(0.1)
    if _group_alive(bot.pgid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(bot.pgid, signal.SIGKILL)
    await bot.process.wait()
    _LIVE_GROUPS.discard(bot.pgid)


def kill_leftovers() -> None:
    """Synchronous last resort for groups an interrupted run could not stop gracefully."""
    for pgid in list(_LIVE_GROUPS):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        _LIVE_GROUPS.discard(pgid)
