"""Benchmark the stock echo bot and MeetBot side by side against a fake Teams channel."""

import argparse
import asyncio
import itertools
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench import fake_channel, fake_services, memory, procs, report
from bench.cpu import CpuMeter, CpuUsage
from bench.fake_channel import FakeChannel
from bench.fake_services import FakeGraph, FakeTokenService
from bench.loadgen import LoadPlan, LoadResult, run_load
from bench.targets import (
    BASELINE,
    DEFAULT_TARGETS,
    MEET_FORM,
    MEET_TYPED,
    REPLY_TYPE,
    TARGETS,
    TENANT_ID,
    Target,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUEST_TIMEOUT_S = 10.0
DUPLICATE_GRACE_S = 0.3
# Teams message ids are millisecond timestamps; any unique numbers would do.
FIRST_ACTIVITY_ID = 1_700_000_000_000
PROFILE_SUFFIX = {"flamegraph": "svg", "speedscope": "speedscope.json", "raw": "txt"}


@dataclass(frozen=True, slots=True)
class Settings:
    """Parsed command-line options."""

    targets: list[Target]
    concurrency: int
    duration_s: float
    max_requests: int | None
    warmup_s: float
    json_path: Path | None
    profiled: frozenset[str]
    profile_format: str
    pin: bool
    results_dir: Path
    ready_timeout_s: float
    settle_s: float
    memory_turns: int | None


@dataclass(frozen=True, slots=True)
class Harness:
    """What every target run shares: the fakes, the client session, activity ids."""

    channel: FakeChannel
    service_url: str
    tokens: FakeTokenService
    token_url: str
    graph: FakeGraph
    graph_url: str
    session: aiohttp.ClientSession
    activity_ids: Iterator[int]


def _bounded(kind: Callable[[str], float], low: float, high: float) -> Callable[[str], float]:
    """An argparse type: `kind` parsed from the text, rejected outside [low, high]."""

    def parse(text: str) -> float:
        value = kind(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        epilog="Targets: "
        + "; ".join(f"{name}: {target.description}" for name, target in TARGETS.items()),
    )
    parser.add_argument(
        "--targets",
        nargs="+",
        choices=list(TARGETS),
        default=None,
        metavar="TARGET",
        help=f"targets to run, in this order (default: {' '.join(DEFAULT_TARGETS)}; with "
        f"--memory: {MEET_TYPED} {MEET_FORM})",
    )
    parser.add_argument(
        "--concurrency",
        type=_bounded(int, 1, 512),
        default=16,
        help="concurrent virtual users, one conversation each (default 16)",
    )
    parser.add_argument(
        "--duration",
        type=_bounded(float, 0.1, 3600),
        default=None,
        help="seconds of measured load per target (default 20; 600 with --requests)",
    )
    parser.add_argument(
        "--requests",
        type=_bounded(int, 1, 10_000_000),
        default=None,
        help="stop each target after this many requests (whichever of this and --duration "
        "comes first)",
    )
    parser.add_argument(
        "--warmup",
        type=_bounded(float, 0, 600),
        default=3.0,
        help="seconds of unmeasured load before measuring (default 3)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    parser.add_argument(
        "--profile",
        nargs="*",
        choices=list(TARGETS),
        metavar="TARGET",
        help="sample targets with py-spy during the measured window and write a profile to "
        "the results dir (no names: every MeetBot target)",
    )
    parser.add_argument(
        "--profile-format",
        choices=list(PROFILE_SUFFIX),
        default="flamegraph",
        help="py-spy output format (default flamegraph, an SVG)",
    )
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="pin the harness to CPU 0 and the bot to the other CPUs (default on)",
    )
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=REPO_ROOT / "bench" / "results",
        help="where bot logs and profiles go (default bench/results)",
    )
    parser.add_argument(
        "--ready-timeout",
        type=_bounded(float, 1, 600),
        default=60.0,
        help="seconds a target may take to become ready (default 60)",
    )
    parser.add_argument(
        "--memory",
        nargs="?",
        type=_bounded(int, 100, 10_000_000),
        const=20_000,
        default=None,
        metavar="TURNS",
        help="instead of the timed window, drive each target for TURNS turns (default 20000) "
        "and report the bot's resident memory over them and its slope",
    )
    parser.add_argument(
        "--settle",
        type=_bounded(float, 0, 120),
        default=5.0,
        help="seconds to wait for replies still in flight after the load (default 5)",
    )
    return parser


def parse_settings(argv: Sequence[str] | None = None) -> Settings:
    """Turn the command line into Settings."""
    args = build_parser().parse_args(argv)
    names = args.targets or ((MEET_TYPED, MEET_FORM) if args.memory else DEFAULT_TARGETS)
    targets = [TARGETS[name] for name in dict.fromkeys(names)]
    if args.profile == []:
        profiled = frozenset(target.name for target in targets if target.is_meetbot)
    else:
        profiled = frozenset(args.profile or ())
    duration = args.duration if args.duration is not None else (600.0 if args.requests else 20.0)
    return Settings(
        targets=targets,
        concurrency=args.concurrency,
        duration_s=duration,
        max_requests=args.requests,
        warmup_s=args.warmup,
        json_path=args.json,
        profiled=profiled,
        profile_format=args.profile_format,
        pin=args.pin and (os.cpu_count() or 1) > 1 and hasattr(os, "sched_setaffinity"),
        results_dir=args.results_dir,
        ready_timeout_s=args.ready_timeout,
        settle_s=args.settle,
        memory_turns=args.memory,
    )


def progress(message: str) -> None:
    """Progress goes to stderr so stdout holds only the results table."""
    print(message, file=sys.stderr, flush=True)


def bot_cpus(settings: Settings) -> set[int] | None:
    """CPUs for the bots when pinning: all but CPU 0, which the harness keeps."""
    if not settings.pin:
        return None
    return set(range(1, os.cpu_count() or 1))


def target_command(target: Target, port: int) -> list[str]:
    """The target's argv for this port."""
    return [part.format(python=sys.executable, port=port) for part in target.argv]


def target_env(target: Target, port: int, harness: Harness, data_dir: str) -> dict[str, str]:
    """The target's environment, with the harness's fakes and a fresh data directory."""
    values = {
        "port": port,
        "token_url": harness.token_url,
        "graph_url": harness.graph_url,
        "data_dir": data_dir,
    }
    return {key: value.format(**values) for key, value in target.env.items()}


def profile_path(target: Target, settings: Settings) -> Path | None:
    """Where the target's profile goes, or None if it is not profiled."""
    if target.name not in settings.profiled:
        return None
    return settings.results_dir / f"{target.name}.{PROFILE_SUFFIX[settings.profile_format]}"


def conversation_ids(target: Target, phase: str, settings: Settings) -> list[str]:
    """One Teams-style conversation per virtual user, distinct per target and phase."""
    return [f"a:bench-{target.name}-{phase}-{user:03d}" for user in range(settings.concurrency)]


def load_plan(
    target: Target, port: int, phase: str, harness: Harness, settings: Settings
) -> LoadPlan:
    """A closed-loop plan for one phase: warmup is time-boxed only, measuring may be counted."""
    measuring = phase == "measure"
    max_requests: int | None
    if measuring and settings.memory_turns is not None:
        duration_s, max_requests = 24 * 3600.0, settings.memory_turns
    elif measuring:
        duration_s, max_requests = settings.duration_s, settings.max_requests
    else:
        duration_s, max_requests = settings.warmup_s, None
    return LoadPlan(
        url=f"http://{procs.HOST}:{port}/api/messages",
        service_url=harness.service_url,
        build=target.workload.build,
        conversation_ids=conversation_ids(target, phase, settings),
        duration_s=duration_s,
        max_requests=max_requests,
        activity_ids=harness.activity_ids,
    )


async def wait_for_replies(
    channel: FakeChannel, load: LoadResult, method: str, timeout_s: float
) -> None:
    """Give a bot that answers HTTP before replying time to deliver, then catch duplicates."""
    conversations = sorted({sent.conversation_id for sent in load.sent})
    await channel.wait_for(conversations, method, REPLY_TYPE, len(load.sent), timeout_s)
    await asyncio.sleep(DUPLICATE_GRACE_S)


async def start_profiler(
    target: Target, bot: procs.BotProcess, settings: Settings
) -> procs.BotProcess | None:
    """Attach py-spy to a profiled target for the measured window only (not start-up)."""
    output = profile_path(target, settings)
    if output is None:
        return None
    output.unlink(missing_ok=True)
    return await procs.spawn(
        "py-spy",
        procs.py_spy_command(bot.process.pid, output, settings.profile_format),
        {},
        REPO_ROOT,
        settings.results_dir / f"{target.name}.py-spy.log",
        # On the harness's CPU, so sampling does not take time from the bot.
        {0} if settings.pin else None,
    )


def written_profile(target: Target, settings: Settings) -> Path | None:
    """The profile py-spy wrote for this target, if any (a failed attach leaves none)."""
    output = profile_path(target, settings)
    if output is None:
        return None
    if output.exists():
        return output
    log = settings.results_dir / f"{target.name}.py-spy.log"
    progress(f"{target.name}: py-spy wrote no profile\n{procs.log_tail(log)}")
    return None


async def measure(
    target: Target, port: int, bot: procs.BotProcess, harness: Harness, settings: Settings
) -> tuple[LoadResult, CpuUsage, memory.MemoryTrace | None]:
    """Warm up, then run the measured phase; returns the load, the CPU it cost and, in memory
    mode, the bot's resident memory over it."""
    if settings.warmup_s > 0:
        progress(f"{target.name}: warming up for {settings.warmup_s:g} s")
        await run_load(harness.session, load_plan(target, port, "warmup", harness, settings))
    what = f"{settings.memory_turns} turns" if settings.memory_turns else "measuring"
    progress(f"{target.name}: {what} with {settings.concurrency} concurrent conversations")
    meter = CpuMeter(bot.pgid)
    profiler = await start_profiler(target, bot, settings)
    load = LoadResult()
    sampler = (
        memory.RssSampler(bot.pgid, lambda: len(load.sent))
        if settings.memory_turns is not None
        else None
    )
    try:
        if sampler is not None:
            sampler.start()
        await run_load(harness.session, load_plan(target, port, "measure", harness, settings), load)
    finally:
        trace = await sampler.stop() if sampler is not None else None
        if profiler is not None:
            await procs.stop(profiler)
    cpu = meter.stop()
    await wait_for_replies(harness.channel, load, target.workload.reply_method, settings.settle_s)
    return load, cpu, trace


async def bench_target(target: Target, harness: Harness, settings: Settings) -> report.TargetResult:
    """Start one target, load it, stop it, and summarize what happened."""
    port = procs.free_port()
    data_dir = tempfile.mkdtemp(prefix=f"meetbot-bench-{target.name}-")
    try:
        bot = await procs.spawn(
            target.name,
            target_command(target, port),
            target_env(target, port, harness, data_dir),
            REPO_ROOT,
            settings.results_dir / f"{target.name}.log",
            bot_cpus(settings),
        )
        try:
            ready_url = f"http://{procs.HOST}:{port}{target.ready_path}"
            ready_s = await procs.wait_ready(
                bot, harness.session, ready_url, target.ready_status, settings.ready_timeout_s
            )
            progress(f"{target.name}: ready on port {port} {ready_s:.2f} s after process start")
            load, cpu, trace = await measure(target, port, bot, harness, settings)
        finally:
            await procs.stop(bot)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    profile = written_profile(target, settings)
    return report.summarize(
        target.name,
        load,
        report.Fakes(harness.channel, harness.graph),
        target.workload,
        cpu,
        profile,
        ready_s=ready_s,
        memory=trace,
    )


async def bench_all(settings: Settings) -> tuple[list[report.TargetResult], dict[str, str]]:
    """Serve the fake channel in this process and run every target in turn.

    Returns the results and, for targets that could not be started, why.
    """
    main_task = asyncio.current_task()
    if main_task is not None:
        # SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C, so the bots are stopped cleanly.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    channel = FakeChannel()
    tokens = FakeTokenService(TENANT_ID)
    graph = FakeGraph(tokens, TENANT_ID)
    runner, service_url = await fake_channel.start(channel)
    services_runner, token_url, graph_url = await fake_services.start(tokens, graph)
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            harness = Harness(
                channel,
                service_url,
                tokens,
                token_url,
                graph,
                graph_url,
                session,
                itertools.count(FIRST_ACTIVITY_ID),
            )
            results: list[report.TargetResult] = []
            failures: dict[str, str] = {}
            for target in settings.targets:
                try:
                    results.append(await bench_target(target, harness, settings))
                except procs.BenchError as error:
                    progress(f"{target.name}: {error}")
                    failures[target.name] = str(error).split("\n", 1)[0]
            return results, failures
    finally:
        await services_runner.cleanup()
        await runner.cleanup()


def json_settings(settings: Settings) -> dict[str, object]:
    """The options worth recording next to the numbers."""
    return {
        "targets": [target.name for target in settings.targets],
        "concurrency": settings.concurrency,
        "duration_s": settings.duration_s,
        "max_requests": settings.max_requests,
        "warmup_s": settings.warmup_s,
        "pinned": settings.pin,
        "profiled": sorted(settings.profiled),
        "memory_turns": settings.memory_turns,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; exit status 1 if a target failed verification, 2 if one did not start."""
    settings = parse_settings(argv)
    if settings.pin:
        os.sched_setaffinity(0, {0})
    try:
        results, failures = asyncio.run(bench_all(settings))
    except (KeyboardInterrupt, asyncio.CancelledError):
        progress("interrupted")
        return 130
    finally:
        procs.kill_leftovers()
    baseline = next((result for result in results if result.target == BASELINE), None)
    print(report.format_table(results, baseline, failures))
    if settings.memory_turns is not None:
        print(report.format_memory(results))
    else:
        print(report.format_goals(results))
    if settings.json_path:
        report.write_json(settings.json_path, json_settings(settings), results, failures, BASELINE)
    if failures:
        return 2
    return 0 if all(result.verified for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
