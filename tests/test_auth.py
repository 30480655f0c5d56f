from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.core import clock
from fengqiao.core.models import AuditLog
from fengqiao.people.models import User
from tests.world import PASSWORD, World


def _login(
    client: TestClient, username: str, password: str = PASSWORD, lang: str = "zh"
) -> tuple[int, dict]:  # type: ignore[type-arg]
    resp = client.post(
        "/api/auth/login",
        json={"username": username, "password": password},
        headers={"Accept-Language": lang},
    )
    return resp.status_code, resp.json()


def test_passwords_are_argon2id(session: Session, world: World) -> None:
    hashes = session.scalars(select(User.password_hash)).all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)


def test_login_me_refresh_logout(client: TestClient, world: World) -> None:
    status, tokens = _login(client, "town_a")
    assert status == 200 and tokens["token_type"] == "bearer" and tokens["expires_in"] == 1800
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = client.get("/api/me", headers=headers).json()
    assert me["username"] == "town_a"
    assert me["roles"] == ["dispatcher"] and me["role_names"] == ["指挥中心派遣员"]
    assert me["jurisdiction_path"] == "330305/330305001/"
    assert me["jurisdiction_name"] == "甲街道"

    # Refresh rotates both tokens; the old ones stop working.
    new = client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert new.status_code == 200
    new_tokens = new.json()
    assert client.get("/api/me", headers=headers).status_code == 401
    new_headers = {"Authorization": f"Bearer {new_tokens['access_token']}"}
    assert client.get("/api/me", headers=new_headers).status_code == 200

    assert client.post("/api/auth/logout", headers=new_headers).status_code == 204
    assert client.get("/api/me", headers=new_headers).status_code == 401
    gone = client.post("/api/auth/refresh", json={"refresh_token": new_tokens["refresh_token"]})
    assert gone.status_code == 401


def test_a_reused_refresh_token_ends_its_session(
    client: TestClient, world: World, session: Session
) -> None:
    """A rotated refresh token presented again means two holders: the session ends for
    both, the rotated-to tokens included; another login of the same user goes on."""
    _, tokens = _login(client, "town_a")
    _, other = _login(client, "town_a")
    new = client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert new.status_code == 200
    new_tokens = new.json()
    new_headers = {"Authorization": f"Bearer {new_tokens['access_token']}"}
    assert client.get("/api/me", headers=new_headers).status_code == 200

    again = client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401
    assert client.get("/api/me", headers=new_headers).status_code == 401
    stolen = client.post("/api/auth/refresh", json={"refresh_token": new_tokens["refresh_token"]})
    assert stolen.status_code == 401
    other_headers = {"Authorization": f"Bearer {other['access_token']}"}
    assert client.get("/api/me", headers=other_headers).status_code == 200
    reused = session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "refresh_token_reused")
    )
    assert reused == 1
    # A made-up token of no family ends nothing.
    forged_token = "A" * 43 + "." + "B" * 43
    forged = client.post("/api/auth/refresh", json={"refresh_token": forged_token})
    assert forged.status_code == 401
    assert client.get("/api/me", headers=other_headers).status_code == 200


def test_access_tokens_expire(client: TestClient, world: World) -> None:
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    with clock.frozen(start):
        _, tokens = _login(client, "admin")
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    with clock.frozen(start + timedelta(minutes=29)):
        assert client.get("/api/me", headers=headers).status_code == 200
    with clock.frozen(start + timedelta(minutes=31)):
        resp = client.get("/api/me", headers=headers)
        assert resp.status_code == 401
        assert resp.json()["error"]["message"] == "登录已失效，请重新登录"
        # ... but the refresh token still works for a week.
        assert (
            client.post(
                "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            ).status_code
            == 200
        )


def test_wrong_password_in_chinese_and_english(client: TestClient, world: World) -> None:
    status, body = _login(client, "admin", "wrong-password")
    assert status == 401 and body["error"]["message"] == "用户名或密码错误"
    status, body = _login(client, "admin", "wrong-password", lang="en-US,en;q=0.9")
    assert status == 401 and body["error"]["message"] == "Wrong user name or password"
    status, body = _login(client, "nobody", "whatever")
    assert status == 401 and body["error"]["message"] == "用户名或密码错误"


def test_failed_logins_are_slowed_then_locked(
    client: TestClient, world: World, session: Session
) -> None:
    t0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    # Three failures are free; the fourth attempt must wait 1 s, the fifth 2 s, ...
    for i in range(3):
        with clock.frozen(t0 + timedelta(seconds=i)):
            assert _login(client, "admin", "bad")[0] == 401
    with clock.frozen(t0 + timedelta(seconds=2)):
        resp = client.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
        assert resp.status_code == 429
        assert int(resp.headers["Retry-After"]) >= 1
        assert "登录失败次数过多" in resp.json()["error"]["message"]
    t = t0 + timedelta(seconds=10)
    # Keep failing, each time after the wait, until the account locks (10 failures).
    for _ in range(7):
        t += timedelta(seconds=400)
        with clock.frozen(t):
            assert _login(client, "admin", "bad")[0] == 401
    with clock.frozen(t + timedelta(seconds=400)):
        status, _ = _login(client, "admin")  # right password, but locked
        assert status == 429
    with clock.frozen(t + timedelta(minutes=16)):
        assert _login(client, "admin")[0] == 200
        # Success clears the count.
        assert _login(client, "admin", "bad")[0] == 401
        assert _login(client, "admin")[0] == 200
    failures = session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "login_failed")
    )
    assert failures == 11


def test_unknown_user_names_are_slowed_too(client: TestClient, world: World) -> None:
    with clock.frozen(datetime(2026, 11, 23, 9, 0, tzinfo=UTC)):
        for _ in range(3):
            assert _login(client, "ghost", "x")[0] == 401
        assert _login(client, "ghost", "x")[0] == 429


def test_bad_bearer_tokens(client: TestClient, world: World) -> None:
    for header in ("Bearer nonsense", "Basic abc", "Bearer ", ""):
        resp = client.get("/api/me", headers={"Authorization": header} if header else {})
        assert resp.status_code == 401
