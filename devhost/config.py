"""Settings, read once: host.json + local.settings.json + command-line options -> `Settings`."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .lenient_json import LenientJsonError, parse_object

DEFAULT_PORT = 7071
DEFAULT_RPC_PORT = 17071
DEFAULT_HUB = "TestHubName"
# The app setting that overrides host.json's task hub name (the Functions host's override of any key).
HUB_SETTING = "AzureFunctionsJobHost__extensions__durableTask__hubName"
log = logging.getLogger("devhost.config")
_HUB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,44}$")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything devhost needs to know about the app and how to serve it."""

    app_dir: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    rpc_port: int = DEFAULT_RPC_PORT
    store_url: str = ""
    time_skipping: bool = False
    route_prefix: str = "api"
    hub_name: str = DEFAULT_HUB
    # host.json extensions.durableTask.overridableExistingInstanceStates: with AnyState a start replaces
    # an instance of the same id whatever its state (azure-functions-durable-extension,
    # src/WebJobs.Extensions.DurableTask/OverridableStates.cs).
    replace_active_instances: bool = False
    max_concurrent_activities: int = 20
    max_concurrent_orchestrations: int = 20
    max_concurrent_entities: int = 20
    # host.json durableTask.httpSettings.defaultAsyncRequestSleepTimeMilliseconds (HttpOptions.cs), sent
    # to the SDK in every orchestration payload.
    http_async_sleep_ms: int = 30000
    # host.json extensions.durableTask.defaultVersion: the version of an orchestration started without
    # one (ExecutionStarted.Version, which the SDK gives as `context.version`).
    default_version: str = ""
    values: dict[str, str] = field(default_factory=dict)
    # --auth: function routes need a function key and the Durable HTTP API the system key.
    auth: bool = False
    # The system key the check-status URLs carry as `code=` (set at start when auth is on; never shown).
    system_key: str = field(default="", repr=False)
    # Browser protection (devhost/api/browser_guard.py): extra Host names, and the CORS origins
    # (`--cors`, else local.settings.json Host.CORS, as func start reads them).
    allowed_hosts: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    cors_credentials: bool = False

    @property
    def keys_path(self) -> Path:
        """Where the host keys are kept (git-ignored, like the SQLite file)."""
        return self.app_dir / ".devhost" / "keys.json"

    @property
    def default_store_url(self) -> str:
        return f"sqlite:{self.app_dir / '.devhost' / 'durable.db'}"


def _read_json(path: Path, what: str) -> dict[str, Any]:
    """The file's one JSON object, read leniently as the Functions host reads host.json.

    The host refuses a host.json that `JObject.Parse` refuses ("Unable to parse host configuration
    file"); devhost refuses it too, and says where and why. Core Tools reads local.settings.json with
    the same parser but silently drops the whole file when it fails; devhost refuses that as well.
    """
    if not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what} at {path}: {exc}") from exc
    try:
        return parse_object(text)
    except LenientJsonError as exc:
        raise ConfigError(f"{what} at {path}, line {exc.line}, column {exc.column}: {exc.message}") from exc


def _hub_name(durable: dict[str, Any], values: dict[str, str]) -> str:
    explicit = durable.get("hubName")
    if explicit is None:
        return DEFAULT_HUB
    name = str(explicit)
    # %SETTING% refers to an app setting, as in the real host.
    if name.startswith("%") and name.endswith("%"):
        name = values.get(name[1:-1]) or os.environ.get(name[1:-1], "")
    if not _HUB_NAME.match(name):
        raise ConfigError(
            f"Task hub name '{name}' should contain only alphanumeric characters, "
            "start with a letter, and have length between 3 and 45."
        )
    return name


def _http_async_sleep_ms(durable: dict[str, Any]) -> int:
    http_settings = durable.get("httpSettings") or {}
    value = (
        http_settings.get("defaultAsyncRequestSleepTimeMilliseconds", 30000)
        if isinstance(http_settings, dict)
        else 30000
    )
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(
            "host.json extensions.durableTask.httpSettings.defaultAsyncRequestSleepTimeMilliseconds "
            f"must be a whole number of milliseconds, not {value!r}"
        ) from None


_OVERRIDABLE_STATES = {"anystate": True, "nonrunningstates": False, "0": True, "1": False}


def _replace_active(durable: dict[str, Any]) -> bool:
    """overridableExistingInstanceStates, read as .NET binds an enum: any case, or its number."""
    value = durable.get("overridableExistingInstanceStates")
    if value is None:
        return False
    found = _OVERRIDABLE_STATES.get(str(value).strip().lower())
    if found is None:
        raise ConfigError(
            f"host.json extensions.durableTask.overridableExistingInstanceStates must be AnyState or "
            f"NonRunningStates, not {value!r}"
        )
    return found


_OVERRIDE_PREFIX = "azurefunctionsjobhost__"


def _override_host_json(host_json: dict[str, Any], values: dict[str, str]) -> None:
    """Apply `AzureFunctionsJobHost__path__to__key` settings to host.json, as the Functions host does.

    Values from local.settings.json first, then the environment, which wins. Keys match case-insensitively.
    """
    overrides = {**values, **os.environ}
    for name, value in overrides.items():
        if not name.lower().startswith(_OVERRIDE_PREFIX):
            continue
        *path, leaf = name[len(_OVERRIDE_PREFIX) :].split("__")
        node = host_json
        for part in path:
            key = next((k for k in node if k.lower() == part.lower()), part)
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[next((k for k in node if k.lower() == leaf.lower()), leaf)] = value


def load_settings(
    app_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    rpc_port: int = DEFAULT_RPC_PORT,
    store_url: str | None = None,
    time_skipping: bool = False,
    auth: bool = False,
    allowed_hosts: tuple[str, ...] = (),
    cors: str | None = None,
    cors_credentials: bool | None = None,
) -> Settings:
    """Read the app's config files; raise ConfigError naming the file and the problem."""
    root = Path(app_dir).resolve()
    if not (root / "function_app.py").exists() and not any(root.glob("*/function.json")):
        raise ConfigError(
            f"no function_app.py and no */function.json in {root}: "
            "--app must name a Python function app folder"
        )
    host_json = _read_json(root / "host.json", "host.json")
    local = _read_json(root / "local.settings.json", "local.settings.json")
    raw_values = local.get("Values", {})
    if not isinstance(raw_values, dict):
        raise ConfigError("local.settings.json 'Values' must be an object of strings")
    values = {str(k): "" if v is None else str(v) for k, v in raw_values.items()}
    _override_host_json(host_json, values)
    extensions = host_json.get("extensions") or {}
    http = extensions.get("http") or {}
    durable = extensions.get("durableTask") or {}
    prefix = http.get("routePrefix", "api")
    if not isinstance(prefix, str):
        raise ConfigError("host.json extensions.http.routePrefix must be a string")
    cores = os.cpu_count() or 1
    origins, credentials = _cors(local, cors, cors_credentials)
    return Settings(
        app_dir=root,
        host=host,
        port=port,
        rpc_port=rpc_port,
        store_url=store_url or "",
        time_skipping=time_skipping,
        route_prefix=prefix.strip("/"),
        hub_name=_hub_name(durable, values),
        replace_active_instances=_replace_active(durable),
        max_concurrent_activities=int(durable.get("maxConcurrentActivityFunctions", 10 * cores)),
        max_concurrent_orchestrations=int(durable.get("maxConcurrentOrchestratorFunctions", 10 * cores)),
        max_concurrent_entities=int(durable.get("maxConcurrentEntityFunctions", 10 * cores)),
        http_async_sleep_ms=_http_async_sleep_ms(durable),
        default_version=_default_version(durable),
        values=values,
        auth=auth,
        allowed_hosts=tuple(allowed_hosts),
        cors_origins=origins,
        cors_credentials=credentials,
    )


def _default_version(durable: dict[str, Any]) -> str:
    value = durable.get("defaultVersion")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConfigError('host.json extensions.durableTask.defaultVersion must be a string, e.g. "1.0"')
    return value


def _cors(local: dict[str, Any], cors: str | None, credentials: bool | None) -> tuple[tuple[str, ...], bool]:
    """The CORS origins and credentials flag: the command line's, else local.settings.json `Host`'s."""
    section = local.get("Host") or {}
    if not isinstance(section, dict):
        raise ConfigError("local.settings.json 'Host' must be an object")
    text = cors if cors is not None else section.get("CORS", "")
    if not isinstance(text, str):
        raise ConfigError("local.settings.json Host.CORS must be a comma-separated string of origins")
    origins = tuple(o.strip() for o in text.split(",") if o.strip())
    if credentials is None:
        flag = section.get("CORSCredentials", False)
        credentials = flag if isinstance(flag, bool) else str(flag).strip().lower() == "true"
    if credentials and "*" in origins:
        # ASP.NET Core, which func start's CORS runs on, refuses this policy as insecure.
        raise ConfigError(
            "CORS origin '*' cannot be combined with credentials (--cors-credentials or "
            "Host.CORSCredentials): list the origins instead"
        )
    return origins, bool(credentials)


def app_setting(name: str, values: Mapping[str, str] | None = None) -> str:
    """An app setting as the Functions host sees it: the environment first (where `func start` and
    `apply_app_settings` put local.settings.json Values, and where CI overrides them), then `values`.
    devhost reads the environment here and nowhere else."""
    return os.environ.get(name) or (values or {}).get(name) or ""


def apply_app_settings(settings: Settings) -> None:
    """Expose local.settings.json Values to the app as environment variables, as `func start` does.

    A variable already set in the environment wins, so CI and users can override a value.
    """
    for key, value in settings.values.items():
        os.environ.setdefault(key, value)
