"""host.json and local.settings.json -> Settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devhost.config import DEFAULT_HUB, HUB_SETTING, load_settings
from devhost.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def make_app(tmp_path: Path, host: object | str | None = None, local: object | None = None) -> Path:
    (tmp_path / "function_app.py").write_text("")
    if host is not None:
        (tmp_path / "host.json").write_text(host if isinstance(host, str) else json.dumps(host))
    if local is not None:
        (tmp_path / "local.settings.json").write_text(json.dumps(local))
    return tmp_path


def test_the_apps_own_config() -> None:
    s = load_settings(ROOT)
    assert s.hub_name == "CustomStatusHub"
    assert s.route_prefix == "api"
    assert s.values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert s.values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"
    assert s.default_store_url == f"sqlite:{ROOT / '.devhost' / 'durable.db'}"


def test_defaults_without_config_files(tmp_path: Path) -> None:
    s = load_settings(make_app(tmp_path))
    assert (s.hub_name, s.route_prefix, s.port, s.host) == (DEFAULT_HUB, "api", 7071, "127.0.0.1")


def test_route_prefix_may_be_empty(tmp_path: Path) -> None:
    s = load_settings(make_app(tmp_path, {"version": "2.0", "extensions": {"http": {"routePrefix": ""}}}))
    assert s.route_prefix == ""


@pytest.mark.parametrize("name", ["ab", "1hub", "my-hub", "x" * 46])
def test_invalid_hub_names_are_rejected_with_the_rule(tmp_path: Path, name: str) -> None:
    app = make_app(tmp_path, {"extensions": {"durableTask": {"hubName": name}}})
    with pytest.raises(ConfigError, match="alphanumeric"):
        load_settings(app)


def test_hub_name_from_an_app_setting(tmp_path: Path) -> None:
    app = make_app(
        tmp_path, {"extensions": {"durableTask": {"hubName": "%HUB%"}}}, {"Values": {"HUB": "FromSetting"}}
    )
    assert load_settings(app).hub_name == "FromSetting"


def test_host_json_is_overridden_by_azure_functions_job_host_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = HUB_SETTING
    app = make_app(
        tmp_path, {"extensions": {"durableTask": {"hubName": "InHostJson"}}}, {"Values": {name: "FromValues"}}
    )
    monkeypatch.delenv(name, raising=False)
    assert load_settings(app).hub_name == "FromValues"
    monkeypatch.setenv(name.upper(), "FromEnvironment")
    assert load_settings(app).hub_name == "FromEnvironment"


def test_broken_json_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"host\.json"):
        load_settings(make_app(tmp_path, '{"version": '))


def test_text_after_the_json_object_is_refused_like_the_host_does(tmp_path: Path) -> None:
    """azure-functions-host, HostJsonFileConfigurationSource.cs: JObject.Parse refuses a second object."""
    with pytest.raises(ConfigError, match=r"host\.json.*line 1, column 19"):
        load_settings(make_app(tmp_path, '{"version": "2.0"}{"version": "2.0"}'))


def test_a_folder_without_function_app_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"function_app\.py"):
        load_settings(tmp_path)


def test_http_polling_interval_from_host_json(tmp_path: Path) -> None:
    """azure-functions-durable-extension, Options/HttpOptions.cs: httpSettings, default 30000 ms."""
    assert load_settings(make_app(tmp_path, {"version": "2.0"})).http_async_sleep_ms == 30000
    durable = {"durableTask": {"httpSettings": {"defaultAsyncRequestSleepTimeMilliseconds": 500}}}
    assert (
        load_settings(make_app(tmp_path, {"version": "2.0", "extensions": durable})).http_async_sleep_ms
        == 500
    )
    durable["durableTask"]["httpSettings"]["defaultAsyncRequestSleepTimeMilliseconds"] = "soon"
    with pytest.raises(ConfigError, match="defaultAsyncRequestSleepTimeMilliseconds"):
        load_settings(make_app(tmp_path, {"version": "2.0", "extensions": durable}))


@pytest.mark.parametrize(
    ("value", "replaces"),
    [
        (None, False),
        ("NonRunningStates", False),
        ("AnyState", True),
        ("anystate", True),
        (0, True),
    ],
)
def test_overridable_existing_instance_states(tmp_path: Path, value: object, replaces: bool) -> None:
    """OverridableStates.cs (azure-functions-durable-extension), bound as an enum: any case or number."""
    durable = {} if value is None else {"overridableExistingInstanceStates": value}
    app = make_app(tmp_path, {"version": "2.0", "extensions": {"durableTask": durable}})
    assert load_settings(app).replace_active_instances is replaces


def test_overridable_existing_instance_states_must_be_known(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"extensions": {"durableTask": {"overridableExistingInstanceStates": "Some"}}})
    with pytest.raises(ConfigError, match="AnyState or NonRunningStates"):
        load_settings(app)
