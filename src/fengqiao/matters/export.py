"""The matter list as an Excel workbook: the matters `GET /api/matters` finds with the same
filters (all of them, not one page, in the list's order, up to EXPORT_CAP), with the
columns the inbox shows, masked as the list masks them, and the export audited."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.core import audit
from fengqiao.core.errors import AppError
from fengqiao.core.models import Category
from fengqiao.core.permissions import Principal
from fengqiao.core.security import mask_phone
from fengqiao.core.spreadsheet import Column, Download, dated_name, workbook
from fengqiao.core.workcalendar import WorkCalendar
from fengqiao.matters import service
from fengqiao.matters.enums import Urgency
from fengqiao.matters.queries import MatterFilter, read_matters
from fengqiao.matters.schemas import MatterOut

# More rows than a person reads in a workbook; a larger export is refused (narrow the
# filters), so one request never builds an unbounded file.
EXPORT_CAP = 10_000


class TooManyRows(AppError):
    status, code = 413, "too_many_rows"

    def __init__(self, total: int) -> None:
        super().__init__(
            "符合条件的事件共 {n} 件，超过一次导出的上限 {cap} 件，请缩小筛选范围后再导出",
            "{n} matters fit these filters, more than the {cap} one export may hold: "
            "narrow the filters and export again",
            n=total,
            cap=EXPORT_CAP,
        )


# key, Chinese header, English header: the inbox's columns.
COLUMNS = (
    ("number", "编号", "Number"),
    ("title", "标题", "Title"),
    ("category", "类别", "Category"),
    ("state", "状态", "State"),
    ("urgency", "紧急程度", "Urgency"),
    ("due_at", "当前期限", "Due"),
    ("time_left", "剩余时限", "Time left"),
    ("grid", "网格", "Grid"),
    ("unit", "承办单位", "Unit"),
    ("reported_at", "上报时间", "Reported"),
    ("reporter_name", "上报人", "Reporter"),
    ("reporter_phone", "联系电话", "Phone"),
)


def columns(lang: str) -> list[Column]:
    return [Column(key, en if lang == "en" else zh) for key, zh, en in COLUMNS]


def category_names(session: Session, lang: str) -> dict[str, str]:
    rows = session.execute(select(Category.code, Category.name, Category.name_en))
    return {code: (name_en if lang == "en" and name_en else name) for code, name, name_en in rows}


def row_of(m: MatterOut, categories: dict[str, str], lang: str) -> dict[str, Any]:
    """One matter's cells, from what the list answers for it (its phone masked there)."""
    return {
        "number": m.number,
        "title": m.title,
        "category": categories.get(m.category_code or "", m.category_code),
        "state": m.state_name,
        "urgency": Urgency(m.urgency).label(lang),
        "due_at": m.due_at,
        "time_left": m.time_left,
        "grid": m.grid_name or m.grid_code,
        "unit": m.unit_name,
        "reported_at": m.reported_at,
        "reporter_name": m.reporter_name,
        "reporter_phone": m.reporter_phone,
    }


def filter_detail(f: MatterFilter) -> dict[str, Any]:
    """The filters as the audit log keeps them: those set, a phone masked."""
    out: dict[str, Any] = {}
    for key, value in asdict(f).items():
        if key in ("limit", "offset") or value is None or value is False or value in ("", []):
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        elif "phone" in key and isinstance(value, str):
            value = mask_phone(value)
        out[key] = value
    return out


def export_matters(
    session: Session, principal: Principal, cal: WorkCalendar, f: MatterFilter, lang: str
) -> Download:
    """Every matter the list finds with these filters, as a workbook; refused (413) past
    EXPORT_CAP, and audited."""
    every = replace(f, limit=EXPORT_CAP, offset=0)
    _, total = read_matters(session, principal, replace(every, limit=1))  # 422 on a bad sort
    if total > EXPORT_CAP:
        raise TooManyRows(total)
    page = service.read_page(session, principal, cal, every, lang)
    categories = category_names(session, lang)
    content = workbook(
        columns(lang),
        (row_of(m, categories, lang) for m in page.items),
        sheet="事件列表" if lang != "en" else "Matters",
    )
    audit.record(
        session,
        "export",
        "event",
        None,
        region_path=principal.scope_path,
        detail={"format": "xlsx", "filter": filter_detail(f), "rows": len(page.items)},
    )
    session.commit()
    filename, fallback = dated_name("事件列表", "matters", lang)
    return Download(content, filename, fallback, len(page.items))
