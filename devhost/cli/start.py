"""`devhost start [--app DIR] [--port 7071] [--store URL] [--time-skipping]`: serve an app like func start."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING, Any

from ..config import DEFAULT_PORT, DEFAULT_RPC_PORT
from ..errors import DevHostError

if TYPE_CHECKING:
    from ..host import DevHost

# The host, its HTTP server and the SDK are imported when `start` runs, not when the command line is
# parsed: `devhost --help` and the other subcommands stay quick.

log = logging.getLogger("devhost")


def add_parser(sub: Any) -> None:
    start = sub.add_parser("start", help="serve the app, like `func start`")
    start.add_argument("--app", default=".", help="function app folder (default: current folder)")
    start.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    start.add_argument("--port", type=int, default=DEFAULT_PORT, help="HTTP port (default 7071)")
    start.add_argument(
        "--rpc-port",
        type=int,
        default=DEFAULT_RPC_PORT,
        help="loopback port of the SDK client's RPC endpoint (default 17071, another if taken)",
    )
    start.add_argument(
        "--store",
        default=None,
        help="sqlite:PATH (default sqlite:<app>/.devhost/durable.db), memory, or azure",
    )
    start.add_argument(
        "--time-skipping",
        action="store_true",
        help="jump the virtual clock to the next durable timer whenever nothing else can run, at most "
        "20 jumps at once and then 4 per second (without it: `devhost time advance` moves the clock)",
    )
    start.add_argument(
        "--workers",
        type=int,
        default=None,
        help="run user code in N worker processes (default: FUNCTIONS_WORKER_PROCESS_COUNT, else 0 = "
        "in the host process)",
    )
    start.add_argument(
        "--auth",
        action="store_true",
        help="check keys as Azure does: function keys for function-level routes, the system key for the "
        "Durable HTTP API (keys in <app>/.devhost/keys.json)",
    )
    start.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests whose Host is NAME (repeatable; '*' for any). By default only loopback "
        "names and the bound address are answered, so that no web page can reach devhost by DNS rebinding",
    )
    start.add_argument(
        "--cors",
        default=None,
        metavar="ORIGINS",
        help="comma-separated origins allowed to call devhost from a browser, with CORS headers, as "
        "func start --cors (default: local.settings.json Host.CORS; none)",
    )
    start.add_argument(
        "--cors-credentials",
        action="store_true",
        default=None,
        help="allow cross-origin calls with credentials (Access-Control-Allow-Credentials)",
    )
    start.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="also log every HTTP request and devhost's debug messages",
    )
    start.set_defaults(handler=run)


def banner(host: DevHost) -> str:
    from ..dashboard.routes import DASHBOARD_PATH
    from ..functions import Kind

    assert host.index is not None and host.routes is not None
    lines = [
        "",
        f"devhost: {host.settings.app_dir}",
        f"Task hub: {host.settings.hub_name}   "
        f"Store: {host.store_description}"
        + (f"   Workers: {host.worker_processes} processes" if host.worker_processes else ""),
        f"Clock: {host.time.describe()}"
        + ("   (move it: devhost time advance 2h)" if host.clock.virtual else ""),
        "",
        "Functions:",
        "",
    ]
    for fn in host.index.functions.values():
        if fn.unsupported:
            continue
        if fn.kind is Kind.HTTP:
            methods = ",".join(fn.methods) or "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS"
            lines.append(f"        {fn.name}: [{methods}] {host.routes.url_of(host.url, fn)}")
        else:
            lines.append(f"        {fn.name}: {fn.trigger_type}")
        lines.append("")
    skipped = [fn for fn in host.index.functions.values() if fn.unsupported]
    for fn in skipped:
        lines.append(f"WARNING: {fn.name} is not run: {fn.unsupported}.")
    # What indexing left out or ignored (v1 functions that fail to load, a mixed app's folders, ...).
    lines.extend(f"WARNING: {note}" for note in host.index.notes)
    lines.append(
        f"Durable HTTP API: {host.url}/runtime/webhooks/durabletask/   (SDK RPC: {host.rpc_base_url})"
    )
    if host.settings.auth:
        # The keys themselves are never printed or logged: they are read from the file.
        lines.append(f"Keys required (--auth): function and system keys are in {host.settings.keys_path}")
    lines.append(f"Dashboard: {host.url}{DASHBOARD_PATH}")
    if host.settings.cors_origins:
        lines.append(f"CORS: {', '.join(host.settings.cors_origins)}")
    lines.append("Press Ctrl+C to stop.")
    return "\n".join(lines)


async def _serve(args: argparse.Namespace) -> None:
    import asyncio
    import signal

    from ..api.auth import is_loopback
    from ..host import DevHost

    host = DevHost(
        args.app,
        store=args.store,
        host=args.host,
        port=args.port,
        rpc_port=args.rpc_port,
        time_skipping="idle" if args.time_skipping else False,
        auth=args.auth,
        workers=args.workers,
        allowed_hosts=tuple(args.allow_host),
        cors=args.cors,
        cors_credentials=args.cors_credentials,
        request_log=args.verbose,
    )
    await host.start()
    if not is_loopback(args.host):
        log.warning(
            "devhost is bound to %s: anyone who can reach this address can %s.",
            args.host,
            "call your functions with a key"
            if args.auth
            else "run your functions and manage every instance (use --auth to require keys)",
        )
    print(banner(host), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        print("devhost: stopping", flush=True)
        await host.stop()


def run(args: argparse.Namespace) -> int:
    import asyncio

    from .console import configure

    configure(args.verbose)
    # User code runs on threads beside the event loop (in-process invoker); the interpreter's 5 ms
    # default switch interval let a busy loop keep each of them waiting that long for the GIL.
    sys.setswitchinterval(0.0005)
    try:
        asyncio.run(_serve(args))
    except DevHostError as exc:
        print(f"devhost: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"devhost: cannot listen: {exc}", file=sys.stderr)
        return 2
    return 0
