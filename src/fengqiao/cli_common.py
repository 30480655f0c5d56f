"""What the commands of `fengqiao` share: the console, the settings checked, the
database migrated and seeded."""

from __future__ import annotations

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fengqiao.core.config import Settings, get_settings
from fengqiao.core.database import make_engine, make_sessionmaker
from fengqiao.core.errors import AppError

console = Console()


def engine_for(settings: Settings) -> Engine:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.effective_database_url)


def prepare(settings: Settings) -> Engine:
    """Migrate to the newest schema and make sure the calendar has its years."""
    from fengqiao.calendar.service import seed_from_package
    from fengqiao.core.migrate import upgrade
    from fengqiao.matters.admin import seed_defaults

    engine = engine_for(settings)
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        seed_from_package(session)
        seed_defaults(session)
    return engine


def checked_settings() -> Settings:
    """The settings, or, when the server or a worker cannot run with them, what is wrong
    on stderr and exit status 2 (nothing started)."""
    from pydantic import ValidationError

    from fengqiao.core.config import SettingsError, check_settings

    try:
        settings = get_settings()
        check_settings(settings)
        return settings
    except ValidationError as exc:
        problems = [
            f"FENGQIAO_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        ]
    except SettingsError as exc:
        problems = str(exc).splitlines()
    typer.echo("配置有误，未启动 / The settings are wrong; nothing was started:", err=True)
    for problem in problems:
        typer.echo(f"  - {problem}", err=True)
    raise typer.Exit(2)


def fail(exc: AppError) -> None:
    console.print(f"[red]错误 error:[/red] {exc.message('zh')} / {exc.message('en')}")
    raise typer.Exit(2)


def open_session(settings: Settings) -> Session:
    return make_sessionmaker(prepare(settings))()
