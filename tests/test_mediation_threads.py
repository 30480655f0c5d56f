"""Private caucuses (背靠背): over random messages by random users, no party ever reads
another party's caucus, the mediators read every thread, nobody outside the case reads
any, and every read is in the audit log."""

from __future__ import annotations

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.core.models import AuditLog
from tests.mediationkit import Desk
from tests.world import World

USERS = ["resident", "resident_b", "mediator_a", "town_a", "admin", "worker_a", "mediator_sea"]


def test_no_party_reads_another_party_s_caucus(
    client: TestClient, world: World, session: Session
) -> None:
    desk = Desk(client, world)
    case = desk.open("resident")
    number = case["number"]
    desk.respondent_signs_in(case)
    applicant, respondent = desk.party(case, "applicant"), desk.party(case, "respondent")
    threads = ["joint", f"caucus:{applicant}", f"caucus:{respondent}", "caucus:999999"]
    # Who may read and write each thread: the parties their own caucus and the joint one.
    owner = {f"caucus:{applicant}": "resident", f"caucus:{respondent}": "resident_b"}
    written: dict[str, list[str]] = {t: [] for t in threads}

    def may(user: str, thread: str) -> bool:
        if thread == "caucus:999999" or user not in ("resident", "resident_b", "mediator_a"):
            return False
        return user == "mediator_a" or thread == "joint" or owner.get(thread) == user

    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        st.lists(
            st.tuples(
                st.sampled_from(USERS),
                st.sampled_from(threads),
                st.booleans(),
                st.text("调解协商甲乙ab 12", min_size=1, max_size=12).filter(str.strip),
            ),
            min_size=1,
            max_size=12,
        )
    )
    def walk(steps: list[tuple[str, str, bool, str]]) -> None:
        for user, thread, post, body in steps:
            headers = desk.as_(user)
            url = f"/api/mediation/cases/{number}/messages"
            if post:
                resp = client.post(url, json={"thread": thread, "body": body}, headers=headers)
                if may(user, thread):
                    assert resp.status_code == 201, (user, thread, resp.text)
                    written[thread].append(resp.json()["body"])
                else:
                    assert resp.status_code in (404, 422), (user, thread, resp.text)
                continue
            before = session.scalar(
                select(func.count()).select_from(AuditLog).where(AuditLog.action == "read_messages")
            )
            resp = client.get(url, params={"thread": thread}, headers=headers)
            if not may(user, thread):
                assert resp.status_code == 404, (user, thread, resp.text)
                continue
            assert resp.status_code == 200, (user, thread, resp.text)
            got = resp.json()
            assert all(m["thread"] == thread for m in got)
            assert [m["body"] for m in got] == written[thread]
            session.expire_all()
            after = session.scalar(
                select(func.count()).select_from(AuditLog).where(AuditLog.action == "read_messages")
            )
            assert after == (before or 0) + 1  # every read is audited

    walk()
    # What each one is offered to read: a party only the joint thread and their own caucus.
    offered = {
        u: [t["key"] for t in desk.get(u, f"/api/mediation/cases/{number}/threads")]
        for u in ("resident", "resident_b", "mediator_a", "town_a")
    }
    assert offered["resident"] == ["joint", f"caucus:{applicant}"]
    assert offered["resident_b"] == ["joint", f"caucus:{respondent}"]
    assert offered["mediator_a"] == ["joint", f"caucus:{applicant}", f"caucus:{respondent}"]
    assert offered["town_a"] == []
