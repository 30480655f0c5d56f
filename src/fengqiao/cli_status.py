"""What `fengqiao worker --status` prints: the job queues, the notifications waiting and
failed, the last sweep and delivery, and each worker's heartbeat."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import typer

from fengqiao.core import clock


def _ago(at: object) -> str:
    if not isinstance(at, int | float):
        return "—"
    when = datetime.fromtimestamp(at, clock.zone())
    return f"{when:%Y-%m-%d %H:%M:%S} ({max(time.time() - at, 0):.1f} s ago)"


def print_status(status: dict[str, Any], as_json: bool) -> None:
    redis_up = bool(status["redis"]["reachable"])
    alive = [name for name, w in status.get("workers", {}).items() if w["alive"]]
    if as_json:
        print(json.dumps(status, ensure_ascii=False, default=str))
    else:
        out = status["outbox"]
        redis_line = (
            "reachable 可连接" if redis_up else f"UNREACHABLE 无法连接: {status['redis']['error']}"
        )
        lines = [f"Redis {status['redis']['at']}: {redis_line}"]
        for kind, q in status.get("queues", {}).items():
            lines.append(
                f"queue {kind}: {q['waiting']} waiting 待取, {q['running']} running 执行中 "
                f"(stream length {q['length']}, {q['consumers']} consumers)"
            )
        oldest = out["oldest_pending_at"] or "—"
        lines.append(
            f"notifications 通知: {out['pending']} waiting 待发 ({out['due']} due now), "
            f"{out['failed']} failed 投递失败; oldest waiting since {oldest}"
            + (f" ({out['oldest_pending_s']} s)" if out["oldest_pending_s"] is not None else "")
        )
        for what, name in (("sweep", "last sweep 上次巡查"), ("deliver", "last delivery 上次投递")):
            run = status.get("last", {}).get(what)
            facts = {k: v for k, v in (run or {}).items() if k not in ("at", "started")}
            lines.append(f"{name}: {_ago(run['at'])} {facts}" if run else f"{name}: —")
        lines.append(f"workers 工作进程: {len(alive)} alive 存活")
        for name, w in status.get("workers", {}).items():
            state = "alive" if w["alive"] else "DEAD 已失联"
            lines.append(f"  {name}: heartbeat {_ago(w['at'])}, {state}, jobs done {w.get('done')}")
        for line in lines:
            typer.echo(line)
    if not redis_up or not alive:
        raise typer.Exit(1)
