"""The handlers of mediation itself: sessions and their records, the agreement (written or
oral), its signatures and seal, termination and referral, and then performance and
judicial confirmation. Each returns what its timeline entry keeps."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.core import clock
from fengqiao.core.errors import Conflict, Invalid
from fengqiao.core.permissions import Principal
from fengqiao.core.workcalendar import WorkCalendar
from fengqiao.mediation import documents
from fengqiao.mediation.actions import (
    Detail,
    agreement_of,
    end,
    may_lead,
    own_party,
    parties_of,
    party_of,
    terms_of,
)
from fengqiao.mediation.actors import case_mediators, mediator_of
from fengqiao.mediation.enums import (
    AgreementKind,
    FunnelStage,
    Outcome,
    SignatureMethod,
    TermState,
)
from fengqiao.mediation.models import (
    Agreement,
    Case,
    CaseSession,
    Committee,
    Party,
    Scan,
    Signature,
    Term,
)
from fengqiao.mediation.payloads import (
    CompensateIn,
    ConfirmationIn,
    CourtDecisionIn,
    DraftIn,
    ExtendIn,
    FollowUpIn,
    OralIn,
    RecordIn,
    ReferIn,
    RiskIn,
    ScheduleIn,
    SignIn,
    SurveyIn,
    TermIn,
    TerminateIn,
)

# 司法确认: both parties apply within 30 days of the agreement taking effect; the system
# reminds them on day 20 (人民调解法 Art. 33).
CONFIRMATION_DAYS, CONFIRMATION_REMINDER_DAY = 30, 20


# ---------------------------------------------------------------- mediation


def survey(s: Session, p: Principal, cal: WorkCalendar, case: Case, data: SurveyIn) -> Detail:
    return {"assessed_yuan": data.assessed_yuan, "damage": data.damage}


def _next_seq(session: Session, case: Case) -> int:
    last = session.scalar(select(func.max(CaseSession.seq)).where(CaseSession.case_id == case.id))
    return (last or 0) + 1


def schedule(s: Session, p: Principal, cal: WorkCalendar, case: Case, data: ScheduleIn) -> Detail:
    seq = _next_seq(s, case)
    s.add(
        CaseSession(
            case_id=case.id,
            seq=seq,
            scheduled_at=data.scheduled_at,
            place=data.place,
            venue=data.venue.value if data.venue else None,
        )
    )
    return {"session": seq, "scheduled_at": data.scheduled_at.isoformat(), "place": data.place}


def record_session(
    s: Session, p: Principal, cal: WorkCalendar, case: Case, data: RecordIn
) -> Detail:
    for party_id in {*data.attendance, *data.signed_by}:
        party_of(s, case, party_id)
    if not set(data.signed_by) <= set(data.attendance):
        raise Invalid(
            "签字的当事人须在到场当事人之中",
            "Those who signed must be among those present",
            field="signed_by",
        )
    row: CaseSession | None = None
    if data.session_seq is not None:
        row = s.scalar(
            select(CaseSession).where(
                CaseSession.case_id == case.id, CaseSession.seq == data.session_seq
            )
        )
        if row is None:
            raise Invalid(
                "没有第 {n} 场调解",
                "There is no session {n}",
                field="session_seq",
                n=data.session_seq,
            )
        if row.held_at is not None:
            raise Conflict(
                "第 {n} 场调解已记录", "Session {n} is recorded already", n=data.session_seq
            )
    else:
        row = CaseSession(case_id=case.id, seq=_next_seq(s, case))
        s.add(row)
    me = mediator_of(s, p) if p else None
    row.held_at = clock.now()
    row.place = data.place or row.place
    row.venue = data.venue.value if data.venue else row.venue
    row.on_site = data.on_site
    row.attendance, row.signed_by = list(data.attendance), list(data.signed_by)
    row.mediators = [me.id] if me else []
    row.statements, row.result = data.statements, data.result
    s.flush()
    return {"session": row.seq, "venue": row.venue, "on_site": row.on_site}


def _terms(session: Session, case: Case, agreement: Agreement, terms: list[TermIn]) -> None:
    for seq, term in enumerate(terms, start=1):
        if term.obligor_id is not None:
            party_of(session, case, term.obligor_id)
        session.add(
            Term(
                agreement_id=agreement.id,
                seq=seq,
                content=term.content,
                obligor_id=term.obligor_id,
                manner=term.manner,
                place=term.place,
                due_on=term.due_on,
                state=TermState.pending.value,
            )
        )


def draft_agreement(
    s: Session, p: Principal, cal: WorkCalendar, case: Case, data: DraftIn
) -> Detail:
    """A new draft replaces the last: its signatures and terms go with it."""
    old = agreement_of(s, case)
    if old is not None:
        s.delete(old)
        s.flush()
    agreement = Agreement(
        case_id=case.id,
        kind=AgreementKind.written.value,
        facts=data.facts,
        disputed=data.disputed,
        responsibilities=data.responsibilities,
        drafted_at=clock.now(),
    )
    s.add(agreement)
    s.flush()
    _terms(s, case, agreement, data.terms)
    return {"terms": len(data.terms), "redrafted": old is not None}


def oral_agreement(s: Session, p: Principal, cal: WorkCalendar, case: Case, data: OralIn) -> Detail:
    """Takes effect when reached (Art. 28); the mediator records it."""
    now = clock.now()
    agreement = Agreement(
        case_id=case.id,
        kind=AgreementKind.oral.value,
        facts=data.content,
        disputed="",
        responsibilities="",
        drafted_at=now,
        mediator_signed_at=now,
        sealed_at=now,
    )
    s.add(agreement)
    s.flush()
    _terms(s, case, agreement, data.terms)
    case.effective_at = now
    return {"terms": len(data.terms), "content": data.content}


def unsigned(session: Session, case: Case, agreement: Agreement) -> tuple[list[Party], bool]:
    """The parties (not agents) who have not signed, and whether a mediator has."""
    signed = list(session.scalars(select(Signature).where(Signature.agreement_id == agreement.id)))
    by_party = {sig.party_id for sig in signed if sig.party_id}
    principals = [x for x in parties_of(session, case) if x.role != "agent"]
    return [x for x in principals if x.id not in by_party], any(sig.mediator_id for sig in signed)


def sign(s: Session, p: Principal, cal: WorkCalendar, case: Case, data: SignIn) -> Detail:
    agreement = agreement_of(s, case)
    assert agreement is not None  # the signing state has its agreement
    me = mediator_of(s, p)
    is_mediator = me is not None and me.id in case_mediators(case)
    now = clock.now()
    if data.party_id is not None:  # a mediator records a party's signed paper
        if not is_mediator or data.scan_id is None:
            raise Invalid(
                "登记当事人签字须由承办调解员上传签字扫描件",
                "A case mediator records a party's signature with its scan",
                field="scan_id",
            )
        party = party_of(s, case, data.party_id)
        scan = s.get(Scan, data.scan_id)
        if scan is None or scan.case_id != case.id:
            raise Invalid("扫描件不属于本案", "The scan is not of this case", field="scan_id")
        signature = Signature(
            agreement_id=agreement.id,
            party_id=party.id,
            method=SignatureMethod.scan.value,
            scan_sha256=scan.sha256,
        )
        who = party.name
    elif is_mediator and me is not None and not _is_party(s, p, case):
        signature = Signature(
            agreement_id=agreement.id, mediator_id=me.id, method=SignatureMethod.account.value
        )
        agreement.mediator_signed_at = now
        who = me.name
    else:
        party = own_party(s, p, case)
        signature = Signature(
            agreement_id=agreement.id, party_id=party.id, method=SignatureMethod.account.value
        )
        who = party.name
    taken = s.scalar(
        select(Signature.id).where(
            Signature.agreement_id == agreement.id,
            Signature.party_id == signature.party_id
            if signature.party_id
            else Signature.mediator_id == signature.mediator_id,
        )
    )
    if taken is not None:
        raise Conflict("{who} 已签署本协议", "{who} has signed this agreement already", who=who)
    signature.at, signature.by_user_id = now, p.user_id
    s.add(signature)
    s.flush()
    waiting, mediator_signed = unsigned(s, case, agreement)
    return {
        "signed_by": who,
        "method": signature.method,
        "waiting": [x.name for x in waiting] + ([] if mediator_signed else ["调解员"]),
    }


def _is_party(session: Session, principal: Principal, case: Case) -> bool:
    return (
        session.scalar(
            select(Party.id).where(Party.case_id == case.id, Party.user_id == principal.user_id)
        )
        is not None
    )


def signed_already(session: Session, principal: Principal, case: Case) -> bool:
    """The caller has signed the agreement as themselves: as its party, or, not being a
    party, as its mediator (who may still record the parties' scans)."""
    agreement = agreement_of(session, case)
    if agreement is None:
        return False
    signed = session.scalars(select(Signature).where(Signature.agreement_id == agreement.id))
    mine = session.scalar(
        select(Party.id).where(Party.case_id == case.id, Party.user_id == principal.user_id)
    )
    if mine is not None:
        return any(sig.party_id == mine for sig in signed)
    me = mediator_of(session, principal)
    waiting, _ = unsigned(session, case, agreement)
    return me is not None and any(sig.mediator_id == me.id for sig in signed) and not waiting


def all_signed(session: Session, case: Case) -> bool:
    agreement = agreement_of(session, case)
    if agreement is None:
        return False
    waiting, mediator_signed = unsigned(session, case, agreement)
    return not waiting and mediator_signed


def take_effect(
    s: Session, p: Principal | None, cal: WorkCalendar, case: Case, data: Any
) -> Detail:
    """Every party and a mediator signed: the agreement is sealed (its PDF kept, its digest
    in the timeline) and takes effect."""
    agreement = agreement_of(s, case)
    assert agreement is not None
    now = clock.now()
    agreement.sealed_at = now
    case.effective_at = now
    document = documents.seal(s, case, agreement)
    return {"sha256": document.sha256, "document_id": document.id}


def compensate(
    s: Session, p: Principal, cal: WorkCalendar, case: Case, data: CompensateIn
) -> Detail:
    payer, payee = party_of(s, case, data.payer_id), party_of(s, case, data.payee_id)
    if payer.id == payee.id:
        raise Invalid("赔付方与受偿方不能相同", "Payer and payee must differ", field="payee_id")
    return end(case, Outcome.compensated) | {
        "amount_yuan": data.amount_yuan,
        "payer": payer.name,
        "payee": payee.name,
    }


def terminate(s: Session, p: Principal, cal: WorkCalendar, case: Case, data: TerminateIn) -> Detail:
    case.referral = data.referral.value
    case.outcome = Outcome.terminated.value
    case.ended_at = clock.now()
    return {"referral": data.referral.value}


def refer_arbitration(
    s: Session, p: Principal, cal: WorkCalendar, case: Case, data: ReferIn
) -> Detail:
    case.funnel_stage = FunnelStage.arbitration.value
    case.referral = "arbitration"
    return {"body": data.body, "handed_over": documents.case_file(s, case)}


def refer_litigation(
    s: Session, p: Principal, cal: WorkCalendar, case: Case, data: ReferIn
) -> Detail:
    case.funnel_stage = FunnelStage.litigation.value
    case.referral = "litigation"
    return {"body": data.body, "handed_over": documents.case_file(s, case)}


# ---------------------------------------------------------------- performance


def follow_up(s: Session, p: Principal, cal: WorkCalendar, case: Case, data: FollowUpIn) -> Detail:
    agreement = agreement_of(s, case)
    assert agreement is not None
    terms = {t.id: t for t in terms_of(s, agreement)}
    changed = []
    for update in data.terms:
        term = terms.get(update.term_id)
        if term is None:
            raise Invalid(
                "条款 {t} 不属于本协议",
                "Term {t} is not of this agreement",
                field="terms",
                t=update.term_id,
            )
        term.state = update.state.value
        term.settled_at = None if update.state == TermState.pending else clock.now()
        changed.append({"term": term.seq, "state": term.state})
    return {"terms": changed}


def settled(session: Session, case: Case) -> bool:
    """Every term of the agreement is performed or breached."""
    agreement = agreement_of(session, case)
    if agreement is None:
        return True
    return all(t.state != TermState.pending for t in terms_of(session, agreement))


def confirmation_deadline(case: Case) -> datetime | None:
    if case.effective_at is None:
        return None
    return case.effective_at + timedelta(days=CONFIRMATION_DAYS)


def request_confirmation(
    s: Session, p: Principal, cal: WorkCalendar, case: Case, data: ConfirmationIn
) -> Detail:
    case.confirmation_applied_at = clock.now()
    return {"court": data.court}


def court_decision(
    s: Session, p: Principal, cal: WorkCalendar, case: Case, data: CourtDecisionIn
) -> Detail:
    case.court_decision = data.decision.value
    case.court_case_number = data.court_case_number
    return {"decision": data.decision.value, "court_case_number": data.court_case_number}


def close(s: Session, p: Principal | None, cal: WorkCalendar, case: Case, data: Any) -> Detail:
    return end(case, Outcome.agreement)


def extend(s: Session, p: Principal, cal: WorkCalendar, case: Case, data: ExtendIn) -> Detail:
    if case.due_on is None:
        raise Conflict("本案尚未开始计时", "The case's clock has not started")
    case.due_on = case.due_on + timedelta(days=data.days)
    while not cal.is_working_day(case.due_on):
        case.due_on += timedelta(days=1)
    case.extensions += 1
    case.reminded = None
    return {"due_on": case.due_on.isoformat(), "days": data.days}


def set_risk(s: Session, p: Principal, cal: WorkCalendar, case: Case, data: RiskIn) -> Detail:
    before = case.risk_colour
    case.risk_colour = data.risk_colour.value
    committee = s.get(Committee, case.committee_id)
    assert committee is not None
    return {
        "from": before,
        "to": case.risk_colour,
        "must_transfer": not may_lead(committee, case.risk_colour),
    }
