"""`DevHost`: the whole local host as a library - servers, engine, store - in one async context manager.

    async with DevHost("path/to/app", store="memory", time_skipping=True) as host:
        client = host.client()            # the SDK's DurableOrchestrationClient, ready to use
        instance_id = await client.start_new("E1_HelloSequence")

The command line (`python -m devhost start`) is a thin shell over this class.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import socket
from collections.abc import Coroutine
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
from .bindings import RPC_PATH, client_binding_payload
from .clock import RealClock, VirtualClock
from .config import DEFAULT_PORT, DEFAULT_RPC_PORT, Settings, apply_app_settings, load_settings
from .engine import sdk_speedups
from .engine.control import Control
from .engine.dispatcher import Dispatcher
from .engine.entity_batch import EntityRunner
from .engine.episode import EpisodeRunner
from .engine.invoker import InProcessInvoker
from .engine.worker_pool import ProcessPoolInvoker
from .errors import ConfigError, PortInUseError
from .functions import FunctionIndex
from .store import open_store

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
        time_skipping: bool = False,
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
        `clock`: the engine's clock (default: a skipping VirtualClock with `time_skipping`, else wall
        time)."""
        self.settings: Settings = load_settings(
            app_dir,
            host=host,
            port=port,
            rpc_port=rpc_port,
            store_url=store,
            time_skipping=time_skipping,
            auth=auth,
            allowed_hosts=tuple(allowed_hosts),
            cors=cors,
            cors_credentials=cors_credentials,
        )
        self.keys: HostKeys | None = None
        self.clock = clock or (VirtualClock() if time_skipping else RealClock())
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
        apply_app_settings(s)
        self.index = FunctionIndex.load(s.app_dir)
        url = s.store_url or s.default_store_url
        self._store = open_store(url, hub_name=s.hub_name, app_settings=s.values)
        self._store_open = True
        await self._store.open()
        self._invoker = await self._make_invoker(s)
        runner = EpisodeRunner(self.index, self._invoker, http_poll_ms=s.http_async_sleep_ms)
        self._dispatcher = Dispatcher(
            self._store,
            self._invoker,
            runner,
            self.clock,
            max_orchestrations=s.max_concurrent_orchestrations,
            max_activities=s.max_concurrent_activities,
            entities=EntityRunner(self.index, self._invoker),
            max_entities=s.max_concurrent_entities,
        )
        control = Control(
            self._store,
            self.index,
            self.clock,
            self._dispatcher.notify,
            replace_active=s.replace_active_instances,
        )
        api = ManagementApi(control, s)
        policy = BrowserPolicy(s.host, s.allowed_hosts, s.cors_origins, s.cors_credentials)
        self.rpc_port = await self._serve(
            rpc_app(api, BrowserPolicy(allowed_hosts=s.allowed_hosts)), "127.0.0.1", s.rpc_port, fallback=True
        )
        self.routes = AppRoutes(self.index, s, self.rpc_base_url, self.keys)
        self.port = await self._serve(
            public_app(self.routes, api, self.keys, policy), s.host, s.port, fallback=False
        )
        await self._dispatcher.start()

    @property
    def worker_processes(self) -> int:
        """How many worker processes run user code (0: in the host process)."""
        if self._workers is not None:
            return self._workers
        setting = os.environ.get("FUNCTIONS_WORKER_PROCESS_COUNT") or self.settings.values.get(
            "FUNCTIONS_WORKER_PROCESS_COUNT", "0"
        )
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
        one before it failed (the failure is logged), and stopping twice is harmless."""
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

    async def wait_idle(self) -> None:
        """Until no work is running or due (with time skipping: until no timer is left)."""
        assert self._dispatcher is not None
        await self._dispatcher.wait_idle()

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
