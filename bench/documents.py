"""Rendering mediation documents: the agreement (人民调解协议书) and the session record of a
case with two parties and three terms, as A4 PDF in Noto Sans CJK, through the same
templates and renderer the service uses (`fengqiao.mediation.documents`).

Reference, in the same run: WeasyPrint rendering a one-page Latin document in its default
font (the engine's own floor), so that the figure that matters is the ratio.

    uv run python bench/documents.py [--rounds 20]

Prints a table and one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

from fengqiao.mediation.documents import digest, html_of, pdf_of
from fengqiao.mediation.enums import DocumentKind

NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
LATIN = "<html><body><h1>Agreement</h1><p>" + "The parties agree to the terms. " * 40 + "</p>"


def context() -> dict[str, Any]:
    """A case as `documents.context_of` would read it, without a database."""
    parties = [
        {
            "role": "申请人",
            "name": "张秀英",
            "gender": "女",
            "id_number": "33030519750505002X",
            "phone": "13800005555",
            "address": "东屏街道码头路 1 号",
            "is_person": True,
            "kind": "自然人",
        },
        {
            "role": "被申请人",
            "name": "李海生",
            "gender": "男",
            "id_number": "330305198001010011",
            "phone": "13800004444",
            "address": "东屏街道码头路 2 号",
            "is_person": True,
            "kind": "自然人",
        },
    ]
    terms = [
        {
            "seq": i,
            "content": text,
            "obligor": "李海生",
            "manner": manner,
            "place": "东屏街道",
            "due_on": date(2026, 12, 14 + i),
            "state": "待履行",
        }
        for i, (text, manner) in enumerate(
            [
                ("修复卫生间防水层", "自行修复"),
                ("赔偿装修损失人民币三千元", "银行转账"),
                ("今后定期检查排水管道", "自行检查"),
            ],
            start=1,
        )
    ]
    signatures = [
        {"who": p["name"], "is_mediator": False, "method": "在线签署", "at": NOW, "scan": None}
        for p in parties
    ] + [{"who": "林素珍", "is_mediator": True, "method": "在线签署", "at": NOW, "scan": None}]
    case = SimpleNamespace(
        title="楼上漏水致楼下受损纠纷",
        summary="楼上卫生间漏水渗到楼下，天花板受损",
        applied_at=NOW,
        accepted_at=NOW,
        due_on=date(2027, 1, 4),
        ended_at=None,
        effective_at=NOW,
        lon=None,
        lat=None,
        vessels=[],
    )
    agreement = SimpleNamespace(
        facts="被申请人卫生间防水层老化漏水，致申请人天花板及墙面受损",
        disputed="维修责任与赔偿数额",
        responsibilities="被申请人承担全部维修责任",
        sealed_at=NOW,
    )
    sessions = [
        {
            "seq": 1,
            "held_at": NOW,
            "place": "东屏街道人民调解委员会",
            "venue": "",
            "on_site": False,
            "attendance": ["张秀英", "李海生"],
            "signed_by": ["张秀英", "李海生"],
            "statements": "申请人要求赔偿装修损失；被申请人同意维修，对赔偿数额有异议。" * 3,
            "result": "双方同意按评估结果赔偿",
        },
    ]
    return {
        "case": case,
        "number": "TJ2026000123",
        "year": 2026,
        "committee": SimpleNamespace(name="东屏街道人民调解委员会", venue="东屏街道司法所"),
        "region": "东屏街道",
        "specialty": "邻里纠纷",
        "is_sea": False,
        "sea_dispute": "",
        "venue": "",
        "parties": parties,
        "principals": parties,
        "presiding": "林素珍",
        "mediators": ["林素珍"],
        "agreement": agreement,
        "terms": terms,
        "signatures": signatures,
        "sessions": sessions,
        "follow_ups": [],
        "refusal": "",
        "confirmation": "",
        "issued": NOW,
    }


def timed(render: Any, rounds: int) -> tuple[float, int]:
    """Median seconds per render over `rounds`, after one warm-up, and the last size."""
    render()
    times, size = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        out = render()
        times.append(time.perf_counter() - started)
        size = len(out)
    return statistics.median(times), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    from weasyprint import HTML

    ctx = context()
    agreement_s, agreement_bytes = timed(
        lambda: pdf_of(html_of(DocumentKind.agreement, ctx)), args.rounds
    )
    record_s, record_bytes = timed(
        lambda: pdf_of(html_of(DocumentKind.session_record, ctx)), args.rounds
    )
    reference_s, reference_bytes = timed(lambda: HTML(string=LATIN).write_pdf(), args.rounds)
    sealed = pdf_of(html_of(DocumentKind.agreement, ctx))
    started = time.perf_counter()
    for _ in range(1000):
        digest(sealed)
    digest_s = (time.perf_counter() - started) / 1000
    rows = [
        ("人民调解协议书 (agreement)", agreement_s, agreement_bytes),
        ("调解笔录 (session record)", record_s, record_bytes),
        ("reference: one Latin page", reference_s, reference_bytes),
    ]
    print(f"{'document':32} {'ms':>8} {'KB':>8}")
    for name, seconds, size in rows:
        print(f"{name:32} {seconds * 1000:8.1f} {size / 1024:8.1f}")
    print(f"SHA-256 of the sealed agreement: {digest_s * 1e6:.0f} µs")
    print(
        json.dumps(
            {
                "agreement_ms": round(agreement_s * 1000, 1),
                "agreement_kb": round(agreement_bytes / 1024, 1),
                "session_record_ms": round(record_s * 1000, 1),
                "reference_ms": round(reference_s * 1000, 1),
                "agreement_to_reference": round(agreement_s / reference_s, 2),
                "sha256_us": round(digest_s * 1e6, 1),
                "rounds": args.rounds,
            }
        )
    )


if __name__ == "__main__":
    main()
