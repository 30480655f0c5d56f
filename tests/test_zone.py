"""FENGQIAO_TIMEZONE is the zone days and office hours are counted in: set to another zone,
the working-day calendar's office hours and the dashboard's days follow it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from fengqiao.api import create_app
from fengqiao.core import clock
from fengqiao.core.config import Settings, SettingsError, get_settings, settings_problems
from fengqiao.core.workcalendar import WorkCalendar
from tests.world import World

LA = "America/Los_Angeles"  # UTC-8 in winter, UTC-7 in summer; Shanghai is UTC+8


@pytest.fixture
def zone_from_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The settings read again, with FENGQIAO_TIMEZONE as the test sets it."""
    get_settings.cache_clear()
    clock.use_zone(None)
    yield
    monkeypatch.undo()
    get_settings.cache_clear()
    clock.use_zone(None)


def test_the_zone_is_read_from_the_settings_once(
    monkeypatch: pytest.MonkeyPatch, zone_from_environment: None
) -> None:
    monkeypatch.delenv("FENGQIAO_TIMEZONE", raising=False)
    assert clock.zone().key == "Asia/Shanghai"
    clock.use_zone(None)
    monkeypatch.setenv("FENGQIAO_TIMEZONE", LA)
    get_settings.cache_clear()
    assert clock.zone().key == LA
    monkeypatch.setenv("FENGQIAO_TIMEZONE", "Europe/Berlin")
    get_settings.cache_clear()
    assert clock.zone().key == LA  # cached until reset


def test_office_hours_are_those_of_the_zone(
    monkeypatch: pytest.MonkeyPatch, zone_from_environment: None
) -> None:
    monkeypatch.setenv("FENGQIAO_TIMEZONE", LA)
    cal = WorkCalendar([], [2026])
    assert cal.tz.key == LA
    # Monday 15:00 UTC is 07:00 in Los Angeles, before office hours (08:30): one working
    # hour later is 09:30 there. In Shanghai it would be Monday 23:00, so Tuesday 09:30.
    monday = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    assert cal.add_working_hours(monday, 1).at == datetime(2026, 11, 23, 17, 30, tzinfo=UTC)
    # Across the end of summer time (1 November 2026) the clock time holds, not the offset.
    friday = datetime(2026, 10, 30, 16, 0, tzinfo=UTC)  # 09:00 PDT
    assert cal.add_working_days(friday, 1).at == datetime(2026, 11, 2, 17, 0, tzinfo=UTC)


def test_the_dashboards_days_are_those_of_the_zone(
    settings: Settings, world: World, zone_from_environment: None
) -> None:
    app = create_app(settings.model_copy(update={"timezone": LA}))
    assert clock.zone().key == LA  # the application's settings, not only the environment
    # Thursday 03:00 UTC: Thursday 11:00 in Shanghai, still Wednesday 19:00 in Los Angeles.
    now = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    with TestClient(app, raise_server_exceptions=False) as client, clock.frozen(now):
        headers = world.login(client, "dispatcher")
        body = {"title": "夜间噪音", "lon": 120.25, "lat": 30.05, "channel": "hotline"}
        resp = client.post("/api/matters", json=body, headers=headers)
        assert resp.status_code == 201, resp.text
        resp = client.get("/api/dashboard", headers=world.login(client, "leader"))
        assert resp.status_code == 200, resp.text
        d = resp.json()
    app.state.engine.dispose()
    assert d["trend"][-1]["day"] == "2026-11-25"
    assert d["today_reported"] == 1
    # The world's two matters, reported on Friday 09:00 in Shanghai, on Thursday there.
    by_day = {t["day"]: t["reported"] for t in d["trend"] if t["reported"]}
    assert by_day == {"2026-11-19": 2, "2026-11-25": 1}


def test_an_unknown_zone_is_refused_at_start(settings: Settings) -> None:
    wrong = settings.model_copy(update={"timezone": "Mars/Olympus"})
    [problem] = settings_problems(wrong)
    assert "FENGQIAO_TIMEZONE" in problem and "Mars/Olympus" in problem
    with pytest.raises(SettingsError):
        create_app(wrong)
