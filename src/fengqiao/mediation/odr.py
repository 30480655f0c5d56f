"""Online dispute resolution's first two steps: consultation (the knowledge base of
questions and laws, searched by text similarity) and evaluation (the outcomes and
durations of similar past cases). Both use the text fingerprints of `classify`."""

from __future__ import annotations

from statistics import median
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.classify.duplicates import Fingerprint
from fengqiao.mediation.enums import ENDED_STATES, SUCCESSES, CaseState
from fengqiao.mediation.models import Case, KnowledgeEntry

# Past cases looked at, newest first; similar ones shown; the least similarity that counts.
CANDIDATES, SHOWN, LEAST = 5000, 5, 0.12
FINISHED = [s.value for s in ENDED_STATES | {CaseState.effective, CaseState.terminated}]


def similar_cases(session: Session, case: Case, limit: int = SHOWN) -> list[dict[str, Any]]:
    """Finished cases most like this one in words, the same kind of dispute first."""
    rows = session.execute(
        select(
            Case.id,
            Case.number,
            Case.title,
            Case.summary,
            Case.specialty,
            Case.outcome,
            Case.accepted_at,
            Case.ended_at,
            Case.effective_at,
            Case.applied_at,
        )
        .where(Case.id != case.id, Case.state.in_(FINISHED), Case.outcome.is_not(None))
        .where(Case.involves_privacy.is_(False))
        .order_by(Case.applied_at.desc())
        .limit(CANDIDATES)
    ).all()
    if not rows:
        return []
    mine = Fingerprint.of(case.title, case.summary)
    scores = mine.similarities([Fingerprint.of(r.title, r.summary) for r in rows])
    ranked = sorted(
        (
            (float(score) + (0.05 if r.specialty == case.specialty else 0.0), r)
            for score, r in zip(scores, rows, strict=True)
        ),
        key=lambda pair: -pair[0],
    )
    found = []
    for score, r in ranked[:limit]:
        if score < LEAST:
            break
        start, finish = r.accepted_at or r.applied_at, r.effective_at or r.ended_at
        found.append(
            {
                "number": r.number,
                "title": r.title,
                "specialty": r.specialty,
                "outcome": r.outcome,
                "days": round((finish - start).total_seconds() / 86400, 1) if finish else None,
                "score": round(min(score, 1.0), 3),
            }
        )
    return found


def evaluate(session: Session, case: Case) -> dict[str, Any]:
    """What the funnel's evaluation (评估) shows: similar cases, how they ended and how long
    they took."""
    similar = similar_cases(session, case)
    days = [c["days"] for c in similar if c["days"] is not None]
    settled = [c for c in similar if c["outcome"] in SUCCESSES]
    return {
        "similar": similar,
        "success_rate": round(len(settled) / len(similar), 3) if similar else None,
        "median_days": median(days) if days else None,
    }


def search_knowledge_unscoped(
    session: Session, q: str, specialty: str | None = None, limit: int = 10
) -> list[tuple[KnowledgeEntry, float]]:
    """The knowledge base (the same for everyone), best match first."""
    stmt = select(KnowledgeEntry)
    if specialty:
        stmt = stmt.where(KnowledgeEntry.specialty == specialty)
    entries = list(session.scalars(stmt.order_by(KnowledgeEntry.id)))
    if not q.strip():
        return [(e, 0.0) for e in entries[:limit]]
    mine = Fingerprint.of(q, "")
    scores = mine.similarities([Fingerprint.of(e.title, e.body) for e in entries])
    ranked = sorted(zip(entries, scores, strict=True), key=lambda pair: -pair[1])
    return [(e, round(float(s), 3)) for e, s in ranked[:limit] if s > 0]
