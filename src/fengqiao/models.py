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
from fengqiao.mediation.models import Committee, Mediator
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
    "Committee",
    "DeadlinePolicy",
    "Grid",
    "GridMember",
    "LoginThrottle",
    "Matter",
    "Mediator",
    "OutboxMessage",
    "Region",
    "Revision",
    "RoutingRule",
    "TimelineEntry",
    "Unit",
    "User",
    "UserRole",
]
