"""Mediation cases end to end, through the API as their users would take them: every path
of the table, with its timeline, its notifications and the indicators it leaves."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.core import clock
from fengqiao.core.models import AuditLog
from fengqiao.matters.models import Matter
from tests.mediationkit import Desk, told
from tests.world import COMM_A1, GRID_A1_1, World


def actions(case: dict[str, object]) -> list[str]:
    return [e["action"] for e in case["timeline"]]  # type: ignore[index, union-attr]


def test_a_refused_application_says_why_and_ends(
    client: TestClient, world: World, session: Session
) -> None:
    desk = Desk(client, world)
    number = world.cases["a"]
    # The resident cannot accept their own application; only the committee's head may.
    desk.act("resident", number, "accept", status=403)
    case = desk.act("mediator_a", number, "refuse", ground="accepted_elsewhere")
    assert case["state"] == "refused" and case["outcome"] == "refused"
    assert actions(case) == ["apply", "refuse"]
    assert case["timeline"][1]["detail"]["ground"] == "accepted_elsewhere"
    assert "refusal" in case["documents"]
    assert told(session, world.users["resident"], number) == ["apply", "refuse"]
    # An ended case takes no more actions, and the refusal is not done twice.
    desk.act("mediator_a", number, "refuse", status=409, ground="party_refuses")
    # The committee's figures count it, as an ended case that did not settle.
    rows = {r["key"]: r for r in desk.get("admin", "/api/mediation/indicators", by="committee")}
    a_twh = next(r for r in rows.values() if r["name"] == "甲街道人民调解委员会")
    assert (a_twh["cases"], a_twh["ended"], a_twh["successes"]) == (1, 1, 0)


def test_agreement_performance_and_judicial_confirmation(
    client: TestClient, world: World, session: Session
) -> None:
    desk = Desk(client, world)
    chair = world.mediators["a_chair"]
    case = desk.open("resident", chosen_mediator_id=chair)
    number = case["number"]
    assert case["chosen_mediator_id"] == chair and case["state"] == "applied"
    desk.respondent_signs_in(case)
    desk.walk_to_mediating(number, chair)
    case = desk.case("mediator_a", number)
    assert case["due_on"] is not None and case["presiding_name"] == "林素珍"
    # An agreement without terms is refused and changes nothing.
    desk.act(
        "mediator_a",
        number,
        "draft_agreement",
        status=422,
        facts="x",
        disputed="y",
        responsibilities="z",
        terms=[],
    )
    respondent = desk.party(case, "respondent")
    case = desk.agree(number, respondent)
    assert case["state"] == "signing"
    assert case["agreement"]["unsigned"] == ["用户resident", "李四"]
    assert case["agreement"]["mediator_signed"] is False
    desk.act("resident", number, "sign")
    twice = desk.act("resident", number, "sign", status=403)  # a party signs once
    assert twice["error"]["message"] == "您已签署本协议"
    assert "sign" not in desk.case("resident", number)["allowed_actions"]
    desk.act("resident_b", number, "sign")
    case = desk.act("mediator_a", number, "sign")
    assert case["state"] == "effective"
    sealed = next(e for e in case["timeline"] if e["action"] == "take_effect")
    assert len(sealed["detail"]["sha256"]) == 64 == len(case["agreement"]["sha256"])
    assert sealed["detail"]["sha256"] == case["agreement"]["sha256"]
    # The sealed PDF downloads as signed, and the verification page knows it.
    pdf = desk.get("resident_b", f"/api/mediation/cases/{number}/documents/agreement")
    assert pdf.headers["content-type"] == "application/pdf"
    assert len(pdf.content) < 256 * 1024, len(pdf.content)  # one face, subset
    verified = client.post(
        "/api/mediation/verify", files={"file": ("copy.pdf", pdf.content, "application/pdf")}
    )
    assert verified.status_code == 200, verified.text
    verified = verified.json()
    assert verified["genuine"] is True and verified["case_number"] == number
    # Judicial confirmation, inside the 30 days, then the court's decision.
    desk.act("mediator_a", number, "request_confirmation", court="测试区人民法院")
    case = desk.act(
        "mediator_a",
        number,
        "court_decision",
        decision="confirmed",
        court_case_number="(2026)浙0305民特12号",
    )
    assert case["state"] == "effective" and case["court_decision"] == "confirmed"
    # Follow-up visits until every term is performed: then the case closes by itself.
    terms = [t["id"] for t in case["agreement"]["terms"]]
    case = desk.act(
        "mediator_a",
        number,
        "follow_up",
        note="已修复防水层",
        terms=[{"term_id": terms[0], "state": "performed"}],
    )
    assert case["state"] == "effective"
    desk.act("mediator_a", number, "close", status=403)  # a term is still pending
    case = desk.act(
        "mediator_a",
        number,
        "follow_up",
        note="赔偿款已到账",
        terms=[{"term_id": terms[1], "state": "performed"}],
    )
    assert case["state"] == "closed" and case["outcome"] == "agreement"
    assert actions(case)[-1] == "close"
    assert actions(case) == [
        "apply",
        "link_account",
        "accept",
        "assign",
        "inform",
        "investigate",
        "record_session",
        "draft_agreement",
        "sign",
        "sign",
        "sign",
        "take_effect",
        "request_confirmation",
        "court_decision",
        "follow_up",
        "follow_up",
        "close",
    ]
    assert set(case["documents"]) >= {
        "application",
        "acceptance",
        "notice_of_rights",
        "session_record",
        "agreement",
        "follow_up",
        "confirmation",
    }
    # Both parties were told of each step that concerns them, each once.
    resident = told(session, world.users["resident"], number)
    assert resident == [
        "apply",
        "accept",
        "assign",
        "inform",
        "draft_agreement",
        "take_effect",
        "request_confirmation",
        "court_decision",
        "close",
    ]
    assert told(session, world.users["resident_b"], number) == resident[1:]
    assert told(session, world.users["mediator_a"], number)[:2] == ["apply", "assign"]
    # The figures of the committee and of its mediator.
    by_mediator = desk.get("leader", "/api/mediation/indicators", by="mediator")
    lin = next(r for r in by_mediator if r["name"] == "林素珍")
    assert (lin["cases"], lin["successes"], lin["success_rate"]) == (1, 1, 1.0)
    assert lin["confirmation_rate"] == 1.0
    menu = desk.get("resident", "/api/mediation/menu", q="林")
    assert menu[0]["cases_handled"] == 1 and menu[0]["success_rate"] == 1.0


def test_judicial_confirmation_after_30_days_is_refused(client: TestClient, world: World) -> None:
    desk = Desk(client, world)
    chair = world.mediators["a_chair"]
    case = desk.open("resident")
    number = case["number"]
    desk.walk_to_mediating(number, chair)
    case = desk.act(
        "mediator_a",
        number,
        "oral_agreement",
        content="双方和解，互不追究",
        terms=[{"content": "被申请人道歉", "due_on": "2026-12-31"}],
    )
    assert case["state"] == "effective"
    # An oral agreement is not confirmed by a court.
    desk.act("mediator_a", number, "request_confirmation", status=403, court="测试区人民法院")
    written = desk.open("resident")
    desk.respondent_signs_in(written)
    desk.walk_to_mediating(written["number"], chair)
    desk.agree(written["number"], desk.party(written, "respondent"))
    for who in ("resident", "resident_b", "mediator_a"):
        desk.act(who, written["number"], "sign")
    later = clock.now() + timedelta(days=31)
    with clock.frozen(later):
        desk.headers.clear()  # a month on, everyone signs in again
        refused = desk.act(
            "mediator_a",
            written["number"],
            "request_confirmation",
            status=403,
            court="测试区人民法院",
        )
        assert "30日内" in refused["error"]["message"]
        assert desk.case("mediator_a", written["number"])["state"] == "effective"


def test_oral_agreement_with_nothing_left_to_perform_closes_at_once(
    client: TestClient, world: World
) -> None:
    desk = Desk(client, world)
    case = desk.open("resident")
    desk.walk_to_mediating(case["number"], world.mediators["a_chair"])
    case = desk.act(
        "mediator_a", case["number"], "oral_agreement", content="被申请人当场赔礼道歉，申请人谅解"
    )
    assert case["state"] == "closed" and case["agreement"]["kind"] == "oral"
    assert actions(case)[-2:] == ["oral_agreement", "close"]


def test_termination_then_arbitration_then_litigation(
    client: TestClient, world: World, session: Session
) -> None:
    desk = Desk(client, world)
    case = desk.open("resident")
    number = case["number"]
    desk.walk_to_mediating(number, world.mediators["a_chair"])
    desk.act("mediator_a", number, "terminate", status=422, reason="x", referral="court")
    case = desk.act(
        "mediator_a", number, "terminate", reason="双方分歧过大", referral="arbitration"
    )
    assert case["state"] == "terminated" and case["outcome"] == "terminated"
    case = desk.act("resident", number, "refer_arbitration", body="测试区劳动人事争议仲裁委员会")
    handed = case["timeline"][-1]["detail"]["handed_over"]
    assert "application" in handed and "session_record" in handed
    case = desk.act("resident", number, "refer_litigation", body="测试区人民法院")
    assert case["state"] == "litigating" and case["funnel_stage"] == "litigation"
    assert told(session, world.users["resident"], number)[-3:] == [
        "terminate",
        "refer_arbitration",
        "refer_litigation",
    ]


def test_recusal_and_reassignment(client: TestClient, world: World, session: Session) -> None:
    desk = Desk(client, world)
    vice, chair = world.mediators["a_vice"], world.mediators["a_chair"]
    case = desk.open("resident")
    number = case["number"]
    desk.act("mediator_a", number, "accept")
    # The party chose no one: the head may name anyone of the committee.
    desk.act("mediator_a", number, "assign", presiding_id=vice)
    desk.act("resident", number, "request_recusal", status=422, mediator_id=chair, reason="x")
    case = desk.act(
        "resident", number, "request_recusal", mediator_id=vice, reason="王建国与被申请人是亲戚"
    )
    assert case["pending"] == "回避申请待决定"
    desk.act("resident", number, "request_recusal", status=409, mediator_id=vice, reason="再次")
    # The recused mediator cannot be named again for this case.
    desk.act(
        "mediator_a", number, "reassign", status=422, presiding_id=vice, co_mediator_ids=[vice]
    )
    case = desk.act("mediator_a", number, "reassign", presiding_id=chair)
    assert case["presiding_id"] == chair and case["pending"] is None
    entry = case["timeline"][-1]
    assert entry["action"] == "reassign" and entry["detail"]["recused_id"] == vice
    # Left to the system, the recused mediator is never picked again.
    case = desk.act("mediator_a", number, "reassign")
    assert case["presiding_id"] != vice
    assert "reassign" in told(session, world.users["resident"], number)


def test_the_party_s_choice_is_honoured_unless_the_head_says_why(
    client: TestClient, world: World
) -> None:
    desk = Desk(client, world)
    member = world.mediators["a_member"]
    case = desk.open("resident", chosen_mediator_id=member)
    number = case["number"]
    desk.act("mediator_a", number, "accept")
    desk.act("mediator_a", number, "assign", status=422, presiding_id=world.mediators["a_vice"])
    case = desk.act("mediator_a", number, "assign")  # no one named: the party's choice
    assert case["presiding_id"] == member
    assert case["timeline"][-1]["detail"]["chosen_honoured"] is True


def test_a_shared_household_excludes_a_mediator(
    client: TestClient, world: World, session: Session
) -> None:
    from fengqiao.mediation.models import Mediator

    member = session.get(Mediator, world.mediators["a_member"])
    assert member is not None
    member.household_no = "3303050010010088"
    session.commit()
    desk = Desk(client, world)
    parties = [{"role": "respondent", "name": "周小明", "household_no": "3303050010010088"}]
    resp = desk.open("resident", status=409, parties=parties, chosen_mediator_id=member.id)
    assert "同户" in resp["error"]["message"]
    # Nothing was made, and why the choice was refused is in the audit log.
    assert desk.get("resident", "/api/mediation/cases")["total"] == 1  # the world's own
    logged = session.scalars(select(AuditLog).where(AuditLog.action == "conflict_excluded")).all()
    assert logged and "同户" in logged[-1].detail["reasons"][0]
    # The head's view shows the conflict beside each candidate.
    case = desk.open("resident", parties=parties)
    candidates = desk.get("mediator_a", f"/api/mediation/cases/{case['number']}/candidates")
    flagged = next(c for c in candidates if c["id"] == member.id)
    assert flagged["excluded"] is True
    assert flagged["conflicts"] == [
        {
            "kind": "household",
            "kind_name": "同户",
            "party": "周小明",
            "excludes": True,
        }
    ]


def test_extension_needs_both_parties_and_moves_the_limit(client: TestClient, world: World) -> None:
    desk = Desk(client, world)
    case = desk.open("resident")
    number = case["number"]
    desk.walk_to_mediating(number, world.mediators["a_chair"])
    before = desk.case("mediator_a", number)["due_on"]
    desk.act(
        "mediator_a", number, "extend", status=422, days=10, reason="需鉴定", parties_agreed=False
    )
    case = desk.act("mediator_a", number, "extend", days=10, reason="需鉴定", parties_agreed=True)
    assert case["due_on"] > before and case["extensions"] == 1
    desk.act("resident", number, "extend", status=403, days=5, reason="x", parties_agreed=True)


def test_a_dispute_matter_waits_on_its_case_and_closes_from_its_outcome(
    client: TestClient, world: World, session: Session
) -> None:
    desk = Desk(client, world)
    worker = desk.as_("worker_a")
    resp = client.post(
        "/api/matters",
        json={
            "title": "两户因宅基地边界发生争执",
            "category_code": "dispute_family",
            "region_code": GRID_A1_1,
            "lon": 120.05,
            "lat": 30.05,
        },
        headers=worker,
    )
    assert resp.status_code == 201, resp.text
    matter_id = resp.json()["id"]
    town = desk.as_("town_a")
    accepted = client.post(f"/api/matters/{matter_id}/actions/accept", json={}, headers=town)
    assert accepted.status_code == 200, accepted.text
    # Only a dispatcher of the matter may turn it into a case; a grid worker may not.
    body = {
        "source": "matter",
        "matter_id": matter_id,
        "title": "宅基地边界纠纷",
        "committee_code": "A-TWH",
        "parties": [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"}],
    }
    assert client.post("/api/mediation/cases", json=body, headers=worker).status_code == 403
    resp = client.post("/api/mediation/cases", json=body, headers=town)
    assert resp.status_code == 201, resp.text
    case = resp.json()
    number = case["number"]
    assert case["timeline"][0]["action"] == "refer_matter"
    assert case["timeline"][0]["detail"]["matter_id"] == matter_id
    matter = client.get(f"/api/matters/{matter_id}", headers=worker).json()
    assert matter["state"] == "mediating"
    assert matter["timeline"][-1]["detail"]["case"] == number
    # The grid worker sees that a case exists for their matter, not the case itself.
    desk.case("worker_a", number, status=404)
    desk.walk_to_mediating(number, world.mediators["a_chair"])
    desk.act("mediator_a", number, "oral_agreement", content="双方按界桩重新划定边界")
    matter = client.get(f"/api/matters/{matter_id}", headers=town).json()
    assert matter["state"] == "closed"
    closing = matter["timeline"][-1]
    assert closing["action"] == "mediated" and closing["detail"]["case"] == number
    assert closing["detail"]["outcome"] == "agreement"
    assert session.get(Matter, matter_id) is not None


def test_a_refused_case_sends_its_matter_back_to_its_dispatcher(
    client: TestClient, world: World
) -> None:
    desk = Desk(client, world)
    town = desk.as_("town_a")
    resp = client.post(
        "/api/matters",
        json={"title": "邻里噪音纠纷", "category_code": "dispute_family", "region_code": COMM_A1},
        headers=town,
    )
    matter_id = resp.json()["id"]
    client.post(f"/api/matters/{matter_id}/actions/accept", json={}, headers=town)
    body = {
        "source": "matter",
        "matter_id": matter_id,
        "title": "邻里噪音纠纷",
        "committee_code": "A-TWH",
        "parties": [{"role": "applicant", "name": "王五"}],
    }
    number = client.post("/api/mediation/cases", json=body, headers=town).json()["number"]
    desk.act("mediator_a", number, "refuse", ground="party_refuses")
    matter = client.get(f"/api/matters/{matter_id}", headers=town).json()
    assert matter["state"] == "accepted"
    assert matter["timeline"][-1]["action"] == "mediation_returned"


def test_the_six_steps_of_a_dispute_at_sea(client: TestClient, world: World) -> None:
    desk = Desk(client, world)
    sea = world.mediators["yushi"]
    # An ordinary case has no survey: the row is the sea's only.
    ordinary = desk.open("resident")
    desk.walk_to_mediating(ordinary["number"], world.mediators["a_chair"])
    desk.act("mediator_a", ordinary["number"], "survey", status=403, damage="x", assessed_yuan=1)
    # At sea a position is required, not an address.
    desk.open("resident", status=422, kind="sea", committee_code=None)
    case = desk.open(
        "resident",
        kind="sea",
        committee_code=None,
        sea_dispute="damaged_nets",
        lon=122.15,
        lat=30.08,
        venue="at_sea",
        title="拖网作业损坏定置网具",
        vessels=[{"name": "浙岱渔03156", "mmsi": "412345678"}, {"name": "浙岱渔02881"}],
    )
    number = case["number"]
    assert case["committee_code"] == "C-YUSHI"  # the marine-fishery committee serves the sea
    assert case["vessels"][0] == {"name": "浙岱渔03156", "mmsi": "412345678"}
    present = [p["id"] for p in case["parties"]]
    steps = [
        ("accept", {}),  # 警务室受理
        ("assign", {"presiding_id": sea}),
        ("inform", {"method": "oral"}),
        ("investigate", {"findings": "两船作业区域重叠，定置网被拖网挂损"}),  # 初步调查
        ("survey", {"damage": "定置网 3 顶损毁", "assessed_yuan": 18000}),  # 勘查定损
        (
            "record_session",
            {
                "attendance": present,
                "statements": "双方陈述",
                "result": "同意赔偿",
                "venue": "at_sea",
            },
        ),  # 海上调解
        (
            "record_session",
            {
                "attendance": present,
                "statements": "现场确认",
                "result": "当场赔付",
                "venue": "bow",
                "on_site": True,
            },
        ),  # 现场调解
        ("compensate", {"amount_yuan": 18000, "payer_id": present[1], "payee_id": present[0]}),
    ]
    for action, body in steps:
        case = desk.act("mediator_sea", number, action, **body)
    assert case["state"] == "closed" and case["outcome"] == "compensated"
    assert actions(case)[1:] == [a for a, _ in steps]
    assert [s["venue"] for s in case["sessions"]] == ["at_sea", "bow"]
    assert case["sessions"][1]["on_site"] is True
    assert case["timeline"][-1]["detail"]["amount_yuan"] == 18000
    ledger = {r["number"]: r for r in desk.get("leader", "/api/mediation/ledger")}
    assert ledger[number]["success"] == 1 and ledger[number]["address"] == "122.15000,30.08000"


def test_the_sweep_reminds_near_and_past_the_limit_and_on_day_20(
    client: TestClient, world: World, session: Session
) -> None:
    from fengqiao.calendar.service import build_calendar
    from fengqiao.mediation.sweep import sweep

    desk = Desk(client, world)
    case = desk.open("resident")
    number = case["number"]
    desk.respondent_signs_in(case)
    desk.walk_to_mediating(number, world.mediators["a_chair"])
    cal = build_calendar(session)
    assert sweep(session, cal) == 0  # nothing is due yet
    due = desk.case("mediator_a", number)["due_on"]
    from datetime import date, datetime, time

    day = date.fromisoformat(due)
    at = datetime.combine(day - timedelta(days=2), time(9), tzinfo=clock.zone())
    with clock.frozen(at):
        assert sweep(session, cal) == 1
        assert sweep(session, cal) == 0  # once
    with clock.frozen(at + timedelta(days=3)):
        assert sweep(session, cal) == 1
    desk.agree(number, desk.party(case, "respondent"))
    for who in ("resident", "resident_b", "mediator_a"):
        desk.act(who, number, "sign")
    effective = clock.now()
    with clock.frozen(effective + timedelta(days=20, hours=1)):
        assert sweep(session, cal) == 1
        assert sweep(session, cal) == 0
    steps = actions(desk.case("mediator_a", number))
    assert [a for a in steps if a in ("due_soon", "overdue", "confirmation_reminder")] == [
        "due_soon",
        "overdue",
        "confirmation_reminder",
    ]
    assert told(session, world.users["resident"], number)[-1] == "confirmation_reminder"


def test_bad_input_gets_a_clear_answer_and_changes_nothing(
    client: TestClient, world: World
) -> None:
    desk = Desk(client, world)
    before = desk.get("admin", "/api/mediation/cases")["total"]
    # An unknown mediator chosen from the menu; a party with a malformed phone; no title.
    resp = desk.open("resident", status=422, chosen_mediator_id=987654)
    assert resp["error"]["message"] == "调解员 987654 不存在"
    bad_party = [{"role": "respondent", "name": "李四", "phone": "12345"}]
    assert desk.open("resident", status=422, parties=bad_party)["error"]["details"]
    desk.open("resident", status=422, title="")
    english = client.post(
        "/api/mediation/cases",
        json={"title": "纠纷", "region_code": COMM_A1, "chosen_mediator_id": 987654},
        headers=desk.as_("resident") | {"Accept-Language": "en"},
    )
    assert english.status_code == 422 and english.json()["error"]["message"] == (
        "No mediator 987654"
    )
    assert desk.get("admin", "/api/mediation/cases")["total"] == before
    # On a case: an unknown action, an unknown mediator, a field no action takes.
    case = desk.open("resident")
    number = case["number"]
    snapshot = desk.case("mediator_a", number)
    desk.act("mediator_a", number, "no_such_action", status=422)
    desk.act("mediator_a", number, "accept", status=422, colour="red")
    desk.act("mediator_a", number, "accept")
    desk.act("mediator_a", number, "assign", status=422, presiding_id=987654)
    desk.act("mediator_a", number, "assign", status=422, presiding_id=world.mediators["b_chair"])
    after = desk.case("mediator_a", number)
    assert after["state"] == "accepted" and after["presiding_id"] is None
    assert len(after["timeline"]) == len(snapshot["timeline"]) + 1  # the acceptance only


def test_staff_take_an_application_down_for_a_walk_in_resident(
    client: TestClient, world: World
) -> None:
    desk = Desk(client, world)
    desk.open("mediator_a", status=422)  # who applies must be said
    walk_in = {"role": "respondent", "name": "王大妈", "phone": "13800006666"}
    case = desk.open("mediator_a", applicant=walk_in)
    applicant = next(p for p in case["parties"] if p["role"] == "applicant")
    assert applicant["name"] == "王大妈" and applicant["has_account"] is False
    assert applicant["is_me"] is False  # the mediator's own account is nobody's here
    assert desk.case("resident", case["number"], status=404)


def test_the_time_limit_is_a_month_ending_on_a_working_day(session: Session, world: World) -> None:
    from datetime import date

    from fengqiao.calendar.service import build_calendar
    from fengqiao.mediation.actions import one_month_on

    cal = build_calendar(session)
    assert one_month_on(cal, date(2026, 11, 4)) == date(2026, 12, 4)  # a Friday
    assert one_month_on(cal, date(2026, 12, 31)) == date(2027, 2, 1)  # Jan 31 is a Sunday
    assert one_month_on(cal, date(2027, 1, 30)) == date(2027, 3, 1)  # Feb 28, then Sunday
    # A month from the eve of the National Day holidays ends after them.
    assert one_month_on(cal, date(2026, 9, 1)) == date(2026, 10, 8)  # Oct 1–7 are holidays
