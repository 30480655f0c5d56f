"""The live stream of changed matters (GET /api/matters/stream): over a real server, each
caller hears of the matters of their own jurisdiction and of no other."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from fengqiao.api import create_app
from fengqiao.core.config import Settings
from tests.live import served
from tests.world import PASSWORD, World

WAIT = 20.0  # seconds; bounded, never asserted as a speed


@pytest.fixture
def base_url(engine: Engine, settings: Settings, world: World) -> Iterator[str]:
    app = create_app(settings)
    try:
        with served(app) as url:
            yield url
    finally:
        app.state.engine.dispose()


def token(base: str, username: str) -> str:
    resp = httpx.post(f"{base}/api/auth/login", json={"username": username, "password": PASSWORD})
    resp.raise_for_status()
    return str(resp.json()["access_token"])


CJK = re.compile(r"[\u4e00-\u9fff]")


class Listener:
    """Reads one caller's stream in a thread, keeping every event it hears."""

    def __init__(self, base: str, username: str, language: str = "zh") -> None:
        self.headers = {
            "Authorization": f"Bearer {token(base, username)}",
            "Accept-Language": language,
        }
        self.base, self.events, self.ready = base, [], threading.Event()
        self.stop = threading.Event()
        self.status: int | None = None
        self.http = httpx.Client(base_url=self.base, timeout=WAIT)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        assert self.ready.wait(WAIT), "the stream did not open"

    events: list[tuple[str, dict[str, Any]]]

    def close(self) -> None:
        self.stop.set()
        self.http.close()  # the reader's pending read ends at once
        self.thread.join(timeout=WAIT)

    def run(self) -> None:
        try:
            self.read()
        except (httpx.HTTPError, RuntimeError):
            if not self.stop.is_set():
                raise

    def read(self) -> None:
        with self.http.stream("GET", "/api/matters/stream", headers=self.headers) as resp:
            self.status = resp.status_code
            event = ""
            for line in resp.iter_lines():
                if self.stop.is_set():
                    return
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    self.events.append((event, json.loads(line.split(":", 1)[1])))
                    if event == "ready":
                        self.ready.set()

    def heard(self, matter_id: int) -> bool:
        return any(e == "matter" and d["id"] == matter_id for e, d in self.events)

    def wait_for(self, matter_id: int) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            for e, d in self.events:
                if e == "matter" and d["id"] == matter_id:
                    return d
            time.sleep(0.05)
        raise AssertionError(f"matter {matter_id} never came on the stream")


def report(base: str, username: str, lon: float, **body: Any) -> dict[str, Any]:
    resp = httpx.post(
        f"{base}/api/matters",
        json={"title": "井盖缺失", "lon": lon, "lat": 30.05, **body},
        headers={"Authorization": f"Bearer {token(base, username)}"},
    )
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def test_each_caller_hears_only_their_own_jurisdiction(base_url: str) -> None:
    town_a, town_b = Listener(base_url, "town_a"), Listener(base_url, "town_b")
    try:
        assert town_a.status == town_b.status == 200
        in_a = report(base_url, "worker_a", 120.02, urgency="critical")
        in_b = report(base_url, "worker_b", 120.22)
        heard = town_a.wait_for(in_a["id"])
        assert heard["number"] == in_a["number"]
        assert heard["pinned"] is True and heard["urgency"] == "critical"
        assert heard["state_name"] == "待受理"
        town_b.wait_for(in_b["id"])
        after = report(base_url, "worker_a", 120.03)
        town_a.wait_for(after["id"])
        # Changes come in the order they were made: each stream has gone past the other
        # township's matter, and never carried it.
        assert not town_b.heard(in_a["id"])
        assert not town_a.heard(in_b["id"])
    finally:
        town_a.close()
        town_b.close()


def test_a_change_of_state_comes_again(base_url: str, world: World) -> None:
    town = Listener(base_url, "town_a")
    try:
        matter_id = world.matters["a"]
        resp = httpx.post(
            f"{base_url}/api/matters/{matter_id}/actions/accept",
            json={},
            headers=town.headers,
        )
        assert resp.status_code == 200, resp.text
        heard = town.wait_for(matter_id)
        assert heard["state"] == "accepted" and heard["pinned"] is False
        assert heard["state_name"] == "已受理"
    finally:
        town.close()


def test_the_stream_speaks_the_callers_language(base_url: str) -> None:
    town = Listener(base_url, "town_a", language="en")
    try:
        made = report(base_url, "worker_a", 120.02)
        assert town.wait_for(made["id"])["state_name"] == "Reported"
    finally:
        town.close()
    headers = {"Authorization": f"Bearer {token(base_url, 'town_a')}", "Accept-Language": "en"}
    resp = httpx.get(f"{base_url}/api/matters/stream", params={"since": "昨天"}, headers=headers)
    assert resp.status_code == 422
    assert not CJK.search(resp.json()["error"]["message"].replace("昨天", ""))


def test_the_stream_needs_a_signed_in_caller_and_a_real_moment(base_url: str) -> None:
    resp = httpx.get(f"{base_url}/api/matters/stream")
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/json")
    headers = {"Authorization": f"Bearer {token(base_url, 'town_a')}"}
    resp = httpx.get(f"{base_url}/api/matters/stream", params={"since": "昨天"}, headers=headers)
    assert resp.status_code == 422
    assert "since" in resp.json()["error"]["message"]
