"""Intake over HTTP on PostgreSQL, and the overdue sweep over a million open matters.

1. Builds the demo county (with its year of history) in a new PostgreSQL database and starts
   `fengqiao serve` as a real process (background work off, access log off).
2. Drives `POST /api/matters` with wrk (N connections, each request a new matter with its own
   idempotency key, a real citizen message from shared/data/complaints and the centre of a
   random grid): the saturated rate with p50/p99, then p50/p99 at half the target rate.
   The paced run waits a random time before each request of a connection (uniform, with
   the mean that gives the rate), so that its connections do not fire in step.
   Group commit answers a batch at a time, so saturating the server takes more requests in
   flight than the batch takes to write: at 32 connections the two cores were still 40 %
   idle. The share of the machine left idle during the saturated run is printed beside it.
3. Reference, in the same run: pgbench inserting the same rows (the ones one intake wrote in
   each table, copied from a matter the run made) straight into PostgreSQL.
4. Adds 1,000,000 open matters, a few of them overdue, and times one full sweep beside a
   sequential scan of the open matters.

    uv run python bench/intake.py [--connections 64] [--seconds 15] [--workers 2]

Needs wrk and pgbench (Debian packages wrk and postgresql-client; wrk is installed when
missing and the script runs as root). Prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import String, create_engine, func, select, text

from fengqiao.calendar.service import calendar_cache
from fengqiao.core.database import make_sessionmaker
from fengqiao.geo.models import Grid
from fengqiao.matters.flows import sweep_all
from fengqiao.models import Base

PG = "postgresql://postgres@127.0.0.1:5432"
TARGET_RATE = 1000.0  # matters per second
TARGET_P99_MS = 100.0
TARGET_SWEEP_S = 1.0
USER, PASSWORD = "dispatcher", "Fengqiao@2026"  # the county's hotline desk
# shared/ sits beside the work tree (as in CI)
MESSAGES = Path(__file__).resolve().parents[2] / "shared/data/complaints/tipdm2020c.csv"

WRK_SCRIPT = """
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local points = {%(points)s}
local messages = {%(messages)s}
local counter = 0
function init(args)
  math.randomseed(tid * 7919 + 1)
end
function request()
  counter = counter + 1
  local p = points[math.random(#points)]
  local m = messages[math.random(#messages)]
  local body = string.format(
    '{"title":%%s,"description":%%s,"lon":%%.6f,"lat":%%.6f,' ..
    '"category_code":"urban_management","channel":"hotline",' ..
    '"idempotency_key":"%(run)s-%%d-%%d"}', m[1], m[2], p[1], p[2], tid, counter)
  return wrk.format("POST", "/api/matters", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer %(token)s",
  }, body)
end
function delay()
  -- Uniform around the mean: the connections do not fire in step.
  if %(delay_ms)d == 0 then return 0 end
  return math.random(0, 2 * %(delay_ms)d)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests":%%d,"duration_us":%%d,"non2xx":%%d,"socket_errors":%%d,' ..
    '"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"max_us":%%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def ensure_tools() -> None:
    if shutil.which("wrk") is None and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True)
    for tool in ("wrk", "pgbench"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed (Debian packages wrk, postgresql-client)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def citizen_messages(n: int = 500) -> list[tuple[str, str]]:
    """Real citizen messages (title, body) to report, so that each report has its own text as
    on a real hotline; one fixed message when the data is not beside the work tree."""
    if not MESSAGES.exists():
        return [("道路积水", "市民来电反映路面积水，影响通行。")]
    with MESSAGES.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    random.Random(0).shuffle(rows)
    return [(r["title"][:200], r["text"][:2000]) for r in rows[:n]]


def lua_string(value: str) -> str:
    """A Lua long string holding the JSON string literal of `value`."""
    return "[==[" + json.dumps(value, ensure_ascii=False) + "]==]"


def run_wrk(
    url: str,
    token: str,
    points: list[tuple[float, float]],
    messages: list[tuple[str, str]],
    connections: int,
    seconds: int,
    delay_ms: int,
    run: str,
) -> dict[str, Any]:
    script = WRK_SCRIPT % {
        "points": ",".join(f"{{{lon:.6f},{lat:.6f}}}" for lon, lat in points),
        "messages": ",".join(f"{{{lua_string(t)},{lua_string(b)}}}" for t, b in messages),
        "token": token,
        "delay_ms": delay_ms,
        "run": run,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", f.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(f.name)
    found = re.search(r"^WRK (.*)$", out, re.MULTILINE)
    assert found, out
    figures: dict[str, Any] = json.loads(found.group(1))
    figures["rate"] = figures["requests"] / (figures["duration_us"] / 1e6)
    for key in ("p50", "p90", "p99", "max"):
        figures[f"{key}_ms"] = figures.pop(f"{key}_us") / 1000
    return figures


def busy_and_total() -> tuple[int, int]:
    """The machine's CPU time so far (clock ticks): busy, and all."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return sum(ticks) - idle, sum(ticks)


def table_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    return {
        t.name: conn.execute(f"SELECT count(*) FROM {t.name}").fetchone()[0]  # type: ignore[index]
        for t in Base.metadata.sorted_tables
    }


def pgbench_script(conn: psycopg.Connection[Any], per_matter: dict[str, int]) -> str:
    """One transaction writing, per table, copies of the newest rows intake wrote there:
    unique columns get fresh values and references to the matter point at the new one."""
    lines = ["BEGIN;"]
    tables = sorted(Base.metadata.sorted_tables, key=lambda t: t.name != "event")  # matter first
    for table in tables:
        rows = per_matter.get(table.name, 0)
        if rows == 0:
            continue
        unique = {c.name for c in table.columns if c.unique} | {
            col.name
            for con in table.constraints
            if con.__class__.__name__ == "UniqueConstraint"
            for col in con.columns  # type: ignore[attr-defined]
        }
        ids = [
            r[0]
            for r in conn.execute(
                f"SELECT id FROM {table.name} ORDER BY id DESC LIMIT {rows}"
            ).fetchall()
        ]
        columns = [c for c in table.columns if c.name != "id"]
        for row_id in ids:
            exprs = []
            for c in columns:
                if c.name in unique and isinstance(c.type, String):
                    length = c.type.length or 32
                    exprs.append(f"left(md5(random()::text || clock_timestamp()::text), {length})")
                elif table.name != "event" and c.name == "event_id":
                    exprs.append(":matter_id")
                else:
                    exprs.append(f'"{c.name}"')
            names = ", ".join(f'"{c.name}"' for c in columns)
            select_ = ", ".join(exprs)
            sql = f"INSERT INTO {table.name} ({names}) SELECT {select_} FROM {table.name} "
            sql += f"WHERE id = {row_id}"
            if table.name == "event":
                sql += " RETURNING id AS matter_id \\gset"
            else:
                sql += ";"
            lines.append(sql)
    lines.append("COMMIT;")
    return "\n".join(lines) + "\n"


def run_pgbench(db: str, script: str, connections: int, seconds: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
    out = subprocess.run(
        [
            "pgbench",
            "-n",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            f"-c{connections}",
            "-j2",
            f"-T{seconds}",
            "-f",
            f.name,
            db,
        ],
        capture_output=True,
        text=True,
    )
    os.unlink(f.name)
    if out.returncode != 0:
        sys.exit(f"pgbench failed: {out.stderr}")
    tps = re.search(r"tps = ([\d.]+)", out.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", out.stdout)
    assert tps and latency, out.stdout
    return {"rate": float(tps.group(1)), "avg_ms": float(latency.group(1))}


def add_open_matters(conn: psycopg.Connection[Any], n: int, overdue_every: int) -> int:
    """n open matters copied from one the run made, signed, due over the coming month; one
    in `overdue_every` is past its deadline."""
    template = conn.execute("SELECT max(id) FROM event").fetchone()[0]  # type: ignore[index]
    unit = conn.execute(
        "SELECT id FROM unit WHERE code LIKE '%ZHZF' ORDER BY code LIMIT 1"
    ).fetchone()[0]  # type: ignore[index]
    matter = Base.metadata.tables["event"]
    fixed = {
        "number": "'B' || g",
        "idempotency_key": "NULL",
        "state": "'in_progress'",
        "unit_id": str(unit),
        "dispatch_count": "1",
        "accepted_at": "now() - interval '2 days'",
        "dispatched_at": "now() - interval '2 days'",
        "first_dispatched_at": "now() - interval '2 days'",
        "signed_at": "now() - interval '1 day'",
        "resolve_due_at": f"CASE WHEN g % {overdue_every} = 0 THEN now() - interval '1 hour' "
        "ELSE now() + (g % 720) * interval '1 hour' END",
    }
    fixed["next_sweep_at"] = fixed["resolve_due_at"]
    columns = [c.name for c in matter.columns if c.name != "id"]
    exprs = [fixed.get(c, f't."{c}"') for c in columns]
    names = ", ".join(f'"{c}"' for c in columns)
    conn.execute(
        f"INSERT INTO event ({names}) SELECT {', '.join(exprs)} "
        f"FROM generate_series(1, {n}) g, (SELECT * FROM event WHERE id = {template}) t"
    )
    conn.execute("ANALYZE event")
    return n // overdue_every


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--open", type=int, default=1_000_000, help="open matters to sweep")
    parser.add_argument("--overdue-every", type=int, default=2000)
    args = parser.parse_args()
    ensure_tools()

    db = f"fengqiao_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {db}")
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}"
    env = {
        **os.environ,
        "FENGQIAO_DATABASE_URL": url,
        "FENGQIAO_DATA_DIR": tempfile.mkdtemp(prefix="fengqiao-bench-"),
        "FENGQIAO_BACKGROUND": "off",
        "FENGQIAO_ACCESS_LOG": "false",
        "FENGQIAO_SECRET_KEY": "bench",
    }
    server = None
    try:
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "fengqiao.cli", "demo", "--no-serve"],
            env=env,
            check=True,
            capture_output=True,
        )
        print(f"demo county with its history built in {time.perf_counter() - t0:.1f} s")
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fengqiao.cli",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        token = httpx.post(
            f"{base}/api/auth/login", json={"username": USER, "password": PASSWORD}
        ).json()["access_token"]
        engine = create_engine(url)
        with engine.connect() as c:
            points = [
                (lon, lat)
                for lon, lat in c.execute(
                    select(Grid.centroid_lon, Grid.centroid_lat).where(Grid.kind == "base")
                )
            ]
        conn = psycopg.connect(f"{PG}/{db}", autocommit=True)
        messages = citizen_messages()

        run = uuid.uuid4().hex[:6]
        run_wrk(f"{base}/api/matters", token, points, messages, 8, 3, 0, run + "w")  # warm up
        warm = table_counts(conn)
        busy0, all0 = busy_and_total()
        saturated = run_wrk(
            f"{base}/api/matters",
            token,
            points,
            messages,
            args.connections,
            args.seconds,
            0,
            run + "s",
        )
        busy1, all1 = busy_and_total()
        idle_share = 1 - (busy1 - busy0) / max(all1 - all0, 1)
        after = table_counts(conn)
        made = after["event"] - warm["event"]
        print(
            f"saturated, {args.connections} connections: {saturated['rate']:.0f} matters/s, "
            f"p50 {saturated['p50_ms']:.1f} ms, p99 {saturated['p99_ms']:.1f} ms, "
            f"{saturated['non2xx']} non-2xx, {saturated['socket_errors']} socket errors; "
            f"the machine {idle_share:.0%} idle"
        )
        half_rate = TARGET_RATE / 2
        per_conn_ms = int(args.connections * 1000 / half_rate)
        half = run_wrk(
            f"{base}/api/matters",
            token,
            points,
            messages,
            args.connections,
            args.seconds,
            max(per_conn_ms - int(saturated["p50_ms"] / 2), 0),
            run + "h",
        )
        print(
            f"paced at ~{half_rate:.0f}/s: {half['rate']:.0f} matters/s, p50 "
            f"{half['p50_ms']:.1f} ms, p99 {half['p99_ms']:.1f} ms, {half['non2xx']} non-2xx"
        )
        per_matter = {
            name: round((after[name] - warm[name]) / made)
            for name in after
            if after[name] > warm[name]
        }
        print(f"rows one intake writes: {per_matter}")
        # Every acknowledged intake is a matter (requests still in flight at the end may add
        # up to one per connection).
        ok = saturated["requests"] - saturated["non2xx"]
        assert ok <= made <= ok + args.connections, (made, saturated)

        # The server's connections are given back first: pgbench opens as many as wrk did.
        server.terminate()
        server.wait(timeout=30)
        server = None
        reference = run_pgbench(
            db, pgbench_script(conn, per_matter), args.connections, args.seconds
        )
        print(
            f"reference, pgbench inserting the same rows: {reference['rate']:.0f} matters/s, "
            f"average {reference['avg_ms']:.1f} ms"
        )

        t0 = time.perf_counter()
        overdue = add_open_matters(conn, args.open, args.overdue_every)
        print(f"{args.open:,} open matters added in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        scanned = conn.execute(
            "SELECT count(*) FROM event WHERE state IN ('dispatched', 'in_progress') "
            "AND coalesce(resolve_due_at, sign_due_at) <= now()"
        ).fetchone()[0]  # type: ignore[index]
        scan_s = time.perf_counter() - t0
        factory = make_sessionmaker(engine)
        t0 = time.perf_counter()
        moved = sweep_all(factory, calendar_cache())
        sweep_s = time.perf_counter() - t0
        with engine.connect() as c:
            left = c.scalar(
                select(func.count())
                .select_from(Base.metadata.tables["event"])
                .where(text("next_sweep_at <= now()"))
            )
        print(
            f"sweep over {args.open:,} open matters: {moved} moved "
            f"({overdue} planted overdue, {scanned} found by a full scan) in {sweep_s:.3f} s; "
            f"the full scan alone took {scan_s:.3f} s; {left} still due"
        )
        conn.close()
        engine.dispose()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")

    result = {
        "bench": "intake",
        "connections": args.connections,
        "server_workers": args.workers,
        "matters_per_s": round(saturated["rate"], 1),
        "p50_ms": saturated["p50_ms"],
        "p99_ms": saturated["p99_ms"],
        "machine_idle_share": round(idle_share, 3),
        "half_load_rate": round(half["rate"], 1),
        "half_load_p50_ms": half["p50_ms"],
        "half_load_p99_ms": half["p99_ms"],
        "errors": saturated["non2xx"] + saturated["socket_errors"] + half["non2xx"],
        "reference_pgbench_matters_per_s": round(reference["rate"], 1),
        "ratio_to_reference": round(saturated["rate"] / reference["rate"], 3),
        "rows_per_matter": per_matter,
        "open_matters": args.open,
        "sweep_moved": moved,
        "sweep_s": round(sweep_s, 3),
        "reference_full_scan_s": round(scan_s, 3),
        "targets": {
            "matters_per_s": TARGET_RATE,
            "half_load_p99_ms": TARGET_P99_MS,
            "sweep_s": TARGET_SWEEP_S,
        },
        "met": {
            "rate": saturated["rate"] >= TARGET_RATE,
            "half_load_p99": half["p99_ms"] < TARGET_P99_MS,
            "sweep": sweep_s < TARGET_SWEEP_S,
        },
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
