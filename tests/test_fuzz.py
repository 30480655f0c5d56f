"""schemathesis over the whole API: a real server (uvicorn on a free port of 127.0.0.1) on a
throw-away database of the test world, called as the county administrator and as a
township dispatcher. Every answer must be no server error and match what the OpenAPI
document declares for it: a documented status code, its content type and its body schema."""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from fengqiao.api import create_app
from fengqiao.core.config import Settings
from fengqiao.core.database import make_engine, make_sessionmaker
from fengqiao.core.migrate import upgrade
from fengqiao.core.security import hash_password
from fengqiao.people.models import LoginThrottle, User
from tests.conftest import new_database
from tests.live import served
from tests.world import PASSWORD, build_world

# The fuzzer's callers: the county administrator and a township dispatcher.
CALLERS = ("admin", "town_a")
# Per operation and caller: examples of the fuzzing phase (the coverage phase adds the
# boundary values of every parameter on top). Bounded so the test stays near two minutes
# per engine on two cores.
MAX_EXAMPLES = 40
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 13,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        # One request at a time, no chains of calls: each case stands alone.
        "phases": {"stateful": {"enabled": False}},
    }
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Logging out would end the fuzzer's own session: every later case would be a 401. The
# live stream does not end by design (tests/test_live.py checks its answers, bad ones too).
EXCLUDED_PATHS = ["/api/auth/logout", "/api/matters/stream"]


@dataclass
class FuzzServer:
    url: str
    sessions: sessionmaker[Session]


@dataclass
class Caller:
    """A logged-in user of the fuzz run, logged in again (its account restored first)
    when a case has changed its password, stopped it or ended its sessions."""

    username: str
    server: FuzzServer
    token: str = ""
    calls: Counter[int] = field(default_factory=Counter)  # by status code
    auth_route: bool = False

    def login(self) -> None:
        with self.server.sessions() as session:
            user = session.scalars(select(User).where(User.username == self.username)).one()
            user.password_hash = _HASH
            user.is_active = True
            # Cases that failed to log in slow down logins from this address.
            session.execute(delete(LoginThrottle))
            session.commit()
        resp = requests.post(
            f"{self.server.url}/api/auth/login",
            json={"username": self.username, "password": PASSWORD},
            timeout=30,
        )
        assert resp.status_code == 200, resp.text
        self.token = resp.json()["access_token"]


_HASH = hash_password(PASSWORD)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzServer]:
    folder = tmp_path_factory.mktemp("fuzz")
    with new_database(folder) as url:
        engine = make_engine(url)
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        with sessions() as session:
            build_world(session, folder / "files")
        settings = Settings(database_url=url, data_dir=folder, background="off")
        app = create_app(settings)
        try:
            with served(app) as base:
                yield FuzzServer(base, sessions)
        finally:
            app.state.engine.dispose()
            engine.dispose()


@pytest.fixture(scope="module")
def callers(fuzz_server: FuzzServer) -> dict[str, Caller]:
    return {name: Caller(name, fuzz_server) for name in CALLERS}


@pytest.fixture
def caller(callers: dict[str, Caller], caller_name: str) -> Iterator[Caller]:
    """The caller of one operation's run; afterwards, that run was not vacuous: cases
    were sent, and some of them got past authentication."""
    who = callers[caller_name]
    if not who.token:
        who.login()
    who.calls.clear()
    yield who
    assert who.calls.total() > 0, "no case was sent"
    assert who.calls.total() > who.calls[401] or who.auth_route, (
        "every case was refused as not logged in"
    )


# The document of the application the server runs, read without a server.
DOCUMENT = create_app(
    Settings(database_url="sqlite://", data_dir=Path(tempfile.gettempdir()), background="off")
).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG).exclude(path=EXCLUDED_PATHS)


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


@schema.parametrize()
@pytest.mark.parametrize("caller_name", CALLERS)
# No health checks: they time the generation of data (slow on a loaded machine is no
# failure), and `caller` is set up once per operation on purpose: it counts its cases.
@settings(suppress_health_check=list(HealthCheck))
def test_the_api_answers_as_its_document_says(
    case: schemathesis.Case, caller: Caller, http: requests.Session, fuzz_server: FuzzServer
) -> None:
    caller.auth_route = case.path.startswith("/api/auth/")
    headers = {"Authorization": f"Bearer {caller.token}"}
    response = case.call(base_url=fuzz_server.url, session=http, headers=headers)
    caller.calls[response.status_code] += 1
    if response.status_code == 401 and not caller.auth_route:
        caller.login()  # a case stopped the caller or changed their password
    case.validate_response(response, checks=CHECKS)


# The operations anyone may call, signed in or not.
PUBLIC = {"/api/health", "/api/mediation/verify"}


def test_every_error_answer_is_documented_with_the_one_error_body() -> None:
    """FastAPI's own 422 (HTTPValidationError) is gone: every operation names its error
    answers with ErrorBody, and its media types."""
    assert "HTTPValidationError" not in DOCUMENT["components"]["schemas"]
    body = {"$ref": "#/components/schemas/ErrorBody"}
    paths = DOCUMENT["paths"]
    for path, item in paths.items():
        for method, operation in item.items():
            answers = operation["responses"]
            signed_in = path not in PUBLIC
            assert "422" in answers and ("401" in answers) == signed_in, (method, path)
            for status, answer in answers.items():
                if int(status) >= 400 and (signed_in or status != "503"):
                    assert answer["content"]["application/json"]["schema"] == body
            if "requestBody" in operation:
                assert "413" in answers, (method, path)
    assert "429" in paths["/api/auth/login"]["post"]["responses"]
    photo = paths["/api/attachments/{attachment_id}"]["get"]["responses"]["200"]["content"]
    assert set(photo) == {"image/jpeg", "image/png", "image/webp", "image/heic"}
    upload = paths["/api/matters/{matter_id}/attachments"]["post"]["requestBody"]["content"]
    assert set(upload) == {"multipart/form-data"}
