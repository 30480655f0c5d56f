"""Change counters for data sets that processes cache in memory."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session, UOWTransaction

from fengqiao.core.models import Revision

T = TypeVar("T")


_WATCHED: dict[type, str] = {}
_CACHES: dict[str, weakref.WeakSet[RevisionCache[Any]]] = {}


def watch(name: str, *models: type) -> None:
    """Bump `name` in the same transaction whenever rows of these models are written."""
    for model in models:
        _WATCHED[model] = name


def bump_revision(session: Session, name: str) -> None:
    connection = session.connection()
    result = connection.execute(
        update(Revision).where(Revision.name == name).values(value=Revision.value + 1)
    )
    if getattr(result, "rowcount", 0) == 0:
        connection.execute(insert(Revision).values(name=name, value=1))
    session.info.setdefault("bumped_revisions", set()).add(name)


@event.listens_for(Session, "after_flush")
def _bump_watched(session: Session, _ctx: UOWTransaction) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    for name in sorted({_WATCHED[type(o)] for o in changed if type(o) in _WATCHED}):
        bump_revision(session, name)


@event.listens_for(Session, "after_commit")
def _invalidate_here(session: Session) -> None:
    """This process rebuilds at once; others see the new revision within `check_every`."""
    for name in session.info.pop("bumped_revisions", ()):
        for cache in list(_CACHES.get(name, ())):
            cache.invalidate()


@event.listens_for(Session, "after_soft_rollback")
def _forget_bumps(session: Session, _previous: Any) -> None:
    session.info.pop("bumped_revisions", None)


def current_revision(session: Session, name: str) -> int:
    return session.scalar(select(Revision.value).where(Revision.name == name)) or 0


class RevisionCache(Generic[T]):
    """A value built from the database and kept in memory until its revision counter
    changes. Each process checks the counter at most every `check_every` seconds, so a
    change made by another process shows within that time; `invalidate` after a change
    made here makes it show at once. One caller at a time checks; the others meanwhile
    go on with the value they have (unless it was invalidated: then they wait for it)."""

    def __init__(self, name: str, build: Callable[[Session], T], check_every: float = 1.0) -> None:
        self.name, self.build, self.check_every = name, build, check_every
        self._lock = threading.Lock()
        self._value: T | None = None
        self._revision = -1
        self._checked_at = 0.0
        # Invalidations asked for, and those the value has seen: an invalidation during a
        # check makes the next caller check again.
        self._invalidations = self._seen = 0
        _CACHES.setdefault(name, weakref.WeakSet()).add(self)

    def invalidate(self) -> None:
        self._invalidations += 1

    def _usable(self) -> bool:
        """A value to go on with without waiting."""
        return self._value is not None and self._seen == self._invalidations

    def _due(self) -> bool:
        return not self._usable() or time.monotonic() - self._checked_at >= self.check_every

    def fresh(self) -> bool:
        """`get` will not read the database: the value was checked within `check_every`,
        or another caller is checking it."""
        return not self._due() or (self._usable() and self._lock.locked())

    def get(self, session: Session) -> T:
        if self._due() and self._lock.acquire(blocking=not self._usable()):
            try:
                if self._due():  # not done meanwhile by the caller before
                    asked = self._invalidations
                    revision = current_revision(session, self.name)
                    if self._value is None or revision != self._revision:
                        self._value, self._revision = self.build(session), revision
                    self._checked_at, self._seen = time.monotonic(), asked
            finally:
                self._lock.release()
        assert self._value is not None
        return self._value
