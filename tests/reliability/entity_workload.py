"""The durable-entity part of the reliability workload, and how its end state is checked.

Clients signal the `Tally` entity through the webhook (`POST entities/Tally/{key}?op=add`, never
retried: a retry after a cut connection could deliver the signal twice, which is the client's doing)
and start `EntityTally` orchestrations, which signal and call it. Every operation carries an id and
the entity's state counts how often each id was applied. At the end:

* every acknowledged signal (202) and both operations of every `EntityTally` instance in the store
  were applied exactly once; a signal cut by a kill was applied at most once;
* the entity's count equals the number of operations it applied (no operation lost from its state).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

KEYS = ["a", "b", "c"]  # few keys: signals and calls for one entity run into each other
ENTITY = "Tally"
ORCHESTRATOR = "EntityTally"


@dataclass
class EntityLedger:
    """What clients sent to the entities: ids acknowledged, ids whose answer a kill cut off."""

    acknowledged: dict[str, str] = field(default_factory=dict)  # op id -> key
    uncertain: dict[str, str] = field(default_factory=dict)
    orchestrations: dict[str, dict[str, str]] = field(default_factory=dict)  # instance id -> input


async def entity_scenario(workload: Any, client: Any) -> None:
    """One signal through the webhook, or one EntityTally orchestration (started with an id)."""
    from .workload import TERMINAL, WEBHOOKS, Expected, Unavailable

    rng: random.Random = workload.rng
    ledger: EntityLedger = workload.entity_ledger
    key = rng.choice(KEYS)
    if rng.random() < 0.5:
        op_id = workload._id("signal")
        ledger.uncertain[op_id] = key
        # The SDK's entity reads its input as JSON text inside a JSON string (docs/entities.md).
        try:
            code, body = await client.request(
                "signalEntity",
                "POST",
                f"{WEBHOOKS}/entities/{ENTITY}/{key}",
                body=json.dumps({"id": op_id}),
                params={"op": "add"},
                retry=False,
            )
        except Unavailable:
            return
        if code != 202:
            workload.tally.error(f"signal {ENTITY}/{key}: HTTP {code} {body}")
            return
        ledger.acknowledged[op_id] = ledger.uncertain.pop(op_id)
        return
    instance_id = workload._id("entity")
    given = {"key": key, "id": instance_id}
    ledger.orchestrations[instance_id] = given
    workload.expected[instance_id] = Expected(ORCHESTRATOR, {"applied": 1}, None)
    if await client.start_with_id(ORCHESTRATOR, instance_id, given):
        await client.wait_for(instance_id, lambda s: s["runtimeStatus"] in TERMINAL)


async def entity_states(client: Any) -> dict[str, dict[str, Any]]:
    """The state of every Tally entity, by key."""
    from .workload import WEBHOOKS

    states: dict[str, dict[str, Any]] = {}
    for key in KEYS:
        code, body = await client.request("readEntity", "GET", f"{WEBHOOKS}/entities/{ENTITY}/{key}")
        if code == 200:
            states[key] = body
        elif code != 404:
            client.tally.error(f"read {ENTITY}/{key}: HTTP {code} {body}")
    return states


def check_entities(
    ledger: EntityLedger, states: dict[str, dict[str, Any]], statuses: dict[str, dict[str, Any]], verdict: Any
) -> None:
    """Every operation applied exactly once (at most once for a signal whose answer was lost)."""
    applied: dict[str, Counter[str]] = {k: Counter(s.get("applied", {})) for k, s in states.items()}
    must: dict[str, str] = dict(ledger.acknowledged)
    for instance_id, status in statuses.items():
        if status.get("name") != ORCHESTRATOR:
            continue
        given = status.get("input") or ledger.orchestrations.get(instance_id) or {}
        if isinstance(given, str):
            given = json.loads(given)
        must[f"{given['id']}/s"] = given["key"]
        must[f"{given['id']}/c"] = given["key"]
    for op_id, key in must.items():
        times = applied.get(key, Counter())[op_id]
        if times == 0:
            verdict.lost.append(f"entity {ENTITY}/{key}: operation {op_id} never applied")
        elif times > 1:
            verdict.doubled.append(f"entity {ENTITY}/{key}: operation {op_id} applied {times} times")
    for op_id, key in ledger.uncertain.items():
        times = applied.get(key, Counter())[op_id]
        if times > 1:
            verdict.doubled.append(f"entity {ENTITY}/{key}: operation {op_id} applied {times} times")
    for key, state in states.items():
        if state.get("count") != sum(applied[key].values()):
            verdict.wrong.append(f"entity {ENTITY}/{key}: count {state.get('count')} != operations applied")
    verdict.entity_operations = sum(sum(c.values()) for c in applied.values())
    verdict.entity_acknowledged = len(must)
