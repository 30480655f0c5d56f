"""With Accept-Language: en, every GET endpoint of the demo answers in English wherever a name
exists in English.

The walk takes every GET path of the app's OpenAPI document, as several demo users of
different roles, with every path parameter filled from what the lists answered that user
(a path whose parameter no resolver below fills fails the test, so a new endpoint cannot
escape the walk), and looks for CJK characters in every string of every JSON answer (keys
included), error answers too, except in the fields of EXEMPT: people's own words and proper
names with no English form. Where a record names one thing in both languages (`name` beside
`name_en` or `name_zh`), the field meant for the caller (`name`) must be English."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from fengqiao.api import create_app
from fengqiao.calendar.service import build_calendar
from fengqiao.core import clock
from fengqiao.core.config import Settings
from fengqiao.core.database import make_engine, make_sessionmaker
from fengqiao.core.migrate import upgrade
from fengqiao.core.workflow import WORKFLOWS
from fengqiao.demo.build import DEMO_PASSWORD, build
from fengqiao.matters import service
from fengqiao.matters.enums import MatterState
from fengqiao.matters.lifecycle import MATTER, SYSTEM_REASONS
from fengqiao.matters.models import Matter, TimelineEntry
from fengqiao.matters.timeline import SYSTEM_ACTOR
from tests.conftest import new_database
from tests.world import png

BUILT = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
MATTERS = 1500  # a year of history in every state of the loop, built in seconds
CASES = 40  # mediation cases: enough for every case endpoint to answer someone

SUGGESTIONS = {
    "model": "walk",
    "threshold": 0.9,
    "items": [
        {"code": "environment", "label": "环境保护", "p": 0.8},
        {"code": "dispute", "label": "矛盾纠纷", "p": 0.1},
    ],
}

# Demo users of different roles (src/fengqiao/demo/build.py).
USERS = [
    "admin",  # the county's administrator
    "leader",
    "dispatcher",  # the county's social governance centre
    "town_dispatcher",
    "handler",  # a county department's handler
    "worker_fulltime_001",  # a grid worker
    "mediator",
    "resident",
]

# Where a string may hold Chinese in an English answer: the key it is the value of, and why.
EXEMPT: dict[str, str] = {
    "title": "a matter's title, in its reporter's words",
    "description": "a matter's description, in its reporter's words",
    "address": "an address, as written by the reporter",
    "matter_title": "a notification's matter's title, in its reporter's words",
    "name": "the proper name of a unit, region or grid, or a holiday an administrator typed",
    "display_name": "a person's name",
    "reporter_name": "a person's name",
    "actor_name": "the name of the person who acted (the system's own is checked apart)",
    "unit_name": "a unit's proper name",
    "region_name": "a region's proper name",
    "grid_name": "a grid's proper name",
    "place_name": "the proper name of the village or township a matter lies in",
    "committee_name": "a mediation committee's proper name",
    "venue": "a committee's venue, as its administrator wrote it",
    "profile": "a mediator's profile, as their administrator wrote it",
    "jurisdiction_name": "the proper name of the region or grid a user's jurisdiction is",
    "reason": "what a person typed with an action (the system's own reasons are checked apart)",
    "note": "what a person typed with an action",
    "grounds": "the grounds a unit typed when it gave a matter back",
    "name_zh": "the Chinese name, given beside the English one on purpose",
    # Mediation: what parties and mediators said and agreed, and people's names.
    "summary": "a dispute's summary, in its applicant's words",
    "facts": "an agreement's facts, as the mediator wrote them",
    "disputed": "the matters in dispute, as the mediator wrote them",
    "responsibilities": "each party's responsibility, as the mediator wrote it",
    "content": "a term of an agreement, as agreed",
    "manner": "how a term is performed, as agreed",
    "place": "a place, as a mediator or the parties named it",
    "statements": "a session's record of what the parties said",
    "result": "a session's result, as the mediator recorded it",
    "findings": "what an investigation found, as the mediator wrote it",
    "damage": "a survey's damage, as the mediator assessed it",
    "body": "a message or a knowledge entry, as its author wrote it",
    "source": "the law a knowledge entry cites, by its Chinese title",
    "court": "a court's proper name",
    "court_case_number": "a court's case number, as the court issued it",
    "party": "a party's name",
    "party_names": "the parties' names",
    "unsigned": "the names of the parties yet to sign",
    "presiding": "a mediator's name",
    "presiding_name": "a mediator's name",
    "obligor_name": "a party's name",
    "author_name": "a message's author's name",
    "others": "mediators' names",
    "chosen_mediator": "a mediator's name",
    "signed_by": "a party's name",
    "payer": "a party's name",
    "payee": "a party's name",
    "mediator": "a mediator's name",
    "committee": "a mediation committee's proper name",
}
# Exempt keys that are the system's words after all where they stand inside these keys.
CHECKED_WITHIN: dict[str, set[str]] = {
    "suggestion": {"reason"},  # the routing's note on why it proposed a unit
    "route": {"reason"},  # the same note, kept in the report's timeline entry
}

# Han ideographs (with extensions and compatibility forms), radicals, CJK symbols and
# punctuation (、。「」【】), kana, bopomofo, Hangul, and full-width forms (，：（）).
CJK = re.compile(
    "[\u2e80-\u2fff\u3000-\u303f\u3040-\u31ff\u3200-\u4dbf\u4e00-\u9fff\ua000-\ua4cf"
    "\uac00-\ud7af\uf900-\ufaff\ufe10-\ufe1f\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff]"
)


def chinese_in(value: Any, where: str = "", key: str = "") -> Iterator[str]:
    """Where a string of `value` holds CJK characters, outside the exempt fields."""
    if isinstance(value, dict):
        for k, v in value.items():
            k = str(k)
            if CJK.search(k):
                yield f"{where}: key {k!r}"
            # One thing named in both languages: the caller's field is checked after all.
            named_in_both = f"{k}_en" in value or f"{k}_zh" in value
            if k in EXEMPT and not named_in_both and k not in CHECKED_WITHIN.get(key, ()):
                continue
            yield from chinese_in(v, f"{where}.{k}", k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from chinese_in(v, f"{where}[{i}]", key)
    elif isinstance(value, str) and CJK.search(value):
        yield f"{where} = {value!r}"


def test_the_finder_finds_chinese() -> None:
    """The check itself: it sees Chinese and full-width punctuation, and nothing else."""
    assert list(chinese_in({"state_name": "已受理"}))
    assert list(chinese_in({"x": ["ok", {"y": "a，b"}]})) == [".x[1].y = 'a，b'"]
    assert list(chinese_in({"msg": "【x】"})) and list(chinese_in({"msg": "「x」"}))
    assert list(chinese_in({"name": "网格", "name_en": "Grid"}))  # named in both: checked
    assert not list(chinese_in({"title": "路灯不亮", "name_zh": "网格", "text": "Café – ok"}))
    assert list(chinese_in({"counts": {"已受理": 1}}))  # keys too
    assert list(chinese_in({"suggestion": {"reason": "属地管理"}}))  # the system's note
    assert not list(chinese_in({"timeline": [{"reason": "现场仍有垃圾"}]}))  # a person's
    assert system_wrote("催办", "remind", True) and system_wrote("合并 M1", "merge_in", False)
    assert not system_wrote("催办", "remind", False) and not system_wrote("需要鉴定", "x", True)


@dataclass
class Demo:
    client: TestClient
    matter_ids: list[int]  # matters of every kind of timeline: swept, reopened, merged into
    attachment_id: int
    closed_id: int
    walked: dict[str, set[int]] = field(default_factory=dict)  # path → statuses answered
    system_entries: int = 0  # timeline entries read whose actor was the system


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo county as `fengqiao demo` builds it (with fewer matters), once for the
    module, with the sweep's steps taken as the server takes them and one photo."""
    folder: Path = tmp_path_factory.mktemp("english-walk")
    with new_database(folder) as url:
        engine = make_engine(url)
        upgrade(engine)
        with make_sessionmaker(engine)() as session, clock.frozen(BUILT):
            build(session, MATTERS, cases=CASES)
            assert service.sweep(session, build_calendar(session)) > 0
            entries = session.execute(
                select(TimelineEntry.matter_id, TimelineEntry.action, TimelineEntry.actor_name)
            ).all()
            closed = session.scalar(select(func.min(Matter.id)).where(Matter.state == "closed"))
            assert closed is not None
            # What the text model proposes at intake (labelled with the Chinese names), as
            # a model trained for the demo would have kept it.
            session.execute(
                update(Matter).where(Matter.id == closed).values(category_suggestions=SUGGESTIONS)
            )
            session.commit()
        engine.dispose()
        by_system = {m for m, _, actor in entries if actor == SYSTEM_ACTOR}
        reopened = {m for m, action, _ in entries if action == "reopen"}
        merged_into = {m for m, action, _ in entries if action == "merge_in"}
        kinds = [sorted(by_system), sorted(reopened), sorted(merged_into)]
        assert all(kinds), "the demo has swept, reopened and merged-into matters"
        picked = [m for ids in kinds for m in ids[:3]] + [closed]
        settings = Settings(database_url=url, data_dir=folder / "data", background="off")
        app = create_app(settings)
        with TestClient(app, raise_server_exceptions=False) as client:
            admin = login(client, "admin")
            resp = client.post(
                f"/api/matters/{picked[0]}/attachments",
                headers=admin,
                files={"file": ("scene.png", png(16, 12), "image/png")},
            )
            assert resp.status_code == 201, resp.text
            yield Demo(client, picked, resp.json()["id"], closed)
        app.state.engine.dispose()


def login(client: TestClient, username: str) -> dict[str, str]:
    resp = client.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}", "Accept-Language": "en"}


# ---------------------------------------------------------------- filling the parameters


@dataclass
class Caller:
    """One demo user, and what the lists answered them."""

    client: TestClient
    headers: dict[str, str]
    demo: Demo
    username: str

    def get(self, url: str, **params: Any) -> Any:
        resp = self.client.get(url, headers=self.headers, params=params)
        return resp.json() if resp.status_code == 200 else None

    def listed(self, url: str, key: str, **params: Any) -> list[Any]:
        answer = self.get(url, limit=5, **params) or []
        items = answer["items"] if isinstance(answer, dict) else answer
        return [item[key] for item in items]


def _matter_ids(c: Caller) -> list[Any]:
    ids: list[Any] = []
    for state in MatterState:
        ids += c.listed("/api/matters", "id", state=state.value)[:2]
    ids += c.listed("/api/matters", "id", overdue="true")[:2]
    if c.username == "admin":  # the county's whole: the matters picked at the build
        ids += c.demo.matter_ids
    return list(dict.fromkeys(ids))


def _attachment_ids(c: Caller) -> list[Any]:
    seen = [
        a["id"]
        for matter_id in c.demo.matter_ids[:1]
        for a in (c.get(f"/api/matters/{matter_id}") or {}).get("attachments", [])
    ]
    return seen[:1]


def _years(c: Caller) -> list[Any]:
    years = [y["year"] for y in (c.get("/api/calendar/status") or {}).get("years", [])]
    return years[-3:]


# (the path's first segment after /api/, the parameter's name) → the values to walk with,
# as that caller may see them; and a made-up value that names nothing.
Resolver = Callable[[Caller], list[Any]]
PATH_PARAMETERS: dict[tuple[str, str], tuple[Resolver, Any]] = {
    ("workflows", "name"): (lambda c: sorted(WORKFLOWS), "no_such_flow"),
    ("matters", "matter_id"): (_matter_ids, 987654321),
    ("attachments", "attachment_id"): (_attachment_ids, 987654321),
    ("users", "user_id"): (lambda c: c.listed("/api/users", "id")[:3], 987654321),
    ("units", "code"): (lambda c: c.listed("/api/units", "code")[:3], "330305-NOPE"),
    ("regions", "code"): (lambda c: c.listed("/api/regions", "code")[:3], "330305999"),
    ("grids", "code"): (lambda c: c.listed("/api/grids", "code")[:3], "330305999999-9999"),
    ("calendar", "year"): (_years, 1999),
    ("mediation", "code"): (lambda c: c.listed("/api/mediation/committees", "code")[:3], "NOPE"),
    ("mediation", "mediator_id"): (
        lambda c: c.listed("/api/mediation/mediators", "id")[:3],
        987654321,
    ),
    ("mediation", "number"): (
        lambda c: c.listed("/api/mediation/cases", "number")[:3],
        "TJ2099999999",
    ),
    ("mediation", "kind"): (lambda c: ["application", "agreement"], "application"),
}
# Query parameters a path requires, and parameters a list pages with.
QUERY_PARAMETERS: dict[tuple[str, str], Callable[[Caller], Any]] = {
    ("calendar", "start"): lambda c: BUILT.isoformat(),
    ("calendar", "working_days"): lambda c: 3,
    # The dashboard at a place the caller may see (the county for those who see no region).
    ("dashboard", "region"): lambda c: (c.listed("/api/regions", "code") or ["330305"])[-1],
}
PAGE_SIZE = 20


def _segment(path: str) -> str:
    return path.removeprefix("/api/").split("/", 1)[0]


def _get_paths(client: TestClient) -> dict[str, list[dict[str, Any]]]:
    """The GET paths and their parameters, streams left out: a stream does not end by design
    (tests/test_live.py checks its answers in both languages)."""
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    return {
        p: ops["get"].get("parameters", [])
        for p, ops in paths.items()
        if "get" in ops and "text/event-stream" not in _content_types(ops["get"])
    }


def _content_types(operation: dict[str, Any]) -> set[str]:
    return {t for answer in operation["responses"].values() for t in answer.get("content", {})}


def _query(c: Caller, path: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    query: dict[str, Any] = {}
    for p in parameters:
        if p["in"] != "query":
            continue
        fill = QUERY_PARAMETERS.get((_segment(path), p["name"]))
        if fill is not None:
            query[p["name"]] = fill(c)
        elif p["name"] == "limit":
            query["limit"] = PAGE_SIZE
        elif p.get("required"):
            pytest.fail(f"GET {path}: no value for its required query parameter {p['name']!r}")
    return query


def _urls(c: Caller, path: str, parameters: list[dict[str, Any]]) -> list[str]:
    """The path with its parameters filled every way the caller's lists allow."""
    urls = [path]
    for p in parameters:
        if p["in"] != "path":
            continue
        known = PATH_PARAMETERS.get((_segment(path), p["name"]))
        if known is None:
            pytest.fail(f"GET {path}: the walk has no resolver for {p['name']!r}")
        values = known[0](c)
        urls = [u.replace("{" + p["name"] + "}", str(v)) for u in urls for v in values]
    return urls


def _made_up(path: str, parameters: list[dict[str, Any]]) -> str | None:
    url = path
    for p in parameters:
        if p["in"] == "path":
            url = url.replace(
                "{" + p["name"] + "}", str(PATH_PARAMETERS[(_segment(path), p["name"])][1])
            )
    return url if url != path else None


# ---------------------------------------------------------------- the walk


def _check(resp: Any, url: str, problems: list[str]) -> None:
    kind = resp.headers.get("content-type", "")
    if not kind.startswith("application/json"):
        return  # a photo, a file
    found = list(chinese_in(resp.json(), f"GET {url} ({resp.status_code})"))
    problems += found


def _walk(demo: Demo, username: str) -> list[str]:
    """Every GET endpoint as one user, in English: what was found in Chinese."""
    c = Caller(demo.client, login(demo.client, username), demo, username)
    problems: list[str] = []
    for path, parameters in _get_paths(demo.client).items():
        query = _query(c, path, parameters)
        for url in _urls(c, path, parameters):
            resp = demo.client.get(url, headers=c.headers, params=query)
            assert resp.status_code < 500, (url, resp.text)
            demo.walked.setdefault(path, set()).add(resp.status_code)
            _check(resp, url, problems)
            if resp.status_code == 200 and path == "/api/matters/{matter_id}":
                problems += _system_steps_in_english(demo, resp.json(), url)
            if resp.status_code == 200 and path == "/api/calendar/{year}":
                problems += [
                    f"GET {url}: the package's day {d['day']} is named {d['name']!r}"
                    for d in resp.json()
                    if d["source"] == "package" and CJK.search(d["name"])
                ]
    return problems


@pytest.fixture(scope="module")
def walks(demo: Demo) -> dict[str, list[str]]:
    """Every user's walk, once, whatever order the tests run in."""
    return {username: _walk(demo, username) for username in USERS}


@pytest.mark.parametrize("username", USERS)
def test_every_get_endpoint_answers_english(walks: dict[str, list[str]], username: str) -> None:
    problems = walks[username]
    assert not problems, "\n".join(problems[:60]) + f"\n… {len(problems)} in all"


def _system_steps_in_english(demo: Demo, matter: dict[str, Any], url: str) -> list[str]:
    """What the system wrote into a timeline itself is in the caller's language: its own
    name and the reasons of its steps (kept apart from people's words above)."""
    problems = []
    for entry in matter.get("timeline") or []:
        by_system = entry["actor_name"] == "System"
        demo.system_entries += by_system
        if entry["actor_name"] == SYSTEM_ACTOR:
            by_system = True
            problems.append(f"GET {url}: the system's name {entry['actor_name']!r}")
        reason = entry["reason"] or ""
        if system_wrote(reason, entry["action"], by_system):
            problems.append(f"GET {url}: the system's reason {reason!r}")
    return problems


def system_wrote(reason: str, action: str, by_system: bool) -> bool:
    """`reason` is one the system writes in Chinese: a step of the sweep (its action's
    label) or one of the reasons it gives for steps it takes or follows up."""
    t = MATTER.transitions.get(action)
    if by_system and t is not None and reason == t.label.zh:
        return True
    return any(label.translate(reason, "zh") is not None for label in SYSTEM_REASONS)


def test_the_walk_reached_every_get_endpoint(demo: Demo, walks: dict[str, list[str]]) -> None:
    """Every GET path answered someone with its content on the walks (a path no demo
    user's lists could fill would otherwise be checked by no one)."""
    missed = [p for p in _get_paths(demo.client) if 200 not in demo.walked.get(p, set())]
    assert not missed, missed
    assert demo.system_entries, "the walk read steps the system took itself"


def test_error_answers_are_english(demo: Demo) -> None:
    """A made-up id of every kind answers 404 (or 422) in English, and so does a 409."""
    c = Caller(demo.client, login(demo.client, "admin"), demo, "admin")
    problems: list[str] = []
    for path, parameters in _get_paths(demo.client).items():
        url = _made_up(path, parameters)
        if url is None:
            continue
        resp = demo.client.get(url, headers=c.headers, params=_query(c, path, parameters))
        assert resp.status_code in (404, 422), (url, resp.status_code, resp.text)
        assert resp.json()["error"]["message"], url
        _check(resp, url, problems)
    resp = demo.client.post(
        f"/api/matters/{demo.closed_id}/actions/accept", headers=c.headers, json={}
    )
    assert resp.status_code == 409, resp.text
    _check(resp, "POST accept of a closed matter", problems)
    unit = c.listed("/api/units", "code")[0]
    resp = demo.client.post(
        "/api/units",
        headers=c.headers,
        json={"code": unit, "name": "重复的单位", "kind": "department", "region_code": "330305"},
    )
    assert resp.status_code == 409, resp.text
    _check(resp, "POST a unit whose code is taken", problems)
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- and back in Chinese

# In Chinese, the words the system writes for people to read: names of states, levels,
# kinds and actions, messages, times left and the system's reasons and name.
SYSTEM_WORDS = re.compile(r"(_name|_label)$|^(label|message|time_left|waiting|route_reason)$")
PEOPLES_NAMES = {
    "display_name",
    "reporter_name",
    "unit_name",
    "region_name",
    "grid_name",
    "committee_name",
    "presiding_name",
    "obligor_name",
    "author_name",
}
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def english_in(value: Any, where: str = "", key: str = "") -> Iterator[str]:
    """Where a string the system wrote for people holds an English word."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from english_in(v, f"{where}.{k}", str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from english_in(v, f"{where}[{i}]", key)
    elif isinstance(value, str) and key not in PEOPLES_NAMES:
        system = SYSTEM_WORDS.search(key) or (key == "reason" and "route" in where)
        if system and LATIN_WORD.search(value):
            yield f"{where} = {value!r}"


def test_english_in_finds_english_words() -> None:
    assert list(english_in({"route": {"reason": "territorial default"}}))
    assert list(english_in({"items": [{"state_name": "Reported"}]}))
    assert not list(english_in({"state_name": "待受理", "title": "WiFi 故障", "code": "ok"}))
    assert not list(english_in({"timeline": [{"reason": "已联系 WiFi 商家"}]}))  # a person's


@pytest.mark.parametrize("username", ["admin", "dispatcher", "worker_fulltime_001"])
def test_chinese_answers_have_no_english_words(demo: Demo, username: str) -> None:
    headers = {**login(demo.client, username), "Accept-Language": "zh"}
    c = Caller(demo.client, headers, demo, username)
    problems: list[str] = []
    for path, parameters in _get_paths(demo.client).items():
        for url in _urls(c, path, parameters):
            resp = demo.client.get(url, headers=headers, params=_query(c, path, parameters))
            if resp.headers.get("content-type", "").startswith("application/json"):
                problems += english_in(resp.json(), f"GET {url} ({resp.status_code})")
    shown = problems[:40] + ([f"… {len(problems)} in all"] if len(problems) > 40 else [])
    assert not problems, "\n".join(shown)
