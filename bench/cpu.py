"""CPU accounting from /proc: the bot's process group, the harness, and everyone else."""

import os
from dataclasses import dataclass
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The profiler samples the bot from outside: its cost is neither the bot's nor noise.
PROFILER = "py-spy"


@dataclass(frozen=True, slots=True)
class _Times:
    """Clock ticks one process has used so far."""

    pgid: int
    comm: str
    ticks: int
    # When the process started (ticks since boot): a pid reused meanwhile is another process.
    # Not the name: a kernel worker's name changes with the work it does ("kworker/u8:3-
    # writeback"), and all its past CPU would count as used in the window.
    started: int


@dataclass(frozen=True, slots=True)
class CpuUsage:
    """CPU seconds of the bot's process group, of the harness, and of every other process."""

    bot_s: float
    harness_s: float
    other_s: float


def _scan() -> dict[int, _Times]:
    """Times of every process on the machine (empty where there is no /proc)."""
    processes: dict[int, _Times] = {}
    for stat_path in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = stat_path.read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        processes[int(stat_path.parent.name)] = _Times(
            pgid=int(fields[2]),
            comm=stat[stat.find("(") + 1 : stat.rfind(")")],
            ticks=int(fields[11]) + int(fields[12]),
            started=int(fields[19]),
        )
    return processes


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


class CpuMeter:
    """Measures CPU use from construction to `stop()`.

    "Other" misses processes that exit before `stop()` (their ticks vanish with them), so it is
    a lower bound; enough to tell a quiet machine from one where something else competes.
    """

    def __init__(self, bot_pgid: int) -> None:
        self._bot_pgid = bot_pgid
        self._start = _scan()
        self._harness = _own_cpu_seconds()

    def stop(self) -> CpuUsage:
        harness_s = _own_cpu_seconds() - self._harness
        bot = other = 0
        own_pid = os.getpid()
        for pid, now in _scan().items():
            if now.comm == PROFILER or pid == own_pid:
                continue
            before = self._start.get(pid)
            same = before is not None and before.started == now.started
            used = now.ticks - (before.ticks if before is not None and same else 0)
            if now.pgid == self._bot_pgid:
                bot += used
            else:
                other += used
        return CpuUsage(bot / _CLOCK_TICKS, harness_s, other / _CLOCK_TICKS)
