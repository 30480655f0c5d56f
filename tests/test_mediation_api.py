"""Committees and mediators: the statute's membership rules, masking and audit of phones,
writes within the caller's jurisdiction, and the public mediation menu."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.core.models import AuditLog
from fengqiao.mediation.models import Committee, Mediator
from tests.world import COMM_A1, TOWN_B, World


def _get(client: TestClient, headers: dict[str, str], url: str, **params: Any) -> Any:
    resp = client.get(url, headers=headers, params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_committees_show_what_the_statute_asks_of_them(client: TestClient, world: World) -> None:
    admin = world.login(client, "admin")
    found = {c["code"]: c for c in _get(client, admin, "/api/mediation/committees")}
    assert (found["A-TWH"]["members"], found["A-TWH"]["women"]) == (3, 1)
    assert found["A-TWH"]["warnings"] == []
    assert found["B-TWH"]["warnings"] == ["members_out_of_range", "no_woman"]
    assert found["A-TWH"]["kind_name"] == "乡镇(街道)人民调解委员会"
    assert found["A-TWH"]["region_name"] == "甲街道"
    assert found["C-YUSHI"]["specialty_names"] == ["渔事海事纠纷"]
    # A vice chair who stops serving is no longer counted.
    resp = client.patch(
        f"/api/mediation/mediators/{world.mediators['a_vice']}",
        json={"is_active": False},
        headers=admin,
    )
    assert resp.status_code == 200, resp.text
    again = _get(client, admin, "/api/mediation/committees/A-TWH")
    assert again["members"] == 2 and again["warnings"] == ["members_out_of_range"]
    english = _get(client, {**admin, "Accept-Language": "en"}, "/api/mediation/committees/A-TWH")
    assert english["kind_name"] == "Township or street committee"
    by_kind = _get(client, admin, "/api/mediation/committees", kind="professional")
    assert [c["code"] for c in by_kind] == ["C-YUSHI"]
    by_specialty = _get(client, admin, "/api/mediation/committees", specialty="marriage_family")
    assert [c["code"] for c in by_specialty] == ["A-TWH"]


def test_a_mediators_phone_is_masked_unless_the_role_may_read_it(
    client: TestClient, world: World, session: Session
) -> None:
    chair = world.mediators["a_chair"]
    mediator = world.login(client, "mediator_a")
    listed = {m["id"]: m for m in _get(client, mediator, "/api/mediation/mediators")}
    assert listed[chair]["phone"] == "*******0001" and listed[chair]["masked"] is True
    assert listed[chair]["username"] == "mediator_a"
    url = f"/api/mediation/mediators/{chair}"
    assert client.get(url, params={"unmasked": "true"}, headers=mediator).status_code == 403
    audited = select(func.count()).select_from(AuditLog).where(AuditLog.entity == "mediator")
    before = session.scalar(audited)
    shown = _get(client, world.login(client, "admin"), url, unmasked="true")
    assert shown["phone"] == "13905770001" and shown["masked"] is False
    assert session.scalar(audited.where(AuditLog.action == "read_personal_data")) == 1
    assert session.scalar(audited) == (before or 0) + 1


def test_committees_and_mediators_are_written_within_the_jurisdiction(
    client: TestClient, world: World, session: Session
) -> None:
    admin_a = world.login(client, "admin_a")
    body = {"code": "A-WY", "name": "甲街道物业纠纷调委会", "kind": "professional",
            "region_code": COMM_A1, "specialties": ["property"]}  # fmt: skip
    made = client.post("/api/mediation/committees", json=body, headers=admin_a)
    assert made.status_code == 201, made.text
    assert made.json()["warnings"] == ["members_out_of_range", "no_woman"]
    count = select(func.count()).select_from(Committee)
    before = session.scalar(count)
    again = client.post("/api/mediation/committees", json=body, headers=admin_a)
    assert again.status_code == 409 and again.json()["error"]["details"][0]["field"] == "code"
    other = {**body, "code": "B-WY", "region_code": TOWN_B}
    assert client.post("/api/mediation/committees", json=other, headers=admin_a).status_code == 404
    unknown = {**body, "code": "A-X", "specialties": ["astrology"]}
    assert (
        client.post("/api/mediation/committees", json=unknown, headers=admin_a).status_code == 422
    )
    assert session.scalar(count) == before
    # The county's committee serves township A, which may read it but not change it.
    assert _get(client, admin_a, "/api/mediation/committees/C-YUSHI")["code"] == "C-YUSHI"
    resp = client.patch("/api/mediation/committees/C-YUSHI", json={"name": "改名"}, headers=admin_a)
    assert resp.status_code == 403
    resp = client.patch("/api/mediation/committees/A-WY", json={"name": None}, headers=admin_a)
    assert resp.status_code == 422
    person = {"committee_code": "A-WY", "name": "郑美华", "gender": "female",
              "position": "chair", "username": "town_a"}  # fmt: skip
    added = client.post("/api/mediation/mediators", json=person, headers=admin_a)
    assert added.status_code == 201, added.text
    assert added.json()["username"] == "town_a" and added.json()["region_name"] == "社区1001"
    mediators = select(func.count()).select_from(Mediator)
    before = session.scalar(mediators)
    twice = client.post("/api/mediation/mediators", json=person, headers=admin_a)
    assert twice.status_code == 409
    nobody = {**person, "username": "no-such-user"}
    assert client.post("/api/mediation/mediators", json=nobody, headers=admin_a).status_code == 404
    elsewhere = {**person, "committee_code": "B-TWH", "username": None}
    assert (
        client.post("/api/mediation/mediators", json=elsewhere, headers=admin_a).status_code == 404
    )
    assert session.scalar(mediators) == before
    # A mediator reads the committees, but does not manage them.
    mediator = world.login(client, "mediator_a")
    assert client.post("/api/mediation/committees", json=body, headers=mediator).status_code == 403


def test_the_menu_offers_mediators_to_anyone_without_their_contacts(
    client: TestClient, world: World
) -> None:
    resident = world.login(client, "resident")
    menu = _get(client, resident, "/api/mediation/menu")
    assert {m["name"] for m in menu} == {"陈海生", "林素珍", "王建国", "周明", "吴德才"}
    assert all("phone" not in m for m in menu)
    fishery = _get(client, resident, "/api/mediation/menu", specialty="marine_fishery")
    assert [(m["name"], m["committee_code"]) for m in fishery] == [("陈海生", "C-YUSHI")]
    # Those who serve a village: its township's committee and the county's, not another's.
    near = _get(client, resident, "/api/mediation/menu", region=COMM_A1)
    assert {m["committee_code"] for m in near} == {"C-YUSHI", "A-TWH"}
    assert [m["name"] for m in _get(client, resident, "/api/mediation/menu", q="素珍")] == [
        "林素珍"
    ]
    assert _get(client, resident, "/api/mediation/menu", q="%") == []
    english = _get(client, {**resident, "Accept-Language": "en"}, "/api/mediation/menu", q="素珍")
    assert english[0]["position_name"] == "Chair" and english[0]["gender_name"] == "Female"
    resp = client.get("/api/mediation/menu", params={"region": "330305999"}, headers=resident)
    assert resp.status_code == 404
    assert client.get("/api/mediation/menu").status_code == 401
