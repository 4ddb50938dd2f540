"""The mixed workload of the crash and load suites, and how its end state is checked.

Scenarios go through the app's own routes (HttpStart, HttpStartAndWait) and the Durable HTTP API:
every orchestrator of the app with its events (raised before the orchestration waits, raised twice,
a wrong answer first), deadlines that expire, and `LedgerFlow` (fan-out, timer, event, sequence) whose
activity executions are written to a ledger file. Requests that die with the host (connection
refused or reset) are retried where retrying is safe, and left as they are where it is not (a start
without an id): the check at the end looks at every instance in the store, not only those a client
heard about, and computes what each must have ended with from its input and the events sent to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from orchestrators.city_recommender import RECOMMENDATIONS, final_recommendation, no_selection
from orchestrators.reserve_ticket import CONFIRMED_MESSAGE, DECLINED_MESSAGE, EXPIRED_MESSAGE

from .entity_workload import EntityLedger, entity_scenario

ROOT = Path(__file__).resolve().parents[2]
APP = Path(__file__).resolve().parent / "apps" / "reliability"
WEBHOOKS = "/runtime/webhooks/durabletask"
TERMINAL = {"Completed", "Failed", "Terminated", "Canceled"}
# Long enough never to fire while a run lasts: these instances end by their events only.
NEVER = 3600
CITIES = ["Oslo", "Lima", "Nairobi", "Hanoi", "Quito", "Perth", "Porto", "Dakar", "Riga", "Minsk"]
RETRYABLE = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)


class Unavailable(Exception):
    """The host did not answer (it is down or restarting) and the request may not be retried."""


@dataclass
class Tally:
    """What the clients saw: requests by kind with their latencies, and unexpected answers."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    interrupted: int = 0  # requests cut by a kill, not retried (a start without an id)
    retried: int = 0
    unavailable: int = 0  # 503 answers (a storage outage), retried after their Retry-After

    def error(self, text: str) -> None:
        self.errors.append(text)

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())


@dataclass
class Expected:
    """What a known instance must end with."""

    name: str
    output: Any
    custom_status: Any
    events: Counter[str] = field(default_factory=Counter)  # raiseEvent calls sent, retries included


class Client:
    """HTTP to the host at `base`, retrying what is safe to retry while the host restarts."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base: str,
        tally: Tally,
        *,
        patience: float = 120.0,
        key: str | None = None,
        retry_unavailable: bool = False,
    ) -> None:
        self.session = session
        self.base = base
        self.tally = tally
        self.patience = patience
        # A 503 (the store is down) is retried after its Retry-After instead of returned.
        self.retry_unavailable = retry_unavailable
        self.params = {"code": key} if key else {}

    async def request(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        body: Any = None,
        retry: bool = True,
        params: dict[str, str] | None = None,
        sent: Counter[str] | None = None,
        sent_key: str = "",
    ) -> tuple[int, Any]:
        """(status, JSON body or None); Unavailable if the host stays down, or at once when not `retry`.

        `sent[sent_key]` counts every attempt: a retry after a cut connection may deliver a second copy.
        """
        end = time.monotonic() + self.patience
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"} if data is not None else {}
        while True:
            started = time.perf_counter()
            if sent is not None:
                sent[sent_key or kind] += 1
            try:
                async with self.session.request(
                    method,
                    self.base + path,
                    data=data,
                    headers=headers,
                    params={**self.params, **(params or {})},
                ) as resp:
                    text = await resp.text()
                    self.tally.latencies[kind].append(time.perf_counter() - started)
                    answer = json.loads(text) if text and resp.content_type == "application/json" else None
                    if resp.status == 503 and self.retry_unavailable and time.monotonic() < end:
                        await self._wait_unavailable(kind, resp.headers.get("Retry-After"), answer)
                        continue
                    return resp.status, answer
            except RETRYABLE as exc:
                if not retry:
                    self.tally.interrupted += 1
                    raise Unavailable(kind) from exc
                if time.monotonic() > end:
                    raise Unavailable(f"{kind}: host unreachable for {self.patience} s") from exc
                self.tally.retried += 1
                await asyncio.sleep(0.05)

    async def _wait_unavailable(self, kind: str, retry_after: str | None, answer: Any) -> None:
        """Wait as a 503 asks; one without Retry-After or a JSON body saying why is an error."""
        self.tally.unavailable += 1
        if not (retry_after or "").isdigit() or not isinstance(answer, dict) or not answer.get("Message"):
            self.tally.error(f"{kind}: 503 without Retry-After or JSON message: {retry_after!r} {answer!r}")
        await asyncio.sleep(min(int(retry_after or 1) if (retry_after or "").isdigit() else 1, 10))

    async def status(self, instance_id: str, **query: str) -> dict[str, Any] | None:
        code, body = await self.request("status", "GET", f"{WEBHOOKS}/instances/{instance_id}", params=query)
        if code == 404:
            return None
        if code not in (200, 202):
            self.tally.error(f"status of {instance_id}: HTTP {code} {body}")
            return None
        return dict(body)

    async def wait_for(
        self, instance_id: str, condition: Any, timeout: float = 120.0
    ) -> dict[str, Any] | None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            current = await self.status(instance_id)
            if current is not None and condition(current):
                return current
            await asyncio.sleep(0.05)
        self.tally.error(f"{instance_id}: condition not reached in {timeout} s")
        return None

    async def start_with_id(self, name: str, instance_id: str, body: Any) -> bool:
        """Start via the webhook with an id: safe to retry (409 means an earlier try created it)."""
        code, answer = await self.request(
            "start", "POST", f"{WEBHOOKS}/orchestrators/{name}/{instance_id}", body=body
        )
        if code in (202, 409):
            return True
        self.tally.error(f"start {name}/{instance_id}: HTTP {code} {answer}")
        return False

    async def raise_event(self, instance_id: str, name: str, data: Any, expected: Expected) -> None:
        """Raise until answered; 410 after a retry: the first try was delivered and ended the instance."""
        code, answer = await self.request(
            "raiseEvent",
            "POST",
            f"{WEBHOOKS}/instances/{instance_id}/raiseEvent/{name}",
            body=data,
            sent=expected.events,
            sent_key=name,
        )
        if code != 202 and not (code == 410 and expected.events[name] > 1):
            self.tally.error(f"raise {name} on {instance_id}: HTTP {code} {answer}")


def expected_from_input(name: str, given: Any) -> tuple[Any, Any] | None:
    """(output, custom status) of an instance started without events, from its input; None if unknown."""
    if isinstance(given, str):
        # Started through the SDK client (HttpStart): the status shows the input as JSON text
        # (docs/protocol.md 4).
        with contextlib.suppress(ValueError):
            given = json.loads(given)
    if name == "E1_HelloSequence":
        return [f"Hello {c}!" for c in given], given[-1]
    if name == "EntityTally":
        return {"applied": 1}, None
    if name == "ReserveTicket" and isinstance(given, dict) and given.get("discountTimeout", NEVER) < NEVER:
        return False, {"message": EXPIRED_MESSAGE}
    if name == "CityRecommender" and isinstance(given, dict) and given.get("selectionTimeout", NEVER) < NEVER:
        result = no_selection(given["choice"], given["selectionTimeout"])
        return result, result
    return None


class Workload:
    """Scenarios run by concurrent clients until `stop()`; what every instance must end with."""

    def __init__(
        self,
        rng: random.Random,
        tally: Tally,
        *,
        fan_out: int = 4,
        scenarios: Sequence[str] = (),
        invocations_may_fail: bool = False,
    ) -> None:
        """`invocations_may_fail`: a bare 500 from one of the app's own routes is an invocation cut by
        a killed worker process (the HTTP function ran there, as in the Python worker on Azure),
        counted as interrupted instead of as an error."""
        self.only = set(scenarios)  # scenario method names to run; empty: all of them
        self.invocations_may_fail = invocations_may_fail
        self.rng = rng
        self.tally = tally
        self.fan_out = fan_out
        self.expected: dict[str, Expected] = {}
        self.ledger_instances: dict[str, int] = {}
        self._stopping = asyncio.Event()
        self._serial = 0
        self.completed_scenarios = 0
        self.instance_latencies: list[float] = []
        self.entity_ledger = EntityLedger()

    def stop(self) -> None:
        self._stopping.set()

    def _app_route_failed(self, what: str, code: int, body: Any) -> None:
        if self.invocations_may_fail and code == 500 and body is None:
            self.tally.interrupted += 1
        else:
            self.tally.error(f"{what}: HTTP {code} {body}")

    def _id(self, kind: str) -> str:
        self._serial += 1
        return f"{kind}-{self._serial}-{self.rng.randrange(16**6):06x}"

    async def client_loop(self, client: Client) -> None:
        scenarios = [
            self.hello,
            self.hello_wait,
            self.city,
            self.ticket,
            self.set_status,
            self.deadline,
            self.ledger,
            self.ledger,
            self.entity,
        ]
        scenarios = [s for s in scenarios if not self.only or s.__name__ in self.only]
        while not self._stopping.is_set():
            scenario = self.rng.choice(scenarios)
            started = time.perf_counter()
            try:
                await scenario(client)
                self.completed_scenarios += 1
                self.instance_latencies.append(time.perf_counter() - started)
            except Unavailable as exc:
                if "unreachable" in str(exc):
                    self.tally.error(str(exc))

    # -- scenarios ----------------------------------------------------------------------------------

    async def entity(self, client: Client) -> None:
        await entity_scenario(self, client)

    async def hello(self, client: Client) -> None:
        cities = self.rng.sample(CITIES, self.rng.randint(1, 4))
        code, body = await client.request(
            "httpStart", "POST", "/api/orchestrators/E1_HelloSequence", body=cities, retry=False
        )
        if code != 202:
            self._app_route_failed("HttpStart E1", code, body)
            return
        self.expected[body["id"]] = Expected("E1_HelloSequence", [f"Hello {c}!" for c in cities], cities[-1])
        await client.wait_for(body["id"], lambda s: s["runtimeStatus"] in TERMINAL)

    async def hello_wait(self, client: Client) -> None:
        cities = self.rng.sample(CITIES, self.rng.randint(2, 4))
        code, body = await client.request(
            "httpStartAndWait",
            "POST",
            "/api/orchestrators/E1_HelloSequence/wait-for-status",
            body=cities,
            retry=False,
            params={"target": cities[-1], "timeout": "60", "interval": "0.05"},
        )
        if code != 200 or body.get("customStatus") != cities[-1]:
            self._app_route_failed("HttpStartAndWait E1", code, body)
            return
        self.expected[body["instanceId"]] = Expected(
            "E1_HelloSequence", [f"Hello {c}!" for c in cities], cities[-1]
        )

    async def city(self, client: Client) -> None:
        instance_id, choice = self._id("city"), self.rng.randint(1, 3)
        city = self.rng.choice(RECOMMENDATIONS[choice]["recommendedCities"])
        final = final_recommendation(choice, city)
        expected = self.expected[instance_id] = Expected("CityRecommender", final, final)
        if not await client.start_with_id(
            "CityRecommender", instance_id, {"choice": choice, "selectionTimeout": NEVER}
        ):
            return
        if self.rng.random() < 0.5:
            # A wrong answer before the orchestration waits: kept, refused, and the instance waits on.
            await client.raise_event(instance_id, "CitySelected", "Atlantis", expected)
            await client.wait_for(instance_id, lambda s: "Atlantis" in json.dumps(s["customStatus"]))
        else:
            await client.wait_for(instance_id, lambda s: s["customStatus"] is not None)
        await client.raise_event(instance_id, "CitySelected", {"city": city}, expected)
        await client.wait_for(instance_id, lambda s: s["runtimeStatus"] in TERMINAL)

    async def ticket(self, client: Client) -> None:
        instance_id, user = self._id("ticket"), f"user{self.rng.randrange(1000)}"
        confirm = self.rng.random() < 0.7
        expected = self.expected[instance_id] = Expected(
            "ReserveTicket", confirm, {"message": CONFIRMED_MESSAGE if confirm else DECLINED_MESSAGE}
        )
        if not await client.start_with_id(
            "ReserveTicket", instance_id, {"userId": user, "discountTimeout": NEVER}
        ):
            return
        # Raised at once: the orchestration runs an activity before it waits, so the event comes first.
        await client.raise_event(instance_id, "BookingConfirmed", confirm, expected)
        await client.wait_for(instance_id, lambda s: s["runtimeStatus"] in TERMINAL)

    async def set_status(self, client: Client) -> None:
        instance_id = self._id("status")
        expected = self.expected[instance_id] = Expected(
            "SetStatusTest", {"proceeded": True}, {"nextActions": [], "foo": 2}
        )
        if not await client.start_with_id("SetStatusTest", instance_id, {"timeout": NEVER}):
            return
        await client.wait_for(instance_id, lambda s: s["customStatus"] is not None)
        # The same event twice: the first ends the wait, the second is dropped (or 410 once ended).
        for _ in range(2):
            code, answer = await client.request(
                "raiseEvent",
                "POST",
                f"{WEBHOOKS}/instances/{instance_id}/raiseEvent/Proceed",
                body={},
                sent=expected.events,
                sent_key="Proceed",
            )
            if code not in (202, 410):
                self.tally.error(f"raise Proceed on {instance_id}: HTTP {code} {answer}")
        await client.wait_for(instance_id, lambda s: s["runtimeStatus"] in TERMINAL)

    async def deadline(self, client: Client) -> None:
        """A deadline that passes: a durable timer ends the instance (started without an id)."""
        if self.rng.random() < 0.5:
            name, given = "ReserveTicket", {"userId": f"late{self.rng.randrange(100)}", "discountTimeout": 1}
        else:
            name, given = "CityRecommender", {"choice": self.rng.randint(1, 3), "selectionTimeout": 1}
        code, body = await client.request(
            "httpStart", "POST", f"/api/orchestrators/{name}", body=given, retry=False
        )
        if code != 202:
            self._app_route_failed(f"HttpStart {name}", code, body)
            return
        output, status = expected_from_input(name, given) or (None, None)
        self.expected[body["id"]] = Expected(name, output, status)
        await client.wait_for(body["id"], lambda s: s["runtimeStatus"] in TERMINAL)

    async def ledger(self, client: Client) -> None:
        instance_id, width = self._id("ledger"), self.rng.randint(1, self.fan_out)
        go = self.rng.randrange(1000)
        total = sum(range(1, width + 1)) + 1 + 2
        expected = self.expected[instance_id] = Expected(
            "LedgerFlow", {"sum": total, "go": go}, {"stage": "done", "sum": total, "go": go}
        )
        self.ledger_instances[instance_id] = width
        if not await client.start_with_id("LedgerFlow", instance_id, {"n": width, "timer": 0.3}):
            return
        if self.rng.random() < 0.5:
            await client.raise_event(instance_id, "Go", go, expected)  # before it waits
        else:
            await client.wait_for(instance_id, lambda s: (s["customStatus"] or {}).get("stage") == "waiting")
            await client.raise_event(instance_id, "Go", go, expected)
        await client.wait_for(instance_id, lambda s: s["runtimeStatus"] in TERMINAL)


# -- checking the end state -------------------------------------------------------------------------


@dataclass
class Verdict:
    instances: int = 0
    lost: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    activity_runs: int = 0
    activity_reexecutions: int = 0
    histories: int = 0  # stored histories searched for doubled steps
    entity_operations: int = 0  # operations the entities applied
    entity_acknowledged: int = 0  # operations that had to be applied exactly once

    @property
    def ok(self) -> bool:
        return not (self.lost or self.wrong or self.doubled)


@dataclass
class Outcome:
    """A run's verdict and what its clients saw: the part of the crash and load reports they share."""

    verdict: Verdict
    tally: Tally

    @property
    def errors(self) -> int:
        return len(self.tally.errors)

    @property
    def ok(self) -> bool:
        return self.verdict.ok and not self.errors

    def details(self, limit: int = 20) -> str:
        v = self.verdict
        lines = [*v.lost, *v.wrong, *v.doubled, *self.tally.errors]
        more = f"\n... and {len(lines) - limit} more" if len(lines) > limit else ""
        return "\n".join(lines[:limit]) + more


async def all_statuses(client: Client) -> dict[str, dict[str, Any]]:
    """Every instance in the task hub, page by page."""
    found: dict[str, dict[str, Any]] = {}
    token: str | None = None
    while True:
        headers = {"x-ms-continuation-token": token} if token else {}
        async with client.session.get(
            f"{client.base}{WEBHOOKS}/instances", params={"top": "500", **client.params}, headers=headers
        ) as resp:
            assert resp.status == 200, await resp.text()
            for status in await resp.json():
                found[status["instanceId"]] = status
            token = resp.headers.get("x-ms-continuation-token")
        if not token:
            return found


def check_outcomes(workload: Workload, statuses: dict[str, dict[str, Any]], verdict: Verdict) -> None:
    """Every known instance exists and ended right; every other one (a start whose answer was lost) too."""
    verdict.instances = len(statuses)
    for instance_id, expected in workload.expected.items():
        if instance_id not in statuses:
            verdict.lost.append(f"{instance_id} ({expected.name}) is not in the store")
    for instance_id, status in statuses.items():
        known = workload.expected.get(instance_id)
        if known is not None:
            output, custom = known.output, known.custom_status
        else:
            derived = expected_from_input(status["name"], status["input"])
            if derived is None:
                verdict.wrong.append(f"{instance_id}: unexpected instance {status['name']} {status['input']}")
                continue
            output, custom = derived
        if status["runtimeStatus"] != "Completed" or status["output"] != output:
            verdict.wrong.append(
                f"{instance_id}: {status['runtimeStatus']} output={status['output']!r}, expected {output!r}"
            )
        elif status["customStatus"] != custom:
            verdict.wrong.append(
                f"{instance_id}: customStatus={status['customStatus']!r}, expected {custom!r}"
            )


_SCHEDULED = {4: "TaskScheduled", 7: "SubOrchestrationInstanceCreated", 10: "TimerCreated"}
_DONE = {
    5: "TaskCompleted",
    6: "TaskFailed",
    8: "SubOrchestrationInstanceCompleted",
    9: "SubOrchestrationInstanceFailed",
}


def doubled_steps(instance_id: str, history: Iterable[dict[str, Any]], sent: Counter[str]) -> list[str]:
    """Steps a history records twice: a task id scheduled or completed twice, a timer fired twice, an
    execution started or ended twice, or an event recorded more often than clients sent it."""
    events = list(history)
    problems = []
    counts: Counter[tuple[str, Any]] = Counter()
    # An entity's answer is an EventRaised named after the request id of the call (EventSent) it answers.
    calls = {json.loads(e["Input"]).get("id") for e in events if e["EventType"] == 14}
    for e in events:
        kind = e["EventType"]
        if kind == 14:
            counts[("EventSent", e["EventId"])] += 1
        elif kind == 15 and e["Name"] in calls:
            counts[("EntityAnswer", e["Name"])] += 1
        elif kind in _SCHEDULED:
            counts[(_SCHEDULED[kind], e["EventId"])] += 1
        elif kind in _DONE:
            counts[("completion", e["TaskScheduledId"])] += 1
        elif kind == 11:
            counts[("TimerFired", e["TimerId"])] += 1
        elif kind in (0, 1):
            counts[("ExecutionStarted" if kind == 0 else "ExecutionCompleted", None)] += 1
        elif kind == 15:
            counts[("EventRaised", e["Name"])] += 1
    for (what, key), n in counts.items():
        limit = sent[key] if what == "EventRaised" else 1
        if n > limit:
            problems.append(f"{instance_id}: {what} {key} recorded {n} times (at most {limit})")
    scheduled = {
        key for (what, key) in counts if what in ("TaskScheduled", "SubOrchestrationInstanceCreated")
    }
    orphans = {key for (what, key) in counts if what == "completion"} - scheduled
    if orphans:
        problems.append(f"{instance_id}: completions of tasks never scheduled: {sorted(orphans)}")
    return problems


def check_histories(workload: Workload, histories: dict[str, list[dict[str, Any]]], verdict: Verdict) -> None:
    """No instance's history records a step twice; an instance no client knows was sent no event."""
    verdict.histories += len(histories)
    for instance_id, history in histories.items():
        known = workload.expected.get(instance_id)
        verdict.doubled += doubled_steps(instance_id, history, known.events if known else Counter())


def check_ledger(workload: Workload, ledger: Path, verdict: Verdict) -> None:
    """Every LedgerFlow activity ran at least once; runs beyond one are re-executions (allowed, counted)."""
    lines = ledger.read_text().splitlines() if ledger.exists() else []
    runs = Counter(lines)
    verdict.activity_runs = len(lines)
    verdict.activity_reexecutions = sum(n - 1 for n in runs.values())
    for instance_id, width in workload.ledger_instances.items():
        keys = [f"{instance_id}/fan/{i}" for i in range(width)] + [f"{instance_id}/seq/{j}" for j in range(2)]
        missing = [k for k in keys if runs[k] == 0]
        if missing:
            verdict.lost.append(f"{instance_id}: activities never ran: {missing}")
