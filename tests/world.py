"""A small county for tests: two townships, four communities, eight grids, one user per
role and jurisdiction the tests need."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image
from shapely.geometry import box
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.calendar.service import build_calendar, seed_from_package
from fengqiao.core.permissions import Role
from fengqiao.core.revision import bump_revision
from fengqiao.core.security import hash_password
from fengqiao.geo import service as geo
from fengqiao.geo.models import Grid, Region
from fengqiao.matters import intake
from fengqiao.matters import service as matters
from fengqiao.matters.admin import seed_defaults
from fengqiao.matters.models import RoutingRule
from fengqiao.mediation import cases
from fengqiao.mediation.models import Committee, Mediator
from fengqiao.mediation.schemas import CaseCreate, PartyIn
from fengqiao.people import service as people
from fengqiao.people.models import Unit, User

PASSWORD = "secret-pass-123"
_HASH = hash_password(PASSWORD)  # once per run: Argon2 is slow by design

COUNTY = "330305"
TOWN_A, TOWN_B = "330305001", "330305002"
COMM_A1, COMM_A2 = "330305001001", "330305001002"
COMM_B1, COMM_B2 = "330305002001", "330305002002"
GRID_A1_1, GRID_A1_2 = "33030500100101", "33030500100102"
GRID_B1_1 = "33030500200101"

# lon 120.0–120.4, lat 30.0–30.2: each community a 0.1° column, each grid half of one.
_COMMUNITIES = {COMM_A1: 120.0, COMM_A2: 120.1, COMM_B1: 120.2, COMM_B2: 120.3}


@dataclass
class World:
    units: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    matters: dict[str, int] = field(default_factory=dict)
    attachments: dict[str, int] = field(default_factory=dict)
    mediators: dict[str, int] = field(default_factory=dict)
    cases: dict[str, str] = field(default_factory=dict)  # key -> case number

    @staticmethod
    def login(client: TestClient, username: str) -> dict[str, str]:
        resp = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        assert resp.status_code == 200, resp.text
        return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def build_world(session: Session, files_dir: Path) -> World:
    session.info["actor_name"] = "test-world"
    world = World()
    geo.upsert_region(
        session,
        code=COUNTY,
        name="测试区",
        parent_code=None,
        geometry=box(120.0, 30.0, 120.4, 30.2),
    )
    geo.upsert_region(
        session,
        code=TOWN_A,
        name="甲街道",
        parent_code=COUNTY,
        geometry=box(120.0, 30.0, 120.2, 30.2),
    )
    geo.upsert_region(
        session,
        code=TOWN_B,
        name="乙镇",
        parent_code=COUNTY,
        geometry=box(120.2, 30.0, 120.4, 30.2),
    )
    for code, west in _COMMUNITIES.items():
        region, _ = geo.upsert_region(
            session,
            code=code,
            name=f"社区{code[-4:]}",
            parent_code=code[:9],
            geometry=box(west, 30.0, round(west + 0.1, 6), 30.2),
        )
        for seq, south in ((1, 30.0), (2, 30.1)):
            geo.upsert_grid(
                session,
                code=f"{code}{seq:02d}",
                name=f"网格{code[-4:]}-{seq}",
                kind="base",
                region=region,
                geometry=box(west, south, round(west + 0.1, 6), round(south + 0.1, 6)),
            )
    bump_revision(session, geo.GRIDS_REVISION)
    county = geo.get_region_unscoped(session, COUNTY)
    town_a = geo.get_region_unscoped(session, TOWN_A)
    town_b = geo.get_region_unscoped(session, TOWN_B)
    units = {
        "centre": Unit(
            code="C-CENTRE",
            name="区社会治理中心",
            kind="centre",
            region_id=county.id,
            region_path=county.path,
            categories=[],
        ),
        "bureau": Unit(
            code="C-ZHZF",
            name="区综合行政执法局",
            kind="department",
            region_id=county.id,
            region_path=county.path,
            categories=["urban_management"],
        ),
        "platform_a": Unit(
            code="A-ZZGZ",
            name="甲街道综治工作平台",
            kind="platform",
            region_id=town_a.id,
            region_path=town_a.path,
            categories=["dispute"],
        ),
        "platform_b": Unit(
            code="B-ZZGZ",
            name="乙镇综治工作平台",
            kind="platform",
            region_id=town_b.id,
            region_path=town_b.path,
            categories=["dispute"],
        ),
    }
    session.add_all(units.values())
    session.flush()
    world.units = {k: u.id for k, u in units.items()}

    grids = {
        g: session.scalars(select(Grid).where(Grid.code == g)).one() for g in (GRID_A1_1, GRID_B1_1)
    }

    def add(
        username: str,
        roles: list[Role],
        *,
        path: str | None = None,
        unit: str | None = None,
        phone: str | None = "13800001111",
        id_number: str | None = None,
    ) -> None:
        user = people.create_user(
            session,
            username=username,
            display_name=f"用户{username}",
            password="",
            roles=roles,
            region_path=path,
            unit=units[unit] if unit else None,
            phone=phone,
            id_number=id_number,
            password_hash=_HASH,
        )
        world.users[username] = user.id

    add("admin", [Role.admin], path=county.path)
    add("admin_a", [Role.admin], path=town_a.path)  # a township's administrator
    add("leader", [Role.leader], path=county.path)
    add("dispatcher", [Role.dispatcher], unit="centre")
    add("town_a", [Role.dispatcher], path=town_a.path)
    add("town_b", [Role.dispatcher], path=town_b.path)
    add("handler", [Role.unit_handler], unit="bureau")
    add(
        "worker_a",
        [Role.grid_worker_fulltime],
        path=grids[GRID_A1_1].path,
        id_number="330305199001011234",
    )
    add("worker_b", [Role.grid_worker_fulltime], path=grids[GRID_B1_1].path)
    add("head_a", [Role.grid_head], path=grids[GRID_A1_1].path)
    add("resident", [Role.resident], path=grids[GRID_A1_1].path)
    add("resident_b", [Role.resident], path=grids[GRID_B1_1].path, phone="13800003333")
    add("handler_a", [Role.unit_handler], unit="platform_a")
    add("comm_a1", [Role.dispatcher], path=geo.get_region_unscoped(session, COMM_A1).path)
    add("mediator_a", [Role.mediator], path=town_a.path)
    add("mediator_sea", [Role.mediator], path=county.path)
    for username, grid_code in (
        ("worker_a", GRID_A1_1),
        ("worker_b", GRID_B1_1),
        ("head_a", GRID_A1_1),
    ):
        user = session.get(User, world.users[username])
        assert user is not None
        team_role = "grid_head" if username == "head_a" else "grid_worker_fulltime"
        people.add_grid_member(session, grids[grid_code], user, team_role)
    _mediation(session, world, county, town_a, town_b)
    session.commit()
    seed_from_package(session)
    seed_defaults(session)
    for town, unit in ((town_a, "platform_a"), (town_b, "platform_b")):
        session.add(
            RoutingRule(
                category_code="dispute_family",
                region_path=town.path,
                unit_id=world.units[unit],
                level=3,
                is_active=True,
            )
        )
    for key, username, grid_code, title in (
        ("a", "worker_a", GRID_A1_1, "甲网格事件"),
        ("b", "worker_b", GRID_B1_1, "乙网格事件"),
    ):
        reporter = session.get(User, world.users[username])
        assert reporter is not None
        grid = grids[grid_code]
        matter, _ = intake.report(
            session,
            people.principal_of(reporter),
            intake.Report(title=title, category_code="urban_management"),
            grid=(grid.id, grid.path),
        )
        world.matters[key] = matter.id
        photo = matters.add_attachment(
            session,
            people.principal_of(reporter),
            matter.id,
            "report",
            png(8 + len(key), 8),
            files_dir,
            1 << 20,
        )
        world.attachments[key] = photo.id
    session.commit()
    _cases(session, world)
    return world


def _cases(session: Session, world: World) -> None:
    """One case in each township, each applied for by a resident of it."""
    cal = build_calendar(session)
    for key, username, region, committee in (
        ("a", "resident", COMM_A1, "A-TWH"),
        ("b", "resident_b", COMM_B1, "B-TWH"),
    ):
        user = session.get(User, world.users[username])
        assert user is not None
        case = cases.create_case(
            session,
            people.principal_of(user),
            cal,
            CaseCreate(
                title=f"{key}社区邻里漏水纠纷",
                summary="楼上卫生间漏水，多次协商未果",
                region_code=region,
                committee_code=committee,
                parties=[PartyIn(role="respondent", name=f"被申请人{key}", phone="13800002222")],
            ),
        )
        world.cases[key] = case.number


def png(width: int, height: int) -> bytes:
    """A real (tiny, grey) PNG file."""
    raw = b"".join(b"\x00" + bytes([128]) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def jpeg(width: int, height: int, **save: object) -> bytes:
    """A real JPEG photo, written by Pillow (with `exif=` for a phone's metadata)."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (90, 140, 200)).save(out, format="JPEG", **save)
    return out.getvalue()


def _mediation(session: Session, world: World, county: Region, a: Region, b: Region) -> None:
    """A county committee for fishery disputes, and each township's committee: township A's
    as the statute asks (three members, a woman among them), township B's short of both."""
    committees = {
        "C-YUSHI": Committee(
            code="C-YUSHI", name="测试区渔事纠纷人民调解委员会", kind="professional",
            region_id=county.id, region_path=county.path, specialties=["marine_fishery"],
            venue="渔港路 1 号",
        ),
        "A-TWH": Committee(
            code="A-TWH", name="甲街道人民调解委员会", kind="township", region_id=a.id,
            region_path=a.path, specialties=["neighbour", "marriage_family"],
        ),
        "B-TWH": Committee(
            code="B-TWH", name="乙镇人民调解委员会", kind="township", region_id=b.id,
            region_path=b.path, specialties=["neighbour"],
        ),
    }  # fmt: skip
    session.add_all(committees.values())
    session.flush()
    for key, committee, name, gender, position, specialties, user in (
        ("yushi", "C-YUSHI", "陈海生", "male", "chair", ["marine_fishery"], "mediator_sea"),
        ("a_chair", "A-TWH", "林素珍", "female", "chair", ["marriage_family"], "mediator_a"),
        ("a_vice", "A-TWH", "王建国", "male", "vice_chair", ["neighbour"], None),
        ("a_member", "A-TWH", "周明", "male", "member", ["neighbour"], None),
        ("b_chair", "B-TWH", "吴德才", "male", "chair", ["neighbour"], None),
    ):
        c = committees[committee]
        mediator = Mediator(
            committee_id=c.id, region_path=c.region_path, name=name, gender=gender,
            position=position, specialties=specialties, phone="13905770001",
            profile=f"{name}，{c.name}", user_id=world.users[user] if user else None,
        )  # fmt: skip
        session.add(mediator)
        session.flush()
        world.mediators[key] = mediator.id
