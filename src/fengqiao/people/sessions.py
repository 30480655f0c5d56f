"""Logins and sessions: passwords checked against throttled attempts, access and refresh
tokens (stored as hashes) rotated and revoked, and the callers of recent tokens kept per
process."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import delete, event, or_, select
from sqlalchemy.orm import Session, UOWTransaction, joinedload

from fengqiao.core import audit, clock
from fengqiao.core.config import Settings
from fengqiao.core.errors import TooMany, Unauthorized
from fengqiao.core.permissions import Principal
from fengqiao.core.security import (
    DUMMY_HASH,
    hash_password,
    needs_rehash,
    new_token,
    token_digest,
    verify_password,
)
from fengqiao.people.models import AuthSession, LoginThrottle, User, UserRole
from fengqiao.people.service import principal_of

# ---------------------------------------------------------------- login


def _throttle(session: Session, key: str) -> LoginThrottle:
    row = session.get(LoginThrottle, key, with_for_update=True)
    if row is None:
        row = LoginThrottle(key=key, failures=0)
        session.add(row)
    return row


def _throttles(session: Session, username: str, ip: str | None) -> list[LoginThrottle]:
    """The counters a login attempt is held to, each with its own limits: the account from
    this address (slowed, then locked), this address over every account (slowed, then
    locked at a higher count: one address cannot lock out every account it knows, and
    cannot try them all either), and the account from every address (slowed, never
    locked, so that guessing from many addresses is slowed too)."""
    address = (ip or "-")[:64]
    keys = (f"pair:{username}@{address}", f"addr:{address}", f"user:{username}")
    return [_throttle(session, key) for key in sorted(keys)]  # one lock order for all


def _limits(row: LoginThrottle, settings: Settings) -> tuple[int, int | None]:
    """(failures before each attempt waits, failures that lock, or None)."""
    kind = row.key.partition(":")[0]
    if kind == "addr":  # many people may share an address (an office behind one NAT)
        return settings.login_lock_after * 3, settings.login_lock_after * 10
    if kind == "user":
        return settings.login_lock_after, None
    return settings.login_slow_after, settings.login_lock_after


def _retry_after(row: LoginThrottle, settings: Settings, now: datetime) -> int:
    """Seconds the caller must still wait, or 0."""
    if row.locked_until and row.locked_until > now:
        return int((row.locked_until - now).total_seconds()) + 1
    over = row.failures - _limits(row, settings)[0]
    if over >= 0 and row.last_failure_at is not None:
        wait_until = row.last_failure_at + timedelta(seconds=min(2**over, 300))
        if wait_until > now:
            return int((wait_until - now).total_seconds()) + 1
    return 0


def _nearest_lock(throttles: list[LoginThrottle], settings: Settings) -> LoginThrottle | None:
    """The counter with the fewest failures left before it locks (None when none locks)."""
    locking = [row for row in throttles if _limits(row, settings)[1] is not None]
    return min(
        locking, key=lambda row: (_limits(row, settings)[1] or 0) - row.failures, default=None
    )


def wrong_password(throttles: list[LoginThrottle], settings: Settings) -> Unauthorized:
    """The answer to a failed login. Once the counter nearest its lock makes attempts wait
    (or has three tries left), it says how many tries are left before the lock, or that the
    lock has begun. The same for a user name that does not exist: the answer must not tell
    them apart."""
    row = _nearest_lock(throttles, settings)
    if row is None:
        return Unauthorized("用户名或密码错误", "Wrong user name or password")
    slow_after, lock_after = _limits(row, settings)
    left = max(0, (lock_after or 0) - row.failures)
    if row.failures < slow_after and left > 3:
        return Unauthorized("用户名或密码错误", "Wrong user name or password")
    if left == 0:
        return Unauthorized(
            "用户名或密码错误，尝试次数已用完，请 {m} 分钟后再试",
            "Wrong user name or password; no tries are left: try again in {m} minutes",
            m=settings.login_lock_minutes,
        )
    return Unauthorized(
        "用户名或密码错误，还可尝试 {n} 次",
        "Wrong user name or password; {n} {tries} left",
        n=left,
        tries="try" if left == 1 else "tries",
    )


def login(
    session: Session, settings: Settings, username: str, password: str, ip: str | None = None
) -> tuple[str, str, int]:
    """Check the password and open a session: (access token, refresh token, expires in s)."""
    username = username.strip().lower()
    now = clock.now()
    throttles = _throttles(session, username, ip)
    quiet = timedelta(minutes=settings.login_lock_minutes)
    for row in throttles:  # a count that has rested for the lock period starts again
        rested = row.last_failure_at is not None and now - row.last_failure_at > quiet
        if rested and (row.locked_until is None or row.locked_until <= now):
            row.failures, row.locked_until, row.last_failure_at = 0, None, None
    wait = max(_retry_after(row, settings, now) for row in throttles)
    if wait:
        session.commit()
        raise TooMany(
            "登录失败次数过多，请 {s} 秒后再试",
            "Too many failed logins; try again in {s} seconds",
            retry_after=wait,
            s=wait,
        )
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else DUMMY_HASH, password)
    if not ok or user is None or not user.is_active:
        pair = next(row for row in throttles if row.key.startswith("pair:"))
        for row in throttles:
            if row.key.startswith("user:") and pair.failures >= settings.login_slow_after:
                continue  # one address adds only its first few failures to the account's
            row.failures += 1
            row.last_failure_at = now
            lock_after = _limits(row, settings)[1]
            if lock_after is not None and row.failures >= lock_after:
                row.locked_until = now + timedelta(minutes=settings.login_lock_minutes)
        audit.record(
            session,
            "login_failed",
            "user_account",
            user.id if user else None,
            actor_name=username,
            detail={"failures": max(row.failures for row in throttles)},
        )
        session.commit()
        raise wrong_password(throttles, settings)
    for row in throttles:
        if not row.key.startswith("addr:"):  # the address keeps its count of other accounts
            row.failures, row.locked_until, row.last_failure_at = 0, None, None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    family = new_token()
    access, refresh = new_token(), f"{family}.{new_token()}"
    expires = timedelta(minutes=settings.access_token_minutes)
    session.add(
        AuthSession(
            user_id=user.id,
            access_hash=token_digest(access),
            access_expires_at=now + expires,
            refresh_hash=token_digest(refresh),
            family_hash=token_digest(family),
            refresh_expires_at=now + timedelta(days=settings.refresh_token_days),
            created_at=now,
            ip=ip,
        )
    )
    audit.record(
        session,
        "login",
        "user_account",
        user.id,
        actor_name=user.username,
        region_path=user.region_path,
    )
    session.commit()
    return access, refresh, int(expires.total_seconds())


def refresh(session: Session, settings: Settings, refresh_token: str) -> tuple[str, str, int]:
    """Rotate both tokens of a live session. A refresh token is `family.secret`, the
    family fixed for the session: a token of a live family that is not its current one
    was rotated already, so someone holds a copy, and the whole session ends."""
    now = clock.now()
    row = session.scalar(
        select(AuthSession)
        .where(AuthSession.refresh_hash == token_digest(refresh_token))
        .with_for_update()
    )
    if row is None:
        family = refresh_token.partition(".")[0]
        reused = session.scalar(
            select(AuthSession)
            .where(AuthSession.family_hash == token_digest(family))
            .with_for_update()
        )
        if reused is not None and reused.revoked_at is None:
            reused.revoked_at = now
            audit.record(
                session,
                "refresh_token_reused",
                "user_account",
                reused.user_id,
                detail={"session": reused.id},
            )
            session.commit()
    if row is None or row.revoked_at is not None or row.refresh_expires_at <= now:
        raise Unauthorized("登录已失效，请重新登录", "Session expired; please log in again")
    family = refresh_token.partition(".")[0]
    access, new_refresh = new_token(), f"{family}.{new_token()}"
    expires = timedelta(minutes=settings.access_token_minutes)
    row.access_hash, row.access_expires_at = token_digest(access), now + expires
    row.refresh_hash = token_digest(new_refresh)
    row.refresh_expires_at = now + timedelta(days=settings.refresh_token_days)
    session.commit()
    return access, new_refresh, int(expires.total_seconds())


def logout(session: Session, principal: Principal) -> None:
    row = session.get(AuthSession, principal.session_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = clock.now()
        audit.record(session, "logout", "user_account", principal.user_id)
    session.commit()


class PrincipalCache:
    """Callers by token, so that a request does not read its caller from the database each
    time: an entry is read again after `ttl` seconds, and every entry is dropped when this
    process commits a change to sessions, users or roles. A logout or a deactivation
    therefore holds at once here and within `ttl` seconds in the other server processes."""

    def __init__(self, ttl: float = 1.0, size: int = 10_000) -> None:
        self.ttl, self.size = ttl, size
        self._entries: dict[str, tuple[Principal, datetime, float]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> Principal | None:
        found = self._entries.get(digest)
        if found is None:
            return None
        principal, expires_at, read_at = found
        if time.monotonic() - read_at >= self.ttl or expires_at <= clock.now():
            return None
        return principal

    def put(self, digest: str, principal: Principal, expires_at: datetime) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries = {k: v for k, v in self._entries.items() if now - v[2] < self.ttl}
            self._entries[digest] = (principal, expires_at, now)

    def clear(self) -> None:
        with self._lock:
            self._entries = {}


PRINCIPALS = PrincipalCache()


@event.listens_for(Session, "after_flush")
def _note_account_changes(session: Session, _ctx: UOWTransaction) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(o, AuthSession | User | UserRole) for o in changed):
        session.info["accounts_changed"] = True


@event.listens_for(Session, "after_commit")
def _forget_callers(session: Session) -> None:
    if session.info.pop("accounts_changed", False):
        PRINCIPALS.clear()


def principal_for_token(session: Session, token: str) -> Principal:
    digest = token_digest(token)
    now = clock.now()
    row = (
        session.execute(
            select(AuthSession, User)
            .join(User, User.id == AuthSession.user_id)
            .where(AuthSession.access_hash == digest)
            .options(joinedload(User.roles))  # one query for the caller and their roles
        )
        .unique()
        .first()
    )
    if row is None:
        raise Unauthorized("请先登录", "Please log in")
    auth, user = row
    if auth.revoked_at is not None or auth.access_expires_at <= now or not user.is_active:
        raise Unauthorized("登录已失效，请重新登录", "Session expired; please log in again")
    principal = principal_of(user, session_id=auth.id)
    PRINCIPALS.put(digest, principal, auth.access_expires_at)
    return principal


def unlock(session: Session, username: str) -> None:
    """Clear an account's failed-login counts and lockout, from every address."""
    name = username.strip().lower()
    session.execute(
        delete(LoginThrottle).where(
            or_(LoginThrottle.key == f"user:{name}", LoginThrottle.key.startswith(f"pair:{name}@"))
        )
    )
