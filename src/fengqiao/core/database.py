"""Engine, sessions and the declarative base shared by every domain."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any, ClassVar, TypeVar

import orjson
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Row,
    Select,
    String,
    Table,
    Text,
    bindparam,
    cast,
    column,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every engine (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def PathString(length: int = 255) -> String:
    """A region path column. Byte-order collation on PostgreSQL, so that a subtree is
    one range `path >= p AND path < p'` on the index (SQLite's default is binary)."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


def _now() -> datetime:
    from fengqiao.core import clock  # the frozen test clock applies to stamps too

    return clock.now()


class JournalMixin:
    """The columns of a timeline entry: who, when, which action, from which state to which,
    why, and what the action kept. A record that moves through a workflow has a table of
    these beside it."""

    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=_now, onupdate=_now, nullable=False
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, pool_size: int = 10, **kwargs: Any) -> Engine:
    """`pool_size`: connections kept open on a server database (SQLite opens its own)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    # The driver's JSON parameters (every JSON column, the writers' row arrays) by orjson:
    # several times faster than json, and it writes timestamps itself.
    kwargs.setdefault("json_serializer", _json_dumps)
    return create_engine(url, pool_size=pool_size, **kwargs)


def _json_dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


T = TypeVar("T")

# SQLite's primary result codes for a database that cannot be used just now: busy, locked,
# I/O error, disk full, cannot open, lock protocol. (Its generic error is a wrong statement.)
_SQLITE_UNAVAILABLE = {5, 6, 10, 13, 14, 15}


def unavailable(exc: BaseException) -> bool:
    """Whether a database error means the database cannot be reached or used just now (its
    connection lost, refused, the server starting or shutting down, no connection free in
    the pool, SQLite's file locked) rather than a wrong statement: the caller should try
    again in a moment."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if isinstance(exc.orig, sqlite3.Error):  # sqlite3 names bad SQL an OperationalError too
        return (getattr(exc.orig, "sqlite_errorcode", 0) & 0xFF) in _SQLITE_UNAVAILABLE
    return isinstance(exc, OperationalError | InterfaceError)


def read_retrying(session: Session, read: Callable[[], T]) -> T:
    """Run a step that only reads, then give its connection back (commit). A step that
    fails is rolled back, never committed (a commit would hide its error under a second
    one); one whose connection was lost under it runs once more, on a new connection (the
    pool's pre-ping replaces only connections that died while they lay in the pool)."""
    for last in (False, True):
        try:
            value = read()
            session.commit()
            return value
        except DBAPIError as exc:
            session.rollback()
            if last or not exc.connection_invalidated:
                raise
        except BaseException:
            session.rollback()
            raise
    raise AssertionError("not reached")


def _recordset(table: Table, columns: tuple[str, ...], param: str) -> Any:
    """PostgreSQL: the rows of one JSON array parameter as a table of these columns."""
    # Strings as text: a collation (region paths) has no place in a record's definition.
    types = [(c, table.c[c].type) for c in columns]
    return (
        func.jsonb_to_recordset(bindparam(param, type_=postgresql.JSONB))
        .table_valued(*(column(c, Text() if isinstance(t, String) else t) for c, t in types))
        .render_derived(name=f"{param}_r", with_types=True)
    )


def _insert_from(
    table: Table,
    columns: tuple[str, ...],
    param: str,
    skip_conflicts_on: str | None,
    only: tuple[str, Select[Any]] | None = None,
) -> postgresql.Insert:
    """INSERT … SELECT FROM jsonb_to_recordset(:param): one text whatever the number of
    rows, so that the server prepares it once per connection and the driver does not parse
    a new statement for every batch. `only` (column, keys): the records whose column is
    one of the keys."""
    records = _recordset(table, columns, param)
    rows = select(*records.c)
    if only is not None:
        rows = rows.where(records.c[only[0]].in_(only[1]))
    statement = postgresql.insert(table).from_select(list(columns), rows)
    if skip_conflicts_on is not None:
        statement = statement.on_conflict_do_nothing(index_elements=[skip_conflicts_on])
    return statement


Linked = tuple[Table, Sequence[dict[str, Any]], str]  # table, rows, the column naming the key


@cache
def _linked_insert(
    table: Table,
    columns: tuple[str, ...],
    key: str,
    skip_conflicts_on: str,
    linked: tuple[tuple[Table, tuple[str, ...], str], ...],
) -> Select[Any]:
    """PostgreSQL: one statement inserting the rows of `table` and of the linked tables,
    each linked row only when the row it names was inserted (data-modifying CTEs)."""
    made = _insert_from(table, columns, "rows", skip_conflicts_on).returning(table.c[key])
    made_keys = made.cte("made")
    ctes = []
    for n, (other, other_columns, link) in enumerate(linked):
        keys = made_keys.c[key]
        named = select(cast(keys, Text()) if isinstance(other.c[link].type, String) else keys)
        statement = _insert_from(other, other_columns, f"linked_{n}", None, (link, named))
        ctes.append(statement.cte(f"l{n}"))
    return select(made_keys.c[key]).add_cte(*ctes)


def insert_many(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    skip_conflicts_on: str | None = None,
    returning: Sequence[Column[Any]] = (),
) -> Sequence[Row[Any]]:
    """Insert rows (dicts with the same keys) in one call; a row whose value of the unique
    column `skip_conflicts_on` is taken is skipped. The `returning` columns of the rows
    inserted."""
    if not rows:
        return []
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    if skip_conflicts_on is not None:
        statement = statement.on_conflict_do_nothing(index_elements=[skip_conflicts_on])
    if returning:
        return connection.execute(statement.returning(*returning), list(rows)).all()
    connection.execute(statement, list(rows))
    return []


def insert_linked(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    key: str,
    skip_conflicts_on: str,
    linked: Sequence[Linked],
) -> set[Any]:
    """PostgreSQL: insert rows of `table` (their `key` given) and the rows of other tables
    that name them (by the key, or its text) in one statement; a row whose value of
    `skip_conflicts_on` is taken is skipped with the rows that name it. The keys inserted."""
    if not rows:
        return set()
    present = [(other, other_rows, link) for other, other_rows, link in linked if other_rows]
    statement = _linked_insert(
        table,
        tuple(rows[0]),
        key,
        skip_conflicts_on,
        tuple((other, tuple(other_rows[0]), link) for other, other_rows, link in present),
    )
    params = {"rows": rows} | {
        f"linked_{n}": other_rows for n, (_, other_rows, _) in enumerate(present)
    }
    return set(connection.scalars(statement, params))
