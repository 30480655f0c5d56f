"""What the console's forms need from the server: faults by field (a path to bind to and
words without the field's name), the tries a login has left, and places found by name
within the caller's jurisdiction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from fengqiao.core import clock
from tests.world import (
    COMM_A1,
    GRID_A1_1,
    GRID_A1_2,
    GRID_B1_1,
    PASSWORD,
    TOWN_A,
    TOWN_B,
    World,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _fail(client: TestClient, username: str, lang: str, at: datetime) -> tuple[int, str]:
    with clock.frozen(at):
        resp = client.post(
            "/api/auth/login",
            json={"username": username, "password": "not-the-password"},
            headers={"Accept-Language": lang},
        )
    return resp.status_code, resp.json()["error"]["message"]


def test_a_wrong_password_says_how_many_tries_are_left_in_both_languages(
    client: TestClient, world: World
) -> None:
    """From the failure on which attempts begin to wait (the third), the answer counts the
    tries left before the lock (ten failures), in the caller's language; the lock holds."""
    zh, en = "zh-CN,zh;q=0.9", "en"
    assert _fail(client, "town_a", zh, T0) == (401, "用户名或密码错误")
    assert _fail(client, "town_a", en, T0 + timedelta(seconds=1)) == (
        401,
        "Wrong user name or password",
    )
    assert _fail(client, "town_a", zh, T0 + timedelta(seconds=2)) == (
        401,
        "用户名或密码错误，还可尝试 7 次",
    )
    t = T0 + timedelta(seconds=2)
    seen: list[tuple[int, str]] = []
    for n in range(6):  # failures 4 to 9, each after its wait
        t += timedelta(seconds=400)
        seen.append(_fail(client, "town_a", en if n % 2 else zh, t))
    assert seen == [
        (401, "用户名或密码错误，还可尝试 6 次"),
        (401, "Wrong user name or password; 5 tries left"),
        (401, "用户名或密码错误，还可尝试 4 次"),
        (401, "Wrong user name or password; 3 tries left"),
        (401, "用户名或密码错误，还可尝试 2 次"),
        (401, "Wrong user name or password; 1 try left"),
    ]
    t += timedelta(seconds=400)
    assert _fail(client, "town_a", zh, t) == (
        401,
        "用户名或密码错误，尝试次数已用完，请 15 分钟后再试",
    )
    with clock.frozen(t + timedelta(seconds=400)):
        right = client.post("/api/auth/login", json={"username": "town_a", "password": PASSWORD})
    assert right.status_code == 429  # locked, as before
    # Once the lock has passed, the count starts again.
    t += timedelta(minutes=16)
    assert _fail(client, "town_a", en, t) == (401, "Wrong user name or password")


def test_an_unknown_user_name_is_answered_as_a_known_one(client: TestClient, world: World) -> None:
    for i in range(3):
        known = _fail(client, "town_b", "zh", T0 + timedelta(seconds=i))
        unknown = _fail(client, "nobody-here", "zh", T0 + timedelta(seconds=i))
        assert known == unknown
    assert known == (401, "用户名或密码错误，还可尝试 7 次")


def test_a_refused_body_names_each_field_by_its_path(client: TestClient, world: World) -> None:
    headers = world.login(client, "admin")
    resp = client.post(
        "/api/users",
        json={"username": "x", "display_name": "某人", "password": "", "roles": ["resident"]},
        headers=headers,
    )
    assert resp.status_code == 422
    faults = {d["field"]: d for d in resp.json()["error"]["details"]}
    assert set(faults) == {"username", "password"}
    assert faults["password"]["loc"] == ["body", "password"]
    assert faults["password"]["message"] == "内容太短"  # no field name inside
    whole = client.post("/api/users", headers=headers)  # no body at all
    assert whole.status_code == 422
    assert whole.json()["error"]["details"][0]["field"] == ""
    assert whole.json()["error"]["message"] == "输入有误：请求：缺少必填项"
    english = client.post("/api/users", headers={**headers, "Accept-Language": "en"})
    assert english.json()["error"]["message"] == "Invalid input: request: Field required"


def test_a_services_refusal_names_its_field(client: TestClient, world: World) -> None:
    """A rule a service checks (a user name taken, a weak password, a place that does not
    exist) comes with the field it concerns, as the model's own faults do."""
    headers = world.login(client, "admin")
    user = {"display_name": "某人", "roles": ["resident"], "region_code": GRID_A1_1}
    cases = [
        ({"username": "town_a", "password": "Lantern-harbour-42"}, 409, "username", "用户名"),
        ({"username": "new.one", "password": "password1"}, 422, "password", "常见密码"),
        (
            {"username": "new.two", "password": "Lantern-harbour-42", "region_code": "999"},
            422,
            "region_code",
            "辖区代码 999 不存在",
        ),
    ]
    for body, status, field, words in cases:
        resp = client.post("/api/users", json={**user, **body}, headers=headers)
        assert resp.status_code == status, resp.text
        error = resp.json()["error"]
        [fault] = error["details"]
        assert fault["field"] == field and fault["loc"] == ["body", field]
        assert words in fault["message"] and fault["message"] == error["message"]


def _places(client: TestClient, headers: dict[str, str], **query: str) -> list[dict[str, str]]:
    resp = client.get("/api/places", params=query, headers=headers)
    assert resp.status_code == 200, resp.text
    return list(resp.json())


def test_places_are_found_by_name_within_the_callers_jurisdiction(
    client: TestClient, world: World
) -> None:
    admin = world.login(client, "admin")
    found = _places(client, admin, q="网格1001")
    assert [p["code"] for p in found] == [GRID_A1_1, GRID_A1_2]
    first = found[0]
    assert (first["kind"], first["name"], first["region_name"]) == (
        "grid",
        "网格1001-1",
        "社区1001",
    )
    assert (first["level_name"], first["grid_kind_name"]) == ("网格", "基础网格")
    assert [p["code"] for p in _places(client, admin, q="甲街道")] == [TOWN_A]
    # The name itself, then names that begin with the words, then those that hold them; at
    # each rank the higher place first, regions before grids.
    made = client.post(
        "/api/regions",
        json={"code": "330305002003", "name": "1001社区", "parent_code": TOWN_B},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    assert [p["code"] for p in _places(client, admin, q="1001")] == [
        "330305002003",
        COMM_A1,
        GRID_A1_1,
        GRID_A1_2,
    ]
    assert [p["code"] for p in _places(client, admin, q="1001社区")] == ["330305002003"]
    assert [p["code"] for p in _places(client, admin, q="社区1001")] == [COMM_A1]
    # By the start of a code as well; regions only when asked.
    assert [p["code"] for p in _places(client, admin, q=GRID_B1_1)] == [GRID_B1_1]
    assert all(p["kind"] == "region" for p in _places(client, admin, q="3303", kind="region"))
    # In English the kinds are English; names are the places' own.
    english = _places(client, {**admin, "Accept-Language": "en"}, q="网格1001-1")
    assert english[0]["level_name"] == "Grid" and english[0]["grid_kind_name"] == "Base grid"
    # A township's administrator finds nothing of the other township.
    town = world.login(client, "admin_a")
    assert _places(client, town, q=GRID_B1_1) == []
    assert {p["code"] for p in _places(client, town, q="网格")} == {
        p["code"]
        for p in _places(client, admin, q="网格")
        if p["path"].startswith("330305/330305001/")
    }
    # Words that are SQL's wildcards are words.
    assert _places(client, admin, q="%") == [] and _places(client, admin, q="_") == []
    # No words: the top of the jurisdiction's tree.
    assert _places(client, town)[0]["code"] == TOWN_A
