"""The closed loop's invariants, checked over every matter in the database: each timeline
starts with the report and chains state to state through allowed transitions, ends in the
matter's state, and the facts kept on the row equal those replayed from the timeline; the
indicators summed in SQL equal the sums over replayed facts."""

from __future__ import annotations

from itertools import groupby, pairwise

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.assessment.service import facts_from_timeline, facts_of, indicators, sum_facts
from fengqiao.events.enums import EventState
from fengqiao.events.lifecycle import TRANSITIONS
from fengqiao.events.models import Event, TimelineEntry
from fengqiao.people.models import User
from fengqiao.people.service import principal_of


def check_loop(session: Session) -> int:
    """Asserts the invariants; returns how many matters were checked."""
    session.expire_all()
    events = {e.id: e for e in session.scalars(select(Event))}
    entries = session.execute(  # plain rows: a year of demo history is 100,000 entries
        select(
            TimelineEntry.event_id,
            TimelineEntry.at,
            TimelineEntry.action,
            TimelineEntry.from_state,
            TimelineEntry.to_state,
            TimelineEntry.detail,
        ).order_by(TimelineEntry.event_id, TimelineEntry.id)
    )
    replayed = []
    seen = set()
    for event_id, group in groupby(entries, key=lambda t: t.event_id):
        timeline = list(group)
        event = events[event_id]
        seen.add(event_id)
        assert event.state in EventState.__members__
        assert timeline[0].action == "report" and timeline[0].from_state is None
        for before, after in pairwise(timeline):
            assert after.from_state == before.to_state, (event.number, after.action)
            transition = TRANSITIONS.get(after.action)
            if transition is not None:  # a person's action: only from allowed states
                assert EventState(after.from_state) in transition.sources, (
                    event.number,
                    after.action,
                )
                if transition.target is not None:
                    assert after.to_state == transition.target.value, after.action
            assert after.at >= before.at, (event.number, after.action)
        assert timeline[-1].to_state == event.state, event.number
        facts = facts_from_timeline(timeline)
        assert facts == facts_of(event), (event.number, facts, facts_of(event), timeline)
        replayed.append(facts)
    assert seen == set(events), "every matter has a timeline"
    admin = principal_of(session.scalars(select(User).where(User.username == "admin")).one())
    kept = indicators(session, admin).as_dict()
    scratch = sum_facts(replayed).as_dict()
    kept.pop("avg_seconds")
    scratch.pop("avg_seconds")
    assert kept == scratch
    return len(events)
