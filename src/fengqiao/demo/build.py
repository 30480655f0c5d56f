"""The demo county: 洞头区-like island geography, units, grid teams and one login per role."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.calendar.service import build_calendar, seed_from_package
from fengqiao.classify.model import META_FILE, TrainingDataError
from fengqiao.core import audit, clock
from fengqiao.core.permissions import Role
from fengqiao.core.revision import bump_revision
from fengqiao.core.security import hash_password
from fengqiao.demo.cases import build_cases, refer_matters
from fengqiao.demo.geography import build_geography
from fengqiao.demo.history import build_history
from fengqiao.demo.mediation import build_mediation
from fengqiao.geo import service as geo
from fengqiao.geo.models import Grid, Region
from fengqiao.matters.admin import seed_defaults
from fengqiao.matters.training import training_set
from fengqiao.people import service as people
from fengqiao.people.models import Unit, User

COUNTY = "330305"
DEMO_PASSWORD = "Fengqiao@2026"
# The text model learns from the newest this many closed matters of the history: enough for
# every category, and trained in seconds (all of the year's would take a minute or two).
DEMO_TRAINING = 2_000

# (code suffix, name, kind, categories): the county's usual departments.
COUNTY_UNITS = [
    ("ZZZX", "洞头区社会治理中心", "centre", []),
    ("GAFJ", "温州市公安局洞头区分局", "department", ["security"]),
    ("ZHZF", "洞头区综合行政执法局", "department", ["urban_management"]),
    ("ZJJ", "洞头区住房和城乡建设局", "department", ["urban_construction"]),
    ("STHJ", "温州市生态环境局洞头分局", "department", ["environment"]),
    ("JTJ", "洞头区交通运输局", "department", ["transport"]),
    ("RSJ", "洞头区人力资源和社会保障局", "department", ["labour_social"]),
    ("JYJ", "洞头区教育局", "department", ["education_culture"]),
    ("WGLT", "洞头区文化和广电旅游体育局", "department", ["commerce_tourism"]),
    ("SCJG", "洞头区市场监督管理局", "department", ["commerce_tourism", "food_safety"]),
    ("WJJ", "洞头区卫生健康局", "department", ["health"]),
    ("YJJ", "洞头区应急管理局", "department", ["safety_production", "fire_safety"]),
    ("NYJ", "洞头区农业农村局（海洋与渔业）", "department", ["maritime_fishery"]),
    ("MZJ", "洞头区民政局", "department", ["livelihood"]),
    ("SFJ", "洞头区司法局", "department", ["dispute"]),
    ("XFJ", "洞头区信访局", "department", ["petition"]),
]
# Each township's command room and "four platforms" (四个平台).
TOWNSHIP_UNITS = [
    ("ZHS", "综合信息指挥室", "centre", []),
    ("ZZGZ", "综治工作平台", "platform", ["dispute", "security"]),
    ("JGZF", "监管执法平台", "platform", ["urban_management", "food_safety"]),
    ("YJGL", "应急管理平台", "platform", ["safety_production", "fire_safety"]),
    ("GGFW", "公共服务平台", "platform", ["livelihood", "health", "labour_social"]),
]


@dataclass(frozen=True)
class DemoLogin:
    role: Role
    username: str
    display_name: str
    jurisdiction: str


def demo_exists(session: Session) -> bool:
    return session.scalar(select(Region.id).where(Region.code == COUNTY)) is not None


def build(
    session: Session,
    matters: int = 15_000,
    *,
    cases: int = 160,
    model_dir: Path | None = None,
) -> list[DemoLogin]:
    """Create the demo county once, with a year of `matters` and of mediation `cases` up
    to now and, when `model_dir` is given, the text model trained on that history
    (`train_model`); later calls only return the logins."""
    if not demo_exists(session):
        _build(session)
        seed_from_package(session)  # the history's deadlines need the calendar and policies
        seed_defaults(session)
        if cases:
            build_cases(session, build_calendar(session), end=clock.now(), count=cases)
        if matters:
            build_history(session, end=clock.now(), count=matters)
            if cases:
                refer_matters(session, build_calendar(session), end=clock.now())
            if model_dir is not None:
                train_model(session, model_dir)
    return demo_logins(session)


def train_model(session: Session, folder: Path) -> bool:
    """Train the text model on the demo's closed matters, as `fengqiao classify train
    --from-db` does, and save it in `folder` (where the server loads it from), so that a
    newcomer's first report is categorised and, when the model is sure, routed by itself.
    A model already in `folder` is kept; a history too small to learn from leaves none.
    Whether a model was trained."""
    if (folder / META_FILE).is_file():
        return False
    from fengqiao.classify import service as classify  # scikit-learn: only when used

    try:
        data = training_set(session, limit=DEMO_TRAINING)
    except TrainingDataError:
        return False
    model = classify.train(data.pairs, data.labels, extra_words=data.words)
    model.save(folder)
    return True


def _build(session: Session) -> None:
    session.info["actor_name"] = "demo"
    # One summary entry instead of thousands of row entries.
    session.info["audit"] = False
    world = build_geography()
    for spec in sorted(world.regions, key=lambda r: (r.level, r.code)):
        geo.upsert_region(
            session,
            code=spec.code,
            name=spec.name,
            parent_code=spec.parent_code,
            geometry=spec.geometry,
        )
    regions = {r.code: r for r in session.scalars(select(Region))}
    for g in world.grids:
        geo.upsert_grid(
            session,
            code=g.code,
            name=g.name,
            kind=g.kind,
            region=regions[g.parent_code],
            geometry=g.geometry,
        )
    bump_revision(session, geo.GRIDS_REVISION)

    county = regions[COUNTY]
    units: dict[str, Unit] = {}
    for suffix, name, kind, cats in COUNTY_UNITS:
        units[suffix] = Unit(
            code=f"{COUNTY}-{suffix}",
            name=name,
            kind=kind,
            region_id=county.id,
            region_path=county.path,
            categories=cats,
        )
    townships = sorted((r for r in regions.values() if r.level == 3), key=lambda r: r.code)
    for town in townships:
        for suffix, name, kind, cats in TOWNSHIP_UNITS:
            units[f"{town.code}-{suffix}"] = Unit(
                code=f"{town.code}-{suffix}",
                name=f"{town.name}{name}",
                kind=kind,
                region_id=town.id,
                region_path=town.path,
                categories=cats,
            )
    session.add_all(units.values())
    session.flush()

    # Argon2 is slow on purpose; the demo's many accounts share one hash of one password.
    shared_hash = hash_password(DEMO_PASSWORD)
    grids = {g.code: g for g in session.scalars(select(Grid))}
    town0 = townships[0]

    def user(
        username: str,
        name: str,
        roles: list[Role],
        *,
        path: str | None = None,
        unit: Unit | None = None,
        phone: str | None = None,
        id_number: str | None = None,
    ) -> User:
        return people.create_user(
            session,
            username=username,
            display_name=name,
            password="",
            roles=roles,
            region_path=path,
            unit=unit,
            phone=phone,
            id_number=id_number,
            password_hash=shared_hash,
        )

    user("admin", "系统管理员", [Role.admin], path=county.path, phone="13905770001")
    user("leader", "区委政法委领导", [Role.leader], path=county.path, phone="13905770002")
    user(
        "dispatcher",
        "区社会治理中心派遣员",
        [Role.dispatcher],
        unit=units["ZZZX"],
        phone="13905770003",
    )
    user(
        "town_dispatcher",
        f"{town0.name}指挥室派遣员",
        [Role.dispatcher],
        unit=units[f"{town0.code}-ZHS"],
        phone="13905770004",
    )
    user(
        "handler",
        "综合行政执法局处置员",
        [Role.unit_handler],
        unit=units["ZHZF"],
        phone="13905770005",
    )
    user(
        "town_handler",
        f"{town0.name}综治工作平台处置员",
        [Role.unit_handler],
        unit=units[f"{town0.code}-ZZGZ"],
        phone="13905770006",
    )
    mediator = user("mediator", "海霞调解员", [Role.mediator], path=town0.path, phone="13905770007")
    user(
        "maritime",
        "海洋与渔业执法员",
        [Role.maritime_officer],
        unit=units["NYJ"],
        phone="13905770008",
    )
    first_base = min(c for c, g in grids.items() if g.kind == "base")
    user(
        "resident",
        "群众张先生",
        [Role.resident],
        path=grids[first_base].path,
        phone="13905770009",
        id_number="330305199001011234",
    )
    user(
        "volunteer",
        "网格志愿者",
        [Role.volunteer],
        path=grids[first_base].path,
        phone="13905770010",
    )

    counters: dict[str, int] = {}
    for staff in world.staff:
        counters[staff.team_role] = counters.get(staff.team_role, 0) + 1
        role = Role(staff.team_role)
        grid = grids[staff.grid_code]
        member = user(
            f"{staff.team_role.replace('grid_', '')}_{counters[staff.team_role]:03d}",
            staff.name,
            [role],
            path=grid.path,
            phone=staff.phone,
        )
        people.add_grid_member(session, grid, member, staff.team_role)
    villages = sorted((r for r in regions.values() if r.level == 2), key=lambda r: r.code)
    committees, mediators = build_mediation(session, county, townships, villages, mediator)
    session.info["audit"] = True
    audit.record(
        session,
        "demo_build",
        "region",
        COUNTY,
        region_path=county.path,
        detail={
            "regions": len(world.regions),
            "grids": len(world.grids),
            "units": len(units),
            "grid_staff": len(world.staff),
            "mediation_committees": committees,
            "mediators": mediators,
        },
    )
    session.commit()


LOGIN_ROLES = [
    (Role.admin, "admin"),
    (Role.leader, "leader"),
    (Role.dispatcher, "dispatcher"),
    (Role.unit_handler, "handler"),
    (Role.mediator, "mediator"),
    (Role.maritime_officer, "maritime"),
    (Role.resident, "resident"),
    (Role.volunteer, "volunteer"),
    (Role.grid_head, "head_001"),
    (Role.grid_instructor, "instructor_001"),
    (Role.grid_worker_fulltime, "worker_fulltime_001"),
    (Role.grid_worker_parttime, "worker_parttime_001"),
]


def demo_logins(session: Session) -> list[DemoLogin]:
    logins = []
    for role, username in LOGIN_ROLES:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            continue
        logins.append(
            DemoLogin(
                role,
                username,
                user.display_name,
                people.jurisdiction_name(session, user.region_path) or "",
            )
        )
    return logins
