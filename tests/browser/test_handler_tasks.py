"""The unit handler's tasks page: a task opens beside the list and stays open through its
actions (signing shows the next ones at once, exactly the server's allowed_actions), the
reporter's phone is there in full as a call-back link for a handler of the unit that holds
the matter (and that read is audited), and a handler of another unit does not see the matter
at all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import Engine, select

from fengqiao.core.database import make_sessionmaker
from fengqiao.core.models import AuditLog
from tests.browser.conftest import LiveServer, Visit

pytestmark = pytest.mark.browser

REPORTER_PHONE = "13912345678"
BUREAU = "C-ZHZF"  # the test world's 区综合行政执法局, the unit of user "handler"


def _dispatched(server: LiveServer, title: str) -> dict[str, Any]:
    """A matter reported in grid A1-1 for a resident (name and phone), dispatched to the
    bureau."""
    with server.api("worker_a") as api:
        made = api.post(
            "/api/matters",
            json={
                "title": title,
                "category_code": "urban_management",
                "lon": 120.05,
                "lat": 30.05,
                "address": "甲街道东沙路 8 号",
                "reporter_name": "张阿姨",
                "reporter_phone": REPORTER_PHONE,
            },
        )
    made.raise_for_status()
    matter = dict(made.json())
    with server.api("dispatcher") as api:
        if matter["state"] == "reported":
            accepted = api.post(f"/api/matters/{matter['id']}/actions/accept", json={})
            accepted.raise_for_status()
            matter = dict(accepted.json())
        if matter["state"] == "accepted":
            sent = api.post(
                f"/api/matters/{matter['id']}/actions/dispatch", json={"unit_code": BUREAU}
            )
            sent.raise_for_status()
            matter = dict(sent.json())
    assert (matter["state"], matter["unit_name"]) == ("dispatched", "区综合行政执法局")
    return matter


def _as_handler(server: LiveServer, matter_id: int, username: str = "handler") -> dict[str, Any]:
    with server.api(username) as api:
        resp = api.get(f"/api/matters/{matter_id}")
    resp.raise_for_status()
    return dict(resp.json())


def _panel(page: Page) -> Locator:
    return page.locator('[data-test="task-panel"]')


def _state(panel: Locator) -> Locator:
    return panel.locator('[data-test="task-state"] [data-test="state-tag"]')


def _expect_actions(panel: Locator, allowed: list[str]) -> None:
    """The panel offers exactly these actions, each by the name the server gives it."""
    expect(panel.locator('[data-test^="task-action-"]')).to_have_count(len(allowed))
    for action in allowed:
        expect(panel.locator(f'[data-test="task-action-{action}"]')).to_be_visible()


def test_a_signed_task_stays_open_with_its_next_actions(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    matter = _dispatched(live_server, "任务测试：人行道护栏倒伏")
    number = matter["number"]
    before = _as_handler(live_server, matter["id"])
    assert "sign" in before["allowed_actions"]

    v = visit()
    page = v.login("handler", "/tasks")
    page.locator(f'[data-test="handle-{number}"]').click()
    panel = _panel(page)
    expect(panel.locator('[data-test="task-number"]')).to_have_text(number)
    expect(_state(panel)).to_have_attribute("data-state", "dispatched")
    _expect_actions(panel, before["allowed_actions"])
    v.check("tasks-open")

    panel.locator('[data-test="task-action-sign"]').click()
    # Still open, on the same matter, with what comes next: no reload, no second click.
    expect(_state(panel)).to_have_attribute("data-state", "in_progress")
    after = _as_handler(live_server, matter["id"])
    assert after["state"] == "in_progress"
    assert "sign" not in after["allowed_actions"] and after["allowed_actions"]
    _expect_actions(panel, after["allowed_actions"])
    expect(panel.locator('[data-test="task-number"]')).to_have_text(number)
    assert f"open={matter['id']}" in page.url
    expect(panel.locator('[data-test="timeline-sign"]')).to_be_visible()
    v.check("tasks-signed")

    # The next step from the same panel: feed back through the action's form.
    panel.locator('[data-test="task-action-feedback"]').click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("办理情况").fill("护栏已扶正并加固。")
    dialog.get_by_role("button", name="提交").click()
    expect(_state(panel)).to_have_attribute("data-state", "handled")
    assert _as_handler(live_server, matter["id"])["allowed_actions"] == []
    expect(panel.locator('[data-test^="task-action-"]')).to_have_count(0)
    expect(panel.locator('[data-test="task-no-actions"]')).to_be_visible()


def test_the_reporters_phone_is_there_to_call_back_for_the_units_handler_only(
    visit: Callable[..., Visit], live_server: LiveServer, migrated_engine: Engine
) -> None:
    matter = _dispatched(live_server, "任务测试：楼道灯不亮需回访")
    number, matter_id = matter["number"], matter["id"]
    # A list masks the phone, for the unit's handler too.
    with live_server.api("handler") as api:
        listed = api.get("/api/matters", params={"q": number}).json()
    assert [m["reporter_phone"] for m in listed["items"]] == ["*******5678"]

    v = visit()
    page = v.login("handler", "/tasks")
    # One click in the row signs, and the task opens with its next actions.
    page.locator(f'[data-test="sign-{number}"]').click()
    panel = _panel(page)
    expect(_state(panel)).to_have_attribute("data-state", "in_progress")
    expect(panel.locator('[data-test="task-action-feedback"]')).to_be_visible()
    # The matter's own read gives the handler of its unit the phone in full (the contract).
    call = panel.locator('[data-test="call-back"]')
    expect(call).to_have_attribute("href", f"tel:{REPORTER_PHONE}")
    expect(call).to_contain_text("回拨")
    expect(call).to_contain_text(REPORTER_PHONE)
    v.check("tasks-call-back")

    with make_sessionmaker(migrated_engine)() as session:
        reads = session.scalars(
            select(AuditLog).where(
                AuditLog.action == "read_personal_data",
                AuditLog.entity == "event",
                AuditLog.entity_id == str(matter_id),
            )
        ).all()
    assert [r.detail.get("fields") for r in reads if r.actor_name == "handler"] == [
        ["reporter_phone"]
    ]

    # A handler of another unit: the matter is not there for them at all.
    with live_server.api("handler_a") as api:
        assert api.get(f"/api/matters/{matter_id}").status_code == 404
        assert api.get("/api/matters", params={"q": number}).json()["total"] == 0
    o = visit()
    page = o.login("handler_a", "/tasks")
    expect(page.locator('[data-test="tasks-table"]')).to_be_visible()
    expect(page.get_by_text(number)).to_have_count(0)
    page.goto(f"{live_server.url}/tasks?open={matter_id}")
    panel = _panel(page)
    expect(panel.locator('[data-test="task-missing"]')).to_be_visible()
    expect(page.locator('[data-test="call-back"]')).to_have_count(0)
    expect(page.get_by_text(REPORTER_PHONE)).to_have_count(0)
    o.check("tasks-other-unit")


def test_the_task_panel_speaks_english_on_the_switch(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    matter = _dispatched(live_server, "任务测试：英文界面")
    v = visit()
    page = v.login("handler", "/tasks")
    page.goto(f"{live_server.url}/tasks?open={matter['id']}")
    panel = _panel(page)
    expect(panel.locator('[data-test="task-action-sign"]')).to_have_text("签收")
    page.locator('[data-test="language"]').first.click()
    expect(panel.locator('[data-test="task-action-sign"]')).to_have_text("Sign")
    expect(panel.get_by_role("heading", name="What you can do now")).to_be_visible()
    v.check("tasks-open-english")
