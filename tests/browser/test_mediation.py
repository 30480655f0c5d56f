"""People's mediation in the browser. A resident applies on a phone (390 px), asking for a
mediator by name from the mediation menu, and is told plainly when the conflict check
excludes the one chosen; the committee's chair accepts on the committee head's desk and, on
the case page, links the respondent's account, assigns, informs, records a session and
drafts the agreement through forms drawn from the case workflow; both parties sign on their
phones and the mediator on the desk; the case is then in effect and its agreement PDF
downloads. The figures page shows the server's indicators and exports them; the public
verification page tells the sealed copy from a changed one. Every page is screenshotted
and checked with axe."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, Route, expect

from fengqiao.core import clock
from tests.browser.conftest import PHONE, LiveServer, Visit

pytestmark = pytest.mark.browser

RESPONDENT, RESPONDENT_PHONE = "郑小红", "13800003333"


@contextmanager
def _as(server: LiveServer, username: str) -> Iterator[httpx.Client]:
    with server.api(username) as api:
        yield api


def _ok(resp: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    return dict(resp.json())


def _open_phone(w: Visit, username: str) -> Page:
    """A party signs in on a phone and opens their mediation cases from the phone's menu."""
    page = w.login(username, "/m/report")
    page.locator('[data-test="nav-mediation"]').click()
    page.wait_for_url("**/m/mediation")
    expect(page.get_by_role("heading", level=1)).to_have_text("我的调解")
    return page


def _pick(page: Page, field: Locator, option: str) -> None:
    """Chooses an option of an Element Plus select (its list is placed on <body>)."""
    field.click()
    page.locator(".el-select-dropdown__item:visible", has_text=option).first.click()


def _act(page: Page, action: str) -> Locator:
    page.locator(f'[data-test="action-{action}"]').click()
    dialog = page.locator(f'[data-test="dialog-{action}"]')
    expect(dialog).to_be_visible()
    return dialog


def _submit(page: Page, dialog: Locator, state: str | None = None) -> None:
    dialog.locator('[data-test="action-submit"]').click()
    expect(dialog).to_be_hidden()
    # The overlay fades out after the dialog, its title already gone: wait it out.
    expect(page.locator(".el-overlay-dialog:visible")).to_have_count(0)
    if state is not None:
        expect(
            page.locator('[data-test="mediation-case"] .head [data-test="case-state"]')
        ).to_have_text(state)


def _sign_on_phone(page: Page, number: str) -> None:
    page.locator(f'[data-test="case-{number}"]').click()
    page.wait_for_url(f"**/m/mediation/{number}")
    expect(page.locator('[data-test="agreement"]')).to_contain_text(
        "被申请人修复漏水的卫生间防水层"
    )
    page.locator('[data-test="sign"]').click()
    page.locator(".case-confirm").get_by_role("button", name="签署协议").click()
    expect(page.locator('[data-test="i-signed"]')).to_be_visible()


def test_a_resident_applies_and_the_agreement_takes_effect(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    world = live_server.world
    chair, member = world.mediators["a_chair"], world.mediators["a_member"]

    # -- the resident applies on a phone, choosing from the mediation menu
    r = visit(PHONE)
    page = _open_phone(r, "resident")
    r.check("mediation-mine")
    page.locator('[data-test="apply"]').click()
    page.wait_for_url("**/m/mediation/apply")
    page.locator("#apply-title").fill("楼上卫生间漏水纠纷（浏览器测试）")
    page.locator("#apply-summary").fill("楼上卫生间漏水渗到我家天花板，多次协商未果。")
    page.locator("#apply-specialty").select_option("neighbour")
    page.locator("#apply-respondent-name").fill(RESPONDENT)
    page.locator("#apply-respondent-phone").fill(RESPONDENT_PHONE)
    menu = page.locator('[data-test="menu"]')
    expect(menu.locator(f'[data-test="mediator-{chair}"]')).to_be_visible()

    # A mediator the conflict check excludes is refused with 409: the page says so by the
    # menu, undoes the choice and keeps that mediator from being chosen again.
    menu.locator(f'[data-test="choose-{member}"]').click()
    expect(menu.locator('[data-test="chosen"]')).to_contain_text("周明")
    refusal = {"error": {"code": "conflict", "message": "调解员周明须回避：与当事人郑小红同户"}}

    def excluded(route: Route) -> None:
        if route.request.method == "POST":
            route.fulfill(status=409, content_type="application/json", body=json.dumps(refusal))
        else:
            route.fallback()

    page.route("**/api/mediation/cases", excluded)
    page.locator('[data-test="submit-apply"]').click()
    conflict = page.locator('[data-test="conflict"]')
    expect(conflict).to_contain_text("须回避")
    expect(conflict).to_contain_text("与当事人郑小红同户")
    expect(menu.locator(f'[data-test="choose-{member}"]')).to_be_disabled()
    expect(menu.locator('[data-test="chosen"]')).to_have_count(0)
    assert "/m/mediation/apply" in page.url
    page.unroute("**/api/mediation/cases", excluded)

    # Asked for by name: 林素珍, the chair of A-TWH, with her profile and record.
    page.locator("#menu-q").fill("林素珍")
    page.locator('[data-test="menu-search"]').click()
    card = menu.locator(f'[data-test="mediator-{chair}"]')
    expect(menu.locator('[data-test^="mediator-"]')).to_have_count(1)
    expect(card).to_contain_text("甲街道人民调解委员会")
    expect(card).to_contain_text("婚姻家庭")
    expect(card.locator('[data-test="load"]')).to_be_visible()
    card.locator(f'[data-test="choose-{chair}"]').click()
    expect(menu.locator('[data-test="chosen"]')).to_contain_text("林素珍")
    r.check("mediation-apply")
    page.locator('[data-test="submit-apply"]').click()
    page.wait_for_url("**/m/mediation/TJ*")
    number = page.locator('[data-test="number"]').inner_text()
    expect(page.locator('[data-test="state"]')).to_have_text("待受理")
    expect(page.locator('[data-test="timeline-apply"]')).to_contain_text("林素珍")
    with _as(live_server, "resident") as api:
        made = _ok(api.get(f"/api/mediation/cases/{number}"))
    assert made["chosen_mediator_id"] == chair and made["committee_code"] == "A-TWH"
    # The resident writes in the joint thread.
    page.locator(f"#compose-{number}").fill("您好，我愿意调解。")
    page.locator('[data-test="send"]').click()
    expect(page.locator('[data-test="message"]')).to_contain_text("您好，我愿意调解。")
    r.check("mediation-case-phone")

    # -- the chair accepts on the committee head's desk
    m = visit()
    desk = m.login("mediator_a", "/mediation")
    expect(desk.get_by_role("heading", level=1)).to_have_text("调解工作台")
    desk.get_by_role("link", name="受理指派").first.click()
    desk.wait_for_url("**/mediation/assign")
    waiting = desk.locator(f'[data-test="waiting-{number}"]')
    expect(waiting.locator(f'[data-test="chosen-{number}"]')).to_contain_text("林素珍")
    expect(waiting.locator(f'[data-test="load-{chair}"]')).to_be_visible()
    m.check("mediation-assign")
    waiting.locator(f'[data-test="action-{number}-accept"]').click()
    accept = desk.locator('[data-test="dialog-accept"]')
    accept.locator('[data-test="action-submit"]').click()
    expect(accept).to_be_hidden()
    expect(waiting.locator(f'[data-test="action-{number}-assign"]')).to_be_visible()

    # -- on the case page: link the respondent's account, assign, inform, record, draft
    desk.goto(f"{live_server.url}/mediation/cases/{number}")
    head = desk.locator('[data-test="mediation-case"] .head [data-test="case-state"]')
    expect(head).to_have_text("已受理")
    respondent = next(p for p in made["parties"] if p["role"] == "respondent")
    phone_cell = desk.locator(f'[data-test="party-{respondent["id"]}-phone"]')
    expect(phone_cell).not_to_have_text(RESPONDENT_PHONE)  # masked
    desk.locator('[data-test="unmask"]').click()
    expect(desk.locator('[data-test="unmasked"]')).to_be_visible()
    expect(phone_cell).to_have_text(RESPONDENT_PHONE)
    expect(desk.locator('[data-test="threads"] [data-test="message"]')).to_contain_text(
        "您好，我愿意调解。"
    )

    dialog = _act(desk, "link_account")
    _pick(desk, dialog.locator('[data-test="field-party_id"]'), f"{RESPONDENT}（被申请人）")
    dialog.get_by_label("核实身份后关联的用户名").fill("resident_b")
    _submit(desk, dialog)
    expect(desk.locator(f'[data-test="party-{respondent["id"]}-account"]')).to_have_text("已关联")

    dialog = _act(desk, "assign")
    _pick(desk, dialog.locator('[data-test="field-presiding_id"]'), "林素珍")
    _submit(desk, dialog, "已指派")
    expect(desk.locator('[data-test="presiding"]')).to_have_text("林素珍")

    _submit(desk, _act(desk, "inform"), "已告知")

    dialog = _act(desk, "record_session")
    for p in made["parties"]:
        dialog.locator(f'[data-test="attendance-{p["id"]}"]').click()
    dialog.get_by_label("调解笔录（陈述与意见）").fill("申请人要求修复并赔偿；被申请人同意修复。")
    dialog.get_by_label("调解结果").fill("双方原则同意和解。")
    _submit(desk, dialog, "调解中")
    expect(desk.locator('[data-test="session-1"]')).to_contain_text("双方原则同意和解")

    dialog = _act(desk, "draft_agreement")
    dialog.get_by_label("纠纷的主要事实").fill("被申请人卫生间防水层老化漏水，致申请人天花板受损。")
    dialog.get_by_label("争议事项").fill("维修责任")
    dialog.get_by_label("各方当事人的责任").fill("被申请人承担维修责任。")
    dialog.locator("#case-action-terms-0-content").fill("被申请人修复漏水的卫生间防水层")
    _pick(desk, dialog.locator('[data-test="term-0-obligor"]'), f"{RESPONDENT}（被申请人）")
    due = (clock.now() + timedelta(days=10)).astimezone(clock.zone()).date().isoformat()
    dialog.locator("#case-action-terms-0-due_on").fill(due)
    dialog.locator("#case-action-terms-0-manner").fill("自行修复")
    m.check("mediation-draft-form")
    _submit(desk, dialog, "协议待签署")
    expect(desk.locator('[data-test="waiting"]')).to_contain_text(RESPONDENT)
    m.check("mediation-case-desk")

    # -- both parties sign on their phones
    page.goto(f"{live_server.url}/m/mediation")
    _sign_on_phone(page, number)
    r.check("mediation-case-signed")
    b = visit(PHONE)
    _sign_on_phone(_open_phone(b, "resident_b"), number)

    # -- and the mediator signs: the agreement is in effect
    desk.locator('[data-test="reload"]').click()
    expect(desk.locator('[data-test="waiting"]')).to_have_text("待签署：调解员")
    _submit(desk, _act(desk, "sign"), "协议履行中")
    expect(desk.locator('[data-test="sealed"]')).to_be_visible()
    with _as(live_server, "mediator_a") as api:
        case = _ok(api.get(f"/api/mediation/cases/{number}"))
    assert case["state"] == "effective"
    assert [e["action"] for e in case["timeline"]][-4:] == ["sign", "sign", "sign", "take_effect"]

    # The sealed agreement downloads as a PDF, fetched with the mediator's token.
    with desk.expect_download() as got:
        desk.locator('[data-test="document-agreement"]').click()
    pdf = Path(got.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    assert got.value.suggested_filename == f"{number}-agreement.pdf"

    # The workbench lists the cases she presides over, the time limit of one still being
    # mediated, and today's session.
    timed = _assigned_case(live_server, "期限测试：邻里噪音纠纷")
    desk.get_by_role("link", name="调解工作台").first.click()
    desk.wait_for_url("**/mediation")
    expect(desk.locator(f'[data-test="open-{number}"]')).to_be_visible()
    expect(desk.locator(f'[data-test="deadline-{timed["number"]}"]')).to_contain_text(
        timed["due_on"]
    )
    expect(desk.locator(f'[data-test="deadline-{number}"]')).to_have_count(0)  # in effect
    expect(desk.locator('[data-test="today"]')).to_contain_text("楼上卫生间漏水纠纷（浏览器测试）")
    expect(desk.locator('[data-test="count-today"]')).not_to_have_text("0")
    m.check("mediation-workbench")


def _assigned_case(server: LiveServer, title: str) -> dict[str, Any]:
    """A resident's case accepted and assigned to 林素珍 through the API: its clock runs."""
    with _as(server, "resident") as resident, _as(server, "mediator_a") as chair:
        number = _ok(
            resident.post(
                "/api/mediation/cases",
                json={
                    "title": title,
                    "committee_code": "A-TWH",
                    "parties": [{"role": "respondent", "name": "王五"}],
                },
            ),
            201,
        )["number"]
        url = f"/api/mediation/cases/{number}/actions"
        _ok(chair.post(f"{url}/accept", json={}))
        case = _ok(
            chair.post(f"{url}/assign", json={"presiding_id": server.world.mediators["a_chair"]})
        )
    assert case["state"] == "assigned" and case["due_on"]
    return case


def _sealed_agreement(server: LiveServer, title: str) -> tuple[str, bytes]:
    """A case walked to its sealed agreement through the API, and the agreement's PDF."""
    world = server.world
    with _as(server, "resident") as resident, _as(server, "mediator_a") as chair:
        case = _ok(
            resident.post(
                "/api/mediation/cases",
                json={
                    "title": title,
                    "summary": "邻里纠纷",
                    "committee_code": "A-TWH",
                    "parties": [{"role": "respondent", "name": "李四", "phone": "13800004444"}],
                },
            ),
            201,
        )
        number = case["number"]
        parties = [p["id"] for p in case["parties"]]
        respondent = next(p["id"] for p in case["parties"] if p["role"] == "respondent")

        def act(client: httpx.Client, action: str, **body: Any) -> dict[str, Any]:
            return _ok(client.post(f"/api/mediation/cases/{number}/actions/{action}", json=body))

        act(chair, "link_account", party_id=respondent, username="resident_b")
        act(chair, "accept")
        act(chair, "assign", presiding_id=world.mediators["a_chair"])
        act(chair, "inform")
        act(chair, "record_session", attendance=parties, statements="陈述", result="同意和解")
        act(
            chair,
            "draft_agreement",
            facts="漏水",
            disputed="维修",
            responsibilities="被申请人维修",
            terms=[{"content": "修复防水层", "obligor_id": respondent, "due_on": "2027-01-31"}],
        )
        act(resident, "sign")
        with _as(server, "resident_b") as other:
            act(other, "sign")
        assert act(chair, "sign")["state"] == "effective"
        pdf = chair.get(f"/api/mediation/cases/{number}/documents/agreement")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        return number, pdf.content


def test_the_verify_page_tells_the_sealed_copy_from_a_changed_one(
    visit: Callable[..., Visit], live_server: LiveServer, tmp_path: Path
) -> None:
    number, sealed = _sealed_agreement(live_server, "核验测试：邻里漏水纠纷")
    genuine, changed = tmp_path / "agreement.pdf", tmp_path / "changed.pdf"
    genuine.write_bytes(sealed)
    middle = len(sealed) // 2
    changed.write_bytes(sealed[:middle] + bytes([sealed[middle] ^ 0x01]) + sealed[middle + 1 :])

    v = visit(PHONE)  # no sign-in
    page = v.go("/verify")
    expect(page.get_by_role("heading", level=1)).to_have_text("人民调解协议书核验")
    page.get_by_label("协议书 PDF 文件").set_input_files(genuine)
    page.locator('[data-test="verify-submit"]').click()
    expect(page.locator('[data-test="verify-genuine"]')).to_contain_text("是签署加封的原件")
    expect(page.locator('[data-test="verify-case"]')).to_have_text(number)
    v.check("mediation-verify-genuine")

    page.get_by_label("协议书 PDF 文件").set_input_files(changed)
    page.locator('[data-test="verify-submit"]').click()
    refused = page.locator('[data-test="verify-not-genuine"]')
    expect(refused).to_contain_text("不是签署加封的原件")
    expect(refused.locator('[data-test="verify-message"]')).to_contain_text("不是")
    expect(page.locator('[data-test="verify-case"]')).to_have_count(0)
    v.check("mediation-verify-changed")
    assert "/login" not in page.url

    page.locator('[data-test="language"]').first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify a mediation agreement")


def test_the_figures_page_shows_and_exports_the_servers_indicators(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    with _as(live_server, "leader") as api:
        served = api.get("/api/mediation/indicators", params={"by": "committee"}).json()
    row = next(r for r in served if r["name"] == "甲街道人民调解委员会")

    v = visit()
    page = v.login("leader", "/dashboard")
    page.get_by_role("link", name="调解统计").click()
    page.wait_for_url("**/mediation/figures")
    table = page.locator('[data-test="indicators"]')
    line = table.locator(".el-table__row", has_text="甲街道人民调解委员会")
    expect(line).to_be_visible()
    expect(line.locator("td").nth(1)).to_have_text(str(row["cases"]))
    expect(page.locator('[data-test="stage-consultation"]')).to_contain_text("在线咨询")
    v.check("mediation-figures")

    page.locator('[data-test="by-specialty"]').click()
    expect(table.locator(".el-table__row", has_text="邻里纠纷")).to_be_visible()
    for name in ("export-indicators", "export-ledger"):
        with page.expect_download() as got:
            page.locator(f'[data-test="{name}"] button').click()
        assert Path(got.value.path()).read_bytes().startswith(b"PK")  # an .xlsx (zip)
        assert got.value.suggested_filename.endswith(".xlsx")


def test_the_case_forms_draw_a_tick_and_each_terms_state(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    """The `checkbox` widget (extend: both parties must agree, as the schema's constant
    says) and the `term_states` widget (a follow-up visit records each term performed)."""
    timed = _assigned_case(live_server, "表单测试：延长期限")
    number, _ = _sealed_agreement(live_server, "表单测试：回访履行")

    v = visit()
    page = v.login("mediator_a", "/mediation")
    page.goto(f"{live_server.url}/mediation/cases/{timed['number']}")
    dialog = _act(page, "extend")
    dialog.get_by_label("延长天数").fill("5")
    dialog.get_by_label("理由").fill("双方同意再协商一周")
    dialog.locator('[data-test="action-submit"]').click()
    expect(dialog.locator('[data-test="item-parties_agreed"]')).to_contain_text(
        "请勾选：双方当事人同意延长"
    )
    dialog.locator(".el-checkbox", has_text="双方当事人同意延长").click()
    _submit(page, dialog)
    with _as(live_server, "mediator_a") as api:
        extended = _ok(api.get(f"/api/mediation/cases/{timed['number']}"))
    assert extended["due_on"] > timed["due_on"] and extended["extensions"] == 1

    page.goto(f"{live_server.url}/mediation/cases/{number}")
    dialog = _act(page, "follow_up")
    dialog.get_by_label("回访情况").fill("防水层已修复，申请人确认")
    performed = dialog.locator('[data-test="term-state-1-performed"]')
    performed.check()
    expect(performed).to_be_checked()
    v.check("mediation-follow-up-form")
    _submit(page, dialog, "已结案")  # every term performed: the case closes by itself
    expect(page.locator('[data-test="term-1-state"]')).to_have_text("已履行")
