"""Resident memory of the bot while it serves turns: samples from /proc, and their slope."""

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SAMPLE_INTERVAL_S = 0.25
# The first turns fill caches, connection pools, the conversations' meeting ledgers (50 entries
# each) and the allocator's arenas: the slope is taken over the turns after this share.
SETTLING_SHARE = 0.2
# "Flat": growth projected over 20,000 turns, at the measured slope, below this.
FLAT_KIB_PER_20K_TURNS = 2048.0


def group_rss_kib(pgid: int) -> int | None:
    """VmRSS summed over the processes of a process group (None when none is left)."""
    total, found = 0, False
    for status_path in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = status_path.read_text()
            if int(stat[stat.rfind(")") + 2 :].split()[2]) != pgid:
                continue
            for line in (status_path.parent / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    found = True
                    break
        except (OSError, ValueError, IndexError):
            continue
    return total if found else None


@dataclass(frozen=True, slots=True)
class MemoryTrace:
    """(turns served, resident KiB) over the run."""

    samples: tuple[tuple[int, int], ...]

    @property
    def settled(self) -> tuple[tuple[int, int], ...]:
        if not self.samples:
            return ()
        last_turns = self.samples[-1][0]
        return tuple(s for s in self.samples if s[0] >= SETTLING_SHARE * last_turns)

    @property
    def slope_kib_per_1000_turns(self) -> float | None:
        """Least-squares slope of RSS over turns, after the settling share."""
        points = self.settled
        if len(points) < 3:
            return None
        n = len(points)
        mean_x = sum(x for x, _ in points) / n
        mean_y = sum(y for _, y in points) / n
        var = sum((x - mean_x) ** 2 for x, _ in points)
        if var == 0:
            return None
        cov = sum((x - mean_x) * (y - mean_y) for x, y in points)
        return 1000.0 * cov / var

    @property
    def flat(self) -> bool | None:
        slope = self.slope_kib_per_1000_turns
        return None if slope is None else slope * 20 < FLAT_KIB_PER_20K_TURNS

    def rss_at(self, share: float) -> int | None:
        """RSS at the first sample at or after `share` of the turns."""
        if not self.samples:
            return None
        turns = share * self.samples[-1][0]
        return next((kib for count, kib in self.samples if count >= turns), self.samples[-1][1])


class RssSampler:
    """Samples the group's RSS every SAMPLE_INTERVAL_S together with the turns served so far."""

    def __init__(self, pgid: int, turns: Callable[[], int]) -> None:
        self._pgid = pgid
        self._turns = turns
        self._samples: list[tuple[int, int]] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            self._sample()
            await asyncio.sleep(SAMPLE_INTERVAL_S)

    def _sample(self) -> None:
        rss = group_rss_kib(self._pgid)
        if rss is not None:
            self._samples.append((self._turns(), rss))

    async def stop(self) -> MemoryTrace:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._sample()
        return MemoryTrace(tuple(self._samples))
