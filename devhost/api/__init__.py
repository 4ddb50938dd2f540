"""devhost's HTTP surface: the Durable HTTP API, the SDK's RPC endpoint, the app's routes.

This package's own namespace stays free of imports, so the `devhost` command's clients (cli/) can
name a path without loading the host.
"""

TIME_PATH = "/runtime/devhost/api/time"  # the virtual clock (time_routes.py, `devhost time`)
