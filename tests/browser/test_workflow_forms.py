"""The console draws action forms from the server's workflow description alone: an action
that only a test-only row of the table has (note_visit, tests/browser/extra_action_app.py)
shows up in the dispatcher's dialog with its fields and labels from the server, in either
language, is checked as its schema says, is taken, and is named in the timeline."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from fengqiao.matters.lifecycle import MATTER
from tests.browser.conftest import PHONE, LiveServer, Visit
from tests.browser.extra_action_app import NOTE_VISIT

pytestmark = pytest.mark.browser

ACTION = "note_visit"


@pytest.fixture
def with_note_visit(live_server: LiveServer) -> Iterator[LiveServer]:
    """The live server with the test-only row in its table, for the test's duration."""
    with MATTER.added(NOTE_VISIT):
        yield live_server


def _described(server: LiveServer, lang: str) -> dict[str, Any]:
    with server.api("dispatcher") as api:
        resp = api.get("/api/workflows/matter", headers={"Accept-Language": lang})
    resp.raise_for_status()
    [action] = [a for a in resp.json()["actions"] if a["name"] == ACTION]
    return dict(action)


def _accepted_matter(server: LiveServer, title: str) -> dict[str, Any]:
    with server.api("worker_a") as api:
        made = api.post("/api/matters", json={"title": title, "lon": 120.05, "lat": 30.05})
    made.raise_for_status()
    with server.api("dispatcher") as api:
        accepted = api.post(f"/api/matters/{made.json()['id']}/actions/accept", json={})
    accepted.raise_for_status()
    matter = dict(accepted.json())
    assert matter["state"] == "accepted"
    assert ACTION in matter["allowed_actions"]
    return matter


def _open_dialog(page: Page, label: str) -> Locator:
    button = page.locator(f'[data-test="action-{ACTION}"]')
    expect(button).to_have_text(label)
    button.click()
    dialog = page.locator(f'[data-test="dialog-{ACTION}"]')
    expect(dialog).to_be_visible()
    return dialog


def _choose(page: Page, dialog: Locator, field: str, option: str) -> list[str]:
    """Opens a select of the dialog, picks `option`; returns the options it offered."""
    dialog.locator(f'[data-test="field-{field}"]').click()
    dropdown = page.locator(".el-select-dropdown:visible")
    items = dropdown.locator(".el-select-dropdown__item")
    expect(items.first).to_be_visible()
    offered = [t.strip() for t in items.all_inner_texts()]
    dropdown.get_by_text(option, exact=True).click()
    expect(dropdown).to_have_count(0)
    return offered


def _item(dialog: Locator, field: str) -> Locator:
    return dialog.locator(f'[data-test="item-{field}"]')


REQUIRED = re.compile(r"\bis-required\b")


def test_an_action_only_the_server_knows_gets_its_form_in_the_console(
    visit: Callable[..., Visit], with_note_visit: LiveServer
) -> None:
    zh = _described(with_note_visit, "zh")
    assert (zh["label"], zh["actors"], zh["schema"]["required"]) == (
        "记录走访",
        ["dispatcher"],
        ["summary"],
    )
    summary, mood = zh["schema"]["properties"]["summary"], zh["schema"]["properties"]["mood"]
    assert summary["title"] == "走访情况"
    matter = _accepted_matter(with_note_visit, "走访测试：邻里纠纷回访")

    v = visit()
    page = v.login("dispatcher", "/inbox")
    page.goto(f"{with_note_visit.url}/matters/{matter['id']}")
    dialog = _open_dialog(page, "记录走访")
    expect(dialog).to_contain_text(f"记录走访 · {matter['number']}")

    # The fields the schema gives, labelled with its titles: a required textarea of at most
    # 500 characters, and an optional select of the enum's labels.
    text = dialog.get_by_label("走访情况")
    assert text.evaluate("el => el.tagName") == "TEXTAREA"
    expect(text).to_have_attribute("maxlength", "500")
    expect(_item(dialog, "summary")).to_have_class(REQUIRED)
    expect(_item(dialog, "mood").locator(".el-form-item__label")).to_have_text(mood["title"])
    expect(_item(dialog, "mood")).not_to_have_class(REQUIRED)
    assert _choose(page, dialog, "mood", "平稳") == ["平稳", "紧张"]
    v.check("workflow-form")

    # Without the required field nothing is sent, and the field says why.
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if f"/actions/{ACTION}" in r.url else None)
    dialog.locator('[data-test="action-submit"]').click()
    expect(_item(dialog, "summary").locator(".el-form-item__error")).to_have_text("请填写走访情况")
    page.wait_for_timeout(300)
    assert sent == []

    text.fill("双方已和解，约定下周再回访。")
    _choose(page, dialog, "mood", "紧张")
    with page.expect_response(lambda r: f"/actions/{ACTION}" in r.url) as answer:
        dialog.locator('[data-test="action-submit"]').click()
    assert answer.value.status == 200
    assert answer.value.request.post_data_json == {
        "summary": "双方已和解，约定下周再回访。",
        "mood": "tense",
    }
    # The timeline names the action, and what its handler kept, as the form labels it.
    entry = page.locator(f'[data-test="timeline-{ACTION}"]')
    expect(entry).to_contain_text("记录走访")
    expect(entry.locator('[data-test="timeline-field-mood"]')).to_have_text(
        f"{mood['title']}：紧张"
    )

    # In English the same form speaks English, every word of it from the server.
    en = _described(with_note_visit, "en")
    assert (en["label"], en["schema"]["properties"]["summary"]["title"]) == (
        "Record a visit",
        "What was found",
    )
    page.locator('[data-test="language"]').first.click()
    expect(entry).to_contain_text("Record a visit")
    expect(entry.locator('[data-test="timeline-field-mood"]')).to_have_text(
        f"{en['schema']['properties']['mood']['title']}: Tense"
    )
    dialog = _open_dialog(page, "Record a visit")
    expect(dialog.get_by_label("What was found")).to_be_visible()
    expect(_item(dialog, "mood").locator(".el-form-item__label")).to_have_text(
        en["schema"]["properties"]["mood"]["title"]
    )
    assert _choose(page, dialog, "mood", "Calm") == ["Calm", "Tense"]
    dialog.locator('[data-test="action-submit"]').click()
    expect(_item(dialog, "summary").locator(".el-form-item__error")).to_have_text(
        "Please fill in: What was found"
    )


def test_the_servers_refusal_is_shown_as_it_is(
    visit: Callable[..., Visit], with_note_visit: LiveServer
) -> None:
    """What only the server checks (sending a matter down to a level not below its own) comes
    back as its 422, and the dialog shows the server's words as they are."""
    matter = _accepted_matter(with_note_visit, "走访测试：下派层级")
    assert "send_down" in matter["allowed_actions"]
    level = matter["level"]
    with with_note_visit.api("dispatcher") as api:
        refused = api.post(f"/api/matters/{matter['id']}/actions/send_down", json={"level": level})
    assert refused.status_code == 422
    message = refused.json()["error"]["message"]

    v = visit()
    page = v.login("dispatcher", "/inbox")
    page.goto(f"{with_note_visit.url}/matters/{matter['id']}")
    page.locator('[data-test="action-send_down"]').click()
    dialog = page.locator('[data-test="dialog-send_down"]')
    number = dialog.locator('[data-test="field-level"] input')
    number.fill(str(level))
    number.blur()
    with page.expect_response(lambda r: "/actions/send_down" in r.url) as answer:
        dialog.locator('[data-test="action-submit"]').click()
    assert answer.value.status == 422
    assert answer.value.request.post_data_json == {"level": level}
    expect(dialog.locator('[data-test="action-error"]')).to_have_text(message)


def test_the_phone_page_offers_a_grid_action_only_the_server_knows(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    """The same row for grid staff, on a newly reported matter: the worker's phone shows its
    card with the schema's fields (a short select as big choices) and takes it."""
    for_grid = replace(NOTE_VISIT, sources=frozenset({"reported"}), actors=frozenset({"grid"}))
    with MATTER.added(for_grid):
        with live_server.api("worker_a") as api:
            made = api.post(
                "/api/matters", json={"title": "走访测试：网格员现场", "lon": 120.05, "lat": 30.05}
            )
        made.raise_for_status()
        matter = made.json()
        assert ACTION in matter["allowed_actions"]

        w = visit(PHONE)
        page = w.login("worker_a", "/m")
        page.goto(f"{live_server.url}/m/matters/{matter['id']}")
        card = page.locator(f'[data-test="card-{ACTION}"]')
        expect(card.get_by_role("heading", level=3)).to_have_text("记录走访")
        expect(card.get_by_label("走访情况")).to_have_attribute("maxlength", "500")
        choices = card.get_by_role("radiogroup", name="现场气氛")
        expect(choices.get_by_role("radio")).to_have_count(2)
        w.check("worker-workflow-card")

        button = card.locator(f'[data-test="action-{ACTION}"]')
        expect(button).to_have_text("记录走访")
        button.click()
        expect(_item(card, "summary").locator(".el-form-item__error")).to_have_text(
            "请填写走访情况"
        )
        card.get_by_label("走访情况").fill("现场查看，路面已清理。")
        choices.get_by_label("平稳").check()
        with page.expect_response(lambda r: f"/actions/{ACTION}" in r.url) as answer:
            button.click()
        assert answer.value.status == 200
        assert answer.value.request.post_data_json == {
            "summary": "现场查看，路面已清理。",
            "mood": "calm",
        }
        expect(page.locator(".timeline")).to_contain_text("记录走访")
