"""A case as its reader may see it: the other parties' personal data masked unless the
reader may see it and asks (audited), session records only for those in the case, labels
in the reader's language."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.core import audit, clock
from fengqiao.core.errors import Forbidden, NotFound
from fengqiao.core.permissions import Action, Principal
from fengqiao.core.security import mask_id_number, mask_phone
from fengqiao.matters.models import Matter
from fengqiao.mediation import actions as do
from fengqiao.mediation import agreements as ag
from fengqiao.mediation import documents
from fengqiao.mediation.actors import OV, C, H, M, actors_of
from fengqiao.mediation.enums import (
    AgreementKind,
    DocumentKind,
    Outcome,
    PartyRole,
    Specialty,
    TermState,
)
from fengqiao.mediation.flows import CASE, SYSTEM_REASONS, TIMED
from fengqiao.mediation.models import (
    Case,
    CaseEntry,
    CaseSession,
    Committee,
    Mediator,
    Signature,
)
from fengqiao.mediation.schemas import (
    AgreementOut,
    CaseEntryOut,
    CaseOut,
    CaseSummary,
    PartyOut,
    SessionOut,
    TermOut,
)

MAY_UNMASK = frozenset({M, H, C})  # the committee's mediators, who must reach the parties


def summaries(session: Session, cases: list[Case], lang: str) -> list[CaseSummary]:
    committees = {
        c.id: c
        for c in session.scalars(
            select(Committee).where(Committee.id.in_({x.committee_id for x in cases}))
        )
    }
    ids = {x.presiding_id for x in cases if x.presiding_id}
    names = dict(
        session.execute(select(Mediator.id, Mediator.name).where(Mediator.id.in_(ids))).all()
    )
    return [
        _summary(x, committees[x.committee_id], names.get(x.presiding_id or 0), lang) for x in cases
    ]


def _summary(case: Case, committee: Committee, presiding: str | None, lang: str) -> CaseSummary:
    today = clock.now().astimezone(clock.zone()).date()
    pending = CASE.transitions.get(case.pending_action or "")
    return CaseSummary(
        id=case.id,
        number=case.number,
        title=case.title,
        kind=case.kind,
        source=case.source,
        state=case.state,
        state_name=CASE.state_label(case.state, lang),
        specialty=case.specialty,
        specialty_name=Specialty(case.specialty).label(lang),
        risk_colour=case.risk_colour,
        committee_code=committee.code,
        committee_name=committee.name,
        presiding_name=presiding,
        region_path=case.region_path,
        applied_at=case.applied_at,
        due_on=case.due_on,
        clock_runs=case.state in TIMED,
        overdue=case.state in TIMED and case.due_on is not None and today > case.due_on,
        outcome=case.outcome,
        funnel_stage=case.funnel_stage,
        pending=pending.waiting(lang) if pending and pending.waiting else None,
    )


def may_unmask(principal: Principal, case: Case) -> bool:
    return bool(actors_of(principal, case) & MAY_UNMASK) or principal.can(Action.pii_read)


def _parties(
    session: Session, principal: Principal, case: Case, lang: str, unmasked: bool
) -> list[PartyOut]:
    parties = do.parties_of(session, case)
    agreement = do.agreement_of(session, case)
    signed: set[int] = set()
    if agreement is not None:
        signed = {
            p
            for p in session.scalars(
                select(Signature.party_id).where(Signature.agreement_id == agreement.id)
            )
            if p
        }
    if unmasked:
        if not may_unmask(principal, case):
            raise Forbidden()
        audit.record(
            session,
            "read_personal_data",
            "mediation_case",
            case.id,
            region_path=case.region_path,
            detail={"fields": ["id_number", "phone", "address"]},
        )
        session.commit()
    out = []
    for p in parties:
        whole = unmasked or p.user_id == principal.user_id
        out.append(
            PartyOut(
                id=p.id,
                role=p.role,
                role_name=PartyRole(p.role).label(lang),
                kind=p.kind,
                name=p.name,
                gender=p.gender,
                id_number=p.id_number if whole else mask_id_number(p.id_number),
                phone=p.phone if whole else mask_phone(p.phone),
                address=p.address if whole else (p.address[:6] + "…" if p.address else None),
                masked=not whole,
                is_me=p.user_id == principal.user_id,
                has_account=p.user_id is not None,
                signed=p.id in signed,
            )
        )
    return out


def _agreement(session: Session, case: Case, lang: str) -> AgreementOut | None:
    agreement = do.agreement_of(session, case)
    if agreement is None:
        return None
    names = {p.id: p.name for p in do.parties_of(session, case)}
    waiting, mediator_signed = ag.unsigned(session, case, agreement)
    return AgreementOut(
        kind=agreement.kind,
        kind_name=AgreementKind(agreement.kind).label(lang),
        facts=agreement.facts,
        disputed=agreement.disputed,
        responsibilities=agreement.responsibilities,
        drafted_at=agreement.drafted_at,
        sealed_at=agreement.sealed_at,
        sha256=agreement.sha256,
        terms=[
            TermOut(
                id=t.id,
                seq=t.seq,
                content=t.content,
                obligor_id=t.obligor_id,
                obligor_name=names.get(t.obligor_id) if t.obligor_id else None,
                manner=t.manner,
                place=t.place,
                due_on=t.due_on,
                state=t.state,
                state_name=TermState(t.state).label(lang),
            )
            for t in do.terms_of(session, agreement)
        ],
        unsigned=[] if agreement.kind == AgreementKind.oral else [p.name for p in waiting],
        mediator_signed=agreement.kind == AgreementKind.oral or mediator_signed,
    )


def _sessions(session: Session, case: Case, records: bool) -> list[SessionOut]:
    rows = session.scalars(
        select(CaseSession).where(CaseSession.case_id == case.id).order_by(CaseSession.seq)
    )
    return [
        SessionOut(
            seq=x.seq,
            scheduled_at=x.scheduled_at,
            held_at=x.held_at,
            place=x.place,
            venue=x.venue,
            on_site=x.on_site,
            attendance=x.attendance,
            statements=x.statements if records else None,
            result=x.result if records else None,
            signed_by=x.signed_by,
        )
        for x in rows
    ]


def timeline_out(session: Session, case: Case, lang: str) -> list[CaseEntryOut]:
    rows = session.scalars(
        select(CaseEntry).where(CaseEntry.case_id == case.id).order_by(CaseEntry.id)
    )
    out = []
    for e in rows:
        t = CASE.transitions.get(e.action)
        system = e.actor_id is None
        reason = e.reason
        if system and t is not None and reason == t.label.zh:
            reason = t.label(lang)
        elif system and reason is not None:
            reason = next(
                (r for label in SYSTEM_REASONS if (r := label.translate(reason, lang))), reason
            )
        out.append(
            CaseEntryOut(
                id=e.id,
                at=e.at,
                actor_name=("System" if lang == "en" else "系统") if system else e.actor_name,
                action=e.action,
                action_name=t.label(lang) if t else e.action,
                from_state=e.from_state,
                to_state=e.to_state,
                reason=reason,
                detail=e.detail,
            )
        )
    return out


def evaluation_in(evaluation: dict[str, Any] | None, lang: str) -> dict[str, Any] | None:
    """The funnel's evaluation, with each similar case's outcome named in `lang`."""
    if evaluation is None:
        return None
    similar = [
        c | {"outcome_name": Outcome(c["outcome"]).label(lang)} for c in evaluation["similar"]
    ]
    return evaluation | {"similar": similar}


def case_out(
    session: Session, principal: Principal, case: Case, lang: str, unmasked: bool = False
) -> CaseOut:
    mine = actors_of(principal, case)
    records = bool(mine - {OV})
    summary = summaries(session, [case], lang)[0]
    matter_number = (
        session.scalar(select(Matter.number).where(Matter.id == case.matter_id))
        if case.matter_id
        else None
    )
    return CaseOut(
        **summary.model_dump(),
        summary=case.summary,
        people_involved=case.people_involved,
        occurred_on=case.occurred_on,
        address=case.address,
        lon=case.lon,
        lat=case.lat,
        sea_dispute=case.sea_dispute,
        venue=case.venue,
        vessels=case.vessels,
        involves_privacy=case.involves_privacy,
        matter_number=matter_number,
        court=case.court,
        chosen_mediator_id=case.chosen_id,
        presiding_id=case.presiding_id,
        co_mediator_ids=case.co_mediator_ids,
        extensions=case.extensions,
        effective_at=case.effective_at,
        confirmation_applied_at=case.confirmation_applied_at,
        confirmation_due=ag.confirmation_deadline(case),
        court_decision=case.court_decision,
        court_case_number=case.court_case_number,
        referral=case.referral,
        evaluation=evaluation_in(case.evaluation, lang),
        parties=_parties(session, principal, case, lang, unmasked),
        agreement=_agreement(session, case, lang),
        sessions=_sessions(session, case, records),
        timeline=timeline_out(session, case, lang),
        allowed_actions=CASE.allowed(principal, case),
        my_roles=sorted(mine),
        documents=documents.available(session, case) if records else [],
    )


def document_for(session: Session, principal: Principal, case: Case, kind: DocumentKind) -> bytes:
    """A document of the case, for those in it: the sealed agreement as signed, any other
    rendered from the case as it stands. It carries personal data: the read is audited."""
    if not actors_of(principal, case) - {OV} or kind not in documents.available(session, case):
        raise NotFound("文书", "document")
    sealed = documents.sealed_copy(session, case) if kind == DocumentKind.agreement else None
    content = sealed.content if sealed is not None else documents.render(session, case, kind)
    audit.record(
        session,
        "read_personal_data",
        "mediation_document",
        case.id,
        region_path=case.region_path,
        detail={"document": kind.value},
    )
    session.commit()
    return content
