"""Every scenario of the app, driven over HTTP against devhost running as its own process."""

from __future__ import annotations

import json

import aiohttp

from .devhost_process import DevhostProcess
from .http_steps import WEBHOOKS, finished, raise_event, start, status, wait_until


async def test_hello_sequence_reports_each_city_and_returns_greetings(
    devhost: DevhostProcess, http: aiohttp.ClientSession
) -> None:
    started = await start(http, devhost.url, "E1_HelloSequence")
    done = await finished(http, devhost.url, started["id"])
    assert done["runtimeStatus"] == "Completed"
    assert done["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    assert done["customStatus"] == "London"
    history = await status(http, devhost.url, started["id"], showHistory="true", showHistoryOutput="true")
    completed = [e for e in history["historyEvents"] if e["EventType"] == "TaskCompleted"]
    assert [e["Result"] for e in completed] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    assert all(e["FunctionName"] == "E1_SayHello" for e in completed)


async def test_hello_sequence_takes_the_cities_from_the_body(
    devhost: DevhostProcess, http: aiohttp.ClientSession
) -> None:
    started = await start(http, devhost.url, "E1_HelloSequence", ["Paris", "Oslo"])
    done = await finished(http, devhost.url, started["id"])
    assert done["output"] == ["Hello Paris!", "Hello Oslo!"]
    assert done["customStatus"] == "Oslo"


async def test_city_recommender_recommends_then_refines_on_selection(
    devhost: DevhostProcess, http: aiohttp.ClientSession
) -> None:
    started = await start(http, devhost.url, "CityRecommender", 2)
    waiting = await wait_until(http, devhost.url, started["id"], lambda s: bool(s["customStatus"]))
    assert waiting["runtimeStatus"] == "Running"
    assert waiting["customStatus"]["recommendedCities"] == ["Seattle", "London"]
    assert waiting["customStatus"]["recommendedSeasons"] == ["Summer"]
    await raise_event(http, devhost.url, started["id"], "CitySelected", "London")
    done = await finished(http, devhost.url, started["id"])
    assert done["runtimeStatus"] == "Completed"
    assert "London" in str(done["output"]) and "London" in str(done["customStatus"])


async def test_city_recommender_rejects_a_choice_outside_1_to_3(
    devhost: DevhostProcess, http: aiohttp.ClientSession
) -> None:
    started = await start(http, devhost.url, "CityRecommender", 7)
    done = await finished(http, devhost.url, started["id"])
    assert done["runtimeStatus"] == "Failed"
    assert "Orchestrator function 'CityRecommender' failed" in done["output"]
    assert "7" in done["output"]


async def test_reserve_ticket_confirmed_in_time(devhost: DevhostProcess, http: aiohttp.ClientSession) -> None:
    started = await start(http, devhost.url, "ReserveTicket", "alice")
    offer = await wait_until(http, devhost.url, started["id"], lambda s: bool(s["customStatus"]))
    assert set(offer["customStatus"]) == {"discount", "discountTimeout", "bookingUrl"}
    assert offer["customStatus"]["discountTimeout"] == 60
    await raise_event(http, devhost.url, started["id"], "BookingConfirmed", True)
    done = await finished(http, devhost.url, started["id"])
    assert done["runtimeStatus"] == "Completed"
    assert done["output"] is True
    assert done["customStatus"] == {"message": "Thank you for confirming your booking."}


async def test_reserve_ticket_deadline_passes_with_time_skipping(
    skipping_devhost: DevhostProcess, http: aiohttp.ClientSession
) -> None:
    started = await start(http, skipping_devhost.url, "ReserveTicket", "bob")
    done = await finished(http, skipping_devhost.url, started["id"])
    assert done["runtimeStatus"] == "Completed"
    assert done["output"] is False
    assert done["customStatus"] == {"message": "The booking was not confirmed on time. Please try again."}


async def test_reserve_ticket_deadline_from_the_input_on_the_real_clock(
    devhost: DevhostProcess, http: aiohttp.ClientSession
) -> None:
    started = await start(http, devhost.url, "ReserveTicket", {"userId": "carol", "discountTimeout": 1})
    done = await finished(http, devhost.url, started["id"], timeout=20)
    assert done["output"] is False
    assert "not confirmed on time" in done["customStatus"]["message"]


async def test_set_status_test_is_readable_while_running(
    devhost: DevhostProcess, http: aiohttp.ClientSession
) -> None:
    started = await start(http, devhost.url, "SetStatusTest")
    running = await wait_until(http, devhost.url, started["id"], lambda s: bool(s["customStatus"]))
    assert running["runtimeStatus"] == "Running"
    assert running["customStatus"] == {"nextActions": ["A", "B", "C"], "foo": 2}
    async with http.get(started["statusQueryGetUri"]) as resp:
        assert resp.status == 202
        assert resp.headers["Retry-After"] == "5"
    await raise_event(http, devhost.url, started["id"], "Proceed", None)
    done = await finished(http, devhost.url, started["id"])
    assert done["runtimeStatus"] == "Completed"


async def test_oversize_custom_status_fails_the_instance_with_the_size(
    devhost: DevhostProcess, http: aiohttp.ClientSession
) -> None:
    huge_city = "x" * 9000  # 18,000+ bytes of UTF-16 once quoted: over 16 KB
    started = await start(http, devhost.url, "E1_HelloSequence", [huge_city])
    done = await finished(http, devhost.url, started["id"])
    assert done["runtimeStatus"] == "Failed"
    assert "16 KB" in done["output"] and "17" in done["output"]
    assert done["customStatus"] is None


async def test_webhook_start_uses_the_real_host_paths(
    devhost: DevhostProcess, http: aiohttp.ClientSession
) -> None:
    # The Python SDK parses the input it is given once more (get_input() is df_loads(input)), so a
    # webhook start passes a list as JSON text inside a JSON string, exactly as on Azure.
    async with http.post(
        f"{devhost.url}{WEBHOOKS}/orchestrators/E1_HelloSequence/my-run-1", json=json.dumps(["Kyoto"])
    ) as resp:
        body = await resp.json()
        assert resp.status == 202
        assert body["id"] == "my-run-1"
        assert resp.headers["Retry-After"] == "10"
        assert set(body) == {
            "id",
            "statusQueryGetUri",
            "sendEventPostUri",
            "terminatePostUri",
            "purgeHistoryDeleteUri",
            "restartPostUri",
            "suspendPostUri",
            "resumePostUri",
        }
    done = await finished(http, devhost.url, "my-run-1")
    assert done["output"] == ["Hello Kyoto!"]
    assert done["input"] == '["Kyoto"]'
    assert set(done) >= {"runtimeStatus", "input", "customStatus", "output", "createdTime", "lastUpdatedTime"}
