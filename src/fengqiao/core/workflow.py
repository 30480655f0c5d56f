"""A workflow is a table of transitions, and the table is the whole rule.

A domain declares its states and one row per action (`Transition`): from which states, to
which, who may take it, its payload model, whom it notifies, what it does to the deadline,
its labels in both languages and its handler. `Workflow` turns that table into the allowed
actions for a caller, validated payloads, the atomic version-checked transition with its
timeline entry and notifications, and the description the console draws its forms from.
It holds no rule of any domain: the domain's subclass says only how to read its record,
where to write the timeline and outbox, and how to address a recipient.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from fengqiao.core.errors import AppError, Conflict, Forbidden, Invalid, InvalidFields
from fengqiao.core.labels import Label
from fengqiao.core.permissions import Principal

R = TypeVar("R")  # the record that moves through the states
C = TypeVar("C")  # what handlers need beyond the session (a matter's: the work calendar)

SYSTEM = "system"  # the actor of what the system does by itself; no person stands here


class Deadline(StrEnum):
    """What a transition does to the running deadline."""

    start = "start"  # a new stage's clock starts (dispatch, rework)
    stop = "stop"  # no clock runs until the next start (the record left its handler)


class NoPayload(BaseModel):
    """An action that takes nothing but an optional remark."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class FollowUp:
    """A transition the system takes at once after another (a dissatisfied rating reopens)."""

    action: str
    reason: Label


@dataclass(frozen=True)
class State:
    label: Label
    open: bool = True  # still needs someone's work


Handler = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Transition:
    name: str
    label: Label
    sources: frozenset[str]
    target: str | None  # None: the record stays in its state
    actors: frozenset[str]
    payload: type[BaseModel] = NoPayload
    # handler(session, principal, context, record, payload) -> timeline detail
    handler: Handler | None = None
    notifies: tuple[str, ...] = ()  # kinds of recipient, addressed by the workflow
    deadline: Deadline | None = None
    # then(record, payload): a step the system takes at once after this one, if any.
    then: Callable[[Any, Any], FollowUp | None] | None = None
    # A rule beyond state and actor: the refusal's message, or None when it may go ahead.
    refuse: Callable[[Principal, Any], Label | None] | None = None
    photos: str | None = None  # the stage of the photos the console offers with it
    help: Label | None = None
    # A request: after it the record waits on this kind of actor (a pending request, 待审批)
    # until a row answering it is taken, or any row that moves the record.
    awaits: str | None = None
    waiting: Label | None = None  # what the record then shows: 延期待审批
    answers: frozenset[str] = frozenset()  # the requests this row decides

    @property
    def by_system(self) -> bool:
        return self.actors == frozenset({SYSTEM})


def row(
    name: str,
    label: tuple[str, str],
    sources: Iterable[str],
    target: str | None,
    actors: Iterable[str],
    **more: Any,
) -> Transition:
    """One row of a table: `row("accept", ("受理", "Accept"), {reported}, accepted, {D})`."""
    return Transition(name, Label(*label), frozenset(sources), target, frozenset(actors), **more)


# Every workflow, by name, for GET /api/workflows/{name}.
WORKFLOWS: dict[str, Workflow[Any, Any]] = {}


class Workflow(ABC, Generic[R, C]):
    """The generic machinery. A domain subclasses it once and gives it its table."""

    def __init__(
        self,
        name: str,
        label: tuple[str, str],
        states: Mapping[str, State],
        actors: Mapping[str, Label],
        transitions: Iterable[Transition],
        ladder: tuple[str, ...] = (),
    ) -> None:
        self.name, self.label = name, Label(*label)
        self.states, self.actors = dict(states), dict(actors)
        self.transitions: dict[str, Transition] = {}
        for t in transitions:
            self._add(t)
        # The transitions a sweep takes, one step each time a deadline is missed again.
        self.ladder = ladder
        unknown = [a for a in ladder if a not in self.transitions]
        if unknown:
            raise ValueError(f"{name}: ladder names unknown actions {unknown}")
        if name in WORKFLOWS:
            raise ValueError(f"two workflows named {name}")
        WORKFLOWS[name] = self

    def _add(self, t: Transition) -> None:
        if t.name in self.transitions:
            raise ValueError(f"{self.name}: two rows for {t.name}")
        states = set(t.sources) | ({t.target} if t.target else set())
        if not states <= set(self.states):
            raise ValueError(f"{self.name}.{t.name}: unknown states {states - set(self.states)}")
        if not set(t.actors) <= set(self.actors) | {SYSTEM}:
            raise ValueError(f"{self.name}.{t.name}: unknown actors {set(t.actors)}")
        self.transitions[t.name] = t

    @contextmanager
    def added(self, *rows: Transition) -> Iterator[None]:
        """More rows while the block runs (a test suite's throw-away actions), then not."""
        for t in rows:
            self._add(t)
        try:
            yield
        finally:
            for t in rows:
                self.transitions.pop(t.name, None)

    # ------------------------------------------------------------ what the domain supplies

    @abstractmethod
    def actors_of(self, principal: Principal, record: R) -> set[str]:
        """In which capacities the caller stands towards the record."""

    @abstractmethod
    def journal(
        self,
        session: Session,
        record: R,
        principal: Principal | None,
        t: Transition,
        from_state: str | None,
        reason: str | None,
        detail: dict[str, Any],
    ) -> Any:
        """Writes the timeline entry of one transition."""

    @abstractmethod
    def address(self, record: R, kind: str) -> str | None:
        """The outbox address of a kind of recipient, or None when there is nobody."""

    @abstractmethod
    def notify(self, session: Session, record: R, t: Transition, recipients: list[str]) -> None:
        """Puts the notifications of one transition in the outbox."""

    def run_deadline(
        self, session: Session, context: C, record: R, deadline: Deadline
    ) -> dict[str, Any]:
        """Starts or stops the record's clock; returns what to add to the timeline detail."""
        return {}

    def settle(self, session: Session, context: C, record: R) -> None:
        """Keeps what is derived from the record's state current after a transition."""

    def pending_of(self, record: R) -> str | None:
        """The request the record waits on (the name of the row that asked), if any."""
        return None

    def set_pending(
        self, record: R, t: Transition | None, principal: Principal | None, reason: str | None
    ) -> None:
        """Records that the record now waits on `t`'s request, or (None) on nothing."""

    # ------------------------------------------------------------ from the table

    def state_label(self, state: str, lang: str) -> str:
        known = self.states.get(state)
        return known.label(lang) if known else state

    def person_actions(self) -> dict[str, Transition]:
        return {n: t for n, t in self.transitions.items() if not t.by_system}

    def allowed(self, principal: Principal, record: R) -> list[str]:
        mine = self.actors_of(principal, record)
        state = getattr(record, "state")  # noqa: B009 - every record of a workflow has one
        return [
            n
            for n, t in self.transitions.items()
            if state in t.sources
            and mine & t.actors
            and not (t.awaits is not None and self.pending_of(record) == n)
            and (t.refuse is None or t.refuse(principal, record) is None)
        ]

    def transition(self, action: str) -> Transition:
        t = self.transitions.get(action)
        if t is None or t.by_system:
            raise Invalid("未知操作 {a}", "Unknown action {a}", a=action)
        return t

    def fields(self) -> frozenset[str]:
        """Every field some action of the table takes."""
        return frozenset(f for t in self.transitions.values() for f in t.payload.model_fields)

    def parse(self, t: Transition, data: Mapping[str, Any]) -> BaseModel | ValidationError:
        """The payload, validated by the action's model. A field no action takes, or a
        malformed one, answers 422 at once, as any bad request body; a field another action
        takes is left aside, and a null is no value. A missing field is told only after
        state and actor are checked (the error is returned for `take` to raise then)."""
        unknown = sorted(set(data) - self.fields())
        if unknown:
            raise InvalidFields(
                [
                    {
                        "type": "extra_forbidden",
                        "loc": (k,),
                        "msg": "Extra inputs are not permitted",
                        "input": data[k],
                    }
                    for k in unknown
                ]
            )
        own = {k: v for k, v in data.items() if k in t.payload.model_fields and v is not None}
        try:
            return t.payload.model_validate(own)
        except ValidationError as exc:
            if any(e["type"] != "missing" for e in exc.errors()):
                raise invalid_body(exc) from None
            return exc

    def check(self, principal: Principal, record: R, t: Transition) -> None:
        """409 from the wrong state, 403 for the wrong actor or a refusing rule."""
        state = getattr(record, "state")  # noqa: B009
        if state not in t.sources:
            here = self.states[state].label
            raise Conflict(
                "{what}当前为「{s}」，不能{a}",
                "The {what_en} is {se}; cannot {ae}",
                what=self.label.zh,
                what_en=self.label.en.lower(),
                s=here.zh,
                se=here.en.lower(),
                a=t.label.zh,
                ae=t.label.en.lower(),
            )
        if not self.actors_of(principal, record) & t.actors:
            raise Forbidden()
        if t.awaits is not None and self.pending_of(record) == t.name:
            raise Conflict(
                "已有待审批的「{a}」", "A request to {ae} is already pending",
                a=t.label.zh, ae=t.label.en.lower(),
            )  # fmt: skip
        refusal = t.refuse(principal, record) if t.refuse else None
        if refusal is not None:
            raise AppError(refusal.zh, refusal.en, code="forbidden", status=403)

    def apply(
        self,
        session: Session,
        principal: Principal | None,
        context: C,
        record: R,
        t: Transition,
        payload: BaseModel,
        reason: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> Any:
        """The transition's effects, in the caller's transaction: handler, state, deadline,
        timeline entry, notifications and any follow-up. Returns the timeline entry.
        `reason` and `detail`: what the system says of a step it takes itself."""
        from_state = getattr(record, "state")  # noqa: B009
        kept = t.handler(session, principal, context, record, payload) if t.handler else {}
        kept |= detail or {}
        if t.target is not None:
            setattr(record, "state", t.target)  # noqa: B010
        if reason is None:
            reason = getattr(payload, "reason", None) or getattr(payload, "note", None)
        if t.awaits is not None:
            self.set_pending(record, t, principal, reason)
        elif self.pending_of(record) is not None and (
            t.target is not None or self.pending_of(record) in t.answers
        ):
            self.set_pending(record, None, principal, None)
        if t.deadline is not None:
            kept |= self.run_deadline(session, context, record, t.deadline)
        self.settle(session, context, record)
        entry = self.journal(session, record, principal, t, from_state, reason, kept)
        recipients = [a for kind in t.notifies if (a := self.address(record, kind))]
        if recipients:
            self.notify(session, record, t, list(dict.fromkeys(recipients)))
        follow = t.then(record, payload) if t.then else None
        if follow is not None:
            then = self.transitions[follow.action]
            self.apply(session, principal, context, record, then, NoPayload(), follow.reason.zh)
        return entry

    def take(
        self,
        session: Session,
        principal: Principal,
        context: C,
        load: Callable[[], R],
        action: str,
        data: Mapping[str, Any],
    ) -> R:
        """One action of a person, whole: 422 for an unknown action or a bad payload, then
        the record (the loader applies the caller's jurisdiction: 404 outside it), 409 from
        the wrong state, 403 for the wrong actor; committed, or 409 if a concurrent change
        of the record won (its version is checked)."""
        t = self.transition(action)
        payload = self.parse(t, data)
        record = load()
        self.check(principal, record, t)
        if isinstance(payload, ValidationError):
            raise invalid_body(payload)
        try:
            self.apply(session, principal, context, record, t, payload)
            session.commit()
        except (StaleDataError, OperationalError) as exc:
            session.rollback()
            # On SQLite a concurrent writer shows as a locked database.
            if isinstance(exc, OperationalError) and "locked" not in str(exc).lower():
                raise
            raise Conflict(
                "{what}已被他人处理，请刷新后重试",
                "Someone else changed this {what_en}; reload and try again",
                what=self.label.zh,
                what_en=self.label.en.lower(),
            ) from None
        return record

    # ------------------------------------------------------------ description

    def describe(self, lang: str) -> dict[str, Any]:
        """States and actions with labels in `lang`, each action's fields as JSON Schema."""
        return {
            "name": self.name,
            "label": self.label(lang),
            "states": [
                {"name": n, "label": s.label(lang), "open": s.open} for n, s in self.states.items()
            ],
            "actors": [{"name": n, "label": a(lang)} for n, a in self.actors.items()],
            "actions": [
                {
                    "name": t.name,
                    "label": t.label(lang),
                    "help": t.help(lang) if t.help else None,
                    "sources": sorted(t.sources, key=list(self.states).index),
                    "target": t.target,
                    "actors": sorted(t.actors),
                    "by_system": t.by_system,
                    "notifies": list(t.notifies),
                    "deadline": t.deadline.value if t.deadline else None,
                    "photos": t.photos,
                    "awaits": t.awaits,
                    "waiting": t.waiting(lang) if t.waiting else None,
                    "answers": sorted(t.answers),
                    "schema": payload_schema(t.payload, lang),
                }
                for t in self.transitions.values()
            ],
        }


def invalid_body(exc: ValidationError) -> InvalidFields:
    return InvalidFields(exc.errors())


# ---------------------------------------------------------------- the description


class StateOut(BaseModel):
    name: str
    label: str
    open: bool


class ActorOut(BaseModel):
    name: str
    label: str


class ActionOut(BaseModel):
    name: str
    label: str
    help: str | None
    sources: list[str]
    target: str | None = Field(description="None: the record stays in its state")
    actors: list[str]
    by_system: bool = Field(description="taken by the system itself, never by a person")
    notifies: list[str]
    deadline: str | None = Field(description="start or stop: what it does to the deadline")
    photos: str | None = Field(description="the stage of the photos offered with it")
    awaits: str | None = Field(
        description="a request: the kind of actor whose answer the record then waits on"
    )
    waiting: str | None = Field(description="what a record waiting on this request shows")
    answers: list[str] = Field(description="the requests this action decides")
    fields: dict[str, Any] = Field(
        alias="schema",
        description="its payload as JSON Schema: titles and enum labels (x-labels) in the "
        "caller's language, the widget to draw for each field (x-widget)",
    )


class WorkflowOut(BaseModel):
    name: str
    label: str
    states: list[StateOut]
    actors: list[ActorOut]
    actions: list[ActionOut]


# ---------------------------------------------------------------- payload fields


def labelled(zh: str, en: str, widget: str | None = None, **more: Any) -> dict[str, Any]:
    """`json_schema_extra` of a payload field: its title in both languages and the widget
    the console draws for it (text, textarea, select, datetime, number, unit, matter,
    category)."""
    extra: dict[str, Any] = {"title": zh, "x-title-en": en, **more}
    if widget:
        extra["x-widget"] = widget
    return extra


def payload_schema(model: type[BaseModel], lang: str) -> dict[str, Any]:
    """The model's JSON Schema with references inlined, titles and enum labels in `lang`."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                # An enum's class name and docstring are for programmers, not the form.
                target = {
                    k: v
                    for k, v in defs[node["$ref"].rsplit("/", 1)[-1]].items()
                    if k not in ("title", "description")
                }
                node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            node = {k: inline(v) for k, v in node.items()}
            if "anyOf" in node:  # X | None: the field's own schema, optional by `required`
                kept = [s for s in node["anyOf"] if s.get("type") != "null"]
                if len(kept) == 1:
                    rest = {k: v for k, v in node.items() if k != "anyOf"}
                    node = {**kept[0], **rest}
            en = node.pop("x-title-en", None)
            if lang == "en" and en:
                node["title"] = en
            labels = node.get("x-labels")
            if isinstance(labels, dict):
                node["x-labels"] = {
                    v: (lab.get(lang) or lab.get("zh")) if isinstance(lab, dict) else lab
                    for v, lab in labels.items()
                }
            return node
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    out: dict[str, Any] = inline(schema)
    # The model's class name and the docstrings of its types are written for programmers,
    # in English: a form shows the titles, in the caller's language.
    out.pop("title", None)
    out.pop("description", None)
    out.setdefault("properties", {})
    out.setdefault("required", [])
    for name, prop in out["properties"].items():
        prop.pop("description", None)
        prop.setdefault("title", name)
        prop.setdefault("x-widget", _widget(prop))
    return out


def _widget(prop: Mapping[str, Any]) -> str:
    if "enum" in prop:
        return "select"
    if prop.get("format") == "date-time":
        return "datetime"
    if prop.get("type") == "integer":
        return "number"
    if (prop.get("maxLength") or 0) > 200:
        return "textarea"
    return "text"


__all__ = [
    "SYSTEM",
    "Deadline",
    "FollowUp",
    "Label",
    "NoPayload",
    "State",
    "Transition",
    "Workflow",
    "labelled",
    "payload_schema",
    "row",
]
