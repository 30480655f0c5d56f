"""Real parts for the fault tests: server processes, a private PostgreSQL cluster, and
callers that drive intake with idempotency keys. Every wait is bounded."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from fengqiao.core.database import make_engine, make_sessionmaker
from fengqiao.core.migrate import upgrade
from tests.live import Child, free_port
from tests.world import PASSWORD, World, build_world


def until(check: Callable[[], bool], seconds: float, step: float = 0.05) -> bool:
    """Whether `check` came true within `seconds` (polled every `step`)."""
    deadline = time.monotonic() + seconds
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


def world_in(url: str, files: Path) -> World:
    """Migrate the database at `url` and build the test world in it."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        with make_sessionmaker(engine)() as session:
            return build_world(session, files)
    finally:
        engine.dispose()


class Server(Child):
    """`fengqiao serve` as its own process (background work off, no access log)."""

    def __init__(self, url: str, folder: Path, *, redis_url: str | None = None) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "FENGQIAO_DATABASE_URL": url,
            "FENGQIAO_DATA_DIR": str(folder),
            "FENGQIAO_BACKGROUND": "off",
            "FENGQIAO_ACCESS_LOG": "false",
            "FENGQIAO_SECRET_KEY": "faults",
            "FENGQIAO_THREADS": "4",  # two cores; and a private cluster's connections
        }
        if redis_url is not None:
            self.env["FENGQIAO_REDIS_URL"] = redis_url
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.starts = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        """What the server printed, for an assertion's message."""
        return "\n".join(
            p.read_text(errors="replace")[-4000:] for p in sorted(self.folder.glob("server-*.log"))
        )

    def start(self, seconds: float = 60) -> Server:
        self.launch()
        return self.ready(seconds)

    def launch(self) -> None:
        assert self.process is None
        self.port, self.starts = free_port(), self.starts + 1
        with (self.folder / f"server-{self.starts}.log").open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "fengqiao.cli", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def ready(self, seconds: float = 60) -> Server:
        """Wait until it answers its health check."""

        def ready() -> bool:
            assert self.process is not None
            assert self.process.poll() is None, f"the server ended:\n{self.log}"
            with suppress(httpx.HTTPError):
                return httpx.get(f"{self.base}/api/health", timeout=2).status_code == 200
            return False

        assert until(ready, seconds, 0.1), f"the server did not start:\n{self.log}"
        return self

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=15, trust_env=False, **kwargs)

    def login(self, username: str) -> dict[str, str]:
        with self.client() as c:
            resp = c.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        assert resp.status_code == 200, resp.text
        return {"Authorization": f"Bearer {resp.json()['access_token']}"}


@contextmanager
def serving(url: str, folder: Path, **kwargs: Any) -> Iterator[Server]:
    server = Server(url, folder, **kwargs)
    try:
        yield server.start()
    finally:
        server.stop()


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    assert found, "no PostgreSQL server binaries under /usr/lib/postgresql"
    return found[-1].parent


class PrivateCluster:
    """A PostgreSQL cluster of the test's own on 127.0.0.1 (the machine's shared one serves
    other runs, and is never restarted). PostgreSQL refuses to run as root: as root, its
    commands run as the `postgres` user, in a folder it owns."""

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        # Not under pytest's folder: that one is private to its owner.
        self.folder = Path(tempfile.mkdtemp(prefix="fengqiao-faults-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")

    def _run(self, *command: str, timeout: float = 60) -> None:
        cmd = [str(self.bin / command[0]), *command[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"{command[0]} failed: {done.stdout}{done.stderr}"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> PrivateCluster:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")  # fmt: skip
        return self

    def start(self) -> None:
        # The clients' sockets are TCP on 127.0.0.1 only; fsync off: the machine does not
        # crash here, and the operating system keeps what the server wrote.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off"
            " -c max_connections=50"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-o", options,
                  "-w", "-t", "60", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """`immediate`: every backend ends at once, without a checkpoint, as in a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def remove(self) -> None:
        with suppress(AssertionError, subprocess.TimeoutExpired):
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    cluster = PrivateCluster()
    try:
        cluster.init().start()
        yield cluster
    finally:
        cluster.remove()


# ---------------------------------------------------------------- intake under faults

# A point in each grid worker's own grid (tests/world.py).
REPORTERS = {"worker_a": (120.05, 30.05), "head_a": (120.06, 30.04), "worker_b": (120.25, 30.05)}


def report_body(key: str, place: tuple[float, float]) -> dict[str, Any]:
    lon, lat = place
    return {
        "title": f"故障演练 {key}",
        "description": "路灯不亮，夜间通行不便。",
        "category_code": "urban_management",
        "lon": lon,
        "lat": lat,
        "idempotency_key": key,
    }


@dataclass
class Outcome:
    """What each caller saw: per idempotency key the matter acknowledged (a 2xx answer),
    every status answered, and the keys sent without an answer (the connection failed)."""

    acknowledged: dict[str, int] = field(default_factory=dict)
    statuses: list[tuple[int, str]] = field(default_factory=list)  # (status, key)
    unanswered: set[str] = field(default_factory=set)
    sent: dict[str, str] = field(default_factory=dict)  # key → reporter
    refused: list[httpx.Response] = field(default_factory=list)  # every non-2xx answer
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, key: str, reporter: str, resp: httpx.Response | None) -> None:
        with self.lock:
            self.sent[key] = reporter
            if resp is None:
                self.unanswered.add(key)
                return
            self.statuses.append((resp.status_code, key))
            if resp.status_code in (200, 201):
                matter = resp.json()["id"]
                assert self.acknowledged.setdefault(key, matter) == matter, key
                self.unanswered.discard(key)
            else:
                self.refused.append(resp)


class Callers:
    """Threads each reporting as one grid worker, a new idempotency key per request, until
    told to stop, their count of requests is used up, or (`stop_on_error`) the connection
    fails."""

    def __init__(
        self,
        server: Server,
        tokens: dict[str, dict[str, str]],
        prefix: str,
        *,
        per_caller: int,
        stop_on_error: bool,
        seconds: float = 60,
        pause: float = 0.0,
    ) -> None:
        self.server, self.tokens, self.prefix = server, tokens, prefix
        self.per_caller, self.stop_on_error = per_caller, stop_on_error
        self.seconds, self.pause = seconds, pause
        self.outcome = Outcome()
        self.stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(n, name), daemon=True)
            for n, name in enumerate(tokens)
        ]

    def __enter__(self) -> Callers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        for thread in self._threads:
            thread.join(timeout=60)
        assert not any(t.is_alive() for t in self._threads), "a caller did not end"

    def _run(self, n: int, reporter: str) -> None:
        deadline = time.monotonic() + self.seconds
        headers = self.tokens[reporter]
        with self.server.client(headers=headers) as c:
            for i in range(self.per_caller):
                if self.stopping.is_set() or time.monotonic() > deadline:
                    return
                key = f"{self.prefix}-{n}-{i:04d}"
                try:
                    resp = c.post("/api/matters", json=report_body(key, REPORTERS[reporter]))
                except httpx.HTTPError:
                    self.outcome.note(key, reporter, None)
                    if self.stop_on_error:
                        return
                    time.sleep(0.05)
                    continue
                self.outcome.note(key, reporter, resp)
                if self.pause:
                    time.sleep(self.pause)

    def acknowledged(self) -> int:
        with self.outcome.lock:
            return len(self.outcome.acknowledged)
