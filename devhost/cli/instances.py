"""`devhost instances ...`: list, inspect and manage the instances of a running host over its HTTP API.

Talks to the Durable HTTP API (/runtime/webhooks/durabletask) of a host started with `devhost start`
(or `func start`): http://localhost:7071 unless --url says otherwise; a host started with --auth wants
the system key, from --key or the host's keys file (--keys-file). Tables by default, --json for scripts.
Exit codes: 0 done, 1 the host refused (its message is printed) or cannot be reached, 2 the arguments
are wrong (nothing was sent).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .http_client import (
    DEFAULT_URL,
    ApiClient,
    CliError,
    UsageError,
    header_value,
    host_url,
    instance_path,
    key_from_file,
)
from .tables import fields, table

STATUSES = (
    "Pending",
    "Running",
    "Completed",
    "ContinuedAsNew",
    "Failed",
    "Canceled",
    "Terminated",
    "Suspended",
)
PAGE = 100


def add_parser(sub: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", type=host_url, default=DEFAULT_URL, help=f"the host (default {DEFAULT_URL})")
    common.add_argument(
        "--key", type=header_value, help="system or master key, for a host started with --auth"
    )
    common.add_argument("--keys-file", type=Path, help="read the system key from this keys.json")
    common.add_argument("--json", action="store_true", help="print JSON instead of a table")

    instances = sub.add_parser("instances", help="list and manage the instances of a running host")
    verbs = instances.add_subparsers(dest="verb", required=True)

    listing = verbs.add_parser("list", parents=[common], help="instances, newest filters first")
    _add_filters(listing)
    listing.add_argument("--name", help="only instances of this orchestrator")
    listing.add_argument("--limit", type=int, default=None, help="show at most this many")
    listing.set_defaults(handler=_run(list_instances))

    for verb, action, text in (
        ("show", show, "an instance's status, input, custom status and output"),
        ("history", history, "an instance's history events"),
    ):
        parser = verbs.add_parser(verb, parents=[common], help=text)
        parser.add_argument("instance_id")
        parser.set_defaults(handler=_run(action))

    raise_parser = verbs.add_parser("raise", parents=[common], help="raise an external event")
    raise_parser.add_argument("instance_id")
    raise_parser.add_argument("event")
    raise_parser.add_argument(
        "data", nargs="?", default="null", help="the event's JSON payload (default null)"
    )
    raise_parser.set_defaults(handler=_run(raise_event))

    for verb in ("terminate", "suspend", "resume", "rewind"):
        parser = verbs.add_parser(verb, parents=[common], help=f"{verb} an instance")
        parser.add_argument("instance_id")
        parser.add_argument("--reason", default=None)
        parser.set_defaults(handler=_run(_control(verb)))

    restart = verbs.add_parser("restart", parents=[common], help="start an instance again with its input")
    restart.add_argument("instance_id")
    restart.add_argument("--same-id", action="store_true", help="restart under the same instance ID")
    restart.set_defaults(handler=_run(restart_instance))

    purge = verbs.add_parser(
        "purge", parents=[common], help="delete an instance's state, or every instance matching filters"
    )
    purge.add_argument("instance_id", nargs="?")
    _add_filters(purge)
    purge.set_defaults(handler=_run(purge_instances))


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--status",
        action="append",
        default=[],
        help=f"runtime status, repeatable or comma separated: {', '.join(STATUSES)}",
    )
    parser.add_argument("--id-prefix", help="instance IDs starting with this")
    parser.add_argument("--created-from", help="created at or after this time (ISO 8601)")
    parser.add_argument("--created-to", help="created at or before this time (ISO 8601)")


def _run(action: Callable[[ApiClient, argparse.Namespace], Any]) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        try:
            key = args.key or (key_from_file(args.keys_file) if args.keys_file else None)
            result = action(ApiClient(args.url, key), args)
        except UnicodeEncodeError:
            print("devhost: an argument is not valid text (it holds a lone surrogate)", file=sys.stderr)
            return 2
        except CliError as error:
            print(f"devhost: {error}", file=sys.stderr)
            return 2 if isinstance(error, UsageError) else 1
        if isinstance(result, str):
            print(result)
        elif result is not None:
            print(json.dumps(result, indent=2))
        return 0

    return handler


def _statuses(values: list[str]) -> list[str]:
    chosen: list[str] = []
    for value in values:
        for name in filter(None, (v.strip() for v in value.split(","))):
            match = next((s for s in STATUSES if s.lower() == name.lower()), None)
            if match is None:
                raise UsageError(f"unknown status {name!r}; one of {', '.join(STATUSES)}")
            chosen.append(match)
    return chosen


def _filters(args: argparse.Namespace) -> list[tuple[str, str]]:
    query: list[tuple[str, str]] = []
    statuses = _statuses(args.status)
    if statuses:
        query.append(("runtimeStatus", ",".join(statuses)))
    for option, name in (
        ("id_prefix", "instanceIdPrefix"),
        ("created_from", "createdTimeFrom"),
        ("created_to", "createdTimeTo"),
    ):
        value = getattr(args, option)
        if value:
            query.append((name, value))
    return query


def list_instances(api: ApiClient, args: argparse.Namespace) -> Any:
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be 1 or more")
    found: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        headers = {"x-ms-continuation-token": token} if token else {}
        reply = api.request("GET", "/instances", query=[*_filters(args), ("top", str(PAGE))], headers=headers)
        page = reply.body if isinstance(reply.body, list) else []
        found.extend(i for i in page if not args.name or str(i.get("name", "")).lower() == args.name.lower())
        token = reply.headers.get("x-ms-continuation-token") or None
        if not token or (args.limit is not None and len(found) >= args.limit):
            break
    found = found[: args.limit] if args.limit is not None else found
    if args.json:
        return found
    if not found:
        return "no instances"
    rows = [
        (
            i.get("instanceId"),
            i.get("name"),
            i.get("runtimeStatus"),
            i.get("createdTime"),
            i.get("lastUpdatedTime"),
            i.get("customStatus"),
        )
        for i in found
    ]
    return table(("INSTANCE", "NAME", "STATUS", "CREATED", "UPDATED", "CUSTOM STATUS"), rows)


def show(api: ApiClient, args: argparse.Namespace) -> Any:
    status = api.request("GET", instance_path(args.instance_id), query=[("showInput", "true")]).object()
    if args.json:
        return status
    return fields(
        [
            ("Instance", status.get("instanceId")),
            ("Name", status.get("name")),
            ("Status", status.get("runtimeStatus")),
            ("Created", status.get("createdTime")),
            ("Updated", status.get("lastUpdatedTime")),
            ("Input", status.get("input")),
            ("Custom status", status.get("customStatus")),
            ("Output", status.get("output")),
        ]
    )


def history(api: ApiClient, args: argparse.Namespace) -> Any:
    query = [("showHistory", "true"), ("showHistoryOutput", "true"), ("showInput", "true")]
    events = (
        api.request("GET", instance_path(args.instance_id), query=query).object().get("historyEvents") or []
    )
    if args.json:
        return events
    rows = [
        (n, e.get("Timestamp"), e.get("EventType"), e.get("FunctionName") or e.get("Name"), _detail(e))
        for n, e in enumerate(events, 1)
    ]
    return table(("#", "TIMESTAMP", "EVENT", "NAME", "DETAIL"), rows)


def _detail(event: dict[str, Any]) -> Any:
    for key in ("Result", "Reason", "FireAt", "Input", "Details"):
        if event.get(key) is not None:
            return f"{key}: {json.dumps(event[key], default=str)}"
    return None


def raise_event(api: ApiClient, args: argparse.Namespace) -> Any:
    try:
        data = json.loads(args.data)
    except ValueError as error:
        raise UsageError(f"the event data must be JSON (quote strings: '\"text\"'): {error}") from None
    api.request("POST", instance_path(args.instance_id, "raiseEvent", args.event), body=data, send_body=True)
    return (
        {"raised": args.event, "instanceId": args.instance_id}
        if args.json
        else f"raised {args.event} on {args.instance_id}"
    )


def _control(verb: str) -> Callable[[ApiClient, argparse.Namespace], Any]:
    def action(api: ApiClient, args: argparse.Namespace) -> Any:
        query = [("reason", args.reason)] if args.reason else []
        api.request("POST", instance_path(args.instance_id, verb), query=query)
        past = {"resume": "resumed", "rewind": "rewound", "suspend": "suspended"}.get(verb, verb + "d")
        return {past: args.instance_id} if args.json else f"{past} {args.instance_id}"

    return action


def restart_instance(api: ApiClient, args: argparse.Namespace) -> Any:
    query = [("restartWithNewInstanceId", "false" if args.same_id else "true")]
    body = api.request("POST", instance_path(args.instance_id, "restart"), query=query).object()
    new_id = body.get("id")
    return (
        {"restarted": args.instance_id, "instanceId": new_id}
        if args.json
        else f"restarted {args.instance_id} as {new_id}"
    )


def purge_instances(api: ApiClient, args: argparse.Namespace) -> Any:
    filters = _filters(args)
    if args.instance_id is not None and filters:
        raise UsageError("purge takes an instance ID or filters, not both")
    if args.instance_id is not None:
        body = api.request("DELETE", instance_path(args.instance_id)).object()
    elif not args.created_from:
        raise UsageError("purge needs an instance ID, or --created-from (with any other filters)")
    else:
        body = api.request("DELETE", "/instances", query=filters).object()
    deleted = int((body or {}).get("instancesDeleted", 0))
    return {"instancesDeleted": deleted} if args.json else f"purged {deleted} instance(s)"
