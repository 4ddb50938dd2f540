"""The worker boundary: how the engine runs user code (orchestrator episodes and activities).

The real host runs user code in language-worker processes; devhost runs it behind this small
interface. `InProcessInvoker` calls the app in the host process: orchestrator episodes and sync
activities on a thread pool (so a slow activity does not stall the HTTP server), async activities and
async HTTP functions on the event loop (a sync HTTP function on a thread of its own), as the Python
worker schedules them; `worker_pool.ProcessPoolInvoker` runs the same in worker processes.
"""

from __future__ import annotations

import asyncio
import functools
import json
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from ..bindings import (
    InvocationContext,
    decode_activity_input,
    decode_entity_context,
    decode_orchestration_context,
    encode_activity_output,
)
from ..functions import AppFunction, FunctionIndex, Kind
from . import sdk_warnings
from .http_function import HttpCall, HttpReply, http_arguments, http_failure, http_result

OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"


@dataclass(slots=True)
class EpisodeReply:
    """What the SDK answered for one episode: its OrchestratorState, and the error if it raised."""

    state: dict[str, Any]
    error: str | None = None
    stack: str | None = None  # the traceback of the user code's exception, when it raised


@dataclass(slots=True)
class ActivityReply:
    """An activity's JSON result text, or a failure (reason, details)."""

    result: str | None = None
    failure: tuple[str, str] | None = None


@dataclass(slots=True)
class EntityReply:
    """What the SDK answered for an entity batch (its EntityState as JSON), or why it did not."""

    state: dict[str, Any] | None = None
    error: str | None = None


class Invoker(Protocol):
    async def run_orchestrator(self, name: str, payload: str) -> EpisodeReply:
        """Run one episode; user exceptions come back as `EpisodeReply.error`, never raised."""

    async def run_activity(
        self, name: str, input_text: str | None, invocation_id: str | None = None
    ) -> ActivityReply:
        """Run one activity; user exceptions come back as `ActivityReply.failure`, never raised.
        A `context` parameter gets `invocation_id`, the `Id=` of the activity's log lines."""

    async def run_entity(self, name: str, payload: str) -> EntityReply:
        """Run one entity batch; an operation's exception is in the reply's results, never raised."""

    async def run_http(self, name: str, call: HttpCall) -> HttpReply:
        """Run one HTTP function; what it raises (or its answer's encoding) is the reply's failure."""

    async def close(self) -> None:
        """Stop the workers."""


def parse_episode_output(returned: Any) -> EpisodeReply:
    """The value `handle()` returned (state JSON text) as an EpisodeReply."""
    state = json.loads(returned) if isinstance(returned, (str, bytes)) else returned
    if not isinstance(state, dict):
        return EpisodeReply({}, "the orchestrator did not return an OrchestratorState JSON object")
    return EpisodeReply(state)


def parse_episode_exception(exc: BaseException) -> EpisodeReply:
    """An exception from `handle()`: the SDK appends its state after a marker (docs/protocol.md 1)."""
    text = str(exc)
    if OUT_OF_PROC_MARKER in text:
        message, _, state_text = text.partition(OUT_OF_PROC_MARKER)
        try:
            state = json.loads(state_text)
        except ValueError:
            state = {}
        return EpisodeReply(state, str(state.get("error") or message), _traceback_text(exc))
    return EpisodeReply({}, text or type(exc).__name__, _traceback_text(exc))


def _traceback_text(exc: BaseException) -> str:
    """The traceback of what the user code raised: the SDK re-raises it `from` the original."""
    cause = exc.__cause__ or exc
    return "".join(traceback.format_exception(cause)).rstrip()


def activity_failure(name: str, exc: BaseException) -> tuple[str, str]:
    """TaskFailed Reason and Details as the extension writes them (Reason has two spaces: sic)."""
    message = f" {type(exc).__name__}: {exc}"
    details = serialized_exception(message, "".join(traceback.format_exception(exc)).rstrip())
    return f"Activity function '{name}' failed: {message}", details


def serialized_exception(message: str, stack: str | None) -> str:
    """An exception as the extension's `Utils.SerializeCause` writes it into a failure's Details."""
    return json.dumps(
        {
            "$type": "System.Exception, System.Private.CoreLib",
            "ClassName": "System.Exception",
            "Message": message,
            "StackTrace": stack,
        },
        separators=(",", ":"),
    )


def orchestrator_failure_details(reply: EpisodeReply) -> str:
    """The Details of an orchestrator that raised, as the extension's OutOfProcOrchestrationShim
    writes them (its `OrchestrationFailureException`); DTFx hands them to the parent, if any."""
    return f"Message: {reply.error}, StackTrace: {reply.stack or ''}"


def _arguments(
    fn: AppFunction, default_name: str, value: Any, invocation_id: str | None = None
) -> dict[str, Any]:
    """The trigger value by its binding name, and the invocation context if asked for (as the worker),
    with the invocation's id when the host gave one."""
    arguments = {fn.trigger.get("name", default_name): value}
    if fn.wants_context:
        context = InvocationContext(fn.name, fn.directory)
        if invocation_id is not None:
            context.invocation_id = invocation_id
        arguments["context"] = context
    return arguments


def call_activity_sync(
    fn: AppFunction, input_text: str | None, invocation_id: str | None = None
) -> ActivityReply:
    """Decode the input, call a sync activity, encode its result; failures become data."""
    try:
        arguments = _arguments(fn, "input", decode_activity_input(input_text), invocation_id)
        result = fn.user_function(**arguments)
        return ActivityReply(result=_encode_result(result))
    except Exception as exc:
        return ActivityReply(failure=activity_failure(fn.name, exc))


def _encode_result(value: Any) -> str | None:
    return None if value is None else encode_activity_output(value)


def call_orchestrator(fn: AppFunction, payload: str) -> EpisodeReply:
    try:
        context = decode_orchestration_context(payload)
        return parse_episode_output(fn.user_function(**_arguments(fn, "context", context)))
    except Exception as exc:
        return parse_episode_exception(exc)


def call_entity(fn: AppFunction, payload: str) -> EntityReply:
    """Run an entity batch through the SDK's `Entity.handle`; its reply, or what went wrong."""
    try:
        returned = fn.user_function(**_arguments(fn, "context", decode_entity_context(payload)))
        state = json.loads(returned) if isinstance(returned, (str, bytes)) else returned
    except Exception as exc:
        return EntityReply(error=f"{type(exc).__name__}: {exc}")
    if not isinstance(state, dict):
        return EntityReply(error="the entity function did not return an EntityState JSON object")
    return EntityReply(state)


class InProcessInvoker:
    """Runs user code in this process."""

    def __init__(self, index: FunctionIndex, max_workers: int | None, *, inline: bool = False) -> None:
        """`inline`: run orchestrator episodes on the calling thread (inside a worker process, where
        the process itself is the unit of concurrency); otherwise on the thread pool."""
        self._index = index
        self._inline = inline
        sdk_warnings.install()  # the SDK's replay warnings are logged, as in the Python worker
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="devhost-worker")

    def episode(self, name: str, payload: str) -> EpisodeReply:
        """Run one orchestrator episode on this thread."""
        fn = self._index.get(name, Kind.ORCHESTRATOR)
        if fn is None:
            return EpisodeReply({}, self._index.missing(name, Kind.ORCHESTRATOR))
        return call_orchestrator(fn, payload)

    async def run_orchestrator(self, name: str, payload: str) -> EpisodeReply:
        if self._inline:
            return self.episode(name, payload)
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.episode, name, payload)

    async def run_activity(
        self, name: str, input_text: str | None, invocation_id: str | None = None
    ) -> ActivityReply:
        fn = self._index.get(name, Kind.ACTIVITY)
        if fn is None:
            return ActivityReply(failure=(self._index.missing(name, Kind.ACTIVITY), ""))
        if not fn.is_async:
            return await asyncio.get_running_loop().run_in_executor(
                self._pool, call_activity_sync, fn, input_text, invocation_id
            )
        try:
            arguments = _arguments(fn, "input", decode_activity_input(input_text), invocation_id)
            result = await fn.user_function(**arguments)
            return ActivityReply(result=_encode_result(result))
        except Exception as exc:
            return ActivityReply(failure=activity_failure(fn.name, exc))

    def entity_batch(self, name: str, payload: str) -> EntityReply:
        """Run one entity batch on this thread."""
        fn = self._index.get(name, Kind.ENTITY)
        if fn is None:
            return EntityReply(
                error=f"The function '{name}' doesn't exist, is disabled, or is not an entity function."
            )
        return call_entity(fn, payload)

    async def run_entity(self, name: str, payload: str) -> EntityReply:
        if self._inline:
            return self.entity_batch(name, payload)
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.entity_batch, name, payload)

    async def run_http(self, name: str, call: HttpCall) -> HttpReply:
        fn = self._index.get(name, Kind.HTTP)
        if fn is None:
            return HttpReply(failure=(f"no HTTP function {name!r}", ""))
        try:
            kwargs, outputs = http_arguments(fn, call)
            if fn.is_async:
                value = await fn.user_function(**kwargs)
            else:
                # In a worker process every sync function shares its one pool, as in the Python
                # worker; in the host, HTTP functions keep the loop's default executor, so a client
                # that polls for minutes holds none of the threads episodes run on.
                pool = self._pool if self._inline else None
                value = await asyncio.get_running_loop().run_in_executor(
                    pool, functools.partial(fn.user_function, **kwargs)
                )
            return HttpReply(http_result(fn, value, outputs))
        except Exception as exc:
            return http_failure(exc)

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
