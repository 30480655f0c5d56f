"""The dashboard on the big screen (1920×1080): every figure leads to its matters and the
breadcrumb leads back. From the overdue card to the inbox of exactly those matters and back
to the dashboard at the same place; a township fits the screen with every one of its
villages ranked; a ranking cell, a day of the trend and a grid of the map each open the
list of the matters they count.

The matters are made here, in a township of their own (丙镇, outside the world's two, so
that no other test's counts move): three dispatched three weeks ago and never signed
(overdue now; the live server runs in this process, so the frozen clock holds for it too)
and one reported today."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Page, Response, expect

from fengqiao.core import clock
from tests.browser.conftest import LiveServer, Visit

pytestmark = pytest.mark.browser

COUNTY = "330305"
TOWN = "330305009"  # 丙镇, made here
VILLAGES = [f"{TOWN}{n:03d}" for n in range(1, 37)]  # more than one screen of rows
V1, V2 = VILLAGES[0], VILLAGES[1]
# Grids in the first two villages, east of the world's county: (code, west, south).
GRIDS = [(f"{V1}01", 120.41, 30.00), (f"{V1}02", 120.46, 30.00), (f"{V2}01", 120.41, 30.05)]
SIDE = 0.05


@dataclass
class Town:
    overdue: int  # matters overdue in the township
    village_names: dict[str, str]


def _square(west: float, south: float) -> dict[str, Any]:
    east, north = round(west + SIDE, 6), round(south + SIDE, 6)
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def _ok(resp: httpx.Response) -> Any:
    assert resp.status_code < 300, resp.text
    return resp.json()


def _report(api: httpx.Client, title: str, grid: tuple[str, float, float]) -> int:
    _, west, south = grid
    body = {
        "title": title,
        "lon": west + SIDE / 2,
        "lat": south + SIDE / 2,
        "channel": "hotline",
        "category_code": "urban_management",
    }
    matter = _ok(api.post("/api/matters", json=body))
    assert matter["grid_code"] == grid[0], matter
    return int(matter["id"])


@pytest.fixture(scope="module")
def town(live_server: LiveServer) -> Iterator[Town]:
    with live_server.api("admin") as admin:
        _ok(admin.post("/api/regions", json={"code": TOWN, "name": "丙镇", "parent_code": COUNTY}))
        names = {code: f"丙{code[-2:]}村" for code in VILLAGES}
        for code, name in names.items():
            _ok(admin.post("/api/regions", json={"code": code, "name": name, "parent_code": TOWN}))
        for code, west, south in GRIDS:
            grid = {
                "code": code,
                "name": f"丙镇网格{code[-4:]}",
                "kind": "base",
                "region_code": code[:12],
                "geometry": _square(west, south),
            }
            _ok(admin.post("/api/grids", json=grid))
        # Each server process reloads its grids within a second of a change.
        _, west, south = GRIDS[-1]
        point = {"lon": west + SIDE / 2, "lat": south + SIDE / 2}
        for _ in range(50):
            found = _ok(admin.post("/api/geo/locate", json=point))["grid"]
            if found and found["code"] == GRIDS[-1][0]:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the new grids were not found")
    with clock.frozen(clock.now() - timedelta(days=21)), live_server.api("dispatcher") as api:
        for title, grid in (("占道经营", GRIDS[0]), ("垃圾堆放", GRIDS[1]), ("路灯不亮", GRIDS[2])):
            matter = _report(api, title, grid)
            _ok(api.post(f"/api/matters/{matter}/actions/accept", json={}))
            _ok(api.post(f"/api/matters/{matter}/actions/dispatch", json={}))
    with live_server.api("dispatcher") as api:
        _report(api, "夜间噪音", GRIDS[0])
    yield Town(overdue=3, village_names=names)


def _total(server: LiveServer, **params: Any) -> int:
    with server.api("leader") as api:
        return int(_ok(api.get("/api/matters", params={"limit": 1, **params}))["total"])


def _dashboard(server: LiveServer, region: str) -> Any:
    with server.api("leader") as api:
        return _ok(api.get("/api/dashboard", params={"region": region}))


def _number(page: Page, figure: str) -> int:
    text = page.locator(f'[data-test="figure-{figure}"] [data-test="figure-value"]').inner_text()
    return int(re.sub(r"\D", "", text))


def _is_list(resp: Response) -> bool:
    return urlsplit(resp.url).path == "/api/matters" and resp.request.method == "GET"


def _opens_list(page: Page, click: Callable[[], None]) -> tuple[dict[str, list[str]], int]:
    """Clicks, waits for the inbox; its URL query and the total its list was given."""
    with page.expect_response(_is_list) as answer:
        click()
    page.wait_for_url(re.compile(r"/inbox\?"))
    total = int(answer.value.json()["total"])
    expect(page.locator('[data-test="pager"]')).to_contain_text(str(total))
    return parse_qs(urlsplit(page.url).query), total


def _no_page_scroll(page: Page) -> bool:
    return bool(
        page.evaluate(
            "() => document.scrollingElement.scrollHeight <= document.scrollingElement.clientHeight"
        )
    )


def test_the_overdue_card_opens_exactly_its_matters_and_the_crumbs_lead_back(
    visit: Callable[..., Visit], live_server: LiveServer, town: Town
) -> None:
    listed = _total(live_server, overdue=True, region=TOWN)
    assert listed == town.overdue == _dashboard(live_server, TOWN)["overdue"]
    v = visit()
    page = v.login("leader", "/dashboard")
    v.go(f"/dashboard?region={TOWN}")
    expect(page.locator('[data-test="figure-overdue"]')).to_contain_text(str(listed))
    assert _number(page, "overdue") == listed

    query, total = _opens_list(page, page.locator('[data-test="figure-overdue"]').click)
    assert query == {"place": [TOWN], "overdue": ["1"], "via": ["dashboard"]}
    assert total == listed  # the card, the list and the API count the same matters

    crumbs = page.locator('[data-test="drill-crumbs"]')
    expect(crumbs).to_contain_text("驾驶舱")
    expect(crumbs).to_contain_text("测试区")
    expect(crumbs).to_contain_text("丙镇")
    expect(crumbs).to_contain_text("事件列表")
    crumbs.locator(f'[data-test="crumb-{TOWN}"]').click()
    page.wait_for_url(f"**/dashboard?region={TOWN}")
    expect(page.locator("h1")).to_contain_text("丙镇")
    expect(page.locator('[data-test="figure-overdue"]')).to_contain_text(str(listed))


def test_a_township_fits_the_screen_and_ranks_every_village(
    visit: Callable[..., Visit], live_server: LiveServer, town: Town
) -> None:
    with live_server.api("leader") as api:
        villages = _ok(api.get("/api/regions", params={"parent": TOWN}))
    assert {r["code"]: r["name"] for r in villages} == town.village_names
    v = visit()
    page = v.login("leader", "/dashboard")
    v.go(f"/dashboard?region={TOWN}")
    rows = page.locator('[data-test="ranking-table"] tbody tr')
    expect(rows).to_have_count(len(villages))
    shown = {
        (rows.nth(i).get_attribute("data-test") or "").removeprefix("rank-row-"): rows.nth(i)
        .locator("th")
        .inner_text()
        .strip()
        for i in range(rows.count())
    }
    assert shown == town.village_names  # every village by name, none left out
    expect(page.locator('[data-test="dashboard-map"] path.leaflet-interactive')).to_have_count(
        len(GRIDS)
    )
    assert _no_page_scroll(page)
    scroller = page.locator('[data-test="ranking-scroll"]')
    assert scroller.evaluate("el => el.scrollHeight > el.clientHeight")  # scrolls inside
    crumbs = page.locator('[data-test="drill-crumbs"]')
    expect(crumbs.locator(f'[data-test="crumb-{COUNTY}"]')).to_have_attribute(
        "href", f"/dashboard?region={COUNTY}"
    )
    expect(crumbs.locator(f'[data-test="crumb-{TOWN}"]')).to_have_attribute("aria-current", "page")
    v.check("dashboard-township")


def test_a_ranking_cell_opens_the_matters_it_counts(
    visit: Callable[..., Visit], live_server: LiveServer, town: Town
) -> None:
    ranking = {r["code"]: r for r in _dashboard(live_server, TOWN)["ranking"]}
    first = ranking[V1]
    assert (first["reported"], first["overdue"]) == (3, 2)
    v = visit()
    page = v.login("leader", "/dashboard")
    for key, filters in (("reported", {}), ("overdue", {"overdue": True})):
        v.go(f"/dashboard?region={TOWN}")
        cell = page.locator(f'[data-test="rank-{V1}-{key}"]')
        expect(cell).to_have_text(str(first[key]))
        query, total = _opens_list(page, cell.click)
        assert query["place"] == [V1] and query["via"] == ["dashboard"]
        assert total == first[key] == _total(live_server, region=V1, **filters)
    crumbs = page.locator('[data-test="drill-crumbs"]')
    expect(crumbs.locator(f'[data-test="crumb-{V1}"]')).to_have_text(town.village_names[V1])
    crumbs.locator(f'[data-test="crumb-{V1}"]').click()
    page.wait_for_url(f"**/dashboard?region={V1}")
    # A village's dashboard ranks its grids, by name.
    expect(page.locator(f'[data-test="rank-{GRIDS[0][0]}"]')).to_have_text(f"丙镇网格{V1[-2:]}01")


def test_a_day_of_the_trend_and_a_grid_of_the_map_open_their_matters(
    visit: Callable[..., Visit], live_server: LiveServer, town: Town
) -> None:
    d = _dashboard(live_server, TOWN)
    assert d["trend"][-1]["reported"] == d["today_reported"] == 1
    v = visit()
    page = v.login("leader", "/dashboard")
    v.go(f"/dashboard?region={TOWN}")
    chart = page.locator('[data-test="chart-trend"]')
    expect(chart.locator("canvas")).to_be_visible()
    box = chart.bounding_box()
    assert box is not None
    # Today is the last day, at the right end of the plot (24 px inside the chart's edge).
    at = {"x": box["width"] - 26, "y": box["height"] / 2}
    query, total = _opens_list(page, lambda: chart.click(position=at))
    assert query["from"] == query["to"] == [d["today"]] and query["place"] == [TOWN]
    assert total == 1

    v.go(f"/dashboard?region={TOWN}")
    grids = page.locator('[data-test="dashboard-map"] path.leaflet-interactive')
    expect(grids).to_have_count(len(GRIDS))
    with live_server.api("leader") as api:
        counts = {c["grid_code"]: c["open"] for c in _ok(api.get("/api/matters/grid-counts"))}
    # The grids are drawn in the order of their codes: the first is GRIDS[0].
    query, total = _opens_list(page, lambda: grids.first.click(force=True))
    assert query["place"] == [GRIDS[0][0]]
    assert total == counts[GRIDS[0][0]] == 2  # its open matters: overdue and today's


def test_the_county_dashboard_names_every_place_and_passes_axe(
    visit: Callable[..., Visit], live_server: LiveServer, town: Town
) -> None:
    figures = _dashboard(live_server, COUNTY)
    v = visit()
    page = v.login("leader", "/dashboard")
    for key in ("today_reported", "open", "overdue", "closed"):
        assert _number(page, key) == figures[key], key
    assert _number(page, "overdue") == _total(live_server, overdue=True, region=COUNTY)
    for r in figures["ranking"]:
        expect(page.locator(f'[data-test="rank-{r["code"]}"]')).to_have_text(r["name"])
    expect(page.locator('[data-test="drill-crumbs"]')).to_contain_text("测试区")
    expect(
        page.locator('[data-test="dashboard-map"] path.leaflet-interactive').first
    ).to_be_visible()
    assert _no_page_scroll(page)
    v.check("dashboard-county")
