"""The `devhost` command (also `python -m devhost`): one module per subcommand."""

from __future__ import annotations

import argparse

from . import clock, instances, replay_check, start


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="devhost", description="Run a Python Durable Functions app locally.")
    sub = top.add_subparsers(dest="command", required=True)
    start.add_parser(sub)
    instances.add_parser(sub)
    replay_check.add_parser(sub)
    clock.add_parser(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.handler(args))
