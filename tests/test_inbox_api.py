"""What the console's lists stand on: finding a matter (phone, number, names, place), the
requests that wait on someone (待我审批), urgent matters pinned, time left on the working
calendar, and bulk actions that say what became of each matter."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.core import clock
from fengqiao.core.models import AuditLog
from fengqiao.matters.models import Matter
from tests.world import GRID_A1_1, TOWN_A, World

SH = ZoneInfo("Asia/Shanghai")
PHONE = "13912345678"


def report(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    resp = client.post("/api/matters", json={"title": "路灯不亮", **body}, headers=headers)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def act(
    client: TestClient, headers: dict[str, str], matter_id: int, action: str, **body: Any
) -> Any:
    return client.post(f"/api/matters/{matter_id}/actions/{action}", json=body, headers=headers)


def listed(client: TestClient, headers: dict[str, str], **query: Any) -> dict[str, Any]:
    resp = client.get("/api/matters", params=query, headers=headers)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def numbers(page: dict[str, Any]) -> list[str]:
    return [m["number"] for m in page["items"]]


def test_find_by_phone_number_names_and_place(
    client: TestClient, world: World, session: Session
) -> None:
    worker = world.login(client, "worker_a")
    mine = report(
        client,
        worker,
        lon=120.02,
        lat=30.05,
        reporter_name="王阿姨",
        reporter_phone=PHONE,
        address="东沙村码头路 12 号",
    )
    town = world.login(client, "town_a")

    # By the reporter's phone, exact: found, and the phone still masked in the list.
    before = session.scalar(select(func.count()).select_from(AuditLog))
    page = listed(client, town, phone=PHONE)
    assert numbers(page) == [mine["number"]]
    assert page["items"][0]["reporter_phone"] != PHONE
    assert listed(client, town, phone="13912345679")["total"] == 0
    # The search by personal data is audited.
    assert session.scalar(select(func.count()).select_from(AuditLog)) > (before or 0)
    # A role that may not read personal data may not search by it either.
    resp = client.get("/api/matters", params={"phone": PHONE}, headers=worker)
    assert resp.status_code == 403, resp.text

    # By any part of the number, the reporter's name, the address, the grid's name.
    assert mine["number"] in numbers(listed(client, town, q=mine["number"][-4:]))
    assert numbers(listed(client, town, q="王阿姨")) == [mine["number"]]
    assert numbers(listed(client, town, q="码头路")) == [mine["number"]]
    grid_name = mine["grid_name"]
    assert grid_name and mine["grid_code"] == GRID_A1_1
    assert mine["number"] in numbers(listed(client, town, q=grid_name))
    # A LIKE wildcard is matched as itself.
    assert listed(client, town, q="%")["total"] == 0

    # By the place: the grid's code, and the township's.
    assert mine["number"] in numbers(listed(client, town, region=GRID_A1_1))
    assert mine["number"] in numbers(listed(client, town, region=TOWN_A))
    # Names, never bare codes: the matter's grid and village are named.
    item = next(m for m in listed(client, town)["items"] if m["id"] == mine["id"])
    assert item["grid_name"] == grid_name and item["place_name"]


def test_requests_waiting_on_someone(client: TestClient, world: World) -> None:
    town, town_b = world.login(client, "town_a"), world.login(client, "town_b")
    handler = world.login(client, "handler_a")
    matter_id = world.matters["a"]
    assert act(client, town, matter_id, "accept").status_code == 200
    assert act(client, town, matter_id, "dispatch", unit_code="A-ZZGZ").status_code == 200
    assert act(client, handler, matter_id, "sign").status_code == 200

    resp = act(
        client,
        handler,
        matter_id,
        "request_extension",
        until="2027-03-01T10:00:00+08:00",
        reason="需协调供电部门",
    )
    assert resp.status_code == 200, resp.text
    pending = resp.json()["pending"]
    assert pending["action"] == "request_extension"
    assert pending["label"] == "延期待审批"
    assert pending["reason"] == "需协调供电部门"
    assert pending["requested_by"] == "用户handler_a"
    assert pending["mine"] is False  # the requester does not decide it
    assert "request_extension" not in resp.json()["allowed_actions"]
    # Asking twice is refused and changes nothing.
    again = act(client, handler, matter_id, "request_extension", until="2027-04-01T10:00:00+08:00")
    assert again.status_code == 409, again.text

    # The dispatcher sees it waiting on them (待我审批); the other township does not.
    waiting = listed(client, town, pending="true")
    assert [m["id"] for m in waiting["items"]] == [matter_id]
    assert waiting["items"][0]["pending"]["mine"] is True
    assert listed(client, town_b, pending="true")["total"] == 0
    assert listed(client, handler, pending="true")["total"] == 0
    english = client.get(
        f"/api/matters/{matter_id}", headers={**town, "Accept-Language": "en"}
    ).json()
    assert english["pending"]["label"] == "Extension awaiting approval"

    # Decided: nothing waits any more.
    assert act(client, town, matter_id, "approve_extension").status_code == 200
    assert listed(client, town, pending="true")["total"] == 0

    # A return waits on the dispatcher until the matter is dispatched again.
    resp = act(client, handler, matter_id, "return", reason="不属于本单位职责")
    assert resp.status_code == 200, resp.text
    assert resp.json()["pending"]["label"] == "退单待重新派遣"
    assert [m["id"] for m in listed(client, town, pending="true")["items"]] == [matter_id]
    assert act(client, town, matter_id, "dispatch", unit_code="A-ZZGZ").status_code == 200
    assert listed(client, town, pending="true")["total"] == 0


def test_urgent_matters_nobody_took_are_pinned(client: TestClient, world: World) -> None:
    worker, town = world.login(client, "worker_a"), world.login(client, "town_a")
    critical = report(client, worker, lon=120.02, lat=30.05, urgency="critical")
    report(client, worker, lon=120.02, lat=30.06)  # routine, reported later
    page = listed(client, town, pin_urgent="true")
    assert page["items"][0]["id"] == critical["id"] and page["items"][0]["pinned"]
    # Without pinning, the newest first.
    assert listed(client, town)["items"][0]["id"] != critical["id"]
    # Once taken, it is not pinned any more.
    assert act(client, town, critical["id"], "accept").status_code == 200
    page = listed(client, town, pin_urgent="true")
    assert not next(m for m in page["items"] if m["id"] == critical["id"])["pinned"]
    assert page["items"][0]["id"] != critical["id"]


# Working hours 08:30–12:00 and 13:30–17:30; 中秋 25–27 Sept 2026, 国庆 1–7 Oct 2026.
TIME_LEFT = [
    # Thursday 16:00 to Monday 10:00 over the Mid-Autumn Friday and the weekend:
    # 1.5 h on Thursday, 1.5 h on Monday.
    (
        datetime(2026, 9, 24, 16, 0, tzinfo=SH),
        datetime(2026, 9, 28, 10, 0, tzinfo=SH),
        180,
        "剩余 3 小时",
        "3 h left",
    ),
    # Due the Wednesday before National Day at 15:00, seen on the Thursday after it at
    # 10:00: 2.5 h on Wednesday, the seven days off, 1.5 h on Thursday.
    (
        datetime(2026, 10, 8, 10, 0, tzinfo=SH),
        datetime(2026, 9, 30, 15, 0, tzinfo=SH),
        -240,
        "超期 4 小时",
        "4 h overdue",
    ),
    # Friday 17:00 to Monday 09:15 over an ordinary weekend: 30 + 45 minutes.
    (
        datetime(2026, 11, 6, 17, 0, tzinfo=SH),
        datetime(2026, 11, 9, 9, 15, tzinfo=SH),
        75,
        "剩余 1 小时",
        "1 h left",
    ),
]


@pytest.mark.parametrize(("now", "due", "minutes", "zh", "en"), TIME_LEFT)
def test_time_left_counts_working_time_on_the_calendar(
    client: TestClient,
    world: World,
    session: Session,
    now: datetime,
    due: datetime,
    minutes: int,
    zh: str,
    en: str,
) -> None:
    matter = session.get(Matter, world.matters["a"])
    assert matter is not None
    matter.state, matter.resolve_due_at = "in_progress", due
    session.commit()
    with clock.frozen(now):
        town = world.login(client, "town_a")
        item = listed(client, town, state="in_progress")["items"][0]
        assert (item["time_left_minutes"], item["time_left"]) == (minutes, zh)
        assert item["due_at"] is not None
        english = listed(client, {**town, "Accept-Language": "en"}, state="in_progress")
        assert english["items"][0]["time_left"] == en
        assert item["overdue"] is (minutes < 0)


def test_sort_by_time_left(client: TestClient, world: World, session: Session) -> None:
    soon, later = (session.get(Matter, world.matters[k]) for k in ("a", "b"))
    assert soon is not None and later is not None
    soon.state, soon.resolve_due_at = "in_progress", datetime(2026, 12, 7, 9, 0, tzinfo=SH)
    later.state, later.sign_due_at = "dispatched", datetime(2026, 12, 9, 9, 0, tzinfo=SH)
    session.commit()
    admin = world.login(client, "admin")
    ids = [m["id"] for m in listed(client, admin, sort="due_at")["items"]]
    assert ids[:2] == [soon.id, later.id]
    ids = [m["id"] for m in listed(client, admin, sort="-due_at")["items"]]
    assert ids[:2] == [later.id, soon.id]


def test_bulk_dispatch_names_each_matter_that_could_not_go(
    client: TestClient, world: World, session: Session
) -> None:
    worker, town = world.login(client, "worker_a"), world.login(client, "town_a")
    # The township's dispute rule suggests its platform; a matter with no category, none.
    routed = report(client, worker, lon=120.02, lat=30.05, category_code="dispute_family")
    unrouted = report(client, worker, lon=120.02, lat=30.06)
    assert routed["suggestion"] and routed["suggestion"].get("unit_id")
    assert not (unrouted["suggestion"] or {}).get("unit_id")
    resp = client.post(
        "/api/matters/bulk",
        json={"action": "dispatch", "ids": [routed["id"], unrouted["id"], world.matters["b"]]},
        headers=town,
    )
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["done"] == [routed["id"]]
    failed = {f["id"]: f for f in out["failed"]}
    assert failed[unrouted["id"]]["number"] == unrouted["number"]
    assert "没有建议的处置单位" in failed[unrouted["id"]]["message"]
    # Another township's matter: not found, and its number not told.
    assert failed[world.matters["b"]]["number"] is None
    assert failed[world.matters["b"]]["code"] == "not_found"
    # The routed one was accepted and dispatched; the other left as it was.
    assert client.get(f"/api/matters/{routed['id']}", headers=town).json()["state"] == "dispatched"
    assert client.get(f"/api/matters/{unrouted['id']}", headers=town).json()["state"] == "reported"

    # When none can go, the request is refused as a whole, and in English on request.
    resp = client.post(
        "/api/matters/bulk",
        json={"action": "dispatch", "ids": [unrouted["id"]]},
        headers={**town, "Accept-Language": "en"},
    )
    assert resp.status_code == 409, resp.text
    assert "No unit is suggested" in resp.json()["error"]["message"]
    # An unknown action or an empty list: 422 before anything is done.
    for body in ({"action": "fly", "ids": [routed["id"]]}, {"action": "accept", "ids": []}):
        assert client.post("/api/matters/bulk", json=body, headers=town).status_code == 422
