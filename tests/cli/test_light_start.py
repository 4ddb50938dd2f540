"""The `devhost` command and the pytest plugin load none of the host until a subcommand needs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ["aiohttp", "asyncio", "azure.functions", "azure.durable_functions", "devhost.host", "devhost.engine"]


def loaded_after(statement: str) -> list[str]:
    """Which of HEAVY a fresh interpreter has imported after running `statement`."""
    probe = (
        f"import sys\n{statement}\nimport json\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "statement",
    [
        "import devhost.cli; devhost.cli.parser()",
        "import devhost.cli\ntry:\n    devhost.cli.main(['--help'])\nexcept SystemExit:\n    pass",
    ],
)
def test_the_command_line_stays_light(statement: str) -> None:
    assert loaded_after(statement) == []


def test_the_plugin_import_stays_light() -> None:
    # pytest-asyncio, loaded beside it, imports asyncio anyway: the rest must wait for a test.
    assert loaded_after("import asyncio, devhost.testing") == ["asyncio"]


def test_the_probe_sees_a_heavy_import() -> None:
    assert {"aiohttp", "asyncio", "devhost.engine", "devhost.host"} <= set(
        loaded_after("import devhost.host")
    )


def test_a_host_on_the_memory_store_loads_no_azure_sdk() -> None:
    # azure.core is what the azure store needs; the others would pay about 30 ms a new process for it.
    run = (
        "import asyncio, json, sys\nfrom devhost import DevHost\n"
        "async def main():\n"
        "    async with DevHost('.', store='memory', port=0, rpc_port=0, workers=0) as host:\n"
        "        client = host.client()\n"
        "        iid = await client.start_new('E1_HelloSequence', None, ['Tokyo'])\n"
        "        while (await client.get_status(iid)).runtime_status.value != 'Completed':\n"
        "            await asyncio.sleep(0.01)\n"
        "asyncio.run(main())\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('azure.core'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", run], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
