"""devhost installed from a clean copy of this repository into a fresh venv, used by a project elsewhere.

`pip install <repo>[testing]` must give the `devhost` command and the pytest plugin (entry point
`pytest11`) and nothing of the sample app; a function-chaining app written to a temporary folder, far
from this repository, is then tested with the plugin and served with `devhost start`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from devhost.process import free_port

from .packaging import ROOT

pytestmark = pytest.mark.package

CHAINING_APP = """\
import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="orchestrators/{functionName}")
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client):
    instance_id = await client.start_new(req.route_params["functionName"])
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def hello_orchestrator(context: df.DurableOrchestrationContext):
    result1 = yield context.call_activity("hello", "Seattle")
    context.set_custom_status("Seattle done")
    result2 = yield context.call_activity("hello", "Tokyo")
    result3 = yield context.call_activity("hello", "London")
    return [result1, result2, result3]


@app.activity_trigger(input_name="city")
def hello(city: str) -> str:
    return f"Hello {city}"
"""

PROJECT_TESTS = """\
import pytest


async def test_the_chain_completes(durable_host):
    client = durable_host.client()
    instance_id = await client.start_new("hello_orchestrator")
    done = await durable_host.wait_for(instance_id, runtime_status="Completed")
    assert done.output == ["Hello Seattle", "Hello Tokyo", "Hello London"]
    assert done.custom_status == "Seattle done"


async def test_a_stand_in_activity(durable_host):
    durable_host.replace_activity("hello", lambda city: city.upper())
    instance_id = await durable_host.client().start_new("hello_orchestrator")
    done = await durable_host.wait_for(instance_id)
    assert done.output == ["SEATTLE", "TOKYO", "LONDON"]
    events = [e["EventType"] for e in await durable_host.history(instance_id)]
    assert events.count("TaskCompleted") == 3
"""


def _clean_copy(dest: Path) -> Path:
    """The repository's files as a clone would have them (tracked and not ignored), nothing built."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for relative in filter(None, listed.split("\0")):
        source = ROOT / relative
        if source.is_file() and not source.is_symlink():
            (dest / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / relative)
    return dest


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("install")
    repo = _clean_copy(base / "repo")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
    install = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"{repo}[testing]",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr
    return venv


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project of its own: the app in app/, its tests in tests/, devhost_app in pyproject.toml."""
    project = tmp_path_factory.mktemp("elsewhere") / "myproject"
    (project / "app").mkdir(parents=True)
    (project / "app" / "function_app.py").write_text(CHAINING_APP)
    (project / "app" / "host.json").write_text(json.dumps({"version": "2.0"}))
    (project / "tests").mkdir()
    (project / "tests" / "test_chain.py").write_text(PROJECT_TESTS)
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [tool.pytest.ini_options]
            devhost_app = "app"
            asyncio_mode = "auto"
            """
        )
    )
    return project


def _clean_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "HOME": os.environ.get("HOME", "/tmp")}


def test_the_install_holds_devhost_and_not_the_sample_app(venv: Path) -> None:
    python = venv / "bin" / "python"
    probe = (
        "import importlib.util, json, devhost, devhost.testing;"
        "from importlib.metadata import entry_points, files;"
        "print(json.dumps({'file': devhost.__file__,"
        " 'plugins': [e.value for e in entry_points(group='pytest11')],"
        " 'installed': sorted({f.parts[0] for f in files('devhost') if f.parts[0] != '..'}),"
        " 'app': [m for m in ('function_app', 'orchestrators', 'activities', 'clients')"
        " if importlib.util.find_spec(m)]}))"
    )
    run = subprocess.run(
        [str(python), "-I", "-c", probe], capture_output=True, text=True, cwd=venv, env=_clean_env()
    )
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout)
    assert found["file"].startswith(str(venv))
    assert "devhost.testing" in found["plugins"]
    assert found["app"] == []
    assert found["installed"] == ["devhost", "devhost-0.1.0.dist-info"]
    assert (venv / "bin" / "devhost").exists()


def test_the_plugin_runs_a_project_outside_the_repository(venv: Path, project: Path) -> None:
    run = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env=_clean_env(),
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout


def test_the_devhost_command_serves_the_app(venv: Path, project: Path, tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "devhost.log").open("wb")
    server = subprocess.Popen(
        [
            str(venv / "bin" / "devhost"),
            "start",
            "--app",
            "app",
            "--port",
            str(port),
            "--rpc-port",
            "0",
            "--store",
            "memory",
            "--time-skipping",
        ],
        cwd=project,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**_clean_env(), "PYTHONUNBUFFERED": "1"},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_serving(server, tmp_path / "devhost.log")
        with urllib.request.urlopen(f"{base}/api/orchestrators/hello_orchestrator", timeout=10) as reply:
            status_url = json.load(reply)["statusQueryGetUri"]
        status = _poll_until_done(status_url)
        assert status["runtimeStatus"] == "Completed"
        assert status["output"] == ["Hello Seattle", "Hello Tokyo", "Hello London"]
        listed = subprocess.run(
            [str(venv / "bin" / "devhost"), "instances", "list", "--url", base, "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            env=_clean_env(),
        )
        assert listed.returncode == 0, listed.stderr
        assert [i["name"] for i in json.loads(listed.stdout)] == ["hello_orchestrator"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    assert server.returncode == 0, (tmp_path / "devhost.log").read_text()


def _wait_until_serving(server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while "Press Ctrl+C" not in log.read_text(errors="replace"):
        assert server.poll() is None, log.read_text(errors="replace")
        assert time.monotonic() < deadline, log.read_text(errors="replace")
        time.sleep(0.05)


def _poll_until_done(url: str) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while True:
        with urllib.request.urlopen(url, timeout=10) as reply:
            body = json.load(reply)
        if body["runtimeStatus"] not in ("Pending", "Running") or time.monotonic() > deadline:
            return body
        time.sleep(0.05)
