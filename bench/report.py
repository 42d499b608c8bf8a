"""Reply verification, per-target summary, and the table and JSON the benchmark prints."""

import json
import os
import platform
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.cpu import CpuUsage
from bench.fake_channel import FakeChannel
from bench.loadgen import LoadResult, percentile
from bench.targets import Workload

HARNESS_SATURATED_PCT = 85.0
NOISY_OTHER_PCT = 10.0


@dataclass(frozen=True, slots=True)
class Verification:
    """Whether the fake channel got exactly one correct reply per accepted request."""

    expected: int
    received: int
    wrong_content: int
    mismatched_conversations: int
    errors: int

    @property
    def ok(self) -> bool:
        return (
            self.expected > 0
            and self.received == self.expected
            and self.wrong_content == 0
            and self.mismatched_conversations == 0
            and self.errors == 0
        )


@dataclass(frozen=True, slots=True)
class TargetResult:
    """Everything measured for one target."""

    target: str
    requests: int
    errors: dict[str, int]
    elapsed_s: float
    requests_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    reply_p50_ms: float | None
    reply_p99_ms: float | None
    bot_cpu_ms_per_request: float | None
    harness_cpu_pct: float
    other_cpu_pct: float
    verification: Verification
    verified: bool
    profile: str | None


def verify(channel: FakeChannel, load: LoadResult, workload: Workload) -> Verification:
    """Compare, conversation by conversation, accepted requests with the replies received."""
    sent_per_conversation = Counter(sent.conversation_id for sent in load.sent)
    received = wrong = mismatched = 0
    for conversation_id, expected in sent_per_conversation.items():
        replies = [r for r in channel.replies.get(conversation_id, []) if workload.is_reply(r)]
        received += len(replies)
        wrong += sum(1 for reply in replies if not workload.check_reply(reply))
        mismatched += len(replies) != expected
    return Verification(
        expected=len(load.sent),
        received=received,
        wrong_content=wrong,
        mismatched_conversations=mismatched,
        errors=sum(load.errors.values()),
    )


def reply_latencies_ms(channel: FakeChannel, load: LoadResult, workload: Workload) -> list[float]:
    """Request start to reply arrival, for replies that name the request they answer."""
    arrivals: dict[tuple[str, str], float] = {}
    for conversation_id in {sent.conversation_id for sent in load.sent}:
        for reply in channel.replies.get(conversation_id, []):
            if workload.is_reply(reply) and reply.in_reply_to is not None:
                arrivals.setdefault((conversation_id, reply.in_reply_to), reply.received_at)
    return sorted(
        (arrivals[key] - sent.started_at) * 1000.0
        for sent in load.sent
        if (key := (sent.conversation_id, sent.activity_id)) in arrivals
    )


def summarize(
    name: str,
    load: LoadResult,
    channel: FakeChannel,
    workload: Workload,
    cpu: CpuUsage,
    profile: Path | None,
) -> TargetResult:
    """Build the result row from the measured phase."""
    latencies = sorted(sent.latency_s * 1000.0 for sent in load.sent)
    replies = reply_latencies_ms(channel, load, workload)
    verification = verify(channel, load, workload)
    requests = len(load.sent)
    elapsed = load.elapsed_s
    return TargetResult(
        target=name,
        requests=requests,
        errors=dict(load.errors),
        elapsed_s=elapsed,
        requests_per_s=requests / elapsed if elapsed > 0 else 0.0,
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        reply_p50_ms=percentile(replies, 0.50),
        reply_p99_ms=percentile(replies, 0.99),
        bot_cpu_ms_per_request=cpu.bot_s * 1000.0 / requests if requests else None,
        harness_cpu_pct=100.0 * cpu.harness_s / elapsed if elapsed > 0 else 0.0,
        other_cpu_pct=100.0 * cpu.other_s / elapsed if elapsed > 0 else 0.0,
        verification=verification,
        verified=verification.ok,
        profile=str(profile) if profile else None,
    )


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _replies(verification: Verification) -> str:
    status = "ok" if verification.ok else "FAIL"
    return f"{verification.received}/{verification.expected} {status}"


def _ratio(result: TargetResult, baseline: TargetResult | None) -> str:
    # An unverified target does not score: no ratio for it, nor against an unverified baseline.
    if baseline is None or not (result.verified and baseline.verified):
        return "-"
    return f"{result.requests_per_s / baseline.requests_per_s:.2f}x"


COLUMNS = (
    ("target", "<16"),
    ("requests", ">9"),
    ("errors", ">6"),
    ("req/s", ">8"),
    ("p50 ms", ">7"),
    ("p99 ms", ">7"),
    ("reply p99", ">9"),
    ("cpu ms/req", ">10"),
    ("harness cpu", ">11"),
    ("replies verified", "<18"),
    ("vs stock", ">8"),
)


def _row(cells: list[str]) -> str:
    return "  ".join(f"{cell:{spec}}" for cell, (_, spec) in zip(cells, COLUMNS, strict=True))


def format_table(
    results: list[TargetResult], baseline: TargetResult | None, failures: dict[str, str]
) -> str:
    """The human-readable results table, with notes under it."""
    lines = [_row([title for title, _ in COLUMNS])] if results else []
    for result in results:
        lines.append(
            _row(
                [
                    result.target + (" *" if result.profile else ""),
                    str(result.requests),
                    str(sum(result.errors.values())),
                    f"{result.requests_per_s:.1f}",
                    _num(result.p50_ms),
                    _num(result.p99_ms),
                    _num(result.reply_p99_ms),
                    _num(result.bot_cpu_ms_per_request, 2),
                    f"{result.harness_cpu_pct:.0f}%",
                    _replies(result.verification),
                    _ratio(result, baseline),
                ]
            )
        )
    failed = [f"{name}: did not run: {reason}" for name, reason in failures.items()]
    return "\n".join(lines + failed + _notes(results))


def _notes(results: list[TargetResult]) -> list[str]:
    notes: list[str] = []
    for result in results:
        if result.errors:
            notes.append(f"{result.target}: errors {result.errors}")
        if not result.verified:
            notes.append(f"{result.target}: reply verification failed: {result.verification}")
        if result.harness_cpu_pct >= HARNESS_SATURATED_PCT:
            notes.append(
                f"{result.target}: harness CPU {result.harness_cpu_pct:.0f}%: the load generator "
                "may be the bottleneck, so req/s is a lower bound"
            )
        if result.other_cpu_pct >= NOISY_OTHER_PCT:
            notes.append(
                f"{result.target}: other processes used {result.other_cpu_pct:.0f}% of a CPU "
                "while measuring: numbers are noisy, rerun on an idle machine"
            )
        if result.profile:
            notes.append(f"* {result.target} ran under py-spy (slower); profile: {result.profile}")
    return notes


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def write_json(
    path: Path,
    settings: dict[str, Any],
    results: list[TargetResult],
    failures: dict[str, str],
    baseline: str,
) -> None:
    """Machine-readable results: machine, settings, and one object per target."""
    document = {
        "machine": machine_info(),
        "settings": settings,
        "baseline": baseline,
        "results": [asdict(result) for result in results],
        "failed_to_run": failures,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
