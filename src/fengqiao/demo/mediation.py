"""The demo county's mediation: a committee in every village and township, the county's
professional committees (a marine-fishery one among them) and a personal-brand room, with
their mediators. Deterministic for a given seed."""

from __future__ import annotations

import random

from sqlalchemy.orm import Session

from fengqiao.geo.models import Region
from fengqiao.mediation.models import Committee, Mediator
from fengqiao.people.models import User

_SURNAMES = "陈林王张李叶郑黄周吴潘刘徐朱杨蔡方邱谢余许胡钟曾洪章"
_MEN = "海生建国明德才志强永福金水伟军勇斌涛鹏"
_WOMEN = "素珍海霞美华秀英丽娟玉兰春燕雪梅静芳"

# (code suffix, name, specialties, venue) of the county's own committees.
COUNTY_COMMITTEES = [
    ("YSTJ", "渔事纠纷人民调解委员会", ["marine_fishery"], "中心渔港调解室"),
    ("JTTJ", "道路交通事故人民调解委员会", ["traffic"], "交警大队调解室"),
    ("YTJ", "医疗纠纷人民调解委员会", ["medical"], "区公共法律服务中心"),
    ("LDTJ", "劳动争议人民调解委员会", ["labour"], "区人力社保局二楼"),
    ("HJTJ", "婚姻家庭纠纷人民调解委员会", ["marriage_family"], "区妇联调解室"),
]
VILLAGE_SPECIALTIES = ["neighbour", "marriage_family", "land", "property", "contract"]


def _person(rng: random.Random, gender: str) -> str:
    given = _WOMEN if gender == "female" else _MEN
    return (
        rng.choice(_SURNAMES)
        + rng.choice(given)
        + (rng.choice(given) if rng.random() < 0.4 else "")
    )


def _phone(rng: random.Random) -> str:
    return f"13{rng.randint(5, 9)}{rng.randint(0, 99_999_999):08d}"


def build_mediation(
    session: Session,
    county: Region,
    townships: list[Region],
    villages: list[Region],
    mediator_login: User,
    seed: int = 2011,
) -> tuple[int, int]:
    """(committees, mediators) added. The demo's mediator login chairs the first
    township's committee."""
    rng = random.Random(seed)
    committees: list[tuple[Committee, int]] = []

    def committee(code: str, name: str, kind: str, region: Region, specialties: list[str],
                  venue: str, members: int) -> Committee:  # fmt: skip
        made = Committee(
            code=code, name=name, kind=kind, region_id=region.id, region_path=region.path,
            specialties=specialties, venue=venue, phone=_phone(rng),
        )  # fmt: skip
        committees.append((made, members))
        return made

    for suffix, name, specialties, venue in COUNTY_COMMITTEES:
        committee(f"{county.code}-{suffix}", f"{county.name}{name}", "professional", county,
                  specialties, venue, 5)  # fmt: skip
    committee(f"{county.code}-HXGS", "海霞个人品牌调解室", "personal_brand", county,
              ["marine_fishery", "neighbour"], "东屏街道海霞调解室", 3)  # fmt: skip
    for town in townships:
        committee(f"{town.code}-TWH", f"{town.name}人民调解委员会", "township", town,
                  ["neighbour", "land", "contract"], f"{town.name}司法所", 5)  # fmt: skip
    for village in villages:
        committee(f"{village.code}-TWH", f"{village.name}人民调解委员会", "village", village,
                  rng.sample(VILLAGE_SPECIALTIES, 2), f"{village.name}村民服务中心",
                  rng.choice((3, 3, 4, 5)))  # fmt: skip
    session.add_all(c for c, _ in committees)
    session.flush()

    chair_of_first_town = f"{townships[0].code}-TWH"
    mediators = 0
    for c, members in committees:
        # The first member is a woman, as the statute asks; a few village committees lack
        # one, so that the console has something to flag.
        women_first = c.kind != "village" or rng.random() > 0.05
        for seat in range(members + rng.choice((0, 1))):  # sometimes one mediator beyond
            gender = "female" if seat == 0 and women_first else rng.choice(("male", "female"))
            position = (
                "chair" if seat == 0 else "vice_chair" if seat == 1
                else "member" if seat < members else "mediator"
            )  # fmt: skip
            login = c.code == chair_of_first_town and seat == 0
            own = mediator_login.display_name.removesuffix("调解员") if login else None
            session.add(
                Mediator(
                    committee_id=c.id, region_path=c.region_path,
                    user_id=mediator_login.id if login else None,
                    name=own or _person(rng, gender), gender=gender, position=position,
                    specialties=c.specialties[: rng.choice((1, 2))], phone=_phone(rng),
                    profile=f"{c.name}{'主任' if seat == 0 else '调解员'}，从事调解工作"
                    f"{rng.randint(2, 25)}年",
                )
            )  # fmt: skip
            mediators += 1
    session.flush()
    return len(committees), mediators
