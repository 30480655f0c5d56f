"""The `fengqiao` command line."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import select

from fengqiao.cli_classify import classify_app
from fengqiao.cli_common import checked_settings, console, engine_for, fail, open_session, prepare
from fengqiao.core.config import get_settings
from fengqiao.core.database import make_engine, make_sessionmaker
from fengqiao.core.errors import AppError
from fengqiao.core.permissions import Role

app = typer.Typer(help="Fengqiao 枫桥 — grassroots social governance", no_args_is_help=True)
db_app = typer.Typer(help="Database schema", no_args_is_help=True)
regions_app = typer.Typer(help="Administrative regions 行政区划", no_args_is_help=True)
grids_app = typer.Typer(help="Grids 网格", no_args_is_help=True)
users_app = typer.Typer(help="Users 用户", no_args_is_help=True)
calendar_app = typer.Typer(help="Working-day calendar 工作日历", no_args_is_help=True)
notify_app = typer.Typer(help="Notifications 通知投递", no_args_is_help=True)
for sub, name in (
    (db_app, "db"),
    (regions_app, "regions"),
    (grids_app, "grids"),
    (users_app, "users"),
    (calendar_app, "calendar"),
    (classify_app, "classify"),
    (notify_app, "notify"),
):
    app.add_typer(sub, name=name)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Build or migrate the schema to the newest revision."""
    settings = get_settings()
    prepare(settings)
    console.print(f"schema up to date: {make_engine(settings.effective_database_url).url!r}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    workers: Annotated[int, typer.Option(help="server processes")] = 1,
) -> None:
    """Migrate, then serve the API and the web console."""
    import uvicorn

    settings = checked_settings()
    prepare(settings)
    uvicorn.run(
        "fengqiao.asgi:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level="info",
        access_log=settings.access_log,
    )


@app.command()
def worker(
    interval: Annotated[float | None, typer.Option(help="seconds between sweeps")] = None,
    status: Annotated[
        bool,
        typer.Option(
            "--status",
            help="show the job queues, the messages waiting and failed, the last sweep and "
            "each worker's last heartbeat, then exit (status 1: Redis away or no worker alive)",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="with --status: one JSON object")] = False,
) -> None:
    """Run deadline sweeps and notification delivery as jobs on the Redis queue
    (FENGQIAO_REDIS_URL). Start as many as needed; set FENGQIAO_BACKGROUND=off on servers."""
    import logging
    import signal
    import threading
    from datetime import timedelta

    from fengqiao.api import SWEEPS
    from fengqiao.calendar.service import calendar_cache
    from fengqiao.cli_status import print_status
    from fengqiao.core.jobs import JobQueue, where
    from fengqiao.matters.flows import channels_from, run_worker, worker_status

    settings = checked_settings()
    queue = JobQueue(settings.redis_url, stream=settings.jobs_stream)
    if status:
        print_status(worker_status(make_sessionmaker(engine_for(settings)), queue), as_json)
        return
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    channels = channels_from(settings)
    engine = prepare(settings)
    every = interval or settings.background_interval
    logging.getLogger("fengqiao.worker").info(
        "worker %s: jobs on Redis %s (%s), notifications by %s, sweeps every %g s",
        queue.consumer,
        where(settings.redis_url),
        settings.jobs_stream,
        settings.notify_channel,
        every,
    )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())  # finish the jobs taken, then end
    run_worker(
        make_sessionmaker(engine),
        calendar_cache(),
        channels,
        queue,
        every,
        stop=stop,
        give_up_after=timedelta(hours=settings.notify_give_up_hours),
        sweeps=SWEEPS,
    )


@app.command()
def demo(
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve")] = True,
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    matters: Annotated[int, typer.Option(help="matters of history to generate")] = 15_000,
    cases: Annotated[int, typer.Option(help="mediation cases of history to generate")] = 160,
) -> None:
    """Build the demo county (once), print one login per role, then serve it."""
    from fengqiao.demo.build import DEMO_PASSWORD, build

    settings = get_settings()
    engine = prepare(settings)
    with (
        console.status("building the demo county 正在生成示范区数据…"),
        make_sessionmaker(engine)() as session,
    ):
        logins = build(
            session,
            matters,
            cases=cases,
            model_dir=settings.classifier_dir or settings.data_dir / "classifier",
        )
    table = Table(title=f"演示账号 Demo logins — 密码 password: {DEMO_PASSWORD}")
    table.add_column("用户名 username", no_wrap=True, style="bold")
    table.add_column("角色 role", overflow="fold")
    table.add_column("姓名 name", overflow="fold")
    table.add_column("辖区 jurisdiction", overflow="fold")
    for login in logins:
        table.add_row(
            login.username,
            f"{login.role.zh} {login.role.value}",
            login.display_name,
            login.jurisdiction,
        )
    console.print(table)
    url = f"http://{host or settings.host}:{port or settings.port}"
    console.print(f"Fengqiao is at {url}  (API docs: {url}/api/docs)")
    if serve_after:
        serve(host=host, port=port)


def _load_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        console.print("[red]文件不是 UTF-8 编码 / file is not UTF-8[/red]")
    except json.JSONDecodeError as exc:
        console.print(f"[red]不是合法的 JSON / not valid JSON:[/red] {exc}")
    except OSError as exc:
        console.print(f"[red]无法读取文件 / cannot read file:[/red] {exc}")
    raise typer.Exit(2)


def _report(result: object) -> None:
    from fengqiao.geo.service import ImportResult

    assert isinstance(result, ImportResult)
    for idx, code, _kind, zh, en in result.errors or []:
        where = f"feature {idx}" if idx is not None else ""
        console.print(f"[red]✗[/red] {where} {code or ''}: {zh} / {en}")
    for problem in result.warnings or []:
        console.print(f"[yellow]![/yellow] {problem.kind}: {problem.zh} / {problem.en}")
    if result.rejected:
        console.print("[red]导入被拒绝，未写入任何数据 / import rejected, nothing written[/red]")
        raise typer.Exit(1)
    console.print(f"[green]created {result.created}, updated {result.updated}[/green]")


def _import(path: Path, strict: bool, kind: str) -> None:
    from fengqiao.geo import service as geo

    settings = get_settings()
    collection = _load_json(path)
    count = len(collection.get("features") or []) if isinstance(collection, dict) else 0
    engine = prepare(settings)
    with make_sessionmaker(engine)() as session, Progress(console=console) as progress:
        session.info["actor_name"] = f"cli:{kind}-import"
        task = progress.add_task(f"checking {path.name}", total=count)

        def advance(n: int) -> None:
            progress.advance(task, n)

        try:
            if kind == "regions":
                result = geo.import_regions(session, collection, progress=advance, strict=strict)
            else:
                result = geo.import_grids(
                    session,
                    collection,
                    progress=advance,
                    strict=strict,
                    code_digits=settings.grid_code_digits,
                )
        except AppError as exc:
            fail(exc)
    _report(result)


@regions_app.command("import")
def regions_import(
    path: Path,
    strict: Annotated[
        bool, typer.Option(help="also reject on overlaps and children outside their parent")
    ] = False,
) -> None:
    """Import regions from a GeoJSON FeatureCollection (properties: code, name, parent_code)."""
    _import(path, strict, "regions")


@grids_app.command("import")
def grids_import(
    path: Path,
    strict: Annotated[
        bool, typer.Option(help="also reject on overlaps and grids outside their region")
    ] = False,
) -> None:
    """Import grids from a GeoJSON FeatureCollection (properties: code, name, kind,
    region_code)."""
    _import(path, strict, "grids")


@users_app.command("create")
def users_create(
    username: str,
    name: Annotated[str, typer.Option("--name", help="display name 姓名")],
    role: Annotated[list[Role], typer.Option("--role", help="repeat for several roles")],
    region: Annotated[str | None, typer.Option(help="region or grid code 辖区代码")] = None,
    unit: Annotated[str | None, typer.Option(help="unit code 单位编码")] = None,
    phone: Annotated[str | None, typer.Option()] = None,
    password: Annotated[str | None, typer.Option(help="asked for when omitted")] = None,
    everywhere: Annotated[bool, typer.Option(help="jurisdiction over all regions")] = False,
) -> None:
    """Create a user with roles and a jurisdiction."""
    from fengqiao.people import service as people
    from fengqiao.people.models import Unit

    password = password or getpass.getpass("password: ")
    with open_session(get_settings()) as session:
        session.info["actor_name"] = "cli:users-create"
        try:
            unit_row = None
            if unit:
                unit_row = session.scalar(select(Unit).where(Unit.code == unit))
                if unit_row is None:
                    raise AppError("单位 {u} 不存在", "Unknown unit {u}", u=unit)
            path = (
                "/"
                if everywhere
                else (people.jurisdiction_path(session, region) if region else None)
            )
            user = people.create_user(
                session,
                username=username,
                display_name=name,
                password=password,
                roles=role,
                region_path=path,
                unit=unit_row,
                phone=phone,
            )
            session.commit()
        except AppError as exc:
            fail(exc)
        console.print(f"created user {user.username} (id {user.id}) in {user.region_path}")


@users_app.command("set-password")
def users_set_password(
    username: str, password: Annotated[str | None, typer.Option()] = None
) -> None:
    """Set a user's password (held to the strength rule) and end their sessions."""
    from fengqiao.people import service as people
    from fengqiao.people.models import User

    password = password or getpass.getpass("new password: ")
    with open_session(get_settings()) as session:
        session.info["actor_name"] = "cli:set-password"
        user = session.scalar(select(User).where(User.username == username.lower()))
        if user is None:
            console.print(f"[red]用户 {username} 不存在 / no such user[/red]")
            raise typer.Exit(2)
        try:
            people.set_password(session, user, password)
        except AppError as exc:
            fail(exc)
        session.commit()
    console.print("password set; existing sessions ended")


@users_app.command("unlock")
def users_unlock(username: str) -> None:
    """Clear failed-login counts and a lockout."""
    from fengqiao.people import sessions

    with open_session(get_settings()) as session:
        sessions.unlock(session, username)
        session.commit()
    console.print(f"{username} unlocked")


@calendar_app.command("seed")
def calendar_seed() -> None:
    """Load holidays from the chinese-calendar package for the years it covers."""
    from fengqiao.calendar.service import seed_from_package

    with open_session(get_settings()) as session:
        added = seed_from_package(session, range(2004, 2101))
    console.print(f"years added: {added or 'none'}")


@calendar_app.command("status")
def calendar_status() -> None:
    """Which years have holiday data; warns about the ones in use that lack it."""
    from fengqiao.calendar.models import CalendarDay, CalendarYear
    from fengqiao.core import clock

    with open_session(get_settings()) as session:
        years = dict(session.execute(select(CalendarYear.year, CalendarYear.source)).all())
        days = session.scalars(select(CalendarDay.day)).all()
    this_year = clock.now().year
    table = Table("year 年份", "source 来源", "special days 特殊日")
    for year in sorted(set(years) | {this_year, this_year + 1}):
        count = sum(1 for d in days if d.year == year)
        table.add_row(str(year), years.get(year, "[red]missing 未录入[/red]"), str(count))
    console.print(table)


# ---------------------------------------------------------------- notify


@notify_app.command("failed")
def notify_failed(
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """The notifications given up (failed after the time limit), newest first."""
    from fengqiao.notify import service as notify

    with open_session(get_settings()) as session:
        page = notify.read_messages(session, None, status="failed", limit=limit)
    if as_json:
        print(page.model_dump_json())
        return
    table = Table(
        "id",
        "failed at 放弃于",
        "topic",
        "recipient 接收方",
        "matter 事件",
        "attempts",
        "last error",
    )
    for m in page.items:
        table.add_row(
            str(m.id),
            f"{m.failed_at:%Y-%m-%d %H:%M}" if m.failed_at else "",
            m.topic,
            m.recipient,
            m.matter_number or "—",
            str(m.attempts),
            m.last_error or "",
        )
    console.print(table)
    console.print(
        f"{page.total} failed 条投递失败; send again 重发: fengqiao notify resend ID… | --all"
    )


@notify_app.command("resend")
def notify_resend(
    ids: Annotated[list[int] | None, typer.Argument(help="ids of failed notifications")] = None,
    all_failed: Annotated[bool, typer.Option("--all", help="every failed notification")] = False,
) -> None:
    """Send failed notifications again: each is due at once, with a new time limit."""
    from fengqiao.notify import service as notify

    if bool(ids) == all_failed:
        console.print(
            "[red]给出通知编号或 --all（二者选一） / give ids or --all (one of them)[/red]"
        )
        raise typer.Exit(2)
    with open_session(get_settings()) as session:
        session.info["actor_name"] = "cli:notify-resend"
        try:
            resent = notify.resend(session, None, None if all_failed else ids)
        except AppError as exc:
            fail(exc)
    console.print(f"{len(resent)} notifications due again 条通知将重新投递: {resent}")


if __name__ == "__main__":
    app()
