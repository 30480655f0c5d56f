"""The web console in a real browser: every role logs in, a matter goes round the loop
through the pages (dispatcher → handler → grid worker on a phone), an offline report is sent
exactly once, the dashboard shows the server's figures, and the language switches."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, LiveServer, Visit
from tests.world import PASSWORD

pytestmark = pytest.mark.browser

# Where each of the twelve roles lands after logging in (a screenshot of each start page).
LANDINGS = [
    ("dispatcher", "/inbox"),
    ("leader", "/dashboard"),
    ("handler", "/tasks"),
    ("worker_a", "/m"),
    ("head_a", "/m"),
    ("admin", "/inbox"),
    ("resident", "/m/report"),
    ("instructor_a", "/m"),
    ("parttime_a", "/m"),
    ("volunteer_a", "/m/report"),
    ("mediator_a", "/mediation"),
    ("maritime_a", "/m/report"),
]


def test_login_page_renders_chinese_and_passes_axe(visit: Callable[..., Visit]) -> None:
    v = visit()
    page = v.go("/login")
    expect(page.get_by_role("heading", level=1)).to_contain_text("枫桥")
    # The CJK font is on the machine (no web font is fetched): the text renders as Chinese.
    assert page.evaluate("document.fonts.check('16px \"Noto Sans CJK SC\"', '枫桥网格')")
    v.check("login")


def test_a_wrong_password_is_refused_with_the_servers_words(visit: Callable[..., Visit]) -> None:
    v = visit()
    page = v.go("/login")
    page.get_by_label("用户名").fill("dispatcher")
    page.get_by_label("密码", exact=True).fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_contain_text("密码")
    assert "/login" in page.url


@pytest.mark.parametrize(("username", "landing"), LANDINGS)
def test_each_role_logs_in_to_its_own_start(
    visit: Callable[..., Visit], username: str, landing: str
) -> None:
    v = visit(PHONE) if landing.startswith("/m") else visit()
    page = v.login(username, landing)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    v.check(f"start-{username}")


def test_a_matter_goes_round_the_loop_through_the_pages(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    matter_id = live_server.world.matters["a"]
    with live_server.api("dispatcher") as api:
        number = api.get(f"/api/matters/{matter_id}").json()["number"]

    # The dispatcher finds it in the inbox and sends it to the suggested unit in one click.
    d = visit()
    page = d.login("dispatcher", "/inbox")
    expect(page.locator(f'[data-test="row-{number}"]')).to_be_visible()
    d.check("inbox")
    page.get_by_role("link", name=number).click()
    page.wait_for_url(f"**/matters/{matter_id}")
    # The report's photo, fetched with the dispatcher's token.
    expect(page.locator('[data-test^="attachment-"] img').first).to_be_visible()
    d.check("matter-detail")
    page.locator('[data-test="quick-dispatch"]').click()
    expect(page.locator('[data-test="action-remind"]')).to_be_visible()

    # The handler of that unit sees it among their tasks, signs it and feeds back.
    h = visit()
    page = h.login("handler", "/tasks")
    row = page.locator(f'[data-test="sign-{number}"]')
    expect(row).to_be_visible()
    h.check("tasks")
    row.click()
    page.goto(f"{live_server.url}/matters/{matter_id}")
    page.locator('[data-test="action-feedback"]').click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("办理情况").fill("已清理路面积水，恢复通行。")
    dialog.get_by_role("button", name="提交").click()
    expect(page.get_by_text("已办结").first).to_be_visible()

    # The dispatcher asks for verification; the grid worker verifies on a phone.
    page = d.go(f"/matters/{matter_id}")
    page.locator('[data-test="action-request_verification"]').click()
    page.get_by_role("dialog").get_by_role("button", name="提交").click()
    expect(page.get_by_text("核查中").first).to_be_visible()

    w = visit(PHONE)
    page = w.login("worker_a", "/m")
    page.get_by_text(number).first.click()
    page.wait_for_url(f"**/m/matters/{matter_id}")
    expect(page.get_by_role("img", name="上报照片 1")).to_be_visible()
    w.check("worker-matter")
    # The actions' cards are drawn from the workflow description (photos with verify_ok).
    _add_photo(page, "verify_ok-photo")
    page.get_by_role("button", name="删除照片 1").click()  # taken again
    expect(page.get_by_role("img", name="待上传照片 1")).to_have_count(0)
    _add_photo(page, "verify_ok-photo")
    page.locator('[data-test="action-verify_ok"]').click()
    # Closing asks once to confirm.
    page.locator(".m-confirm").get_by_role("button", name="确认提交").click()
    expect(page.locator('[data-test="state"]')).to_have_text("已结案")

    with live_server.api("dispatcher") as api:
        matter = api.get(f"/api/matters/{matter_id}").json()
    assert matter["state"] == "closed"
    actions = [e["action"] for e in matter["timeline"]]
    for step in ("dispatch", "sign", "feedback", "request_verification", "verify_ok"):
        assert step in actions
    assert [a["stage"] for a in matter["attachments"]].count("verify") == 1


def _png() -> bytes:
    """A real 2×2 PNG, as a phone camera would hand over (only smaller)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    pixels = b"".join(b"\x00" + b"\xd0\x30\x30" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


def _add_photo(page: Page, input_id: str) -> None:
    page.locator(f"#{input_id}").set_input_files(
        files=[{"name": "site.png", "mimeType": "image/png", "buffer": _png()}]
    )
    expect(page.get_by_role("img", name="待上传照片 1")).to_be_visible()


def _queue_report(page: Page, title: str, description: str) -> None:
    """Reports from the phone page at a typed position, with no network: it is queued."""
    page.locator("#report-title").fill(title)
    page.locator("#report-description").fill(description)
    page.locator("#report-lon").fill("120.05")
    page.locator("#report-lat").fill("30.05")
    page.locator('[data-test="submit-report"]').click()
    expect(page.locator('[data-test="queued-notice"]')).to_be_visible()


def test_a_report_made_offline_is_sent_exactly_once(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    title = "离线上报：桥下堆放杂物"
    w = visit(
        PHONE, geolocation={"longitude": 120.05, "latitude": 30.05}, permissions=["geolocation"]
    )
    page = w.login("worker_a", "/m")
    page.goto(f"{live_server.url}/m/report")
    expect(page.locator("#report-title")).to_be_visible()
    w.check("worker-report")

    w.context.set_offline(True)
    _add_photo(page, "report-photo")
    _queue_report(page, title, "桥洞下有人堆放大量杂物，存在安全隐患。")
    with live_server.api("dispatcher") as api:
        assert api.get("/api/matters", params={"q": title}).json()["total"] == 0

    w.context.set_offline(False)
    expect(page.locator('[data-test="sent-number"]')).to_be_visible(timeout=20_000)
    # A second "online" (a flaky network) sends nothing more.
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_timeout(1000)
    with live_server.api("dispatcher") as api:
        found = api.get("/api/matters", params={"q": title}).json()
    assert found["total"] == 1
    assert found["items"][0]["channel"] in ("grid_app", "web")
    with live_server.api("dispatcher") as api:
        matter = api.get(f"/api/matters/{found['items'][0]['id']}").json()
    assert [(a["stage"], a["content_type"]) for a in matter["attachments"]] == [
        ("report", "image/png")
    ]


def test_a_report_queued_on_a_shared_phone_is_sent_only_as_its_author(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    """Two grid staff share a phone: a report one of them queued offline waits while the
    other is signed in (who sees only that something waits), and goes out under its
    author's name at the author's next sign-in."""
    title = "共用手机离线上报：路口井盖缺失"
    w = visit(PHONE)
    page = w.login("worker_a", "/m")
    page.goto(f"{live_server.url}/m/report")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")  # the app is kept
    w.context.set_offline(True)
    _queue_report(page, title, "十字路口东北角井盖缺失，夜间很危险。")

    # Signing out with a report waiting asks first; offline, it signs out all the same.
    page.get_by_role("button", name="退出").first.click()
    page.locator(".el-message-box").get_by_role("button", name="退出").click()
    page.wait_for_url("**/login")
    w.context.set_offline(False)

    page = w.login("head_a", "/m")
    expect(page.locator('[data-test="others-pending"]')).to_contain_text("1")
    expect(page.locator('[data-test="pending"]')).to_have_count(0)
    expect(page.get_by_text(title)).to_have_count(0)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_timeout(1500)
    with live_server.api("dispatcher") as api:
        assert api.get("/api/matters", params={"q": title}).json()["total"] == 0

    page.get_by_role("button", name="退出").first.click()
    page.wait_for_url("**/login")
    page = w.login("worker_a", "/m")
    expect(page.locator('[data-test="pending"]')).to_have_count(0, timeout=20_000)
    expect(page.locator('[data-test="others-pending"]')).to_have_count(0)
    with live_server.api("dispatcher") as api:
        found = api.get("/api/matters", params={"q": title}).json()
    assert found["total"] == 1
    assert found["items"][0]["reporter_name"] == "用户worker_a"


def test_the_dashboard_shows_the_servers_figures(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    with live_server.api("leader") as api:
        figures = api.get("/api/dashboard").json()
    v = visit()
    page = v.login("leader", "/dashboard")
    today = page.locator('[data-test="figure-today_reported"]')
    expect(today).to_contain_text(str(figures["today_reported"]))
    expect(page.locator('[data-test="figure-open"]')).to_contain_text(str(figures["open"]))
    expect(page.locator("canvas").first).to_be_visible()
    v.check("dashboard")


def test_the_map_draws_grids_without_outside_tiles(visit: Callable[..., Visit]) -> None:
    v = visit()
    page = v.login("dispatcher", "/inbox")
    page.goto(page.url.replace("/inbox", "/map"))
    expect(page.locator("path.leaflet-interactive").first).to_be_visible()
    v.check("map")


def test_the_administration_opens_each_tab(visit: Callable[..., Visit]) -> None:
    v = visit()
    page = v.login("admin", "/inbox")
    page.goto(page.url.replace("/inbox", "/admin"))
    expect(page.get_by_role("tab").first).to_be_visible()
    v.check("admin")


def test_an_administrator_stops_an_account_and_starts_it_again(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    with live_server.api("admin") as api:
        [user] = api.get("/api/users", params={"q": "worker_b"}).json()
    v = visit()
    page = v.login("admin", "/inbox")
    page.goto(f"{live_server.url}/admin?tab=users")
    page.locator("#user-filter-q").fill("worker_b")
    page.keyboard.press("Enter")
    page.locator(f'[data-test="user-show-{user["id"]}"]').click()
    page.locator('[data-test="user-stop"]').click()
    page.locator(".el-message-box").get_by_role("button", name="停用账号").click()
    expect(page.locator('[data-test="user-start"]')).to_be_visible()
    assert (
        httpx.post(
            f"{live_server.url}/api/auth/login", json={"username": "worker_b", "password": PASSWORD}
        ).status_code
        == 401
    )
    page.locator('[data-test="user-start"]').click()
    expect(page.locator('[data-test="user-stop"]')).to_be_visible()
    live_server.token("worker_b")  # signs in again


def test_the_language_switches_to_english_and_back(visit: Callable[..., Visit]) -> None:
    v = visit()
    page = v.login("dispatcher", "/inbox")
    page.locator('[data-test="language"]').first.click()
    expect(page.get_by_role("link", name="Inbox")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    v.check("inbox-english")
    # Category names come from the server in both languages.
    page.locator("#inbox-category").click()
    expect(page.get_by_role("option", name="Street environment")).to_be_visible()
    page.keyboard.press("Escape")
    page.goto(page.url.replace("/inbox", "/matters/999999"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("No such matter")
    # The server answers in English too.
    page.locator('[data-test="logout"]').click()
    page.wait_for_url("**/login**")
    page.get_by_label("User name").fill("dispatcher")
    page.get_by_label("Password", exact=True).fill("not-the-password")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")
    page.locator('[data-test="language"]').first.click()
    expect(page.get_by_role("button", name="登录")).to_be_visible()


def test_the_phone_app_opens_and_queues_a_report_with_no_network_at_all(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    """The service worker keeps the app on the phone: reloaded offline, it still opens and
    queues a report, which is sent once the network is back."""
    title = "冷启动离线上报：码头护栏松动"
    w = visit(PHONE)
    page = w.login("worker_a", "/m")
    page.goto(f"{live_server.url}/m/report")
    page.evaluate("async () => { await navigator.serviceWorker.ready }")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")

    w.context.set_offline(True)
    page.reload()  # no network: the page comes from the service worker's cache
    _queue_report(page, title, "码头东侧护栏螺丝松动，有落水风险。")

    w.context.set_offline(False)
    expect(page.locator('[data-test="sent-number"]')).to_be_visible(timeout=20_000)
    with live_server.api("dispatcher") as api:
        assert api.get("/api/matters", params={"q": title}).json()["total"] == 1
