"""Passwords, login throttling by account and address, masking and evaluation honesty:
each rule of the security model, through the API and the command line."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fengqiao.cli import app
from fengqiao.core import clock
from fengqiao.core.config import get_settings
from fengqiao.core.security import mask_phone, verify_password
from fengqiao.people.models import User
from tests.world import PASSWORD, World

WEAK = [
    ("short", "Ab1!xyz", "至少需要 8 个字符", "at least 8 characters"),
    ("the user name", "new_user", "不能与用户名相同", "cannot be the user name"),
    ("spaces only", " " * 12, "空格或同一个字符", "only spaces or one character"),
    ("one character", "k" * 12, "空格或同一个字符", "only spaces or one character"),
    ("common", "password123", "常见密码", "common password"),
    ("common in China", "woaini1314", "常见密码", "common password"),
    ("guessable", "Admin1234", "太容易被猜中", "too easy to guess"),
]


def _new_user(password: str) -> dict[str, object]:
    return {
        "username": "new_user",
        "display_name": "新用户",
        "password": password,
        "roles": ["dispatcher"],
        "region_code": "330305001",
    }


@pytest.mark.parametrize(("case", "password", "zh", "en"), WEAK, ids=[w[0] for w in WEAK])
def test_weak_passwords_are_refused_at_creation_and_reset(
    client: TestClient, world: World, session: Session, case: str, password: str, zh: str, en: str
) -> None:
    admin = world.login(client, "admin")
    resp = client.post("/api/users", json=_new_user(password), headers=admin)
    assert resp.status_code == 422 and zh in resp.json()["error"]["message"], resp.text
    english = client.post(
        "/api/users", json=_new_user(password), headers={**admin, "Accept-Language": "en"}
    )
    assert english.status_code == 422 and en in english.json()["error"]["message"]
    assert session.scalar(select(User.id).where(User.username == "new_user")) is None
    target = world.users["worker_a"]
    before = session.scalar(select(User.password_hash).where(User.id == target))
    if password == "new_user":
        password = "worker_a"  # the target's own name
    reset = client.patch(f"/api/users/{target}", json={"password": password}, headers=admin)
    assert reset.status_code == 422, reset.text
    session.expire_all()
    assert session.scalar(select(User.password_hash).where(User.id == target)) == before


def test_a_strong_password_is_taken(client: TestClient, world: World) -> None:
    admin = world.login(client, "admin")
    resp = client.post("/api/users", json=_new_user("Ningbo-harbour-2026"), headers=admin)
    assert resp.status_code == 201, resp.text
    login = client.post(
        "/api/auth/login", json={"username": "new_user", "password": "Ningbo-harbour-2026"}
    )
    assert login.status_code == 200


@pytest.fixture
def cli(
    database_url: str, tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", database_url)
    monkeypatch.setenv("FENGQIAO_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_the_command_line_holds_passwords_to_the_same_rule(
    cli: CliRunner, session: Session
) -> None:
    weak = cli.invoke(
        app,
        [
            *("users", "create", "cli_user", "--name", "命令行", "--role", "admin"),
            *("--region", "330305", "--password", "password123"),
        ],
    )
    assert weak.exit_code == 2 and "常见密码" in weak.output and "common password" in weak.output
    assert session.scalar(select(User.id).where(User.username == "cli_user")) is None
    reset = cli.invoke(app, ["users", "set-password", "worker_a", "--password", "worker_a"])
    assert reset.exit_code == 2 and "不能与用户名相同" in reset.output
    before = session.scalar(select(User.password_hash).where(User.username == "worker_a"))
    good = cli.invoke(app, ["users", "set-password", "worker_a", "--password", "Tide-pool-7788"])
    assert good.exit_code == 0, good.output
    session.expire_all()
    after = session.scalar(select(User.password_hash).where(User.username == "worker_a"))
    assert after != before and after is not None and verify_password(after, "Tide-pool-7788")


def _login(client: TestClient, username: str, password: str, address: str) -> int:
    # The client's address as the server sees it: TestClient's is fixed, so each
    # attempt goes through a client made for that address.
    other = TestClient(client.app, client=(address, 50000))
    resp = other.post("/api/auth/login", json={"username": username, "password": password})
    return resp.status_code


def test_one_address_cannot_lock_out_the_accounts_it_knows(
    app_client: TestClient, world: World
) -> None:
    """An attacker at one address is held back on every account it tries, and at last on
    any account; the users, at their own addresses, still log in. Failures spread over
    many addresses still slow the account they aim at."""
    attacker = "203.0.113.9"
    victims = ["admin", "town_a", "town_b", "worker_a"]
    with clock.frozen(datetime(2026, 11, 23, 9, 0, tzinfo=UTC)):
        for name in victims:
            tries = [_login(app_client, name, "guess-1234", attacker) for _ in range(5)]
            assert tries == [401, 401, 401, 429, 429], name
        for name in victims:
            assert _login(app_client, name, PASSWORD, "198.51.100.20") == 200, name
        assert _login(app_client, "admin", PASSWORD, attacker) == 429
        # Name after name from the same address: the address itself is slowed.
        for i in range(30):
            _login(app_client, f"ghost{i}", "guess-1234", attacker)
        assert _login(app_client, "leader", PASSWORD, attacker) == 429
        assert _login(app_client, "leader", PASSWORD, "198.51.100.20") == 200
    with clock.frozen(datetime(2026, 11, 23, 11, 0, tzinfo=UTC)):
        statuses = [_login(app_client, "head_a", "guess-1234", f"192.0.2.{i}") for i in range(13)]
    assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}


@given(st.text(alphabet="0123456789-+ ()", min_size=0, max_size=40))
def test_a_masked_phone_shows_at_most_its_last_four_digits(phone: str) -> None:
    masked = mask_phone(phone) or ""
    shown = [ch for ch in masked if ch.isdigit()]
    digits = [ch for ch in phone if ch.isdigit()]
    assert len(shown) <= 4 and len(shown) <= len(digits) // 2
    if shown:
        assert "".join(shown) == "".join(digits[-len(shown) :])


def test_whoever_closed_a_matter_cannot_rate_it(client: TestClient, world: World) -> None:
    """Self-resolved by the worker who reported it: the worker may not rate it; a
    dispatcher may. Verified by a worker: that worker may not rate it either."""
    worker = world.login(client, "worker_a")
    matter = world.matters["a"]
    resp = client.post(
        f"/api/matters/{matter}/actions/self_resolve", json={"note": "已清理"}, headers=worker
    )
    assert resp.status_code == 200, resp.text
    assert "rate" not in resp.json()["allowed_actions"]
    rate = client.post(
        f"/api/matters/{matter}/actions/rate", json={"rating": "satisfied"}, headers=worker
    )
    assert rate.status_code == 403 and "不能评价" in rate.json()["error"]["message"]
    assert client.get(f"/api/matters/{matter}", headers=worker).json()["state"] == "closed"
    town = world.login(client, "town_a")
    assert "rate" in client.get(f"/api/matters/{matter}", headers=town).json()["allowed_actions"]
    rate = client.post(
        f"/api/matters/{matter}/actions/rate", json={"rating": "satisfied"}, headers=town
    )
    assert rate.status_code == 200 and rate.json()["state"] == "evaluated"
