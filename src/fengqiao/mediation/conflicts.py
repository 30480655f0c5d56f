"""The conflict check (回避审查) before a mediator is shown as a party's choice or put on
a case: a shared household excludes; a shared grid team or an earlier case together is
flagged. Each finding carries its reason, which the timeline (or, for an exclusion, the
audit log) keeps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import false, or_, select
from sqlalchemy.orm import Session

from fengqiao.core.errors import Conflict
from fengqiao.core.labels import Label
from fengqiao.mediation.models import Case, Mediator, Party
from fengqiao.people.models import GridMember


@dataclass(frozen=True)
class Finding:
    kind: str  # household | grid_team | earlier_case
    party: str
    excludes: bool

    @property
    def reason(self) -> str:
        """In Chinese, as the audit log keeps it."""
        return self.reason_in("zh")

    def reason_in(self, lang: str) -> str:
        return KINDS[self.kind](lang).format(p=self.party)


# What was found, without whom: the party's name stands beside it.
KIND_NAMES = {
    "household": Label("同户", "same household"),
    "grid_team": Label("同一网格团队", "same grid team"),
    "earlier_case": Label("曾调解其他纠纷", "mediated another of their disputes"),
}
KINDS = {
    "household": Label("与当事人{p}同户", "shares a household with party {p}"),
    "grid_team": Label("与当事人{p}同属一个网格团队", "is on one grid team with party {p}"),
    "earlier_case": Label("曾调解当事人{p}的其他纠纷", "mediated another dispute of party {p}"),
}


class ExcludedMediator(Conflict):
    """A mediator the conflict check excludes; the service logs it after the rollback."""

    def __init__(self, mediator: Mediator, case: Case, findings: Sequence[Finding]) -> None:
        excluding = [f for f in findings if f.excludes]
        super().__init__(
            "调解员{m}须回避：{r}",
            "Mediator {m} must stand aside: {r_en}",
            m=mediator.name,
            r="；".join(f.reason_in("zh") for f in excluding),
            r_en="; ".join(f.reason_in("en") for f in excluding),
        )
        self.mediator_id, self.case_id = mediator.id, case.id
        self.reasons = [f.reason for f in findings if f.excludes]


def check(
    session: Session, mediator: Mediator, parties: Sequence[Party], exclude_case: int | None
) -> list[Finding]:
    found: list[Finding] = []
    for party in parties:
        if mediator.household_no and party.household_no == mediator.household_no:
            found.append(Finding("household", party.name, True))
    users = {p.user_id: p for p in parties if p.user_id is not None}
    if mediator.user_id is not None and users:
        mine = select(GridMember.grid_id).where(GridMember.user_id == mediator.user_id)
        shared = session.scalars(
            select(GridMember.user_id).where(
                GridMember.grid_id.in_(mine), GridMember.user_id.in_(list(users))
            )
        )
        found += [Finding("grid_team", users[uid].name, False) for uid in set(shared)]
    # An earlier case of this mediator with the same person (by account or id number).
    ids = [p.id_number for p in parties if p.id_number]
    accounts = list(users)
    if ids or accounts:
        earlier = session.scalars(
            select(Party.name)
            .join(Case, Case.id == Party.case_id)
            .where(Case.presiding_id == mediator.id, Case.id != (exclude_case or 0))
            .where(
                or_(
                    Party.id_number.in_(ids) if ids else false(),
                    Party.user_id.in_(accounts) if accounts else false(),
                )
            )
        )
        found += [Finding("earlier_case", name, False) for name in sorted(set(earlier))]
    return found


def excluded(found: Sequence[Finding]) -> bool:
    return any(f.excludes for f in found)


def refuse_if_excluded(
    session: Session, case: Case, mediator: Mediator, found: Sequence[Finding]
) -> None:
    if excluded(found):
        raise ExcludedMediator(mediator, case, found)
