"""`python -m bench.profile_host`: a CPU profile of the devhost process while it runs hello-cities.

    python -m bench.profile_host [--store sqlite|azure] [--instances 1000] [--rate 300] [--out FILE]

Starts devhost as `make bench` does (`--workers 2`), attaches py-spy to the host process for the whole
run, and prints how the samples share out over the host's parts. py-spy is not one of the app's or the
bench's requirements: `pip install py-spy` into the environment that runs this. It samples only while
the host holds the GIL (`--gil`), so the shares are of the host's Python time; a share counts the
samples whose stack holds one of its frames, so shares overlap and do not add up to 100 %. The raw
profile (py-spy's collapsed stacks, one "frame;frame;... count" line each) stays in `--out`.

py-spy reads the stacks without pausing the host (`--nonblocking`): pausing it at each sample made a
run of 1,000 take 22.6 s instead of 9 s and moved the shares with it. The price is that a sample now
and then shows a stale top frame, a short hot function under a caller that never calls it (seen
with `format_time` under `executing`), so read a share within a few points.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from devhost.process import DevhostProcess

from . import ROOT
from .hello_cities import run_hello_cities, run_hello_cities_on_azurite

# Each part of the host, by the text of frames that belong to it (matched anywhere in a frame).
PARTS: Mapping[str, tuple[str, ...]] = {
    "aiohttp (server and client)": ("aiohttp/",),
    "the app's HTTP functions": ("AppRoutes.",),
    "SQLite reads": ("reads.<locals>.read",),
    "commits": ("SqliteWriter._write", "EpisodeCommitter.", "complete_orchestration"),
    "applying replies": ("EpisodeRunner._apply",),
    "building payloads": ("EpisodeRunner._payload",),
    "worker pipes": ("worker_pool.py", "worker_wire.py"),
    "the dispatcher's passes": ("Dispatcher._one_pass",),
    "activities": ("Dispatcher._activity",),
    "timestamp formatting": ("format_time",),
    "JSON": ("json/encoder", "json/decoder"),
    "console lines": ("devhost/cli/console", "execution_log", "logging/__init__"),
    "Azure table requests": ("TableService.request",),
}


def shares(
    collapsed: Iterable[str], parts: Mapping[str, tuple[str, ...]] = PARTS
) -> tuple[int, dict[str, float]]:
    """The number of samples in py-spy's collapsed lines, and each part's share of them (0-1)."""
    total = 0
    counts = dict.fromkeys(parts, 0)
    for line in collapsed:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        for name, needles in parts.items():
            if any(needle in stack for needle in needles):
                counts[name] += n
    return total, {name: (n / total if total else 0.0) for name, n in counts.items()}


async def _profile(store: str, instances: int, rate: int, out: Path, py_spy: str) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="devhost-profile-"))
    spies: list[subprocess.Popen[bytes]] = []

    def attach(proc: DevhostProcess) -> None:
        spies.append(
            subprocess.Popen(
                [
                    *(py_spy, "record", "-p", str(proc.pid), "-r", str(rate)),
                    *("--gil", "--nonblocking", "-f", "raw", "-o", str(out)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    workers = ("--workers", "2")
    try:
        if store == "azure":
            result = await run_hello_cities_on_azurite(ROOT, work, instances, workers, on_start=attach)
        else:
            url = f"sqlite:{work / 'profile.db'}"
            result = await run_hello_cities(ROOT, work, "sqlite", url, instances, workers, on_start=attach)
    finally:
        for spy in spies:
            spy.wait(timeout=60)  # py-spy writes its file once the host has exited
        shutil.rmtree(work, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile_host", description=__doc__.splitlines()[0])
    p.add_argument("--store", choices=("sqlite", "azure"), default="sqlite")
    p.add_argument("--instances", type=int, default=1000)
    p.add_argument("--rate", type=int, default=300, help="samples a second (py-spy's --rate)")
    p.add_argument("--out", type=Path, default=Path("host-profile.txt"), help="the raw profile")
    args = p.parse_args(argv)
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if py_spy is None:
        print(
            "py-spy is not installed: `pip install py-spy` (it is not one of the requirements)",
            file=sys.stderr,
        )
        return 2
    result = asyncio.run(_profile(args.store, args.instances, args.rate, args.out, py_spy))
    print(
        f"hello-cities x {args.instances} on {args.store}: {result['seconds']} s, host CPU "
        f"{result['host_cpu_s']} s, workers {result['workers_cpu_s']} s"
    )
    with args.out.open() as raw:
        total, by_part = shares(raw)
    print(f"{total} samples while the host held the GIL ({args.rate} Hz); raw profile: {args.out}")
    for name, share in sorted(by_part.items(), key=lambda item: -item[1]):
        print(f"  {share * 100:5.1f} %  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
