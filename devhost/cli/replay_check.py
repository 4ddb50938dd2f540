"""`devhost replay-check --app DIR [--store URL] [--name ORCHESTRATOR]`: would today's code replay the
stored instances? Exit 1 when any instance's history is no longer reproduced, 2 when nothing can be
checked (no such app, an unreachable store)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import DevHostError
from .tables import table


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "replay-check",
        help="replay every stored history through the current orchestrator code and report divergences",
    )
    parser.add_argument("--app", default=".", help="function app folder (default: current folder)")
    parser.add_argument(
        "--store", default=None, help="sqlite:PATH (default sqlite:<app>/.devhost/durable.db) or azure"
    )
    parser.add_argument("--name", default=None, help="check only instances of this orchestrator")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from ..config import load_settings
    from ..replay_check import check_store  # imports the SDK: only when the command runs

    try:
        settings = load_settings(args.app, store_url=args.store)
        store_url = settings.store_url or settings.default_store_url
        if store_url == "memory":
            raise DevHostError("the memory store keeps nothing between runs: name a sqlite: or azure store")
        report = asyncio.run(check_store(settings, store_url, args.name))
    except DevHostError as error:
        print(f"devhost: {error}", file=sys.stderr)
        return 2
    if args.json:
        body = {"checked": report.checked, "diverged": [f.as_dict() for f in report.findings]}
        print(json.dumps(body, indent=2))
    else:
        if report.findings:
            rows = [(f.instance_id, f.name, f.event, f.recorded, f.now) for f in report.findings]
            print(table(("INSTANCE", "ORCHESTRATOR", "EVENT", "RECORDED", "NOW"), rows))
            print()
        print(
            f"{report.checked} instance(s) replayed; {len(report.findings)} no longer reproduce their history"
            + (" (the code would fail or change them when they next run)" if report.findings else "")
        )
    return 1 if report.findings else 0
