"""devhost's pytest plugin: an in-process Durable Functions host per test, for any app folder.

Installed with devhost (entry point `pytest11`), so `pip install devhost[testing]` is all a project
needs. Which app to run: the ini option `devhost_app` (relative to the rootdir), or per test, class or
module the marker `@pytest.mark.devhost(app="path", time_skipping=True, store="memory")`.

    async def test_chain(durable_host):
        client = durable_host.client()
        instance_id = await client.start_new("hello_orchestrator")
        status = await durable_host.wait_for(instance_id, runtime_status="Completed")

Each test gets its own host on the memory store and free ports (`durable_host`), or each module one
(`durable_host_module`, for tests that run on a module-scoped event loop). After the host stops, the
app's modules, the folders it put on sys.path and its app settings in os.environ are gone again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..process_state import ProcessState

if TYPE_CHECKING:
    from .harness import TestHost

__all__ = ["TestHost", "start_host"]

MARKER = "devhost"
INI_APP = "devhost_app"


def __getattr__(name: str) -> Any:
    # The host (its HTTP server, the SDK) is imported by the first test that starts one, not when pytest
    # loads the plugin: a run whose tests use no durable_host does not pay for it.
    if name == "TestHost":
        from .harness import TestHost

        return TestHost
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(INI_APP, "function app folder the durable_host fixture runs (relative to the rootdir)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(app=None, time_skipping=True, store='memory'): the app folder and clock the "
        "durable_host fixture uses (time_skipping: the clock jumps to the next timer while wait_for "
        "waits; advance() moves it either way)",
    )


def _options(node: pytest.Item | pytest.Collector, config: pytest.Config) -> dict[str, Any]:
    marker = node.get_closest_marker(MARKER)
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    if marker and marker.args:
        options.setdefault("app", marker.args[0])
    unknown = set(options) - {"app", "time_skipping", "store"}
    if unknown:
        raise pytest.UsageError(f"@pytest.mark.devhost does not take {', '.join(sorted(unknown))}")
    app = options.get("app") or config.getini(INI_APP)
    if not app:
        raise pytest.UsageError(
            f"durable_host needs an app folder: set `{INI_APP}` in your pytest configuration or mark the "
            'test @pytest.mark.devhost(app="path/to/app")'
        )
    folder = Path(str(app))
    if not folder.is_absolute():
        folder = config.rootpath / folder
    return {
        "app": folder.resolve(),
        "time_skipping": bool(options.get("time_skipping", True)),
        "store": str(options.get("store", "memory")),
    }


async def start_host(app: str | Path, *, time_skipping: bool = True, store: str = "memory") -> TestHost:
    """A started TestHost for `app` (stop it with `await host.stop()`; prefer the fixtures).

    The clock is virtual either way: `time_skipping=True` lets it jump to the next timer while
    `wait_for` waits; False leaves it to the wall clock and `advance`."""
    from .harness import TestHost

    host = TestHost(
        app,
        store=store,
        port=0,
        rpc_port=0,
        time_skipping=time_skipping,
        workers=0,
    )
    await host.start()
    return host


async def _run_host(options: dict[str, Any]) -> AsyncIterator[TestHost]:
    state = ProcessState(options["app"])
    host: TestHost | None = None
    try:
        host = await start_host(
            options["app"], time_skipping=options["time_skipping"], store=options["store"]
        )
        yield host
    finally:
        if host is not None:
            await host.stop()
        await _close_sdk_session()
        state.restore()


async def _close_sdk_session() -> None:
    """The SDK client keeps one aiohttp session per process, tied to the loop that made it: close it."""
    try:
        from azure.durable_functions.models.utils import http_utils
    except ImportError:  # pragma: no cover - another SDK layout
        return
    session = getattr(http_utils, "_client_session", None)
    if session is not None and getattr(session, "_loop", None) not in (None, asyncio.get_running_loop()):
        return  # made on another loop (a module-scoped one): its own fixture closes it
    if session is not None and not session.closed:
        await session.close()
    if hasattr(http_utils, "_client_session"):
        http_utils._client_session = None


def _async_fixture(**options: Any) -> Any:
    """pytest-asyncio's fixture decorator; without it (it is the `testing` extra), a fixture that says so."""
    try:
        import pytest_asyncio
    except ImportError:

        def missing(function: Any) -> Any:
            @pytest.fixture(scope=options.get("scope", "function"), name=function.__name__)
            def fail() -> None:
                pytest.fail("devhost's fixtures need pytest-asyncio: pip install 'devhost[testing]'")

            return fail

        return missing
    return pytest_asyncio.fixture(**options)


@_async_fixture()
async def durable_host(request: pytest.FixtureRequest) -> AsyncIterator[TestHost]:
    """A started host for the test's app (see the module docstring); stopped after the test."""
    async for host in _run_host(_options(request.node, request.config)):
        yield host


@_async_fixture(scope="module", loop_scope="module")
async def durable_host_module(request: pytest.FixtureRequest) -> AsyncIterator[TestHost]:
    """One host for every test of a module; its tests need
    `pytestmark = pytest.mark.asyncio(loop_scope="module")`."""
    async for host in _run_host(_options(request.node, request.config)):
        yield host
