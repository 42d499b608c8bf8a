"""Summarise a py-spy `raw` profile (collapsed stacks): where the samples go, by function.

`python -m bench.profile_summary bench/results/meetbot-form.txt [--top 40] [--match TEXT]`
prints each function's inclusive share (samples with it anywhere on the stack) and self share
(samples with it on top), the way a flamegraph would be read, but greppable.
"""

import argparse
import re
from collections import Counter
from pathlib import Path

_LINE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")
_FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _function(frame: str) -> str:
    match = _FRAME.match(frame)
    if match is None:
        return frame
    path = match.group("file")
    for marker in ("site-packages/", "/work/main/", "python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match.group('name')} ({path})"


def summarise(path: Path, within: str = "") -> tuple[int, Counter[str], Counter[str]]:
    """Samples, and per function the inclusive and self counts, of stacks containing `within`."""
    total = 0
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        count = int(match.group("count"))
        if within and within not in match.group("stack"):
            continue
        frames = [_function(frame) for frame in match.group("stack").split(";")]
        total += count
        for name in set(frames):
            inclusive[name] += count
        own[frames[-1]] += count
    return total, inclusive, own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--match", default="", help="only functions whose name contains this")
    parser.add_argument(
        "--within",
        default="",
        help="only stacks containing this text, e.g. run_forever for the event loop's thread",
    )
    parser.add_argument(
        "--ms-per-request",
        type=float,
        default=None,
        help="the run's cpu ms/req: also show each share as ms per request",
    )
    args = parser.parse_args()
    total, inclusive, own = summarise(args.profile, args.within)
    print(f"{total} samples")
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"--- {title} ---")
        shown = [(n, c) for n, c in counter.most_common() if args.match in n][: args.top]
        for name, count in shown:
            share = count / total
            ms = f"{share * args.ms_per_request:6.3f} ms  " if args.ms_per_request else ""
            print(f"{100 * share:6.1f}%  {ms}{name}")


if __name__ == "__main__":
    main()
