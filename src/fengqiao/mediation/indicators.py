"""The 矛盾纠纷排查化解 ledger (GB/T 31000 §2.6 fields) and mediation's indicators per
committee, mediator, kind of dispute and region: cases, success rate, average duration,
performance rate, judicial-confirmation rate, repeat disputes at 30 and 90 days; and the
online funnel's conversion and median days per stage. Everything is read through the
caller's jurisdiction (`scoped_cases`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.core import audit, clock
from fengqiao.core.permissions import Principal
from fengqiao.core.spreadsheet import PERCENT_FORMAT, Column, Download, dated_name, workbook
from fengqiao.geo.models import Region
from fengqiao.mediation.cases import scoped_cases
from fengqiao.mediation.enums import (
    SUCCESSES,
    CaseKind,
    CaseSource,
    FunnelStage,
    Outcome,
    PartyRole,
    Specialty,
    TermState,
)
from fengqiao.mediation.models import (
    Agreement,
    Case,
    CaseEntry,
    Committee,
    Mediator,
    Party,
    Term,
)

GROUPS = ("committee", "mediator", "specialty", "region")
REPEAT_WINDOWS = (30, 90)
# 矛盾纠纷规模 by the number of people involved.
SCALES = ((50, "重大", "Major"), (10, "较大", "Large"), (0, "一般", "Ordinary"))


def scale_of(people: int, lang: str) -> str:
    for least, zh, en in SCALES:
        if people >= least:
            return en if lang == "en" else zh
    return ""


@dataclass
class Tally:
    cases: int = 0
    ended: int = 0
    successes: int = 0
    days: float = 0.0
    timed: int = 0
    terms_due: dict[int, int] | None = None
    terms_performed: dict[int, int] | None = None
    written: int = 0
    confirmed: int = 0
    repeats: dict[int, int] | None = None

    def __post_init__(self) -> None:
        self.terms_due = {n: 0 for n in REPEAT_WINDOWS}
        self.terms_performed = {n: 0 for n in REPEAT_WINDOWS}
        self.repeats = {n: 0 for n in REPEAT_WINDOWS}

    def row(self) -> dict[str, Any]:
        def share(a: int, b: int) -> float | None:
            return round(a / b, 4) if b else None

        assert self.terms_due and self.terms_performed and self.repeats is not None
        return {
            "cases": self.cases,
            "ended": self.ended,
            "successes": self.successes,
            "success_rate": share(self.successes, self.ended),
            "average_days": round(self.days / self.timed, 1) if self.timed else None,
            "performance_rate_30": share(self.terms_performed[30], self.terms_due[30]),
            "performance_rate_90": share(self.terms_performed[90], self.terms_due[90]),
            "confirmation_rate": share(self.confirmed, self.written),
            "repeat_rate_30": share(self.repeats[30], self.successes),
            "repeat_rate_90": share(self.repeats[90], self.successes),
        }


def _party_keys(session: Session, case_ids: Sequence[int]) -> dict[int, set[str]]:
    """Who each case's parties are, as keys that survive a new case: their account, their
    id number, or their name with their phone."""
    keys: dict[int, set[str]] = defaultdict(set)
    rows = session.execute(
        select(Party.case_id, Party.user_id, Party.id_number, Party.name, Party.phone).where(
            Party.case_id.in_(case_ids), Party.role != PartyRole.agent.value
        )
    )
    for case_id, user_id, id_number, name, phone in rows:
        if user_id:
            keys[case_id].add(f"u{user_id}")
        if id_number:
            keys[case_id].add(f"i{id_number}")
        if phone:
            keys[case_id].add(f"n{name}:{phone}")
    return keys


def _duration(case: Case) -> float | None:
    start = case.accepted_at or case.applied_at
    finish = case.effective_at or case.ended_at
    if finish is None or case.outcome in (Outcome.refused, Outcome.withdrawn):
        return None
    return (finish - start).total_seconds() / 86400


def tally(session: Session, cases: list[Case], key: Any) -> dict[Any, Tally]:
    """Each group's tally; `key(case)` names a case's groups."""
    now = clock.now()
    ids = [c.id for c in cases]
    people = _party_keys(session, ids)
    agreements = {
        a.case_id: a for a in session.scalars(select(Agreement).where(Agreement.case_id.in_(ids)))
    }
    terms: dict[int, list[Term]] = defaultdict(list)
    by_agreement = {a.id: a.case_id for a in agreements.values()}
    for term in session.scalars(select(Term).where(Term.agreement_id.in_(list(by_agreement)))):
        terms[by_agreement[term.agreement_id]].append(term)
    # A repeat: a later case with one of the same parties, within the window.
    by_person: dict[str, list[datetime]] = defaultdict(list)
    for c in cases:
        for k in people.get(c.id, ()):
            by_person[k].append(c.applied_at)
    out: dict[Any, Tally] = defaultdict(Tally)
    for c in cases:
        for group in key(c):
            t = out[group]
            t.cases += 1
            if c.outcome is not None:
                t.ended += 1
                t.successes += c.outcome in SUCCESSES
            days = _duration(c)
            if days is not None:
                t.days, t.timed = t.days + days, t.timed + 1
            agreement = agreements.get(c.id)
            if agreement is not None and agreement.kind == "written" and agreement.sealed_at:
                t.written += 1
                t.confirmed += c.court_decision == "confirmed"
            for n in REPEAT_WINDOWS:
                assert t.terms_due is not None and t.terms_performed is not None
                assert t.repeats is not None
                for term in terms.get(c.id, []):
                    checked = datetime.combine(term.due_on, datetime.min.time(), clock.zone())
                    if checked + timedelta(days=n) > now:
                        continue
                    t.terms_due[n] += 1
                    t.terms_performed[n] += (
                        term.state == TermState.performed
                        and term.settled_at is not None
                        and term.settled_at <= checked + timedelta(days=n)
                    )
                if c.outcome in SUCCESSES and c.ended_at is not None:
                    end = c.ended_at
                    t.repeats[n] += any(
                        end < at <= end + timedelta(days=n)
                        for k in people.get(c.id, ())
                        for at in by_person[k]
                    )
    return out


def _names(session: Session, by: str, keys: Iterable[Any], lang: str) -> dict[Any, str]:
    keys = list(keys)
    if by == "committee":
        return dict(
            session.execute(
                select(Committee.id, Committee.name).where(Committee.id.in_(keys))
            ).all()
        )
    if by == "mediator":
        return dict(
            session.execute(select(Mediator.id, Mediator.name).where(Mediator.id.in_(keys))).all()
        )
    if by == "region":
        return dict(
            session.execute(select(Region.path, Region.name).where(Region.path.in_(keys))).all()
        )
    return {k: Specialty(k).label(lang) for k in keys}


def _grouper(by: str, depth: int) -> Any:
    if by == "committee":
        return lambda c: [c.committee_id]
    if by == "mediator":
        return lambda c: [c.presiding_id] if c.presiding_id else []
    if by == "specialty":
        return lambda c: [c.specialty]
    return lambda c: ["/".join(c.region_path.strip("/").split("/")[:depth]) + "/"]


def read_indicators(
    session: Session, principal: Principal, by: str, lang: str, year: int | None = None
) -> list[dict[str, Any]]:
    """One row per group, the most cases first."""
    stmt = scoped_cases(principal)
    cases = list(session.scalars(stmt))
    if year is not None:
        cases = [c for c in cases if c.applied_at.astimezone(clock.zone()).year == year]
    depth = max(1, len((principal.scope_path or "/").strip("/").split("/")) + 1)
    groups = tally(session, cases, _grouper(by, depth))
    names = _names(session, by, groups, lang)
    rows = [{"key": str(k), "name": names.get(k, str(k)), **t.row()} for k, t in groups.items()]
    return sorted(rows, key=lambda r: (-r["cases"], r["name"]))


def mediator_records(session: Session, mediator_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """A mediator's public record for the menu: cases handled, success rate, current load
    (unscoped: the same for every reader, and no case is named)."""
    rows = session.execute(
        select(Case.presiding_id, Case.outcome).where(Case.presiding_id.in_(mediator_ids))
    ).all()
    out: dict[int, dict[str, Any]] = {
        m: {"cases_handled": 0, "successes": 0, "load": 0} for m in mediator_ids
    }
    for mid, outcome in rows:
        record = out[mid or 0]
        if outcome is None:
            record["load"] += 1
        elif outcome not in (Outcome.refused, Outcome.withdrawn):
            record["cases_handled"] += 1
            record["successes"] += outcome in SUCCESSES
    for record in out.values():
        handled = record["cases_handled"]
        record["success_rate"] = round(record.pop("successes") / handled, 3) if handled else None
    return out


# ---------------------------------------------------------------- the online funnel

FUNNEL = (
    (FunnelStage.consultation, "consult"),
    (FunnelStage.evaluation, "evaluate"),
    (FunnelStage.mediation, "apply_mediation"),
    (FunnelStage.arbitration, "refer_arbitration"),
    (FunnelStage.litigation, "refer_litigation"),
)


def read_funnel(session: Session, principal: Principal, lang: str) -> list[dict[str, Any]]:
    """Each stage of the online funnel: the cases that reached it, the share of those of
    the stage before, and the median days from the stage before."""
    ids = (
        select(Case.id)
        .where(Case.source == CaseSource.online.value)
        .where(Case.id.in_(scoped_cases(principal).with_only_columns(Case.id)))
    )
    reached: dict[str, dict[int, datetime]] = defaultdict(dict)
    actions = [a for _, a in FUNNEL]
    for case_id, action, at in session.execute(
        select(CaseEntry.case_id, CaseEntry.action, CaseEntry.at)
        .where(CaseEntry.case_id.in_(ids), CaseEntry.action.in_(actions))
        .order_by(CaseEntry.id)
    ):
        reached[action].setdefault(case_id, at)
    rows, before = [], None
    for stage, action in FUNNEL:
        here = reached[action]
        days: list[float] = (
            [(at - before[c]).total_seconds() / 86400 for c, at in here.items() if c in before]
            if before is not None
            else []
        )
        rows.append(
            {
                "stage": stage.value,
                "name": stage.label(lang),
                "cases": len(here),
                "conversion": round(len(here) / len(before), 4) if before else None,
                "median_days": round(median(days), 1) if days else None,
            }
        )
        before = here
    return rows


# ---------------------------------------------------------------- the ledger


def ledger_rows(
    session: Session, principal: Principal, lang: str, limit: int
) -> list[dict[str, Any]]:
    cases = list(
        session.scalars(scoped_cases(principal).order_by(Case.applied_at.desc()).limit(limit))
    )
    ids = [c.id for c in cases]
    committees = dict(session.execute(select(Committee.id, Committee.name)).all())
    mediators = dict(
        session.execute(
            select(Mediator.id, Mediator.name).where(
                Mediator.id.in_({c.presiding_id for c in cases if c.presiding_id})
            )
        ).all()
    )
    parties: dict[int, list[str]] = defaultdict(list)
    for case_id, name in session.execute(
        select(Party.case_id, Party.name).where(Party.case_id.in_(ids), Party.role != "agent")
    ):
        parties[case_id].append(name)
    rows = []
    for c in cases:
        success = None if c.outcome is None else int(c.outcome in SUCCESSES)
        rows.append(
            {
                "number": c.number,
                "title": c.title,
                "occurred_on": c.occurred_on,
                "address": c.address
                or (
                    f"{c.lon:.5f},{c.lat:.5f}" if c.lon is not None and c.lat is not None else None
                ),
                "scale": scale_of(c.people_involved, lang),
                "specialty": Specialty(c.specialty).label(lang),
                "people_involved": c.people_involved,
                "summary": c.summary[:500],
                "party_names": "、".join(parties[c.id]),
                "due_on": c.due_on,
                "method": CaseKind(c.kind).label(lang),
                "committee": committees.get(c.committee_id, ""),
                "mediator": mediators.get(c.presiding_id, "") if c.presiding_id else "",
                "success": success,
                "outcome": Outcome(c.outcome).label(lang) if c.outcome else "",
                "ended_on": c.ended_at,
            }
        )
    return rows


LEDGER_COLUMNS = (
    ("number", "案件编号", "Case number"),
    ("title", "矛盾纠纷名称", "Dispute"),
    ("occurred_on", "发生日期", "Occurred on"),
    ("address", "发生地点", "Where"),
    ("scale", "矛盾纠纷规模", "Scale"),
    ("specialty", "矛盾纠纷类别", "Kind"),
    ("people_involved", "涉及人数", "People involved"),
    ("summary", "矛盾纠纷简述", "Summary"),
    ("party_names", "主要当事人", "Parties"),
    ("due_on", "化解时限", "Time limit"),
    ("method", "化解方式", "Method"),
    ("committee", "化解组织", "Committee"),
    ("mediator", "化解负责人", "Mediator"),
    ("success", "化解是否成功", "Settled (1/0)"),
    ("outcome", "化解情况", "Outcome"),
    ("ended_on", "考评日期", "Evaluated on"),
)
INDICATOR_COLUMNS = (
    ("name", "名称", "Name", None),
    ("cases", "案件数", "Cases", None),
    ("success_rate", "调解成功率", "Success rate", PERCENT_FORMAT),
    ("average_days", "平均用时(天)", "Average days", None),
    ("performance_rate_30", "30日履行率", "Performed in 30 days", PERCENT_FORMAT),
    ("performance_rate_90", "90日履行率", "Performed in 90 days", PERCENT_FORMAT),
    ("confirmation_rate", "司法确认率", "Confirmed", PERCENT_FORMAT),
    ("repeat_rate_30", "30日重复纠纷率", "Repeat in 30 days", PERCENT_FORMAT),
    ("repeat_rate_90", "90日重复纠纷率", "Repeat in 90 days", PERCENT_FORMAT),
)
EXPORT_CAP = 50_000


def export_ledger(session: Session, principal: Principal, lang: str) -> Download:
    rows = ledger_rows(session, principal, lang, EXPORT_CAP)
    columns = [Column(k, en if lang == "en" else zh) for k, zh, en in LEDGER_COLUMNS]
    content = workbook(columns, rows, sheet="矛盾纠纷排查化解台账" if lang != "en" else "Ledger")
    audit.record(
        session,
        "export",
        "mediation_case",
        None,
        region_path=principal.scope_path,
        detail={"format": "xlsx", "rows": len(rows), "what": "ledger"},
    )
    session.commit()
    filename, fallback = dated_name("矛盾纠纷排查化解台账", "mediation-ledger", lang)
    return Download(content, filename, fallback, len(rows))


def export_indicators(session: Session, principal: Principal, by: str, lang: str) -> Download:
    rows = read_indicators(session, principal, by, lang)
    columns = [Column(k, en if lang == "en" else zh, f) for k, zh, en, f in INDICATOR_COLUMNS]
    content = workbook(columns, rows, sheet="调解指标" if lang != "en" else "Mediation")
    audit.record(
        session,
        "export",
        "mediation_case",
        None,
        region_path=principal.scope_path,
        detail={"format": "xlsx", "rows": len(rows), "what": f"indicators by {by}"},
    )
    session.commit()
    filename, fallback = dated_name(f"调解指标-{by}", f"mediation-{by}", lang)
    return Download(content, filename, fallback, len(rows))
