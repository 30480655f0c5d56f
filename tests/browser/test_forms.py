"""Forms speak the user's language: a refused value is said beside its field, under the
field's own label (never the API's name for it); a refused login keeps one `next` and says
how many tries are left; the jurisdiction picker finds a grid by its name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import LiveServer, Visit
from tests.world import COUNTY, GRID_B1_1, PASSWORD

pytestmark = pytest.mark.browser

STRONG = "Lantern-harbour-42"


def _item(scope: Page | Locator, name: str) -> Locator:
    return scope.locator(f'[data-test="item-{name}"]')


def _error(scope: Page | Locator, name: str) -> Locator:
    return _item(scope, name).locator(".el-form-item__error")


def _query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def _new_user(server: LiveServer, username: str, **fields: Any) -> dict[str, Any]:
    body = {
        "username": username,
        "display_name": "表单测试",
        "password": STRONG,
        "roles": ["dispatcher"],
        "region_code": COUNTY,
        **fields,
    }
    with server.api("admin") as api:
        made = api.post("/api/users", json=body)
    made.raise_for_status()
    return dict(made.json())


def _submit_login(page: Page, username: str, password: str) -> None:
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    with page.expect_response("**/api/auth/login") as answer:
        page.get_by_role("button", name="登录").click()
    assert answer.value.status == 401


def test_a_refused_login_is_said_beside_the_password_and_keeps_one_next(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    _new_user(live_server, "forms.login")
    v = visit()
    page = v.go("/inbox")
    page.wait_for_url(lambda url: "/login?" in url and "next=" in url)
    assert _query(page) == {"next": ["/inbox"]}

    # Nothing typed for the password: said beside it, by its label, and nothing is sent.
    page.get_by_label("用户名").fill("forms.login")
    page.get_by_role("button", name="登录").click()
    expect(_error(page, "password")).to_have_text("请填写密码")
    expect(_error(page, "username")).to_have_count(0)

    # A wrong password: the server's words beside the password, as an alert; once more,
    # and the address still holds one `next`.
    for _ in range(2):
        _submit_login(page, "forms.login", "not-the-password")
        expect(_error(page, "password")).to_have_text("用户名或密码错误")
        expect(page.get_by_role("alert")).to_have_text("用户名或密码错误")
        assert _query(page) == {"next": ["/inbox"]}, page.url
        assert "password" not in _error(page, "password").inner_text()
    v.check("login-error")

    # Typing again clears the words; the right password goes where the user was going.
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    expect(_error(page, "password")).to_have_count(0)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/inbox")


def test_the_third_wrong_password_says_how_many_tries_are_left(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    _new_user(live_server, "forms.tries")
    v = visit()
    page = v.go("/login")
    for _ in range(2):
        _submit_login(page, "forms.tries", "not-the-password")
        expect(_error(page, "password")).to_have_text("用户名或密码错误")
    _submit_login(page, "forms.tries", "not-the-password")
    expect(_error(page, "password")).to_have_text("用户名或密码错误，还可尝试 7 次")
    assert "next=" not in page.url


def _open_users(v: Visit) -> Page:
    page = v.login("admin", "/inbox")
    page.goto(f"{v.server.url}/admin?tab=users")
    expect(page.locator('[data-test="user-form"]')).to_be_visible()
    return page


def _pick_role(page: Page, form: Locator, role: str) -> None:
    form.locator('[data-test="user-roles"]').click()
    page.locator(".el-select-dropdown:visible").get_by_text(role, exact=True).click()
    page.keyboard.press("Escape")


def test_an_admin_form_says_a_bad_value_beside_its_field(visit: Callable[..., Visit]) -> None:
    v = visit()
    page = _open_users(v)
    form = page.locator('[data-test="user-form"]')
    form.locator("#user-username").fill("forms.phone")
    form.locator("#user-display").fill("号码有误")
    _pick_role(page, form, "指挥中心派遣员")
    form.locator("#user-password").fill(STRONG)
    form.locator("#user-phone").fill("12345")
    with page.expect_response("**/api/users") as answer:
        form.locator('[data-test="user-save"]').click()
    assert answer.value.status == 422
    [fault] = answer.value.json()["error"]["details"]
    assert fault["field"] == "phone"
    error = _error(form, "phone")
    expect(error).to_have_text(f"手机号：{fault['message']}")
    assert "phone" not in error.inner_text()
    expect(page.locator(".el-message--error")).to_have_count(0)  # beside the field only

    # A rule the service checks (a user needs a jurisdiction) is said beside its field.
    form.locator("#user-phone").fill("")
    expect(error).to_have_count(0)
    with page.expect_response("**/api/users") as answer:
        form.locator('[data-test="user-save"]').click()
    assert answer.value.status == 422
    expect(_error(form, "region_code")).to_have_text("辖区（区划或网格）：必须指定辖区或所属单位")
    expect(_error(form, "password")).to_have_count(0)


def test_the_jurisdiction_picker_finds_a_grid_by_name_and_binds_a_user_to_it(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    with live_server.api("admin") as api:
        [grid] = [g for g in api.get("/api/grids").json() if g["code"] == GRID_B1_1]
    v = visit()
    page = _open_users(v)
    form = page.locator('[data-test="user-form"]')
    form.locator("#user-username").fill("forms.grid")
    form.locator("#user-display").fill("网格员乙")
    _pick_role(page, form, "专职网格员")
    form.locator("#user-password").fill(STRONG)

    form.locator('[data-test="user-region"]').click()
    with page.expect_response(lambda r: "/api/places" in r.url and "q=" in r.url):
        page.keyboard.type(grid["name"])
    option = page.locator(f'.el-select-dropdown:visible [data-test="place-{GRID_B1_1}"]')
    expect(option).to_contain_text(grid["name"])
    expect(option).to_contain_text(grid["region_name"])
    # Element Plus's open dropdown is a role=tooltip popper with no name (axe says so of
    # every open select): the open picker is photographed, the form checked once closed.
    v.screenshot("admin-user-picker-open")
    option.click()
    expect(_item(form, "region_code")).to_contain_text(grid["name"])
    v.check("admin-user-picker")

    with page.expect_response("**/api/users") as answer:
        form.locator('[data-test="user-save"]').click()
    assert answer.value.status == 201, answer.value.text()
    with live_server.api("admin") as api:
        [user] = api.get("/api/users", params={"q": "forms.grid"}).json()
    assert user["jurisdiction_path"] == grid["path"]
    expect(page.locator('[data-test="user-forms.grid"]')).to_be_visible()
