"""The closed loop end to end: every path a matter can take, with its timeline and the
indicators checked at each step."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.assessment.service import facts_from_timeline, facts_of, sum_facts
from fengqiao.core import clock
from fengqiao.matters.models import Matter, TimelineEntry
from fengqiao.notify.models import OutboxMessage
from tests.world import World

SH = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=SH)


class Desk:
    """Acts as the world's users over HTTP, one token per user."""

    def __init__(self, client: TestClient, world: World) -> None:
        self.client, self.world, self.tokens = client, world, {}

    def h(self, user: str) -> dict[str, str]:
        if user not in self.tokens:
            self.tokens[user] = self.world.login(self.client, user)
        return self.tokens[user]

    def post(self, user: str, url: str, body: dict[str, Any]) -> Any:
        resp = self.client.post(url, json=body, headers=self.h(user))
        if resp.status_code == 401:  # the frozen clock moved past the token's life
            del self.tokens[user]
            resp = self.client.post(url, json=body, headers=self.h(user))
        return resp

    def report(self, user: str, title: str, **fields: Any) -> dict[str, Any]:
        body = {"title": title, "lon": 120.05, "lat": 30.05, **fields}
        resp = self.post(user, "/api/matters", body)
        assert resp.status_code in (200, 201), resp.text
        return resp.json()  # type: ignore[no-any-return]

    def do(
        self,
        user: str,
        matter: dict[str, Any] | int,
        action: str,
        status: int = 200,
        **payload: Any,
    ) -> dict[str, Any]:
        matter_id = matter if isinstance(matter, int) else matter["id"]
        resp = self.post(user, f"/api/matters/{matter_id}/actions/{action}", payload)
        assert resp.status_code == status, (action, user, resp.text)
        return resp.json()  # type: ignore[no-any-return]


@pytest.fixture
def desk(client: TestClient, world: World) -> Desk:
    return Desk(client, world)


def states(matter: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(t["from_state"], t["to_state"]) for t in matter["timeline"]]


def assert_timeline_consistent(session: Session) -> None:
    session.expire_all()
    for matter in session.scalars(select(Matter)):
        entries = session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.matter_id == matter.id)
            .order_by(TimelineEntry.id)
        ).all()
        assert entries[0].action == "report" and entries[0].from_state is None
        for before, after in pairwise(entries):
            assert after.from_state == before.to_state, (matter.number, after.action)
        assert entries[-1].to_state == matter.state
        assert facts_from_timeline(list(entries)) == facts_of(matter), matter.number


def assert_indicators_match(desk: Desk, session: Session) -> dict[str, Any]:
    """The SQL sums over kept facts equal sums over facts replayed from timelines."""
    got = desk.client.get("/api/indicators", headers=desk.h("admin")).json()
    session.expire_all()
    replayed = []
    for matter in session.scalars(select(Matter)):
        entries = session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.matter_id == matter.id)
            .order_by(TimelineEntry.id)
        ).all()
        replayed.append(facts_from_timeline(list(entries)))
    expected = sum_facts(replayed).as_dict()
    for key in (
        "reported",
        "accepted",
        "closed",
        "closed_on_time",
        "dispatched",
        "handled",
        "handled_on_time",
        "reworked",
        "returned",
        "self_resolved",
        "rated",
        "satisfied",
        "rates",
    ):
        assert got[key] == expected[key], key
    assert {int(k): v for k, v in got["closed_by_level"].items()} == expected["closed_by_level"]
    return got  # type: ignore[no-any-return]


def test_normal_path_to_evaluation(desk: Desk, session: Session) -> None:
    with clock.frozen(MONDAY):
        e = desk.report(
            "worker_a", "路灯损坏", category_code="urban_management", reporter_phone="13912345678"
        )
        assert e["state"] == "reported" and e["level"] == 3 and e["grid_code"] == "33030500100101"
        assert e["suggestion"]["unit_name"] == "区综合行政执法局"
        assert e["reporter_phone"] == "*******5678"
        e = desk.do("town_a", e, "accept")
        e = desk.do("town_a", e, "dispatch")  # the suggested unit
        assert e["unit_name"] == "区综合行政执法局"
        # Sign within one working day, resolve within five.
        assert datetime.fromisoformat(e["sign_due_at"]) == MONDAY + timedelta(days=1)
        assert datetime.fromisoformat(e["resolve_due_at"]) == MONDAY + timedelta(days=7)
        assert "按建议" in e["timeline"][-1]["detail"]["route_reason"]
        desk.do("handler_a", e, "sign", 404)  # not their unit's task: invisible
        e = desk.do("handler", e, "sign")
    with clock.frozen(MONDAY + timedelta(days=2)):
        e = desk.do("handler", e, "feedback", note="已更换灯泡")
        e = desk.do("town_a", e, "request_verification")
        e = desk.do("head_a", e, "verify_ok")  # the reporter rates; not who closed it
        assert e["state"] == "closed"
        e = desk.do("worker_a", e, "rate", rating="satisfied")
    assert e["state"] == "evaluated"
    assert states(e) == [
        (None, "reported"),
        ("reported", "accepted"),
        ("accepted", "dispatched"),
        ("dispatched", "in_progress"),
        ("in_progress", "handled"),
        ("handled", "verifying"),
        ("verifying", "closed"),
        ("closed", "evaluated"),
    ]
    assert_timeline_consistent(session)
    ind = assert_indicators_match(desk, session)
    assert ind["closed"] == 1 and ind["closed_on_time"] == 1 and ind["closed_by_level"] == {"4": 1}
    # The handler was told, and so was the reporter.
    topics = session.scalars(
        select(OutboxMessage.topic).where(OutboxMessage.matter_id == e["id"])
    ).all()
    assert {"matter.dispatch", "matter.verify_ok", "matter.reported"} <= set(topics)
    # An SMS's words name the action in Chinese, never by its code.
    texts = session.scalars(
        select(OutboxMessage.payload["text"].as_string()).where(OutboxMessage.matter_id == e["id"])
    ).all()
    assert f"【枫桥】{e['number']} {e['title']}：派遣" in texts
    assert all(not any(c.isascii() and c.isalpha() for c in t.split("：")[-1]) for t in texts)


def test_self_resolve_reject_and_merge(desk: Desk, session: Session) -> None:
    a = desk.report("worker_a", "楼道堆物")
    a = desk.do("worker_a", a, "self_resolve", note="已劝导清理")
    assert a["state"] == "closed"
    desk.do("worker_b", a, "self_resolve", 404)  # another grid's worker cannot even see it
    b = desk.report("resident", "咨询社保办理", region_code="330305001")
    desk.do("town_a", b, "reject", 422)  # grounds required
    b = desk.do("town_a", b, "reject", reason="属于咨询类，已当场答复")
    assert b["state"] == "rejected"
    c1 = desk.report("worker_a", "井盖缺失")
    c2 = desk.report("head_a", "井盖缺失（重复）")
    c2 = desk.do("town_a", c2, "merge", target_id=c1["id"])
    assert c2["state"] == "merged" and c2["merged_into_id"] == c1["id"]
    target = desk.client.get(f"/api/matters/{c1['id']}", headers=desk.h("town_a")).json()
    assert target["timeline"][-1]["action"] == "merge_in"
    desk.do("town_a", c2, "accept", 409)  # a merged matter is finished
    assert_timeline_consistent(session)
    ind = assert_indicators_match(desk, session)
    assert ind["self_resolved"] == 1 and ind["closed_by_level"] == {"1": 1}


def test_return_and_redispatch_then_extensions(desk: Desk, session: Session) -> None:
    with clock.frozen(MONDAY):
        e = desk.report("worker_a", "邻里纠纷", category_code="dispute_family")
        assert e["suggestion"]["unit_name"] == "甲街道综治工作平台"  # the routing rule
        e = desk.do("town_a", e, "accept")
        e = desk.do("town_a", e, "dispatch", unit_code="C-ZHZF", reason="误派测试")
        desk.do("handler", e, "return", 422)
        e = desk.do("handler", e, "return", reason="不属于执法范围", grounds="三定方案第二条")
        assert e["state"] == "accepted" and e["unit_id"] is None
        e = desk.do("town_a", e, "dispatch", unit_code="A-ZZGZ")
        e = desk.do("handler_a", e, "sign")
        due = datetime.fromisoformat(e["resolve_due_at"])
        desk.do("handler_a", e, "request_extension", 422, reason="需要鉴定")  # no date
        e = desk.do(
            "handler_a",
            e,
            "request_extension",
            reason="需要鉴定",
            until=(due + timedelta(days=3)).isoformat(),
        )
        desk.do(
            "handler_a",
            e,
            "request_extension",
            409,
            reason="again",
            until=(due + timedelta(days=4)).isoformat(),
        )
        e = desk.do("town_a", e, "approve_extension")
        assert datetime.fromisoformat(e["resolve_due_at"]) == due + timedelta(days=3)
        e = desk.do(
            "handler_a",
            e,
            "request_extension",
            reason="再延期",
            until=(due + timedelta(days=9)).isoformat(),
        )
        e = desk.do("town_a", e, "deny_extension", reason="无正当理由")
        assert datetime.fromisoformat(e["resolve_due_at"]) == due + timedelta(days=3)
        assert e["extension_until"] is None
    assert_timeline_consistent(session)
    ind = assert_indicators_match(desk, session)
    assert ind["returned"] == 1


def test_escalation_up_and_down(desk: Desk, session: Session) -> None:
    e = desk.report("worker_a", "土地权属纠纷")
    e = desk.do("town_a", e, "accept")
    e = desk.do("town_a", e, "send_down", level=2)
    assert e["level"] == 2
    e = desk.do("comm_a1", e, "escalate", reason="村级无法调处")  # community → township
    assert e["level"] == 3 and e["state"] == "accepted"
    e = desk.do("town_a", e, "escalate", reason="涉及多个部门")  # township → county
    assert e["level"] == 4
    desk.do("town_a", e, "dispatch", 403, unit_code="A-ZZGZ")  # now the county's matter
    desk.do("comm_a1", e, "send_down", 403, level=2)
    e = desk.do("dispatcher", e, "send_down", level=3, reason="由街道牵头")
    assert e["level"] == 3
    e = desk.do("town_a", e, "dispatch", unit_code="A-ZZGZ")
    assert e["state"] == "dispatched"
    assert [t["action"] for t in e["timeline"]] == [
        "report",
        "accept",
        "send_down",
        "escalate",
        "escalate",
        "send_down",
        "dispatch",
    ]
    assert_timeline_consistent(session)


def test_failed_verification_rework_and_dissatisfied_reopen(desk: Desk, session: Session) -> None:
    e = desk.report("worker_a", "垃圾未清运", category_code="urban_management")
    e = desk.do("town_a", e, "accept")
    e = desk.do("town_a", e, "dispatch")
    e = desk.do("handler", e, "sign")
    e = desk.do("handler", e, "feedback", note="已清运")
    e = desk.do("town_a", e, "request_verification")
    e = desk.do("worker_a", e, "verify_fail", reason="现场仍有垃圾")
    assert e["state"] == "dispatched" and e["unit_name"] == "区综合行政执法局"
    e = desk.do("handler", e, "sign")
    e = desk.do("handler", e, "feedback", note="已彻底清运")
    e = desk.do("town_a", e, "request_verification")
    e = desk.do("head_a", e, "verify_ok")
    e = desk.do("worker_a", e, "rate", rating="dissatisfied")
    assert e["state"] == "accepted"  # reopened at once
    assert [t["action"] for t in e["timeline"][-2:]] == ["rate", "reopen"]
    assert_timeline_consistent(session)
    ind = assert_indicators_match(desk, session)
    assert ind["reworked"] == 1 and ind["closed"] == 0 and ind["rates"]["rework_rate"] == 1.0
    assert ind["rates"]["satisfaction"] == 0.0


def test_wrong_state_wrong_actor_and_bad_fields(desk: Desk) -> None:
    e = desk.report("worker_a", "测试事件")
    desk.do("town_a", e, "dispatch", 409)  # not accepted yet
    desk.do("worker_a", e, "accept", 403)  # a grid worker is no dispatcher
    desk.do("town_b", e, "accept", 404)  # another township cannot see it
    desk.do("town_a", e, "fly", 422)
    resp = desk.client.post(
        f"/api/matters/{e['id']}/actions/accept", json={"bogus": 1}, headers=desk.h("town_a")
    )
    assert resp.status_code == 422
    resp = desk.client.post(
        f"/api/matters/{e['id']}/actions/dispatch",
        json={},
        headers={**desk.h("town_a"), "Accept-Language": "en"},
    )
    assert resp.status_code == 409 and "cannot dispatch" in resp.json()["error"]["message"]


def test_search_filters(desk: Desk) -> None:
    a = desk.report("worker_a", "夜间施工噪音", category_code="environment", channel="hotline")
    desk.report("worker_a", "道路积水", category_code="transport", urgency="urgent")
    desk.do("town_a", a, "accept")
    h = desk.h("town_a")

    def titles(**params: Any) -> set[str]:
        resp = desk.client.get("/api/matters", params=params, headers=h)
        assert resp.status_code == 200, resp.text
        return {i["title"] for i in resp.json()["items"]}

    assert titles(q="噪音") == {"夜间施工噪音"}
    assert titles(state="accepted") == {"夜间施工噪音"}
    assert titles(category="transport") == {"道路积水"}
    assert titles(channel="hotline") == {"夜间施工噪音"}
    assert titles(urgency="urgent") == {"道路积水"}
    assert titles(region="33030500100101") >= {"夜间施工噪音", "道路积水"}
    assert titles(region="330305001002") == set()
    page = desk.client.get(
        "/api/matters", params={"limit": 1, "sort": "reported_at"}, headers=h
    ).json()
    assert (
        page["total"] == 3 and len(page["items"]) == 1 and page["items"][0]["title"] == "甲网格事件"
    )
    assert page["counts"] == {"reported": 2, "accepted": 1}
    assert desk.client.get("/api/matters", params={"sort": "nope"}, headers=h).status_code == 422
    assert desk.client.get("/api/matters", params={"urgency": "x"}, headers=h).status_code == 422


def test_indicators_are_scoped(desk: Desk) -> None:
    for user, expected in (("admin", 2), ("town_a", 1), ("worker_b", 1), ("resident", 0)):
        got = desk.client.get("/api/indicators", headers=desk.h(user)).json()
        assert got["reported"] == expected, user
    resp = desk.client.get(
        "/api/indicators", params={"region": "330305002"}, headers=desk.h("town_a")
    )
    assert resp.status_code == 404


def test_categories_have_english_names(desk: Desk) -> None:
    found = desk.client.get("/api/categories", headers=desk.h("dispatcher")).json()
    by_code = {c["code"]: c for c in found}
    assert by_code["urban_management"]["name"] == "市容环境"
    assert by_code["urban_management"]["name_en"] == "Street environment"
    assert all(c["name_en"] for c in found)
