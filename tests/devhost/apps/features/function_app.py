"""Sample app: one orchestrator per Durable Functions feature the engine must replay faithfully.

Retries, sub-orchestrations, continue-as-new, timers, external events, races, failures, custom
status limits, task ids under retries, unknown activities and replay-safe uuids. The tests in
tests/devhost drive it through devhost and assert what each orchestrator returns.
"""

import threading
import time
from datetime import timedelta
from pathlib import Path

import azure.durable_functions as df

app = df.DFApp()

# Calls per key to `flaky`: tests pass a key unique to their instance, so runs never share a count.
_calls: dict[str, int] = {}
_calls_lock = threading.Lock()


# -- activities ------------------------------------------------------------------------------------


@app.activity_trigger(input_name="order")
def flaky(order: dict) -> dict:
    """Fail the first `order["failures"]` calls for `order["key"]`, then report the call count.

    `order["delay"]` seconds pass first, so a test can tell which of two activities finishes last.
    """
    time.sleep(order.get("delay", 0))
    with _calls_lock:
        _calls[order["key"]] = _calls.get(order["key"], 0) + 1
        calls = _calls[order["key"]]
    if calls <= order["failures"]:
        raise ConnectionError(f"flaky call {calls} of {order['key']} failed")
    return {"calls": calls, "key": order["key"]}


@app.activity_trigger(input_name="value")
def always_fails(value: str) -> None:
    raise PermissionError(f"always_fails refuses {value}")


@app.activity_trigger(input_name="value")
def boom(value: str) -> None:
    raise RuntimeError(f"boom on {value}")


@app.activity_trigger(input_name="number")
def double(number: int) -> int:
    return number * 2


@app.activity_trigger(input_name="value")
def echo(value):
    return value


@app.activity_trigger(input_name="gate")
def wait_for_file(gate: str) -> str:
    """Returns once the file `gate` exists (at most 30 s): a test holds the activity while it looks."""
    path = Path(gate)
    for _ in range(3000):
        if path.exists():
            return "opened"
        time.sleep(0.01)
    return "gave up"


@app.activity_trigger(input_name="value")
def slow_echo(value):
    time.sleep(0.2)
    return value


# -- retries ---------------------------------------------------------------------------------------


@app.orchestration_trigger(context_name="context")
def retry_orchestrator(context: df.DurableOrchestrationContext):
    """`flaky` fails `failures` times; up to `attempts` attempts, 5 s apart."""
    order = context.get_input()
    options = df.RetryOptions(
        first_retry_interval_in_milliseconds=5000, max_number_of_attempts=order["attempts"]
    )
    result = yield context.call_activity_with_retry(
        "flaky", options, {"key": context.instance_id, "failures": order["failures"]}
    )
    return result


@app.orchestration_trigger(context_name="context")
def retry_always_fails(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=3)
    yield context.call_activity_with_retry("always_fails", options, "the request")
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def retry_in_task_all(context: df.DurableOrchestrationContext):
    """docs/protocol.md 1: task_all([retried a, b]), c -> ids a=0, b=1, timer=2, a again=3, c=4."""
    options = df.RetryOptions(first_retry_interval_in_milliseconds=2000, max_number_of_attempts=3)
    retried = context.call_activity_with_retry("flaky", options, {"key": context.instance_id, "failures": 1})
    pair = yield context.task_all([retried, context.call_activity("double", 21)])
    last = yield context.call_activity("echo", "after")
    return [pair[0], pair[1], last]


@app.orchestration_trigger(context_name="context")
def retry_and_race(context: df.DurableOrchestrationContext):
    """A retried activity fails just after another one completes; the completion schedules `double`.

    When both results reach one episode, the SDK numbers `double` (on the completion) before the
    retry timer (on the failure): docs/protocol.md, section 1.
    """
    options = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=2)
    retried = context.call_activity_with_retry(
        "flaky", options, {"key": context.instance_id, "failures": 1, "delay": 0.4}
    )
    quick = context.call_activity("slow_echo", "quick")
    first = yield context.task_any([quick, retried])
    doubled = yield context.call_activity("double", 4)
    result = yield retried
    return [first.result, doubled, result["calls"]]


# -- sub-orchestrations ----------------------------------------------------------------------------


@app.orchestration_trigger(context_name="context")
def child(context: df.DurableOrchestrationContext):
    number = context.get_input()
    doubled = yield context.call_activity("double", number)
    return {"child": context.instance_id, "parent": context.parent_instance_id, "doubled": doubled}


@app.orchestration_trigger(context_name="context")
def failing_child(context: df.DurableOrchestrationContext):
    yield context.call_activity("echo", "before failing")
    raise KeyError("child lost its key")


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    named = yield context.call_sub_orchestrator("child", 5, f"{context.instance_id}-named")
    unnamed = yield context.call_sub_orchestrator("child", 7)
    try:
        yield context.call_sub_orchestrator("failing_child", None)
        caught = None
    except Exception as exc:
        caught = str(exc)
    return {"named": named, "unnamed": unnamed, "caught": caught}


@app.orchestration_trigger(context_name="context")
def catching_parent(context: df.DurableOrchestrationContext):
    """Runs the child its input names (`name` or `[name, child input]`) and returns what its failure says."""
    name, child_input = (
        context.get_input() if isinstance(context.get_input(), list) else (context.get_input(), None)
    )
    try:
        yield context.call_sub_orchestrator(name, child_input)
    except Exception as exc:
        return str(exc)
    return None


@app.orchestration_trigger(context_name="context")
def gated_activity(context: df.DurableOrchestrationContext):
    """Runs `wait_for_file` on the path it is given."""
    return (yield context.call_activity("wait_for_file", context.get_input()))


@app.orchestration_trigger(context_name="context")
def parent_of_waiting_child(context: df.DurableOrchestrationContext):
    """Runs `status_phases` as its child `{id}-kid`: the parent waits until the child gets 3 "Next"s."""
    kid = f"{context.instance_id}-kid"
    result = yield context.call_sub_orchestrator("status_phases", {"from": "parent"}, kid)
    return result


@app.orchestration_trigger(context_name="context")
def parent_of_failing_child(context: df.DurableOrchestrationContext):
    yield context.call_sub_orchestrator("failing_child", None, f"{context.instance_id}-kid")
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def twin_children(context: df.DurableOrchestrationContext):
    twin = f"{context.instance_id}-twin"
    yield context.task_all(
        [context.call_sub_orchestrator("child", 1, twin), context.call_sub_orchestrator("child", 2, twin)]
    )
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def flaky_child(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("flaky", {"key": context.get_input(), "failures": 1})
    return result["calls"]


@app.orchestration_trigger(context_name="context")
def parent_retrying_child(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=2)
    calls = yield context.call_sub_orchestrator_with_retry("flaky_child", options, context.instance_id)
    return calls


# -- continue-as-new, timers, events ---------------------------------------------------------------


@app.orchestration_trigger(context_name="context")
def counter(context: df.DurableOrchestrationContext):
    """Loop to n through continue_as_new with a list state, which get_input only takes as JSON text:
    the host must encode the new input as it encodes a client's."""
    i, n, trail = context.get_input()
    if i >= n:
        return {"i": i, "trail": trail}
    step = yield context.call_activity("double", i)
    context.continue_as_new([i + 1, n, [*trail, step]])


@app.orchestration_trigger(context_name="context")
def sleeper(context: df.DurableOrchestrationContext):
    """Sleep an hour on a durable timer; report the orchestration time before and after."""
    before = context.current_utc_datetime
    yield context.create_timer(before + timedelta(hours=1))
    after = context.current_utc_datetime
    return {"slept_seconds": (after - before).total_seconds()}


@app.orchestration_trigger(context_name="context")
def two_events(context: df.DurableOrchestrationContext):
    """Busy with an activity first, so events raised early arrive before anyone waits for them."""
    context.set_custom_status("working")
    yield context.call_activity("echo", "busy")
    context.set_custom_status("waiting")
    first = yield context.wait_for_external_event("First")
    second = yield context.wait_for_external_event("Second")
    return {"first": first, "second": second}


@app.orchestration_trigger(context_name="context")
def input_echo(context: df.DurableOrchestrationContext):
    value = context.get_input()
    return {"type": type(value).__name__, "value": value}


def _race_for_approval(context: df.DurableOrchestrationContext):
    """Race an "Approve" event against a one-hour deadline; cancel the timer when the event wins."""
    deadline = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    approve = context.wait_for_external_event("Approve")
    winner = yield context.task_any([approve, deadline])
    if winner == approve:
        deadline.cancel()
        return {"approved": approve.result}
    return {"approved": None, "timed_out": True}


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    context.set_custom_status("awaiting approval")
    return (yield from _race_for_approval(context))


@app.orchestration_trigger(context_name="context")
def gated_approval(context: df.DurableOrchestrationContext):
    """Wait for "Go" (no timer yet), then race "Approve" - which may already have been raised."""
    yield context.wait_for_external_event("Go")
    return (yield from _race_for_approval(context))


# -- failures --------------------------------------------------------------------------------------


@app.orchestration_trigger(context_name="context")
def activity_raises(context: df.DurableOrchestrationContext):
    yield context.call_activity("boom", "purpose")
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def orchestrator_raises(context: df.DurableOrchestrationContext):
    context.set_custom_status("about to fail")
    yield context.call_activity("echo", 1)
    raise ValueError("the input was not acceptable")


@app.orchestration_trigger(context_name="context")
def unknown_activity(context: df.DurableOrchestrationContext):
    yield context.call_activity("no_such_activity", 1)
    return "unreachable"


# -- custom status ---------------------------------------------------------------------------------


@app.orchestration_trigger(context_name="context")
def big_status(context: df.DurableOrchestrationContext):
    context.set_custom_status("x" * context.get_input())
    done = yield context.call_activity("echo", "done")
    return done


@app.orchestration_trigger(context_name="context")
def status_phases(context: df.DurableOrchestrationContext):
    """Status "one", then an empty status (falsy: the SDK sends none), then {"phase": 3}."""
    context.set_custom_status("one")
    yield context.wait_for_external_event("Next")
    context.set_custom_status("")
    yield context.wait_for_external_event("Next")
    context.set_custom_status({"phase": 3})
    yield context.wait_for_external_event("Next")
    return "done"


# -- determinism -----------------------------------------------------------------------------------

# Episodes per instance of `fickle`, which is not replay-safe on purpose.
_episodes: dict[str, int] = {}


@app.orchestration_trigger(context_name="context")
def fickle(context: df.DurableOrchestrationContext):
    """Replays differently from its first run: another activity ("name") or a timer ("kind")."""
    _episodes[context.instance_id] = _episodes.get(context.instance_id, 0) + 1
    if _episodes[context.instance_id] == 1:
        first = context.call_activity("echo", 2)
    elif context.get_input() == "name":
        first = context.call_activity("double", 2)
    else:
        first = context.create_timer(context.current_utc_datetime)
    result = yield first
    return result


@app.orchestration_trigger(context_name="context")
def uuids(context: df.DurableOrchestrationContext):
    first = context.new_uuid()
    second = context.new_uuid()
    echoed = yield context.call_activity("echo", [first, second])
    third = context.new_uuid()
    return {"first": first, "second": second, "echoed": echoed, "third": third}
