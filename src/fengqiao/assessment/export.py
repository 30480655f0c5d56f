"""The dashboard's ranking as an Excel workbook: the places one level below, in the order
and with the figures `GET /api/dashboard` gives for the same parameters, audited."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy.orm import Session

from fengqiao.assessment import service
from fengqiao.core import audit
from fengqiao.core.permissions import Principal
from fengqiao.core.spreadsheet import PERCENT_FORMAT, Column, Download, dated_name, workbook

# key, Chinese header, English header, number format: the dashboard's ranking table.
COLUMNS = (
    ("rank", "名次", "Rank", None),
    ("code", "区划代码", "Code", None),
    ("name", "名称", "Name", None),
    ("reported", "上报", "Reported", None),
    ("accepted", "立案", "Accepted", None),
    ("closed", "结案", "Closed", None),
    ("closure_rate", "结案率", "Closure rate", PERCENT_FORMAT),
    ("closed_on_time", "按期结案", "Closed on time", None),
    ("on_time_closure_rate", "按期结案率", "On-time closure rate", PERCENT_FORMAT),
    ("overdue", "超期", "Overdue", None),
)


def columns(lang: str) -> list[Column]:
    return [Column(key, en if lang == "en" else zh, fmt) for key, zh, en, fmt in COLUMNS]


def export_ranking(
    session: Session, principal: Principal, region_code: str | None, lang: str
) -> Download:
    """The ranking the dashboard shows for `region_code` (the caller's jurisdiction when
    None), best first; refused as the dashboard is (403, 404)."""
    place, ranking = service.read_ranking(session, principal, region_code)
    rows: list[dict[str, Any]] = [{"rank": i, **asdict(r)} for i, r in enumerate(ranking, 1)]
    content = workbook(columns(lang), rows, sheet="Ranking" if lang == "en" else "下级排名")
    audit.record(
        session,
        "export",
        "ranking",
        None,
        region_path=place.path if place else principal.scope_path,
        detail={"format": "xlsx", "filter": {"region": region_code}, "rows": len(rows)},
    )
    session.commit()
    filename, fallback = dated_name("下级排名", "ranking", lang)
    return Download(content, filename, fallback, len(rows))
