"""Microsoft's v1-model samples from the Durable Functions Python SDK repository, run unmodified.

The samples are not part of this repository: point DEVHOST_SDK_SAMPLES at the `samples` folder of a
checkout of Azure/azure-functions-durable-python. Each sample is copied to a temporary folder (devhost
writes its SQLite file under the app) and served by a devhost process. Only samples that need no
outside service run here; fan_in_fan_out backs files up to Blob Storage, so it runs on Azurite only.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from .devhost_process import DevhostProcess
from .http_steps import finished, start
from .stores import STORES, DurableStore, store_for

SAMPLES_SETTING = "DEVHOST_SDK_SAMPLES"


@pytest.fixture
def samples_dir() -> Path:
    """The SDK's samples folder (skips the test, before any store is started, when it is not there)."""
    configured = os.environ.get(SAMPLES_SETTING)
    if not configured:
        pytest.skip(f"{SAMPLES_SETTING} is not set (the samples folder of azure-functions-durable-python)")
    folder = Path(configured)
    if not (folder / "function_chaining").is_dir():
        pytest.skip(f"{SAMPLES_SETTING}={configured} has no function_chaining sample folder")
    return folder


@pytest.fixture
def sample(
    samples_dir: Path, request: pytest.FixtureRequest, tmp_path: Path, durable_store: DurableStore
) -> Iterator[tuple[DevhostProcess, Path]]:
    """The sample named by indirect parametrization, copied and served on the test's store."""
    app = tmp_path / "app"
    shutil.copytree(samples_dir / request.param, app)
    proc = DevhostProcess(tmp_path, durable_store.url, app=app, env=durable_store.env).start()
    yield proc, app
    proc.stop()


async def run_sample(
    http: aiohttp.ClientSession, proc: DevhostProcess, name: str, body: Any = None
) -> dict[str, Any]:
    started = await start(http, proc.url, name, body)
    return await finished(http, proc.url, started["id"])


@pytest.mark.parametrize("sample", ["function_chaining"], indirect=True)
async def test_function_chaining(sample: tuple[DevhostProcess, Path], http: aiohttp.ClientSession) -> None:
    done = await run_sample(http, sample[0], "E1_HelloSequence")
    assert done["runtimeStatus"] == "Completed", done
    assert done["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]


@pytest.mark.parametrize("sample", ["function_chaining_custom_status"], indirect=True)
async def test_function_chaining_custom_status(
    sample: tuple[DevhostProcess, Path], http: aiohttp.ClientSession
) -> None:
    done = await run_sample(http, sample[0], "DurableOrchestration")
    assert done["runtimeStatus"] == "Completed", done
    assert done["output"] == 3
    assert done["customStatus"] == "1 -> 2 -> 3"


@pytest.mark.parametrize("sample", ["simple_sub_orchestration"], indirect=True)
async def test_simple_sub_orchestration(
    sample: tuple[DevhostProcess, Path], http: aiohttp.ClientSession
) -> None:
    done = await run_sample(http, sample[0], "DurableOrchestrator")
    assert done["runtimeStatus"] == "Completed", done
    assert done["output"] == "Hello Seattle!"


@pytest.mark.parametrize("sample", ["serialize_arguments"], indirect=True)
async def test_serialize_arguments(sample: tuple[DevhostProcess, Path], http: aiohttp.ClientSession) -> None:
    done = await run_sample(http, sample[0], "DurableOrchestration")
    assert done["runtimeStatus"] == "Completed", done
    assert done["output"] == 5
    assert json.loads(done["input"])["__class__"] == "SerializableClass"


@pytest.fixture(params=[p for p in STORES if not isinstance(p, str)])
def azurite_store(request: pytest.FixtureRequest, tmp_path: Path) -> DurableStore:
    return store_for(request.param, tmp_path, request)


async def test_fan_in_fan_out_backs_up_to_blob_storage(
    samples_dir: Path, tmp_path: Path, azurite_store: DurableStore, http: aiohttp.ClientSession
) -> None:
    from azure.storage.blob import BlobServiceClient

    app = tmp_path / "app"
    shutil.copytree(samples_dir / "fan_in_fan_out", app)
    blobs = BlobServiceClient.from_connection_string(azurite_store.env["AzureWebJobsStorage"])
    backups = blobs.get_container_client("backups")
    if backups.exists():  # the sample uploads fixed blob names and fails on ones left by an earlier run
        for blob in backups.list_blobs():
            backups.delete_blob(blob.name)
    proc = DevhostProcess(tmp_path, azurite_store.url, app=app, env=azurite_store.env).start()
    try:
        done = await run_sample(http, proc, "E2_BackupSiteContent", str(app))
    finally:
        proc.stop()
    assert done["runtimeStatus"] == "Completed", done
    copied = [
        p for p in app.rglob("*") if "E2_" in str(p.parent) and p.name in ("__init__.py", "function.json")
    ]
    assert done["output"] == sum(p.stat().st_size for p in copied)
    assert sorted(b.name for b in backups.list_blobs()) == sorted(f"{p.parent.name}_{p.name}" for p in copied)
