"""What /proc says about a devhost process and its children: the tree, resident memory, open descriptors.

Linux only (the reliability drivers run there). A process that exits while it is being read is left
out of the figures rather than failing the sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


def parent_of(pid: int) -> int | None:
    try:
        # The command name in parentheses may hold spaces and ')': split after the last one.
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1])


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        state = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, their children, ...), in pid order."""
    parents: dict[int, int] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            parent = parent_of(int(entry.name))
            if parent is not None:
                parents[int(entry.name)] = parent
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return sorted(found)


def command_line(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def worker_pids(host_pid: int) -> list[int]:
    """The host's worker processes (multiprocessing's spawned children), not its resource tracker."""
    return [
        pid
        for pid in descendants(host_pid)
        if "spawn_main" in command_line(pid) and parent_of(pid) == host_pid and alive(pid)
    ]


def rss_kb(pid: int) -> int | None:
    try:
        lines = (PROC / str(pid) / "status").read_text().splitlines()
    except OSError:
        return None
    return next((int(line.split()[1]) for line in lines if line.startswith("VmRSS:")), None)


def open_fds(pid: int) -> int | None:
    try:
        return sum(1 for _ in (PROC / str(pid) / "fd").iterdir())
    except OSError:
        return None


@dataclass(frozen=True)
class Sample:
    """One reading of the host and its children: seconds since the run began, MB, descriptor counts."""

    at: float
    host_rss_mb: float
    children_rss_mb: float
    host_fds: int
    children_fds: int
    children: int

    @property
    def rss_mb(self) -> float:
        return self.host_rss_mb + self.children_rss_mb

    @property
    def fds(self) -> int:
        return self.host_fds + self.children_fds


def sample(host_pid: int, at: float) -> Sample | None:
    """The host's and its children's figures now; None if the host itself is gone."""
    host_rss, host_fds = rss_kb(host_pid), open_fds(host_pid)
    if host_rss is None or host_fds is None:
        return None
    rss = fds = count = 0
    for pid in descendants(host_pid):
        child_rss, child_fds = rss_kb(pid), open_fds(pid)
        if child_rss is None or child_fds is None:
            continue
        rss, fds, count = rss + child_rss, fds + child_fds, count + 1
    return Sample(at, host_rss / 1024, rss / 1024, host_fds, fds, count)
