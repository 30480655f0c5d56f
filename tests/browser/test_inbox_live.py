"""The dispatcher's inbox on a working day: an urgent report arrives live and is pinned
with a banner, a matter is found by phone, by place and by part of its number, and a bulk
dispatch names the matters it could not send."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer, Visit

pytestmark = pytest.mark.browser

LIVE = 3_000  # ms: the acceptance bound for a new urgent matter to show


def report(live: LiveServer, username: str, **body: Any) -> dict[str, Any]:
    with live.api(username) as api:
        resp = api.post("/api/matters", json={"title": "路灯不亮", **body})
        assert resp.status_code == 201, resp.text
        return dict(resp.json())


def test_an_urgent_report_appears_live_pinned_with_its_banner(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    v = visit()
    page = v.login("town_a", "/inbox")
    page.goto(live_server.url + "/inbox?channel=grid_app&size=20")
    expect(page.locator('[data-test="live-state"]')).to_have_class("live on")
    expect(page.locator('[data-test="bulk"]')).not_to_contain_text("正在加载")
    url = page.url

    # Another township's critical matter first, then one of this township's.
    urgent = {"urgency": "critical", "channel": "grid_app"}
    elsewhere = report(live_server, "worker_b", lon=120.22, lat=30.05, **urgent)
    here = report(live_server, "worker_a", lon=120.02, lat=30.05, **urgent)

    banner = page.locator(f'[data-test="urgent-{here["number"]}"]')
    expect(banner).to_be_visible(timeout=LIVE)
    expect(banner).to_contain_text("特急")
    row = page.locator(f'[data-test="row-{here["number"]}"]')
    expect(row).to_be_visible(timeout=LIVE)
    # Pinned: the first row, marked, above the routine ones; the filters are as they were.
    first = page.locator('[data-test="inbox-table"] .el-table__body tr.el-table__row').first
    expect(first).to_have_attribute("data-test", f"row-{here['number']}")
    expect(row).to_have_class("el-table__row pinned critical")
    expect(page.locator(f'[data-test="urgency-{here["number"]}"]')).to_have_text("特急")
    assert page.url == url
    assert page.title().startswith("(")
    # The other township's matter never came: its change was streamed before this one's.
    expect(page.locator(f'[data-test="urgent-{elsewhere["number"]}"]')).to_have_count(0)
    expect(page.locator(f'[data-test="row-{elsewhere["number"]}"]')).to_have_count(0)
    v.check("inbox-urgent")

    # Taken by someone: the banner goes, the row is no longer pinned.
    with live_server.api("town_a") as api:
        assert api.post(f"/api/matters/{here['id']}/actions/accept", json={}).status_code == 200
    expect(banner).to_have_count(0, timeout=LIVE * 2)
    expect(row).not_to_have_class("el-table__row pinned critical", timeout=LIVE * 2)


def test_find_by_phone_by_village_and_by_the_numbers_last_digits(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    found = report(
        live_server, "worker_a", lon=120.03, lat=30.04, reporter_phone=phone, reporter_name="李大伯"
    )
    v = visit()
    page = v.login("dispatcher", "/inbox")
    row = page.locator(f'[data-test="row-{found["number"]}"]')

    # By the reporter's phone: exactly that matter.
    page.get_by_label("上报人手机").fill(phone)
    page.get_by_role("button", name="查询").click()
    expect(row).to_be_visible()
    expect(
        page.locator('[data-test="inbox-table"] .el-table__body tr.el-table__row')
    ).to_have_count(1)
    assert f"phone={phone}" in page.url
    page.locator('[data-test="reset"]').click()

    # By a village picked in the cascade, by name: 测试区 / 甲街道 / 社区1001.
    page.locator('[data-test="filter-place"] .el-cascader').click()
    for name in ("测试区", "甲街道"):  # opened down to the village
        page.locator(".el-cascader-node", has_text=name).click()
    page.locator(".el-cascader-node", has_text="社区1001").locator(".el-radio").click()
    page.get_by_role("heading", level=1).click()  # the cascade closes
    page.wait_for_url("**place=330305001001**")
    expect(row).to_be_visible()
    # Grids are named, never shown as bare codes.
    expect(row).to_contain_text("网格1001-1")
    v.check("inbox-place")

    # By the last digits of its number, then into the matter and back: filters kept.
    digits = found["number"][-5:]
    page.get_by_label("关键词").fill(digits)
    page.get_by_role("button", name="查询").click()
    page.wait_for_url(f"**q={digits}**")
    listed = page.url
    expect(row).to_be_visible()
    page.locator(f'[data-test="open-{found["number"]}"]').click()
    page.wait_for_url(f"**/matters/{found['id']}")
    page.get_by_role("button", name="返回列表").or_(
        page.get_by_role("link", name="返回列表")
    ).click()
    page.wait_for_url(listed)
    expect(page.get_by_label("关键词")).to_have_value(digits)
    expect(row).to_be_visible()


def test_a_bulk_dispatch_names_the_matters_it_could_not_send_and_keeps_them_selected(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    tag = uuid.uuid4().hex[:6]
    routed = report(
        live_server,
        "worker_a",
        title=f"邻里纠纷{tag}",
        lon=120.02,
        lat=30.07,
        category_code="dispute_family",
    )
    unrouted = report(live_server, "worker_a", title=f"无人认领{tag}", lon=120.02, lat=30.08)
    assert (routed["suggestion"] or {}).get("unit_id")
    assert not (unrouted["suggestion"] or {}).get("unit_id")

    v = visit()
    page = v.login("town_a", "/inbox")
    page.goto(f"{live_server.url}/inbox?q={tag}")
    for m in (routed, unrouted):
        page.locator(f'[data-test="row-{m["number"]}"] .el-checkbox').click()
    expect(page.locator('[data-test="bulk"]')).to_contain_text("已选 2 件")
    page.locator('[data-test="bulk-dispatch"]').click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("2 件")
    dialog.get_by_role("button", name="确定").click()

    failures = page.locator('[data-test="bulk-failures"]')
    expect(failures).to_be_visible()
    failed = page.locator(f'[data-test="bulk-failed-{unrouted["number"]}"]')
    expect(failed).to_contain_text("没有建议的处置单位")
    expect(page.locator(f'[data-test="bulk-failed-{routed["number"]}"]')).to_have_count(0)
    # The one that failed stays selected; the one dispatched does not, and shows its time
    # left as the server counts it.
    checked = "tr.el-table__row .el-checkbox.is-checked"
    expect(page.locator(f'[data-test="row-{unrouted["number"]}"] .el-checkbox')).to_have_class(
        "el-checkbox is-checked"
    )
    expect(page.locator(checked)).to_have_count(1)
    expect(page.locator('[data-test="bulk"]')).to_contain_text("已选 1 件")
    with live_server.api("town_a") as api:
        after = api.get(f"/api/matters/{routed['id']}").json()
    assert after["state"] == "dispatched" and after["time_left"].startswith("剩余")
    expect(page.locator(f'[data-test="row-{routed["number"]}"]')).to_contain_text(
        after["time_left"]
    )
    v.check("inbox-bulk-failures")
