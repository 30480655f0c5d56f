"""The grid worker's phone at 390 px: with no GPS the report's position is a tap on the map
of the worker's grid, or a known address there (the addresses of earlier matters in the
grid), and the matter is filed in that grid; a matter's page shows its point on a small map
with a route there (links only: the page loads nothing from other hosts, which the `visit`
fixture holds); closing a matter on verification asks once, and shows what the unit
reported as done above the buttons."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, LiveServer, Visit
from tests.world import GRID_A1_1

pytestmark = pytest.mark.browser

# Grid A1-1 of the test world, worker_a's grid: lon 120.0–120.1, lat 30.0–30.1.
WEST, SOUTH, EAST, NORTH = 120.0, 30.0, 120.1, 30.1


def _in_grid(lon: float, lat: float) -> bool:
    return WEST < lon < EAST and SOUTH < lat < NORTH


def _report_page(w: Visit) -> Page:
    page = w.login("worker_a", "/m")
    page.goto(f"{w.server.url}/m/report")
    expect(page.locator("#report-title")).to_be_visible()
    return page


def _sent(page: Page, server: LiveServer, title: str) -> dict[str, Any]:
    """Sends the report on the page; the stored matter, as a dispatcher reads it."""
    page.locator("#report-title").fill(title)
    page.locator('[data-test="submit-report"]').click()
    expect(page.locator('[data-test="sent-number"]')).to_be_visible(timeout=20_000)
    with server.api("dispatcher") as api:
        found = api.get("/api/matters", params={"q": title}).json()
    assert found["total"] == 1
    return dict(found["items"][0])


def test_without_gps_the_position_is_a_tap_on_the_grid_map(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    w = visit(PHONE)  # no geolocation permission: the phone refuses to locate
    page = _report_page(w)
    expect(page.locator('[data-test="gps-status"]')).to_contain_text("定位失败")
    picker = page.locator('[data-test="pick-map"]')
    area = picker.locator("path.leaflet-interactive")
    expect(area).to_have_count(1)  # the worker's one grid
    the_map = picker.locator('[data-test="point-map"]')
    the_map.scroll_into_view_if_needed()
    frame, shape = the_map.bounding_box(), area.bounding_box()
    assert frame and shape

    # A tap beside the grid is refused and picks nothing.
    the_map.click(position={"x": frame["width"] - 6, "y": frame["height"] / 2})
    expect(picker.locator('[data-test="pick-outside"]')).to_be_visible()
    expect(page.locator("#report-lon")).to_have_value("")

    area.click(position={"x": shape["width"] * 0.3, "y": shape["height"] * 0.6})
    expect(page.locator('[data-test="position-source"]')).to_contain_text("已在地图上选定")
    expect(picker.locator('[data-test="pick-outside"]')).to_have_count(0)
    lon = float(page.locator("#report-lon").input_value())
    lat = float(page.locator("#report-lat").input_value())
    assert _in_grid(lon, lat)
    w.check("worker-report-map")

    matter = _sent(page, live_server, "无定位上报：路边井盖破损")
    assert matter["grid_code"] == GRID_A1_1
    assert (matter["lon"], matter["lat"]) == pytest.approx((lon, lat), abs=1e-6)
    assert _in_grid(matter["lon"], matter["lat"])


def test_a_report_takes_its_position_from_a_known_address(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    address = "甲街道东沙路 18 号（码头东侧）"
    with live_server.api("worker_a") as api:
        earlier = api.post(
            "/api/matters",
            json={
                "title": "早先上报：码头路面积水",
                "lon": 120.07,
                "lat": 30.03,
                "address": address,
            },
        )
    earlier.raise_for_status()
    assert earlier.json()["grid_code"] == GRID_A1_1

    w = visit(PHONE)
    page = _report_page(w)
    places = page.locator('[data-test="known-place"]')
    expect(places.locator("option", has_text=address)).to_have_count(1)
    places.select_option(label=address)
    expect(page.locator("#report-address")).to_have_value(address)
    expect(page.locator("#report-lon")).to_have_value("120.070000")
    expect(page.locator("#report-lat")).to_have_value("30.030000")
    expect(page.locator('[data-test="position-source"]')).to_contain_text(address)
    w.check("worker-report-place")

    matter = _sent(page, live_server, "已知地址上报：码头护栏松动")
    assert (matter["address"], matter["grid_code"]) == (address, GRID_A1_1)
    assert (matter["lon"], matter["lat"]) == pytest.approx((120.07, 30.03), abs=1e-6)


def test_the_matter_page_shows_its_point_and_a_route_there(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    with live_server.api("worker_a") as api:
        made = api.post(
            "/api/matters",
            json={
                "title": "路线测试：渔港路灯杆倾斜",
                "lon": 120.05,
                "lat": 30.05,
                "address": "渔港路 3 号",
            },
        )
    made.raise_for_status()
    matter = made.json()

    w = visit(PHONE)
    page = w.login("worker_a", "/m")
    page.goto(f"{live_server.url}/m/matters/{matter['id']}")
    where = page.locator('[data-test="where"]')
    expect(where.locator('[data-test="point-map"]')).to_be_visible()
    expect(where.locator(".leaflet-overlay-pane path").first).to_be_visible()
    geo = where.locator('[data-test="route-geo"]')
    assert (geo.get_attribute("href") or "").startswith("geo:30.050000,120.050000")
    amap = urlsplit(where.locator('[data-test="route-amap"]').get_attribute("href") or "")
    assert (amap.scheme, amap.netloc, amap.path) == ("https", "uri.amap.com", "/navigation")
    query = parse_qs(amap.query)
    assert query["to"] == ["120.050000,30.050000,渔港路 3 号"]
    assert query["coordinate"] == ["wgs84"]
    for link in (geo, where.locator('[data-test="route-amap"]')):
        size = link.bounding_box()
        assert size and size["height"] >= 44
    w.check("worker-matter-map")


def _waiting_for_verification(server: LiveServer, title: str, note: str) -> dict[str, Any]:
    with server.api("worker_a") as api:
        made = api.post("/api/matters", json={"title": title, "lon": 120.04, "lat": 30.06})
    made.raise_for_status()
    matter_id = made.json()["id"]

    def step(username: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
        with server.api(username) as api:
            resp = api.post(f"/api/matters/{matter_id}/actions/{action}", json=body)
        resp.raise_for_status()
        return dict(resp.json())

    if made.json()["state"] == "reported":
        step("dispatcher", "accept", {})
    step("dispatcher", "dispatch", {"unit_code": "C-ZHZF"})
    step("handler", "sign", {})
    step("handler", "feedback", {"note": note})
    matter = step("dispatcher", "request_verification", {})
    assert matter["state"] == "verifying"
    return matter


def test_closing_on_verification_asks_once_and_shows_the_units_note(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    note = "已更换破损井盖，并在周边设置警示标志。"
    matter = _waiting_for_verification(live_server, "核查测试：人行道井盖破损", note)

    w = visit(PHONE)
    page = w.login("worker_a", "/m")
    page.goto(f"{live_server.url}/m/matters/{matter['id']}")
    card = page.locator('[data-test="card-verify_ok"]')
    expect(card).to_be_visible()
    shown = page.locator('[data-test="unit-note"]')
    expect(shown).to_contain_text(note)
    expect(shown).to_contain_text("区综合行政执法局")
    first_card = page.locator('[data-test^="card-"]').first.bounding_box()
    note_box = shown.bounding_box()
    assert first_card and note_box and note_box["y"] + note_box["height"] <= first_card["y"]

    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/actions/" in r.url else None)
    button = card.locator('[data-test="action-verify_ok"]')
    button.click()
    confirm = page.locator(".m-confirm")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("已结案")
    w.check("worker-verify-confirm")
    confirm.get_by_role("button", name="取消").click()
    expect(confirm).to_be_hidden()
    page.wait_for_timeout(300)
    assert sent == []  # cancelled: nothing was sent

    button.click()
    page.locator(".m-confirm").get_by_role("button", name="确认提交").click()
    expect(page.locator('[data-test="state"]')).to_have_text("已结案")
    assert [u for u in sent if u.endswith("/actions/verify_ok")] == [
        f"{live_server.url}/api/matters/{matter['id']}/actions/verify_ok"
    ]
    with live_server.api("dispatcher") as api:
        stored = api.get(f"/api/matters/{matter['id']}").json()
    assert stored["state"] == "closed"
    assert [e["action"] for e in stored["timeline"]].count("verify_ok") == 1


def test_the_phone_pages_speak_english_on_the_switch(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    w = visit(PHONE)
    page = _report_page(w)
    expect(page.locator('[data-test="pick-map"]')).to_be_visible()
    page.locator('[data-test="language"]').first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Report a matter")
    expect(page.locator('[data-test="gps-status"]')).to_contain_text("Location failed")
    expect(page.get_by_role("button", name="Zoom in")).to_be_visible()
    w.check("worker-report-english")
