"""The closed loop as a table: the description the console draws its forms from, in both
languages, and the generic mechanism applied to a workflow that is not the matter's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.core.errors import AppError, InvalidFields
from fengqiao.core.labels import Label
from fengqiao.core.permissions import Principal
from fengqiao.core.workflow import (
    SYSTEM,
    WORKFLOWS,
    FollowUp,
    State,
    Transition,
    Workflow,
    labelled,
    row,
)
from fengqiao.matters.enums import MatterState
from fengqiao.matters.lifecycle import MATTER, TRANSITIONS
from fengqiao.matters.models import Matter
from fengqiao.people.models import User
from fengqiao.people.service import principal_of
from tests.world import World

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def _texts(node: Any) -> Iterator[str]:
    """Every title, label and description in a description, recursively."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("title", "label", "description", "help") and isinstance(value, str):
                yield value
            elif key == "x-labels" and isinstance(value, dict):
                yield from (str(v) for v in value.values())
            else:
                yield from _texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _texts(value)


def test_the_matter_workflow_is_described_in_both_languages(
    client: TestClient, world: World
) -> None:
    h = world.login(client, "town_a")
    zh = client.get("/api/workflows/matter", headers=h).json()
    en = client.get("/api/workflows/matter", headers={**h, "Accept-Language": "en"}).json()
    assert [s["name"] for s in zh["states"]] == [s.value for s in MatterState]
    assert {s["name"]: s["label"] for s in zh["states"]}[
        "in_progress"
    ] == MatterState.in_progress.zh
    assert {s["name"]: s["label"] for s in en["states"]}["in_progress"] == "In progress"
    people = {a["name"] for a in zh["actions"] if not a["by_system"]}
    assert people == set(TRANSITIONS)
    # The sweep's ladder and intake's own steps are named too, for the timeline.
    system = {a["name"] for a in zh["actions"] if a["by_system"]}
    assert {"report", "merge_in", "yellow_card", "red_card", "overdue_escalate"} <= system
    for text in _texts(en):
        assert not CJK.search(text), text
    assert any(CJK.search(text) for text in _texts(zh))


def test_each_action_says_its_fields_as_json_schema(client: TestClient, world: World) -> None:
    h = {**world.login(client, "town_a"), "Accept-Language": "en"}
    actions = {
        a["name"]: a for a in client.get("/api/workflows/matter", headers=h).json()["actions"]
    }
    reject = actions["reject"]["schema"]
    assert reject["required"] == ["reason"]
    assert reject["properties"]["reason"]["title"] == "Reason"
    assert reject["properties"]["reason"]["maxLength"] == 2000
    assert reject["properties"]["reason"]["x-widget"] == "textarea"
    rate = actions["rate"]["schema"]["properties"]["rating"]
    assert rate["enum"] == ["satisfied", "basically", "dissatisfied"]
    assert rate["x-labels"]["dissatisfied"] == "Dissatisfied"
    until = actions["request_extension"]["schema"]["properties"]["until"]
    assert until["format"] == "date-time" and until["x-widget"] == "datetime"
    assert actions["dispatch"]["schema"]["properties"]["unit_code"]["x-widget"] == "unit"
    assert actions["verify_ok"]["photos"] == "verify"
    assert actions["dispatch"]["deadline"] == "start" and actions["return"]["deadline"] == "stop"
    assert "$ref" not in str(actions) and "$defs" not in str(actions)


def test_a_workflow_is_read_by_those_signed_in_and_an_unknown_one_is_404(
    client: TestClient, world: World
) -> None:
    assert client.get("/api/workflows/matter").status_code == 401
    h = world.login(client, "resident")
    assert client.get("/api/workflows/matter", headers=h).status_code == 200
    resp = client.get("/api/workflows/no_such", headers={**h, "Accept-Language": "en"})
    assert resp.status_code == 404 and "workflow" in resp.json()["error"]["message"]


def test_the_409_names_the_state_as_the_description_does(client: TestClient, world: World) -> None:
    h = world.login(client, "town_a")
    matter = world.matters["a"]
    assert (
        client.post(f"/api/matters/{matter}/actions/accept", json={}, headers=h).status_code == 200
    )
    for lang in ("zh", "en"):
        headers = {**h, "Accept-Language": lang}
        states = {
            s["name"]: s["label"]
            for s in client.get("/api/workflows/matter", headers=headers).json()["states"]
        }
        actions = {
            a["name"]: a["label"]
            for a in client.get("/api/workflows/matter", headers=headers).json()["actions"]
        }
        resp = client.post(f"/api/matters/{matter}/actions/accept", json={}, headers=headers)
        assert resp.status_code == 409
        message = resp.json()["error"]["message"]
        named = states["accepted"] if lang == "zh" else states["accepted"].lower()
        assert named in message and (actions["accept"].lower() in message.lower())
        shown = client.get(f"/api/matters/{matter}", headers=headers).json()["state_name"]
        assert shown == states["accepted"]


# ---------------------------------------------------------------- the mechanism alone


class Visit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    summary: str = Field(max_length=50, json_schema_extra=labelled("情况", "Summary", "textarea"))


class Mark(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: int = Field(ge=1, le=3, json_schema_extra=labelled("级别", "Level"))


NOTED = Label("自动记录", "Noted")


class Review(Workflow[Matter, None]):
    """A workflow of its own over the matter table's rows: it knows nothing of the loop."""

    def __init__(self) -> None:
        self.journalled: list[tuple[str, str | None, str, str | None]] = []
        self.sent: list[tuple[str, list[str]]] = []
        super().__init__(
            "review_test",
            ("复核", "Review"),
            {
                "reported": State(Label("待复核", "To review")),
                "accepted": State(Label("复核中", "Reviewing")),
                "closed": State(Label("已复核", "Reviewed"), open=False),
            },
            {"owner": Label("经办人", "Owner")},
            (
                row("visit", ("走访", "Visit"), {"reported"}, "accepted", {"owner"},
                    payload=Visit, notifies=("owner", "nobody"),
                    handler=lambda s, p, c, r, data: {"said": data.summary}),
                row("mark", ("标记", "Mark"), {"accepted"}, "closed", {"owner"}, payload=Mark,
                    then=lambda record, data: FollowUp("note", NOTED) if data.level == 3 else None,
                    refuse=lambda p, r: Label("不行", "No") if p.user_id == -1 else None),
                row("note", ("记录", "Note"), {"closed"}, None, {SYSTEM}),
            ),
        )  # fmt: skip

    def actors_of(self, principal: Principal, record: Matter) -> set[str]:
        return {"owner"} if record.reporter_id == principal.user_id else set()

    def journal(self, session: Session, record: Matter, principal: Principal | None,
                t: Transition, from_state: str | None, reason: str | None,
                detail: dict[str, Any]) -> Any:  # fmt: skip
        self.journalled.append((t.name, from_state, record.state, reason))

    def address(self, record: Matter, kind: str) -> str | None:
        return f"user:{record.reporter_id}" if kind == "owner" else None

    def notify(
        self, session: Session, record: Matter, t: Transition, recipients: list[str]
    ) -> None:
        self.sent.append((t.name, recipients))


@pytest.fixture
def review() -> Iterator[Review]:
    flow = Review()
    yield flow
    del WORKFLOWS[flow.name]


def test_the_mechanism_holds_no_rule_of_its_own(
    session: Session, world: World, review: Review
) -> None:
    matter = session.get(Matter, world.matters["a"])
    assert matter is not None and matter.state == "reported"
    owner = principal_of(session.scalar(select(User).where(User.id == matter.reporter_id)))
    other = principal_of(session.scalar(select(User).where(User.username == "town_b")))
    assert review.allowed(owner, matter) == ["visit"]
    assert review.allowed(other, matter) == []

    def take(who: Principal, action: str, data: dict[str, Any]) -> Matter:
        return review.take(session, who, None, lambda: matter, action, data)

    with pytest.raises(AppError) as refused:
        take(owner, "note", {})  # the system's own step is no one's action
    assert refused.value.status == 422
    with pytest.raises(InvalidFields):
        take(owner, "visit", {"summary": "x" * 51})  # malformed: 422 before anything
    with pytest.raises(InvalidFields):
        take(owner, "visit", {"unknown": 1})
    with pytest.raises(AppError) as wrong_state:
        take(owner, "mark", {"level": 1})
    assert wrong_state.value.status == 409 and "To review".lower() in wrong_state.value.message(
        "en"
    )
    with pytest.raises(AppError) as wrong_actor:
        take(other, "visit", {"summary": "看过了"})
    assert wrong_actor.value.status == 403
    with pytest.raises(InvalidFields):
        take(owner, "visit", {})  # missing: told after state and actor
    assert review.journalled == [] and matter.state == "reported"

    take(owner, "visit", {"summary": "看过了", "level": 2})  # another action's field: left aside
    assert matter.state == "accepted"
    assert review.journalled == [("visit", "reported", "accepted", None)]
    assert review.sent == [("visit", [f"user:{matter.reporter_id}"])]
    take(owner, "mark", {"level": 3})
    assert matter.state == "closed"
    assert review.journalled[-2:] == [
        ("mark", "accepted", "closed", None),
        ("note", "closed", "closed", "自动记录"),
    ]
    described = review.describe("en")
    assert [s["label"] for s in described["states"]] == ["To review", "Reviewing", "Reviewed"]
    visit = next(a for a in described["actions"] if a["name"] == "visit")
    assert visit["schema"]["properties"]["summary"]["title"] == "Summary"
    assert visit["schema"]["properties"]["summary"]["maxLength"] == 50


def test_a_table_naming_an_unknown_state_or_actor_is_refused_at_once() -> None:
    def flow(*rows: Transition) -> None:
        class Bad(Review):
            def __init__(self) -> None:
                Workflow.__init__(
                    self, "bad_test", ("坏", "Bad"), {"a": State(Label("甲", "A"))},
                    {"x": Label("某", "X")}, rows,
                )  # fmt: skip

        Bad()

    with pytest.raises(ValueError, match="unknown states"):
        flow(row("go", ("去", "Go"), {"a"}, "nowhere", {"x"}))
    with pytest.raises(ValueError, match="unknown actors"):
        flow(row("go", ("去", "Go"), {"a"}, "a", {"y"}))
    with pytest.raises(ValueError, match="two rows"):
        flow(row("go", ("去", "Go"), {"a"}, "a", {"x"}), row("go", ("去", "Go"), {"a"}, "a", {"x"}))
    assert "bad_test" not in WORKFLOWS
    assert MATTER.name in WORKFLOWS
