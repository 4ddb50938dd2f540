"""The same work on durabletask-python's in-memory test backend; run by the bench's own durabletask
environment (see durabletask_env.py), never by the app's.

    python bench/durabletask_child.py cold           backend, worker, client; one hello sequence
    python bench/durabletask_child.py tests N        N test-style rounds: each its own backend and worker
"""

from __future__ import annotations

import json
import socket
import sys
import time

CITIES = ["Tokyo", "Seattle", "London", "Paris", "Oslo"]


def say_hello(ctx, name):  # type: ignore[no-untyped-def]
    return f"Hello {name}!"


def hello_sequence(ctx, cities):  # type: ignore[no-untyped-def]
    greetings = []
    for city in cities:
        greetings.append((yield ctx.call_activity(say_hello, input=city)))
        ctx.set_custom_status(city)
    return greetings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_test(report: bool = False) -> None:
    """What one test with the backend's documented fixture does: backend, worker, one run, stop."""
    from durabletask import client, worker
    from durabletask.testing import create_test_backend

    port = free_port()
    backend = create_test_backend(port=port)
    address = f"localhost:{port}"
    w = worker.TaskHubGrpcWorker(host_address=address)
    w.add_orchestrator(hello_sequence)
    w.add_activity(say_hello)
    w.start()
    try:
        c = client.TaskHubGrpcClient(host_address=address)
        instance_id = c.schedule_new_orchestration(hello_sequence, input=CITIES)
        state = c.wait_for_orchestration_completion(instance_id, timeout=60)
        assert state is not None and json.loads(state.serialized_output) == [f"Hello {x}!" for x in CITIES]
        if report:
            print("completed", flush=True)
    finally:
        w.stop()
        backend.stop()
        backend.reset()


if __name__ == "__main__":
    if sys.argv[1] == "cold":
        one_test(report=True)
    else:
        per = []
        for _ in range(int(sys.argv[2])):
            t0 = time.perf_counter()
            one_test()
            per.append(time.perf_counter() - t0)
        print(json.dumps(per), flush=True)
