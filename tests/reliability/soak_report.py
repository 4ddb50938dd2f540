"""The soak's verdict on resources: the bounds, the growth between the two idle readings, the summary.

See soak.py for how the readings are taken and why the host's pooled connections are bounded apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .processes import Sample
from .workload import Outcome

RSS_BOUND_MB = 25.0
FD_BOUND = 4
# TableService's pool (devhost/store/azure_tables.py), the durable client's (azure-functions-durable's
# http_utils: 30 connections, two descriptors each here), and a few for the queue and blob clients.
POOLED_BOUND = 64 + 2 * 30 + 16


@dataclass
class SoakReport(Outcome):
    seed: int
    store: str
    workers: int
    seconds: float
    purged: int
    samples: list[Sample]
    idle: list[Sample]  # after the warm-up, at the end
    rss_bound: float = RSS_BOUND_MB
    fd_bound: int = FD_BOUND
    pooled_bound: int = POOLED_BOUND
    requests_by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def rss_growth(self) -> float:
        return self.idle[-1].rss_mb - self.idle[0].rss_mb

    @property
    def fd_growth(self) -> int:
        return self.idle[-1].own_fds - self.idle[0].own_fds

    @property
    def pooled(self) -> int:
        return self.idle[-1].host_pooled

    @property
    def bounded(self) -> bool:
        return (
            len(self.idle) == 2
            and self.rss_growth <= self.rss_bound
            and self.fd_growth <= self.fd_bound
            and self.pooled <= self.pooled_bound
        )

    @property
    def ok(self) -> bool:
        return super().ok and self.bounded

    def summary(self) -> str:
        v = self.verdict
        first, last = self.samples[0], self.samples[-1]
        peak_rss = max(self.samples, key=lambda s: s.rss_mb)
        peak_fds = max(self.samples, key=lambda s: s.fds)
        kinds = " ".join(f"{k}={n}" for k, n in sorted(self.requests_by_kind.items()))
        lines = [
            f"soak: seed={self.seed} store={self.store} workers={self.workers} seconds={self.seconds:.0f} "
            f"instances={v.instances + self.purged} purged={self.purged} requests={self.tally.requests} "
            f"lost={len(v.lost) + len(v.wrong)} doubled={len(v.doubled)} errors={self.errors} "
            f"verdict={'ok' if self.ok else 'FAILED'}",
            f"  requests: {kinds}",
            "  memory (host + workers, MB):  "
            f"start {first.host_rss_mb:.1f} + {first.children_rss_mb:.1f}   "
            f"end {last.host_rss_mb:.1f} + {last.children_rss_mb:.1f}   "
            f"max {peak_rss.host_rss_mb:.1f} + {peak_rss.children_rss_mb:.1f} (at {peak_rss.at:.0f} s)",
            "  descriptors (host + workers): "
            f"start {first.host_fds} + {first.children_fds}   end {last.host_fds} + {last.children_fds}   "
            f"max {peak_fds.host_fds} + {peak_fds.children_fds} (at {peak_fds.at:.0f} s)",
        ]
        if len(self.idle) == 2:
            warm, end = self.idle
            lines.append(
                f"  idle after warm-up ({warm.at:.0f} s): {warm.rss_mb:.1f} MB, {warm.fds} fds; "
                f"idle at the end ({end.at:.0f} s): {end.rss_mb:.1f} MB, {end.fds} fds"
            )
            lines.append(
                f"  of those, the host's pooled connections (not counted as growth): "
                f"{warm.host_pooled} then {end.host_pooled} (bound {self.pooled_bound})"
            )
            lines.append(
                f"  growth: rss {self.rss_growth:+.1f} MB (bound {self.rss_bound:.0f} MB), "
                f"fds {self.fd_growth:+d} (bound {self.fd_bound}); processes {end.children + 1}"
            )
        else:
            lines.append("  growth: unmeasured (the host went away)")
        return "\n".join(lines)

    def details(self, limit: int = 20) -> str:
        text = super().details(limit)
        if not self.bounded:
            text += (
                f"\nresources beyond the bound: rss {self.rss_growth:+.1f} MB, fds {self.fd_growth:+d}, "
                f"pooled connections {self.pooled}"
            )
        return text
