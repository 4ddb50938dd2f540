"""What /proc says about a devhost process and its children: the tree, resident memory, open descriptors,
and how many of the host's descriptors are keep-alive connections its HTTP clients hold in their pools.

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


_LISTEN = "0A"  # the TCP state column of /proc/net/tcp


def _tcp_ends(pid: int) -> dict[str, tuple[int, int, bool]]:
    """Every TCP socket in the process's network namespace: inode -> (local port, remote port, listening)."""
    ends: dict[str, tuple[int, int, bool]] = {}
    for table in ("tcp", "tcp6"):
        for line in (PROC / str(pid) / "net" / table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = (int(address.rsplit(":", 1)[1], 16) for address in fields[1:3])
            ends[fields[9]] = (local, remote, fields[3] == _LISTEN)
    return ends


def descriptors(pid: int, store_ports: frozenset[int] = frozenset()) -> tuple[int, int] | None:
    """The process's open descriptors, and how many of them are keep-alive connections its HTTP
    clients pool: those to `store_ports`, and both ends of those it made to a port it listens on
    itself (a client in the process calling its own server). Both from one listing of its fds."""
    try:
        ends = _tcp_ends(pid)
        entries = list((PROC / str(pid) / "fd").iterdir())
    except (OSError, IndexError, ValueError):
        return None
    opened = 0
    mine: list[tuple[int, int, bool]] = []
    for entry in entries:
        try:
            link = str(entry.readlink())
        except OSError:  # closed since the listing
            continue
        opened += 1
        inode = link[len("socket:[") : -1] if link.startswith("socket:[") else ""
        if inode in ends:
            mine.append(ends[inode])
    listening = {local for local, _, listens in mine if listens}
    connected = [(local, remote) for local, remote, listens in mine if not listens]
    calling_self = {local for local, remote in connected if remote in listening}
    pooled = sum(
        1
        for local, remote in connected
        if remote in store_ports or remote in listening or (local in listening and remote in calling_self)
    )
    return opened, pooled


@dataclass(frozen=True)
class Sample:
    """One reading of the host and its children: seconds since the run began, MB, descriptor counts."""

    at: float
    host_rss_mb: float
    children_rss_mb: float
    host_fds: int
    children_fds: int
    children: int
    host_pooled: int = 0  # of host_fds: its HTTP clients' keep-alive connections (descriptors)

    @property
    def rss_mb(self) -> float:
        return self.host_rss_mb + self.children_rss_mb

    @property
    def fds(self) -> int:
        return self.host_fds + self.children_fds

    @property
    def own_fds(self) -> int:
        """Descriptors other than the host's pooled connections."""
        return self.fds - self.host_pooled


def sample(host_pid: int, at: float, store_ports: frozenset[int] = frozenset()) -> Sample | None:
    """The host's and its children's figures now; None if the host itself is gone."""
    host_rss, host = rss_kb(host_pid), descriptors(host_pid, store_ports)
    if host_rss is None or host is None:
        return None
    host_fds, pooled = host
    rss = fds = count = 0
    for pid in descendants(host_pid):
        child_rss, child_fds = rss_kb(pid), open_fds(pid)
        if child_rss is None or child_fds is None:
            continue
        rss, fds, count = rss + child_rss, fds + child_fds, count + 1
    return Sample(at, host_rss / 1024, rss / 1024, host_fds, fds, count, pooled)
