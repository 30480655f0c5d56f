from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.core.models import AuditLog
from tests.world import World


def _entries(session: Session, action: str) -> list[AuditLog]:
    session.expire_all()
    return list(
        session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id))
    )


def test_writes_are_audited_with_their_actor(
    client: TestClient, world: World, session: Session
) -> None:
    headers = world.login(client, "admin")
    resp = client.post(
        "/api/users",
        headers=headers,
        json={
            "username": "newbie",
            "display_name": "新网格员",
            "password": "long-enough-1",
            "roles": ["grid_worker_parttime"],
            "region_code": "33030500100102",
            "phone": "13912345678",
            "id_number": "33030519900101123X",
        },
    )
    assert resp.status_code == 201, resp.text
    new_id = str(resp.json()["id"])
    created = [
        e
        for e in _entries(session, "create")
        if e.entity == "user_account" and e.entity_id == new_id
    ]
    assert len(created) == 1
    entry = created[0]
    assert entry.actor_name == "admin" and entry.actor_id == world.users["admin"]
    assert entry.region_path == "330305/330305001/330305001001/33030500100102/"
    changes = entry.detail["changes"]
    assert changes["username"] == "newbie"
    # Secrets and personal data never appear in the log itself.
    assert changes["password_hash"] == "***" and changes["phone"] == "***"
    assert changes["id_number"] == "***"
    roles = [
        e
        for e in _entries(session, "create")
        if e.entity == "user_role" and e.entity_id and e.entity_id.startswith(new_id + "/")
    ]
    assert [r.detail["changes"]["role"] for r in roles] == ["grid_worker_parttime"]


def test_personal_data_is_masked_unless_the_role_may_see_it(
    client: TestClient, world: World, session: Session
) -> None:
    target = world.users["worker_a"]
    town = world.login(client, "town_a")  # a dispatcher: may unmask
    masked = client.get(f"/api/users/{target}", headers=town).json()
    assert masked["masked"] is True
    assert masked["phone"] == "*******1111" and masked["id_number"] == "330305********1234"
    assert _entries(session, "read_personal_data") == []

    full = client.get(f"/api/users/{target}", params={"unmasked": "true"}, headers=town).json()
    assert full["masked"] is False
    assert full["phone"] == "13800001111" and full["id_number"] == "330305199001011234"
    reads = _entries(session, "read_personal_data")
    assert len(reads) == 1
    assert reads[0].actor_name == "town_a" and reads[0].entity_id == str(target)

    head = world.login(client, "head_a")  # a grid head: may list, may not unmask
    assert client.get(f"/api/users/{target}", headers=head).json()["masked"] is True
    resp = client.get(f"/api/users/{target}", params={"unmasked": "true"}, headers=head)
    assert resp.status_code == 403
    assert len(_entries(session, "read_personal_data")) == 1
    listed = client.get("/api/users", headers=town).json()
    assert all(u["masked"] for u in listed)


def test_logins_and_logouts_are_audited(client: TestClient, world: World, session: Session) -> None:
    headers = world.login(client, "leader")
    client.post("/api/auth/logout", headers=headers)
    assert [e.actor_name for e in _entries(session, "login")] == ["leader"]
    assert [e.actor_name for e in _entries(session, "logout")] == ["leader"]
