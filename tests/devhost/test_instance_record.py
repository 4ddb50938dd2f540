"""An instance record keeps its ledger as the store's JSON text until the engine reads it."""

from __future__ import annotations

import json

from devhost.store import InstanceRecord, RuntimeStatus

STAMP = "2026-01-01T00:00:00.000000Z"


def _record(text: str | None) -> InstanceRecord:
    return InstanceRecord("i", "Orch", "e", RuntimeStatus.RUNNING, STAMP, STAMP, ledger_text=text)


def test_an_unread_ledger_is_written_back_as_it_was_read() -> None:
    text = '{"next":3,"cs":[["t","\\"Tokyo\\""]]}'
    assert _record(text).ledger_json() == text


def test_a_ledger_changed_in_place_after_reading_is_what_gets_written() -> None:
    record = _record('{"next":3}')
    record.ledger["next"] = 4
    assert json.loads(record.ledger_json()) == {"next": 4}


def test_a_replaced_ledger_is_what_gets_written() -> None:
    record = _record('{"next":3}')
    record.ledger = {"open": {"1": "timer"}}
    assert json.loads(record.ledger_json()) == {"open": {"1": "timer"}}
    assert record.ledger == {"open": {"1": "timer"}}


def test_no_ledger_reads_as_empty() -> None:
    assert _record(None).ledger == {}
    assert json.loads(_record(None).ledger_json()) == {}
