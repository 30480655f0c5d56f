"""The closed loop's invariants, checked over every matter in the database: each timeline
starts with the report and chains state to state through allowed transitions, ends in the
matter's state, and the facts kept on the row equal those replayed from the timeline; the
indicators summed in SQL equal the sums over replayed facts."""

from __future__ import annotations

from itertools import groupby, pairwise

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.assessment.service import facts_from_timeline, facts_of, read_indicators, sum_facts
from fengqiao.matters.enums import MatterState
from fengqiao.matters.lifecycle import TRANSITIONS
from fengqiao.matters.models import Matter, TimelineEntry
from fengqiao.people.models import User
from fengqiao.people.service import principal_of


def check_loop(session: Session) -> int:
    """Asserts the invariants; returns how many matters were checked."""
    session.expire_all()
    matters = {e.id: e for e in session.scalars(select(Matter))}
    entries = session.execute(  # plain rows: a year of demo history is 100,000 entries
        select(
            TimelineEntry.matter_id,
            TimelineEntry.at,
            TimelineEntry.action,
            TimelineEntry.from_state,
            TimelineEntry.to_state,
            TimelineEntry.detail,
        ).order_by(TimelineEntry.matter_id, TimelineEntry.id)
    )
    replayed = []
    seen = set()
    for matter_id, group in groupby(entries, key=lambda t: t.matter_id):
        timeline = list(group)
        matter = matters[matter_id]
        seen.add(matter_id)
        assert matter.state in MatterState.__members__
        assert timeline[0].action == "report" and timeline[0].from_state is None
        for before, after in pairwise(timeline):
            assert after.from_state == before.to_state, (matter.number, after.action)
            transition = TRANSITIONS.get(after.action)
            if transition is not None:  # a person's action: only from allowed states
                assert MatterState(after.from_state) in transition.sources, (
                    matter.number,
                    after.action,
                )
                if transition.target is not None:
                    assert after.to_state == transition.target.value, after.action
            assert after.at >= before.at, (matter.number, after.action)
        assert timeline[-1].to_state == matter.state, matter.number
        facts = facts_from_timeline(timeline)
        assert facts == facts_of(matter), (matter.number, facts, facts_of(matter), timeline)
        replayed.append(facts)
    assert seen == set(matters), "every matter has a timeline"
    admin = principal_of(session.scalars(select(User).where(User.username == "admin")).one())
    kept = read_indicators(session, admin).as_dict()
    scratch = sum_facts(replayed).as_dict()
    kept.pop("avg_seconds")
    scratch.pop("avg_seconds")
    assert kept == scratch
    return len(matters)
