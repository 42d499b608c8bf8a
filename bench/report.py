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
from bench.fake_services import FakeGraph
from bench.loadgen import LoadResult, percentile
from bench.memory import FLAT_KIB_PER_20K_TURNS, MemoryTrace
from bench.targets import BARE, BASELINE, HELP, MEET_CORPUS, MEET_FORM, MEET_TYPED, Workload

HARNESS_SATURATED_PCT = 85.0
NOISY_OTHER_PCT = 10.0

# Issue 9's goals, checked on every run that has the targets they compare.
TYPED_VS_STOCK = 3.0
# Issue 17: a typed meet over the whole corpus costs at most this many help turns of CPU.
CORPUS_VS_HELP_CPU = 4.0
FORM_VS_STOCK = 6.0
FORM_VS_BARE = 0.5
FORM_P99_OVER_BARE_MS = 25.0
READY_S = 2.0


@dataclass(frozen=True, slots=True)
class Fakes:
    """The harness's fakes that record what a bot did: the channel and Graph."""

    channel: FakeChannel
    graph: FakeGraph


@dataclass(frozen=True, slots=True)
class Verification:
    """Whether the fake channel got exactly one correct reply per accepted request."""

    expected: int
    received: int
    wrong_content: int
    mismatched_conversations: int
    errors: int
    # Messages sent with the other method (e.g. a new message where the form should be updated).
    stray_messages: int = 0
    # Requests whose meeting Graph did not create exactly once (workloads that create meetings).
    meetings_not_created_once: int = 0

    @property
    def ok(self) -> bool:
        return (
            self.expected > 0
            and self.received == self.expected
            and self.wrong_content == 0
            and self.mismatched_conversations == 0
            and self.errors == 0
            and self.stray_messages == 0
            and self.meetings_not_created_once == 0
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
    ready_s: float | None = None
    memory_samples: tuple[tuple[int, int], ...] = ()
    memory_slope_kib_per_1000_turns: float | None = None
    memory_flat: bool | None = None


def verify(fakes: Fakes, load: LoadResult, workload: Workload) -> Verification:
    """Compare, conversation by conversation, accepted requests with the replies received,
    and request by request with the meetings Graph created."""
    sent_per_conversation = Counter(sent.conversation_id for sent in load.sent)
    received = wrong = mismatched = stray = 0
    for conversation_id, expected in sent_per_conversation.items():
        calls = fakes.channel.replies.get(conversation_id, [])
        replies = [r for r in calls if workload.is_reply(r)]
        stray += sum(1 for r in calls if r.activity_type == "message" and not workload.is_reply(r))
        received += len(replies)
        wrong += sum(1 for reply in replies if not workload.check_reply(reply))
        mismatched += len(replies) != expected
    not_once = 0
    if workload.meeting_subject is not None:
        created = fakes.graph.created_subjects
        not_once = sum(
            1 for sent in load.sent if created[workload.meeting_subject(sent.activity_id)] != 1
        )
    return Verification(
        expected=len(load.sent),
        received=received,
        wrong_content=wrong,
        mismatched_conversations=mismatched,
        errors=sum(load.errors.values()),
        stray_messages=stray,
        meetings_not_created_once=not_once,
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
    fakes: Fakes,
    workload: Workload,
    cpu: CpuUsage,
    profile: Path | None,
    *,
    ready_s: float | None = None,
    memory: MemoryTrace | None = None,
) -> TargetResult:
    """Build the result row from the measured phase."""
    latencies = sorted(sent.latency_s * 1000.0 for sent in load.sent)
    replies = reply_latencies_ms(fakes.channel, load, workload)
    verification = verify(fakes, load, workload)
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
        ready_s=ready_s,
        memory_samples=memory.samples if memory else (),
        memory_slope_kib_per_1000_turns=memory.slope_kib_per_1000_turns if memory else None,
        memory_flat=memory.flat if memory else None,
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
    ("target", "<19"),
    ("requests", ">9"),
    ("errors", ">6"),
    ("req/s", ">8"),
    ("p50 ms", ">7"),
    ("p99 ms", ">7"),
    ("reply p99", ">9"),
    ("cpu ms/req", ">10"),
    ("harness cpu", ">11"),
    ("ready s", ">7"),
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
                    _num(result.ready_s, 2),
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


def _by_name(results: list[TargetResult]) -> dict[str, TargetResult]:
    return {result.target: result for result in results if result.verified}


def _goal(met: bool, text: str) -> str:
    return f"  [{'met' if met else 'NOT met'}] {text}"


def format_goals(results: list[TargetResult]) -> str:
    """The issues' goals that this run's verified targets allow to check."""
    found = _by_name(results)
    stock, typed, form, bare = (found.get(n) for n in (BASELINE, MEET_TYPED, MEET_FORM, BARE))
    help_, corpus = found.get(HELP), found.get(MEET_CORPUS)
    lines = ["Goals:"]
    if help_ and corpus and help_.bot_cpu_ms_per_request and corpus.bot_cpu_ms_per_request:
        ratio = corpus.bot_cpu_ms_per_request / help_.bot_cpu_ms_per_request
        lines.append(
            _goal(
                ratio <= CORPUS_VS_HELP_CPU,
                f"{MEET_CORPUS} {ratio:.2f}x the cpu ms of a {HELP} turn "
                f"(<= {CORPUS_VS_HELP_CPU:g}x)",
            )
        )
    if stock and typed:
        ratio = typed.requests_per_s / stock.requests_per_s
        lines.append(
            _goal(
                ratio >= TYPED_VS_STOCK,
                f"{MEET_TYPED} {ratio:.2f}x stock echo (>= {TYPED_VS_STOCK:g}x)",
            )
        )
    if stock and form:
        ratio = form.requests_per_s / stock.requests_per_s
        lines.append(
            _goal(
                ratio >= FORM_VS_STOCK,
                f"{MEET_FORM} {ratio:.2f}x stock echo (>= {FORM_VS_STOCK:g}x)",
            )
        )
    if form and bare:
        ratio = form.requests_per_s / bare.requests_per_s
        lines.append(
            _goal(
                ratio >= FORM_VS_BARE,
                f"{MEET_FORM} {100 * ratio:.0f}% of {BARE} req/s (>= {100 * FORM_VS_BARE:.0f}%)",
            )
        )
        if form.p99_ms is not None and bare.p99_ms is not None:
            gap = form.p99_ms - bare.p99_ms
            lines.append(
                _goal(
                    gap <= FORM_P99_OVER_BARE_MS,
                    f"{MEET_FORM} p99 {gap:+.1f} ms vs {BARE} (<= +{FORM_P99_OVER_BARE_MS:g} ms)",
                )
            )
    for result in results:
        if result.target.startswith("meetbot") and result.ready_s is not None:
            lines.append(
                _goal(
                    result.ready_s <= READY_S,
                    f"{result.target} /healthz ready "
                    f"{result.ready_s:.2f} s after process start (<= {READY_S:g} s)",
                )
            )
    return "\n".join(lines if len(lines) > 1 else [])


def format_memory(results: list[TargetResult]) -> str:
    """Resident memory over the memory run, per target."""
    lines = ["Resident memory (KiB) by turns served:"]
    for result in results:
        samples = result.memory_samples
        if not samples:
            lines.append(f"  {result.target}: no samples")
            continue
        last = samples[-1][0]
        marks = [
            next((kib for turns, kib in samples if turns >= share * last), samples[-1][1])
            for share in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
        ]
        slope = result.memory_slope_kib_per_1000_turns
        flat = result.memory_flat
        lines.append(
            f"  {result.target}: {last} turns; RSS at 0/20/40/60/80/100%: "
            + " / ".join(str(kib) for kib in marks)
            + f"; slope after 20%: {_num(slope, 1)} KiB per 1000 turns"
        )
        if flat is not None:
            lines.append(
                _goal(
                    flat,
                    f"{result.target} resident memory flat (projected growth over 20,000 "
                    f"turns {20 * (slope or 0.0):.0f} KiB < {FLAT_KIB_PER_20K_TURNS:.0f} KiB)",
                )
            )
    return "\n".join(lines)


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
