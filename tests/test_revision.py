"""The caches of data sets that change rarely (grids, routing, the calendar): one caller
checks the revision at a time, the others go on with the value they have, and a change
made in this process is seen at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import ORMExecuteState, Session

from fengqiao.core.database import make_sessionmaker
from fengqiao.core.revision import RevisionCache, bump_revision


@contextmanager
def another_caller_checking(engine: Engine, cache: RevisionCache[Any]) -> Iterator[None]:
    """Another thread's `get`, held while it reads the revision."""
    inside, go = threading.Event(), threading.Event()

    def hold(_: ORMExecuteState) -> None:
        inside.set()
        go.wait(timeout=10)

    def check() -> None:
        with make_sessionmaker(engine)() as other:
            event.listen(other, "do_orm_execute", hold)
            cache.get(other)

    thread = threading.Thread(target=check)
    thread.start()
    try:
        assert inside.wait(timeout=10), "the other caller did not start its check"
        yield
    finally:
        go.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_one_caller_checks_while_the_others_go_on(engine: Engine, session: Session) -> None:
    builds: list[int] = []

    def build(_: Session) -> int:
        builds.append(1)
        return len(builds)

    cache = RevisionCache("test-set", build, check_every=0.0)  # every call is due
    assert cache.get(session) == 1 and not cache.fresh()
    reads: list[str] = []
    event.listen(session, "do_orm_execute", lambda state: reads.append("read"))
    with another_caller_checking(engine, cache):
        assert cache.fresh()
        assert cache.get(session) == 1
    assert reads == []  # the value was used as it was, without a read
    bump_revision(session, "test-set")
    session.commit()  # this process's change: seen at once, even while a check runs
    with another_caller_checking(engine, cache):
        assert not cache.fresh()
    assert cache.get(session) == 2 and builds == [1, 1]
