"""Errors users see: a code, a Chinese message and an English one; never a stack trace."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from fengqiao.core.database import unavailable

log = logging.getLogger("fengqiao")


class AppError(Exception):
    """An expected failure with a message for people. `zh` and `en` may hold {named} fields.
    `field` names the field of the request body at fault (`username`, `points.0.lon`): the
    answer then carries it in `details` too, so that a form shows the words beside it."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        zh: str,
        en: str,
        *,
        code: str | None = None,
        status: int | None = None,
        field: str | None = None,
        **params: Any,
    ) -> None:
        super().__init__(en.format(**params))
        self.zh, self.en, self.params, self.field = zh, en, params, field
        if code:
            self.code = code
        if status:
            self.status = status

    def message(self, lang: str) -> str:
        return (self.en if lang == "en" else self.zh).format(**self.params)


class NotFound(AppError):
    status, code = 404, "not_found"

    def __init__(self, what_zh: str = "记录", what_en: str = "record") -> None:
        super().__init__(
            "{w}不存在或不在您的管辖范围内",
            "{we} not found or outside your jurisdiction",
            w=what_zh,
            we=what_en,
        )


class Forbidden(AppError):
    status, code = 403, "forbidden"

    def __init__(self) -> None:
        super().__init__("您的角色无权执行此操作", "Your role may not do this")


class OutsideJurisdiction(AppError):
    """A write on something the caller may see but not change (see Principal.may_write)."""

    status, code = 403, "outside_jurisdiction"

    def __init__(self, *, installation_wide: bool = False) -> None:
        if installation_wide:
            super().__init__(
                "这是全域设置，只有管辖全域的管理员可以修改",
                "This setting binds the whole installation; only an administrator "
                "of the whole installation may change it",
            )
        else:
            super().__init__(
                "该对象不在您的管辖范围内，无权修改",
                "This is outside your jurisdiction; you may not change it",
            )


class Unauthorized(AppError):
    status, code = 401, "unauthorized"


class Conflict(AppError):
    status, code = 409, "conflict"


class Invalid(AppError):
    status, code = 422, "invalid"


class InvalidFields(Invalid):
    """A payload its model refused, validated in a service rather than by FastAPI: answered
    as a bad request body is, field by field."""

    def __init__(self, errors: Sequence[Mapping[str, Any]]) -> None:
        super().__init__("输入有误", "Invalid input")
        self.errors = [{**e, "loc": ("body", *e.get("loc", ()))} for e in errors]


class TooMany(AppError):
    status, code = 429, "too_many_requests"

    def __init__(self, zh: str, en: str, retry_after: int, **params: Any) -> None:
        super().__init__(zh, en, **params)
        self.retry_after = retry_after


def request_language(request: Request) -> str:
    """'en' when the client prefers English, else Chinese (the default)."""
    header = request.headers.get("accept-language", "")
    best, best_q = "zh", -1.0
    for part in header.split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        lang = tag.strip().lower()[:2]
        if lang in ("zh", "en") and weight > best_q:
            best, best_q = lang, weight
    return best


# Pydantic error types, in words for people.
_VALIDATION_ZH = {
    "missing": "缺少必填项",
    "string_too_short": "内容太短",
    "string_too_long": "内容太长",
    "string_type": "应为文本",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "bool_parsing": "应为真或假",
    "greater_than_equal": "数值太小",
    "less_than_equal": "数值太大",
    "greater_than": "数值太小",
    "less_than": "数值太大",
    "enum": "不是允许的取值",
    "literal_error": "不是允许的取值",
    "json_invalid": "不是合法的 JSON",
    "model_attributes_type": "格式不正确",
    "dict_type": "应为对象",
    "list_type": "应为列表",
    "too_short": "条目太少",
    "too_long": "条目太多",
    "string_pattern_mismatch": "格式不正确",
    "date_from_datetime_parsing": "日期格式不正确",
    "date_parsing": "日期格式不正确",
    "datetime_parsing": "时间格式不正确",
    "extra_forbidden": "不允许的字段",
    "value_error": "取值不正确",
    "null_not_allowed": "不能为空",
    "blank": "不能只有空格或不可见字符",
    "bool_type": "应为 true 或 false",
    "int_from_float": "应为整数",
    "timezone_aware": "需带时区，例如 2026-10-01T09:00:00+08:00",
    "datetime_type": "时间格式不正确",
    "datetime_from_date_parsing": "时间格式不正确",
    "date_type": "日期格式不正确",
    "date_from_datetime_inexact": "应为日期，不带时刻",
    "model_type": "应为对象",
    "bytes_type": "应为文件",
    "url_parsing": "格式不正确",
}


_PLACES = ("body", "query", "path", "header", "cookie")


def _field(loc: Sequence[Any]) -> str:
    """The field's path in its part of the request: `password`, `points.0.lon`; "" for the
    request (or its whole body) itself."""
    return ".".join(str(p) for p in loc if p not in _PLACES)


def _loc(loc: Sequence[Any]) -> list[str | int]:
    return [p if isinstance(p, int) else str(p) for p in loc]


def _validation_details(errors: Sequence[Any], lang: str) -> list[dict[str, Any]]:
    details = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        field = _field(loc)
        kind = str(err.get("type", ""))
        if lang == "en":
            text = str(err.get("msg", "invalid"))
        else:
            text = _VALIDATION_ZH.get(kind, "取值不正确")
            ctx = err.get("ctx") or {}
            if kind == "value_error" and "error" in ctx:
                text = str(ctx["error"])
            elif kind in {"greater_than_equal", "greater_than"}:
                text = f"不能小于 {ctx.get('ge', ctx.get('gt'))}"
            elif kind in {"less_than_equal", "less_than"}:
                text = f"不能大于 {ctx.get('le', ctx.get('lt'))}"
            elif kind == "string_too_long":
                text = f"不能超过 {ctx.get('max_length')} 个字符"
            elif kind == "too_long":
                text = f"最多 {ctx.get('max_length')} 项"
            elif kind == "year_out_of_range":
                text = f"年份须在 {ctx.get('first')} 至 {ctx.get('last')} 之间"
        details.append({"field": field, "loc": _loc(loc), "type": kind, "message": text})
    return details


def _field_details(exc: AppError, message: str) -> list[dict[str, Any]]:
    """The one detail of an AppError that names its field."""
    if not exc.field:
        return []
    loc = ["body", *(int(p) if p.isdigit() else p for p in exc.field.split("."))]
    return [{"field": exc.field, "loc": loc, "type": exc.code, "message": message}]


def _body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


# ---------------------------------------------------------------- the answer's shape


class ErrorDetail(BaseModel):
    field: str = Field(
        description="the field at fault, e.g. `title` or `points.0.lon` (its path in the "
        "body, the query or the path); empty when the fault is the request's as a whole"
    )
    loc: list[str | int] = Field(
        default=[], description="where it is, as Pydantic says: e.g. `body`, `points`, 0, `lon`"
    )
    type: str = Field(description="the kind of fault (Pydantic's error type, or the code)")
    message: str = Field(
        description="what is wrong, in the caller's language, without the field's name: "
        "a form shows it beside the field, under the field's own label"
    )


class ErrorInfo(BaseModel):
    code: str = Field(description="stable, for programs: not_found, invalid, conflict, …")
    message: str = Field(description="for people, in the caller's language (Accept-Language)")
    details: list[ErrorDetail] = Field(
        default=[], description="on invalid input (422): one entry per fault"
    )


class ErrorBody(BaseModel):
    """Every error answer of the API."""

    error: ErrorInfo


_ANSWERS = {
    401: "未登录或登录已失效 · Not logged in, or the session has ended",
    403: "角色无权或不在管辖范围内 · The role may not do this, or it is outside the jurisdiction",
    404: "不存在或不在管辖范围内 · Not found, or outside the jurisdiction",
    409: "与现有数据或事件状态冲突 · Conflicts with existing data or the matter's state",
    413: "请求内容过大 · Request body too large",
    422: "输入有误 · Invalid input",
    429: "尝试过多，请按 Retry-After 稍后再试 · Too many attempts: retry after Retry-After",
    503: "数据库暂时无法访问，请稍后重试 · Database unavailable: retry after Retry-After",
}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of these error answers, each with the one error body: for
    `APIRouter(responses=…)` (what every route of a router may answer) and a route's own."""
    return {
        status: {
            "model": ErrorBody,
            "description": _ANSWERS[status],
            **({"headers": _RETRY_AFTER} if status in (429, 503) else {}),
        }
        for status in statuses
    }


# ---------------------------------------------------------------- values out of range

# PostgreSQL's SQLSTATEs for a value its column or type cannot hold: numeric out of range,
# datetime field overflow, a string too long for its column.
_OUT_OF_RANGE_STATES = {"22003", "22008", "22001"}


def out_of_range(exc: BaseException) -> bool:
    """Whether the database (or Python on its way there) refused a value as too large."""
    if isinstance(exc, OverflowError):  # SQLite's 64-bit integers, dates past year 9999
        return True
    if isinstance(exc, DataError):
        return getattr(getattr(exc, "orig", None), "sqlstate", None) in _OUT_OF_RANGE_STATES
    return False


async def value_out_of_range(request: Request, exc: Exception) -> JSONResponse:
    """A number or date too large for its column that got past the schema: the caller's
    input, so 422 in their language, and the connection stays open."""
    if not out_of_range(exc):
        return await database_unavailable(request, exc)  # 503, or on to the 500 handler
    log.warning("value out of range on %s %s: %s", request.method, request.url.path, exc)
    if request_language(request) == "en":
        message = "A number, date or text is out of the range it may take"
    else:
        message = "数值、日期或文本超出允许的范围"
    return JSONResponse(_body("out_of_range", message), 422)


DATABASE_RETRY_AFTER = 2  # seconds: a restart or a failover of the database


async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """A database that cannot be reached or was lost mid-request (a restart, a failover, no
    connection free) is for the caller to try again: 503 with Retry-After, in the caller's
    language, never a 500. Any other database error goes on to the 500 handler."""
    if not unavailable(exc):
        raise exc
    # The driver's first line only: the statement's parameters may hold personal data.
    cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    log.warning(
        "database unavailable on %s %s: %s",
        request.method,
        request.url.path,
        cause[0] if cause else type(exc).__name__,
    )
    if request_language(request) == "en":
        message = "The database cannot be reached just now; please try again shortly"
    else:
        message = "数据库暂时无法访问，请稍后重试"
    return JSONResponse(
        _body("unavailable", message), 503, headers={"Retry-After": str(DATABASE_RETRY_AFTER)}
    )


def _invalid(errors: Sequence[Any], lang: str) -> JSONResponse:
    details = _validation_details(errors, lang)
    first = details[0] if details else {"field": "", "message": ""}
    where = first["field"] or ("request" if lang == "en" else "请求")
    summary = (
        f"Invalid input: {where}: {first['message']}"
        if lang == "en"
        else f"输入有误：{where}：{first['message']}"
    )
    return JSONResponse(_body("invalid", summary, details=details), 422)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> JSONResponse:
        lang = request_language(request)
        if isinstance(exc, InvalidFields):
            return _invalid(exc.errors, lang)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooMany) else None
        if isinstance(exc, Unauthorized):
            headers = {"WWW-Authenticate": "Bearer"}
        message = exc.message(lang)
        extra = {"details": _field_details(exc, message)} if exc.field else {}
        return JSONResponse(_body(exc.code, message, **extra), exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _invalid(exc.errors(), request_language(request))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        lang = request_language(request)
        if exc.status_code == 400:
            # Starlette's and FastAPI's only 400: a body they could not parse (no UTF-8, a
            # broken multipart form). Invalid input, like malformed JSON.
            message = (
                "The request body cannot be read: it is no valid JSON or form"
                if lang == "en"
                else "请求内容无法读取：不是合法的 JSON 或表单"
            )
            return JSONResponse(_body("invalid", message), 422)
        zh = {404: "页面或接口不存在", 405: "不支持的请求方法", 413: "请求内容过大"}
        en = {404: "Not found", 405: "Method not allowed", 413: "Request body too large"}
        message = (en if lang == "en" else zh).get(exc.status_code, str(exc.detail))
        return JSONResponse(
            _body(f"http_{exc.status_code}", message), exc.status_code, headers=exc.headers
        )

    # The database unreachable or lost: 503 with Retry-After (database_unavailable).
    app.add_exception_handler(DBAPIError, database_unavailable)
    app.add_exception_handler(PoolTimeout, database_unavailable)
    # Too large for a column or a date: 422 (value_out_of_range).
    for kind in (OverflowError, DataError):
        app.add_exception_handler(kind, value_out_of_range)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        lang = request_language(request)
        message = "Internal server error" if lang == "en" else "服务器内部错误，请稍后重试"
        return JSONResponse(_body("internal", message), 500)
