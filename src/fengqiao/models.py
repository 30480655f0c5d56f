"""Every table, so the metadata that Alembic compares against is complete."""

from fengqiao.calendar.models import CalendarDay, CalendarYear
from fengqiao.classify.models import CategoryCorrection
from fengqiao.core.database import Base
from fengqiao.core.models import AuditLog, Category, Revision
from fengqiao.geo.models import Grid, Region
from fengqiao.matters.models import (
    Attachment,
    DeadlinePolicy,
    Matter,
    RoutingRule,
    TimelineEntry,
)
from fengqiao.notify.models import OutboxMessage
from fengqiao.people.models import AuthSession, GridMember, LoginThrottle, Unit, User, UserRole

__all__ = [
    "Attachment",
    "AuditLog",
    "AuthSession",
    "Base",
    "CalendarDay",
    "CalendarYear",
    "Category",
    "CategoryCorrection",
    "DeadlinePolicy",
    "Grid",
    "GridMember",
    "LoginThrottle",
    "Matter",
    "OutboxMessage",
    "Region",
    "Revision",
    "RoutingRule",
    "TimelineEntry",
    "Unit",
    "User",
    "UserRole",
]
