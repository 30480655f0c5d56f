"""The caches of data sets that change rarely (grids, routing, the calendar): one caller
checks the revision at a time, the others go on with the value they have, and a change
made in this process is seen at once."""

from __future__ import annotations

import threading

from sqlalchemy import event
from sqlalchemy.orm import Session

from fengqiao.core.revision import RevisionCache, bump_revision


def test_one_caller_checks_while_the_others_go_on(session: Session) -> None:
    builds: list[int] = []

    def build(_: Session) -> int:
        builds.append(1)
        return len(builds)

    cache = RevisionCache("test-set", build, check_every=0.0)  # every call is due
    assert cache.get(session) == 1 and not cache.fresh()
    reads: list[str] = []
    event.listen(session, "do_orm_execute", lambda state: reads.append("read"))
    with cache._lock:  # another caller is checking the revision
        assert cache.fresh()
        assert cache.get(session) == 1
    assert reads == []  # the value was used as it was, without a read
    bump_revision(session, "test-set")
    session.commit()  # this process's change: seen at once, even while a check runs
    checker = threading.Thread(target=cache._lock.acquire)
    checker.start()
    checker.join()
    try:
        assert not cache.fresh()
    finally:
        cache._lock.release()
    assert cache.get(session) == 2 and builds == [1, 1]
