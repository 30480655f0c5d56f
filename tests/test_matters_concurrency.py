"""Concurrent transitions and retried intake against the real database."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from fengqiao.calendar.service import build_calendar
from fengqiao.core.database import make_sessionmaker
from fengqiao.core.errors import AppError
from fengqiao.matters import intake, service
from fengqiao.matters.models import Matter
from fengqiao.people.models import User
from fengqiao.people.service import principal_of
from tests.world import World


def _race(engine: Engine, n: int, work: Callable[[Any], object]) -> Counter[str]:
    """Run `work(session)` in n threads released together; count outcomes."""
    factory = make_sessionmaker(engine)
    barrier = threading.Barrier(n)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def run() -> None:
        with factory() as session:
            barrier.wait()
            try:
                work(session)
                result = "ok"
            except AppError as exc:
                result = str(exc.status)
            except Exception as exc:  # anything else is a failure of the test
                result = f"crash: {exc!r}"
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes


def _principal(engine: Engine, username: str) -> Any:
    with make_sessionmaker(engine)() as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None
        return principal_of(user)


def test_fifty_concurrent_dispatches_one_wins(engine: Engine, world: World) -> None:
    town_a = _principal(engine, "town_a")
    matter_id = world.matters["a"]
    with make_sessionmaker(engine)() as session:
        cal = build_calendar(session)
        service.act(session, town_a, cal, matter_id, "accept", {})

    def dispatch(session: Any) -> None:
        service.act(session, town_a, cal, matter_id, "dispatch", {"unit_code": "C-ZHZF"})

    outcomes = _race(engine, 50, dispatch)
    assert outcomes == {"ok": 1, "409": 49}, outcomes
    with make_sessionmaker(engine)() as session:
        matter = session.get(Matter, matter_id)
        assert matter is not None and matter.state == "dispatched" and matter.dispatch_count == 1


def test_the_same_intake_a_hundred_times_makes_one_matter(
    engine: Engine, world: World, client: TestClient
) -> None:
    worker = _principal(engine, "worker_a")
    report = intake.Report(
        title="重复提交测试", idempotency_key="key-0123456789-abc", region_code="330305001"
    )

    def send(session: Any) -> None:
        intake.report(session, worker, report, grid=None)

    outcomes = _race(engine, 100, send)
    assert outcomes == {"ok": 100}, outcomes
    # Over HTTP, sequentially: the first answer is 201 only if it made the matter.
    headers = world.login(client, "worker_a")
    body = {
        "title": "重复提交测试2",
        "region_code": "330305001",
        "idempotency_key": "key-http-0123456789",
    }
    codes = Counter(
        client.post("/api/matters", json=body, headers=headers).status_code for _ in range(100)
    )
    assert codes == {201: 1, 200: 99}
    # And concurrently, where the server's writer takes many of them in one transaction.
    body = {**body, "title": "重复提交测试3", "idempotency_key": "key-http-concurrent-1"}
    barrier = threading.Barrier(100)
    answers: list[tuple[int, int]] = []

    def post() -> None:
        barrier.wait()
        resp = client.post("/api/matters", json=body, headers=headers)
        answers.append((resp.status_code, resp.json().get("id", 0)))

    threads = [threading.Thread(target=post) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert Counter(code for code, _ in answers) == {201: 1, 200: 99}, answers
    assert len({matter for _, matter in answers}) == 1
    with make_sessionmaker(engine)() as session:
        titles = Counter(session.scalars(select(Matter.title)).all())
        assert titles["重复提交测试"] == 1 and titles["重复提交测试2"] == 1
        assert titles["重复提交测试3"] == 1
        assert session.scalar(select(func.count()).select_from(Matter)) == 5
    # Someone else's key is not theirs to reuse.
    other = world.login(client, "head_a")
    assert client.post("/api/matters", json=body, headers=other).status_code == 409
