"""The one source of "now" (so tests can freeze time) and of the installation's time zone
(`FENGQIAO_TIMEZONE`), in which days, working hours and matter numbers are counted."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fengqiao.core.config import get_settings

_frozen: datetime | None = None
_zone: ZoneInfo | None = None


def now() -> datetime:
    return _frozen if _frozen is not None else datetime.now(UTC)


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    global _frozen
    if at.tzinfo is None:
        raise ValueError("frozen clock needs an aware datetime")
    previous, _frozen = _frozen, at.astimezone(UTC)
    try:
        yield
    finally:
        _frozen = previous


def zone() -> ZoneInfo:
    """The installation's time zone, read from the settings on first use."""
    global _zone
    if _zone is None:
        _zone = ZoneInfo(get_settings().timezone)
    return _zone


def use_zone(name: str | None) -> None:
    """Take this zone from now on (an application created with its own settings); None:
    read the settings again on next use (tests that change FENGQIAO_TIMEZONE)."""
    global _zone
    _zone = ZoneInfo(name) if name is not None else None
