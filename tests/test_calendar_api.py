from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from fengqiao.core import clock
from tests.world import World


def _due(client: TestClient, headers: dict[str, str], start: str, **params: object) -> dict:  # type: ignore[type-arg]
    resp = client.get("/api/calendar/deadline", headers=headers, params={"start": start, **params})
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def test_calendar_is_seeded_from_the_package(client: TestClient, world: World) -> None:
    h = world.login(client, "worker_a")
    days = {d["day"]: d for d in client.get("/api/calendar/2026", headers=h).json()}
    assert days["2026-10-01"]["kind"] == "holiday" and days["2026-10-01"]["name"] == "国庆节"
    assert days["2026-10-10"]["kind"] == "workday"
    assert days["2026-02-14"]["kind"] == "workday"  # a Saturday worked before 春节
    assert days["2026-02-17"]["name"] == "春节"


def test_national_day_deadline(client: TestClient, world: World) -> None:
    h = world.login(client, "dispatcher")
    # Wednesday 30 September 16:00; 1–7 October are holidays, so one working day is 8 October.
    body = _due(client, h, "2026-09-30T16:00:00+08:00", working_days=1)
    assert datetime.fromisoformat(body["due"]) == datetime.fromisoformat(
        "2026-10-08T16:00:00+08:00"
    )
    assert body["flagged"] is False
    # Friday 9 October 17:00 + 2 working hours: Saturday 10 October is a working day.
    body = _due(client, h, "2026-10-09T17:00:00+08:00", working_hours=2)
    assert datetime.fromisoformat(body["due"]) == datetime.fromisoformat(
        "2026-10-10T10:00:00+08:00"
    )


def test_a_2027_deadline_computes_and_is_flagged_until_the_year_is_entered(
    client: TestClient, world: World
) -> None:
    with clock.frozen(datetime(2026, 11, 23, 2, 0, tzinfo=UTC)):
        admin = world.login(client, "admin")
        status = client.get("/api/calendar/status", headers=admin).json()
        years = {y["year"]: y for y in status["years"]}
        assert years[2026]["covered"] and years[2026]["source"] == "package"
        assert not years[2027]["covered"]
        assert any("2027" in w for w in status["warnings"])

        body = _due(client, admin, "2026-12-31T10:00:00+08:00", working_days=2)
        # No data for 2027: Friday 1 January counts as a weekday, and the answer says so.
        assert datetime.fromisoformat(body["due"]) == datetime.fromisoformat(
            "2027-01-04T10:00:00+08:00"
        )
        assert body["flagged"] is True and body["uncovered_years"] == [2027]

        resp = client.put(
            "/api/calendar/2027",
            headers=admin,
            json={"days": [{"day": "2027-01-01", "kind": "holiday", "name": "元旦"}]},
        )
        assert resp.status_code == 200, resp.text
        body = _due(client, admin, "2026-12-31T10:00:00+08:00", working_days=2)
        assert datetime.fromisoformat(body["due"]) == datetime.fromisoformat(
            "2027-01-05T10:00:00+08:00"
        )
        assert body["flagged"] is False
        status = client.get("/api/calendar/status", headers=admin).json()
        assert not any("2027" in w for w in status["warnings"])


def test_only_administrators_enter_holidays(client: TestClient, world: World) -> None:
    h = world.login(client, "dispatcher")
    resp = client.put("/api/calendar/2027", headers=h, json={"days": []})
    assert resp.status_code == 403


def test_deadline_needs_an_aware_start(client: TestClient, world: World) -> None:
    h = world.login(client, "dispatcher")
    resp = client.get(
        "/api/calendar/deadline",
        headers=h,
        params={"start": "2026-10-01T09:00:00", "working_days": 1},
    )
    assert resp.status_code == 422 and "时区" in resp.json()["error"]["message"]
