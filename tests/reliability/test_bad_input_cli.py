"""Bad input on the command line: `devhost instances ...` with odd, missing and wrong arguments.

Every subcommand is run against a live host with ids, event names, JSON data, filters, --url, --key and
--keys-file drawn by hypothesis (the same odd strings as the HTTP fuzzing, as a shell would pass them:
bytes that are not UTF-8 arrive as surrogate escapes, and no NUL). Whatever the arguments: exit code
0, 1 (the host refused, its message printed) or 2 (wrong arguments, nothing sent), never a traceback,
a one-line message on every failure, and the store as it was after every failure.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devhost.cli import main
from devhost.process import DevhostProcess

from .probe import WEBHOOKS, send, settle
from .store_state import store_state
from .test_bad_input import KNOWN_IDS, texts

ROOT = Path(__file__).resolve().parents[2]
WITH_ID = ["show", "history", "terminate", "suspend", "resume", "rewind", "restart"]
SEEDS = [
    ("E1_HelloSequence", "bad-done", None),
    ("SetStatusTest", "bad-waiting", b'{"timeout": 3600}'),
    ("CityRecommender", "bad-failed", b"7"),
]


def as_typed(text: str) -> str:
    """`text` as a process receives it in argv: its UTF-8 bytes, decoded with surrogateescape."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "surrogateescape")


def args() -> st.SearchStrategy[str]:
    return texts().filter(lambda t: "\x00" not in t).map(as_typed)


def run(argv: list[str]) -> tuple[int, str, str]:
    """`devhost ARGV` in this process: (exit code, stdout, stderr); any other exception fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def reseed(host: DevhostProcess) -> None:
    """Bring back the instances the requests aim at, if an earlier command purged them."""
    started = False
    for name, instance_id, body in SEEDS:
        if send(host.port, "GET", f"{WEBHOOKS}/instances/{instance_id}").status == 404:
            headers = {"Content-Type": "application/json"}
            send(
                host.port,
                "POST",
                f"{WEBHOOKS}/orchestrators/{name}/{instance_id}",
                body=body,
                headers=headers,
            )
            started = True
    if started:
        settle(host.port)


def check(code: int, err: str, what: str) -> None:
    assert code in (0, 1, 2), f"{what}: exit code {code}\n{err}"
    assert "Traceback" not in err, f"{what}: {err}"
    if code:
        assert err.strip(), f"{what}: exit code {code} without a message"
        assert err.startswith("devhost: ") or "usage: devhost" in err, f"{what}: {err}"


@st.composite
def command_lines(draw: st.DrawFn, url: str) -> list[str]:
    verb = draw(st.sampled_from(["list", *WITH_ID, "raise", "purge"]), label="verb")
    argv = ["instances", verb]
    ident = st.one_of(st.sampled_from(KNOWN_IDS), args())
    if verb in WITH_ID or (verb == "purge" and draw(st.booleans())):
        argv.append(draw(ident, label="instance id"))
    if verb == "raise":
        argv += [draw(ident), draw(st.one_of(st.sampled_from(["Proceed", "Go"]), args()), label="event")]
        if draw(st.booleans()):
            json_text = st.sampled_from(
                ["null", "{}", '"text"', "[1, 2]", "{", "nul", "1e999999", "[" * 5000]
            )
            argv.append(draw(st.one_of(json_text, args()), label="data"))
    options = {
        "--status": st.one_of(st.sampled_from(["Completed", "running,FAILED", "Sleeping", ","]), args()),
        "--limit": st.one_of(st.sampled_from(["1", "0", "-1", "x", "99999999999999999999"]), args()),
        "--id-prefix": args(),
        "--created-from": st.one_of(
            st.sampled_from(["2026-01-01T00:00:00Z", "yesterday", "9999-99-99"]), args()
        ),
        "--created-to": args(),
        "--name": args(),
        "--reason": args(),
        "--key": args(),
        "--keys-file": st.one_of(st.sampled_from(["/nonexistent/keys.json", "/", "/dev/null"]), args()),
    }
    for option in draw(st.lists(st.sampled_from(sorted(options)), max_size=3, unique=True), label="options"):
        argv += [option, draw(options[option], label=option)]
    for flag in draw(st.lists(st.sampled_from(["--json", "--same-id", "--bogus", "-x"]), max_size=2)):
        argv.append(flag)
    argv += ["--url", url]
    if draw(st.booleans(), label="a wrong --url last"):
        argv += [
            "--url",
            draw(
                st.one_of(
                    st.sampled_from(["", "ftp://x", "http://[::1", "http://127.0.0.1:99999", "x"]), args()
                )
            ),
        ]
    return argv


@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_instance_commands_refuse_bad_arguments_cleanly(seeded: DevhostProcess, data: st.DataObject) -> None:
    reseed(seeded)
    argv = data.draw(command_lines(seeded.url), label="argv")
    before = store_state(seeded)
    code, _, err = run(argv)
    check(code, err, f"devhost {argv}")
    assert send(seeded.port, "GET", "/").status == 200, "the host stopped answering"
    if code:
        assert store_state(seeded) == before, f"a refused `devhost {argv}` changed the store"
    else:
        settle(seeded.port)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["list", "--status", "Sleeping"], "unknown status 'Sleeping'"),
        (["list", "--limit", "0"], "--limit must be 1 or more"),
        (["list", "--limit", "x"], "invalid int value"),
        (["raise", "bad-waiting", "Proceed", "{"], "the event data must be JSON"),
        (["purge"], "--created-from"),
        (["purge", "bad-done", "--status", "Completed"], "an instance ID or filters, not both"),
        (["show"], "the following arguments are required: instance_id"),
        (["frobnicate"], "invalid choice"),
        (["show", "bad-done", "--bogus"], "unrecognized arguments: --bogus"),
        (["terminate", "bad-waiting", "--reason"], "expected one argument"),
        (["show", "bad-done", "--url", "not a url"], "is not a host URL"),
        (["show", "bad-done", "--url", "http://127.0.0.1:99999"], "is not a URL"),
        (["show", "bad-done", "--url", "http://[::1"], "is not a URL"),
        (["show", "bad-done", "--key", "a\nb"], "a key is printable ASCII"),
        (["list", "--keys-file", "/nonexistent/keys.json"], "cannot read the keys file"),
        (["list", "--keys-file", "/dev/null"], "is not JSON"),
    ],
)
def test_wrong_arguments_exit_2_with_a_message_and_send_nothing(
    seeded: DevhostProcess, argv: list[str], says: str
) -> None:
    reseed(seeded)
    before = store_state(seeded)
    full = ["instances", *argv]
    if "--url" not in argv and argv[0] != "frobnicate":
        full += ["--url", seeded.url]
    code, _, err = run(full)
    check(code, err, f"devhost {full}")
    assert code == 2 and says in err, (code, err)
    assert store_state(seeded) == before


def test_an_id_that_is_not_utf8_reaches_the_host_as_typed(seeded: DevhostProcess) -> None:
    """A real process: argv bytes that are not UTF-8 (\\xff\\xfe) are sent percent-encoded; the host
    answers 404 for them, and the command says so in one line (exit code 1, no traceback)."""
    answer = subprocess.run(
        [sys.executable, "-m", "devhost", "instances", "show", b"bad-\xff\xfe", "--url", seeded.url],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    err = answer.stderr.decode("utf-8", "replace")
    assert answer.returncode == 1, err
    assert "Traceback" not in err and err.startswith("devhost: ") and "404" in err
