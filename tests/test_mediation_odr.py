"""Online dispute resolution: consultation (the knowledge base, then a consultant in the
joint thread), evaluation by similar past cases, mediation, arbitration, litigation, the
applicant told once at every step; and the funnel's, the ledger's and the indicators'
figures, on screen and in Excel."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from tests.mediationkit import Desk, told
from tests.world import World

LAW = {
    "kind": "law",
    "specialty": "neighbour",
    "title": "相邻关系：排水与漏水",
    "body": "不动产的相邻权利人应当按照有利生产、方便生活、团结互助、公平合理的原则，"
    "正确处理相邻关系。楼上漏水造成楼下损失的，应当承担修复和赔偿责任。",
    "source": "中华人民共和国民法典 第二百八十八条",
}


def test_from_consultation_to_litigation_the_applicant_is_told_each_step(
    client: TestClient, world: World, session: Session
) -> None:
    desk = Desk(client, world)
    # The administrators keep the knowledge base; anyone signed in searches it.
    resp = client.post("/api/mediation/knowledge", json=LAW, headers=desk.as_("resident"))
    assert resp.status_code == 403
    resp = client.post("/api/mediation/knowledge", json=LAW, headers=desk.as_("admin"))
    assert resp.status_code == 201, resp.text
    found = desk.get("resident", "/api/mediation/knowledge", q="楼上漏水谁来赔")
    assert found[0]["title"] == LAW["title"] and found[0]["score"] > 0
    # A finished case like this one, for the evaluation to find.
    past = desk.open("resident", title="楼上漏水致天花板受损纠纷")
    desk.walk_to_mediating(past["number"], world.mediators["a_chair"])
    desk.act("mediator_a", past["number"], "oral_agreement", content="被申请人赔偿两千元")
    # The funnel: consultation with a consultant of the committee, in the joint thread.
    case = desk.open(
        "resident",
        source="online",
        title="楼上卫生间漏水纠纷",
        summary="楼上漏水导致我家天花板受损，想咨询如何索赔",
    )
    number = case["number"]
    assert case["state"] == "consulting" and case["funnel_stage"] == "consultation"
    url = f"/api/mediation/cases/{number}/messages"
    asked = client.post(
        url, json={"thread": "joint", "body": "请问楼上漏水怎么办？"}, headers=desk.as_("resident")
    )
    assert asked.status_code == 201, asked.text
    answered = client.post(
        url,
        json={"thread": "joint", "body": "可申请人民调解，免费。"},
        headers=desk.as_("mediator_a"),
    )
    assert answered.status_code == 201, answered.text
    case = desk.act("resident", number, "evaluate")
    assert case["funnel_stage"] == "evaluation"
    similar = case["evaluation"]["similar"]
    assert similar and similar[0]["number"] == past["number"]
    assert similar[0]["outcome"] == "agreement" and similar[0]["outcome_name"] == "达成协议"
    assert case["evaluation"]["success_rate"] == 1.0
    case = desk.act(
        "resident", number, "apply_mediation", chosen_mediator_id=world.mediators["a_chair"]
    )
    assert case["state"] == "applied" and case["funnel_stage"] == "mediation"
    desk.walk_to_mediating(number, world.mediators["a_chair"])
    desk.act("mediator_a", number, "terminate", reason="赔偿数额分歧过大", referral="arbitration")
    desk.act("resident", number, "refer_arbitration", body="测试区仲裁委员会")
    case = desk.act("resident", number, "refer_litigation", body="测试区人民法院")
    assert case["state"] == "litigating" and case["funnel_stage"] == "litigation"
    # Each step told the applicant once, in the app's inbox as in the outbox.
    steps = told(session, world.users["resident"], number)
    assert steps == [
        "consult",
        "evaluate",
        "apply_mediation",
        "accept",
        "assign",
        "inform",
        "terminate",
        "refer_arbitration",
        "refer_litigation",
    ]
    inbox = [m for m in desk.get("resident", "/api/notifications/mine") if m["number"] == number]
    assert [m["action"] for m in reversed(inbox)] == steps
    assert inbox[0]["label"] == "转诉讼" and inbox[0]["topic"] == "case.refer_litigation"
    # The funnel's figures: every stage reached once, converted from the one before.
    funnel = {row["stage"]: row for row in desk.get("admin", "/api/mediation/funnel")}
    assert [funnel[s]["cases"] for s in funnel] == [1, 1, 1, 1, 1]
    assert (
        funnel["litigation"]["conversion"] == 1.0 and funnel["consultation"]["conversion"] is None
    )


def test_the_ledger_and_the_indicators_export_to_excel(client: TestClient, world: World) -> None:
    desk = Desk(client, world)
    case = desk.open("resident")
    desk.walk_to_mediating(case["number"], world.mediators["a_chair"])
    desk.act("mediator_a", case["number"], "oral_agreement", content="当场和解")
    resp = client.get("/api/mediation/ledger/export", headers=desk.as_("town_a"))
    assert resp.status_code == 200, resp.text
    sheet = load_workbook(io.BytesIO(resp.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("案件编号", "矛盾纠纷名称", "发生日期")
    by_number = {r[0]: r for r in rows[1:]}
    assert set(by_number) == {world.cases["a"], case["number"]}  # township A's only
    settled = dict(zip(rows[0], by_number[case["number"]], strict=True))
    assert settled["化解是否成功"] == 1 and settled["化解组织"] == "甲街道人民调解委员会"
    resp = client.get(
        "/api/mediation/indicators/export", params={"by": "specialty"}, headers=desk.as_("leader")
    )
    sheet = load_workbook(io.BytesIO(resp.content)).active
    assert sheet is not None
    header, *body = list(sheet.iter_rows(values_only=True))
    assert header[:3] == ("名称", "案件数", "调解成功率")
    assert body[0][:2] == ("邻里纠纷", 3)  # the world's two and this one
    english = client.get(
        "/api/mediation/indicators",
        params={"by": "specialty"},
        headers=desk.as_("leader") | {"Accept-Language": "en"},
    ).json()
    assert english[0]["name"] == "Neighbour disputes"
