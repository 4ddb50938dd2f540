"""`devhost time now` and `devhost time advance DURATION`: read and move a running host's virtual clock.

Talks to /runtime/devhost/api/time of a host started with `devhost start` (http://localhost:7071 unless
--url says otherwise; --key or --keys-file for a host started with --auth). `advance` answers once the
work that fell due has run: each timer on the way fires at its own time, in order.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..api import TIME_PATH
from ..durations import parse_duration
from .http_client import DEFAULT_URL, ApiClient, CliError, key_from_file


def add_parser(sub: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=DEFAULT_URL, help=f"the host (default {DEFAULT_URL})")
    common.add_argument("--key", help="system or master key, for a host started with --auth")
    common.add_argument("--keys-file", type=Path, help="read the system key from this keys.json")
    common.add_argument("--json", action="store_true", help="print the host's JSON answer")

    clock = sub.add_parser("time", help="read or move the virtual clock of a running host")
    verbs = clock.add_subparsers(dest="verb", required=True)
    now = verbs.add_parser(
        "now", parents=[common], help="the host's time, and how far ahead of the wall clock"
    )
    now.set_defaults(handler=_run(_now))
    advance = verbs.add_parser(
        "advance", parents=[common], help="move the clock ahead, firing the timers that fall due in order"
    )
    advance.add_argument("duration", help="90s, 15m, 2h, 1h30m, 1d, or ISO 8601 such as PT2H")
    advance.add_argument(
        "--timeout", type=float, default=60.0, help="seconds the work that falls due may take (default 60)"
    )
    advance.set_defaults(handler=_run(_advance))


def _run(action: Any) -> Any:
    def handler(args: argparse.Namespace) -> int:
        try:
            key = args.key or (key_from_file(args.keys_file) if args.keys_file else None)
            answer = action(ApiClient(args.url, key), args)
        except CliError as error:
            print(f"devhost: {error}", file=sys.stderr)
            return 1
        print(json.dumps(answer, indent=2) if args.json else _text(answer))
        return 0

    return handler


def _now(api: ApiClient, args: argparse.Namespace) -> Any:
    return api.request("GET", "", base=TIME_PATH).body


def _advance(api: ApiClient, args: argparse.Namespace) -> Any:
    try:
        parse_duration(args.duration)  # the host checks it too; this says so before any call
    except ValueError as error:
        raise CliError(str(error)) from None
    api.timeout = args.timeout + 30.0
    body = {"by": args.duration, "timeout": args.timeout}
    return api.request("POST", "/advance", body=body, send_body=True, base=TIME_PATH, ok=(200,)).body


def _text(answer: Any) -> str:
    if not isinstance(answer, dict):
        return str(answer)
    lines = []
    if "before" in answer:
        lines.append(
            f"advanced {answer.get('advancedBy')}: {answer.get('before')} -> {answer.get('now')} "
            f"({answer.get('dueTimesPassed')} due time(s) passed)"
        )
    else:
        lines.append(f"now {answer.get('now')} ({answer.get('mode')} clock)")
    lines.append(f"wall clock {answer.get('wallClock')}, ahead by {answer.get('aheadBySeconds')} s")
    return "\n".join(lines)
