"""A matter printed as a work-order sheet (派遣单): the print page shows the matter without
the console's navigation, with a QR code drawn in the page; the matter's page opens it; and
the matter's page goes back to the list it came from, filters and all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, Visit

pytestmark = pytest.mark.browser

TITLE = "派遣单测试：码头路灯不亮"


@pytest.fixture(scope="module")
def matter(live_server: LiveServer) -> dict[str, Any]:
    """A dispatched matter with a reporter, an address and a description, as the dispatcher
    reads it (one for the module: the server's world is shared by every browser test)."""
    with live_server.api("dispatcher") as api:
        resp = api.post(
            "/api/matters",
            json={
                "title": TITLE,
                "description": "东沙码头路的路灯连续三晚不亮，夜间行人看不清台阶。",
                "lon": 120.05,
                "lat": 30.05,
                "address": "东沙码头路 12 号",
                "urgency": "urgent",
                "channel": "hotline",
                "category_code": "urban_management",
                "reporter_name": "李女士",
                "reporter_phone": "13912340000",
            },
        )
        assert resp.status_code == 201, resp.text
        matter_id = resp.json()["id"]
        for action, body in (("accept", {}), ("dispatch", {"unit_code": "C-ZHZF"})):
            done = api.post(f"/api/matters/{matter_id}/actions/{action}", json=body)
            assert done.status_code == 200, done.text
        found: dict[str, Any] = api.get(f"/api/matters/{matter_id}").json()
    return found


def sheet_shows(page: Page, matter: dict[str, Any]) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("派遣单")
    expect(page.locator('[data-test="print-number"]')).to_have_text(matter["number"])
    expect(page.locator('[data-test="print-title"]')).to_have_text(TITLE)
    qr = page.get_by_role("img", name=f"事件 {matter['number']} 的二维码")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    assert (qr.get_attribute("src") or "").startswith("data:image/png")  # drawn in the page


def test_the_print_sheet_has_no_navigation_and_a_qr_code(
    visit: Callable[..., Visit], matter: dict[str, Any]
) -> None:
    v = visit()
    v.login("dispatcher", "/inbox")
    page = v.go(f"/matters/{matter['id']}/print")
    sheet_shows(page, matter)
    # None of the console's layout: no navigation, no menu, no links at all.
    for chrome in ("nav", "aside", "header.top", '[data-test="logout"]', "a[href]"):
        assert page.locator(chrome).count() == 0, chrome
    expect(page.locator('[data-test="print-unit"]')).to_have_text("区综合行政执法局")
    expect(page.locator('[data-test="print-place"]')).to_contain_text(matter["grid_name"])
    # The reporter as the server shows them to this caller.
    reporter = f"{matter['reporter_name']} {matter['reporter_phone']}"
    expect(page.locator('[data-test="print-reporter"]')).to_have_text(reporter)
    for step in ("report", "accept", "dispatch"):
        expect(page.locator(f'[data-test="print-step-{step}"]')).to_be_visible()
    expect(page.locator('[data-test="sign-handler"]')).to_contain_text("处置人（签字）")
    expect(page.locator('[data-test="sign-verifier"]')).to_contain_text("核查人（签字）")
    expect(page).to_have_title(f"派遣单 {matter['number']}")
    print_button = page.get_by_role("button", name="打印", exact=True)
    expect(print_button).to_be_visible()
    v.check("print-matter")
    # On paper the button is gone and the sheet is all there is.
    page.emulate_media(media="print")
    expect(print_button).to_be_hidden()
    expect(page.locator('[data-test="print-number"]')).to_be_visible()
    v.screenshot("print-matter-paper")


def test_the_matter_page_opens_its_print_sheet(
    visit: Callable[..., Visit], matter: dict[str, Any]
) -> None:
    v = visit()
    page = v.login("dispatcher", "/inbox")
    page = v.go(f"/matters/{matter['id']}")
    expect(page.locator('[data-test="number"]')).to_have_text(matter["number"])
    with v.context.expect_page() as opened:
        page.get_by_role("button", name="打印派遣单").click()
    sheet = opened.value
    sheet.wait_for_url(f"**/matters/{matter['id']}/print")
    sheet_shows(sheet, matter)


def test_back_from_a_matter_returns_to_the_filtered_list(
    visit: Callable[..., Visit], matter: dict[str, Any]
) -> None:
    v = visit()
    page = v.login("dispatcher", "/inbox")
    page = v.go("/inbox?urgency=urgent&q=%E6%B4%BE%E9%81%A3%E5%8D%95%E6%B5%8B%E8%AF%95")
    link = page.get_by_role("link", name=matter["number"])
    expect(link).to_be_visible()
    listed = page.url
    assert "urgency=urgent" in listed and "q=" in listed
    link.click()
    page.wait_for_url(f"**/matters/{matter['id']}")
    back = page.locator('[data-test="back"]')
    assert "urgency=urgent" in (back.get_attribute("href") or "")  # the list, as it was
    back.click()
    page.wait_for_url(lambda url: "/inbox" in url)
    assert page.url == listed
    expect(page.get_by_role("link", name=matter["number"])).to_be_visible()

    # Opened with no list before it, the page goes back to the role's own list.
    page = v.go(f"/matters/{matter['id']}")
    expect(page.locator('[data-test="number"]')).to_have_text(matter["number"])
    page.locator('[data-test="back"]').click()
    page.wait_for_url(lambda url: url.endswith("/inbox"))
