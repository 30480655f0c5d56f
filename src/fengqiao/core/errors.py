"""Errors users see: a code, a Chinese message and an English one; never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("fengqiao")


class AppError(Exception):
    """An expected failure with a message for people. `zh` and `en` may hold {named} fields."""

    status = 400
    code = "bad_request"

    def __init__(
        self, zh: str, en: str, *, code: str | None = None, status: int | None = None, **params: Any
    ) -> None:
        super().__init__(en.format(**params))
        self.zh, self.en, self.params = zh, en, params
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


class Unauthorized(AppError):
    status, code = 401, "unauthorized"


class Conflict(AppError):
    status, code = 409, "conflict"


class Invalid(AppError):
    status, code = 422, "invalid"


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
}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "请求"


def _validation_details(exc: RequestValidationError, lang: str) -> list[dict[str, Any]]:
    details = []
    for err in exc.errors():
        field = _field(tuple(err.get("loc", ())))
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
        details.append({"field": field, "type": kind, "message": text})
    return details


def _body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> JSONResponse:
        lang = request_language(request)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooMany) else None
        if isinstance(exc, Unauthorized):
            headers = {"WWW-Authenticate": "Bearer"}
        return JSONResponse(_body(exc.code, exc.message(lang)), exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        lang = request_language(request)
        details = _validation_details(exc, lang)
        first = details[0] if details else {"field": "", "message": ""}
        summary = (
            f"Invalid input: {first['field']}: {first['message']}"
            if lang == "en"
            else f"输入有误：{first['field']}：{first['message']}"
        )
        return JSONResponse(_body("invalid", summary, details=details), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        lang = request_language(request)
        zh = {404: "页面或接口不存在", 405: "不支持的请求方法", 413: "请求内容过大"}
        en = {404: "Not found", 405: "Method not allowed", 413: "Request body too large"}
        message = (en if lang == "en" else zh).get(exc.status_code, str(exc.detail))
        return JSONResponse(_body(f"http_{exc.status_code}", message), exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        lang = request_language(request)
        message = "Internal server error" if lang == "en" else "服务器内部错误，请稍后重试"
        return JSONResponse(_body("internal", message), 500)
