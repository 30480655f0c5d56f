"""A case's documents (文书) as A4 PDF: Jinja2 templates rendered by WeasyPrint in the
Noto CJK fonts. The agreement is sealed when it takes effect: that PDF is kept as issued
and its SHA-256 digest finds it again, so that anyone holding a copy can tell whether it
is the one signed."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.core import clock
from fengqiao.geo.models import Region
from fengqiao.mediation.enums import (
    CaseKind,
    DocumentKind,
    Gender,
    PartyKind,
    PartyRole,
    RefusalGround,
    SeaDispute,
    SeaVenue,
    SignatureMethod,
    Specialty,
    TermState,
)
from fengqiao.mediation.models import (
    Agreement,
    Case,
    CaseEntry,
    CaseSession,
    Committee,
    Document,
    Mediator,
    Party,
    Signature,
    Term,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"
FONT_FAMILY = "Noto Sans CJK SC"  # fonts-noto-cjk, which the setup installs


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["day"] = _day
    env.filters["moment"] = _moment
    return env


def _local(value: datetime) -> datetime:
    return value.astimezone(clock.zone())


def _day(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value).date()
    return f"{value.year}年{value.month}月{value.day}日"


def _moment(value: datetime | None) -> str:
    if value is None:
        return ""
    at = _local(value)
    return f"{at.year}年{at.month}月{at.day}日 {at:%H:%M}"


def html_of(kind: DocumentKind, context: dict[str, Any]) -> str:
    return _environment().get_template(f"{kind.value}.html").render(font=FONT_FAMILY, **context)


def pdf_of(html: str) -> bytes:
    from weasyprint import HTML  # Pango and fonts load only when a document is made

    pdf: bytes = HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
    return pdf


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# ---------------------------------------------------------------- what a document says


def _party_view(party: Party) -> dict[str, Any]:
    return {
        "id": party.id,
        "role": PartyRole(party.role).zh,
        "kind": PartyKind(party.kind).zh,
        "is_person": party.kind == PartyKind.person,
        "name": party.name,
        "gender": Gender(party.gender).zh if party.gender else "",
        "id_number": party.id_number or "",
        "phone": party.phone or "",
        "address": party.address or "",
    }


def context_of(session: Session, case: Case) -> dict[str, Any]:
    """Everything a template may print about the case, with the personal data whole: a
    document goes to the parties and the committee, and reading it is audited."""
    committee = session.get(Committee, case.committee_id)
    assert committee is not None
    region = session.get(Region, case.region_id)
    parties = list(
        session.scalars(select(Party).where(Party.case_id == case.id).order_by(Party.id))
    )
    ids = [i for i in [case.presiding_id, *(case.co_mediator_ids or [])] if i]
    mediators = {m.id: m for m in session.scalars(select(Mediator).where(Mediator.id.in_(ids)))}
    agreement = session.scalar(select(Agreement).where(Agreement.case_id == case.id))
    terms: list[Term] = []
    signatures: list[Signature] = []
    if agreement is not None:
        terms = list(
            session.scalars(
                select(Term).where(Term.agreement_id == agreement.id).order_by(Term.seq)
            )
        )
        signatures = list(
            session.scalars(
                select(Signature)
                .where(Signature.agreement_id == agreement.id)
                .order_by(Signature.id)
            )
        )
    by_id = {p.id: p for p in parties}
    sessions = list(
        session.scalars(
            select(CaseSession).where(CaseSession.case_id == case.id).order_by(CaseSession.seq)
        )
    )
    entries = list(
        session.scalars(
            select(CaseEntry).where(CaseEntry.case_id == case.id).order_by(CaseEntry.id)
        )
    )
    presiding = mediators.get(case.presiding_id) if case.presiding_id else None
    return {
        "case": case,
        "number": case.number,
        "year": _local(case.applied_at).year,
        "committee": committee,
        "region": region.name if region else "",
        "specialty": Specialty(case.specialty).zh,
        "is_sea": case.kind == CaseKind.sea,
        "sea_dispute": SeaDispute(case.sea_dispute).zh if case.sea_dispute else "",
        "venue": SeaVenue(case.venue).zh if case.venue else "",
        "parties": [_party_view(p) for p in parties],
        "principals": [_party_view(p) for p in parties if p.role != PartyRole.agent],
        "presiding": presiding.name if presiding else "",
        "mediators": [mediators[i].name for i in ids if i in mediators],
        "agreement": agreement,
        "terms": [
            {
                "seq": t.seq,
                "content": t.content,
                "obligor": by_id[t.obligor_id].name if t.obligor_id in by_id else "",
                "manner": t.manner or "",
                "place": t.place or "",
                "due_on": t.due_on,
                "state": TermState(t.state).zh,
            }
            for t in terms
        ],
        "signatures": [
            {
                "who": by_id[s.party_id].name
                if s.party_id in by_id
                else (presiding.name if presiding and s.mediator_id == presiding.id else "调解员"),
                "is_mediator": s.mediator_id is not None,
                "method": SignatureMethod(s.method).zh,
                "at": s.at,
                "scan": s.scan_sha256,
            }
            for s in signatures
        ],
        "sessions": [
            {
                "seq": x.seq,
                "held_at": x.held_at,
                "place": x.place or committee.venue or committee.name,
                "venue": SeaVenue(x.venue).zh if x.venue else "",
                "on_site": x.on_site,
                "attendance": [by_id[i].name for i in x.attendance if i in by_id],
                "signed_by": [by_id[i].name for i in x.signed_by if i in by_id],
                "statements": x.statements or "",
                "result": x.result or "",
            }
            for x in sessions
            if x.held_at is not None
        ],
        "follow_ups": [e for e in entries if e.action == "follow_up"],
        "refusal": next(
            (
                RefusalGround(e.detail["ground"]).zh
                for e in reversed(entries)
                if e.action == "refuse" and e.detail.get("ground")
            ),
            "",
        ),
        "confirmation": next(
            (
                e.detail.get("court", "")
                for e in reversed(entries)
                if e.action == "request_confirmation"
            ),
            "",
        ),
        "issued": clock.now(),
    }


def render(session: Session, case: Case, kind: DocumentKind) -> bytes:
    return pdf_of(html_of(kind, context_of(session, case)))


def seal(session: Session, case: Case, agreement: Agreement) -> Document:
    """The agreement's PDF as it takes effect, kept as issued, with its digest."""
    content = render(session, case, DocumentKind.agreement)
    sha = digest(content)
    agreement.sha256 = sha
    document = Document(
        case_id=case.id,
        kind=DocumentKind.agreement.value,
        sha256=sha,
        content=content,
        sealed=True,
        created_at=clock.now(),
    )
    session.add(document)
    session.flush()
    return document


def sealed_copy(session: Session, case: Case) -> Document | None:
    return session.scalar(
        select(Document)
        .where(Document.case_id == case.id, Document.sealed.is_(True))
        .order_by(Document.id.desc())
        .limit(1)
    )


def verify_unscoped(session: Session, content: bytes) -> tuple[Document | None, str]:
    """The sealed document a copy is, byte for byte, if any, and the copy's digest."""
    sha = digest(content)
    found = session.scalar(
        select(Document).where(Document.sha256 == sha, Document.sealed.is_(True)).limit(1)
    )
    return found, sha


def available(session: Session, case: Case) -> list[DocumentKind]:
    """The documents a case has so far, in the order they arise."""
    kinds = [DocumentKind.application]
    done = set(session.scalars(select(CaseEntry.action).where(CaseEntry.case_id == case.id)))
    if "accept" in done or "initiate" in done:
        kinds.append(DocumentKind.acceptance)
    if "refuse" in done:
        kinds.append(DocumentKind.refusal)
    if "inform" in done:
        kinds.append(DocumentKind.notice_of_rights)
    if "record_session" in done:
        kinds.append(DocumentKind.session_record)
    if "draft_agreement" in done:
        kinds.append(DocumentKind.agreement)
    if "follow_up" in done:
        kinds.append(DocumentKind.follow_up)
    if "request_confirmation" in done:
        kinds.append(DocumentKind.confirmation)
    return kinds


def case_file(session: Session, case: Case) -> list[str]:
    """What is handed over with a referral: the kinds of the case file's documents."""
    return [k.value for k in available(session, case)]
