"""Helpers for the mediation tests: cases begun and moved through the API as their users
would, and what the outbox told whom."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.core import clock
from fengqiao.notify.models import OutboxMessage
from tests.world import COMM_A1, World


def today() -> date:
    return clock.now().astimezone(clock.zone()).date()


@dataclass
class Desk:
    """One client, each user signed in once."""

    client: TestClient
    world: World
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def as_(self, username: str) -> dict[str, str]:
        if username not in self.headers:
            self.headers[username] = self.world.login(self.client, username)
        return self.headers[username]

    def get(self, username: str, url: str, status: int = 200, **params: Any) -> Any:
        resp = self.client.get(url, headers=self.as_(username), params=params)
        assert resp.status_code == status, (username, url, resp.text)
        return (
            resp.json()
            if resp.headers.get("content-type", "").startswith("application/json")
            else resp
        )

    def case(self, username: str, number: str, status: int = 200) -> Any:
        return self.get(username, f"/api/mediation/cases/{number}", status)

    def act(self, who: str, number: str, action: str, status: int = 200, **body: Any) -> Any:
        resp = self.client.post(
            f"/api/mediation/cases/{number}/actions/{action}", json=body, headers=self.as_(who)
        )
        assert resp.status_code == status, (who, action, resp.text)
        return resp.json()

    def open(self, username: str, status: int = 201, **body: Any) -> Any:
        data = {
            "title": "邻里漏水纠纷",
            "summary": "楼上卫生间漏水渗到楼下，多次协商未果",
            "region_code": COMM_A1,
            "committee_code": "A-TWH",
            "parties": [
                {
                    "role": "respondent",
                    "name": "李四",
                    "phone": "13800004444",
                    "id_number": "330305198001010011",
                    "address": "甲街道码头路 2 号",
                },
            ],
        } | body
        resp = self.client.post("/api/mediation/cases", json=data, headers=self.as_(username))
        assert resp.status_code == status, resp.text
        return resp.json()

    def party(self, case: dict[str, Any], role: str) -> int:
        return next(int(p["id"]) for p in case["parties"] if p["role"] == role)

    def respondent_signs_in(self, case: dict[str, Any], username: str = "resident_b") -> Any:
        """The mediator links the respondent's own account, once identity is checked."""
        return self.act(
            "mediator_a",
            case["number"],
            "link_account",
            party_id=self.party(case, "respondent"),
            username=username,
        )

    def walk_to_mediating(self, number: str, presiding: int) -> Any:
        self.act("mediator_a", number, "accept")
        self.act("mediator_a", number, "assign", presiding_id=presiding)
        self.act("mediator_a", number, "inform", method="written")
        self.act("mediator_a", number, "investigate", findings="现场查看，确系楼上防水层老化")
        case = self.case("mediator_a", number)
        present = [p["id"] for p in case["parties"]]
        return self.act(
            "mediator_a",
            number,
            "record_session",
            attendance=present,
            statements="申请人要求赔偿；被申请人同意维修",
            result="双方原则同意和解",
            signed_by=present,
        )

    def agree(self, number: str, obligor: int, days: int = 10) -> Any:
        return self.act(
            "mediator_a",
            number,
            "draft_agreement",
            facts="被申请人卫生间防水层老化漏水，致申请人天花板受损",
            disputed="维修责任与赔偿数额",
            responsibilities="被申请人承担全部维修责任",
            terms=[
                {
                    "content": "被申请人修复防水层",
                    "obligor_id": obligor,
                    "manner": "自行修复",
                    "place": "甲街道码头路 2 号",
                    "due_on": (today() + timedelta(days=days)).isoformat(),
                },
                {
                    "content": "被申请人赔偿申请人装修损失人民币三千元",
                    "obligor_id": obligor,
                    "manner": "银行转账",
                    "place": "申请人账户",
                    "due_on": (today() + timedelta(days=days)).isoformat(),
                },
            ],
        )


def told(session: Session, user_id: int, number: str) -> list[str]:
    """The actions a user was told of about a case, in order."""
    session.expire_all()
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.recipient == f"user:{user_id}")
        .order_by(OutboxMessage.id)
    )
    return [m.payload["action"] for m in rows if m.payload.get("number") == number]
