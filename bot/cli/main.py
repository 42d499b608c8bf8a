"""The `meetbot` command line: `meetbot run` serves the bot, `meetbot package` builds the app."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Sequence

from aiohttp import web
from pydantic import ValidationError

from bot.auth.keys import KeyFileError
from bot.cli.package import add_package_arguments, run_package
from bot.settings import Settings
from bot.storage import StorageError
from bot.teams.app import create_app


def load_settings() -> Settings:
    """Read the configuration, or exit naming each bad variable (never echoing its value)."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_input=False, include_url=False):
            where = ".".join(str(part) for part in error["loc"]) or "configuration"
            lines.append(f"  {where}: {error['msg']}")
        sys.stderr.write("MeetBot cannot start, the configuration is invalid:\n")
        sys.stderr.write("\n".join(lines) + "\n")
        raise SystemExit(2) from None


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


# Net allocations of container objects between two runs of the cycle collector's youngest
# generation (CPython's default is 700). The turns in flight keep a few thousand objects
# alive, so at 700 it ran every few turns, scanning objects that reference counting frees
# anyway: 0.13 ms of CPU a form turn, 0.006 ms at 7000 (bench/README.md). The little cyclic
# garbage a turn leaves (msrest's deserializer, 9 objects) is still collected.
GC_YOUNG_THRESHOLD = 7000


def run(settings: Settings | None = None) -> None:
    """Serve the bot until SIGINT or SIGTERM, then shut down gracefully."""
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    try:
        web.run_app(
            create_app(settings),
            host=settings.bind_host,
            port=settings.port,
            access_log=(
                logging.getLogger("aiohttp.access") if settings.log_level == "DEBUG" else None
            ),
            shutdown_timeout=10,
            print=None,
        )
    except (StorageError, KeyFileError) as error:
        # The store or the signing key cannot be used: one line (path, cause, fix), no
        # traceback. Raised by create_app (the key) or by the store's start-up check.
        sys.stderr.write(f"MeetBot cannot start: {error}\n")
        raise SystemExit(1) from None


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="meetbot", description=__doc__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="serve the bot (configuration from the environment and .env)")
    add_package_arguments(
        commands.add_parser("package", help="build the Teams app package (appPackage.zip)")
    )
    args = parser.parse_args(argv)
    if args.command in (None, "run"):
        run()
    elif args.command == "package":
        raise SystemExit(run_package(args))
    else:  # pragma: no cover - argparse rejects unknown commands first
        parser.error(f"unknown command {args.command}")
