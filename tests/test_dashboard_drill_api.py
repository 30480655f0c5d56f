"""Every figure of the dashboard leads to its matters: the inbox query each count carries,
asked of GET /api/matters as the inbox asks it, lists exactly as many matters as the figure
says, for every user and every place; figures the inbox cannot express carry no query; and
the breadcrumb's trail runs from the caller's jurisdiction down to the place."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fengqiao.core import clock
from tests.test_insight_api import MONDAY, NOW, SH, Caller
from tests.world import COMM_A1, COMM_A2, GRID_A1_1, TOWN_A, TOWN_B, World

COUNTY = "330305"
# The inbox's URL parameters a figure may use (the contract's list; `via` is the inbox's own).
INBOX_PARAMS = {"place", "state", "overdue", "from", "to"}
CARDS = {"today_reported", "open", "overdue", "closed"}


def as_the_inbox_asks(query: dict[str, Any]) -> dict[str, Any]:
    """An inbox URL query as the inbox sends it to GET /api/matters: place → region,
    overdue=1 → overdue=true, from/to (days, inclusive) → the zone's midnights."""
    assert set(query) <= INBOX_PARAMS, query
    params: dict[str, Any] = {}
    for key, value in query.items():
        if key == "place":
            params["region"] = value
        elif key == "state":
            params["state"] = value
        elif key == "overdue":
            assert value == "1", query
            params["overdue"] = True
        else:
            day = date.fromisoformat(value) + timedelta(days=1 if key == "to" else 0)
            params[f"reported_{key}"] = datetime.combine(day, time(), SH).isoformat()
    return params


@pytest.fixture
def caller(client: TestClient, world: World) -> Caller:
    """test_insight_api's week, with one matter closed and rated (evaluated: still
    closed) and one rated dissatisfied (reopened: no longer closed):
    Monday: e1 in A1-1 dispatched and never signed (overdue by Thursday), e2 in A1-2
    rejected, e3 in A2-1 reported; a (A1-1) resolved on the spot by its grid worker and
    rated; b (B1-1) resolved on the spot, rated dissatisfied and so reopened.
    Thursday 00:30: e4 reported in B1-1."""
    c = Caller(client, world)
    a, b = world.matters["a"], world.matters["b"]
    with clock.frozen(MONDAY):
        e1 = c.report("dispatcher", "占道经营", 120.05, 30.05)
        e2 = c.report("dispatcher", "重复来电", 120.05, 30.15)
        c.report("dispatcher", "井盖缺失", 120.15, 30.05)
        c.do("town_a", e1, "accept")
        c.do("town_a", e1, "dispatch")
        c.do("town_a", e2, "reject", reason="无效来电")
        c.do("worker_a", a, "self_resolve", note="已清理")
        c.do("town_a", a, "rate", rating="satisfied")
        c.do("worker_b", b, "self_resolve", note="已劝离")
        c.do("town_b", b, "rate", rating="dissatisfied")
    with clock.frozen(NOW):
        c.report("dispatcher", "夜间噪音", 120.25, 30.05)
    return c


def lists_of(d: dict[str, Any], every_day: bool) -> list[tuple[str, int, dict[str, Any] | None]]:
    """The counts of a dashboard with their queries: the cards, the ranking's cells, the
    trend's days (each of the 30, or those with something reported and the first)."""
    out = [(key, int(d[key]), q) for key, q in d["lists"].items()]
    for r in d["ranking"]:
        out += [(f"{r['code']}.{key}", int(r[key]), q) for key, q in r["lists"].items()]
    days = [day for i, day in enumerate(d["trend"]) if every_day or i == 0 or day["reported"]]
    for day in days:
        out += [(f"{day['day']}.{key}", int(day[key]), q) for key, q in day["lists"].items()]
    return out


WHERE = [
    ("leader", None),
    ("leader", TOWN_A),
    ("leader", COMM_A1),
    ("leader", GRID_A1_1),
    ("dispatcher", None),
    ("town_a", None),
    ("town_a", COMM_A2),
    ("town_b", None),
    ("comm_a1", None),
    ("admin", TOWN_B),
]


@pytest.mark.parametrize(("user", "region"), WHERE)
def test_each_count_lists_exactly_its_matters(
    caller: Caller, user: str, region: str | None
) -> None:
    with clock.frozen(NOW):
        d = caller.get(user, "/api/dashboard", **({"region": region} if region else {}))
        place = d["region"]["code"]
        assert set(d["lists"]) == CARDS
        every_day = (user, region) == WHERE[0]
        linked = 0
        for name, count, query in lists_of(d, every_day):
            if query is None:
                continue
            linked += 1
            # Always within the place the figure is about: the list is as narrow as it.
            assert query["place"] == place or name.startswith(query["place"]), (name, query)
            listed = caller.total(user, **as_the_inbox_asks(query))
            assert listed == count, (user, region, name, query)
        days = len(d["trend"]) if every_day else 1 + sum(1 for x in d["trend"][1:] if x["reported"])
        assert linked == len(CARDS) + 3 * len(d["ranking"]) + days


def test_the_counts_are_not_all_zero(caller: Caller) -> None:
    """The scenario gives each kind of figure something to count (else the test above
    could not fail)."""
    with clock.frozen(NOW):
        d = caller.get("leader", "/api/dashboard")
        town_a = caller.get("leader", "/api/dashboard", region=TOWN_A)
    assert (d["today_reported"], d["open"], d["overdue"], d["closed"]) == (1, 4, 1, 1)
    by_code = {r["code"]: r for r in d["ranking"]}
    assert (by_code[TOWN_A]["reported"], by_code[TOWN_A]["closed"]) == (4, 1)
    assert by_code[TOWN_A]["overdue"] == 1
    assert by_code[TOWN_B]["closed"] == 0  # b was reopened
    assert {day["day"]: day["reported"] for day in d["trend"] if day["reported"]} == {
        "2026-11-20": 2,
        "2026-11-23": 3,
        "2026-11-26": 1,
    }
    assert town_a["overdue"] == 1 and town_a["closed"] == 1


def test_the_overdue_card_agrees_with_the_overdue_list_everywhere(caller: Caller) -> None:
    with clock.frozen(NOW):
        for user, region in WHERE:
            d = caller.get(user, "/api/dashboard", **({"region": region} if region else {}))
            listed = caller.total(user, overdue=True, region=d["region"]["code"])
            assert d["overdue"] == listed, (user, region)
        # The same matter overdue in each place around it.
        for region in (COUNTY, TOWN_A, COMM_A1, GRID_A1_1):
            assert caller.get("leader", "/api/dashboard", region=region)["overdue"] == 1


def test_a_figure_the_inbox_cannot_express_has_no_link(caller: Caller) -> None:
    """Matters closed on a day need a closing-time range the list does not have."""
    with clock.frozen(NOW):
        d = caller.get("leader", "/api/dashboard")
    assert all(day["lists"]["closed"] is None for day in d["trend"])
    assert any(day["closed"] for day in d["trend"])
    assert all(day["lists"]["reported"] is not None for day in d["trend"])


def test_the_trail_runs_from_the_jurisdiction_down(caller: Caller) -> None:
    def trail(user: str, region: str, status: int = 200) -> Any:
        return caller.get(user, "/api/dashboard/trail", status, region=region)

    with clock.frozen(NOW):
        steps = trail("leader", GRID_A1_1)
        assert [(s["code"], s["name"], s["kind"]) for s in steps] == [
            (COUNTY, "测试区", "region"),
            (TOWN_A, "甲街道", "region"),
            (COMM_A1, "社区1001", "region"),
            (GRID_A1_1, "网格1001-1", "grid"),
        ]
        # A township's dispatcher starts at the township: the county is not theirs.
        assert [s["code"] for s in trail("town_a", COMM_A1)] == [TOWN_A, COMM_A1]
        assert [s["code"] for s in trail("leader", COUNTY)] == [COUNTY]
        # The dashboard carries the same trail.
        d = caller.get("town_a", "/api/dashboard", region=COMM_A1)
        assert d["trail"] == trail("town_a", COMM_A1)
        assert caller.get("leader", "/api/dashboard")["trail"] == trail("leader", COUNTY)
        # Out of reach, unknown or malformed; a resident has no places to see.
        for user, region in (("town_a", TOWN_B), ("town_a", COUNTY), ("leader", "999999999")):
            body = trail(user, region, 404)
            assert "管辖范围" in body["error"]["message"], (user, region)
        assert trail("leader", "33/03", 422)["error"]["code"] == "invalid"
        trail("resident", GRID_A1_1, 403)
    assert caller.client.get("/api/dashboard/trail", params={"region": TOWN_A}).status_code == 401
