"""idle-cpu: what an eternal orchestration costs a host that is otherwise idle.

The monitor app (tests/devhost/apps/monitor: an activity, an hourly durable timer, continue_as_new) runs
on `devhost start --store memory`, once with --time-skipping and once without. After the first second
(the skipping's burst), the host process's CPU time (/proc/PID/stat, user + system) is read over a
window of real time, with how far the virtual clock and the monitor moved meanwhile. Printed, never
asserted: with --time-skipping the host should stay near idle, a few iterations a second.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path
from typing import Any

from devhost.process import DevhostProcess

MONITOR_APP = Path(__file__).resolve().parents[1] / "tests" / "devhost" / "apps" / "monitor"
WEBHOOKS = "/runtime/webhooks/durabletask"
_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def _call(method: str, url: str) -> Any:
    request = urllib.request.Request(url, data=b"" if method == "POST" else None, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _measure(work: Path, skipping: bool, seconds: float) -> dict[str, Any]:
    extra = ("--time-skipping",) if skipping else ()
    proc = DevhostProcess(work, "memory", *extra, app=MONITOR_APP).start()
    try:
        assert proc.pid is not None
        monitor = _call("POST", f"{proc.url}{WEBHOOKS}/orchestrators/monitor")["id"]
        time.sleep(1.0)  # the burst of jumps, then the steady rate

        def sample() -> tuple[float, float, float, int]:
            clock = _call("GET", f"{proc.url}/runtime/devhost/api/time")
            for _ in range(50):
                # Between a continue-as-new and the new execution's first episode the status has no
                # custom status yet (the count would read 0): read again a moment later.
                status = _call("GET", f"{proc.url}{WEBHOOKS}/instances/{monitor}")
                iterations = (status.get("customStatus") or {}).get("iterations")
                if iterations is not None:
                    break
                time.sleep(0.005)
            iterations = iterations or 0
            return time.monotonic(), _cpu_seconds(proc.pid), clock["aheadBySeconds"], iterations

        t0, cpu0, ahead0, it0 = sample()
        time.sleep(seconds)
        t1, cpu1, ahead1, it1 = sample()
        real = t1 - t0
        return {
            "scenario": "idle-cpu",
            "store": "memory",
            "time_skipping": skipping,
            "window_seconds": round(real, 2),
            "host_cpu_seconds_per_real_second": round((cpu1 - cpu0) / real, 4),
            "virtual_hours_per_real_second": round((ahead1 - ahead0) / 3600 / real, 2),
            "monitor_iterations_per_real_second": round((it1 - it0) / real, 2),
        }
    finally:
        proc.stop()


def run_idle_cpu(work: Path, seconds: float = 5.0) -> list[dict[str, Any]]:
    return [_measure(work, True, seconds), _measure(work, False, seconds)]


if __name__ == "__main__":
    import tempfile

    from .stats import report

    with tempfile.TemporaryDirectory(prefix="devhost-bench-") as tmp:
        for result in run_idle_cpu(Path(tmp)):
            print(report(result, None), flush=True)
