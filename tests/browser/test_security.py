"""Browser security in a real browser: the console's pages carry the security headers and
break none of the Content-Security-Policy's rules, the refresh token lives only in an
HttpOnly cookie that page scripts cannot read, the console refreshes through that cookie,
and the API documentation renders from this server alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Request, Response, expect

from tests.browser.conftest import PHONE, LiveServer, Visit
from tests.world import PASSWORD

pytestmark = pytest.mark.browser

REFRESH_COOKIE = "fengqiao_refresh"

# Reported to the test by every page of a context (bindings and init scripts are not
# subject to the page's CSP).
WATCH_CSP = """
document.addEventListener('securitypolicyviolation', (e) =>
  window.__cspViolation({
    page: location.pathname, directive: e.effectiveDirective, blocked: e.blockedURI,
    source: e.sourceFile, line: e.lineNumber, sample: e.sample,
  }))
"""


def watch_csp(v: Visit) -> list[dict[str, Any]]:
    """Every CSP violation of the context's pages: the DOM's matters and the console's."""
    found: list[dict[str, Any]] = []
    v.context.expose_binding("__cspViolation", lambda _source, info: found.append(info))
    v.context.add_init_script(WATCH_CSP)

    def console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            found.append({"console": message.text})

    v.page.on("console", console)
    return found


def refresh_cookie(v: Visit) -> dict[str, Any]:
    [cookie] = [c for c in v.context.cookies() if c["name"] == REFRESH_COOKIE]
    return dict(cookie)


def script_storage(page: Page) -> str:
    """All a page script can read of cookies and storage, as one text."""
    return str(
        page.evaluate(
            """() => JSON.stringify({
                cookie: document.cookie,
                local: Object.fromEntries(Object.entries(localStorage)),
                session: Object.fromEntries(Object.entries(sessionStorage)),
            })"""
        )
    )


def test_console_pages_and_assets_carry_the_security_headers(
    visit: Callable[..., Visit],
) -> None:
    # No service worker: every answer comes from the server, not from its cache.
    v = visit(service_workers="block")
    answers: list[Response] = []
    v.page.on("response", lambda answer: answers.append(answer))
    policy_errors: list[str] = []  # e.g. a feature name Chromium does not know
    v.page.on(
        "console",
        lambda m: policy_errors.append(m.text) if "Permissions-Policy" in m.text else None,
    )
    expect(v.go("/login").get_by_role("button", name="登录")).to_be_visible()
    page = v.login("dispatcher", "/inbox")
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    kinds = {
        "page": [a for a in answers if a.request.resource_type == "document"],
        "script": [a for a in answers if "/assets/" in a.url and a.url.endswith(".js")],
        "style": [a for a in answers if "/assets/" in a.url and a.url.endswith(".css")],
        "api": [a for a in answers if "/api/" in a.url],
    }
    for kind, found in kinds.items():
        assert found, f"no {kind} answer seen"
        for answer in found:
            headers = answer.headers
            csp = headers.get("content-security-policy", "")
            assert "default-src 'self'" in csp and "script-src 'self'" in csp, (kind, answer.url)
            assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
            assert "unsafe-eval" not in csp
            assert headers.get("x-content-type-options") == "nosniff", answer.url
            assert headers.get("referrer-policy") == "strict-origin-when-cross-origin"
            permissions = headers.get("permissions-policy", "")
            assert "camera=(self)" in permissions and "geolocation=(self)" in permissions
            assert "microphone=()" in permissions
            assert headers.get("x-frame-options") == "DENY"
    assert policy_errors == []


def test_the_refresh_token_is_not_readable_from_page_scripts(
    visit: Callable[..., Visit],
) -> None:
    v = visit()
    page = v.go("/login")
    with page.expect_response("**/api/auth/login") as login:
        page = v.login("dispatcher", "/inbox")
    assert "refresh_token" not in login.value.json()
    assert login.value.json()["access_token"]

    cookie = refresh_cookie(v)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/api/auth" and len(cookie["value"]) > 20
    expect(page.locator(".el-table").first).to_be_visible()
    readable = script_storage(page)
    assert cookie["value"] not in readable and cookie["value"].split(".")[-1] not in readable
    assert REFRESH_COOKIE not in readable and "fengqiao.refresh" not in readable

    # Logging out ends the session and clears the cookie.
    page.locator('[data-test="logout"]').click()
    page.wait_for_url("**/login**")
    assert [c for c in v.context.cookies() if c["name"] == REFRESH_COOKIE] == []


def test_the_console_refreshes_through_the_cookie(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    v = visit()
    page = v.login("dispatcher", "/inbox")
    expect(page.locator(".el-table").first).to_be_visible()
    refreshes: list[Request] = []
    page.on(
        "request", lambda r: refreshes.append(r) if r.url.endswith("/api/auth/refresh") else None
    )

    # The access token dropped: on reload the console gets a new one from the cookie.
    before = refresh_cookie(v)["value"]
    page.evaluate("localStorage.removeItem('fengqiao.token')")
    page.reload()
    expect(page.locator(".el-table").first).to_be_visible()
    assert "/inbox" in page.url and len(refreshes) == 1
    assert refreshes[0].post_data_json == {}  # the token came from the cookie, not from JS
    assert refresh_cookie(v)["value"] != before  # rotated
    assert page.evaluate("localStorage.getItem('fengqiao.token')")

    # An access token the server no longer takes (expired), while a page loads two things
    # at once: both are refused, one refresh serves both (a second one with the same,
    # rotated cookie would end the session), and the page shows what it loaded.
    page.evaluate("localStorage.setItem('fengqiao.token', 'expired-or-revoked-token')")
    refused: list[str] = []
    page.on("response", lambda r: refused.append(r.url) if r.status == 401 else None)
    page.get_by_role("link", name="一张图").click()
    page.wait_for_url("**/map")
    expect(page.locator("path.leaflet-interactive").first).to_be_visible()
    assert len(refreshes) == 2 and len(refused) >= 2, refused
    assert "expired" not in str(page.evaluate("localStorage.getItem('fengqiao.token')"))
    assert "/map" in page.url

    # The token the cookie held before is rotated: offered again, it is refused.
    with live_server.api("dispatcher") as api:
        again = api.post("/api/auth/refresh", json={"refresh_token": before})
    assert again.status_code == 401


def test_a_session_from_before_the_cookie_moves_into_it(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    """A console that kept its refresh token in localStorage (before the cookie) hands it
    over once: the server puts it into the cookie, and it leaves the page's storage."""
    old = httpx.post(
        f"{live_server.url}/api/auth/login",
        json={"username": "dispatcher", "password": PASSWORD},
    ).json()["refresh_token"]
    v = visit()
    v.go("/login")
    v.page.evaluate("(token) => localStorage.setItem('fengqiao.refresh', token)", old)
    page = v.go("/inbox")
    expect(page.locator(".el-table").first).to_be_visible()
    assert "/inbox" in page.url
    assert refresh_cookie(v)["value"] not in ("", old)  # rotated into the cookie
    readable = script_storage(page)
    assert "fengqiao.refresh" not in readable and old not in readable


PROVOKE = """() => new Promise((resolve) => {
  document.addEventListener('securitypolicyviolation', (e) => resolve(e.effectiveDirective),
    { once: true })
  document.head.insertAdjacentHTML('beforeend', '<style>b { color: red }</style>')
})"""


def _violations_free(page: Page, found: list[dict[str, Any]], where: str) -> None:
    assert not found, f"CSP violations on {where}: " + json.dumps(
        found, ensure_ascii=False, indent=1
    )
    # The policy refuses a <style> element put in by a script, and the watch sees it.
    assert page.evaluate(PROVOKE) == "style-src-elem"
    for _ in range(50):
        if any(f.get("directive") == "style-src-elem" for f in found):
            break
        page.wait_for_timeout(100)
    assert any(f.get("directive") == "style-src-elem" for f in found), found
    found.clear()


def test_no_csp_violation_on_the_main_pages(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    matter_id = live_server.world.matters["a"]
    v = visit()
    found = watch_csp(v)
    page = v.go("/login")
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    page = v.login("admin", "/inbox")
    expect(page.locator(".el-table").first).to_be_visible()
    page.locator("#inbox-category").click()  # a teleported Element Plus popper
    expect(page.get_by_role("option").first).to_be_visible()
    page.keyboard.press("Escape")
    v.go(f"/matters/{matter_id}")
    expect(page.locator('[data-test^="attachment-"] img').first).to_be_visible()
    v.go("/map")
    expect(page.locator("path.leaflet-interactive").first).to_be_visible()
    # A grid's figures, clicked near its corner (a matter's marker may lie on its centre).
    page.locator("path.leaflet-interactive").first.click(position={"x": 4, "y": 4}, force=True)
    page.wait_for_load_state("networkidle")
    v.go("/dashboard")
    expect(page.locator("canvas").first).to_be_visible()
    for i in range(page.locator("canvas").count()):  # each chart's tooltip, under the pointer
        box = page.locator("canvas").nth(i).bounding_box()
        assert box is not None
        for tenth in range(3, 8):
            x, y = box["x"] + box["width"] * tenth / 10, box["y"] + box["height"] * 0.6
            page.mouse.move(x, y, steps=4)
    tooltip = page.locator('div[style*="z-index: 9999999"]', has_text="上报")
    expect(tooltip.first).to_be_attached()
    v.go("/admin")
    for tab in ("regions", "units", "rules", "deadlines", "holidays", "users"):
        page.locator(f'[data-test="tab-{tab}"]').click()
        page.wait_for_load_state("networkidle")
    page.locator('[data-test="logout"]').click()
    page.wait_for_url("**/login**")
    _violations_free(page, found, "the desktop pages")

    w = visit(PHONE)
    found = watch_csp(w)
    page = w.login("worker_a", "/m")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.goto(f"{live_server.url}/m/report")
    expect(page.locator("#report-title")).to_be_visible()
    page.evaluate("async () => { await navigator.serviceWorker.ready }")  # allowed to run
    page.wait_for_load_state("networkidle")
    _violations_free(page, found, "the phone pages")


def test_the_api_documentation_renders_from_this_server_only(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    v = visit()
    found = watch_csp(v)
    requested: list[str] = []
    v.page.on("request", lambda r: requested.append(r.url))
    page = v.go("/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Fengqiao")
    expect(page.locator(".opblock").first).to_be_visible()
    expect(page.locator(".opblock-tag", has_text="people")).to_be_visible()
    v.screenshot("api-docs")
    assert requested and all(u.startswith(live_server.url) for u in requested), requested
    assert any(u.endswith("/api/openapi.json") for u in requested)
    _violations_free(page, found, "/api/docs")
