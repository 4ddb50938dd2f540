"""`TestHost`: a `DevHost` with the helpers tests need - wait for a status, move time, read history,
stand in for an activity.

Time: the clock is virtual. With `time_skipping=True` (the marker's default) it jumps to the next
durable timer only while `wait_for` waits and nothing else can run; `advance(delta)` moves it by hand
(with either setting), firing each timer that falls due in order; `now()` reads it. An eternal
orchestration (a timer, then continue_as_new) therefore runs only as far as a wait or an advance asks.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
from collections.abc import Callable, Iterable
from typing import Any

from ..api.management import history_view
from ..functions import Kind
from ..host import DevHost

TERMINAL = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
_ANY: Any = object()


def _status_name(value: Any) -> str:
    return str(getattr(value, "value", value))


class TestHost(DevHost):
    """An in-process host for tests: memory store, free ports, user code in this process."""

    __test__ = False  # not a test class, whatever its name says

    async def wait_for(
        self,
        instance_id: str,
        *,
        runtime_status: Any = None,
        custom_status: Any = _ANY,
        timeout: float = 10.0,
    ) -> Any:
        """Poll the instance until it matches; return its status (the SDK's DurableOrchestrationStatus).

        `runtime_status`: a status or several (names or OrchestrationRuntimeStatus); `custom_status`: a
        value to equal or a predicate. With neither, waits for the instance to finish (Completed, Failed,
        Terminated or Canceled). AssertionError when the instance ends in another state or `timeout`
        seconds of real time pass, with the last status seen.

        With time skipping on, each look that finds no match lets the clock jump once to the next timer
        (any instance's: waiting for one lets the others' timers pass too) if nothing else can run and
        nothing happened since the look; so the clock stops where the instance got to the match.
        """
        wanted = self._wanted_statuses(runtime_status, custom_status)
        client = self.client()
        last: list[Any] = [None]

        def matches(status: Any) -> bool:
            if _status_name(status.runtime_status) not in wanted:
                return False
            if custom_status is _ANY:
                return True
            value = status.custom_status
            return bool(custom_status(value)) if callable(custom_status) else value == custom_status

        async def poll() -> Any:
            while True:
                generation = self.time.generation
                status = await client.get_status(instance_id)
                last[0] = status
                if status is not None and status.runtime_status is not None:
                    if matches(status):
                        return status
                    if _status_name(status.runtime_status) in TERMINAL:
                        raise AssertionError(
                            f"instance {instance_id} ended {_status_name(status.runtime_status)} without "
                            f"matching; its status: {json.dumps(status.to_json(), default=str)}"
                        )
                self.time.not_there_yet(generation)
                await asyncio.sleep(0.01)

        try:
            return await asyncio.wait_for(poll(), timeout)
        except asyncio.TimeoutError:
            seen = last[0].to_json() if last[0] is not None and last[0].runtime_status else None
            raise AssertionError(
                f"instance {instance_id} did not match within {timeout} s; last status: "
                f"{json.dumps(seen, default=str)}"
            ) from None

    @staticmethod
    def _wanted_statuses(runtime_status: Any, custom_status: Any) -> set[str]:
        if runtime_status is None:
            if custom_status is _ANY:
                return set(TERMINAL)
            return {"Pending", "Running", "Suspended", *TERMINAL}
        if isinstance(runtime_status, str) or not isinstance(runtime_status, Iterable):
            return {_status_name(runtime_status)}
        return {_status_name(s) for s in runtime_status}

    async def history(self, instance_id: str) -> list[dict[str, Any]]:
        """The instance's history as the status API shows it (`showHistory`), inputs and outputs included:
        dicts with EventType ("ExecutionStarted", "TaskCompleted", "TimerFired", ...), FunctionName,
        Input, Result, Timestamp."""
        return history_view(await self.stored_history(instance_id), True, True)

    def replace_activity(self, name: str, fn: Callable[[Any], Any]) -> None:
        """Run `fn(input)` (sync or async) instead of the app's activity `name` for the rest of the test."""
        assert self.index is not None, "start the host first"
        target = self.index.get(name, Kind.ACTIVITY)
        if target is None:
            known = ", ".join(sorted(f.name for f in self.index.of_kind(Kind.ACTIVITY))) or "none"
            raise KeyError(f"the app has no activity named {name!r} (its activities: {known})")
        binding = str(target.trigger.get("name", "input"))
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(**arguments: Any) -> Any:
                return await fn(arguments[binding])

            target.user_function, target.is_async = run_async, True
        else:

            @functools.wraps(fn)
            def run_sync(**arguments: Any) -> Any:
                return fn(arguments[binding])

            target.user_function, target.is_async = run_sync, False
        target.parameters = {binding}
