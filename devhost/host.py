"""`DevHost`: the whole local host as a library - servers, engine, store - in one async context manager.

    async with DevHost("path/to/app", store="memory", time_skipping=True) as host:
        client = host.client()            # the SDK's DurableOrchestrationClient, ready to use
        instance_id = await client.start_new("E1_HelloSequence")
        await host.advance(timedelta(hours=1))   # one virtual hour: what falls due fires, in order

The clock is virtual (wall time plus an offset that only grows) unless `clock=RealClock()` is given;
`time_skipping` says when it may also jump on its own (devhost/time_skipping.py).

The command line (`python -m devhost start`) is a thin shell over this class.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import socket
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from .api.app_routes import AppRoutes
from .api.auth import HostKeys
from .api.browser_guard import BrowserPolicy
from .api.management import ManagementApi
from .api.request_log import log as request_log
from .api.request_log import request_logger
from .api.server import public_app, rpc_app
from .api.time_routes import openapi_paths as time_openapi
from .bindings import RPC_PATH, client_binding_payload
from .clock import RealClock, VirtualClock
from .config import DEFAULT_PORT, DEFAULT_RPC_PORT, Settings, app_setting, apply_app_settings, load_settings
from .dashboard.routes import API_PATH as DASHBOARD_API_PATH
from .dashboard.routes import dashboard_routes
from .dashboard.routes import openapi_paths as dashboard_openapi
from .engine import sdk_speedups
from .engine.control import Control
from .engine.dispatcher import Dispatcher
from .engine.entity_batch import EntityRunner
from .engine.episode import EpisodeRunner
from .engine.invoker import InProcessInvoker
from .engine.time_control import Advanced, TimeControl
from .engine.worker_pool import ProcessPoolInvoker
from .errors import ConfigError, PortInUseError
from .functions import FunctionIndex
from .process_state import ProcessState
from .store import open_store
from .store.outage import WatchedStore
from .time_skipping import policy as skipping_policy

log = logging.getLogger("devhost")


class DevHost:
    """A running local Functions + Durable host for one app folder."""

    def __init__(
        self,
        app_dir: str | Path = ".",
        *,
        store: str | None = None,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        rpc_port: int = DEFAULT_RPC_PORT,
        time_skipping: bool | str = False,
        auth: bool = False,
        workers: int | None = None,
        allowed_hosts: tuple[str, ...] | list[str] = (),
        cors: str | None = None,
        cors_credentials: bool | None = None,
        request_log: bool = False,
        clock: RealClock | None = None,
    ) -> None:
        """`workers`: 0 runs user code in this process (breakpoints work); N > 0 in N worker processes.
        Default: the app setting FUNCTIONS_WORKER_PROCESS_COUNT if set, else 0.
        `allowed_hosts`: Host names to answer besides loopback ones ("*": any); `cors`: comma-separated
        origins given CORS headers (default: local.settings.json Host.CORS), as `func start --cors`.
        `request_log`: log every HTTP request, keys masked (the logger `devhost.http.requests`, at INFO).
        `time_skipping`: False/"off" (the clock moves only with wall time and `advance`), True/"awaited"
        (it also jumps to the next timer while a result is awaited through the host: `skipping_time()`,
        the test harness's `wait_for`), "idle" (it jumps whenever the host is idle, a few times a
        second at most: `devhost start --time-skipping`).
        `clock`: the engine's clock (default: a VirtualClock starting at wall time)."""
        self.skipping = skipping_policy(time_skipping)
        self.settings: Settings = load_settings(
            app_dir,
            host=host,
            port=port,
            rpc_port=rpc_port,
            store_url=store,
            time_skipping=self.skipping.mode != "off",
            auth=auth,
            allowed_hosts=tuple(allowed_hosts),
            cors=cors,
            cors_credentials=cors_credentials,
        )
        self.keys: HostKeys | None = None
        self.clock = clock or VirtualClock()
        if not self.clock.virtual and self.skipping.mode != "off":
            raise ConfigError("time skipping needs a virtual clock, not the real one")
        self._time: TimeControl | None = None
        self.index: FunctionIndex | None = None
        self._runners: list[web.AppRunner] = []
        self.port = port
        self.rpc_port = rpc_port
        self._dispatcher: Dispatcher | None = None
        self._invoker: InProcessInvoker | ProcessPoolInvoker | None = None
        self._workers = workers
        self._request_log = request_log
        self._store: Any = None
        self._store_open = False
        self._process_state: ProcessState | None = None
        self.routes: AppRoutes | None = None

    @property
    def url(self) -> str:
        shown = "localhost" if self.settings.host in ("127.0.0.1", "localhost") else self.settings.host
        return f"http://{shown}:{self.port}"

    @property
    def rpc_base_url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}{RPC_PATH}"

    @property
    def store_description(self) -> str:
        return str(self._store.describe())

    async def start(self) -> DevHost:
        """Open the store, start the workers, the servers and the engine; a start that fails releases
        whatever it had opened (ports, worker processes, the store) before the error propagates."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def _start(self) -> None:
        if self.settings.auth:
            self.keys = HostKeys.load_or_create(self.settings.keys_path)
            self.settings = dataclasses.replace(self.settings, system_key=self.keys.system_key)
        s = self.settings
        self._process_state = ProcessState(s.app_dir)
        apply_app_settings(s)
        self.index = FunctionIndex.load(s.app_dir)
        url = s.store_url or s.default_store_url
        self._store = WatchedStore(open_store(url, hub_name=s.hub_name, app_settings=s.values))
        self._store_open = True
        await self._store.open()
        self._invoker = await self._make_invoker(s)
        runner = EpisodeRunner(
            self.index, self._invoker, http_poll_ms=s.http_async_sleep_ms, default_version=s.default_version
        )
        self._dispatcher = Dispatcher(
            self._store,
            self._invoker,
            runner,
            self.clock,
            max_orchestrations=s.max_concurrent_orchestrations,
            max_activities=s.max_concurrent_activities,
            skipping=self.skipping,
            entities=EntityRunner(self.index, self._invoker),
            max_entities=s.max_concurrent_entities,
        )
        self._time = TimeControl(self.clock, self.skipping, self._dispatcher, self._store)
        control = Control(
            self._store,
            self.index,
            self.clock,
            self._dispatcher.notify,
            replace_active=s.replace_active_instances,
            default_version=s.default_version,
        )
        api = ManagementApi(control, s, self._time)
        policy = BrowserPolicy(s.host, s.allowed_hosts, s.cors_origins, s.cors_credentials)
        self.rpc_port = await self._serve(
            rpc_app(api, BrowserPolicy(allowed_hosts=s.allowed_hosts)), "127.0.0.1", s.rpc_port, fallback=True
        )
        self.routes = AppRoutes(self.index, s, self.rpc_base_url, self._invoker, self.keys)
        self.port = await self._serve(
            public_app(
                self.routes,
                api,
                self.keys,
                policy,
                extra_routes=dashboard_routes(control),
                keyed_paths=(DASHBOARD_API_PATH,),
                extra_openapi=dashboard_openapi() | time_openapi(),
                time=self._time,
            ),
            s.host,
            s.port,
            fallback=False,
        )
        await self._dispatcher.start()

    @property
    def worker_processes(self) -> int:
        """How many worker processes run user code (0: in the host process)."""
        if self._workers is not None:
            return self._workers
        setting = app_setting("FUNCTIONS_WORKER_PROCESS_COUNT", self.settings.values) or "0"
        try:
            return max(0, int(setting))
        except ValueError as exc:
            raise ConfigError(
                f"FUNCTIONS_WORKER_PROCESS_COUNT must be a whole number, not {setting!r}"
            ) from exc

    def worker_pids(self) -> list[int]:
        """The ids of the worker processes running user code (empty when it runs in this process)."""
        return self._invoker.pids() if isinstance(self._invoker, ProcessPoolInvoker) else []

    async def _make_invoker(self, s: Settings) -> InProcessInvoker | ProcessPoolInvoker:
        assert self.index is not None
        if self.worker_processes == 0:
            sdk_speedups.install()
            return InProcessInvoker(self.index, max_workers=max(4, s.max_concurrent_activities))
        pool = ProcessPoolInvoker(s.app_dir, self.worker_processes)
        try:
            await pool.start()
        except BaseException:
            await pool.close()
            raise
        return pool

    async def _serve(self, app: web.Application, host: str, port: int, *, fallback: bool) -> int:
        """Serve `app` on host:port (or any free port if taken and `fallback`); the port bound."""
        try:
            sock = _bind(host, port)
        except OSError as exc:
            if fallback:
                sock = _bind(host, 0)  # the extension, too, moves its RPC endpoint when 17071 is taken
            elif exc.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    f"port {port} on {host} is already in use (another devhost or `func start`?): "
                    f"stop what listens there, or choose another port with --port",
                ) from exc
            else:
                raise
        if self._request_log:
            keys = self.keys
            secrets = [keys.master, *keys.function.values(), *keys.system.values()] if keys else []
            runner = web.AppRunner(
                app, access_log=request_log, access_log_class=request_logger(secrets), handle_signals=False
            )
        else:
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
        self._runners.append(runner)
        try:
            await runner.setup()
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            raise
        return int(sock.getsockname()[1])

    async def stop(self) -> None:
        """Stop the engine, close the ports, end the workers, close the store: each step runs even if
        one before it failed (the failure is logged), and stopping twice is harmless. Last, the process
        gets back what starting changed: the app's modules, sys.path entries and app settings in the
        environment are gone again (devhost/process_state.py), so another host can load another app."""
        dispatcher, self._dispatcher = self._dispatcher, None
        if dispatcher:
            await _release("the dispatcher", dispatcher.stop())
        while self._runners:
            await _release("an HTTP server", self._runners.pop().cleanup())
        invoker, self._invoker = self._invoker, None
        if invoker:
            await _release("the workers", invoker.close())
        if self._store_open:
            # The store object stays: what it describes and holds can still be read after stop.
            self._store_open = False
            await _release("the store", self._store.close())
        state, self._process_state = self._process_state, None
        if state is not None:
            state.restore()

    @property
    def time(self) -> TimeControl:
        """The engine's clock: read, moved, waited on (also served at /runtime/devhost/api/time)."""
        assert self._time is not None, "start the host first"
        return self._time

    def now(self) -> datetime:
        """The engine's time: what `current_utc_datetime` and history timestamps say (UTC)."""
        return self.clock.now()

    async def advance(self, delta: timedelta, *, timeout: float | None = 30.0) -> Advanced:
        """Move the virtual clock `delta` ahead: each timer falling due on the way fires in order, at its
        own time, and the work it brings runs before the next one (an hourly timer fires once per hour
        passed). Returns when that work has run; TimeoutError after `timeout` real seconds."""
        return await self.time.advance(delta, timeout=timeout)

    @contextmanager
    def skipping_time(self) -> Iterator[None]:
        """With time_skipping=True: while inside, the clock jumps to the next timer whenever nothing else
        can run, e.g. around the SDK's `wait_for_completion_or_create_check_status_response`.
        Elsewhere it changes nothing."""
        with self.time.skipping_time():
            yield

    async def wait_idle(self, timeout: float | None = None) -> None:
        """Until no work is running or due now. Timers in the future may remain, and the clock is not
        moved for them (an eternal orchestration does not keep this waiting): `advance` moves it.
        With time_skipping="idle", until the host stops jumping at once (see devhost/time_skipping.py).
        TimeoutError after `timeout` seconds of real time, if given."""
        await self.time.wait_idle(timeout)

    def notify(self) -> None:
        """Tell the engine to look for due work now (after the clock was moved, say)."""
        if self._dispatcher is not None:
            self._dispatcher.notify()

    async def stored_history(self, instance_id: str) -> list[str]:
        """The current execution's history events as the store keeps them (JSON texts, oldest first)."""
        return list(await self._store.get_history(instance_id))

    def client_payload(self) -> str:
        return client_binding_payload(self.url, self.rpc_base_url, self.settings)

    def client(self) -> Any:
        """The SDK's DurableOrchestrationClient bound to this host (call inside the running loop)."""
        import azure.durable_functions as df

        return df.DurableOrchestrationClient(self.client_payload())

    async def __aenter__(self) -> DevHost:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def _release(what: str, closing: Coroutine[Any, Any, None]) -> None:
    try:
        await closing
    except Exception:
        log.exception("could not close %s cleanly", what)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(1024)
    sock.setblocking(False)
    return sock
