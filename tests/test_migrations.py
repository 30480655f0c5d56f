from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from fengqiao.core.migrate import alembic_config
from fengqiao.models import Base


def test_migrations_build_the_schema_from_empty(migrated_engine: Engine) -> None:
    # The session fixture ran `alembic upgrade head` on an empty database.
    tables = set(inspect(migrated_engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    script = ScriptDirectory.from_config(alembic_config(str(migrated_engine.url)))
    with migrated_engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == script.get_current_head()


def test_no_drift_between_models_and_migrations(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations differ; write a migration: {diff}"


def test_one_linear_history() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
