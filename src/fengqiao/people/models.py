from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fengqiao.core.database import Base, PathString, TimestampMixin


class Unit(TimestampMixin, Base):
    """A department, station, platform or centre that handles matters."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    # Path of the region the unit serves (a county bureau serves the whole county).
    region_path: Mapped[str] = mapped_column(PathString(), index=True)
    # Category codes of the matters it is responsible for ("谁主管谁负责").
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    phone: Mapped[str | None] = mapped_column(String(32))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class User(TimestampMixin, Base):
    __tablename__ = "user_account"
    __secret_fields__ = ("password_hash",)
    __personal_fields__ = ("phone", "id_number")

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    id_number: Mapped[str | None] = mapped_column(String(18))
    password_hash: Mapped[str] = mapped_column(String(256))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Jurisdiction: a region or grid path, or a unit (whose region path then applies).
    region_path: Mapped[str | None] = mapped_column(PathString(), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    language: Mapped[str] = mapped_column(String(8), default="zh")

    roles: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", back_populates="user"
    )
    unit: Mapped[Unit | None] = relationship(lazy="joined")

    @property
    def role_names(self) -> list[str]:
        return sorted(r.role for r in self.roles)


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(32), primary_key=True)

    user: Mapped[User] = relationship(back_populates="roles")


class GridMember(TimestampMixin, Base):
    """A place in a grid's "1+1+1+X" team."""

    __tablename__ = "grid_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    team_role: Mapped[str] = mapped_column(String(32))
    region_path: Mapped[str] = mapped_column(PathString(), index=True)  # the grid's path

    __table_args__ = (UniqueConstraint("grid_id", "user_id", "team_role"),)


class AuthSession(Base):
    """A login: hashed access and refresh tokens; logout revokes it."""

    __tablename__ = "auth_session"
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    access_hash: Mapped[str] = mapped_column(String(64), unique=True)
    access_expires_at: Mapped[datetime]
    refresh_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The refresh tokens of one login share a family (see people.sessions.refresh).
    family_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    refresh_expires_at: Mapped[datetime]
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(String(64))


class LoginThrottle(Base):
    """Failed logins per account and address, per address and per account (user names
    known or not, so probing names is slowed too); see people.sessions._throttles."""

    __tablename__ = "login_throttle"
    __audited__ = False

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]


Index("ix_user_role_role", UserRole.role)
