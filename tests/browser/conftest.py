"""Browser tests: the built web console served by a real server (uvicorn in a thread, on the
suite's database), driven in Debian's chromium by Playwright. Each page is screenshotted into
artifacts/screenshots/ and checked with axe-core; no request may leave 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import Engine, select

from fengqiao.api import WEB_DIST, create_app
from fengqiao.core.config import Settings
from fengqiao.core.database import make_sessionmaker
from fengqiao.core.permissions import Role
from fengqiao.core.security import hash_password
from fengqiao.geo.models import Grid
from fengqiao.people import service as people
from tests.conftest import wipe
from tests.live import served
from tests.world import GRID_A1_1, PASSWORD, World, build_world

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
# Roles the test world has no user for; they are added in grid A1-1.
OTHER_ROLES = {
    "instructor_a": Role.grid_instructor,
    "parttime_a": Role.grid_worker_parttime,
    "volunteer_a": Role.volunteer,
    "maritime_a": Role.maritime_officer,
}
DESKTOP = {"width": 1920, "height": 1080}
NETWORK_IDLE_MS = 2_000


@dataclass
class LiveServer:
    url: str
    world: World
    settings: Settings

    def token(self, username: str) -> str:
        resp = httpx.post(
            f"{self.url}/api/auth/login", json={"username": username, "password": PASSWORD}
        )
        resp.raise_for_status()
        return str(resp.json()["access_token"])

    def api(self, username: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token(username)}"}
        )


@pytest.fixture(scope="package")
def live_server(
    migrated_engine: Engine, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    if not (WEB_DIST / "index.html").exists():
        pytest.fail("the web console is not built: run scripts/setup", pytrace=False)
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test installs it", pytrace=False)
    data = tmp_path_factory.mktemp("live")
    settings = Settings(database_url=database_url, data_dir=data, background="off")
    with make_sessionmaker(migrated_engine)() as session:
        world = build_world(session, data / "files")
        grid = session.scalars(select(Grid).where(Grid.code == GRID_A1_1)).one()
        password_hash = hash_password(PASSWORD)
        for username, role in OTHER_ROLES.items():
            user = people.create_user(
                session,
                username=username,
                display_name=f"用户{username}",
                password="",
                roles=[role],
                region_path=grid.path,
                password_hash=password_hash,
            )
            world.users[username] = user.id
        session.commit()
    app = create_app(settings)
    try:
        with served(app) as base:
            yield LiveServer(base, world, settings)
    finally:
        app.state.engine.dispose()
        wipe(migrated_engine)


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="package", autouse=True)
def _screenshot_folder() -> None:
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)


@dataclass
class Visit:
    """A browser context for one user, recording every request that leaves the machine."""

    context: BrowserContext
    page: Page
    server: LiveServer
    outside: list[str] = field(default_factory=list)

    def go(self, path: str) -> Page:
        self.page.goto(self.server.url + path)
        return self.page

    def login(self, username: str, landing: str | None = None) -> Page:
        page = self.go("/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码", exact=True).fill(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: "/login" not in url)
        if landing:
            page.wait_for_url(f"**{landing}")
        return page

    def screenshot(self, name: str) -> None:
        self.page.wait_for_load_state("load")
        # A page with the live stream open is never idle; what it loaded is there by then.
        with contextlib.suppress(PlaywrightTimeout):
            self.page.wait_for_load_state("networkidle", timeout=NETWORK_IDLE_MS)
        self.page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)

    def axe(self, name: str) -> None:
        """No serious or critical axe-core violation on the page as it is now."""
        # Evaluated through the driver, not a <script> tag: the page's CSP refuses inline ones.
        self.page.evaluate(AXE.read_text(encoding="utf-8"))
        violations: list[dict[str, Any]] = self.page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
        bad = [v for v in violations if v["impact"] in ("serious", "critical")]
        summary = [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in bad
        ]
        assert not bad, f"axe on {name}: " + json.dumps(summary, ensure_ascii=False, indent=1)

    def check(self, name: str) -> None:
        """Screenshot, then axe."""
        self.screenshot(name)
        self.axe(name)


@pytest.fixture
def visit(browser: Browser, live_server: LiveServer) -> Iterator[Callable[..., Visit]]:
    visits: list[Visit] = []

    def make(viewport: dict[str, int] | None = None, **options: Any) -> Visit:
        context = browser.new_context(
            viewport=viewport or DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai", **options
        )
        context.set_default_timeout(15_000)
        v = Visit(context, context.new_page(), live_server)

        def guard(route: Any) -> None:
            host = urlsplit(route.request.url).hostname
            if route.request.url.startswith(("data:", "blob:")) or host in (
                "127.0.0.1",
                "localhost",
            ):
                route.continue_()
            else:
                v.outside.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        visits.append(v)
        return v

    yield make
    for v in visits:
        v.context.close()
    outside = [url for v in visits for url in v.outside]
    assert not outside, f"requests to outside hosts: {outside}"
