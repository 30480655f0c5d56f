from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from fengqiao.core.database import make_engine
from fengqiao.core.migrate import alembic_config, upgrade
from fengqiao.geo.cells import cell_of
from fengqiao.models import Base
from tests.conftest import new_database


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


def test_an_installation_upgraded_to_english_names_gets_them(tmp_path: Path) -> None:
    """Revision 0005 fills the English names of the default categories already stored, and
    leaves an installation's own categories without one."""
    with new_database(tmp_path) as url:
        engine = make_engine(url)
        try:
            upgrade(engine, "0004")
            with engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO event_category (code, name, is_active) VALUES "
                        "('urban_management', '市容环境', true), ('harbour', '港口管理', true)"
                    )
                )
            upgrade(engine)
            with engine.connect() as conn:
                names = dict(conn.execute(text("SELECT code, name_en FROM event_category")).all())
            assert names == {"urban_management": "Street environment", "harbour": None}
        finally:
            engine.dispose()


def test_an_installation_upgraded_to_cells_gets_the_cell_of_every_positioned_matter(
    tmp_path: Path,
) -> None:
    """Revision 0006 gives every matter with a position the cell of that position (in
    batches: more matters than one batch holds), and none to a matter without one."""
    with new_database(tmp_path) as url:
        engine = make_engine(url)
        try:
            upgrade(engine, "0005")
            with engine.begin() as conn:
                conn.execute(
                    text(
                        "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g "
                        "WHERE n < 5003) "
                        "INSERT INTO event (number, title, description, channel, urgency, "
                        "risk_colour, state, level, version, lon, lat, region_path, "
                        "reported_at, due_flagged, supervision, dispatch_count, return_count, "
                        "rework_count, reopen_count, self_resolved, created_at, updated_at) "
                        "SELECT 'T' || n, 't', '', 'web', 'normal', 'green', 'reported', 3, 1, "
                        "CASE WHEN n = 7 THEN NULL ELSE 121.0 + n * 0.00007 END, 27.83, "
                        "'330305/', '2026-11-30 00:00:00', false, 0, 0, 0, 0, 0, false, "
                        "'2026-11-30 00:00:00', '2026-11-30 00:00:00' FROM g"
                    )
                )
            upgrade(engine)
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT lon, lat, cell FROM event")).all()
            assert len(rows) == 5003
            assert all(
                cell == (None if lon is None else cell_of(lon, lat)) for lon, lat, cell in rows
            )
            assert len({cell for _, _, cell in rows}) > 30  # 0.35° from west to east
        finally:
            engine.dispose()
