"""Test helpers that run real processes: Azurite (Blob Storage emulator) and MeetBot replicas."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob.aio import BlobServiceClient  # type: ignore[import-untyped]

from tests.flows import FakeTokenService, sandbox_token

REPO_ROOT = Path(__file__).resolve().parents[1]
AZURITE_BLOB = REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"
LOOPBACK = "127.0.0.1"

# Azurite's well-known development account (public, documented by Microsoft; not a secret).
DEV_ACCOUNT = "devstoreaccount1"
DEV_ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
_AZURITE_MEMORY_MB = 256
_START_ATTEMPTS = 3
_BOT_STARTUP_S = 60

# Problems found while starting the session's external tools, for the terminal summary.
MISSING: list[str] = []


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def azurite_connection_string(port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_ACCOUNT_KEY};"
        f"BlobEndpoint=http://{LOOPBACK}:{port}/{DEV_ACCOUNT};"
    )


def unique_container(prefix: str) -> str:
    """A fresh container name, so tests sharing one Azurite never see each other's blobs."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


async def drop_container(azurite: Azurite, container: str) -> None:
    """Delete a test's container, so a long session does not fill Azurite's memory."""
    async with BlobServiceClient.from_connection_string(azurite.connection_string) as service:
        with contextlib.suppress(ResourceNotFoundError):
            await service.delete_container(container)


async def blob_keys(azurite: Azurite, container: str, prefix: str = "") -> list[str]:
    """The names of the blobs in `container` starting with `prefix`."""
    async with BlobServiceClient.from_connection_string(azurite.connection_string) as service:
        client = service.get_container_client(container)
        return [blob.name async for blob in client.list_blobs(name_starts_with=prefix or None)]


def _stop_group(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the process group the child leads, then SIGKILL it if it lingers.

    Signals go only while the leader is unreaped, so its id cannot have been reused.
    """
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)


@dataclass
class Azurite:
    """`azurite-blob` listening on 127.0.0.1:port, in memory, in its own process group."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def connection_string(self) -> str:
        return azurite_connection_string(self.port)

    def stop(self) -> None:
        _stop_group(self.process, grace=10)


def _azurite_problem() -> str | None:
    if shutil.which("node") is None:
        return "`node` is not on PATH (Azurite runs on Node.js)"
    if not AZURITE_BLOB.exists():
        return (
            f"{AZURITE_BLOB.relative_to(REPO_ROOT)} is missing: run `npm ci` in {REPO_ROOT} "
            "(azurite is a devDependency in package.json)"
        )
    return None


def _start_azurite_once(workdir: Path, timeout: float) -> Azurite | None:
    """Start Azurite on a fresh port; None if that port was taken meanwhile."""
    port = free_port()
    log_path = workdir / f"azurite-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(AZURITE_BLOB),
                # Without it, writes from azure-storage-blob 12.7 (botbuilder-azure's pin) fail
                # with 500 FeatureNotSupported: it sends headers Azurite does not implement.
                "--loose",
                "--skipApiVersionCheck",  # an SDK newer than this Azurite must not fail here
                "--disableTelemetry",
                "--inMemoryPersistence",
                "--extentMemoryLimit",
                str(_AZURITE_MEMORY_MB),
                "--blobHost",
                LOOPBACK,
                "--blobPort",
                str(port),
            ],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    azurite = Azurite(process, port, log_path)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                output = log_path.read_text(errors="replace")
                if "EADDRINUSE" in output:
                    return None
                raise RuntimeError(f"Azurite exited with code {process.returncode}:\n{output}")
            with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 0.2):
                return azurite
            time.sleep(0.1)
        raise TimeoutError(f"Azurite did not listen on {LOOPBACK}:{port} within {timeout:.0f}s")
    except BaseException:
        azurite.stop()
        raise


def start_azurite(workdir: Path, *, timeout: float = 30.0) -> Azurite:
    """Start Azurite and wait until it accepts connections; skip or fail if it is missing."""
    problem = _azurite_problem()
    if problem is not None:
        MISSING.append(problem)
        reason = f"AZURITE IS MISSING, blob storage tests cannot run: {problem}"
        if in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    workdir.mkdir(parents=True, exist_ok=True)
    for _ in range(_START_ATTEMPTS):
        azurite = _start_azurite_once(workdir, timeout)
        if azurite is not None:
            return azurite
    raise RuntimeError(f"Azurite found no free port in {_START_ATTEMPTS} attempts")


@dataclass
class _Shared:
    azurite: Azurite | None = None
    users: int = 0


_shared = _Shared()


@contextlib.contextmanager
def shared_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """One Azurite for every session fixture that asks, stopped when the last one is done."""
    if _shared.azurite is None:
        _shared.azurite = start_azurite(tmp_path_factory.mktemp("azurite"))
    _shared.users += 1
    try:
        yield _shared.azurite
    finally:
        _shared.users -= 1
        if _shared.users == 0:
            azurite, _shared.azurite = _shared.azurite, None
            azurite.stop()


@dataclass
class BotReplica:
    """`python app.py` on 127.0.0.1:port in local mode, in its own process group."""

    process: asyncio.subprocess.Process
    port: int
    log_path: Path
    session: aiohttp.ClientSession

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    async def send(self, body: Mapping[str, Any]) -> aiohttp.ClientResponse:
        """POST one activity; the bot has answered (and sent its replies) when this returns."""
        async with self.session.post(f"{self.url}/api/messages", json=body) as response:
            await response.read()
        return response

    async def wait_ready(self) -> None:
        """Poll /healthz until it answers 200; fail with the log if the process ends first."""
        try:
            async with asyncio.timeout(_BOT_STARTUP_S):
                while True:
                    if await self._healthy():
                        return
                    await asyncio.sleep(0.1)
        except TimeoutError:
            raise TimeoutError(
                f"{self.url}/healthz not ready in {_BOT_STARTUP_S}s:\n{self.log_tail()}"
            ) from None

    async def _healthy(self) -> bool:
        if self.process.returncode is not None:
            raise RuntimeError(
                f"the bot exited with code {self.process.returncode}:\n{self.log_tail()}"
            )
        try:
            async with self.session.get(f"{self.url}/healthz") as response:
                return response.status == 200
        except aiohttp.ClientError:
            return False

    async def kill(self) -> None:
        """SIGKILL: the process ends without any shutdown work, as in a crash."""
        await self._signal_and_wait(signal.SIGKILL, grace=10)

    async def stop(self, grace: float = 10.0) -> None:
        """SIGTERM (graceful shutdown), then SIGKILL after `grace` seconds."""
        try:
            await self._signal_and_wait(signal.SIGTERM, grace)
        except TimeoutError:
            await self._signal_and_wait(signal.SIGKILL, grace)

    async def _signal_and_wait(self, sig: signal.Signals, grace: float) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
        async with asyncio.timeout(grace):
            await self.process.wait()


async def start_replica(
    env: Mapping[str, str], log_path: Path, session: aiohttp.ClientSession
) -> BotReplica:
    """Start `python app.py` with `env` on a free loopback port and wait until it is ready."""
    port = free_port()
    child_env = {
        key: value
        for key, value in os.environ.items()
        # The bot reads these from its environment: none may leak in from the developer's.
        if not key.upper().startswith(("MICROSOFTAPP", "AZURE_STORAGE", "STORAGE", "SQLITE"))
    }
    child_env.update(
        {
            "PORT": str(port),
            "HOST": LOOPBACK,
            "MicrosoftAppId": "",  # local mode: no inbound auth, embedded Graph sandbox
            "MicrosoftAppPassword": "",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
    )
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "app.py",
            cwd=REPO_ROOT,
            env=child_env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    replica = BotReplica(process, port, log_path, session)
    try:
        await replica.wait_ready()
    except BaseException:
        await replica.stop()
        raise
    return replica


@contextlib.asynccontextmanager
async def replicas(
    count: int, env: Mapping[str, str], log_dir: Path
) -> AsyncIterator[list[BotReplica]]:
    """`count` bot processes with the same configuration, started together, always stopped."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        started = await asyncio.gather(
            *(
                start_replica(env, log_dir / f"replica-{index}.log", session)
                for index in range(count)
            ),
            return_exceptions=True,
        )
        running = [replica for replica in started if isinstance(replica, BotReplica)]
        try:
            for outcome in started:
                if isinstance(outcome, BaseException):
                    raise outcome
            yield running
        finally:
            await asyncio.gather(*(replica.stop() for replica in running))


def shared_sandbox_token(state_dir: Path) -> str:
    """A Graph token every replica accepts: signed with the key they share beside SQLITE_PATH."""
    return sandbox_token((state_dir / "meetbot.key").read_bytes())


def blob_env(
    azurite: Azurite, container: str, token_service: FakeTokenService, state_dir: Path
) -> dict[str, str]:
    """Settings for replicas sharing one Azure Blob container (Azurite) and one signing key."""
    return {
        "STORAGE": "blob",
        "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "AZURE_STORAGE_CONTAINER": container,
        "OAUTH_URL": token_service.url,
        # Not a database with STORAGE=blob: the directory holds the signing key they share.
        "SQLITE_PATH": str(state_dir / "meetbot.sqlite3"),
    }
