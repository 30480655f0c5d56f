"""An administrator changes users and units of their jurisdiction: a stopped account or a
new password ends the user's sessions at once; nobody locks themselves out; outside the
jurisdiction nothing is found and nothing changes."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.matters import service as matters
from fengqiao.people.models import Unit, User
from tests.world import GRID_A1_1, PASSWORD, TOWN_A, World


def _login(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    return client.post("/api/auth/login", json={"username": username, "password": password})


def test_a_stopped_account_and_a_new_password_end_the_sessions_at_once(
    client: TestClient, world: World
) -> None:
    admin = world.login(client, "admin")
    worker = world.login(client, "worker_b")
    target = world.users["worker_b"]
    assert client.get("/api/me", headers=worker).status_code == 200

    stopped = client.patch(f"/api/users/{target}", json={"is_active": False}, headers=admin)
    assert stopped.status_code == 200 and stopped.json()["is_active"] is False
    assert client.get("/api/me", headers=worker).status_code == 401
    assert _login(client, "worker_b").status_code == 401
    assert client.patch(f"/api/users/{target}", json={"is_active": True}, headers=admin).is_success
    worker = world.login(client, "worker_b")

    changed = client.patch(f"/api/users/{target}", json={"password": "Another@2026"}, headers=admin)
    assert changed.status_code == 200
    assert client.get("/api/me", headers=worker).status_code == 401
    assert _login(client, "worker_b").status_code == 401
    assert _login(client, "worker_b", "Another@2026").status_code == 200


def test_roles_and_jurisdiction_change_and_only_what_is_given(
    client: TestClient, world: World, session: Session
) -> None:
    admin = world.login(client, "admin")
    target = world.users["worker_b"]
    before = session.scalar(select(User).where(User.id == target))
    assert before is not None
    phone = before.phone
    resp = client.patch(
        f"/api/users/{target}",
        json={"roles": ["grid_head"], "region_code": GRID_A1_1, "display_name": "调岗网格长"},
        headers=admin,
    )
    assert resp.status_code == 200, resp.text
    me = client.get("/api/me", headers=world.login(client, "worker_b")).json()
    assert me["roles"] == ["grid_head"] and me["display_name"] == "调岗网格长"
    assert me["jurisdiction_path"].endswith(f"/{GRID_A1_1}/")
    session.expire_all()
    assert session.scalar(select(User.phone).where(User.id == target)) == phone
    again = client.patch(
        f"/api/users/{target}", json={"roles": ["grid_head", "volunteer"]}, headers=admin
    )
    assert again.status_code == 200 and again.json()["roles"] == ["grid_head", "volunteer"]

    for bad, field in (({"display_name": None}, "display_name"), ({"roles": []}, "roles")):
        refused = client.patch(f"/api/users/{target}", json=bad, headers=admin)
        assert (
            refused.status_code == 422 and refused.json()["error"]["details"][0]["field"] == field
        )
    null = client.patch(f"/api/users/{target}", json={"is_active": None}, headers=admin)
    assert "不能为空" in null.text


def test_nobody_locks_themselves_out(client: TestClient, world: World) -> None:
    admin = world.login(client, "admin")
    me = world.users["admin"]
    stop = client.patch(f"/api/users/{me}", json={"is_active": False}, headers=admin)
    assert stop.status_code == 422 and "不能停用自己的账号" in stop.text
    demote = client.patch(f"/api/users/{me}", json={"roles": ["leader"]}, headers=admin)
    assert demote.status_code == 422
    assert client.get("/api/me", headers=admin).json()["roles"] == ["admin"]


def test_a_township_administrator_changes_only_their_township(
    client: TestClient, world: World, session: Session
) -> None:
    admin = world.login(client, "admin")
    made = client.post(
        "/api/users",
        json={
            "username": "admin_town_a",
            "display_name": "甲街道管理员",
            "password": PASSWORD,
            "roles": ["admin"],
            "region_code": TOWN_A,
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
    town = world.login(client, "admin_town_a")
    outside = client.patch(
        f"/api/users/{world.users['worker_b']}", json={"is_active": False}, headers=town
    )
    assert outside.status_code == 404
    session.expire_all()
    assert session.scalar(select(User.is_active).where(User.id == world.users["worker_b"]))
    # Nor may they move one of their own users out of the township.
    moved = client.patch(
        f"/api/users/{world.users['worker_a']}", json={"region_code": "330305002"}, headers=town
    )
    assert moved.status_code == 404
    # A county unit serves the township, but its users' jurisdiction is the county's.
    to_county = client.patch(
        f"/api/users/{world.users['worker_a']}", json={"unit_code": "C-ZHZF"}, headers=town
    )
    assert to_county.status_code == 404
    new_county_user = {
        "username": "handler_by_town",
        "display_name": "越权用户",
        "password": PASSWORD,
        "roles": ["unit_handler"],
        "unit_code": "C-ZHZF",
    }
    assert client.post("/api/users", json=new_county_user, headers=town).status_code == 404
    session.expire_all()
    assert session.scalar(select(User.unit_id).where(User.id == world.users["worker_a"])) is None
    assert session.scalar(select(User.id).where(User.username == "handler_by_town")) is None
    inside = client.patch(
        f"/api/users/{world.users['worker_a']}", json={"display_name": "甲网格员"}, headers=town
    )
    assert inside.status_code == 200 and inside.json()["display_name"] == "甲网格员"
    worker = world.login(client, "worker_a")
    assert (
        client.patch(
            f"/api/users/{world.users['worker_b']}", json={"is_active": False}, headers=worker
        ).status_code
        == 403
    )


def test_a_stopped_unit_leaves_routing(client: TestClient, world: World, session: Session) -> None:
    admin = world.login(client, "admin")
    unit_id = world.units["bureau"]
    assert unit_id in matters.load_routing(session).units
    resp = client.patch(
        "/api/units/C-ZHZF",
        json={
            "name": "区综合行政执法局（新）",
            "is_active": False,
            "categories": ["transport", "transport"],
        },
        headers=admin,
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["name"] == "区综合行政执法局（新）" and body["categories"] == ["transport"]
    session.expire_all()
    assert unit_id not in matters.load_routing(session).units
    assert session.scalar(select(Unit.is_active).where(Unit.id == unit_id)) is False
    assert client.patch("/api/units/C-ZHZF", json={"name": None}, headers=admin).status_code == 422
    worker = world.login(client, "worker_a")
    forbidden = client.patch("/api/units/C-ZHZF", json={"is_active": True}, headers=worker)
    assert forbidden.status_code == 403
